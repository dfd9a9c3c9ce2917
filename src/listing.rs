//! Folder listings: HTML with every name escaped and every href
//! percent-encoded, folders first, a parent link, sizes and times.
//!
//! Each entry is opened through [`Root::open_beneath`], so a symlink that
//! leads outside the root (or nowhere) is not listed, and its target's size
//! and time are never shown.

use std::fs::File;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rustix::fs::{Dir, FileType, OFlags};

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

struct Entry {
    name: String,
    is_dir: bool,
    size: u64,
    /// Seconds since the epoch (negative before 1970).
    mtime: i64,
}

/// Renders the listing of the folder `rel` (already open as `dir`).
pub fn render(root: &Root, rel: &str, dir: &File) -> Reply {
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
        let mtime = st.st_mtime;
        entries.push(Entry {
            name: name.to_owned(),
            is_dir: kind == FileType::Directory,
            size: st.st_size.max(0) as u64,
            mtime,
        });
    }
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Reply::Listing(html(rel, &entries, truncated))
}

fn html(rel: &str, entries: &[Entry], truncated: bool) -> Vec<u8> {
    let mut title = String::from("/");
    if !rel.is_empty() {
        title.push_str(rel);
        title.push('/');
    }
    let title = escape(&title);
    let mut out = String::with_capacity(512 + entries.len() * 160);
    out.push_str("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width\">");
    out.push_str(&format!("<title>Index of {title}</title>"));
    out.push_str(
        "<style>body{font-family:system-ui,sans-serif;margin:2em}\
         td{padding:.15em 1.2em .15em 0}td.n{text-align:right}</style>",
    );
    out.push_str(&format!(
        "</head>\n<body><h1>Index of {title}</h1>\n<table>\n\
         <tr><th align=\"left\">Name</th><th>Size</th><th align=\"left\">Modified</th></tr>\n"
    ));
    if !rel.is_empty() {
        out.push_str("<tr><td><a href=\"../\">../</a></td><td class=\"n\">-</td><td></td></tr>\n");
    }
    for e in entries {
        let href = utf8_percent_encode(&e.name, HREF).to_string();
        let (slash, size) = if e.is_dir {
            ("/", "-".to_owned())
        } else {
            ("", e.size.to_string())
        };
        out.push_str(&format!(
            "<tr><td><a href=\"./{href}{slash}\">{name}{slash}</a></td>\
             <td class=\"n\">{size}</td><td>{time}</td></tr>\n",
            name = escape(&e.name),
            time = crate::http::date::format(e.mtime),
        ));
    }
    out.push_str("</table>\n");
    if truncated {
        out.push_str(&format!(
            "<p>Only the first {MAX_ENTRIES} entries are listed.</p>\n"
        ));
    }
    out.push_str("</body></html>\n");
    out.into_bytes()
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

    #[test]
    fn names_are_escaped_and_hrefs_encoded() {
        let entries = [Entry {
            name: "a b%#?<&>\"'é".into(),
            is_dir: false,
            size: 3,
            mtime: 0,
        }];
        let page = String::from_utf8(html("sub", &entries, false)).unwrap();
        assert!(page.contains(
            "<a href=\"./a%20b%25%23%3F%3C%26%3E%22%27%C3%A9\">a b%#?&lt;&amp;&gt;&quot;&#39;é</a>"
        ));
        assert!(page.contains("<a href=\"../\">../</a>"));
        assert!(page.contains("<title>Index of /sub/</title>"));
    }

    #[test]
    fn root_listing_has_no_parent_link() {
        let page = String::from_utf8(html("", &[], false)).unwrap();
        assert!(!page.contains("../"));
    }
}
