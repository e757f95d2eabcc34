//! `cargo xtask book`: builds the book in English and Chinese with the pinned mdBook tools,
//! serves it, checks it for CI and refreshes the translation catalogue.
//!
//! English is built into `book/build/html`, Chinese (from `book/po/zh-CN.po`) into
//! `book/build/html/zh-CN`, so one folder serves both and the language picker moves between them
//! with relative links.

mod browser;
mod includes;
mod links;
mod po;
mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

use crate::cli::Args;

const HELP: &str = "\
Usage: cargo xtask book [--serve [--port N] | --check | --update-po]

Builds the book in English (book/build/html) and Chinese (book/build/html/zh-CN), installing
the pinned mdbook 0.5.4 and mdbook-i18n-helpers 0.4.0 first if they are missing.

  --serve        build, then serve book/build/html on http://127.0.0.1:3000/ until Ctrl-C
  --port N       the port for --serve (0 picks a free one)
  --check        build and fail on any mdBook warning, an include or anchor that does not
                 resolve, a catalogue out of date with the English text, an untranslated or
                 fuzzy entry, a broken link or #fragment in either language, or a search
                 that misses pages in headless Chromium (what CI runs)
  --update-po    regenerate the catalogue book/po/zh-CN.po from the English text for the
                 translator (new entries untranslated, changed ones fuzzy)";

/// The pinned tools: the cargo package, its version and a binary it installs.
const TOOLS: [(&str, &str, &str); 2] = [
    ("mdbook", "0.5.4", "mdbook"),
    ("mdbook-i18n-helpers", "0.4.0", "mdbook-gettext"),
];

/// The languages of the book: code, name, and folder inside `book/build/html`.
const LANGUAGES: [(&str, &str, &str); 2] = [("en", "English", ""), ("zh-CN", "中文", "zh-CN")];

/// The language the catalogue translates into.
const TRANSLATION: &str = "zh-CN";

const DEFAULT_PORT: u16 = 3000;

/// Where the book's parts live.
struct Book {
    /// `book/`: `book.toml`, `src/`, `po/`.
    dir: PathBuf,
    /// `book/build/html`: the English book, with the Chinese one in its `zh-CN/` folder.
    html: PathBuf,
    /// `book/po/zh-CN.po`.
    po: PathBuf,
}

impl Book {
    fn new() -> Book {
        let dir = crate::cargo::root().join("book");
        Book {
            html: dir.join("build").join("html"),
            po: dir.join("po").join(format!("{TRANSLATION}.po")),
            dir,
        }
    }
}

pub fn main(args: &[String]) -> anyhow::Result<ExitCode> {
    let mut args = Args::new(args);
    if args.help() {
        println!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let serve = args.flag("--serve");
    let check = args.flag("--check");
    let update_po = args.flag("--update-po");
    let port: Option<u16> = args.value("--port")?;
    args.finish()?;
    if [serve, check, update_po].iter().filter(|&&on| on).count() > 1 {
        bail!("pick one of --serve, --check and --update-po");
    }
    if port.is_some() && !serve {
        bail!("--port goes with --serve");
    }

    install_tools()?;
    let book = Book::new();
    if update_po {
        po::update(&book.dir, &book.po)?;
        return Ok(ExitCode::SUCCESS);
    }

    let warnings = build(&book)?;
    if check {
        return check_all(&book, warnings);
    }
    for warning in &warnings {
        eprintln!("book: {warning}");
    }
    if serve {
        serve::serve(&book.html, port.unwrap_or(DEFAULT_PORT))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs every check, prints every problem found, and fails if there was any.
fn check_all(book: &Book, warnings: Vec<String>) -> anyhow::Result<ExitCode> {
    let mut sections = vec![
        ("mdBook warnings and errors", warnings),
        (
            "includes and anchors",
            includes::check(&book.dir.join("src"))?,
        ),
        ("translation catalogue", po::check(&book.dir, &book.po)?),
        ("links", links::check(&book.html)?),
        ("search in a browser", browser::check(&book.html)?),
    ];
    let mut failed = 0;
    for (name, problems) in &mut sections {
        if problems.is_empty() {
            println!("book: ok: {name}");
            continue;
        }
        // Indented lines detail the problem above them.
        failed += problems.iter().filter(|p| !p.starts_with(' ')).count();
        eprintln!("book: FAILED: {name}");
        for problem in problems.iter() {
            eprintln!("  {problem}");
        }
    }
    if failed > 0 {
        bail!("the book check found {failed} problem(s), listed above");
    }
    println!("book: every check passed");
    Ok(ExitCode::SUCCESS)
}

/// Builds both languages from scratch and returns mdBook's warnings and errors.
fn build(book: &Book) -> anyhow::Result<Vec<String>> {
    // Start clean so that a page removed from the book does not linger in the output.
    if book.html.exists() {
        std::fs::remove_dir_all(&book.html)
            .with_context(|| format!("cannot remove {}", book.html.display()))?;
    }
    let mut warnings = Vec::new();
    // English first: it writes the folder that the Chinese book then goes into.
    for (code, name, folder) in LANGUAGES {
        let dest = book.html.join(folder);
        println!("book: building {name} into {}", shown(&dest));
        let mut command = mdbook(&book.dir);
        command
            .arg("build")
            .arg(&book.dir)
            .arg("--dest-dir")
            .arg(&dest);
        if code != "en" {
            // mdbook-gettext translates with po/<language>.po; the 404 page links from its root.
            command
                .env("MDBOOK_BOOK__LANGUAGE", code)
                .env("MDBOOK_OUTPUT__HTML__SITE_URL", format!("/{folder}/"));
        }
        let output = command.output().context("cannot start mdbook")?;
        let log = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            eprint!("{log}");
            bail!("mdbook could not build the {name} book (its messages are above)");
        }
        warnings.extend(problems(&log).iter().map(|line| format!("{name}: {line}")));
    }
    println!("book: open {}", shown(&book.html.join("index.html")));
    Ok(warnings)
}

/// The warning and error lines of an mdBook log (`WARN ...`, `ERROR ...`), colours removed.
fn problems(log: &str) -> Vec<String> {
    log.lines()
        .map(strip_ansi)
        .map(|line| line.trim().to_string())
        .filter(|line| line.starts_with("WARN") || line.starts_with("ERROR"))
        .collect()
}

/// Removes terminal colour sequences (`ESC [ ... m`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip up to and including the final letter of the sequence.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// An `mdbook` command run from the book folder.
fn mdbook(book_dir: &Path) -> Command {
    let mut command = Command::new("mdbook");
    command.current_dir(book_dir);
    command
}

/// A path relative to the workspace root, for messages.
fn shown(path: &Path) -> String {
    let root = crate::cargo::root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Installs each pinned tool that is missing or of another version, saying so.
fn install_tools() -> anyhow::Result<()> {
    for (package, version, binary) in TOOLS {
        let found = installed(package, binary)?;
        if found.as_deref() == Some(version) {
            continue;
        }
        let why = match found {
            Some(other) => format!("found {other}"),
            None => "not found".to_string(),
        };
        println!(
            "book: {package} {version} is needed ({why}); installing it with \
             `cargo install --locked {package}@{version}`"
        );
        let status = crate::cargo::cargo()
            .args(["install", "--locked", &format!("{package}@{version}")])
            .status()
            .context("cannot start cargo")?;
        if !status.success() {
            bail!("`cargo install --locked {package}@{version}` failed");
        }
        let now = installed(package, binary)?;
        if now.as_deref() != Some(version) {
            bail!(
                "{package} {version} is installed, but `{binary}` on PATH is {}: put cargo's bin \
                 folder (usually ~/.cargo/bin) first on PATH",
                now.unwrap_or_else(|| "missing".to_string())
            );
        }
    }
    Ok(())
}

/// The version of a tool as the book would run it: `mdbook --version` for mdBook (the mdbook
/// first on PATH is the one that builds), `cargo install --list` for the i18n helpers, which
/// print no version; `None` when its binary is not on PATH.
fn installed(package: &str, binary: &str) -> anyhow::Result<Option<String>> {
    if find_on_path(binary).is_none() {
        return Ok(None);
    }
    let output = if package == "mdbook" {
        Command::new(binary).arg("--version").output()
    } else {
        crate::cargo::cargo().args(["install", "--list"]).output()
    }
    .context("cannot ask for the installed version")?;
    Ok(installed_version(
        &String::from_utf8_lossy(&output.stdout),
        package,
    ))
}

/// The version in `mdbook --version` or `cargo install --list` output (`mdbook v0.5.4` and
/// `mdbook v0.5.4:` give `0.5.4`).
fn installed_version(list: &str, package: &str) -> Option<String> {
    list.lines().find_map(|line| {
        let rest = line.strip_prefix(package)?.strip_prefix(" v")?;
        let version = rest.split([':', ' ']).next()?;
        Some(version.to_string())
    })
}

/// The first file called `binary` in a PATH folder.
fn find_on_path(binary: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(format!("{binary}{}", std::env::consts::EXE_SUFFIX)))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_and_errors_are_found_and_info_is_not() {
        let log = " INFO Book building has started\n\
                   \u{1b}[31mERROR\u{1b}[0m Error updating \"{{#include x}}\"\n \
                   WARN Caused By: No such file\n INFO HTML book written";
        assert_eq!(
            problems(log),
            vec![
                "ERROR Error updating \"{{#include x}}\"".to_string(),
                "WARN Caused By: No such file".to_string()
            ]
        );
    }

    #[test]
    fn versions_are_read_from_cargo_install_list() {
        assert_eq!(
            installed_version("mdbook v0.5.4\n", "mdbook").as_deref(),
            Some("0.5.4")
        );
        let list = "mdbook v0.5.4:\n    mdbook\nmdbook-i18n-helpers v0.3.6:\n    mdbook-gettext\n";
        assert_eq!(installed_version(list, "mdbook").as_deref(), Some("0.5.4"));
        assert_eq!(
            installed_version(list, "mdbook-i18n-helpers").as_deref(),
            Some("0.3.6")
        );
        assert_eq!(installed_version(list, "mdbook-linkcheck"), None);
    }
}
