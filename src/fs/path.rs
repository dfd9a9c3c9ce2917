//! URL path → a relative path under the root, checked before the file
//! system is touched.
//!
//! SECURITY: the path is percent-decoded once, split into segments, and any
//! `..`, backslash or NUL is refused; `.` and empty segments are dropped.
//!
//! Names need not be UTF-8 (Linux allows any bytes but `/` and NUL). A
//! relative path is kept as text all the same: a byte that is not part of
//! valid UTF-8 is written as NUL and the byte in two hex digits (`\xFF` →
//! `"\0FF"`), much as Python's `surrogateescape`. NUL is in no name and no
//! request path (`%00` is 400), so the form is unambiguous, and it is no
//! `.`, `..` or dotfile; [`rel_bytes`] gives the exact bytes back at the
//! system call ([`crate::fs::Root`]), and anything that forgets to fails
//! closed: a path with a NUL opens nothing.

use std::borrow::Cow;

use crate::http::Status;

/// Starts the escape of a byte that is not UTF-8 in a relative path.
const RAW: char = '\0';

/// The bytes of a name or path as relative-path text: valid UTF-8 as it
/// is, every other byte escaped (see the module).
pub fn to_rel(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push(RAW);
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    Cow::Owned(out)
}

/// The exact bytes a relative path names on disk.
pub fn rel_bytes(rel: &str) -> Cow<'_, [u8]> {
    if !rel.contains(RAW) {
        return Cow::Borrowed(rel.as_bytes());
    }
    let b = rel.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |d: u8| char::from(d).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|d| hex(*d)),
            b.get(i + 2).and_then(|d| hex(*d)),
        ) {
            (0, Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// A relative path for people: bytes that are not UTF-8 shown as U+FFFD.
pub fn rel_lossy(rel: &str) -> Cow<'_, str> {
    match rel_bytes(rel) {
        Cow::Borrowed(_) => Cow::Borrowed(rel),
        Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// A URL path decoded and checked: `rel` is relative to the root, segments
/// joined by `/`, without empty or `.` segments.
#[derive(Debug, PartialEq, Eq)]
pub struct CleanPath {
    pub rel: String,
    pub trailing_slash: bool,
}

/// Decodes a raw (percent-encoded) path once and checks every segment.
///
/// Malformed escapes and NUL: 400. `..` or a backslash: 403. A dotfile
/// segment without `--hidden`: 404. Bytes that are not UTF-8 name what
/// they name (kept as [`to_rel`] escapes them): they are never `.`, `..`,
/// `/` or `\`, whatever an overlong form would spell.
pub fn clean_path(raw: &str, hidden: bool) -> Result<CleanPath, Status> {
    let bytes = raw.as_bytes();
    // percent-encoding passes malformed escapes through; we refuse them.
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err(Status::BadRequest);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    let decoded: Cow<'_, [u8]> = percent_encoding::percent_decode(bytes).into();
    if decoded.contains(&0) {
        return Err(Status::BadRequest);
    }
    let decoded = to_rel(&decoded);
    let mut rel = String::with_capacity(decoded.len());
    for seg in decoded.split('/') {
        match seg {
            "" | "." => continue,
            ".." => return Err(Status::Forbidden),
            s if s.contains('\\') => return Err(Status::Forbidden),
            s if s.starts_with('.') && !hidden => return Err(Status::NotFound),
            s => {
                if !rel.is_empty() {
                    rel.push('/');
                }
                rel.push_str(s);
            }
        }
    }
    Ok(CleanPath {
        rel,
        trailing_slash: decoded.ends_with('/'),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &str) -> Result<String, Status> {
        clean_path(raw, false).map(|c| c.rel)
    }

    #[test]
    fn paths_decode_once_and_normalise() {
        assert_eq!(clean("/"), Ok(String::new()));
        assert_eq!(clean("/a//b/./c"), Ok("a/b/c".into()));
        assert_eq!(clean("/a%20b"), Ok("a b".into()));
        assert_eq!(clean("/a+b"), Ok("a+b".into()));
        assert_eq!(clean("/%25"), Ok("%".into()));
        assert_eq!(clean("/caf%C3%A9"), Ok("café".into()));
        // Double encoding stays encoded: %252e%252e is the name "%2e%2e".
        assert_eq!(clean("/%252e%252e/x"), Ok("%2e%2e/x".into()));
    }

    #[test]
    fn traversal_and_bad_escapes_are_refused() {
        assert_eq!(clean("/../etc/passwd"), Err(Status::Forbidden));
        assert_eq!(clean("/a/%2e%2e/%2e%2e/etc"), Err(Status::Forbidden));
        assert_eq!(clean("/..%2f..%2fetc"), Err(Status::Forbidden));
        assert_eq!(clean("/..%5c..%5cetc"), Err(Status::Forbidden));
        assert_eq!(clean("/a\\b"), Err(Status::Forbidden));
        assert_eq!(clean("/%00"), Err(Status::BadRequest));
        assert_eq!(clean("/%zz"), Err(Status::BadRequest));
        assert_eq!(clean("/%4"), Err(Status::BadRequest));
        assert_eq!(clean("/.env"), Err(Status::NotFound));
        assert_eq!(clean_path("/.env", true).map(|c| c.rel), Ok(".env".into()));
    }

    /// Names that are not UTF-8 are served, and no spelling of bytes that
    /// are not UTF-8 is a way out: they are never a dot segment, a slash
    /// or a backslash.
    #[test]
    fn names_that_are_not_utf8_are_exact_and_never_a_way_out() {
        let bytes = |raw: &str| clean(raw).map(|r| rel_bytes(&r).into_owned());
        assert_eq!(bytes("/%ff"), Ok(b"\xff".to_vec()));
        assert_eq!(bytes("/d/bad%FF%FE.txt"), Ok(b"d/bad\xff\xfe.txt".to_vec()));
        assert_eq!(bytes("/caf%E9/x"), Ok(b"caf\xe9/x".to_vec()), "Latin-1");
        assert_eq!(clean("/%ff"), Ok("\0FF".into()));
        // Overlong and other invalid spellings of `.`, `/`, `\`: names.
        assert_eq!(bytes("/%C0%AE%C0%AE/x"), Ok(b"\xc0\xae\xc0\xae/x".to_vec()));
        assert_eq!(
            bytes("/%E0%80%AE%E0%80%AE"),
            Ok(b"\xe0\x80\xae\xe0\x80\xae".to_vec())
        );
        assert_eq!(bytes("/a%C0%AFb"), Ok(b"a\xc0\xafb".to_vec()));
        assert_eq!(bytes("/a%C1%9Cb"), Ok(b"a\xc1\x9cb".to_vec()));
        // Next to real dot segments, NUL or a backslash: refused as ever.
        assert_eq!(clean("/%ff/../../etc"), Err(Status::Forbidden));
        assert_eq!(clean("/%FF/%2e%2e/x"), Err(Status::Forbidden));
        assert_eq!(clean("/%ff%00"), Err(Status::BadRequest));
        assert_eq!(clean("/%ff%5c.."), Err(Status::Forbidden));
        assert_eq!(clean("/.%ff"), Err(Status::NotFound), "still a dotfile");
    }

    #[test]
    fn escapes_round_trip_every_name() {
        for name in [
            &b"plain"[..],
            b"caf\xc3\xa9",
            b"\xff",
            b"a\xffb\xfe",
            b"\xc0\xae",
            b"\xed\xa0\x80",     // a UTF-16 surrogate, not UTF-8
            b"\xf4\x90\x80\x80", // past U+10FFFF
            b"0FF\xff0FF",
        ] {
            let rel = to_rel(name);
            assert_eq!(&*rel_bytes(&rel), name, "{rel:?}");
            assert_eq!(rel_lossy(&rel), String::from_utf8_lossy(name), "{rel:?}");
            assert!(
                matches!(rel, Cow::Borrowed(_)) == std::str::from_utf8(name).is_ok(),
                "UTF-8 is borrowed as it is"
            );
        }
    }
}
