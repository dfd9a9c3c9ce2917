//! `--cors`: `Access-Control-Allow-Origin: *` on every response, and
//! answers to preflight requests (an OPTIONS with `Origin` and
//! `Access-Control-Request-Method`).

use crate::http::Fields;
use crate::http::syntax::{elements, is_token};

/// The fields `--cors` adds to every response (a `--header` of the same
/// name stands in for one).
pub const EVERY_RESPONSE: [(&str, &str); 2] = [
    ("Access-Control-Allow-Origin", "*"),
    (
        "Access-Control-Expose-Headers",
        "Content-Range, Accept-Ranges, ETag, Content-Encoding",
    ),
];

pub const ALLOW_METHODS: &[u8] = b"GET, HEAD, OPTIONS";
pub const MAX_AGE: &[u8] = b"86400";

/// A preflight's answer: the requested headers echoed when they are a
/// clean token list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preflight {
    /// `Access-Control-Allow-Headers`, if any were asked for.
    pub allow_headers: Option<Vec<u8>>,
}

/// The preflight answer for an OPTIONS request, or None for a plain one.
pub fn preflight(f: &Fields<'_>) -> Option<Preflight> {
    if !f.origin.is_one() || !f.cors_method.is_one() {
        return None;
    }
    let names: Vec<&[u8]> = elements(f.cors_headers.iter())
        .filter(|name| is_token(name))
        .collect();
    Some(Preflight {
        allow_headers: (!names.is_empty()).then(|| names.join(&b", "[..])),
    })
}
