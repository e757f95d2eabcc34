//! `cargo xtask list`: the lesson table, for humans.

use std::process::ExitCode;

use crate::lessons::{self, LESSONS, Lesson};

pub fn main(args: &[String]) -> anyhow::Result<ExitCode> {
    if let Some(arg) = args.first() {
        if arg == "-h" || arg == "--help" {
            println!("Usage: cargo xtask list\n\nPrints the lesson table.");
            return Ok(ExitCode::SUCCESS);
        }
        anyhow::bail!("`list` takes no arguments, got `{arg}`");
    }
    print!("{}", table());
    Ok(ExitCode::SUCCESS)
}

fn table() -> String {
    let rows: Vec<[String; 8]> = LESSONS.iter().map(row).collect();
    let header = [
        "NN", "crate", "protocol", "role", "address", "runs", "command", "chapter",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push('\n');
    for lesson in &LESSONS {
        out.push_str(&format!(
            "{}  {} / {}\n",
            lesson.number, lesson.title_en, lesson.title_zh
        ));
    }
    out
}

fn row(lesson: &Lesson) -> [String; 8] {
    let runs = runs(lesson);
    [
        lesson.number.to_string(),
        lesson.package.to_string(),
        lesson.protocol.to_string(),
        lesson.role.to_string(),
        lesson.default_addr.to_string(),
        runs,
        format!("cargo xtask run {}", lesson.number),
        format!("book/src/{}", lesson.chapter),
    ]
}

/// What `cargo xtask run NN` starts for this lesson, e.g. `03 + 3 x 02`.
fn runs(lesson: &Lesson) -> String {
    match lessons::pair_for(lesson.number) {
        Some(pair) => format!(
            "{} + {} x {}",
            pair.server.number,
            pair.default_clients(),
            pair.client.number
        ),
        None => String::new(),
    }
}

/// The lesson table as Markdown, in both languages at once, for the book's lesson index
/// (`book/generated/lessons.md`, kept out of the translation catalogue) and the README. Chapter
/// links start with `chapters` (the path from the including file to `book/src/`).
/// `cargo xtask check` keeps both in step with the table.
pub fn markdown(chapters: &str) -> String {
    let mut out = String::from(
        "| Lesson 课 | Title | 标题 | Crate 包 | Protocol 协议 | Role 角色 | Try it 运行 | Starts 启动 |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for lesson in &LESSONS {
        out.push_str(&format!(
            "| [{n}]({chapters}{chapter}) | {en} | {zh} | `{package}` | {protocol} | {role} {role_zh} | `cargo xtask run {n}` | {runs} |\n",
            n = lesson.number,
            chapter = lesson.chapter,
            en = lesson.title_en,
            zh = lesson.title_zh,
            package = lesson.package,
            protocol = lesson.protocol,
            role = lesson.role,
            role_zh = lesson.role.zh(),
            runs = runs(lesson),
        ));
    }
    out
}
