//! `cargo xtask ci`: everything CI checks, in order, stopping at the first failure.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;

use crate::cli::Args;

/// Each step: its name and the xtask-relative command (`cargo <args>`).
const STEPS: &[(&str, &[&str])] = &[
    ("format", &["fmt", "--all", "--check"]),
    (
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    ("test", &["test", "--workspace"]),
    ("transcripts", &["xtask", "check"]),
    ("book", &["xtask", "book", "--check"]),
];

pub fn main(args: &[String]) -> anyhow::Result<ExitCode> {
    let mut args = Args::new(args);
    if args.help() {
        println!("Usage: cargo xtask ci\n\nRuns, in order, stopping at the first failure:");
        for (name, command) in STEPS {
            println!("  {name:<12} cargo {}", command.join(" "));
        }
        return Ok(ExitCode::SUCCESS);
    }
    args.finish()?;
    let started = Instant::now();
    for (n, (name, command)) in STEPS.iter().enumerate() {
        println!(
            "==> ci step {}/{}: {name} (cargo {})",
            n + 1,
            STEPS.len(),
            command.join(" ")
        );
        let status = crate::cargo::cargo().args(*command).status()?;
        if !status.success() {
            bail!("ci step `{name}` failed ({status}); the later steps did not run");
        }
    }
    println!(
        "==> ci: all {} steps passed in {:.0?}",
        STEPS.len(),
        started.elapsed()
    );
    Ok(ExitCode::SUCCESS)
}
