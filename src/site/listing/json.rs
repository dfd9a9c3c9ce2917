//! The JSON listing (`Accept: application/json` or `?format=json`): `path`,
//! `entries[]` with `name`, `type`, `size`, `modified` (RFC 3339) and
//! `href`, and `truncated`.

use serde::Serialize;

use super::{Cut, Entry};

#[derive(Serialize)]
struct JsonListing<'a> {
    path: &'a str,
    entries: &'a [&'a Entry],
    truncated: bool,
}

pub fn render(path: &str, entries: &[&Entry], cut: Cut) -> Vec<u8> {
    let doc = JsonListing {
        path,
        entries,
        truncated: cut.any(),
    };
    let mut body = serde_json::to_vec_pretty(&doc).unwrap_or_else(|_| b"{}".to_vec());
    body.push(b'\n');
    body
}
