//! Serving files: content types, empty and large files (raw socket and
//! curl), index.html for folders, special files, the default site.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;

/// The common web extensions get their exact types (`charset=utf-8` on
/// text), with `.svgz` gzip-coded SVG; unknown ones are octet streams.
#[test]
fn content_types_follow_the_extension() {
    let cases = [
        ("a.html", "text/html; charset=utf-8"),
        ("a.htm", "text/html; charset=utf-8"),
        ("a.xhtml", "application/xhtml+xml"),
        ("a.css", "text/css; charset=utf-8"),
        ("a.js", "text/javascript; charset=utf-8"),
        ("a.mjs", "text/javascript; charset=utf-8"),
        ("a.cjs", "text/javascript; charset=utf-8"),
        ("a.json", "application/json"),
        ("a.map", "application/json"),
        ("a.jsonld", "application/ld+json"),
        ("a.webmanifest", "application/manifest+json"),
        ("a.xml", "text/xml; charset=utf-8"),
        ("a.txt", "text/plain; charset=utf-8"),
        ("a.md", "text/markdown; charset=utf-8"),
        ("a.csv", "text/csv; charset=utf-8"),
        ("a.vtt", "text/vtt; charset=utf-8"),
        ("a.wasm", "application/wasm"),
        ("a.svg", "image/svg+xml"),
        ("a.svgz", "image/svg+xml"),
        ("a.png", "image/png"),
        ("a.apng", "image/apng"),
        ("a.jpg", "image/jpeg"),
        ("a.jpeg", "image/jpeg"),
        ("a.gif", "image/gif"),
        ("a.webp", "image/webp"),
        ("a.avif", "image/avif"),
        ("a.ico", "image/x-icon"),
        ("a.bmp", "image/bmp"),
        ("a.woff", "font/woff"),
        ("a.woff2", "font/woff2"),
        ("a.ttf", "font/ttf"),
        ("a.otf", "font/otf"),
        ("a.eot", "application/vnd.ms-fontobject"),
        ("a.mp4", "video/mp4"),
        ("a.webm", "video/webm"),
        ("a.ogv", "video/ogg"),
        ("a.ogg", "audio/ogg"),
        ("a.mp3", "audio/mpeg"),
        ("a.m4a", "audio/mp4"),
        ("a.wav", "audio/wav"),
        ("a.flac", "audio/flac"),
        ("a.pdf", "application/pdf"),
        ("a.zip", "application/zip"),
        ("a.gz", "application/gzip"),
        ("a.tar", "application/x-tar"),
        ("UPPER.PNG", "image/png"),
        ("Upper.CJS", "text/javascript; charset=utf-8"),
        ("a.weirdext", "application/octet-stream"),
        ("u.zzqq", "application/octet-stream"),
        ("noext", "application/octet-stream"),
    ];
    let t = Site::new();
    for (name, _) in cases {
        t.file(name, name.as_bytes());
    }
    let s = Server::start(t.path(), &[]);
    table(
        &cases,
        |c| c.0.to_string(),
        |&(name, ct)| {
            let r = s.request(&get_req(&format!("/{name}")));
            assert_ok(&r, name.as_bytes());
            assert_eq!(r.header("content-type"), Some(ct));
            // Only a format that is a coding carries one; `.gz` is an
            // archive to download, not a coding.
            let coding = name.ends_with(".svgz").then_some("gzip");
            assert_eq!(r.header("content-encoding"), coding);
        },
    );
}

#[test]
fn an_empty_file_is_200_with_content_length_zero_and_keeps_the_connection() {
    let t = site(&[("empty.txt", b"")]);
    let s = Server::start(t.path(), &[]);
    let mut c = s.conn();
    for _ in 0..2 {
        let r = c.get("/empty.txt");
        r.assert_common();
        assert_ok(&r, b"");
        assert_eq!(r.header("Connection"), None);
    }
}

#[test]
fn a_folder_with_index_html_serves_it() {
    let t = Site::standard();
    let s = Server::start(t.path(), &[]);
    for (target, body) in [
        ("/sub/", &b"<p>SUB-INDEX</p>\n"[..]),
        ("/sub/?q=1", b"<p>SUB-INDEX</p>\n"),
        ("/", b"<!doctype html><title>root</title>ROOT-INDEX\n"),
    ] {
        let r = s.request(&get_req(target));
        assert_ok(&r, body);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    }
}

/// `index.htm` is a folder's index wherever `index.html` is (also under
/// `--no-listing`); with both, `index.html` wins, also when it appears
/// beside an `index.htm` already served (seen by the next request, in a
/// watched folder or not).
#[test]
fn index_htm_is_an_index_and_index_html_wins() {
    let t = site(&[("index.htm", b"root htm"), ("d/index.htm", b"d htm")]);
    for flags in [&[][..], &["--no-listing"]] {
        let s = Server::start(t.path(), flags);
        for (target, body) in [("/", &b"root htm"[..]), ("/d/", b"d htm")] {
            let r = s.request(&get_req(target));
            assert_ok(&r, body);
            assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        }
    }
    for flags in [&[][..], &["--max-watches", "0"]] {
        let t = site(&[("index.htm", b"root htm"), ("d/index.htm", b"d htm")]);
        let s = Server::start(t.path(), flags);
        let mut c = s.conn();
        assert_ok(&c.get("/d/"), b"d htm");
        assert_ok(&c.get("/"), b"root htm");
        t.file("d/index.html", b"d html");
        t.file("index.html", b"root html");
        assert_ok(&c.get("/d/"), b"d html");
        assert_ok(&c.get("/"), b"root html");
        assert_ok(&c.get("/d/index.htm"), b"d htm");
    }
}

#[test]
fn large_files_arrive_intact_by_curl_and_raw_socket() {
    let content = pattern(5 * 1024 * 1024 + 17, 1);
    let dir = site(&[("big.bin", &content), ("small.bin", &content[..40_000])]);
    let s = Server::start(dir.path(), &[]);
    let out = curl_ok(&[&s.url("/big.bin")]);
    assert!(out == content, "curl body differs ({} bytes)", out.len());
    assert_ok(&s.get("/small.bin"), &content[..40_000]);
    // Two responses pipelined on one connection, the big one first.
    let raw = s.exchange(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /small.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let rs = parse_all(&raw, &[]);
    assert_eq!(rs.len(), 2);
    assert_ok(&rs[0], &content);
    assert_ok(&rs[1], &content[..40_000]);
}

/// A FIFO in the root is 404, and opening it does not block the only
/// worker.
#[test]
fn a_fifo_is_404_and_does_not_hang_the_worker() {
    let t = Site::standard();
    let made = Command::new("mkfifo")
        .arg(t.path().join("pipe.txt"))
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        skip(
            "files::a_fifo_is_404_and_does_not_hang_the_worker",
            "mkfifo is missing or failed",
        );
        return;
    }
    let s = Server::start(t.path(), &["--threads", "1"]);
    let mut c = s.conn();
    c.s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c.send(&get_req("/pipe.txt"));
    let r = c
        .try_read_response(false)
        .unwrap_or_else(|e| panic!("GET of a FIFO hung or failed: {e}"));
    r.assert_common();
    assert_eq!(r.status_line, NOT_FOUND);
    let start = Instant::now();
    assert_ok(&s.request(&get_req("/a.txt")), b"hello");
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn the_default_site_is_served_from_static() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
    let s = Server::start(&root, &[]);
    let r = s.get("/");
    assert_ok(&r, &std::fs::read(root.join("index.html")).unwrap());
    let page = r.text();
    for asset in ["style.css", "ferry.svg"] {
        assert!(page.contains(asset), "index links {asset}");
        assert_ok(
            &s.get(&format!("/{asset}")),
            &std::fs::read(root.join(asset)).unwrap(),
        );
    }
}
