//! `cargo xtask`: the course's runner and the maintainer's tools, one module per task.

mod bench;
mod book;
mod cargo;
mod check;
mod children;
mod ci;
mod cli;
mod conversation;
mod lessons;
mod list;
mod run;

use std::process::ExitCode;

const USAGE: &str = "\
Usage: cargo xtask <TASK> [OPTIONS]

Tasks:
  run <NN>          run lesson NN's server and client together (try `cargo xtask run 04`)
  list              the lessons, their pairs, their commands and chapters
  check [NN]        compare every pair's output with the book's transcripts (--bless rewrites)
  bench             measure UDP and TCP on loopback, side by side (--json for JSON)
  book              build the bilingual book (--serve, --check, --update-po)
  ci                everything CI checks, in order, stopping at the first failure
  help              this text

Run `cargo xtask <TASK> --help` for the options of a task.";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    let result = match task.as_deref() {
        Some("list") => list::main(&rest),
        Some("run") => run::main(&rest),
        Some("check") => check::main(&rest),
        Some("bench") => bench::main(&rest),
        Some("book") => book::main(&rest),
        Some("ci") => ci::main(&rest),
        None | Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(anyhow::anyhow!(
            "unknown task `{other}`; run `cargo xtask help` for the list"
        )),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
