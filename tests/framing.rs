//! Message framing and request smuggling (RFC 9112 §6–7): bodies are read
//! and discarded so the next request starts at the right byte; ambiguous
//! framing is refused with 400 and a close.

mod common;

use std::io::Write;

use common::{Server, parse_all, read_response, site};

fn server() -> (tempfile::TempDir, Server) {
    let dir = site(&[("a.txt", b"hello\n"), ("secret.txt", b"SECRET\n")]);
    let s = Server::start(dir.path(), &[]);
    (dir, s)
}

fn statuses(raw: &[u8]) -> Vec<u16> {
    parse_all(raw, &[]).iter().map(|r| r.status()).collect()
}

#[test]
fn a_content_length_body_is_skipped_and_its_contents_never_run() {
    let (_d, s) = server();
    let smuggled = "GET /secret.txt HTTP/1.1\r\nHost: t\r\n\r\n";
    let req = format!(
        "POST /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{smuggled}GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        smuggled.len()
    );
    let raw = s.exchange(req.as_bytes());
    let rs = parse_all(&raw, &[]);
    assert_eq!(statuses(&raw), [405, 200]);
    assert_eq!(rs[1].body, b"hello\n");
    assert!(!raw.windows(6).any(|w| w == b"SECRET"));
}

#[test]
fn a_get_with_a_body_is_answered_after_the_body() {
    let (_d, s) = server();
    let raw = s.exchange(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nxxxxxGET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(statuses(&raw), [200, 200]);
}

#[test]
fn a_body_arriving_in_pieces_is_discarded() {
    let (_d, s) = server();
    let mut c = s.connect();
    c.write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    c.write_all(b"defghij").unwrap();
    c.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut c, false).unwrap().status(), 405);
    let r = read_response(&mut c, false).unwrap();
    assert_eq!(r.body, b"hello\n");
}

#[test]
fn a_chunked_body_with_extensions_and_trailers_is_skipped() {
    let (_d, s) = server();
    let raw = s.exchange(
        b"POST /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;ext=1;q=\"x\"\r\nGET /\r\n\
          1a\r\nsecret.txt HTTP/1.1\r\nHost:\r\n\
          0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n\
          GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let rs = parse_all(&raw, &[]);
    assert_eq!(statuses(&raw), [405, 200]);
    assert_eq!(rs[1].body, b"hello\n");
}

#[test]
fn content_length_with_transfer_encoding_is_400_and_close() {
    let (_d, s) = server();
    for req in [
        &b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    ] {
        let raw = s.exchange(req);
        let rs = parse_all(&raw, &[]);
        assert_eq!(rs.len(), 1, "nothing after the 400");
        assert_eq!(rs[0].status_line, "HTTP/1.1 400 Bad Request");
        assert_eq!(rs[0].header("Connection"), Some("close"));
    }
}

#[test]
fn invalid_content_length_is_400_and_close() {
    let (_d, s) = server();
    for cl in [
        "abc",
        "-1",
        "+5",
        "5 5",
        "0x5",
        "",
        "99999999999999999999999",
        "18446744073709551616",
        "1.0",
    ] {
        let req = format!(
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {cl}\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"
        );
        let raw = s.exchange(req.as_bytes());
        let rs = parse_all(&raw, &[]);
        assert_eq!(rs.len(), 1, "{cl:?}");
        assert_eq!(rs[0].status_line, "HTTP/1.1 400 Bad Request", "{cl:?}");
        assert_eq!(rs[0].header("Connection"), Some("close"));
    }
}

#[test]
fn two_different_content_lengths_are_400() {
    let (_d, s) = server();
    for req in [
        &b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"[..],
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1, 2\r\n\r\nab",
    ] {
        let raw = s.exchange(req);
        assert_eq!(statuses(&raw), [400]);
    }
    // Identical repeats are one length (RFC 9110 §8.6).
    let raw = s.exchange(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nabGET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(statuses(&raw), [405, 200]);
}

#[test]
fn transfer_encoding_not_ending_in_chunked_is_refused() {
    let (_d, s) = server();
    for (te, status) in [
        ("gzip", "HTTP/1.1 400 Bad Request"),
        ("chunked, gzip", "HTTP/1.1 400 Bad Request"),
        ("chunked, chunked", "HTTP/1.1 400 Bad Request"),
        ("identity", "HTTP/1.1 400 Bad Request"),
        ("gzip, chunked", "HTTP/1.1 501 Not Implemented"),
        ("xchunked", "HTTP/1.1 400 Bad Request"),
    ] {
        let req = format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {te}\r\n\r\n0\r\n\r\n");
        let raw = s.exchange(req.as_bytes());
        let rs = parse_all(&raw, &[]);
        assert_eq!(rs.len(), 1, "{te}");
        assert_eq!(rs[0].status_line, status, "{te}");
        assert_eq!(rs[0].header("Connection"), Some("close"), "{te}");
    }
}

#[test]
fn transfer_encoding_in_http10_is_refused() {
    let (_d, s) = server();
    let raw = s.exchange(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_eq!(statuses(&raw), [400]);
}

#[test]
fn bad_chunk_sizes_are_400_and_close() {
    let (_d, s) = server();
    for body in [
        "zz\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "ffffffffffffffffff\r\n",
        "0x5\r\nhello\r\n0\r\n\r\n",
        " 5\r\nhello\r\n0\r\n\r\n",
    ] {
        let req = format!(
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"
        );
        let raw = s.exchange(req.as_bytes());
        let rs = parse_all(&raw, &[]);
        assert_eq!(rs.len(), 1, "{body:?}");
        assert_eq!(rs[0].status_line, "HTTP/1.1 400 Bad Request", "{body:?}");
        assert_eq!(rs[0].header("Connection"), Some("close"));
    }
}

#[test]
fn a_body_over_the_limit_gets_413_and_close() {
    let dir = site(&[("a.txt", b"hello\n")]);
    let s = Server::start(dir.path(), &["--max-body", "10"]);
    let raw = s.exchange(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
    let rs = parse_all(&raw, &[]);
    assert_eq!(rs[0].status_line, "HTTP/1.1 413 Content Too Large");
    assert_eq!(rs[0].header("Connection"), Some("close"));
    let raw = s.exchange(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
    assert_eq!(parse_all(&raw, &[])[0].status(), 413);
    let raw = s.exchange(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789",
    );
    assert_eq!(parse_all(&raw, &[])[0].status(), 405);
}

#[test]
fn expect_100_continue_never_makes_the_client_wait() {
    let (_d, s) = server();
    let mut c = s.connect();
    c.write_all(
        b"PUT /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    // Without sending the body, an interim 100 arrives.
    let interim = read_response(&mut c, false).unwrap();
    assert_eq!(interim.status_line, "HTTP/1.1 100 Continue");
    c.write_all(b"hello").unwrap();
    let r = read_response(&mut c, false).unwrap();
    assert_eq!(r.status_line, "HTTP/1.1 405 Method Not Allowed");
}

#[test]
fn curl_upload_with_expect_is_answered_promptly() {
    let (_d, s) = server();
    let body = vec![b'x'; 200_000];
    let path = std::env::temp_dir().join(format!("ferry-upload-{}", std::process::id()));
    std::fs::write(&path, &body).unwrap();
    let start = std::time::Instant::now();
    let (code, out, err) = common::curl(&[
        "-i",
        "-H",
        "Expect: 100-continue",
        "--expect100-timeout",
        "5",
        "--data-binary",
        &format!("@{}", path.display()),
        &s.url("/a.txt"),
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 0, "{err}");
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{text}"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(3));
}

#[test]
fn garbage_after_a_request_gets_400_but_the_first_answer_stands() {
    let (_d, s) = server();
    let raw = s.exchange(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n\x00\x01garbage\r\n\r\n");
    let rs = parse_all(&raw, &[]);
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].body, b"hello\n");
    assert_eq!(rs[1].status_line, "HTTP/1.1 400 Bad Request");
}
