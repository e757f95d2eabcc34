//! Internal links of the built book: every `href` and `src` in every HTML page (both languages)
//! must point to a file that exists, and a `#fragment` to an `id` on the target page.
//! Links with a scheme (`https:`, `mailto:` ...) are outside the book and not followed.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;

use anyhow::Context;

/// What the checker needs from one page.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub ids: HashSet<String>,
    pub links: Vec<String>,
    /// `<base href>`, if the page has one (mdBook's 404 page does).
    pub base: Option<String>,
}

/// Broken links under `site` (the folder served as `/`), one line each.
pub fn check(site: &Path) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    walk(site, "", &mut files)?;
    let files: HashSet<String> = files.into_iter().collect();
    let mut pages = BTreeMap::new();
    for file in files.iter().filter(|f| f.ends_with(".html")) {
        let html =
            fs::read_to_string(site.join(file)).with_context(|| format!("cannot read {file}"))?;
        pages.insert(file.clone(), extract(&html));
    }

    let mut problems = Vec::new();
    for (file, page) in &pages {
        for link in &page.links {
            let Some((target, fragment)) = resolve(file, page.base.as_deref(), link) else {
                continue;
            };
            let broken = if !files.contains(&target) {
                Some(format!("no file {target}"))
            } else {
                match (fragment, pages.get(&target)) {
                    (Some(id), Some(target_page)) if !target_page.ids.contains(&id) => {
                        Some(format!("no id `{id}` in {target}"))
                    }
                    _ => None,
                }
            };
            if let Some(why) = broken {
                problems.push(format!("{file}: broken link `{link}` ({why})"));
            }
        }
    }
    Ok(problems)
}

/// Every file under `dir`, as a `/`-separated path relative to the site.
fn walk(dir: &Path, prefix: &str, found: &mut Vec<String>) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &format!("{name}/"), found)?;
        } else {
            found.push(name);
        }
    }
    Ok(())
}

/// The ids, links and base of a page. A small tag scanner, enough for mdBook's output:
/// comments and the insides of `<script>` and `<style>` are skipped, attribute values unescaped.
pub fn extract(html: &str) -> Page {
    let mut page = Page::default();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(close) = tag_end(rest) else { break };
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            continue;
        }
        for (attribute, value) in attributes(&tag[name.len()..]) {
            match attribute.as_str() {
                "id" => {
                    page.ids.insert(value);
                }
                "name" if name == "a" => {
                    page.ids.insert(value);
                }
                "href" if name == "base" => page.base = Some(value),
                "href" | "src" => page.links.push(value),
                _ => {}
            }
        }
        if name == "script" || name == "style" {
            let end = format!("</{name}");
            rest = rest.find(&end).map_or("", |at| &rest[at..]);
        }
    }
    page
}

/// The index of the `>` that closes the tag starting at `text[0]`, skipping quoted values.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote = None;
    for (at, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(at),
            _ => {}
        }
    }
    None
}

/// The `name="value"` pairs of a tag (names lowercased, values unescaped).
fn attributes(mut text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    loop {
        text = text.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        let name_len = text
            .find(|c: char| c.is_whitespace() || c == '=' || c == '>' || c == '/')
            .unwrap_or(text.len());
        if name_len == 0 {
            return found;
        }
        let name = text[..name_len].to_ascii_lowercase();
        text = text[name_len..].trim_start();
        let Some(after_equals) = text.strip_prefix('=') else {
            found.push((name, String::new()));
            continue;
        };
        text = after_equals.trim_start();
        let (value, rest) = match text.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = &text[1..];
                let end = inner.find(q).unwrap_or(inner.len());
                (&inner[..end], inner.get(end + 1..).unwrap_or(""))
            }
            _ => {
                let end = text.find(char::is_whitespace).unwrap_or(text.len());
                (&text[..end], &text[end..])
            }
        };
        found.push((name, unescape(value)));
        text = rest;
    }
}

fn unescape(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Where a link on page `from` leads, as (file relative to the site, fragment), or `None` for a
/// link that leaves the book (a scheme such as `https:`, or `//host`).
pub fn resolve(from: &str, base: Option<&str>, link: &str) -> Option<(String, Option<String>)> {
    let has_scheme = link
        .split_once(':')
        .is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains(['/', '?', '#']));
    if has_scheme || link.starts_with("//") {
        return None;
    }
    let (link, fragment) = match link.split_once('#') {
        Some((path, fragment)) => (path, Some(percent_decode(fragment))),
        None => (link, None),
    };
    let path = link.split('?').next().unwrap_or_default();
    let fragment = fragment.filter(|f| !f.is_empty());

    // The folder links start from: the page's own, or its <base>.
    let from_dir = match from.rfind('/') {
        Some(at) => &from[..=at],
        None => "",
    };
    let start = match base {
        Some(base) if base.starts_with('/') => base.trim_start_matches('/').to_string(),
        Some(base) => format!("{from_dir}{base}"),
        None => from_dir.to_string(),
    };
    if path.is_empty() {
        // `#id` (or an empty href): this very page, unless a <base> says otherwise.
        let target = if base.is_some() {
            format!("{start}index.html")
        } else {
            from.to_string()
        };
        return Some((target, fragment));
    }
    let joined = if path.starts_with('/') {
        path.trim_start_matches('/').to_string()
    } else {
        format!("{start}{path}")
    };
    let mut parts: Vec<String> = Vec::new();
    for part in percent_decode(&joined).split('/') {
        match part {
            "" | "." => {}
            ".." => {
                // A link above the site root cannot be served: keep it unresolvable.
                if parts.pop().is_none() {
                    parts.push("..".to_string());
                }
            }
            part => parts.push(part.to_string()),
        }
    }
    let mut target = parts.join("/");
    if path.ends_with('/') || target.is_empty() {
        target = if target.is_empty() {
            "index.html".to_string()
        } else {
            format!("{target}/index.html")
        };
    }
    Some((target, fragment))
}

/// Decodes `%XX` escapes (UTF-8), leaving anything malformed as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes.get(at + 1..at + 3).and_then(|h| {
            std::str::from_utf8(h)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        });
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                at += 3;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str, fragment: Option<&str>) -> Option<(String, Option<String>)> {
        Some((path.to_string(), fragment.map(str::to_string)))
    }

    #[test]
    fn extracts_ids_links_and_base_but_not_scripts_or_comments() {
        let html = r##"<html><head><base href="/zh-CN/">
            <link rel="stylesheet" href="css/a.css"><script>let s = "<a href='no.html'>";</script>
            </head><body><!-- <a href="gone.html"> --><h2 id="port-in-use"><a class="header"
            href="#port-in-use">Port</a></h2><img src='images/udp-flow.svg' alt="a > b">
            <a href="pitfalls.html?x=1&amp;y=2#a">x</a><a name="old"></a></body></html>"##;
        let page = extract(html);
        assert_eq!(page.base.as_deref(), Some("/zh-CN/"));
        assert_eq!(
            page.links,
            vec![
                "css/a.css",
                "#port-in-use",
                "images/udp-flow.svg",
                "pitfalls.html?x=1&y=2#a"
            ]
        );
        assert!(page.ids.contains("port-in-use") && page.ids.contains("old"));
    }

    #[test]
    fn resolves_relative_root_and_base_links() {
        assert_eq!(
            resolve("zh-CN/lesson01.html", None, "pitfalls.html#port-in-use"),
            target("zh-CN/pitfalls.html", Some("port-in-use"))
        );
        assert_eq!(
            resolve("zh-CN/lesson01.html", None, "../lesson01.html"),
            target("lesson01.html", None)
        );
        assert_eq!(
            resolve("a/b.html", None, "#x"),
            target("a/b.html", Some("x"))
        );
        assert_eq!(
            resolve("zh-CN/404.html", Some("/zh-CN/"), "lessons.html"),
            target("zh-CN/lessons.html", None)
        );
        assert_eq!(
            resolve("index.html", None, "./"),
            target("index.html", None)
        );
        assert_eq!(
            resolve("index.html", None, "images/%E5%9B%BE.svg"),
            target("images/图.svg", None)
        );
        assert_eq!(
            resolve("index.html", None, "../outside.html"),
            target("../outside.html", None)
        );
    }

    #[test]
    fn links_that_leave_the_book_are_not_followed() {
        for link in [
            "https://doc.rust-lang.org/std/net/",
            "mailto:someone@example.com",
            "//cdn.example.com/x.js",
            "javascript:void(0)",
        ] {
            assert_eq!(resolve("index.html", None, link), None, "{link}");
        }
    }
}
