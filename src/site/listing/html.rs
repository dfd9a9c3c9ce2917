//! The HTML listing: a breadcrumb of links, a parent link, name / size /
//! modified (UTC) columns, folders first, sortable by the column headers
//! (forms: `?sort=size&order=desc`) without JavaScript, pages for big
//! folders, light and dark themes by `prefers-color-scheme`. Every name is
//! escaped and every href percent-encoded, so every link works whatever
//! the name. Pages of many entries have a filter box (a small inline
//! script; without JavaScript the box is not shown and the page is
//! complete). A row is as light as HTML allows (`benches/listing_load.sh`
//! measures a 5,000-entry listing in Chromium).

use percent_encoding::percent_encode;

use crate::fs::{rel_bytes, rel_lossy};

use super::{HREF, Listing, SortKey, display_path};

/// Rows are grids of fixed columns, not an auto-sized table, and rows out
/// of view are not laid out (`content-visibility`): Chromium lays a big
/// table out again and again while it parses it, which made a 5,000-entry
/// listing take about a second to DOMContentLoaded. Icons come from the
/// links' hrefs in CSS (alt text `""`: not read out), not from each row.
const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1d2430;--muted:#6b7480;--bg:#fff;--row:#f4f6f9;--link:#0b5cad;--line:#e3e7ee}\
@media (prefers-color-scheme:dark){:root{--fg:#e4e8ee;--muted:#98a2b0;--bg:#14181e;--row:#1c222a;--link:#7fb6ff;--line:#2a313b}}\
*{box-sizing:border-box}body{margin:0;padding:1.5rem;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg)}\
main{max-width:60rem;margin:0 auto}h1{font-size:1.2rem;font-weight:600;margin:0 0 1rem;word-break:break-all}\
.breadcrumb a{color:var(--link);text-decoration:none}.breadcrumb a:hover{text-decoration:underline}.breadcrumb .sep{color:var(--muted);margin:0 .2em}\
table,thead,tbody{display:block;width:100%}tr{display:grid;grid-template-columns:minmax(0,1fr) 6.5em 12.5em;border-bottom:1px solid var(--line)}\
tbody tr{content-visibility:auto;contain-intrinsic-size:auto 2.2em}tbody tr:hover{background:var(--row)}tr[hidden]{display:none}\
th,td{padding:.35rem .5rem;text-align:left}th{font-weight:600;color:var(--muted)}\
th form{margin:0}th button{color:inherit;font:inherit;background:none;border:0;padding:0;cursor:pointer}th button:hover{text-decoration:underline}\
td a{color:var(--link);text-decoration:none;word-break:break-all}td a:hover{text-decoration:underline}\
td+td,th+th{white-space:nowrap;color:var(--muted)}tr>:nth-child(2){text-align:right}\
td:first-child a::before{display:inline-block;width:1.6em;content:\"📄\";content:\"📄\"/\"\"}\
#filter{font:inherit;width:min(100%,20rem);margin:0 0 .6rem;padding:.25rem .5rem;border:1px solid var(--line);border-radius:4px;color:inherit;background:var(--bg)}\
footer{margin-top:1rem;color:var(--muted);font-size:.85rem}footer p{margin:0 0 .3rem}\
@media (max-width:40rem){tr{grid-template-columns:minmax(0,1fr) 6.5em}tr>:nth-child(3){display:none}body{padding:.8rem}}";

/// File icons by extension (the default is in [`STYLE`]), matched on the
/// links' hrefs; folders and the parent link first.
const ICONS: [(&str, &[&str]); 8] = [
    (
        "🖼",
        &[
            "png", "jpg", "jpeg", "gif", "webp", "svg", "avif", "ico", "bmp",
        ],
    ),
    ("🎞", &["mp4", "webm", "mkv", "mov", "avi"]),
    ("🎵", &["mp3", "ogg", "wav", "flac", "m4a", "opus"]),
    (
        "📦",
        &[
            "zip", "gz", "tgz", "xz", "bz2", "zst", "br", "7z", "tar", "rar",
        ],
    ),
    ("📕", &["pdf"]),
    (
        "🧩",
        &[
            "html", "htm", "css", "js", "mjs", "json", "xml", "wasm", "rs", "py", "c", "h", "sh",
            "toml", "yaml", "yml",
        ],
    ),
    ("📝", &["txt", "md", "csv", "log"]),
    ("📁", &[]),
];

/// The icon rules: `td:first-child a[href$=".png" i]::before{…}`, …
fn icon_style() -> &'static str {
    static CSS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSS.get_or_init(|| {
        let mut css = String::new();
        let mut rule = |selectors: Vec<String>, icon: &str| {
            css.push_str(&selectors.join(","));
            css.push_str(&format!("{{content:\"{icon}\";content:\"{icon}\"/\"\"}}"));
        };
        for (icon, exts) in ICONS {
            let sel = |s: &str| format!("td:first-child a[href$=\"{s}\" i]::before");
            match exts {
                [] => rule(vec![sel("/")], icon),
                exts => rule(exts.iter().map(|e| sel(&format!(".{e}"))).collect(), icon),
            }
        }
        rule(
            vec!["td:first-child a[href^=\"..\"]::before".to_owned()],
            "↩",
        );
        css
    })
}

/// Pages of at least this many entries get the filter box.
pub const FILTER_MIN: usize = 50;

/// The filter box's script: it shows the box (hidden without JavaScript,
/// where it could not work) and, as one types, hides the rows whose name
/// does not contain the text, ignoring case. This page's rows only; the
/// parent link stays.
const FILTER_SCRIPT: &str = "<script>(()=>{\
const f=document.getElementById(\"filter\");let rows;f.hidden=false;\
f.oninput=()=>{rows=rows||[...document.querySelector(\"tbody\").rows].map(r=>[r,r.cells[0].textContent.toLowerCase()]);\
const q=f.value.toLowerCase();for(const[r,n]of rows)r.hidden=q!==\"\"&&n!==\"../\"&&!n.includes(q)}})()</script>\n";

pub fn render(l: &Listing<'_>) -> Vec<u8> {
    let (rel, entries, view) = (l.rel, &l.entries, l.view);
    let title = escape(&display_path(rel));
    let mut out = String::with_capacity(4096 + entries.len() * 120);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str(&format!(
        "<title>Index of {title}</title><style>{STYLE}{}</style></head>\n",
        icon_style()
    ));
    out.push_str("<body><main>\n<h1><nav class=\"breadcrumb\" aria-label=\"path\">");
    out.push_str("<a href=\"/\">/</a>");
    let mut href = String::from("/");
    let segments: Vec<&str> = rel.split('/').filter(|s| !s.is_empty()).collect();
    for (i, seg) in segments.iter().enumerate() {
        href.extend(percent_encode(&rel_bytes(seg), HREF));
        href.push('/');
        if i > 0 {
            out.push_str("<span class=\"sep\">/</span>");
        }
        out.push_str(&format!(
            "<a href=\"{href}\">{}</a>",
            escape(&rel_lossy(seg))
        ));
    }
    out.push_str("</nav></h1>\n");
    let filter = entries.len() >= FILTER_MIN;
    if filter {
        out.push_str(
            "<input type=\"search\" id=\"filter\" placeholder=\"Filter\" \
             aria-label=\"Show only the names on this page that contain\" hidden>\n",
        );
    }
    out.push_str("<table>\n<thead><tr>");
    for (key, label) in [
        (SortKey::Name, "Name"),
        (SortKey::Size, "Size"),
        (SortKey::Time, "Modified (UTC)"),
    ] {
        // Clicking the current column flips the order; another starts asc.
        let current = view.sort == key;
        let desc = current && !view.desc;
        let (arrow, aria) = match (current, view.desc) {
            (true, false) => (" ↑", " aria-sort=\"ascending\""),
            (true, true) => (" ↓", " aria-sort=\"descending\""),
            _ => ("", ""),
        };
        let order = if desc { "desc" } else { "asc" };
        // A form, not a link: a mirroring client (wget -r) follows every
        // link, and fetched each folder in every order; none submits
        // forms, and rel=nofollow tells crawlers that do to leave it.
        out.push_str(&format!(
            "<th{aria}><form rel=\"nofollow\"><input type=\"hidden\" name=\"sort\" value=\"{}\">\
             <button name=\"order\" value=\"{order}\">{label}{arrow}</button></form></th>",
            key.as_str()
        ));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    if !rel.is_empty() {
        out.push_str("<tr><td><a href=\"../\">../</a><td><td>\n");
    }
    // One row: no classes, no closing tags (HTML's own rules close them),
    // the time as text under a header that says UTC.
    for e in entries.iter() {
        out.push_str("<tr><td><a href=\"./");
        out.push_str(&e.href);
        out.push_str("\">");
        out.push_str(&escape(&e.name));
        match e.size {
            None => out.push_str("/</a><td>—<td>"),
            Some(size) => {
                out.push_str("</a><td title=\"");
                out.push_str(itoa::Buffer::new().format(size));
                out.push_str(" bytes\">");
                out.push_str(&human_size(size));
                out.push_str("<td>");
            }
        }
        // "2001-02-03T04:05:06Z" → "2001-02-03 04:05:06"
        let shown = e.modified.trim_end_matches('Z');
        match shown.split_once('T') {
            Some((day, time)) => {
                out.push_str(day);
                out.push(' ');
                out.push_str(time);
            }
            None => out.push_str(shown),
        }
        out.push('\n');
    }
    out.push_str("</tbody>\n</table>\n<footer><p>");
    let f = l.folder;
    out.push_str(&format!(
        "{} folder{}, {} file{} ({})",
        f.dirs,
        if f.dirs == 1 { "" } else { "s" },
        f.files,
        if f.files == 1 { "" } else { "s" },
        human_size(f.bytes)
    ));
    if let Some(max) = l.read_cap {
        out.push_str(&format!(
            " — only the first {max} entries of the folder were read \
             (--max-listing-read): the order, pages and counts are of those"
        ));
    }
    out.push_str(" · served by ferry</p>");
    if l.pages > 1 {
        out.push_str(&format!(
            "<nav class=\"pages\" aria-label=\"pages\">entries {}–{} of {} · page {} of {}",
            l.offset + 1,
            l.offset + entries.len(),
            f.entries.len(),
            view.page,
            l.pages
        ));
        // nofollow: a crawler has no use for every page of every order.
        if view.page > 1 {
            out.push_str(&format!(
                " · <a rel=\"prev nofollow\" href=\"{}\">← previous</a>",
                page_href(l, view.page - 1)
            ));
        }
        if view.page < l.pages {
            out.push_str(&format!(
                " · <a rel=\"next nofollow\" href=\"{}\">next →</a>",
                page_href(l, view.page + 1)
            ));
        }
        out.push_str("</nav>");
    }
    out.push_str("</footer>\n</main>\n");
    if filter {
        out.push_str(FILTER_SCRIPT);
    }
    out.push_str("</body></html>\n");
    out.into_bytes()
}

/// A link to page `page` of this listing, in its order, HTML-escaped.
fn page_href(l: &Listing<'_>, page: u32) -> String {
    match l.view.query(page, false) {
        q if q.is_empty() => "./".to_owned(),
        q => q.replace('&', "&amp;"),
    }
}

/// `1.5 KiB`, `512 B`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if v >= 100.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::entry;
    use super::super::{Entry, Folder, View};
    use super::*;

    fn html(rel: &str, entries: Vec<Entry>) -> Vec<u8> {
        let folder = Folder::new(entries, false);
        let listing = Listing {
            rel,
            view: View::default(),
            entries: folder.entries.iter().collect(),
            pages: 1,
            offset: 0,
            page_size: 10,
            folder: &folder,
            read_cap: None,
        };
        render(&listing)
    }

    #[test]
    fn names_are_escaped_and_hrefs_encoded() {
        let entries = vec![entry("a b%#?<&>\"'é", false, 3, 0)];
        let page = String::from_utf8(html("sub", entries)).unwrap();
        assert!(
            page.contains(
                "<a href=\"./a%20b%25%23%3F%3C%26%3E%22%27%C3%A9\">a b%#?&lt;&amp;&gt;&quot;&#39;é</a>"
            ),
            "{page}"
        );
        assert!(page.contains("<a href=\"../\">../</a>"));
        assert!(page.contains("<title>Index of /sub/</title>"));
        assert!(page.contains("title=\"3 bytes\">3 B<"));
    }

    #[test]
    fn the_breadcrumb_links_every_ancestor() {
        let page = String::from_utf8(html("a b/c", vec![])).unwrap();
        assert!(page.contains(
            "<nav class=\"breadcrumb\" aria-label=\"path\"><a href=\"/\">/</a>\
             <a href=\"/a%20b/\">a b</a><span class=\"sep\">/</span><a href=\"/a%20b/c/\">c</a></nav>"
        ));
    }

    #[test]
    fn root_listing_has_no_parent_link() {
        let page = String::from_utf8(html("", vec![])).unwrap();
        assert!(!page.contains("\"../\""));
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(human_size(300 * 1024 * 1024 * 1024), "300 GiB");
    }
}
