//! Regression tests for what the fuzz targets found (fuzz/README.md,
//! "Findings"). Each fails until the bug it names is fixed in src/.

mod common;

use common::*;
use std::io::Write;

/// Finding 1: an `HTTP/1.x` (x > 1) request line preceded by enough empty
/// lines that its minor digit lies beyond `--max-header-bytes`. httparse
/// skips the empty lines, `h1::parse::parse` returns
/// `NewerMinorVersion { at }` with `at` past the limit, and src/conn.rs
/// patches `patched[at]` in a copy truncated to `max_head` bytes: index out
/// of bounds, a worker panic, a 500. The head is over the limit, so 431
/// is the expected answer (200, if empty lines are not counted). (With the defaults: 33,000 × CRLF + `GET / HTTP/1.2`,
/// one 66 KB write.)
#[test]
fn newer_minor_version_after_many_empty_lines_is_not_a_panic() {
    let site = site(&[("index.html", b"hi")]);
    let mut server = Server::start(site.path(), &["--max-header-bytes", "1024"]);
    let mut raw = b"\r\n".repeat(600);
    raw.extend_from_slice(b"GET / HTTP/1.2\r\nHost: h\r\n\r\n");
    let mut s = server.connect();
    s.write_all(&raw).expect("write");
    let reply = read_to_close(&mut s);
    let line = String::from_utf8_lossy(&reply[..reply.len().min(40)]).into_owned();
    assert!(
        line.starts_with("HTTP/1.1 431") || line.starts_with("HTTP/1.1 200"),
        "expected 431 (head over the limit) or 200, got {line:?}"
    );
    // The server still serves.
    assert_eq!(server.get("/").status(), 200);
    assert!(server.alive());
}

/// Finding 3: `HTTP/2.0` is 505 when the request line arrives whole, but
/// 400 when the first read ends inside the version token (`HTTP/2`):
/// httparse rejects the version at its first digit, and `classify_error`
/// then finds no complete `HTTP/d.d` token. Shown on the library, as the
/// server's first read is handed to `h1::parse::parse` as is.
#[test]
fn a_version_token_cut_by_a_read_boundary_is_classified_the_same() {
    use ferry::h1::parse::parse;
    use ferry::h1::{Limits, RequestError};
    let whole = parse(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", &Limits::default());
    assert_eq!(whole.unwrap_err(), RequestError::VersionNotSupported);
    // What the server sees of a request whose first segment ends there:
    // it must wait for more (Ok(None)) or already say 505, not 400.
    let cut = parse(b"GET / HTTP/2", &Limits::default());
    assert!(
        matches!(cut, Ok(None) | Err(RequestError::VersionNotSupported)),
        "{cut:?}"
    );
}
