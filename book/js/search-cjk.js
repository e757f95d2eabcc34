// Chinese (and other CJK) search for the book.
//
// mdBook's search index splits text on spaces, so a Chinese sentence becomes one long "word" and a
// query such as 套接字 matches nothing, or only pages where it happens to start a phrase. This file
// extends mdBook's own search instead of replacing it:
//
// * It does nothing unless the page is in a CJK language (`<html lang="zh-CN">`), so the English
//   book is untouched.
// * It wraps `elasticlunr.Index.prototype.search`, the one call mdBook's searcher.js makes to run a
//   query. A query with CJK characters is answered by substring matching over the section texts
//   that mdBook already ships in its index (the document store it uses for teasers), so no second
//   index is built or downloaded. Every term of the query must appear (`TCP 连接` means TCP and
//   连接). CJK terms match anywhere; Latin terms match at the start of a word, where a CJK
//   character also counts as a word boundary (Chinese text often glues `UdpSocket` to the
//   characters around it, which the index cannot see).
// * A query without CJK characters still goes to mdBook's index, unchanged and first; sections
//   that the index missed because the word was glued to Chinese text are added after its results.
// * Results are returned in elasticlunr's own format, so mdBook renders them in its result list
//   with its links (including `?highlight=`, which marks the words on the target page) and its
//   keyboard handling. The teaser mdBook would cut from a Chinese text is replaced by a short
//   excerpt around the best match, with the matched text in <em>.
//
// Ranking: sections whose title contains more of the terms first, then more occurrences in the
// text, then book order. When there are more matching sections than mdBook shows
// (`limit-results`), each page's best section comes before any page's second one, so every page
// that contains the query is listed.
(function cjkSearch() {
    'use strict';

    const lang = (document.documentElement.getAttribute('lang') || '').toLowerCase();
    if (!/^(zh|ja|ko)(-|$)/.test(lang)) {
        return;
    }
    if (typeof elasticlunr === 'undefined' || !elasticlunr.Index || !elasticlunr.Index.prototype) {
        return;
    }
    const proto = elasticlunr.Index.prototype;
    if (proto.cjkSearchInstalled) {
        return;
    }

    // Han, kana, Hangul and the CJK symbol and full-width blocks; surrogates cover the
    // supplementary Han planes.
    const CJK = /[\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff\u3200-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]|[\ud840-\ud87f][\udc00-\udfff]/;
    // Separators between query terms: white space and CJK punctuation.
    const SEPARATORS = /[\s\u3000-\u3003\u3008-\u3011\u3014-\u301f\uff01\uff08\uff09\uff0c\uff0e\uff1a\uff1b\uff1f]+/;
    // A Latin term matches where the text before it is not a letter or digit of a Latin word.
    const WORD_CHAR = /[0-9a-z_\u00c0-\u024f]/;
    const EXCERPT_BEFORE = 24;
    const EXCERPT_LENGTH = 110;

    const originalSearch = proto.search;
    const prepared = new WeakMap();
    // Excerpt text -> terms to emphasise, for the results of the latest query.
    let excerpts = new Map();

    function isCjk(text) {
        return CJK.test(text);
    }

    // Lower-cases without changing the length, so offsets found in the lower-cased text are valid
    // in the original one.
    function lower(text) {
        const low = text.toLowerCase();
        if (low.length === text.length) {
            return low;
        }
        let out = '';
        for (const ch of text) {
            const c = ch.toLowerCase();
            out += c.length === ch.length ? c : ch;
        }
        return out;
    }

    // Splits a query into terms: at white space and CJK punctuation, and where CJK text meets
    // Latin text (`UDP套接字` is `UDP` and `套接字`). Latin terms lose surrounding punctuation.
    function parseQuery(query) {
        const terms = [];
        for (const piece of query.split(SEPARATORS)) {
            let run = '';
            let runCjk = null;
            const flush = () => {
                let text = lower(run);
                if (!runCjk) {
                    text = text.replace(/^[^0-9a-z\u00c0-\u024f]+|[^0-9a-z\u00c0-\u024f]+$/g, '');
                }
                if (text !== '' && !terms.some(t => t.text === text)) {
                    terms.push({text: text, cjk: runCjk});
                }
                run = '';
            };
            for (const ch of piece) {
                const cjk = isCjk(ch);
                if (run !== '' && cjk !== runCjk) {
                    flush();
                }
                runCjk = cjk;
                run += ch;
            }
            if (run !== '') {
                flush();
            }
        }
        return terms;
    }

    // Offsets of every match of `term` in the lower-cased `text`.
    function findAll(text, term) {
        const found = [];
        let from = 0;
        for (;;) {
            const at = text.indexOf(term.text, from);
            if (at < 0) {
                return found;
            }
            if (term.cjk || at === 0 || !WORD_CHAR.test(text.charAt(at - 1))) {
                found.push(at);
            }
            from = at + 1;
        }
    }

    function count(text, term) {
        return findAll(text, term).length;
    }

    // The document store's sections in book order, with lower-cased copies for matching.
    function sections(index) {
        let list = prepared.get(index);
        if (list) {
            return list;
        }
        const urls = (window.search && window.search.doc_urls) || [];
        const docs = index.documentStore.docs;
        list = Object.keys(docs).map(ref => {
            const doc = docs[ref] || {};
            const url = String(urls[ref] || ref);
            return {
                ref: ref,
                doc: doc,
                page: url.split('#')[0],
                title: lower(String(doc.title || '')),
                body: lower(String(doc.body || '')),
                breadcrumbs: lower(String(doc.breadcrumbs || '')),
            };
        });
        prepared.set(index, list);
        return list;
    }

    // The excerpt of `body` around the place where the most terms occur close together.
    function excerpt(body, low, terms) {
        let best = -1;
        let bestScore = 0;
        const hits = terms.map(term => findAll(low, term));
        for (const list of hits) {
            for (const at of list) {
                const from = at - EXCERPT_BEFORE;
                const to = from + EXCERPT_LENGTH;
                const score = hits.filter(other => other.some(o => o >= from && o < to)).length;
                if (score > bestScore || score === bestScore && at < best) {
                    best = at;
                    bestScore = score;
                }
            }
        }
        let start = best < 0 ? 0 : Math.max(0, best - EXCERPT_BEFORE);
        let end = Math.min(body.length, start + EXCERPT_LENGTH);
        // Do not start or end in the middle of a Latin word, unless it is a very long one.
        const inWord = at => at > 0 && at < body.length
            && WORD_CHAR.test(low.charAt(at - 1)) && WORD_CHAR.test(low.charAt(at));
        for (let n = 0; n < 12 && inWord(start) && (best < 0 || start < best); n++) {
            start += 1;
        }
        for (let n = 0; n < 12 && inWord(end); n++) {
            end -= 1;
        }
        // Never cut a surrogate pair in half.
        if (start > 0 && /[\udc00-\udfff]/.test(body.charAt(start))) {
            start -= 1;
        }
        if (end < body.length && /[\udc00-\udfff]/.test(body.charAt(end))) {
            end += 1;
        }
        return (start > 0 ? '…' : '') + body.substring(start, end).trim()
            + (end < body.length ? '…' : '');
    }

    function substringSearch(index, terms) {
        const matches = [];
        for (const section of sections(index)) {
            let inTitle = 0;
            let inBody = 0;
            let inSection = false;
            let all = true;
            for (const term of terms) {
                const t = count(section.title, term);
                const b = count(section.body, term);
                if (t + b === 0 && count(section.breadcrumbs, term) === 0) {
                    all = false;
                    break;
                }
                inTitle += t > 0 ? 1 : 0;
                inBody += Math.min(b, 50);
                inSection = inSection || t + b > 0;
            }
            if (all && inSection) {
                matches.push({section: section, inTitle: inTitle, inBody: inBody});
            }
        }
        matches.sort((a, b) => b.inTitle - a.inTitle || b.inBody - a.inBody
            || Number(a.section.ref) - Number(b.section.ref));

        const options = window.search && window.search.results_options;
        const limit = options && options.limit_results > 0 ? options.limit_results : 30;
        let ordered = matches;
        if (matches.length > limit) {
            const firsts = [];
            const rest = [];
            const pages = new Set();
            for (const match of matches) {
                if (pages.has(match.section.page)) {
                    rest.push(match);
                } else {
                    pages.add(match.section.page);
                    firsts.push(match);
                }
            }
            ordered = firsts.concat(rest);
        }

        return ordered.map((match, position) => {
            const section = match.section;
            const text = excerpt(String(section.doc.body || ''), section.body, terms);
            return {
                ref: section.ref,
                score: ordered.length - position,
                // A copy: the stored section keeps its full text.
                doc: Object.assign({}, section.doc, {body: text}),
            };
        });
    }

    proto.search = function search(query, options) {
        if (typeof query !== 'string' || !this.documentStore || !this.documentStore.docs) {
            return originalSearch.apply(this, arguments);
        }
        const terms = parseQuery(query);
        excerpts = new Map();
        if (terms.length === 0) {
            return originalSearch.apply(this, arguments);
        }
        if (terms.some(term => term.cjk)) {
            const results = substringSearch(this, terms);
            results.forEach(result => excerpts.set(result.doc.body, terms));
            return results;
        }
        const results = originalSearch.apply(this, arguments);
        const seen = new Set(results.map(result => String(result.ref)));
        for (const extra of substringSearch(this, terms)) {
            if (!seen.has(String(extra.ref))) {
                excerpts.set(extra.doc.body, terms);
                results.push(extra);
            }
        }
        return results;
    };
    proto.cjkSearchInstalled = true;

    // Emphasis: mdBook cuts teasers at spaces, which in Chinese would emphasise a whole phrase.
    // Rewrite the teasers of the excerpts made above, and point their `?highlight=` at the terms.

    function escapeHtml(text) {
        return text.replace(/[&<>"']/g, c => '&#' + c.charCodeAt(0) + ';');
    }

    function emphasise(text, terms) {
        const low = lower(text);
        const marks = [];
        for (const term of terms) {
            for (const at of findAll(low, term)) {
                marks.push([at, at + term.text.length]);
            }
        }
        marks.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
        let html = '';
        let pos = 0;
        for (const [from, to] of marks) {
            if (to <= pos) {
                continue;
            }
            const start = Math.max(from, pos);
            html += escapeHtml(text.substring(pos, start))
                + '<em>' + escapeHtml(text.substring(start, to)) + '</em>';
            pos = to;
        }
        return html + escapeHtml(text.substring(pos));
    }

    function rewriteTeasers(list) {
        for (const item of list.children) {
            const teaser = item.querySelector('.teaser');
            if (!teaser || teaser.hasAttribute('data-cjk')) {
                continue;
            }
            const text = teaser.textContent.trim();
            let terms = excerpts.get(text);
            if (!terms && text.length >= 20) {
                // mdBook cut a longer excerpt to its teaser length.
                for (const [excerptText, excerptTerms] of excerpts) {
                    if (excerptText.includes(text)) {
                        terms = excerptTerms;
                        break;
                    }
                }
            }
            if (!terms) {
                continue;
            }
            teaser.innerHTML = emphasise(text, terms);
            teaser.setAttribute('data-cjk', '');
            const link = item.querySelector('a[href]');
            if (link) {
                const words = encodeURIComponent(terms.map(t => t.text).join(' '))
                    .replace(/'/g, '%27');
                link.setAttribute('href',
                    link.getAttribute('href').replace(/([?&]highlight=)[^&#]*/, '$1' + words));
            }
        }
    }

    const list = document.getElementById('mdbook-searchresults')
        || document.getElementById('searchresults');
    if (list && typeof MutationObserver !== 'undefined') {
        new MutationObserver(() => rewriteTeasers(list)).observe(list, {childList: true});
    }

    // mdBook words the result count in English; say it in Chinese in the Chinese book.
    const header = document.getElementById('mdbook-searchresults-header')
        || document.getElementById('searchresults-header');
    if (header && lang.startsWith('zh') && typeof MutationObserver !== 'undefined') {
        new MutationObserver(() => {
            const text = header.textContent;
            const found = /^(\d+) search results? for '(.*)':$/.exec(text);
            const none = /^No search results for '(.*)'\.$/.exec(text);
            if (found) {
                header.textContent = '找到 ' + found[1] + ' 条与“' + found[2] + '”相关的结果：';
            } else if (none) {
                header.textContent = '没有找到与“' + none[1] + '”相关的结果。';
            }
        }).observe(header, {childList: true, characterData: true, subtree: true});
    }

    // mdBook's searcher.js starts loading the index before this file runs. If the index arrived
    // first, a query from `?search=` was already answered without us: ask mdBook to search again.
    // It skips a query equal to the previous one, so pass through an invisible one first.
    const bar = document.getElementById('mdbook-searchbar') || document.getElementById('searchbar');
    if (bar && window.search && window.search.index && bar.value.trim() !== '') {
        const query = bar.value;
        for (const value of ['\u200b', query]) {
            bar.value = value;
            bar.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true}));
        }
    }
})();
