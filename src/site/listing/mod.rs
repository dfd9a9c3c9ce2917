//! Folder listings, as HTML for people ([`html`]) and JSON for scripts
//! ([`json`]): reading the folder, the entries, their order, and which of
//! the two the client wants.
//!
//! Entries are read with one `statat` each; a symlink is opened through
//! [`Root::open_beneath`], so one that leads outside the root (or nowhere,
//! or to a dotfile) is not listed, and its target's size and time are never
//! shown. Reading is capped (`--max-listing-read`) and happens on the job
//! thread, never on a worker ([`crate::site::jobs`]); the rendered listing
//! is cached per folder version ([`cache`]).

pub mod cache;

use std::cmp::Ordering;
use std::fs::File;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rustix::fs::{AtFlags, Dir, FileType, OFlags};
use serde::Serialize;

use crate::fs::Root;
use crate::http::negotiate::MediaWeights;
use crate::http::{Status, date};

pub mod html;
pub mod json;

/// Characters left as-is in an href segment: RFC 3986 unreserved. All
/// else, `%`, `#`, `?`, `:` and `;` included, is escaped, so every name links
/// to itself.
pub(crate) const HREF: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Most entries shown; a folder with more is cut (after sorting), and says
/// so.
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortKey {
    #[default]
    Name,
    Size,
    Time,
}

/// How the client wants the listing: from the query and `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
            json: MediaWeights::of(accept).prefers_json(),
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

/// One listed entry.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub size: u64,
    /// RFC 3339, UTC.
    pub modified: String,
    /// Relative to the folder, percent-encoded.
    pub href: String,
    #[serde(skip)]
    pub is_dir: bool,
    #[serde(skip)]
    pub mtime: i64,
    /// The name in lower case, for the natural order.
    #[serde(skip)]
    pub fold: Box<str>,
}

impl Entry {
    /// The natural, case-insensitive order of names (`apple`, `Banana`,
    /// `file2`, `file10`), as miniserve has it; names equal but for case
    /// (`Apple`, `apple`) go by their bytes, so the order is total.
    pub fn by_name(&self, other: &Entry) -> Ordering {
        alphanumeric_sort::compare_str(&*self.fold, &*other.fold)
            .then_with(|| self.name.cmp(&other.name))
            .then_with(|| self.href.cmp(&other.href))
    }
}

/// A folder as read: its listable entries (in no particular order) and
/// whether the read stopped at the read cap before the folder's end.
#[derive(Debug, Clone, Default)]
pub struct Folder {
    pub entries: Vec<Entry>,
    pub partial: bool,
}

impl Folder {
    /// Memory held, roughly, for the listing cache's budget.
    pub fn weight(&self) -> usize {
        self.entries
            .iter()
            .map(|e| {
                std::mem::size_of::<Entry>()
                    + e.name.len()
                    + e.href.len()
                    + e.modified.len()
                    + e.fold.len()
            })
            .sum()
    }
}

/// How a rendered listing was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cut {
    /// Only the first [`MAX_ENTRIES`] (in the chosen order) are shown.
    pub shown: bool,
    /// The folder was read only up to the read cap.
    pub read: Option<usize>,
}

impl Cut {
    pub fn any(self) -> bool {
        self.shown || self.read.is_some()
    }
}

/// Renders `folder` (the folder `rel`) as the client asked.
pub fn render(folder: &Folder, rel: &str, view: View, max_read: usize) -> Vec<u8> {
    let mut entries: Vec<&Entry> = folder.entries.iter().collect();
    sort(&mut entries, view);
    let cut = Cut {
        shown: entries.len() > MAX_ENTRIES,
        read: folder.partial.then_some(max_read),
    };
    entries.truncate(MAX_ENTRIES);
    if view.json {
        json::render(&display_path(rel), &entries, cut)
    } else {
        html::render(rel, &entries, cut, view)
    }
}

/// Reads the folder `rel` (already open as `dir`): at most `max_read`
/// directory entries, the skipped ones (dotfiles, special files, links out
/// of the root) included, so no folder costs more than that to read. `.`
/// and `..` are not entries of the folder and do not count: a folder of
/// exactly `max_read` entries is read whole.
pub fn read(root: &Root, rel: &str, dir: &File, max_read: usize) -> Result<Folder, Status> {
    let Ok(mut reader) = Dir::read_from(dir) else {
        return Err(Status::Forbidden);
    };
    let mut folder = Folder::default();
    let mut seen = 0;
    while let Some(item) = reader.read() {
        let Ok(item) = item else { break };
        let raw = item.file_name().to_bytes();
        if raw == b"." || raw == b".." {
            continue;
        }
        if seen >= max_read {
            folder.partial = true;
            break;
        }
        seen += 1;
        let Ok(name) = item.file_name().to_str() else {
            continue; // not UTF-8: could not be requested by URL anyway
        };
        if name.starts_with('.') && !root.hidden() {
            continue;
        }
        let Ok(mut st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            // Listed only if it leads to a file or folder beneath the root
            // (and no dotfile): the target's size and time, never more.
            let path = if rel.is_empty() {
                name.to_owned()
            } else {
                format!("{rel}/{name}")
            };
            let Ok(fd) = root.open_beneath(&path, OFlags::PATH) else {
                continue;
            };
            let Ok(target) = rustix::fs::fstat(&fd) else {
                continue;
            };
            st = target;
        }
        let kind = FileType::from_raw_mode(st.st_mode);
        if kind != FileType::Directory && kind != FileType::RegularFile {
            continue;
        }
        let is_dir = kind == FileType::Directory;
        let mut href = utf8_percent_encode(name, HREF).to_string();
        if is_dir {
            href.push('/');
        }
        folder.entries.push(Entry {
            name: name.to_owned(),
            kind: if is_dir { "directory" } else { "file" },
            size: if is_dir { 0 } else { st.st_size.max(0) as u64 },
            modified: date::rfc3339(st.st_mtime),
            href,
            is_dir,
            mtime: st.st_mtime,
            fold: name.to_lowercase().into(),
        });
    }
    Ok(folder)
}

/// Folders first, then by the chosen key (names, in their natural order,
/// break ties); descending reverses all but folders first.
fn sort(entries: &mut [&Entry], view: View) {
    entries.sort_by(|a, b| {
        let key = match view.sort {
            SortKey::Name => a.by_name(b),
            SortKey::Size => a.size.cmp(&b.size).then_with(|| a.by_name(b)),
            SortKey::Time => a.mtime.cmp(&b.mtime).then_with(|| a.by_name(b)),
        };
        b.is_dir
            .cmp(&a.is_dir)
            .then(if view.desc { key.reverse() } else { key })
    });
}

pub(crate) fn display_path(rel: &str) -> String {
    if rel.is_empty() {
        "/".to_owned()
    } else {
        format!("/{rel}/")
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub fn entry(name: &str, is_dir: bool, size: u64, mtime: i64) -> Entry {
        Entry {
            name: name.into(),
            kind: if is_dir { "directory" } else { "file" },
            size,
            modified: date::rfc3339(mtime),
            href: utf8_percent_encode(name, HREF).to_string() + if is_dir { "/" } else { "" },
            is_dir,
            mtime,
            fold: name.to_lowercase().into(),
        }
    }

    #[test]
    fn names_sort_naturally_and_case_insensitively() {
        let owned: Vec<Entry> = [
            "file10", "Banana", "file2", "apple", "b", "B", "file02", "x1y10", "x1y9", "Zed",
            "émile", "10", "9",
        ]
        .iter()
        .map(|n| entry(n, false, 0, 0))
        .collect();
        let mut e: Vec<&Entry> = owned.iter().collect();
        sort(&mut e, View::default());
        let names: Vec<&str> = e.iter().map(|x| &*x.name).collect();
        assert_eq!(
            names,
            [
                "9", "10", "apple", "B", "b", "Banana", "file2", "file02", "file10", "x1y9",
                "x1y10", "Zed", "émile"
            ]
        );
    }

    #[test]
    fn sorting_keeps_folders_first() {
        let owned = [
            entry("b.txt", false, 10, 5),
            entry("z", true, 0, 1),
            entry("a.txt", false, 30, 9),
            entry("c.txt", false, 20, 7),
        ];
        let mut e: Vec<&Entry> = owned.iter().collect();
        let names = |e: &[&Entry]| e.iter().map(|x| x.name.clone()).collect::<Vec<_>>();
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
}
