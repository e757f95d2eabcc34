//! The translation catalogue `book/po/zh-CN.po`: extracting the English messages with
//! mdbook-xgettext, checking that the catalogue matches them and is fully translated (GNU gettext's
//! msgcmp and msgfmt), and refreshing it for the translator (msgmerge, or msginit the first time).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};

use super::{TRANSLATION, shown};

/// The catalogue's problems, each one line (none when it is current and complete).
pub fn check(book_dir: &Path, po: &Path) -> anyhow::Result<Vec<String>> {
    let pot = Template::extract(book_dir)?;
    let mut problems = unexpanded_includes(&pot.text()?);
    if !po.is_file() {
        problems.push(format!(
            "{} does not exist: run `cargo xtask book --update-po` and translate it",
            shown(po)
        ));
        return Ok(problems);
    }

    // msgcmp both ways: every English message is in the catalogue, and nothing else is.
    if !msgcmp(po, &pot.path)? || !msgcmp(&pot.path, po)? {
        let english = msgids(&pot.text()?);
        let catalogue = msgids(&read(po)?);
        let new: Vec<&String> = english
            .iter()
            .filter(|id| !catalogue.contains(id))
            .collect();
        let old: Vec<&String> = catalogue
            .iter()
            .filter(|id| !english.contains(id))
            .collect();
        problems.push(format!(
            "{} is out of date with the English text ({} new or changed, {} no longer used): \
             run `cargo xtask book --update-po`, then translate",
            shown(po),
            new.len(),
            old.len()
        ));
        problems.extend(listed("new or changed", &new));
        problems.extend(listed("no longer used", &old));
    }

    let stats = statistics(po)?;
    if stats.fuzzy > 0 || stats.untranslated > 0 {
        problems.push(format!(
            "{} is not fully translated: {} translated, {} fuzzy, {} untranslated",
            shown(po),
            stats.translated,
            stats.fuzzy,
            stats.untranslated
        ));
        for (what, option) in [
            ("fuzzy", "--only-fuzzy"),
            ("untranslated", "--untranslated"),
        ] {
            let entries = gettext_tool("msgattrib", &[option, "--no-obsolete"], po)?;
            let ids = msgids(&String::from_utf8_lossy(&entries.stdout));
            problems.extend(listed(what, &ids.iter().collect::<Vec<_>>()));
        }
    }
    Ok(problems)
}

/// Brings the catalogue in step with the English text: new messages come in untranslated,
/// changed ones fuzzy (with the old translation as a starting point), removed ones go.
pub fn update(book_dir: &Path, po: &Path) -> anyhow::Result<()> {
    let pot = Template::extract(book_dir)?;
    let count = msgids(&pot.text()?).len();
    if po.is_file() {
        run(Command::new("msgmerge")
            .args(["--quiet", "--update", "--backup=none"])
            .arg(po)
            .arg(&pot.path))?;
        run(Command::new("msgattrib")
            .args(["--no-obsolete", "--output-file"])
            .arg(po)
            .arg(po))?;
    } else {
        fs::create_dir_all(po.parent().expect("the catalogue is in po/"))?;
        run(Command::new("msginit")
            .args([
                "--no-translator",
                "--locale",
                &TRANSLATION.replace('-', "_"),
            ])
            .arg("--input")
            .arg(&pot.path)
            .arg("--output-file")
            .arg(po))?;
    }
    let stats = statistics(po)?;
    println!(
        "book: {} has {count} messages: {} translated, {} fuzzy, {} untranslated",
        shown(po),
        stats.translated,
        stats.fuzzy,
        stats.untranslated
    );
    if stats.fuzzy + stats.untranslated > 0 {
        println!(
            "book: translate the fuzzy and untranslated entries (a PO editor such as Poedit helps), \
             then run `cargo xtask book --check`"
        );
    }
    Ok(())
}

/// The English messages of the book: `messages.pot` in a folder of its own, removed on drop.
pub struct Template {
    dir: PathBuf,
    pub path: PathBuf,
}

impl Template {
    /// Runs mdbook with the mdbook-xgettext renderer instead of the HTML one.
    pub fn extract(book_dir: &Path) -> anyhow::Result<Template> {
        let dir = std::env::temp_dir().join(format!("socket-lessons-pot-{}", std::process::id()));
        let template = Template {
            path: dir.join("messages.pot"),
            dir,
        };
        let output = super::mdbook(book_dir)
            .env("MDBOOK_OUTPUT", r#"{"xgettext": {}}"#)
            .arg("build")
            .arg(book_dir)
            .arg("--dest-dir")
            .arg(&template.dir)
            .output()
            .context("cannot start mdbook")?;
        if !output.status.success() || !template.path.is_file() {
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
            bail!("mdbook-xgettext could not extract the English messages (see above)");
        }
        Ok(template)
    }

    pub fn text(&self) -> anyhow::Result<String> {
        read(&self.path)
    }
}

impl Drop for Template {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// True when `definitions` holds every msgid of `reference` (msgcmp, exact matches only).
fn msgcmp(definitions: &Path, reference: &Path) -> anyhow::Result<bool> {
    let output = Command::new("msgcmp")
        .args(["--use-fuzzy", "--use-untranslated", "--no-fuzzy-matching"])
        .arg(definitions)
        .arg(reference)
        .output()
        .context("cannot start msgcmp (install GNU gettext)")?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && !log.contains("this message is used but not defined") {
        bail!("msgcmp failed: {}", log.trim());
    }
    Ok(output.status.success())
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Statistics {
    pub translated: usize,
    pub fuzzy: usize,
    pub untranslated: usize,
}

/// Counts entries with `msgfmt --check --statistics`, which also rejects a malformed catalogue.
fn statistics(po: &Path) -> anyhow::Result<Statistics> {
    let output = gettext_tool(
        "msgfmt",
        &["--check", "--statistics", "--output-file=-"],
        po,
    )?;
    Ok(parse_statistics(&String::from_utf8_lossy(&output.stderr)))
}

/// Reads msgfmt's `3 translated messages, 1 fuzzy translation, 2 untranslated messages.`
fn parse_statistics(text: &str) -> Statistics {
    let mut stats = Statistics::default();
    for part in text.trim().trim_end_matches('.').split(',') {
        let mut words = part.split_whitespace();
        let (Some(number), Some(kind)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(number) = number.parse() else { continue };
        match kind {
            "translated" => stats.translated = number,
            "fuzzy" => stats.fuzzy = number,
            "untranslated" => stats.untranslated = number,
            _ => {}
        }
    }
    stats
}

/// Runs a gettext tool on a catalogue; fails with its message if it fails.
fn gettext_tool(tool: &str, options: &[&str], po: &Path) -> anyhow::Result<Output> {
    let output = Command::new(tool)
        .args(options)
        .arg(po)
        .output()
        .with_context(|| format!("cannot start {tool} (install GNU gettext)"))?;
    if !output.status.success() {
        bail!(
            "{tool} rejected {}: {}",
            shown(po),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let program = command.get_program().to_string_lossy().into_owned();
    let status = command
        .status()
        .with_context(|| format!("cannot start {program} (install GNU gettext)"))?;
    if !status.success() {
        bail!("{program} failed");
    }
    Ok(())
}

/// A message that still holds an `{{#include}}`: mdBook directives reach the catalogue only when
/// they are not behind `<!-- i18n:skip -->` (the catalogue is extracted before includes run).
fn unexpanded_includes(pot: &str) -> Vec<String> {
    msgids(pot)
        .into_iter()
        .filter(|id| id.contains("{{#"))
        .map(|id| {
            format!(
                "an include is not behind `<!-- i18n:skip -->`, so it reached the catalogue: {}",
                one_line(&id)
            )
        })
        .collect()
}

/// The msgids of a PO or POT file, in order, without the header and obsolete (`#~`) entries.
pub fn msgids(po: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut current: Option<String> = None;
    for line in po.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("msgid ") {
            current = Some(unquote(rest));
        } else if line.starts_with('"') {
            if let Some(id) = current.as_mut() {
                id.push_str(&unquote(line));
            }
        } else if let Some(id) = current.take()
            && !id.is_empty()
        {
            ids.push(id);
        }
    }
    if let Some(id) = current.filter(|id| !id.is_empty()) {
        ids.push(id);
    }
    ids
}

/// The text of one quoted PO string, escapes resolved.
fn unquote(quoted: &str) -> String {
    let inner = quoted
        .trim()
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(quoted);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The first few messages of a kind, one line each, and how many more there are.
fn listed(what: &str, ids: &[&String]) -> Vec<String> {
    const SHOWN: usize = 10;
    let mut lines: Vec<String> = ids
        .iter()
        .take(SHOWN)
        .map(|id| format!("  {what}: {}", one_line(id)))
        .collect();
    if ids.len() > SHOWN {
        lines.push(format!("  ... and {} more {what}", ids.len() - SHOWN));
    }
    lines
}

/// A message shortened to one line for a report.
fn one_line(text: &str) -> String {
    let flat = text.replace('\n', " ");
    match flat.char_indices().nth(72) {
        Some((cut, _)) => format!("\"{}…\"", &flat[..cut]),
        None => format!("\"{flat}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PO: &str = r#"
msgid ""
msgstr ""
"Language: zh_CN\n"

#: src/SUMMARY.md:3
msgid "Introduction"
msgstr "简介"

#: src/intro.md:5
msgid ""
"Run `cargo xtask run 04` and watch the \"server\"\n"
"and client."
msgstr ""

#~ msgid "Old text"
#~ msgstr "旧文本"
"#;

    #[test]
    fn msgids_skip_the_header_and_obsolete_entries_and_join_lines() {
        assert_eq!(
            msgids(PO),
            vec![
                "Introduction".to_string(),
                "Run `cargo xtask run 04` and watch the \"server\"\nand client.".to_string()
            ]
        );
    }

    #[test]
    fn msgfmt_statistics_are_read_in_all_their_forms() {
        assert_eq!(
            parse_statistics(
                "3 translated messages, 1 fuzzy translation, 2 untranslated messages.\n"
            ),
            Statistics {
                translated: 3,
                fuzzy: 1,
                untranslated: 2
            }
        );
        assert_eq!(
            parse_statistics("1 translated message.\n"),
            Statistics {
                translated: 1,
                ..Statistics::default()
            }
        );
    }

    #[test]
    fn includes_in_the_catalogue_are_reported() {
        let pot = "msgid \"{{#include ../generated/lessons.md}}\"\nmsgstr \"\"\n\n\
                   msgid \"Plain prose.\"\nmsgstr \"\"\n";
        let found = unexpanded_includes(pot);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("lessons.md"));
    }
}
