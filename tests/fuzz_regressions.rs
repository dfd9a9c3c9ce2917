//! Library-level regression test for a fuzz finding (fuzz/README.md,
//! "Findings"), fixed in c826a54; it calls `ferry::h1::parse::parse` and
//! will move to tests/it/ with the library redesign. The socket-level tests
//! of both findings are in tests/it/regressions.rs.

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
