//! The HTML listing: a breadcrumb of links, a parent link, name / size /
//! modified columns, folders first, sortable by query
//! (`?sort=size&order=desc`) so it works without JavaScript, light and dark
//! themes by `prefers-color-scheme`. Every name is escaped and every href
//! percent-encoded, so every link works whatever the name.

use percent_encoding::percent_encode;

use crate::fs::{rel_bytes, rel_lossy};

use super::{HREF, Listing, SortKey, display_path};

const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1d2430;--muted:#6b7480;--bg:#fff;--row:#f4f6f9;--link:#0b5cad;--line:#e3e7ee}\
@media (prefers-color-scheme:dark){:root{--fg:#e4e8ee;--muted:#98a2b0;--bg:#14181e;--row:#1c222a;--link:#7fb6ff;--line:#2a313b}}\
*{box-sizing:border-box}body{margin:0;padding:1.5rem;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg)}\
main{max-width:60rem;margin:0 auto}h1{font-size:1.2rem;font-weight:600;margin:0 0 1rem;word-break:break-all}\
.breadcrumb a{color:var(--link);text-decoration:none}.breadcrumb a:hover{text-decoration:underline}.breadcrumb .sep{color:var(--muted);margin:0 .2em}\
table{width:100%;border-collapse:collapse}th{text-align:left;font-weight:600;color:var(--muted);border-bottom:1px solid var(--line);padding:.4rem .5rem}\
th a{color:inherit;text-decoration:none}th a:hover{text-decoration:underline}td{padding:.35rem .5rem;border-bottom:1px solid var(--line)}\
tr:hover td{background:var(--row)}td a{color:var(--link);text-decoration:none;word-break:break-all}td a:hover{text-decoration:underline}\
.size,.time{white-space:nowrap;color:var(--muted)}.size{text-align:right}.icon{width:1.4rem;text-align:center}\
footer{margin-top:1rem;color:var(--muted);font-size:.85rem}\
@media (max-width:40rem){.time{display:none}body{padding:.8rem}}";

pub fn render(l: &Listing<'_>) -> Vec<u8> {
    let (rel, entries, view) = (l.rel, &l.entries, l.view);
    let title = escape(&display_path(rel));
    let mut out = String::with_capacity(2048 + entries.len() * 220);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str(&format!(
        "<title>Index of {title}</title><style>{STYLE}</style></head>\n"
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
    out.push_str("</nav></h1>\n<table>\n<thead><tr><th class=\"icon\"></th>");
    for (key, label, class) in [
        (SortKey::Name, "Name", ""),
        (SortKey::Size, "Size", " class=\"size\""),
        (SortKey::Time, "Modified", " class=\"time\""),
    ] {
        // Clicking the current column flips the order; another starts asc.
        let desc = view.sort == key && !view.desc;
        let arrow = match (view.sort == key, view.desc) {
            (true, false) => " ↑",
            (true, true) => " ↓",
            _ => "",
        };
        let sort = match key {
            SortKey::Name => "name",
            SortKey::Size => "size",
            SortKey::Time => "time",
        };
        let order = if desc { "desc" } else { "asc" };
        out.push_str(&format!(
            "<th{class}><a href=\"?sort={sort}&amp;order={order}\">{label}{arrow}</a></th>"
        ));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    if !rel.is_empty() {
        out.push_str(
            "<tr><td class=\"icon\">↩</td><td><a href=\"../\">../</a></td>\
             <td class=\"size\"></td><td class=\"time\"></td></tr>\n",
        );
    }
    for e in entries {
        let (icon, slash, size_cell) = match e.size {
            None => ("📁", "/", "<td class=\"size\">—</td>".to_owned()),
            Some(size) => (
                icon_for(&e.name),
                "",
                format!(
                    "<td class=\"size\" title=\"{size} bytes\">{}</td>",
                    human_size(size)
                ),
            ),
        };
        out.push_str(&format!(
            "<tr><td class=\"icon\" aria-hidden=\"true\">{icon}</td>\
             <td><a href=\"./{href}\">{name}{slash}</a></td>{size_cell}\
             <td class=\"time\"><time datetime=\"{modified}\">{shown}</time></td></tr>\n",
            href = e.href,
            name = escape(&e.name),
            modified = e.modified,
            shown = e.modified.replace('T', " ").trim_end_matches('Z'),
        ));
    }
    out.push_str("</tbody>\n</table>\n<footer>");
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
    out.push_str(" · served by ferry</footer>\n</main></body></html>\n");
    out.into_bytes()
}

/// A link to page `page` of this listing, in its order, HTML-escaped.
fn page_href(l: &Listing<'_>, page: u32) -> String {
    match l.view.query(page, false) {
        q if q.is_empty() => "./".to_owned(),
        q => q.replace('&', "&amp;"),
    }
}

/// A marker for the file's kind, by extension.
fn icon_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map_or("", |(_, e)| e)
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "svg" | "avif" | "ico" | "bmp" => "🖼",
        "mp4" | "webm" | "mkv" | "mov" | "avi" => "🎞",
        "mp3" | "ogg" | "wav" | "flac" | "m4a" | "opus" => "🎵",
        "zip" | "gz" | "tgz" | "xz" | "bz2" | "zst" | "br" | "7z" | "tar" | "rar" => "📦",
        "pdf" => "📕",
        "html" | "htm" | "css" | "js" | "mjs" | "json" | "xml" | "wasm" | "rs" | "py" | "c"
        | "h" | "sh" | "toml" | "yaml" | "yml" => "🧩",
        "txt" | "md" | "csv" | "log" => "📝",
        _ => "📄",
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
