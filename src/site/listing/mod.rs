//! Folder listings, as HTML for people ([`html`]) and JSON for scripts
//! ([`json`]): reading the folder, the entries, their order, and which of
//! the two the client wants.
//!
//! Entries are read with one `statat` each, whatever bytes their names
//! are (a name that is not UTF-8 is shown lossily and linked by its exact
//! bytes, percent-encoded); a symlink is opened through
//! [`Root::open_beneath`], so one that leads outside the root (or nowhere,
//! or to a dotfile) is not listed, and its target's size and time are never
//! shown. Reading is capped (`--max-listing-read`) and happens on the job
//! thread, never on a worker ([`crate::site::jobs`]); the rendered listing
//! is cached per folder version ([`cache`]).

pub mod cache;

use std::cmp::Ordering;
use std::fs::File;
use std::sync::OnceLock;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};
use rustix::fs::{AtFlags, Dir, FileType, OFlags};
use serde::Serialize;

use crate::fs::{Root, rel_bytes, rel_lossy, to_rel};
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

/// Entries on one page of a listing: a folder with more is listed a page
/// at a time (`?page=2`), in the chosen order.
pub const PAGE_SIZE: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortKey {
    #[default]
    Name,
    Size,
    Time,
}

impl SortKey {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Size => "size",
            SortKey::Time => "time",
        }
    }
}

/// How the client wants the listing: from the query and `Accept`. Every
/// field is part of the listing cache's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct View {
    pub json: bool,
    pub sort: SortKey,
    pub desc: bool,
    /// From 1.
    pub page: u32,
}

impl Default for View {
    fn default() -> View {
        View {
            json: false,
            sort: SortKey::Name,
            desc: false,
            page: 1,
        }
    }
}

/// A `page` in the query that is not a page number (1, 2, …): 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsePageError;

impl std::fmt::Display for ParsePageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("page is not a whole number from 1")
    }
}

impl std::error::Error for ParsePageError {}

impl View {
    /// `?format=json|html&sort=name|size|time&order=asc|desc&page=N`;
    /// without a `format`, JSON when `Accept` prefers `application/json`
    /// to HTML. Unknown names and values are ignored (as they always
    /// were), but a `page` must be digits naming 1 to 2^32-1.
    pub fn from_request<'a>(
        query: Option<&str>,
        accept: impl Iterator<Item = &'a [u8]>,
    ) -> Result<View, ParsePageError> {
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
                ("page", digits) => {
                    view.page = match digits.parse::<u32>() {
                        Ok(n) if n >= 1 && digits.bytes().all(|b| b.is_ascii_digit()) => n,
                        _ => return Err(ParsePageError),
                    }
                }
                _ => {}
            }
        }
        Ok(view)
    }

    /// The query of this view's page `page` (JSON too when `json`): only
    /// what differs from the defaults, so the first page by name is the
    /// folder's own URL. Empty or `?…`.
    pub fn query(self, page: u32, json: bool) -> String {
        let mut q = String::new();
        let mut add = |k: &str, v: &str| {
            q.push(if q.is_empty() { '?' } else { '&' });
            q.push_str(k);
            q.push('=');
            q.push_str(v);
        };
        if self.sort != SortKey::Name {
            add("sort", self.sort.as_str());
        }
        if self.desc {
            add("order", "desc");
        }
        if page != 1 {
            add("page", itoa::Buffer::new().format(page));
        }
        if json {
            add("format", "json");
        }
        q
    }
}

/// One listed entry.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The name as text: bytes that are not UTF-8 are shown as U+FFFD
    /// (`href` has them exactly).
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Bytes; `None` (JSON `null`) for a folder.
    pub size: Option<u64>,
    /// RFC 3339, UTC.
    pub modified: String,
    /// Relative to the folder, the name's exact bytes percent-encoded.
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

    /// Folders first, then by `key` (names break ties).
    fn order(&self, other: &Entry, key: SortKey) -> Ordering {
        other.is_dir.cmp(&self.is_dir).then_with(|| match key {
            SortKey::Name => self.by_name(other),
            SortKey::Size => self.size.cmp(&other.size).then_with(|| self.by_name(other)),
            SortKey::Time => self
                .mtime
                .cmp(&other.mtime)
                .then_with(|| self.by_name(other)),
        })
    }
}

/// A folder as read: its listable entries (in no particular order),
/// whether the read stopped at the read cap before the folder's end, and
/// totals over all of it.
#[derive(Debug, Clone, Default)]
pub struct Folder {
    pub entries: Vec<Entry>,
    pub partial: bool,
    pub dirs: usize,
    pub files: usize,
    /// Bytes of the files.
    pub bytes: u64,
    /// The ascending order of `entries` by each [`SortKey`] (folders
    /// first), made on the job thread the first time a page asks for it:
    /// every page and both directions share it.
    orders: [OnceLock<Box<[u32]>>; 3],
}

impl Folder {
    pub fn new(entries: Vec<Entry>, partial: bool) -> Folder {
        let dirs = entries.iter().filter(|e| e.is_dir).count();
        Folder {
            dirs,
            files: entries.len() - dirs,
            bytes: entries.iter().filter_map(|e| e.size).sum(),
            entries,
            partial,
            orders: Default::default(),
        }
    }

    /// Memory held, roughly, for the listing cache's budget (the three
    /// orders included).
    pub fn weight(&self) -> usize {
        self.entries
            .iter()
            .map(|e| {
                std::mem::size_of::<Entry>()
                    + 3 * std::mem::size_of::<u32>()
                    + e.name.len()
                    + e.href.len()
                    + e.modified.len()
                    + e.fold.len()
            })
            .sum()
    }

    fn ascending(&self, key: SortKey) -> &[u32] {
        self.orders[key as usize].get_or_init(|| {
            let mut at: Vec<u32> = (0..self.entries.len() as u32).collect();
            at.sort_unstable_by(|&a, &b| {
                self.entries[a as usize].order(&self.entries[b as usize], key)
            });
            at.into()
        })
    }

    /// The `i`th entry in `view`'s order: descending reverses the
    /// folders and the files, each in place (folders stay first).
    fn nth(&self, order: &[u32], i: usize, desc: bool) -> &Entry {
        let (n, d) = (order.len(), self.dirs);
        let at = match (desc, i < d) {
            (false, _) => i,
            (true, true) => d - 1 - i,
            (true, false) => n - 1 - (i - d),
        };
        &self.entries[order[at] as usize]
    }
}

/// One page of a listing, as rendered.
pub struct Listing<'a> {
    /// The folder, relative to the root.
    pub rel: &'a str,
    pub view: View,
    /// This page's entries, in order.
    pub entries: Vec<&'a Entry>,
    /// Pages in all (at least 1).
    pub pages: u32,
    /// Index of this page's first entry in the whole listing.
    pub offset: usize,
    pub page_size: usize,
    /// The whole folder (as read): entries, folders, files, bytes.
    pub folder: &'a Folder,
    /// The read cap, when the folder has more entries than it.
    pub read_cap: Option<usize>,
}

/// Renders page `view.page` of `folder` (the folder `rel`) as the client
/// asked; 404 for a page past the last (page 1 always exists).
pub fn render(folder: &Folder, rel: &str, view: View, max_read: usize) -> Result<Vec<u8>, Status> {
    render_pages_of(folder, rel, view, max_read, PAGE_SIZE)
}

fn render_pages_of(
    folder: &Folder,
    rel: &str,
    view: View,
    max_read: usize,
    page_size: usize,
) -> Result<Vec<u8>, Status> {
    let total = folder.entries.len();
    let pages = total.div_ceil(page_size).max(1);
    let page = view.page as usize;
    if page > pages {
        return Err(Status::NotFound);
    }
    let order = folder.ascending(view.sort);
    let offset = (page - 1) * page_size;
    let end = (offset + page_size).min(total);
    let listing = Listing {
        rel,
        view,
        entries: (offset..end)
            .map(|i| folder.nth(order, i, view.desc))
            .collect(),
        pages: pages as u32,
        offset,
        page_size,
        folder,
        read_cap: folder.partial.then_some(max_read),
    };
    Ok(if view.json {
        json::render(&listing)
    } else {
        html::render(&listing)
    })
}

/// Reads the folder `rel` (already open as `dir`): at most `max_read`
/// directory entries, the skipped ones (dotfiles, special files, links out
/// of the root, names with a backslash, which no URL reaches) included, so
/// no folder costs more than that to read. `.`
/// and `..` are not entries of the folder and do not count: a folder of
/// exactly `max_read` entries is read whole.
pub fn read(root: &Root, rel: &str, dir: &File, max_read: usize) -> Result<Folder, Status> {
    let Ok(mut reader) = Dir::read_from(dir) else {
        return Err(Status::Forbidden);
    };
    let mut entries = Vec::new();
    let mut partial = false;
    let mut seen = 0;
    while let Some(item) = reader.read() {
        let Ok(item) = item else { break };
        let raw = item.file_name().to_bytes();
        if raw == b"." || raw == b".." {
            continue;
        }
        if seen >= max_read {
            partial = true;
            break;
        }
        seen += 1;
        if raw.starts_with(b".") && !root.hidden() {
            continue;
        }
        if raw.contains(&b'\\') {
            // A path with a backslash is refused (403): no dead links.
            continue;
        }
        let Ok(mut st) = rustix::fs::statat(dir, item.file_name(), AtFlags::SYMLINK_NOFOLLOW)
        else {
            continue;
        };
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            // Listed only if it leads to a file or folder beneath the root
            // (and no dotfile): the target's size and time, never more.
            let name = to_rel(raw);
            let path = if rel.is_empty() {
                name.into_owned()
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
        // A name that is not UTF-8 is shown lossily and linked exactly.
        let name = String::from_utf8_lossy(raw).into_owned();
        let mut href = percent_encode(raw, HREF).to_string();
        if is_dir {
            href.push('/');
        }
        entries.push(Entry {
            kind: if is_dir { "directory" } else { "file" },
            size: (!is_dir).then_some(st.st_size.max(0) as u64),
            modified: date::rfc3339(st.st_mtime),
            href,
            is_dir,
            mtime: st.st_mtime,
            fold: name.to_lowercase().into(),
            name,
        });
    }
    Ok(Folder::new(entries, partial))
}

/// The folder `rel`'s URL path, percent-encoded: `/a%20b/c/`.
pub(crate) fn folder_href(rel: &str) -> String {
    let mut href = String::from("/");
    for seg in rel.split('/').filter(|s| !s.is_empty()) {
        href.extend(percent_encode(&rel_bytes(seg), HREF));
        href.push('/');
    }
    href
}

/// The folder `rel`'s path for people: `/a b/c/` (bytes that are not
/// UTF-8 as U+FFFD).
pub(crate) fn display_path(rel: &str) -> String {
    if rel.is_empty() {
        "/".to_owned()
    } else {
        format!("/{}/", rel_lossy(rel))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub fn entry(name: &str, is_dir: bool, size: u64, mtime: i64) -> Entry {
        Entry {
            name: name.into(),
            kind: if is_dir { "directory" } else { "file" },
            size: (!is_dir).then_some(size),
            modified: date::rfc3339(mtime),
            href: percent_encode(name.as_bytes(), HREF).to_string() + if is_dir { "/" } else { "" },
            is_dir,
            mtime,
            fold: name.to_lowercase().into(),
        }
    }

    fn names(f: &Folder, view: View) -> Vec<String> {
        let order = f.ascending(view.sort);
        (0..f.entries.len())
            .map(|i| f.nth(order, i, view.desc).name.clone())
            .collect()
    }

    #[test]
    fn names_sort_naturally_and_case_insensitively() {
        let f = Folder::new(
            [
                "file10", "Banana", "file2", "apple", "b", "B", "file02", "x1y10", "x1y9", "Zed",
                "émile", "10", "9",
            ]
            .iter()
            .map(|n| entry(n, false, 0, 0))
            .collect(),
            false,
        );
        assert_eq!(
            names(&f, View::default()),
            [
                "9", "10", "apple", "B", "b", "Banana", "file2", "file02", "file10", "x1y9",
                "x1y10", "Zed", "émile"
            ]
        );
    }

    #[test]
    fn sorting_keeps_folders_first_both_ways() {
        let f = Folder::new(
            vec![
                entry("b.txt", false, 10, 5),
                entry("z", true, 0, 1),
                entry("a.txt", false, 30, 9),
                entry("c.txt", false, 20, 7),
                entry("Y", true, 0, 2),
            ],
            false,
        );
        let view = |sort, desc| View {
            sort,
            desc,
            ..View::default()
        };
        assert_eq!(
            names(&f, View::default()),
            ["Y", "z", "a.txt", "b.txt", "c.txt"]
        );
        assert_eq!(
            names(&f, view(SortKey::Name, true)),
            ["z", "Y", "c.txt", "b.txt", "a.txt"]
        );
        assert_eq!(
            names(&f, view(SortKey::Size, true)),
            ["z", "Y", "a.txt", "c.txt", "b.txt"]
        );
        assert_eq!(
            names(&f, view(SortKey::Time, false)),
            ["z", "Y", "b.txt", "c.txt", "a.txt"]
        );
        assert_eq!((f.dirs, f.files, f.bytes), (2, 3, 60));
    }

    #[test]
    fn views_come_from_query_and_accept() {
        let accept = |v: &'static str| std::iter::once(v.as_bytes());
        let json = |q, a| View::from_request(q, a).unwrap().json;
        assert!(json(None, accept("application/json")));
        assert!(!json(None, accept("*/*")));
        assert!(!json(
            None,
            accept("text/html,application/xhtml+xml,*/*;q=0.8")
        ));
        assert!(json(None, accept("application/json, */*;q=0.1")));
        assert!(json(Some("format=json"), accept("")));
        assert!(!json(Some("format=html"), accept("application/json")));
        let v = View::from_request(Some("sort=size&order=desc"), std::iter::empty()).unwrap();
        assert_eq!((v.sort, v.desc, v.page), (SortKey::Size, true, 1));
    }

    #[test]
    fn a_page_is_a_whole_number_from_1() {
        let page = |q: &str| View::from_request(Some(q), std::iter::empty()).map(|v| v.page);
        assert_eq!(page("page=2"), Ok(2));
        assert_eq!(page("page=007&sort=size"), Ok(7));
        assert_eq!(page("page=4294967295"), Ok(u32::MAX));
        for bad in [
            "page=0",
            "page=",
            "page",
            "page=x",
            "page=+1",
            "page=-1",
            "page=1.5",
            "page=%31",
            "page=4294967296",
            "page=2&page=0",
        ] {
            assert_eq!(page(bad), Err(ParsePageError), "{bad}");
        }
    }

    #[test]
    fn page_links_carry_only_what_differs_from_the_defaults() {
        let v = View::default();
        assert_eq!(v.query(1, false), "");
        assert_eq!(v.query(1, true), "?format=json");
        assert_eq!(v.query(3, false), "?page=3");
        let by_size = View {
            sort: SortKey::Size,
            desc: true,
            ..v
        };
        assert_eq!(
            by_size.query(2, true),
            "?sort=size&order=desc&page=2&format=json"
        );
    }

    #[test]
    fn a_folder_is_listed_a_page_at_a_time_in_the_chosen_order() {
        let f = Folder::new(
            (1..=5)
                .map(|i| entry(&format!("f{i}"), false, 10 - i, 0))
                .collect(),
            false,
        );
        let page = |view: View| {
            let body = render_pages_of(&f, "d", View { json: true, ..view }, 100, 2)?;
            let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
            Ok::<_, Status>(doc)
        };
        let p2 = page(View {
            page: 2,
            ..View::default()
        })
        .unwrap();
        let names: Vec<&str> = p2["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["f3", "f4"]);
        assert_eq!(
            (&p2["total"], &p2["offset"], &p2["page"], &p2["pages"]),
            (&5.into(), &2.into(), &2.into(), &3.into())
        );
        assert_eq!(p2["next"], "/d/?page=3&format=json");
        assert_eq!(p2["prev"], "/d/?format=json");
        let by_size = View {
            sort: SortKey::Size,
            page: 3,
            ..View::default()
        };
        let p3 = page(by_size).unwrap();
        assert_eq!(p3["entries"][0]["name"], "f1", "largest last");
        assert_eq!(p3["next"], serde_json::Value::Null);
        assert_eq!(p3["prev"], "/d/?sort=size&page=2&format=json");
        assert_eq!(
            page(View {
                page: 4,
                ..View::default()
            })
            .err(),
            Some(Status::NotFound)
        );
    }
}
