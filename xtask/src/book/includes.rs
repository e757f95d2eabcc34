//! Every `{{#include}}` in the chapters must name a file that exists and, when it names an
//! anchor, an anchor that the file defines. mdBook reports a missing file but silently includes
//! nothing for a missing anchor; this check catches both.

use std::fs;
use std::path::Path;

use anyhow::Context;

/// One include directive: the file (relative to the chapter) and the anchor, if any.
#[derive(Debug, PartialEq, Eq)]
pub struct Include {
    pub file: String,
    pub anchor: Option<String>,
}

/// Problems with the includes of every Markdown file under `src`.
pub fn check(src: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut chapters = Vec::new();
    markdown_files(src, &mut chapters)?;
    chapters.sort();
    for chapter in chapters {
        let text = fs::read_to_string(&chapter)
            .with_context(|| format!("cannot read {}", chapter.display()))?;
        let dir = chapter.parent().expect("a chapter is in a folder");
        let name = super::shown(&chapter);
        for include in directives(&text) {
            let target = dir.join(&include.file);
            let Ok(source) = fs::read_to_string(&target) else {
                let hint = if include.file.contains("generated/") {
                    " (generated files come from `cargo xtask check --bless`)"
                } else {
                    ""
                };
                problems.push(format!("{name}: cannot read `{}`{hint}", include.file));
                continue;
            };
            if let Some(anchor) = &include.anchor
                && !defines_anchor(&source, anchor)
            {
                problems.push(format!(
                    "{name}: `{}` has no `ANCHOR: {anchor}` … `ANCHOR_END: {anchor}`",
                    include.file
                ));
            }
        }
    }
    Ok(problems)
}

fn markdown_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            markdown_files(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "md") {
            found.push(path);
        }
    }
    Ok(())
}

/// The `{{#include ...}}` and `{{#rustdoc_include ...}}` directives of a chapter, except
/// escaped ones (`\{{#include ...}}`, which mdBook prints as text).
pub fn directives(text: &str) -> Vec<Include> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{#") {
        let escaped = rest[..start].ends_with('\\');
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else { break };
        let body = after[..end].trim();
        rest = &after[end + 2..];
        if escaped {
            continue;
        }
        let Some(argument) = body
            .strip_prefix("include ")
            .or_else(|| body.strip_prefix("rustdoc_include "))
        else {
            continue;
        };
        let mut parts = argument.trim().splitn(2, ':');
        let file = parts.next().unwrap_or_default().to_string();
        // `file:anchor` names an anchor; `file:10`, `file:10:20`, `file::20` are line ranges.
        let anchor = parts
            .next()
            .filter(|spec| !spec.is_empty())
            .filter(|spec| {
                !spec
                    .split(':')
                    .all(|n| n.is_empty() || n.parse::<usize>().is_ok())
            })
            .map(str::to_string);
        found.push(Include { file, anchor });
    }
    found
}

/// True when the source has both `ANCHOR: name` and `ANCHOR_END: name` (as mdBook matches them).
fn defines_anchor(source: &str, name: &str) -> bool {
    let marks = |keyword: &str| {
        source.lines().any(|line| {
            line.split(keyword).nth(1).is_some_and(|rest| {
                let rest = rest.trim_start();
                rest.strip_prefix(name).is_some_and(|after| {
                    !after.starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            })
        })
    };
    marks("ANCHOR:") && marks("ANCHOR_END:")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn include(file: &str, anchor: Option<&str>) -> Include {
        Include {
            file: file.to_string(),
            anchor: anchor.map(str::to_string),
        }
    }

    #[test]
    fn directives_with_anchors_ranges_and_escapes() {
        let text = "a {{#include ../../lesson01/src/main.rs:step1}} b\n\
                    {{#include ../generated/lessons.md}}\n\
                    {{#rustdoc_include x.rs:10:20}} {{#include y.rs::5}}\n\
                    \\{{#include not/this.rs:step9}} {{#title ignored}}";
        assert_eq!(
            directives(text),
            vec![
                include("../../lesson01/src/main.rs", Some("step1")),
                include("../generated/lessons.md", None),
                include("x.rs", None),
                include("y.rs", None),
            ]
        );
    }

    #[test]
    fn anchors_must_open_and_close_with_the_exact_name() {
        let source = "// ANCHOR: step1\nlet a = 1;\n// ANCHOR_END: step1\n// ANCHOR: step10\n";
        assert!(defines_anchor(source, "step1"));
        assert!(!defines_anchor(source, "step10"));
        assert!(!defines_anchor(source, "step"));
        assert!(!defines_anchor(source, "args"));
    }
}
