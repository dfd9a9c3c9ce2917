//! HTTP/1.1 protocol behaviour over raw sockets: methods, versions, Host,
//! limits, persistence, pipelining, HEAD, and the fields every response has.

mod common;

use std::io::Write;

use common::{Server, parse_all, read_response, site};

fn server() -> (tempfile::TempDir, Server) {
    let dir = site(&[("index.html", b"<h1>hi</h1>\n"), ("a.txt", b"hello\n")]);
    let s = Server::start(dir.path(), &[]);
    (dir, s)
}

const ERROR_PAGE_404: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>404 Not Found</title></head>\n<body><h1>404 Not Found</h1><hr><p>ferry</p></body></html>\n";

#[test]
fn get_returns_exact_headers_and_body() {
    let (_d, s) = server();
    let r = s.get("/a.txt");
    r.assert_common();
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("Content-Length"), Some("6"));
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(r.body, b"hello\n");
    assert_eq!(
        r.names(),
        [
            "server",
            "date",
            "last-modified",
            "etag",
            "accept-ranges",
            "content-type",
            "content-length",
            "connection"
        ]
    );
}

#[test]
fn not_found_has_a_small_html_body() {
    let (_d, s) = server();
    let r = s.get("/missing");
    r.assert_common();
    assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.body, ERROR_PAGE_404.as_bytes());
    assert_eq!(
        r.header("Content-Length"),
        Some(&*ERROR_PAGE_404.len().to_string())
    );
}

#[test]
fn head_sends_the_same_headers_as_get_but_no_body() {
    let (_d, s) = server();
    for path in ["/a.txt", "/missing", "/", "/%zz"] {
        let mut c = s.connect();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: t\r\n\r\nHEAD {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        );
        c.write_all(req.as_bytes()).unwrap();
        let raw = common::read_to_close(&mut c);
        let rs = parse_all(&raw, &[false, true]);
        let (get, head) = if rs.len() == 2 {
            (&rs[0], &rs[1])
        } else {
            // A 400 closes after the first response; check HEAD alone.
            let mut c = s.connect();
            c.write_all(format!("HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
                .unwrap();
            let raw = common::read_to_close(&mut c);
            let h = parse_all(&raw, &[true]);
            assert_eq!(h.len(), 1, "HEAD {path} must have no body: {raw:?}");
            assert_eq!(h[0].status_line, rs[0].status_line);
            assert_eq!(
                h[0].header("Content-Length"),
                rs[0].header("Content-Length")
            );
            continue;
        };
        assert_eq!(get.status_line, head.status_line, "{path}");
        assert!(head.body.is_empty());
        for name in ["Content-Type", "Content-Length", "Server"] {
            assert_eq!(get.header(name), head.header(name), "{path} {name}");
        }
    }
}

#[test]
fn http11_keeps_the_connection_alive_for_many_requests() {
    let (_d, s) = server();
    let mut c = s.connect();
    for _ in 0..50 {
        c.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let r = read_response(&mut c, false).expect("response");
        assert_eq!(r.status_line, "HTTP/1.1 200 OK");
        assert_eq!(r.header("Connection"), None);
        assert_eq!(r.body, b"hello\n");
    }
}

#[test]
fn connection_close_is_honoured() {
    let (_d, s) = server();
    let raw = s.exchange(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    let rs = parse_all(&raw, &[]);
    assert_eq!(rs.len(), 1, "only the first request is answered");
    assert_eq!(rs[0].header("Connection"), Some("close"));
}

#[test]
fn http10_closes_by_default() {
    let (_d, s) = server();
    let raw = s.exchange(b"GET /a.txt HTTP/1.0\r\n\r\n");
    let rs = parse_all(&raw, &[]);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status_line, "HTTP/1.1 200 OK");
    assert_eq!(rs[0].header("Connection"), Some("close"));
    assert_eq!(rs[0].body, b"hello\n");
}

#[test]
fn http10_keep_alive_is_announced_and_kept() {
    let (_d, s) = server();
    let mut c = s.connect();
    for _ in 0..3 {
        c.write_all(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let r = read_response(&mut c, false).unwrap();
        assert_eq!(r.status_line, "HTTP/1.1 200 OK");
        assert_eq!(r.header("Connection"), Some("keep-alive"));
        assert_eq!(r.body, b"hello\n");
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (_d, s) = server();
    let mut req = Vec::new();
    let paths = ["/a.txt", "/missing", "/", "/a.txt", "/nope"];
    for p in paths {
        req.extend_from_slice(format!("GET {p} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    }
    req.extend_from_slice(b"HEAD /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let raw = s.exchange(&req);
    let rs = parse_all(&raw, &[false, false, false, false, false, true]);
    let codes: Vec<u16> = rs.iter().map(|r| r.status()).collect();
    assert_eq!(codes, [200, 404, 200, 200, 404, 200]);
    assert_eq!(rs[0].body, b"hello\n");
    assert_eq!(rs[2].body, b"<h1>hi</h1>\n");
}

#[test]
fn a_request_split_into_single_bytes_is_parsed() {
    let (_d, s) = server();
    let mut c = s.connect();
    c.set_nodelay(true).unwrap();
    for b in b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n" {
        c.write_all(&[*b]).unwrap();
    }
    let r = read_response(&mut c, false).unwrap();
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.body, b"hello\n");
}

#[test]
fn options_answers_204_with_allow_and_no_length() {
    let (_d, s) = server();
    for target in ["/", "*", "/a.txt"] {
        let raw = s.exchange(
            format!("OPTIONS {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let text = String::from_utf8(raw).unwrap();
        assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"), "{text}");
        assert!(text.contains("\r\nAllow: GET, HEAD, OPTIONS\r\n"), "{text}");
        assert!(
            !text.to_ascii_lowercase().contains("content-length"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\n"), "no body: {text}");
    }
}

#[test]
fn unsupported_known_methods_get_405_with_allow() {
    let (_d, s) = server();
    for m in ["POST", "PUT", "DELETE", "PATCH", "TRACE"] {
        let raw = s.exchange(
            format!("{m} /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let rs = parse_all(&raw, &[]);
        assert_eq!(rs[0].status_line, "HTTP/1.1 405 Method Not Allowed", "{m}");
        assert_eq!(rs[0].header("Allow"), Some("GET, HEAD, OPTIONS"), "{m}");
        rs[0].assert_common();
    }
    let raw = s.exchange(
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n",
    );
    let rs = parse_all(&raw, &[]);
    assert_eq!(rs[0].status_line, "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(rs[0].header("Allow"), Some("GET, HEAD, OPTIONS"));
}

#[test]
fn unknown_and_lowercase_methods_get_501() {
    let (_d, s) = server();
    for m in ["BREW", "get", "Get", "PROPFIND"] {
        let raw = s.exchange(
            format!("{m} /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let rs = parse_all(&raw, &[]);
        assert_eq!(rs[0].status_line, "HTTP/1.1 501 Not Implemented", "{m}");
    }
}

#[test]
fn a_405_keeps_the_connection_usable() {
    let (_d, s) = server();
    let raw = s.exchange(b"DELETE /a.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let rs = parse_all(&raw, &[]);
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].status(), 405);
    assert_eq!(rs[1].body, b"hello\n");
}

#[test]
fn asterisk_target_for_get_is_400() {
    let (_d, s) = server();
    let raw = s.exchange(b"GET * HTTP/1.1\r\nHost: t\r\n\r\n");
    let rs = parse_all(&raw, &[]);
    assert_eq!(rs[0].status_line, "HTTP/1.1 400 Bad Request");
    assert_eq!(rs[0].header("Connection"), Some("close"));
}

#[test]
fn unsupported_versions_get_505_and_garbage_400() {
    let (_d, s) = server();
    for (req, status) in [
        (
            &b"GET / HTTP/2.0\r\nHost: t\r\n\r\n"[..],
            "HTTP/1.1 505 HTTP Version Not Supported",
        ),
        (
            b"GET / HTTP/3.0\r\nHost: t\r\n\r\n",
            "HTTP/1.1 505 HTTP Version Not Supported",
        ),
        (
            b"GET / HTTX/1.1\r\nHost: t\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
        (
            b"GET / http/1.1\r\nHost: t\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
        (b"GET /\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
        (
            b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
    ] {
        let raw = s.exchange(req);
        let rs = parse_all(&raw, &[]);
        assert_eq!(rs.len(), 1, "{req:?}");
        assert_eq!(rs[0].status_line, status, "{req:?}");
        assert_eq!(rs[0].header("Connection"), Some("close"));
        rs[0].assert_common();
    }
}

#[test]
fn host_is_required_unique_and_valid_in_http11() {
    let (_d, s) = server();
    for req in [
        &b"GET /a.txt HTTP/1.1\r\n\r\n"[..],
        b"GET /a.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: a/b\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: a@b\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: [::1\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: a:99999999\r\n\r\n",
    ] {
        let raw = s.exchange(req);
        let rs = parse_all(&raw, &[]);
        assert_eq!(
            rs[0].status_line,
            "HTTP/1.1 400 Bad Request",
            "{:?}",
            String::from_utf8_lossy(req)
        );
        assert_eq!(rs[0].header("Connection"), Some("close"));
    }
    for host in ["localhost", "127.0.0.1:8000", "[::1]:80", "example.com"] {
        let raw = s.exchange(
            format!("GET /a.txt HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(parse_all(&raw, &[])[0].status(), 200, "{host}");
    }
    // HTTP/1.0 may omit Host.
    let raw = s.exchange(b"GET /a.txt HTTP/1.0\r\n\r\n");
    assert_eq!(parse_all(&raw, &[])[0].status(), 200);
}

#[test]
fn absolute_form_targets_use_the_target_path() {
    let (_d, s) = server();
    let raw = s.exchange(b"GET http://elsewhere.example/a.txt?x=1 HTTP/1.1\r\nHost: ignored\r\nConnection: close\r\n\r\n");
    let rs = parse_all(&raw, &[]);
    assert_eq!(rs[0].status_line, "HTTP/1.1 200 OK");
    assert_eq!(rs[0].body, b"hello\n");
}

#[test]
fn whitespace_before_colon_and_control_bytes_in_values_are_400() {
    let (_d, s) = server();
    for req in [
        &b"GET / HTTP/1.1\r\nHost : t\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: t\r\nX-A\t: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\n folded: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n",
    ] {
        let raw = s.exchange(req);
        let rs = parse_all(&raw, &[]);
        assert_eq!(
            rs[0].status_line,
            "HTTP/1.1 400 Bad Request",
            "{:?}",
            String::from_utf8_lossy(req)
        );
    }
}

#[test]
fn whitespace_around_field_values_is_not_part_of_them() {
    let (_d, s) = server();
    let raw = s.exchange(b"GET /a.txt HTTP/1.1\r\nHost:   t  \t\r\nConnection: \t close \t\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    let rs = parse_all(&raw, &[]);
    assert_eq!(
        rs.len(),
        1,
        "Connection: close was recognised despite padding"
    );
    assert_eq!(rs[0].status(), 200);
}

#[test]
fn an_overlong_target_gets_414() {
    let (_d, s) = server();
    let target = format!("/{}", "a".repeat(8 * 1024));
    let raw = s.exchange(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    let rs = parse_all(&raw, &[]);
    assert_eq!(rs[0].status_line, "HTTP/1.1 414 URI Too Long");
    assert_eq!(rs[0].header("Connection"), Some("close"));
    // Exactly at the limit is fine (404: no such file).
    let target = format!("/{}", "a".repeat(8 * 1024 - 1));
    let raw = s.exchange(
        format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(parse_all(&raw, &[])[0].status(), 404);
}

#[test]
fn a_target_that_never_ends_gets_414_before_the_head_completes() {
    let (_d, s) = server();
    let mut c = s.connect();
    c.write_all(b"GET /").unwrap();
    c.write_all(&vec![b'a'; 9 * 1024]).unwrap();
    let raw = common::read_to_close(&mut c);
    assert!(
        raw.starts_with(b"HTTP/1.1 414 URI Too Long\r\n"),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
}

#[test]
fn a_header_section_over_64k_gets_431() {
    let (_d, s) = server();
    let mut req = b"GET / HTTP/1.1\r\nHost: t\r\n".to_vec();
    for i in 0..70 {
        req.extend_from_slice(format!("X-{i}: {}\r\n", "v".repeat(1000)).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let raw = s.exchange(&req);
    let rs = parse_all(&raw, &[]);
    assert_eq!(
        rs[0].status_line,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert_eq!(rs[0].header("Connection"), Some("close"));
}

#[test]
fn more_than_100_fields_gets_431_and_100_is_fine() {
    let (_d, s) = server();
    let build = |n: usize| {
        let mut req = b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n".to_vec();
        for i in 0..n - 2 {
            req.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        req.extend_from_slice(b"\r\n");
        req
    };
    let raw = s.exchange(&build(100));
    assert_eq!(parse_all(&raw, &[])[0].status(), 200);
    let raw = s.exchange(&build(101));
    assert_eq!(
        parse_all(&raw, &[])[0].status_line,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
}

#[test]
fn limits_are_flags() {
    let dir = site(&[("a.txt", b"hello\n")]);
    let s = Server::start(
        dir.path(),
        &[
            "--max-target",
            "16",
            "--max-headers",
            "3",
            "--max-header-bytes",
            "200",
        ],
    );
    let raw = s.exchange(b"GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(parse_all(&raw, &[])[0].status(), 414);
    let raw = s.exchange(b"GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    assert_eq!(parse_all(&raw, &[])[0].status(), 431);
    let raw = s.exchange(
        format!(
            "GET / HTTP/1.1\r\nHost: t\r\nA: {}\r\n\r\n",
            "x".repeat(300)
        )
        .as_bytes(),
    );
    assert_eq!(parse_all(&raw, &[])[0].status(), 431);
    let raw = s.exchange(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(parse_all(&raw, &[])[0].status(), 200);
}

#[test]
fn curl_sees_keep_alive_reuse_and_exact_bytes() {
    let (_d, s) = server();
    let (code, out, err) = common::curl(&["-v", &s.url("/a.txt"), &s.url("/a.txt")]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, b"hello\nhello\n");
    assert!(
        err.contains("Re-using existing connection") || err.contains("Reusing existing"),
        "{err}"
    );
}

#[test]
fn curl_http10_gets_a_close() {
    let (_d, s) = server();
    let (code, out, err) = common::curl(&["-0", "-i", &s.url("/a.txt")]);
    assert_eq!(code, 0, "{err}");
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nhello\n"));
}

#[test]
fn ipv6_loopback_works() {
    let dir = site(&[("a.txt", b"hello\n")]);
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    }
    let s = Server::start(dir.path(), &["--bind", "::1"]);
    assert!(s.line.contains("at http://[::1]:"), "{}", s.line);
    let r = s.get("/a.txt");
    assert_eq!(r.body, b"hello\n");
}
