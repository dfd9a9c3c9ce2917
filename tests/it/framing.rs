//! Message framing and request smuggling (RFC 9112 §6–7): bodies are read
//! and discarded so the next request starts at the right byte; ambiguous
//! or invalid framing is refused with 400 (501 for an unknown coding) and
//! a close; --max-body; Expect: 100-continue.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::*;

const HIDDEN: &[u8] = b"GET /hidden.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// Sends `raw` and expects exactly one response with `status`, `Connection:
/// close`, then a clean close: nothing smuggled behind it ran.
fn assert_refused_and_closed(s: &Server, raw: &[u8], status: &str) {
    let mut c = s.conn();
    c.send_lossy(raw);
    let r = c.read_refusal_and_close(status);
    assert!(!r.text().contains("HIDDEN"));
}

/// Each case's body (named, with its framing fields) is skipped exactly
/// after a POST (405) and a GET (200).
fn each_body_is_skipped(s: &Server, cases: &[(&str, &str, Vec<u8>)]) {
    table(
        cases,
        |c| c.0.to_string(),
        |(_, framing, body)| {
            for (method, status) in [("POST", NOT_ALLOWED), ("GET", OK)] {
                assert_body_skipped(s, method, framing, body, status);
            }
        },
    );
}

/// Sends a request with `framing` fields and `body`, then GET /b.txt on the
/// same connection: both are answered, the second with b.txt.
fn assert_body_skipped(s: &Server, method: &str, framing: &str, body: &[u8], status: &str) {
    let mut c = s.conn();
    let mut raw =
        format!("{method} /a.txt HTTP/1.1\r\nHost: localhost\r\n{framing}\r\n").into_bytes();
    raw.extend(body);
    raw.extend(get_req("/b.txt"));
    c.send(&raw);
    let r = c.read_response(false);
    r.assert_common();
    assert_eq!(r.status_line, status);
    assert_eq!(r.header("Connection"), None);
    assert_ok(&c.read_response(false), b"world!");
    c.assert_still_open(Duration::from_millis(100), "nothing more");
}

#[test]
fn a_content_length_body_is_skipped_and_a_request_inside_it_never_runs_rfc9112_6_2() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    for (method, status) in [("POST", NOT_ALLOWED), ("GET", OK)] {
        let framing = format!("Content-Length: {}\r\n", HIDDEN.len());
        assert_body_skipped(&s, method, &framing, HIDDEN, status);
    }
}

/// Content-Length values that frame exactly: padding, leading zeros,
/// identical repeats (RFC 9110 §8.6), any case of the name.
#[test]
fn valid_content_lengths_frame_the_body_exactly_rfc9110_8_6() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let cases: &[(&str, &str, &[u8])] = &[
        ("plain", "Content-Length: 3\r\n", b"xyz"),
        ("padded with tabs", "Content-Length: \t 3 \t\r\n", b"xyz"),
        ("leading zeros", "Content-Length: 003\r\n", b"xyz"),
        (
            "identical repeats",
            "Content-Length: 2\r\nContent-Length: 2\r\n",
            b"ab",
        ),
        ("odd-case name", "content-LENGTH: 3\r\n", b"xyz"),
        (
            "empty values elsewhere",
            "X-Empty:\r\nContent-Length: 3\r\n",
            b"xyz",
        ),
    ];
    table(
        cases,
        |c| c.0.to_string(),
        |&(_, framing, body)| assert_body_skipped(&s, "GET", framing, body, OK),
    );
}

/// A body that arrives in pieces is awaited, then discarded: nothing is
/// answered before its last byte.
#[test]
fn a_body_arriving_in_pieces_is_awaited_then_discarded() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    for (method, status) in [("POST", NOT_ALLOWED), ("GET", OK)] {
        let mut c = s.conn();
        c.send(
            format!("{method} /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234")
                .as_bytes(),
        );
        c.assert_still_open(Duration::from_millis(200), "half the body sent");
        c.send(b"56789");
        c.send(&get_req("/b.txt"));
        let r = c.read_response(false);
        assert_eq!(r.status_line, status, "{method}");
        assert_ok(&c.read_response(false), b"world!");
    }
}

/// Chunked bodies (RFC 9112 §7.1): extensions (quoted, with escapes),
/// trailers, upper-case hex, leading zeros, any case of `chunked`; a
/// request hidden in chunk data never runs.
#[test]
fn valid_chunked_bodies_are_skipped_exactly_rfc9112_7_1() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let mut hidden_chunk = format!("{:x}\r\n", HIDDEN.len()).into_bytes();
    hidden_chunk.extend(HIDDEN);
    hidden_chunk.extend(b"\r\n0\r\n\r\n");
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("extensions and trailers", "Transfer-Encoding: chunked\r\n", b"5;ext=1;quoted=\"a;b\\\"c\"\r\nhello\r\nA\r\n0123456789\r\n0;last\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n".to_vec()),
        ("a request in the chunk data", "Transfer-Encoding: chunked\r\n", hidden_chunk),
        ("a request split over chunks", "Transfer-Encoding: chunked\r\n", b"5;ext=1;q=\"x\"\r\nGET /\r\n1a\r\nhidden.txt HTTP/1.1\r\nHost:\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n".to_vec()),
        ("Chunked in odd case", "transfer-encoding: Chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n".to_vec()),
        ("leading zeros and upper-case hex", "Transfer-Encoding: chunked\r\n", b"0005\r\nhello\r\nA\r\n0123456789\r\n000\r\n\r\n".to_vec()),
    ];
    each_body_is_skipped(&s, &cases);
}

/// The edges of the chunked grammar that are valid (RFC 9112 §7.1, RFC 9110
/// §5.5, §5.6.1) are skipped exactly: an extension on the last chunk, tabs
/// as BWS, a tab in a quoted value, a trailer value with obs-text, trailers
/// named like framing fields (ignored, never applied), and empty elements
/// in the Transfer-Encoding list. `chunked` twice over two field lines is
/// refused like on one.
#[test]
fn the_valid_edges_of_the_chunked_grammar_are_skipped_exactly_rfc9112_7_1() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let te = "Transfer-Encoding: chunked\r\n";
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("extensions on the last chunk", te, b"3\r\nabc\r\n0;e=v;f=\"x y\"\r\n\r\n".to_vec()),
        ("tabs as BWS", te, b"3\t;\te\t=\tv\r\nabc\r\n0\r\n\r\n".to_vec()),
        ("a tab in a quoted value", te, b"3;e=\"a\tb\"\r\nabc\r\n0\r\n\r\n".to_vec()),
        ("obs-text in a trailer value", te, b"3\r\nabc\r\n0\r\nX-T: \xe9t\xe9\r\n\r\n".to_vec()),
        ("an empty trailer value", te, b"3\r\nabc\r\n0\r\nX-T:\r\n\r\n".to_vec()),
        (
            "framing fields as trailers",
            te,
            b"3\r\nabc\r\n0\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\nHost: other\r\n\r\n".to_vec(),
        ),
        ("chunked, (empty element)", "Transfer-Encoding: chunked,\r\n", b"3\r\nabc\r\n0\r\n\r\n".to_vec()),
        (", chunked (empty element)", "Transfer-Encoding: , chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n".to_vec()),
    ];
    each_body_is_skipped(&s, &cases);
    let raw = format!(
        "POST /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{}",
        String::from_utf8_lossy(HIDDEN)
    );
    assert_refused_and_closed(&s, raw.as_bytes(), BAD_REQUEST);
}

/// RFC 9112 §6.3: both Content-Length and Transfer-Encoding is a smuggling
/// attempt: 400 and close.
#[test]
fn content_length_with_transfer_encoding_is_400_and_close_rfc9112_6_3() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let smuggle = "0\r\n\r\nGET /hidden.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let cases = [
        ("Content-Length: 5", "Transfer-Encoding: chunked"),
        ("Transfer-Encoding: chunked", "Content-Length: 5"),
        ("Content-Length: 0", "Transfer-Encoding: chunked"),
        ("Content-Length: 4", "Transfer-Encoding: chunked"),
    ];
    table(
        &cases,
        |c| format!("{} + {}", c.0, c.1),
        |(a, b)| {
            let raw =
                format!("POST /a.txt HTTP/1.1\r\nHost: localhost\r\n{a}\r\n{b}\r\n\r\n{smuggle}");
            assert_refused_and_closed(&s, raw.as_bytes(), BAD_REQUEST);
        },
    );
}

/// RFC 9110 §8.6: a Content-Length that is not one decimal number (or that
/// disagrees with another) is 400 and close.
#[test]
fn invalid_content_lengths_are_400_and_close_rfc9110_8_6() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let cases = [
        "Content-Length: abc",
        "Content-Length: -1",
        "Content-Length: +5",
        "Content-Length: 0x5",
        "Content-Length: 5.0",
        "Content-Length: 1.0",
        "Content-Length: 5 5",
        "Content-Length: 5, 6",
        "Content-Length: 1, 2",
        "Content-Length: 5\r\nContent-Length: 6",
        "Content-Length: 99999999999999999999999999",
        "Content-Length: 18446744073709551616",
        "Content-Length:",
    ];
    table(
        &cases,
        |c| c.to_string(),
        |cl| {
            let raw = format!(
                "POST /a.txt HTTP/1.1\r\nHost: localhost\r\n{cl}\r\n\r\nhello{}",
                String::from_utf8_lossy(HIDDEN)
            );
            assert_refused_and_closed(&s, raw.as_bytes(), BAD_REQUEST);
        },
    );
}

/// RFC 9112 §6.1: a Transfer-Encoding whose last coding is not `chunked`
/// can't be framed: 400; one that ends in chunked after a coding ferry
/// does not know: 501. In HTTP/1.0 any Transfer-Encoding is faulty. All
/// close.
#[test]
fn transfer_encodings_other_than_chunked_are_refused_rfc9112_6_1() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let cases: &[(&str, &str, &str)] = &[
        ("gzip", "Transfer-Encoding: gzip", BAD_REQUEST),
        (
            "chunked, gzip",
            "Transfer-Encoding: chunked, gzip",
            BAD_REQUEST,
        ),
        (
            "chunked, chunked",
            "Transfer-Encoding: chunked, chunked",
            BAD_REQUEST,
        ),
        ("identity", "Transfer-Encoding: identity", BAD_REQUEST),
        ("bogus", "Transfer-Encoding: bogus", BAD_REQUEST),
        ("xchunked", "Transfer-Encoding: xchunked", BAD_REQUEST),
        (
            "chunked then gzip fields",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip",
            BAD_REQUEST,
        ),
        (
            "gzip, chunked",
            "Transfer-Encoding: gzip, chunked",
            NOT_IMPLEMENTED,
        ),
        (
            "gzip then chunked fields",
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked",
            NOT_IMPLEMENTED,
        ),
    ];
    table(
        cases,
        |c| c.0.to_string(),
        |&(_, te, status)| {
            let raw = format!(
                "POST /a.txt HTTP/1.1\r\nHost: localhost\r\n{te}\r\n\r\n0\r\n\r\n{}",
                String::from_utf8_lossy(HIDDEN)
            );
            assert_refused_and_closed(&s, raw.as_bytes(), status);
        },
    );
    assert_refused_and_closed(
        &s,
        b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hidden.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        BAD_REQUEST,
    );
}

/// RFC 9112 §7.1: chunk sizes are hex digits only, each chunk ends in CRLF.
#[test]
fn bad_chunks_are_400_and_close_rfc9112_7_1() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let cases = [
        "zz\r\nhello\r\n0\r\n\r\n",
        "-1\r\nhello\r\n0\r\n\r\n",
        "0x5\r\nhello\r\n0\r\n\r\n",
        "+5\r\nhello\r\n0\r\n\r\n",
        " 5\r\nhello\r\n0\r\n\r\n",
        "\r\nhello\r\n0\r\n\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "5\r\nhello0\r\n\r\n",
    ];
    each_chunked_body_is_refused_and_closed(&s, &cases);
}

/// Each of `bodies`, sent chunked in a POST with a request hidden after it,
/// gets 400 and a close (the hidden request is never answered).
fn each_chunked_body_is_refused_and_closed(s: &Server, bodies: &[&str]) {
    table(
        bodies,
        |c| c.to_string(),
        |body| {
            let raw = format!(
                "POST /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{body}{}",
                String::from_utf8_lossy(HIDDEN)
            );
            assert_refused_and_closed(s, raw.as_bytes(), BAD_REQUEST);
        },
    );
}

/// RFC 9112 §7.1.1: `chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] )`
/// allows whitespace only before a `;` or around an `=`: whitespace that
/// ends a chunk line (after the size, the last chunk's zeros, or an
/// extension) is outside the grammar, and the issue asks for the grammar
/// exactly: 400 and close.
/// Was: `3 `, `3;e=v\t` chunk lines were accepted / now: 400 and close.
#[test]
fn whitespace_ending_a_chunk_line_is_400_and_close_rfc9112_7_1_1() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let cases = [
        "3 \r\nabc\r\n0\r\n\r\n",
        "3\t\r\nabc\r\n0\r\n\r\n",
        "3\r\nabc\r\n0 \r\n\r\n",
        "3;e=v \r\nabc\r\n0\r\n\r\n",
        "3;e=\"v\"\t\r\nabc\r\n0\r\n\r\n",
        "3;e \r\nabc\r\n0\r\n\r\n",
    ];
    each_chunked_body_is_refused_and_closed(&s, &cases);
}

/// --max-body counts every byte of the body, chunked or not: at the limit
/// is read, past it is 413 and close.
#[test]
fn bodies_past_max_body_get_413_and_close_and_at_the_limit_are_read() {
    let t = Site::standard();
    let s = Server::start(t.path(), &["--max-body", "10"]);
    let cases: &[(&str, &[u8])] = &[
        ("11 bytes", b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\n01234567890"),
        ("a huge length", b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 999999999\r\n\r\n0123"),
        ("11 chunked bytes", b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n67890\r\n0\r\n\r\n"),
        ("16 chunked bytes, POST", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"),
        ("a huge chunk", b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nffffff\r\n0123"),
    ];
    table(
        cases,
        |c| c.0.to_string(),
        |&(_, raw)| assert_refused_and_closed(&s, raw, TOO_LARGE),
    );
    let mut c = s.conn();
    let mut raw =
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n0123456789".to_vec();
    raw.extend(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n");
    raw.extend(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789");
    raw.extend(get_req("/b.txt"));
    c.send(&raw);
    assert_ok(&c.read_response(false), b"hello");
    assert_ok(&c.read_response(false), b"hello");
    assert_eq!(c.read_response(false).status_line, NOT_ALLOWED);
    assert_ok(&c.read_response(false), b"world!");
}

#[test]
fn the_default_max_body_is_one_mebibyte_exactly() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let mut c = s.conn();
    let mut w = c.s.try_clone().unwrap();
    let mut raw =
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\r\n".to_vec();
    raw.extend(vec![b'x'; 1048576]);
    raw.extend(get_req("/b.txt"));
    let writer = std::thread::spawn(move || w.write_all(&raw).is_ok());
    assert_ok(&c.read_response(false), b"hello");
    assert_ok(&c.read_response(false), b"world!");
    assert!(writer.join().unwrap());
    assert_refused_and_closed(
        &s,
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048577\r\n\r\n",
        TOO_LARGE,
    );
}

/// RFC 9110 §10.1.1: an HTTP/1.1 client that expects 100-continue gets the
/// interim 100 at once, whatever the method, then the final answer after
/// the body; an HTTP/1.0 request's expectation is ignored.
#[test]
fn expect_100_continue_gets_an_interim_100_at_once_rfc9110_10_1_1() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    for (method, status) in [("GET", OK), ("POST", NOT_ALLOWED), ("PUT", NOT_ALLOWED)] {
        let mut c = s.conn();
        let start = Instant::now();
        c.send(
            format!("{method} /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
                .as_bytes(),
        );
        let interim = c.read_response(false);
        assert_eq!(interim.status_line, "HTTP/1.1 100 Continue", "{method}");
        assert!(start.elapsed() < Duration::from_secs(1), "{method}");
        c.send(b"hello");
        let r = c.read_response(false);
        r.assert_common();
        assert_eq!(r.status_line, status, "{method}");
        assert_eq!(r.header("Connection"), None);
        assert_ok(&c.get("/b.txt"), b"world!");
    }
    // HTTP/1.0: no 100, the answer follows the body.
    let mut c = s.conn();
    c.send(b"GET /a.txt HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    c.assert_still_open(
        Duration::from_millis(300),
        "HTTP/1.0 with Expect, body unsent",
    );
    c.send(b"hello");
    assert_ok(&c.read_response(false), b"hello");
}

#[test]
fn curl_upload_with_expect_is_answered_promptly() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    let body = vec![b'x'; 200_000];
    let path = t.outside().join("upload.bin");
    std::fs::write(&path, &body).unwrap();
    let start = Instant::now();
    let out = curl_ok(&[
        "-i",
        "-H",
        "Expect: 100-continue",
        "--expect100-timeout",
        "5",
        "--data-binary",
        &format!("@{}", path.display()),
        &s.url("/a.txt"),
    ]);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 405 Method Not Allowed\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nAllow: GET, HEAD, OPTIONS\r\n"), "{text}");
}

/// A closing error is answered after the head; the junk the client keeps
/// sending must not turn the close into a reset that destroys the answer.
#[test]
fn a_closing_error_is_readable_even_when_the_client_keeps_sending() {
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    let mut c = s.connect();
    let mut req = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'j', 256 * 1024));
    let writer = {
        let mut w = c.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(&req);
        })
    };
    let r = read_response(&mut c, false).expect("a response before the close");
    assert_eq!(r.status_line, BAD_REQUEST);
    assert_eq!(r.header("Connection"), Some("close"));
    writer.join().unwrap();
}
