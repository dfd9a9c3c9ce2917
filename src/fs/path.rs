//! URL path → a relative path under the root, checked before the file
//! system is touched.
//!
//! SECURITY: the path is percent-decoded once, split into segments, and any
//! `..`, backslash or NUL is refused; `.` and empty segments are dropped.

use crate::http::Status;

/// A URL path decoded and checked: `rel` is relative to the root, segments
/// joined by `/`, without empty or `.` segments.
#[derive(Debug, PartialEq, Eq)]
pub struct CleanPath {
    pub rel: String,
    pub trailing_slash: bool,
}

/// Decodes a raw (percent-encoded) path once and checks every segment.
///
/// Malformed escapes, invalid UTF-8 and NUL: 400. `..` or a backslash: 403.
/// A dotfile segment without `--hidden`: 404.
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
    let decoded = percent_encoding::percent_decode(bytes)
        .decode_utf8()
        .map_err(|_| Status::BadRequest)?;
    if decoded.contains('\0') {
        return Err(Status::BadRequest);
    }
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
        assert_eq!(clean("/%ff"), Err(Status::BadRequest));
        assert_eq!(clean("/.env"), Err(Status::NotFound));
        assert_eq!(clean_path("/.env", true).map(|c| c.rel), Ok(".env".into()));
    }
}
