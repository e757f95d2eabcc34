//! Building the lesson binaries and finding them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// The cargo that started us, or the one on PATH.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// Where the lesson binaries are. `XTASK_BIN_DIR` points elsewhere (the runner's own tests use it
/// to run stand-in programs) and turns building off.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XTASK_BIN_DIR") {
        return dir.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        root().join(target)
    };
    target.join("debug")
}

/// Builds these packages' binaries with cargo's own progress shown, and returns their paths.
pub fn build(packages: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
    if std::env::var_os("XTASK_BIN_DIR").is_none() {
        let mut command = cargo();
        command.arg("build");
        for package in packages {
            command.args(["--package", package]);
        }
        let status = command.status().context("cannot start cargo")?;
        if !status.success() {
            bail!("building {} failed", packages.join(", "));
        }
    }
    let dir = bin_dir();
    packages
        .iter()
        .map(|package| {
            let path = dir.join(package);
            if path.is_file() {
                Ok(path)
            } else {
                bail!("{} does not exist", path.display())
            }
        })
        .collect()
}
