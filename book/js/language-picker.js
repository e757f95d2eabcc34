// Language picker: puts a link in the menu bar of every page (print.html included) that opens
// the same page in the other language. The English book is the site root and the Chinese book
// sits in its `zh-CN/` folder, so the link is computed from relative paths only: it works from
// file:// and from any server, whatever folder the book is served from.
(function () {
    "use strict";

    const english = { code: "en", label: "English", folder: "" };
    const chinese = { code: "zh-CN", label: "中文", folder: "zh-CN/" };
    const current = document.documentElement.lang === chinese.code ? chinese : english;
    const other = current === english ? chinese : english;

    // mdBook defines `path_to_root` on every page: "" on top-level pages, "../" one level down.
    // The 404 page has a <base> element instead, so resolve against document.baseURI.
    const toRoot = typeof path_to_root === "string" && path_to_root !== "" ? path_to_root : "./";
    const bookRoot = new URL(toRoot, document.baseURI);
    const siteRoot = current.folder === "" ? bookRoot : new URL("../", bookRoot);

    // This page's path inside its book, without query or #fragment (headings are translated, so
    // their ids differ between the languages). The 404 page has no counterpart: go to the start.
    const here = new URL(window.location.href);
    here.hash = "";
    here.search = "";
    const insideBook = here.href.startsWith(bookRoot.href) && !document.querySelector("base");
    const page = insideBook ? here.href.slice(bookRoot.href.length) : "";

    const link = document.createElement("a");
    link.className = "language-picker";
    link.href = new URL(other.folder + page, siteRoot).href;
    link.hreflang = other.code;
    link.lang = other.code;
    link.title = other === chinese ? "阅读本页的中文版" : "Read this page in English";
    link.setAttribute("aria-label", link.title);
    // A small globe, drawn here so that the picker needs no icon font.
    link.innerHTML =
        '<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="9"/>' +
        '<path d="M3 12h18M12 3c2.5 2.6 3.8 5.6 3.8 9s-1.3 6.4-3.8 9c-2.5-2.6-3.8-5.6-3.8-9' +
        's1.3-6.4 3.8-9z"/></svg>';
    link.append(other.label);

    const buttons = document.querySelector("#mdbook-menu-bar .right-buttons");
    if (buttons) {
        buttons.prepend(link);
    }
})();
