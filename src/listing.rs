//! Folder listings, as HTML for people and JSON for scripts.
//!
//! HTML: a breadcrumb of links, a parent link, name / size / modified
//! columns, folders first, sortable by query (`?sort=size&order=desc`) so
//! it works without JavaScript, light and dark themes by
//! `prefers-color-scheme`. Every name is escaped and every href
//! percent-encoded, so every link works whatever the name.
//!
//! JSON (`Accept: application/json` or `?format=json`): the same entries
//! with `name`, `type`, `size`, `modified` (RFC 3339) and `href`.
//!
//! Each entry is opened through [`Root::open_beneath`], so a symlink that
//! leads outside the root (or nowhere) is not listed, and its target's size
//! and time are never shown.

use std::fs::File;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rustix::fs::{Dir, FileType, OFlags};
use serde::Serialize;

use crate::http::date;
use crate::resolve::{Reply, Root};
use crate::response::Status;

/// Characters left as-is in an href segment: RFC 3986 unreserved. All
/// else, `%`, `#`, `?`, `:` and `;` included, is escaped, so every name links
/// to itself.
const HREF: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Most entries listed; a folder with more is cut, and says so.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Name,
    Size,
    Time,
}

/// How the client wants the listing: from the query and `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct View {
    pub json: bool,
    pub sort: SortKey,
    pub desc: bool,
}

impl View {
    /// `?format=json|html&sort=name|size|time&order=asc|desc`; without a
    /// `format`, JSON when `Accept` prefers `application/json` to HTML.
    pub fn from_request<'a>(query: Option<&str>, accept: impl Iterator<Item = &'a [u8]>) -> View {
        let mut view = View {
            json: prefers_json(accept),
            ..View::default()
        };
        for pair in query.unwrap_or("").split('&') {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("format", "json") => view.json = true,
                ("format", "html") => view.json = false,
                ("sort", "name") => view.sort = SortKey::Name,
                ("sort", "size") => view.sort = SortKey::Size,
                ("sort", "time") => view.sort = SortKey::Time,
                ("order", "desc") => view.desc = true,
                ("order", "asc") => view.desc = false,
                _ => {}
            }
        }
        view
    }
}

/// Whether `application/json` has a higher weight than HTML (`text/html`,
/// `text/*` or `*/*`) in the Accept lines.
fn prefers_json<'a>(accept: impl Iterator<Item = &'a [u8]>) -> bool {
    let (mut json, mut html) = (0u16, 0u16);
    for line in accept {
        for element in line.split(|&b| b == b',') {
            let mut parts = element.split(|&b| b == b';');
            let range = crate::request::trim_ows(parts.next().unwrap_or(b""));
            let q = parts
                .filter_map(|p| {
                    let p = crate::request::trim_ows(p);
                    p.strip_prefix(b"q=").or_else(|| p.strip_prefix(b"Q="))
                })
                .find_map(crate::http::encoding::qvalue)
                .unwrap_or(1000);
            if range.eq_ignore_ascii_case(b"application/json") {
                json = json.max(q);
            } else if range.eq_ignore_ascii_case(b"text/html")
                || range.eq_ignore_ascii_case(b"text/*")
                || range == b"*/*"
            {
                html = html.max(q);
            }
        }
    }
    json > 0 && json > html
}

#[derive(Debug, Clone, Serialize)]
struct Entry {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    size: u64,
    /// RFC 3339, UTC.
    modified: String,
    /// Relative to the folder, percent-encoded.
    href: String,
    #[serde(skip)]
    is_dir: bool,
    #[serde(skip)]
    mtime: i64,
}

#[derive(Serialize)]
struct JsonListing<'a> {
    path: &'a str,
    entries: &'a [Entry],
    truncated: bool,
}

/// Renders the listing of the folder `rel` (already open as `dir`).
pub fn render(root: &Root, rel: &str, dir: &File, view: View) -> Reply {
    let Ok(mut reader) = Dir::read_from(dir) else {
        return Reply::Error(Status::Forbidden);
    };
    let mut entries = Vec::new();
    let mut truncated = false;
    while let Some(item) = reader.read() {
        let Ok(item) = item else { break };
        let Ok(name) = item.file_name().to_str() else {
            continue; // not UTF-8: could not be requested by URL anyway
        };
        if name == "." || name == ".." || (name.starts_with('.') && !root.hidden()) {
            continue;
        }
        if entries.len() >= MAX_ENTRIES {
            truncated = true;
            break;
        }
        let path = if rel.is_empty() {
            name.to_owned()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(fd) = root.open_beneath(&path, OFlags::PATH) else {
            continue;
        };
        let Ok(st) = rustix::fs::fstat(&fd) else {
            continue;
        };
        let kind = FileType::from_raw_mode(st.st_mode);
        if kind != FileType::Directory && kind != FileType::RegularFile {
            continue;
        }
        let is_dir = kind == FileType::Directory;
        let mut href = utf8_percent_encode(name, HREF).to_string();
        if is_dir {
            href.push('/');
        }
        entries.push(Entry {
            name: name.to_owned(),
            kind: if is_dir { "directory" } else { "file" },
            size: if is_dir { 0 } else { st.st_size.max(0) as u64 },
            modified: date::rfc3339(st.st_mtime),
            href,
            is_dir,
            mtime: st.st_mtime,
        });
    }
    sort(&mut entries, view);
    let path = display_path(rel);
    if view.json {
        let doc = JsonListing {
            path: &path,
            entries: &entries,
            truncated,
        };
        let mut body = serde_json::to_vec_pretty(&doc).unwrap_or_else(|_| b"{}".to_vec());
        body.push(b'\n');
        return Reply::Listing { body, json: true };
    }
    Reply::Listing {
        body: html(rel, &entries, truncated, view),
        json: false,
    }
}

/// Folders first, then by the chosen key (names break ties).
fn sort(entries: &mut [Entry], view: View) {
    entries.sort_by(|a, b| {
        let key = match view.sort {
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Size => a.size.cmp(&b.size).then_with(|| a.name.cmp(&b.name)),
            SortKey::Time => a.mtime.cmp(&b.mtime).then_with(|| a.name.cmp(&b.name)),
        };
        b.is_dir
            .cmp(&a.is_dir)
            .then(if view.desc { key.reverse() } else { key })
    });
}

fn display_path(rel: &str) -> String {
    if rel.is_empty() {
        "/".to_owned()
    } else {
        format!("/{rel}/")
    }
}

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

fn html(rel: &str, entries: &[Entry], truncated: bool, view: View) -> Vec<u8> {
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
        href.push_str(&utf8_percent_encode(seg, HREF).to_string());
        href.push('/');
        if i > 0 {
            out.push_str("<span class=\"sep\">/</span>");
        }
        out.push_str(&format!("<a href=\"{href}\">{}</a>", escape(seg)));
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
    let (mut dirs, mut files, mut bytes) = (0, 0, 0u64);
    for e in entries {
        let (icon, slash, size_cell) = if e.is_dir {
            dirs += 1;
            ("📁", "/", "<td class=\"size\">—</td>".to_owned())
        } else {
            files += 1;
            bytes += e.size;
            (
                icon_for(&e.name),
                "",
                format!(
                    "<td class=\"size\" title=\"{} bytes\">{}</td>",
                    e.size,
                    human_size(e.size)
                ),
            )
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
    out.push_str(&format!(
        "{dirs} folder{}, {files} file{} ({})",
        if dirs == 1 { "" } else { "s" },
        if files == 1 { "" } else { "s" },
        human_size(bytes)
    ));
    if truncated {
        out.push_str(&format!(
            " — only the first {MAX_ENTRIES} entries are listed"
        ));
    }
    out.push_str(" · served by ferry</footer>\n</main></body></html>\n");
    out.into_bytes()
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
    use super::*;

    fn entry(name: &str, is_dir: bool, size: u64, mtime: i64) -> Entry {
        Entry {
            name: name.into(),
            kind: if is_dir { "directory" } else { "file" },
            size,
            modified: date::rfc3339(mtime),
            href: utf8_percent_encode(name, HREF).to_string() + if is_dir { "/" } else { "" },
            is_dir,
            mtime,
        }
    }

    #[test]
    fn names_are_escaped_and_hrefs_encoded() {
        let entries = [entry("a b%#?<&>\"'é", false, 3, 0)];
        let page = String::from_utf8(html("sub", &entries, false, View::default())).unwrap();
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
        let page = String::from_utf8(html("a b/c", &[], false, View::default())).unwrap();
        assert!(page.contains(
            "<nav class=\"breadcrumb\" aria-label=\"path\"><a href=\"/\">/</a>\
             <a href=\"/a%20b/\">a b</a><span class=\"sep\">/</span><a href=\"/a%20b/c/\">c</a></nav>"
        ));
    }

    #[test]
    fn root_listing_has_no_parent_link() {
        let page = String::from_utf8(html("", &[], false, View::default())).unwrap();
        assert!(!page.contains("\"../\""));
    }

    #[test]
    fn sorting_keeps_folders_first() {
        let mut e = vec![
            entry("b.txt", false, 10, 5),
            entry("z", true, 0, 1),
            entry("a.txt", false, 30, 9),
            entry("c.txt", false, 20, 7),
        ];
        let names = |e: &[Entry]| e.iter().map(|x| x.name.clone()).collect::<Vec<_>>();
        sort(&mut e, View::default());
        assert_eq!(names(&e), ["z", "a.txt", "b.txt", "c.txt"]);
        let by_size_desc = View {
            sort: SortKey::Size,
            desc: true,
            json: false,
        };
        sort(&mut e, by_size_desc);
        assert_eq!(names(&e), ["z", "a.txt", "c.txt", "b.txt"]);
        let by_time = View {
            sort: SortKey::Time,
            ..View::default()
        };
        sort(&mut e, by_time);
        assert_eq!(names(&e), ["z", "b.txt", "c.txt", "a.txt"]);
    }

    #[test]
    fn views_come_from_query_and_accept() {
        let accept = |v: &'static str| std::iter::once(v.as_bytes());
        assert!(View::from_request(None, accept("application/json")).json);
        assert!(!View::from_request(None, accept("*/*")).json);
        assert!(
            !View::from_request(None, accept("text/html,application/xhtml+xml,*/*;q=0.8")).json
        );
        assert!(View::from_request(None, accept("application/json, */*;q=0.1")).json);
        assert!(View::from_request(Some("format=json"), std::iter::empty()).json);
        assert!(!View::from_request(Some("format=html"), accept("application/json")).json);
        let v = View::from_request(Some("sort=size&order=desc"), std::iter::empty());
        assert_eq!((v.sort, v.desc), (SortKey::Size, true));
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
