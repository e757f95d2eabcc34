//! The book's search, tried in a real browser. Headless Chromium opens a built page with
//! `?search=<query>`; mdBook's search (extended by `book/js/search-cjk.js` in the Chinese book)
//! fills its result list; the check reads that list from the DOM Chromium prints.
//!
//! - The Chinese book: Chinese words, an English word and a mixed query each list every page
//!   whose text contains them (and no other), with the match emphasised and a `?highlight=` link
//!   that marks it on the target page; a word the book does not contain finds nothing.
//! - The English book: a word is still found by mdBook's own search, which the Chinese search
//!   leaves alone.
//! - A small Chinese book kept for this check (`xtask/tests/fixtures/search-zh`) covers what the
//!   real book may not show: a word glued to Chinese text, a word only in a title (ranked first),
//!   more matching sections than mdBook lists (every page must still be listed).
//!
//! The pages a query should find are worked out here from the built HTML (the text of each
//! page's `<main>`), independently of the search index and the script.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use anyhow::{Context, bail};

/// What a query must find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Every page whose text contains every term of the query, and no other page.
    EveryPage,
    /// At least one result, each on a page that contains the query. For mdBook's own search,
    /// whose idea of a word (stemming, prefixes of index tokens) is not ours.
    SomePages,
    /// No result at all.
    Nothing,
}

struct Case {
    query: &'static str,
    expect: Expect,
}

const fn case(query: &'static str, expect: Expect) -> Case {
    Case { query, expect }
}

/// The Chinese book (`zh-CN/`). Each found word must occur in the book: if the text changes so
/// that one no longer does, pick another that does.
const CHINESE_BOOK: &[Case] = &[
    case("套接字", Expect::EveryPage),
    case("端口", Expect::EveryPage),
    case("数据报", Expect::EveryPage),
    case("连接", Expect::EveryPage),
    case("UdpSocket", Expect::EveryPage),
    case("UdpSocket 绑定", Expect::EveryPage),
    case("鲸鱼", Expect::Nothing),
];

/// The English book.
const ENGLISH_BOOK: &[Case] = &[
    case("UdpSocket", Expect::SomePages),
    case("datagram", Expect::SomePages),
    case("whalesong", Expect::Nothing),
];

/// The fixture book, whose text is fixed: see its pages for what each query exercises.
const FIXTURE_BOOK: &[Case] = &[
    case("套接字", Expect::EveryPage),
    case("数据报", Expect::EveryPage),
    case("连接", Expect::EveryPage),
    case("UdpSocket", Expect::EveryPage),
    case("TcpStream", Expect::EveryPage),
    case("TCP 连接", Expect::EveryPage),
    case("UdpSocket 绑定", Expect::EveryPage),
    case("socket", Expect::SomePages),
    case("鲸鱼", Expect::Nothing),
];

/// Where the fixture book is, relative to the workspace root.
const FIXTURE: &str = "xtask/tests/fixtures/search-zh";

/// The folder of the Chinese book inside the site.
const CHINESE_FOLDER: &str = "zh-CN";

/// Browsers tried, in order, on PATH.
const BROWSERS: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// How long one page may take in the browser before the check gives up on it.
const PAGE_TIMEOUT: Duration = Duration::from_secs(90);

/// Problems with search in the built book under `site` (the English book, with the Chinese one
/// in `zh-CN/`), one line each.
pub fn check(site: &Path) -> anyhow::Result<Vec<String>> {
    let Some(browser) = Browser::find() else {
        return Ok(vec![format!(
            "no Chromium found on PATH (tried {}): the search checks run the built book in a \
             headless browser; install it (Debian/Ubuntu: `apt-get install chromium`)",
            BROWSERS.join(", ")
        )]);
    };
    let mut problems = Vec::new();

    let chinese = site.join(CHINESE_FOLDER);
    problems.extend(check_book(&browser, "zh-CN", &chinese, CHINESE_BOOK, true)?);
    problems.extend(check_book(&browser, "en", site, ENGLISH_BOOK, false)?);

    let fixture = TempDir::new("fixture")?;
    match build_fixture(fixture.path()) {
        Ok(html) => problems.extend(check_fixture(&browser, &html)?),
        Err(err) => problems.push(format!("fixture book: {err:#}")),
    }
    Ok(problems)
}

/// Runs `cases` against one built book. `cjk` says whether the Chinese search must be at work.
fn check_book(
    browser: &Browser,
    name: &str,
    dir: &Path,
    cases: &[Case],
    cjk: bool,
) -> anyhow::Result<Vec<String>> {
    let book = BuiltBook::read(dir).with_context(|| format!("{name} book"))?;
    let mut problems = Vec::new();
    let mut first_found = None;
    for case in cases {
        let dom = browser.dump(&book.url(&format!("index.html?search={}", encode(case.query))))?;
        let (results, found) = check_query(&book, case, &dom, cjk);
        problems.extend(results.into_iter().map(|p| format!("{name}: {p}")));
        if first_found.is_none() && cjk && case.query.chars().any(is_cjk) {
            first_found = found.map(|href| (case.query, href));
        }
    }
    if cjk {
        match first_found {
            Some((query, href)) => {
                let dom = browser.dump(&book.url(&href))?;
                if let Some(problem) = check_marks(query, &dom) {
                    problems.push(format!("{name}: {href}: {problem}"));
                }
            }
            None => problems.push(format!(
                "{name}: no Chinese query found anything, so `?highlight=` was not tried"
            )),
        }
    }
    Ok(problems)
}

/// The fixture's cases, plus what only its fixed text can pin down.
fn check_fixture(browser: &Browser, dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = check_book(browser, "fixture", dir, FIXTURE_BOOK, true)?;
    let book = BuiltBook::read(dir)?;

    // A section titled with the word comes before sections that only mention it.
    let dom = browser.dump(&book.url(&format!("index.html?search={}", encode("套接字"))))?;
    match parse_results(&dom).and_then(|r| r.items.into_iter().next()) {
        Some(first) if first.link_text.contains("套接字") => {}
        Some(first) => problems.push(format!(
            "fixture: `套接字`: the first result is `{}`, not a section whose title has the word",
            first.link_text
        )),
        None => problems.push("fixture: `套接字`: no result".to_string()),
    }

    // More matching sections than mdBook shows: the list is full, and (checked above) every
    // page is in it.
    let dom = browser.dump(&book.url(&format!("index.html?search={}", encode("连接"))))?;
    let shown = parse_results(&dom).map_or(0, |r| r.items.len());
    if shown != book.limit {
        problems.push(format!(
            "fixture: `连接` matches more sections than mdBook lists ({}), but {shown} are shown",
            book.limit
        ));
    }
    Ok(problems)
}

/// Checks one query's result list; also returns the first result's link when there is one.
/// `cjk` says whether the book is one where the Chinese search is at work.
fn check_query(
    book: &BuiltBook,
    case: &Case,
    dom: &str,
    cjk: bool,
) -> (Vec<String>, Option<String>) {
    let query = case.query;
    let terms = terms(query);
    let expected = book.pages_containing(&terms);
    let mut problems = Vec::new();
    let Some(results) = parse_results(dom) else {
        problems.push(format!(
            "`{query}`: the page has no search result list (did mdBook's search run?)"
        ));
        return (problems, None);
    };

    match case.expect {
        Expect::Nothing if !expected.is_empty() => problems.push(format!(
            "`{query}` was meant to be absent but the book contains it on {}: pick another word",
            list(&expected)
        )),
        Expect::EveryPage | Expect::SomePages if expected.is_empty() => {
            problems.push(format!(
                "`{query}` does not occur in the book any more: pick a word that does"
            ));
            return (problems, None);
        }
        _ => {}
    }

    if cjk && !(results.header.starts_with("找到") || results.header.starts_with("没有找到"))
    {
        problems.push(format!(
            "`{query}`: the result header is not in Chinese: `{}`",
            results.header
        ));
    }
    let count = results.items.len();
    if results.count != Some(count) {
        problems.push(format!(
            "`{query}`: the header says `{}` but {count} results are listed",
            results.header
        ));
    }
    let pages: BTreeSet<String> = results.items.iter().map(|i| i.page.clone()).collect();
    match case.expect {
        Expect::Nothing => {
            if count > 0 {
                problems.push(format!(
                    "`{query}` should find nothing but found {}",
                    list(&pages)
                ));
            }
            return (problems, None);
        }
        Expect::EveryPage => {
            let missing: BTreeSet<_> = expected.difference(&pages).cloned().collect();
            if !missing.is_empty() {
                problems.push(format!(
                    "`{query}` does not find {} (the word is there)",
                    list(&missing)
                ));
            }
        }
        Expect::SomePages => {
            if count == 0 {
                problems.push(format!("`{query}` finds nothing"));
            }
        }
    }
    let extra: BTreeSet<_> = pages.difference(&expected).cloned().collect();
    if !extra.is_empty() {
        problems.push(format!(
            "`{query}` lists {}, which do not contain it",
            list(&extra)
        ));
    }

    // Every result links with `?highlight=`. A result of the Chinese search (all of them for a
    // query with Chinese words, in the Chinese book) shows a word of the query in its excerpt or
    // title and emphasises nothing else. mdBook's own results keep mdBook's teasers.
    let chinese_query = terms.iter().any(|t| t.cjk);
    for item in &results.items {
        if !item.href.contains("?highlight=") {
            problems.push(format!(
                "`{query}`: result `{}` links to `{}` without ?highlight=",
                item.link_text, item.href
            ));
        }
        if cjk && chinese_query && !item.rewritten {
            problems.push(format!(
                "`{query}`: result `{}` was not made by the Chinese search",
                item.link_text
            ));
        }
        if !cjk && item.rewritten {
            problems.push(format!(
                "`{query}`: the Chinese search rewrote result `{}` in a book that is not Chinese",
                item.link_text
            ));
        }
        if !item.rewritten {
            continue;
        }
        let text = format!("{} {}", item.link_text, item.teaser_text).to_lowercase();
        if !terms.iter().any(|t| t.occurs_in(&text)) {
            problems.push(format!(
                "`{query}`: result `{}` shows none of the words",
                item.link_text
            ));
        }
        for em in &item.emphasised {
            if !terms.iter().any(|t| em.to_lowercase().contains(&t.text)) {
                problems.push(format!(
                    "`{query}`: result `{}` emphasises `{em}`, which is not a search word",
                    item.link_text
                ));
            }
        }
    }
    for term in &terms {
        let emphasised = results
            .items
            .iter()
            .flat_map(|i| &i.emphasised)
            .any(|em| em.to_lowercase().contains(&term.text));
        if !emphasised {
            problems.push(format!(
                "`{query}`: no result emphasises `{}` in its excerpt",
                term.text
            ));
        }
    }
    let first = results.items.first().map(|i| i.href.clone());
    (problems, first)
}

/// The target page of a result marks every word of the query (mdBook's `?highlight=`).
fn check_marks(query: &str, dom: &str) -> Option<String> {
    let marked: Vec<String> = dom
        .split("<mark")
        .skip(1)
        .filter_map(|rest| rest.split_once('>'))
        .filter_map(|(_, rest)| rest.split_once("</mark>"))
        .map(|(text, _)| decode(text).to_lowercase())
        .collect();
    let unmarked: Vec<String> = terms(query)
        .into_iter()
        .filter(|term| !marked.iter().any(|m| m.contains(&term.text)))
        .map(|term| term.text)
        .collect();
    (!unmarked.is_empty())
        .then(|| format!("`{query}`: {} not marked on the page", unmarked.join(", ")))
}

/// One built book: its folder and, from its search index and HTML, its chapters' text.
struct BuiltBook {
    dir: PathBuf,
    /// Chapter file -> the lower-cased text of each section of its `<main>` (a section starts
    /// at a heading, as in mdBook's search index).
    pages: Vec<(String, Vec<String>)>,
    /// How many results mdBook lists at most.
    limit: usize,
}

impl BuiltBook {
    fn read(dir: &Path) -> anyhow::Result<BuiltBook> {
        let dir = dir
            .canonicalize()
            .with_context(|| format!("no built book at {}", dir.display()))?;
        let index = find_search_index(&dir)?;
        let js = fs::read_to_string(&index)
            .with_context(|| format!("cannot read {}", index.display()))?;
        let chapters: BTreeSet<String> = doc_urls(&js)
            .with_context(|| format!("no doc_urls in {}", index.display()))?
            .into_iter()
            .map(|url| url.split('#').next().unwrap_or_default().to_string())
            .collect();
        let mut pages = Vec::new();
        for chapter in chapters {
            let path = dir.join(&chapter);
            let html = fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let sections = main_sections(&html)
                .iter()
                .map(|section| decode(&strip_tags(section, " ")).to_lowercase())
                .collect();
            pages.push((chapter, sections));
        }
        Ok(BuiltBook {
            dir,
            pages,
            limit: number_after(&js, "\"limit_results\":").unwrap_or(30),
        })
    }

    /// The pages with a section that contains every term: search results are sections, and a
    /// query of several words asks for all of them in one place.
    fn pages_containing(&self, terms: &[Term]) -> BTreeSet<String> {
        self.pages
            .iter()
            .filter(|(_, sections)| {
                !terms.is_empty()
                    && sections
                        .iter()
                        .any(|text| terms.iter().all(|t| t.occurs_in(text)))
            })
            .map(|(page, _)| page.clone())
            .collect()
    }

    /// A `file://` URL for `page` (with its query and fragment) in this book.
    fn url(&self, page: &str) -> String {
        let dir = self.dir.to_string_lossy();
        let encoded: String = dir.split('/').map(encode).collect::<Vec<_>>().join("/");
        // The page part comes from the book's own links: only its non-ASCII bytes need encoding.
        let mut url = format!("file://{encoded}/");
        for c in page.chars() {
            if c.is_ascii() {
                url.push(c);
            } else {
                url.push_str(&encode(c.encode_utf8(&mut [0; 4])));
            }
        }
        url
    }
}

/// `searchindex-<hash>.js` (mdBook 0.5) or `searchindex.js` (earlier).
fn find_search_index(dir: &Path) -> anyhow::Result<PathBuf> {
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().to_string();
        if name.starts_with("searchindex") && name.ends_with(".js") {
            return Ok(dir.join(name));
        }
    }
    bail!(
        "no searchindex*.js in {}: is search enabled in book.toml?",
        dir.display()
    )
}

/// The `doc_urls` array of a search index (`"doc_urls":["a.html#x","b.html"]`).
fn doc_urls(js: &str) -> Option<Vec<String>> {
    let mut rest = &js[js.find("\"doc_urls\":[")? + "\"doc_urls\":[".len()..];
    let mut urls = Vec::new();
    loop {
        rest = rest.trim_start_matches(',');
        if rest.starts_with(']') {
            return Some(urls);
        }
        rest = rest.strip_prefix('"')?;
        let end = rest.find('"')?;
        urls.push(rest[..end].to_string());
        rest = &rest[end + 1..];
    }
}

fn number_after(text: &str, key: &str) -> Option<usize> {
    let rest = &text[text.find(key)? + key.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The HTML of a page's `<main>`, cut before every heading (tags become spaces and entities
/// are decoded by the caller, as mdBook's index separates elements).
fn main_sections(html: &str) -> Vec<&str> {
    let main = html
        .find("<main>")
        .and_then(|start| {
            let end = html[start..].find("</main>")?;
            Some(&html[start..start + end])
        })
        .unwrap_or(html);
    let mut cuts: Vec<usize> = Vec::new();
    for level in 1..=6 {
        let tag = format!("<h{level}");
        cuts.extend(main.match_indices(&tag).map(|(at, _)| at));
    }
    cuts.push(0);
    cuts.push(main.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2).map(|w| &main[w[0]..w[1]]).collect()
}

fn strip_tags(html: &str, replacement: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end) => {
                out.push_str(replacement);
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the character references found in mdBook's and Chromium's HTML.
fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let Some(end) = rest.find(';').filter(|&end| end <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..end];
        let decoded = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A word of a query, lower-cased.
#[derive(Debug, PartialEq, Eq)]
struct Term {
    text: String,
    cjk: bool,
}

impl Term {
    /// Whether the term occurs in `text` (lower-cased): CJK anywhere, Latin at the start of a
    /// word, where a CJK character counts as a word boundary (as `search-cjk.js` matches).
    fn occurs_in(&self, text: &str) -> bool {
        if self.cjk {
            return text.contains(&self.text);
        }
        text.match_indices(&self.text).any(|(at, _)| {
            text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !is_word_char(c))
        })
    }
}

fn terms(query: &str) -> Vec<Term> {
    query
        .split_whitespace()
        .map(|word| Term {
            text: word.to_lowercase(),
            cjk: word.chars().any(is_cjk),
        })
        .collect()
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || ('\u{c0}'..='\u{24f}').contains(&c)
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{2e80}'..='\u{2fdf}'
        | '\u{3000}'..='\u{30ff}'
        | '\u{3100}'..='\u{31ff}'
        | '\u{3200}'..='\u{9fff}'
        | '\u{a960}'..='\u{a97f}'
        | '\u{ac00}'..='\u{d7ff}'
        | '\u{f900}'..='\u{faff}'
        | '\u{fe30}'..='\u{fe4f}'
        | '\u{ff00}'..='\u{ffef}'
        | '\u{20000}'..='\u{2ffff}')
}

/// The result list mdBook rendered, as read from the DOM.
#[derive(Debug, Default)]
struct Results {
    header: String,
    /// The number the header announces (`3 search results for ...`, `找到 3 条…`; `No search
    /// results` and `没有找到…` are 0).
    count: Option<usize>,
    items: Vec<Item>,
}

#[derive(Debug, Default)]
struct Item {
    href: String,
    /// The chapter file the result links to.
    page: String,
    link_text: String,
    teaser_text: String,
    emphasised: Vec<String>,
    /// The teaser was rewritten by `search-cjk.js` (it marks it with `data-cjk`).
    rewritten: bool,
}

/// Reads mdBook's result list (`#mdbook-searchresults`; `#searchresults` before 0.5).
fn parse_results(dom: &str) -> Option<Results> {
    let header = ["mdbook-searchresults-header", "searchresults-header"]
        .iter()
        .find_map(|id| inner(dom, id, "</div>"))?;
    let header = decode(&strip_tags(header, "")).trim().to_string();
    // mdBook's English header, or the Chinese one `search-cjk.js` puts in its place.
    let count = if header.starts_with("No search results") || header.starts_with("没有找到") {
        Some(0)
    } else {
        number_after(&header, "找到 ").or_else(|| number_after(&header, ""))
    };
    let list = ["mdbook-searchresults", "searchresults"]
        .iter()
        .find_map(|id| inner(dom, id, "</ul>"))?;
    let items = list
        .split("<li")
        .skip(1)
        .map(|li| {
            let li = li.split("</li>").next().unwrap_or(li);
            let href = attribute(li, "href")
                .map(|h| decode(&h))
                .unwrap_or_default();
            let link_text = between(li, "<a ", "</a>")
                .and_then(|a| a.split_once('>'))
                .map(|(_, text)| decode(&strip_tags(text, "")))
                .unwrap_or_default();
            let (teaser_attributes, teaser) = between(li, "class=\"teaser\"", "</span>")
                .and_then(|t| t.split_once('>'))
                .unwrap_or_default();
            let emphasised = teaser
                .split("<em>")
                .skip(1)
                .filter_map(|rest| rest.split_once("</em>"))
                .map(|(text, _)| decode(&strip_tags(text, "")))
                .collect();
            let page = href
                .split(['?', '#'])
                .next()
                .unwrap_or_default()
                .trim_start_matches("./")
                .to_string();
            Item {
                page,
                link_text: link_text.trim().to_string(),
                teaser_text: decode(&strip_tags(teaser, "")),
                emphasised,
                rewritten: teaser_attributes.contains("data-cjk"),
                href,
            }
        })
        .collect();
    Some(Results {
        header,
        count,
        items,
    })
}

/// The content of the element with `id="<id>"`, up to `close`.
fn inner<'a>(dom: &'a str, id: &str, close: &str) -> Option<&'a str> {
    let start = dom.find(&format!("id=\"{id}\""))?;
    let open_end = start + dom[start..].find('>')? + 1;
    let end = open_end + dom[open_end..].find(close)?;
    Some(&dom[open_end..end])
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = from + text[from..].find(end)?;
    Some(&text[from..to])
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    between(tag, &format!("{name}=\""), "\"").map(str::to_string)
}

fn list(pages: &BTreeSet<String>) -> String {
    pages.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Builds the fixture book with the book's `search-cjk.js`; returns its HTML folder.
fn build_fixture(dir: &Path) -> anyhow::Result<PathBuf> {
    let root = crate::cargo::root();
    copy_dir(&root.join(FIXTURE), dir)?;
    fs::create_dir_all(dir.join("js"))?;
    let script = root.join("book").join("js").join("search-cjk.js");
    fs::copy(&script, dir.join("js").join("search-cjk.js"))
        .with_context(|| format!("cannot copy {}", script.display()))?;
    let html = dir.join("html");
    let output = Command::new("mdbook")
        .arg("build")
        .arg(dir)
        .arg("--dest-dir")
        .arg(&html)
        .output()
        .context("cannot start mdbook")?;
    if !output.status.success() {
        bail!(
            "mdbook could not build it: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(html)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Headless Chromium, one fresh profile per page.
struct Browser {
    exe: PathBuf,
}

impl Browser {
    fn find() -> Option<Browser> {
        BROWSERS
            .iter()
            .find_map(|name| super::find_on_path(name))
            .map(|exe| Browser { exe })
    }

    /// Loads `url`, lets its scripts run, and returns the DOM as HTML.
    fn dump(&self, url: &str) -> anyhow::Result<String> {
        let profile = TempDir::new("profile")?;
        let mut command = Command::new(&self.exe);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                // Virtual time runs the page's timers at once and waits for its loads, including
                // the search index that mdBook's searcher.js loads on demand.
                "--virtual-time-budget=5000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that a hung browser and its helpers can be killed.
            .process_group(0);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", self.exe.display()))?;
        let group = child.id() as libc::pid_t;
        let (done, finished) = mpsc::channel();
        thread::spawn(move || {
            let _ = done.send(child.wait_with_output());
        });
        let output = match finished.recv_timeout(PAGE_TIMEOUT) {
            Ok(output) => output.context("browser failed")?,
            Err(_) => {
                // SAFETY: kill(2) on the group of the child started above; no memory involved.
                unsafe { libc::kill(-group, libc::SIGKILL) };
                bail!(
                    "{} did not finish {url} within {} s",
                    self.exe.display(),
                    PAGE_TIMEOUT.as_secs()
                );
            }
        };
        let dom = String::from_utf8_lossy(&output.stdout).to_string();
        if !output.status.success() || !dom.contains("<html") {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last: Vec<&str> = stderr.lines().rev().take(5).collect();
            bail!(
                "{} could not load {url} ({}): {}",
                self.exe.display(),
                output.status,
                last.into_iter().rev().collect::<Vec<_>>().join(" | ")
            );
        }
        Ok(dom)
    }
}

/// A folder under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> anyhow::Result<TempDir> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "xtask-search-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOM: &str = r##"<div id="mdbook-searchresults-outer" class="searchresults-outer">
<div id="mdbook-searchresults-header" class="searchresults-header">2 search results for '端口':</div>
<ul id="mdbook-searchresults"><li><a href="udp.html?highlight=%E7%AB%AF%E5%8F%A3#回复" aria-details="mdbook-teaser_1">UDP 服务器 » 回复</a><span class="teaser" id="mdbook-teaser_1" aria-label="Search Result Teaser" data-cjk="">发回对方的<em>端口</em>。</span></li><li><a href="what.html?highlight=%E7%AB%AF%E5%8F%A3#地址" aria-details="mdbook-teaser_2">地址</a><span class="teaser" id="mdbook-teaser_2">IP &amp; <em>端口</em>号</span></li></ul></div>"##;

    #[test]
    fn the_result_list_is_read_from_the_dom() {
        let results = parse_results(DOM).unwrap();
        assert_eq!(results.count, Some(2));
        assert_eq!(results.items.len(), 2);
        let first = &results.items[0];
        assert_eq!(first.page, "udp.html");
        assert_eq!(first.link_text, "UDP 服务器 » 回复");
        assert_eq!(first.emphasised, vec!["端口".to_string()]);
        assert!(first.rewritten);
        assert_eq!(results.items[1].teaser_text, "IP & 端口号");
        assert!(!results.items[1].rewritten);
    }

    #[test]
    fn no_results_reads_as_zero() {
        let dom = r#"<div id="mdbook-searchresults-header">No search results for 'x'.</div><ul id="mdbook-searchresults"></ul>"#;
        let results = parse_results(dom).unwrap();
        assert_eq!(results.count, Some(0));
        assert!(results.items.is_empty());
        assert!(parse_results("<html></html>").is_none());
        let dom = r#"<div id="mdbook-searchresults-header">没有找到与“x”相关的结果。</div><ul id="mdbook-searchresults"></ul>"#;
        assert_eq!(parse_results(dom).unwrap().count, Some(0));
        let dom = r#"<div id="mdbook-searchresults-header">找到 12 条与“端口”相关的结果：</div><ul id="mdbook-searchresults"></ul>"#;
        assert_eq!(parse_results(dom).unwrap().count, Some(12));
    }

    #[test]
    fn latin_terms_match_at_word_starts_and_next_to_chinese() {
        let term = &terms("UdpSocket")[0];
        assert!(!term.cjk);
        assert!(term.occurs_in("用udpsocket收发"));
        assert!(term.occurs_in("std::net::udpsocket::bind"));
        assert!(!term.occurs_in("myudpsocket"));
        let term = &terms("套接字")[0];
        assert!(term.cjk && term.occurs_in("创建套接字并"));
    }

    #[test]
    fn a_query_finds_pages_with_every_term() {
        let book = BuiltBook {
            dir: PathBuf::from("/b"),
            pages: vec![
                ("a.html".into(), vec!["tcp 是面向连接的".into()]),
                ("b.html".into(), vec!["udp 没有连接".into()]),
                ("c.html".into(), vec!["tcp".into(), "连接".into()]),
            ],
            limit: 30,
        };
        let found: Vec<_> = book
            .pages_containing(&terms("TCP 连接"))
            .into_iter()
            .collect();
        assert_eq!(found, vec!["a.html".to_string()]);
        assert_eq!(book.pages_containing(&terms("连接")).len(), 3);
        assert_eq!(
            book.url("a.html?search=x#小"),
            "file:///b/a.html?search=x#%E5%B0%8F"
        );
    }

    #[test]
    fn search_index_urls_and_limit_are_read() {
        let js = r#"window.search = Object.assign(window.search, JSON.parse('{"results_options":{"limit_results":30,"teaser_word_count":30},"doc_urls":["a.html#x","b.html","a.html#连接"],"index":{}}'));"#;
        assert_eq!(
            doc_urls(js).unwrap(),
            vec!["a.html#x", "b.html", "a.html#连接"]
        );
        assert_eq!(number_after(js, "\"limit_results\":"), Some(30));
    }

    #[test]
    fn html_text_and_entities() {
        let html = "<nav>x</nav><main><h1>套<em>接</em>字</h1><p>a &lt;b&gt; &#39;c&#x27; &amp;amp;</p><h2 id=\"s\">二</h2><p>x</p></main>";
        let sections = main_sections(html);
        assert_eq!(sections.len(), 3, "{sections:?}");
        assert_eq!(
            decode(&strip_tags(sections[1], " ")),
            " 套 接 字  a <b> 'c' &amp; "
        );
        assert_eq!(decode(&strip_tags(sections[2], " ")), " 二  x ");
        assert_eq!(encode("端口 a"), "%E7%AB%AF%E5%8F%A3%20a");
    }

    #[test]
    fn marks_are_found() {
        let dom = r#"<p>用 <mark data-markjs="true">端口</mark> 7852</p>"#;
        assert!(check_marks("端口", dom).is_none());
        assert!(check_marks("端口 套接字", dom).is_some());
    }
}
