//! `cargo xtask check [NN] [--bless]`: runs every lesson pair on free ports and compares each
//! program's output with the transcript the book includes; also keeps the book's lesson index in
//! step with the lesson table. `--bless` rewrites what differs.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::children::{Stream, Who};
use crate::cli::Args;
use crate::conversation::{self, Failure, Observer, Plan};
use crate::lessons::{self, LESSONS, Pair};

pub fn main(args: &[String]) -> anyhow::Result<ExitCode> {
    let mut args = Args::new(args);
    if args.help() {
        println!(
            "Usage: cargo xtask check [NN] [--bless]\n\n\
             Runs each lesson pair (or lesson NN's) on free ports and compares every program's\n\
             output, ports normalised, with book/generated/transcripts; checks that\n\
             book/generated/lessons.md matches the lesson table. --bless rewrites what differs."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let bless = args.flag("--bless");
    let only = args.positional();
    args.finish()?;
    let pairs: Vec<Pair> = match &only {
        Some(number) => vec![
            lessons::pair_for(number)
                .with_context(|| format!("there is no lesson `{number}`: pick 01 to 05"))?,
        ],
        None => lessons::pairs().collect(),
    };

    let packages: Vec<&str> = LESSONS.iter().map(|lesson| lesson.package).collect();
    crate::cargo::build(&packages)?;

    let mut stale = Vec::new();
    for pair in pairs {
        for (path, actual) in transcripts(pair)? {
            if !matches_or_bless(&path, &actual, bless)? {
                stale.push(path);
            }
        }
    }
    if only.is_none() {
        for (path, actual) in lesson_tables()? {
            if !matches_or_bless(&path, &actual, bless)? {
                stale.push(path);
            }
        }
        let wrong = titles_in_book()?;
        if !wrong.is_empty() {
            bail!(
                "the book's lesson titles differ from xtask/src/lessons.rs:\n  {}",
                wrong.join("\n  ")
            );
        }
    }
    if stale.is_empty() {
        println!("check: every transcript and generated file is up to date");
        return Ok(ExitCode::SUCCESS);
    }
    bail!(
        "{} file(s) differ from what the lessons produce; if the change is intended, run \
         `cargo xtask check --bless` and review the diff",
        stale.len()
    )
}

pub fn generated_dir() -> PathBuf {
    crate::cargo::root().join("book/generated")
}

/// The lesson table, rendered where it is shown: the book's lesson index and the README's region.
fn lesson_tables() -> anyhow::Result<Vec<(PathBuf, String)>> {
    const NOTE: &str =
        "<!-- Generated from xtask/src/lessons.rs by `cargo xtask check --bless`; do not edit. -->";
    let book = format!("{NOTE}\n\n{}", crate::list::markdown(""));
    let readme_path = crate::cargo::root().join("README.md");
    let readme = fs::read_to_string(&readme_path).context("cannot read README.md")?;
    let (start, end) = ("<!-- lessons:start -->\n", "<!-- lessons:end -->");
    let (Some(from), Some(to)) = (readme.find(start), readme.find(end)) else {
        bail!(
            "README.md has lost its `{}` … `{end}` markers",
            start.trim_end()
        );
    };
    let region = format!("{NOTE}\n\n{}", crate::list::markdown("book/src/"));
    let readme = format!("{}{start}{region}{}", &readme[..from], &readme[to..]);
    Ok(vec![
        (generated_dir().join("lessons.md"), book),
        (readme_path, readme),
    ])
}

/// Where the book names a lesson in its own words (the table of contents, the chapter heading
/// and their translations), the titles must be the table's. Returns what differs.
fn titles_in_book() -> anyhow::Result<Vec<String>> {
    let book = crate::cargo::root().join("book");
    let summary = fs::read_to_string(book.join("src/SUMMARY.md"))?;
    let catalogue = fs::read_to_string(book.join("po/zh-CN.po"))?;
    let mut wrong = Vec::new();
    for lesson in &LESSONS {
        let n = lesson.number;
        let entry = format!("[{n} · {}]({})", lesson.title_en, lesson.chapter);
        if !summary.contains(&entry) {
            wrong.push(format!("book/src/SUMMARY.md lacks `{entry}`"));
        }
        let chapter = fs::read_to_string(book.join("src").join(lesson.chapter))?;
        let heading = format!("# Lesson {n} · {}", lesson.title_en);
        if !chapter.starts_with(&heading) {
            wrong.push(format!(
                "book/src/{} does not start with `{heading}`",
                lesson.chapter
            ));
        }
        for (english, chinese) in [
            (
                format!("{n} · {}", lesson.title_en),
                format!("{n} · {}", lesson.title_zh),
            ),
            (
                format!("Lesson {n} · {}", lesson.title_en),
                format!("第 {n} 课 · {}", lesson.title_zh),
            ),
        ] {
            let pair = format!("msgid \"{english}\"\nmsgstr \"{chinese}\"\n");
            if !catalogue.contains(&pair) {
                wrong.push(format!(
                    "book/po/zh-CN.po does not translate `{english}` as `{chinese}`"
                ));
            }
        }
    }
    Ok(wrong)
}

/// The normalised output of each program of one conversation, keyed by its transcript path.
fn transcripts(pair: Pair) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let dir = crate::cargo::bin_dir();
    let plan = Plan {
        pair,
        server_bin: &dir.join(pair.server.package),
        client_bin: &dir.join(pair.client.package),
        server_addr: "127.0.0.1:0".parse()?,
        message: None,
        clients: pair.default_clients(),
        timeout: Duration::from_secs(30),
    };
    let mut seen = Collector::default();
    let outcome = match conversation::converse(&plan, &mut seen) {
        Ok(outcome) => outcome,
        Err(Failure::Signal(signal)) => bail!("interrupted by signal {signal}"),
        Err(Failure::Other(err)) => return Err(err.context(format!("pair {}", pair.name()))),
    };
    if !seen.stderr.is_empty() {
        bail!(
            "pair {}: unexpected output on stderr:\n{}",
            pair.name(),
            seen.stderr.join("\n")
        );
    }
    if !outcome.client_status.success() {
        bail!(
            "pair {}: the client failed ({})",
            pair.name(),
            outcome.client_status
        );
    }
    let server_default: SocketAddr = pair.server.default_addr.parse()?;
    let normalise = |lines: &[String]| {
        lines
            .iter()
            .map(|line| normalise_line(line, outcome.server_addr, server_default) + "\n")
            .collect::<String>()
    };
    let folder = generated_dir().join("transcripts").join(pair.name());
    Ok(vec![
        (
            folder.join(format!("{}.txt", pair.server.package)),
            normalise(&seen.server),
        ),
        (
            folder.join(format!("{}.txt", pair.client.package)),
            normalise(&seen.clients),
        ),
    ])
}

#[derive(Default)]
struct Collector {
    server: Vec<String>,
    clients: Vec<String>,
    stderr: Vec<String>,
}

impl Observer for Collector {
    fn line(&mut self, who: Who, stream: Stream, text: &str) {
        let lines = match (who, stream) {
            (_, Stream::Stderr) => &mut self.stderr,
            (Who::Server, Stream::Stdout) => &mut self.server,
            (Who::Client(_), Stream::Stdout) => &mut self.clients,
        };
        lines.push(text.to_string());
    }
}

/// The server's real address becomes its documented one; every other port on 127.0.0.1 is a
/// client's ephemeral port and becomes `<client port>`.
fn normalise_line(line: &str, server: SocketAddr, server_default: SocketAddr) -> String {
    let line = line.replace(&server.to_string(), &server_default.to_string());
    let default = server_default.to_string();
    let mut out = String::new();
    let mut rest = line.as_str();
    while let Some(at) = rest.find("127.0.0.1:") {
        let after = &rest[at + "127.0.0.1:".len()..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let candidate = &rest[at..at + "127.0.0.1:".len() + digits];
        out.push_str(&rest[..at]);
        if digits == 0 || candidate == default {
            out.push_str(candidate);
        } else {
            out.push_str("127.0.0.1:<client port>");
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// True when `path` holds `actual`; otherwise shows a diff, and with `bless` writes it.
fn matches_or_bless(path: &Path, actual: &str, bless: bool) -> anyhow::Result<bool> {
    let expected = fs::read_to_string(path).unwrap_or_default();
    if expected == actual {
        return Ok(true);
    }
    let shown = path.strip_prefix(crate::cargo::root()).unwrap_or(path);
    if bless {
        fs::create_dir_all(path.parent().context("a generated file has a folder")?)?;
        fs::write(path, actual).with_context(|| format!("cannot write {}", shown.display()))?;
        println!("blessed {}", shown.display());
        return Ok(true);
    }
    println!(
        "--- {} (committed)\n+++ what the lessons produce now",
        shown.display()
    );
    print!("{}", diff(&expected, actual));
    Ok(false)
}

/// A line diff (longest common subsequence): ` ` same, `-` only expected, `+` only actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("  {}\n", a[i]);
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out += &format!("- {}\n", a[i]);
            i += 1;
        } else {
            out += &format!("+ {}\n", b[j]);
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_server_and_client_ports() {
        let server: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        let default: SocketAddr = "127.0.0.1:8998".parse().unwrap();
        assert_eq!(
            normalise_line("listening on 127.0.0.1:40001", server, default),
            "listening on 127.0.0.1:8998"
        );
        assert_eq!(
            normalise_line("Received msg: hi from 127.0.0.1:53211", server, default),
            "Received msg: hi from 127.0.0.1:<client port>"
        );
        assert_eq!(
            normalise_line(
                "127.0.0.1:5 -> 127.0.0.1:40001, 127.0.0.1:",
                server,
                default
            ),
            "127.0.0.1:<client port> -> 127.0.0.1:8998, 127.0.0.1:"
        );
    }

    #[test]
    fn diff_marks_removed_and_added_lines() {
        assert_eq!(diff("a\nb\nc\n", "a\nx\nc\n"), "  a\n- b\n+ x\n  c\n");
        assert_eq!(diff("", "new\n"), "+ new\n");
        assert_eq!(diff("same\n", "same\n"), "  same\n");
    }
}
