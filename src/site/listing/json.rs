//! The JSON listing (`Accept: application/json` or `?format=json`): `path`,
//! `entries[]` with `name`, `type`, `size` (bytes; `null` for a folder),
//! `modified` (RFC 3339, UTC) and `href`; then the paging: `total`
//! (entries in the folder, as read), `offset` (of the first entry here),
//! `page`, `pages`, `page_size`, `next` and `prev` (the other pages' URLs,
//! path and query, JSON asked for in the query; `null` at the ends),
//! `partial` (the folder has more entries than `--max-listing-read`: all
//! the figures are of those read) and `truncated` (these entries are not
//! the whole folder: more pages, or partial).

use serde::Serialize;

use super::{Entry, Listing, display_path, folder_href};

#[derive(Serialize)]
struct JsonListing<'a> {
    path: &'a str,
    entries: &'a [&'a Entry],
    total: usize,
    offset: usize,
    page: u32,
    pages: u32,
    page_size: usize,
    next: Option<String>,
    prev: Option<String>,
    partial: bool,
    truncated: bool,
}

pub fn render(l: &Listing<'_>) -> Vec<u8> {
    let href = folder_href(l.rel);
    let link = |page: u32| format!("{href}{}", l.view.query(page, true));
    let page = l.view.page;
    let doc = JsonListing {
        path: &display_path(l.rel),
        entries: &l.entries,
        total: l.folder.entries.len(),
        offset: l.offset,
        page,
        pages: l.pages,
        page_size: l.page_size,
        next: (page < l.pages).then(|| link(page + 1)),
        prev: (page > 1).then(|| link(page - 1)),
        partial: l.read_cap.is_some(),
        truncated: l.pages > 1 || l.read_cap.is_some(),
    };
    let mut body = serde_json::to_vec_pretty(&doc).unwrap_or_else(|_| b"{}".to_vec());
    body.push(b'\n');
    body
}
