//! Adversarial black-box tests for issue 4: validators (RFC 9110 §8.8),
//! conditional requests (§13, order of §13.2.2), 304 (§15.4.5), ranges and
//! multipart/byteranges (§14), If-Range (§13.1.5), precompressed sidecars
//! with Accept-Encoding negotiation (§12.5.3), and --cache-control/--no-cache.
//!
//! Written from the issue text and the RFC only (no look at src/). Every test
//! makes its own temporary site, starts its own server on 127.0.0.1 port 0,
//! and checks exact status lines, header values and body bytes. Every socket
//! has timeouts (common::connect) and every loop is bounded.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Response, Server, curl, parse_all, read_response, site};

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

/// 2001-09-09T01:46:40Z.
const T0: u64 = 1_000_000_000;
const T0_IMF: &str = "Sun, 09 Sep 2001 01:46:40 GMT";
const T0_RFC850: &str = "Sunday, 09-Sep-01 01:46:40 GMT";
const T0_ASCTIME: &str = "Sun Sep  9 01:46:40 2001";

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// IMF-fixdate of a Unix time.
fn imf(secs: u64) -> String {
    imf_i(secs as i64)
}

/// IMF-fixdate of a possibly negative Unix time.
fn imf_i(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days + 4).rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses an IMF-fixdate (strictly); None otherwise.
fn parse_imf(s: &str) -> Option<u64> {
    if !common::httpdate_like(s) {
        return None;
    }
    let d: i64 = s.get(5..7)?.parse().ok()?;
    let mname = s.get(8..11)?;
    let mon = MONTHS.iter().position(|m| *m == mname)? as i64 + 1;
    let y: i64 = s.get(12..16)?.parse().ok()?;
    let hh: u64 = s.get(17..19)?.parse().ok()?;
    let mm: u64 = s.get(20..22)?.parse().ok()?;
    let ss: u64 = s.get(23..25)?.parse().ok()?;
    let days = days_from_civil(y, mon, d);
    let secs = days as u64 * 86_400 + hh * 3600 + mm * 60 + ss;
    if imf(secs) != s {
        return None; // wrong weekday or out-of-range field
    }
    Some(secs)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits out ferry's documented open-file cache (small files are kept in
/// memory and revalidated at most once a second; README, Architecture).
fn settle() {
    std::thread::sleep(Duration::from_millis(1150));
}

fn set_mtime(p: &Path, secs: u64, nanos: u32) {
    let f = std::fs::File::open(p).expect("open for set_modified");
    f.set_modified(UNIX_EPOCH + Duration::new(secs, nanos))
        .expect("set_modified");
}

// ---------------------------------------------------------------------------
// Data and sites
// ---------------------------------------------------------------------------

/// Non-repeating pseudo-random bytes (64-bit LCG, high bits).
fn lcg(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as u8
        })
        .collect()
}

/// A site with `f.bin` (n LCG bytes) whose mtime is exactly T0.
fn bin_site(n: usize) -> (tempfile::TempDir, Vec<u8>) {
    let data = lcg(n, n as u64);
    let dir = site(&[("f.bin", &data)]);
    set_mtime(&dir.path().join("f.bin"), T0, 0);
    (dir, data)
}

const JS: &[u8] = b"console.log('plain javascript, not encoded at all');\n";
const GZ: &[u8] = b"\x1f\x8bFAKE-GZIP-SIDECAR-BYTES-0123456789";
const BR: &[u8] = b"FAKE-BROTLI-SIDECAR-BYTES-abcdefghijklmnopqrstuvwxyz";
const JS_CT: &str = "text/javascript; charset=utf-8";

/// `app.js` with `.gz` and/or `.br` sidecars (arbitrary bytes), all at T0.
fn sidecar_site(gz: bool, br: bool) -> tempfile::TempDir {
    let mut files: Vec<(&str, &[u8])> = vec![("app.js", JS)];
    if gz {
        files.push(("app.js.gz", GZ));
    }
    if br {
        files.push(("app.js.br", BR));
    }
    let dir = site(&files);
    for (name, _) in &files {
        set_mtime(&dir.path().join(name), T0, 0);
    }
    dir
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

fn build(method: &str, path: &str, headers: &[(&str, &str)], close: bool) -> String {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n");
    for (n, v) in headers {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    if close {
        r.push_str("Connection: close\r\n");
    }
    r.push_str("\r\n");
    r
}

/// Reads whatever is left until EOF (bounded; a reset counts as EOF).
fn drain(c: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    for _ in 0..100_000 {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("reading to EOF after the response: {e}"),
        }
    }
    out
}

/// One request on its own connection (Connection: close). Checks the common
/// fields and that nothing at all follows the response (exact framing).
fn req(s: &Server, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut c = s.connect();
    c.write_all(build(method, path, headers, true).as_bytes())
        .expect("write request");
    let r = read_response(&mut c, method == "HEAD").expect("a response");
    let rest = drain(&mut c);
    assert!(
        rest.is_empty(),
        "{method} {path} {headers:?}: {} stray bytes after the {} response: {:?}",
        rest.len(),
        r.status_line,
        String::from_utf8_lossy(&rest[..rest.len().min(120)])
    );
    r.assert_common();
    r
}

fn get(s: &Server, path: &str, headers: &[(&str, &str)]) -> Response {
    req(s, "GET", path, headers)
}

/// A keep-alive request on an existing connection.
fn on(c: &mut TcpStream, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    c.write_all(build(method, path, headers, false).as_bytes())
        .expect("write request");
    let r = read_response(c, method == "HEAD").expect("a response, not EOF");
    r.assert_common();
    r
}

// ---------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------

/// The ETag, checked to be a strong entity-tag (RFC 9110 §8.8.3).
fn etag(r: &Response) -> String {
    let e = r
        .header("ETag")
        .unwrap_or_else(|| panic!("no ETag on {}: {:?}", r.status_line, r.headers))
        .to_owned();
    assert!(!e.starts_with("W/"), "ETag {e:?} must be strong");
    assert!(
        e.len() >= 3 && e.starts_with('"') && e.ends_with('"'),
        "ETag {e:?} is not a quoted string"
    );
    let inner = &e[1..e.len() - 1];
    assert!(
        inner
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80),
        "ETag {e:?} has characters outside etagc"
    );
    e
}

fn assert_body(r: &Response, expected: &[u8]) {
    assert!(
        r.body == expected,
        "{}: body differs: got {} bytes, expected {}; got starts {:?}",
        r.status_line,
        r.body.len(),
        expected.len(),
        String::from_utf8_lossy(&r.body[..r.body.len().min(60)])
    );
}

fn assert_200(r: &Response, body: &[u8]) {
    assert_eq!(r.status_line, "HTTP/1.1 200 OK", "{:?}", r.headers);
    assert_eq!(
        r.header("Content-Length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(
        r.header("Content-Range"),
        None,
        "a 200 has no Content-Range"
    );
    assert_body(r, body);
}

fn assert_206(r: &Response, data: &[u8], first: usize, last: usize) {
    assert_eq!(
        r.status_line, "HTTP/1.1 206 Partial Content",
        "{:?}",
        r.headers
    );
    let cr = format!("bytes {first}-{last}/{}", data.len());
    assert_eq!(r.header("Content-Range"), Some(cr.as_str()));
    assert_eq!(
        r.header("Content-Length"),
        Some((last - first + 1).to_string().as_str())
    );
    assert_body(r, &data[first..=last]);
}

fn assert_304(r: &Response, etag_v: &str, lm: &str) {
    assert_eq!(
        r.status_line, "HTTP/1.1 304 Not Modified",
        "{:?}",
        r.headers
    );
    assert_eq!(r.header("ETag"), Some(etag_v), "304 carries the ETag");
    assert_eq!(
        r.header("Last-Modified"),
        Some(lm),
        "304 carries Last-Modified"
    );
    assert!(r.header("Content-Range").is_none());
    assert!(r.body.is_empty());
}

fn assert_304_len(r: &Response, full_len: usize) {
    if let Some(cl) = r.header("Content-Length") {
        assert_eq!(
            cl,
            full_len.to_string(),
            "a 304's Content-Length, if any, is the 200's"
        );
    }
}

fn assert_412(r: &Response) {
    assert_eq!(
        r.status_line, "HTTP/1.1 412 Precondition Failed",
        "{:?}",
        r.headers
    );
    assert!(r.header("Content-Range").is_none());
}

fn assert_416(r: &Response, len: usize) {
    assert_eq!(
        r.status_line, "HTTP/1.1 416 Range Not Satisfiable",
        "{:?}",
        r.headers
    );
    let cr = format!("bytes */{len}");
    assert_eq!(r.header("Content-Range"), Some(cr.as_str()));
}

fn parse_content_range(v: &str) -> (usize, usize, usize) {
    let rest = v
        .strip_prefix("bytes ")
        .unwrap_or_else(|| panic!("Content-Range {v:?}"));
    let (range, total) = rest.split_once('/').expect("Content-Range slash");
    let (a, b) = range.split_once('-').expect("Content-Range dash");
    (
        a.parse().expect("first"),
        b.parse().expect("last"),
        total.parse().expect("complete length"),
    )
}

fn boundary_of(ct: &str) -> String {
    let lower = ct.to_ascii_lowercase();
    assert!(
        lower.starts_with("multipart/byteranges"),
        "Content-Type {ct:?} is not multipart/byteranges"
    );
    let idx = lower.find("boundary=").expect("boundary parameter");
    let mut b = ct[idx + "boundary=".len()..].trim();
    if let Some(end) = b.find(';') {
        b = b[..end].trim();
    }
    let b = b.trim_matches('"');
    assert!(
        !b.is_empty() && b.len() <= 70,
        "boundary {b:?} (RFC 2046: 1..70 chars)"
    );
    b.to_owned()
}

struct Part {
    content_type: Option<String>,
    first: usize,
    last: usize,
    total: usize,
    data: Vec<u8>,
}

/// Parses a multipart/byteranges body strictly, part by part, using each
/// part's Content-Range for its length.
fn parse_multipart(body: &[u8], boundary: &str) -> Vec<Part> {
    let delim = format!("--{boundary}");
    let mut pos = 0;
    if body.starts_with(b"\r\n") {
        pos = 2; // an empty preamble
    }
    let mut parts = Vec::new();
    for _ in 0..1000 {
        assert!(
            body[pos..].starts_with(delim.as_bytes()),
            "expected delimiter {delim:?} at {pos}, found {:?}",
            String::from_utf8_lossy(&body[pos..(pos + 80).min(body.len())])
        );
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            pos += 2;
            let epilogue = &body[pos..];
            assert!(
                epilogue.is_empty() || epilogue == b"\r\n",
                "unexpected epilogue {:?}",
                String::from_utf8_lossy(epilogue)
            );
            return parts;
        }
        assert!(body[pos..].starts_with(b"\r\n"), "CRLF after delimiter");
        pos += 2;
        let hend = body[pos..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("part header end")
            + pos;
        let head = std::str::from_utf8(&body[pos..hend]).expect("part head UTF-8");
        let mut ctype = None;
        let mut crange = None;
        for line in head.split("\r\n").filter(|l| !l.is_empty()) {
            let (n, v) = line.split_once(':').expect("part field colon");
            if n.eq_ignore_ascii_case("Content-Type") {
                assert!(ctype.is_none(), "repeated Content-Type in part");
                ctype = Some(v.trim().to_owned());
            } else if n.eq_ignore_ascii_case("Content-Range") {
                assert!(crange.is_none(), "repeated Content-Range in part");
                crange = Some(v.trim().to_owned());
            }
        }
        pos = hend + 4;
        let (first, last, total) =
            parse_content_range(crange.as_deref().expect("every part has Content-Range"));
        assert!(
            first <= last && last < total,
            "bad part range {first}-{last}/{total}"
        );
        let len = last - first + 1;
        assert!(pos + len <= body.len(), "part data runs past the body");
        let data = body[pos..pos + len].to_vec();
        pos += len;
        assert!(body[pos..].starts_with(b"\r\n"), "CRLF after part data");
        pos += 2;
        parts.push(Part {
            content_type: ctype,
            first,
            last,
            total,
            data,
        });
    }
    panic!("too many parts");
}

/// The (first, last) pieces of a 206 (single or multipart), each checked
/// against `data` and the expected Content-Type.
fn pieces(r: &Response, data: &[u8], ct: &str) -> Vec<(usize, usize)> {
    assert_eq!(
        r.status_line, "HTTP/1.1 206 Partial Content",
        "{:?}",
        r.headers
    );
    assert_eq!(
        r.header("Content-Length"),
        Some(r.body.len().to_string().as_str())
    );
    let rct = r.header("Content-Type").expect("Content-Type");
    if rct.to_ascii_lowercase().starts_with("multipart/byteranges") {
        assert!(
            r.header("Content-Range").is_none(),
            "a multipart 206 has no top-level Content-Range"
        );
        let b = boundary_of(rct);
        let parts = parse_multipart(&r.body, &b);
        assert!(!parts.is_empty());
        parts
            .iter()
            .map(|p| {
                assert_eq!(p.content_type.as_deref(), Some(ct), "part Content-Type");
                assert_eq!(p.total, data.len());
                assert!(
                    p.data == data[p.first..=p.last],
                    "part {}-{} has wrong bytes",
                    p.first,
                    p.last
                );
                (p.first, p.last)
            })
            .collect()
    } else {
        assert_eq!(rct, ct);
        let (first, last, total) =
            parse_content_range(r.header("Content-Range").expect("Content-Range"));
        assert_eq!(total, data.len());
        assert!(r.body == data[first..=last], "single part has wrong bytes");
        vec![(first, last)]
    }
}

/// Every byte of every wanted (inclusive) range is covered by some piece.
fn assert_covers(got: &[(usize, usize)], wanted: &[(usize, usize)]) {
    for &(a, b) in wanted {
        for i in [a, (a + b) / 2, b] {
            assert!(
                got.iter().any(|&(f, l)| f <= i && i <= l),
                "byte {i} of wanted range {a}-{b} not returned; got {got:?}"
            );
        }
        // And the whole range lies in one piece or a union of pieces.
        let mut i = a;
        let mut steps = 0;
        while i <= b {
            let p = got
                .iter()
                .filter(|&&(f, l)| f <= i && i <= l)
                .map(|&(_, l)| l)
                .max()
                .unwrap_or_else(|| panic!("byte {i} missing; got {got:?}"));
            i = p + 1;
            steps += 1;
            assert!(steps < 10_000);
        }
    }
}

// ===========================================================================
// Validators (RFC 9110 §8.8)
// ===========================================================================

#[test]
fn date_helpers_agree_with_a_known_date() {
    assert_eq!(imf(T0), T0_IMF);
    assert_eq!(parse_imf(T0_IMF), Some(T0));
    assert_eq!(imf(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(imf_i(-315_619_200), "Fri, 01 Jan 1960 00:00:00 GMT");
}

#[test]
fn every_file_response_carries_last_modified_a_strong_etag_and_accept_ranges() {
    let (dir, data) = bin_site(1000);
    let s = Server::start(dir.path(), &[]);
    let g = get(&s, "/f.bin", &[]);
    assert_200(&g, &data);
    let e = etag(&g);
    assert_eq!(g.header("Last-Modified"), Some(T0_IMF));
    assert_eq!(g.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(g.header("Content-Type"), Some("application/octet-stream"));

    let h = req(&s, "HEAD", "/f.bin", &[]);
    assert_eq!(h.status_line, "HTTP/1.1 200 OK");
    assert_eq!(h.header("ETag"), Some(e.as_str()));
    assert_eq!(h.header("Last-Modified"), Some(T0_IMF));
    assert_eq!(h.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(h.header("Content-Length"), Some("1000"));

    let p = get(&s, "/f.bin", &[("Range", "bytes=10-19")]);
    assert_206(&p, &data, 10, 19);
    assert_eq!(p.header("ETag"), Some(e.as_str()));
    assert_eq!(p.header("Last-Modified"), Some(T0_IMF));
    assert_eq!(p.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(p.header("Content-Type"), Some("application/octet-stream"));

    let n = get(&s, "/f.bin", &[("If-None-Match", &e)]);
    assert_304(&n, &e, T0_IMF);
}

#[test]
fn last_modified_is_the_mtime_truncated_to_the_second_and_not_after_date() {
    let (dir, _) = bin_site(10);
    set_mtime(&dir.path().join("f.bin"), T0, 999_999_999);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/f.bin", &[]);
    assert_eq!(r.header("Last-Modified"), Some(T0_IMF));
    let date = parse_imf(r.header("Date").unwrap()).expect("Date parses");
    assert!(date >= T0);
}

#[test]
fn a_file_modified_in_the_future_never_gets_a_last_modified_later_than_date() {
    let (dir, data) = bin_site(10);
    set_mtime(&dir.path().join("f.bin"), now_secs() + 86_400 * 3, 0);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/f.bin", &[]);
    assert_200(&r, &data);
    let date = parse_imf(r.header("Date").unwrap()).expect("Date parses");
    let lm = parse_imf(r.header("Last-Modified").expect("Last-Modified"))
        .expect("Last-Modified is an IMF-fixdate");
    assert!(
        lm <= date,
        "Last-Modified {} is later than Date {} (RFC 9110 §8.8.2.1)",
        imf(lm),
        imf(date)
    );
}

#[test]
fn the_etag_is_stable_across_requests_and_server_restarts() {
    let (dir, _) = bin_site(100);
    let first = {
        let s = Server::start(dir.path(), &[]);
        let a = etag(&get(&s, "/f.bin", &[]));
        let b = etag(&get(&s, "/f.bin", &[]));
        let c = etag(&req(&s, "HEAD", "/f.bin", &[]));
        assert_eq!(a, b);
        assert_eq!(a, c);
        a
    };
    let s = Server::start(dir.path(), &["--threads", "1"]);
    assert_eq!(
        etag(&get(&s, "/f.bin", &[])),
        first,
        "same ETag after restart"
    );
}

#[test]
fn files_with_the_same_size_and_mtime_get_different_etags() {
    let dir = site(&[("a.txt", b"same"), ("b.txt", b"same"), ("c.txt", b"diff")]);
    for n in ["a.txt", "b.txt", "c.txt"] {
        set_mtime(&dir.path().join(n), T0, 0);
    }
    let s = Server::start(dir.path(), &[]);
    let a = etag(&get(&s, "/a.txt", &[]));
    let b = etag(&get(&s, "/b.txt", &[]));
    let c = etag(&get(&s, "/c.txt", &[]));
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert_ne!(b, c);
}

#[test]
fn the_etag_changes_when_only_the_nanoseconds_of_the_mtime_change() {
    let dir = site(&[("a.txt", b"aaaa")]);
    let p = dir.path().join("a.txt");
    set_mtime(&p, T0, 100_000_000);
    let s = Server::start(dir.path(), &[]);
    let e1 = etag(&get(&s, "/a.txt", &[]));
    std::fs::write(&p, b"bbbb").unwrap();
    set_mtime(&p, T0, 200_000_000);
    settle();
    let r = get(&s, "/a.txt", &[("If-None-Match", &e1)]);
    assert_200(&r, b"bbbb");
    let e2 = etag(&r);
    assert_ne!(e1, e2, "same size, same second, new content: new ETag");
    assert_eq!(r.header("Last-Modified"), Some(T0_IMF));
}

#[test]
fn the_etag_changes_when_the_file_is_replaced_by_rename_with_identical_size_and_mtime() {
    let dir = site(&[("a.txt", b"old!")]);
    let p = dir.path().join("a.txt");
    set_mtime(&p, T0, 0);
    let s = Server::start(dir.path(), &[]);
    let e1 = etag(&get(&s, "/a.txt", &[]));
    let tmp = dir.path().join(".new");
    std::fs::write(&tmp, b"new!").unwrap();
    set_mtime(&tmp, T0, 0);
    std::fs::rename(&tmp, &p).unwrap();
    settle();
    let r = get(&s, "/a.txt", &[("If-None-Match", &e1)]);
    assert_200(&r, b"new!");
    assert_ne!(etag(&r), e1);
}

#[test]
fn the_etag_changes_when_the_file_grows() {
    let dir = site(&[("a.txt", b"0123")]);
    let p = dir.path().join("a.txt");
    set_mtime(&p, T0, 0);
    let s = Server::start(dir.path(), &[]);
    let e1 = etag(&get(&s, "/a.txt", &[]));
    std::fs::write(&p, b"0123456789").unwrap();
    set_mtime(&p, T0, 0);
    settle();
    let r = get(
        &s,
        "/a.txt",
        &[
            ("If-None-Match", &e1),
            ("If-Range", &e1),
            ("Range", "bytes=4-"),
        ],
    );
    assert_200(&r, b"0123456789");
    assert_ne!(etag(&r), e1);
}

#[test]
fn index_html_served_for_a_folder_has_the_validators_of_index_html() {
    let dir = site(&[("index.html", b"<p>home</p>")]);
    set_mtime(&dir.path().join("index.html"), T0, 0);
    let s = Server::start(dir.path(), &[]);
    let f = get(&s, "/index.html", &[]);
    let e = etag(&f);
    let r = get(&s, "/", &[]);
    assert_200(&r, b"<p>home</p>");
    assert_eq!(r.header("ETag"), Some(e.as_str()));
    assert_eq!(r.header("Last-Modified"), Some(T0_IMF));
    let n = get(&s, "/", &[("If-None-Match", &e)]);
    assert_304(&n, &e, T0_IMF);
}

#[test]
fn a_listing_validator_is_never_reused_after_an_entry_is_added() {
    let dir = site(&[("sub/a.txt", b"a")]);
    let sub = dir.path().join("sub");
    set_mtime(&sub, T0, 0);
    let s = Server::start(dir.path(), &[]);
    let l1 = get(&s, "/sub/", &[]);
    assert_eq!(l1.status(), 200);
    let e1 = l1.header("ETag").map(str::to_owned);
    let lm1 = l1.header("Last-Modified").map(str::to_owned);
    if let Some(e) = &e1 {
        assert!(!e.starts_with("W/") || e.len() > 4);
    }
    std::fs::write(sub.join("brand-new-entry.txt"), b"b").unwrap();
    set_mtime(&sub, T0 + 100, 0);
    settle();
    let mut h: Vec<(&str, &str)> = Vec::new();
    if let Some(e) = &e1 {
        h.push(("If-None-Match", e));
    }
    let l2 = get(&s, "/sub/", &h);
    assert_eq!(
        l2.status(),
        200,
        "stale listing ETag matched: {:?}",
        l2.headers
    );
    assert!(String::from_utf8_lossy(&l2.body).contains("brand-new-entry.txt"));
    if let Some(lm) = &lm1 {
        let l3 = get(&s, "/sub/", &[("If-Modified-Since", lm)]);
        assert_eq!(l3.status(), 200, "stale listing Last-Modified honoured");
    }
}

#[test]
fn a_listing_validator_is_never_reused_after_a_listed_file_changes_size() {
    // The listing shows sizes; a growing child does not touch the folder's
    // mtime. A validator that still matches serves a stale listing
    // ("never a wrong one").
    let dir = site(&[("sub/a.txt", b"a")]);
    let sub = dir.path().join("sub");
    set_mtime(&sub, T0, 0);
    let s = Server::start(dir.path(), &[]);
    let l1 = get(&s, "/sub/", &[]);
    assert_eq!(l1.status(), 200);
    let Some(e1) = l1.header("ETag").map(str::to_owned) else {
        return; // no validator: fine
    };
    std::fs::write(sub.join("a.txt"), lcg(123_456, 7)).unwrap();
    set_mtime(&sub, T0, 0);
    settle();
    let l2 = get(&s, "/sub/", &[("If-None-Match", &e1)]);
    if l2.status() == 304 {
        panic!("listing body changed (a.txt grew) but its ETag {e1} still matched");
    }
    assert_eq!(l2.status(), 200);
}

// ===========================================================================
// If-Match and If-Unmodified-Since (§13.1.1, §13.1.4, steps 1-2 of §13.2.2)
// ===========================================================================

#[test]
fn if_match_with_the_current_etag_or_a_list_containing_it_serves_200() {
    let (dir, data) = bin_site(50);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    assert_200(&get(&s, "/f.bin", &[("If-Match", &e)]), &data);
    let list = format!("\"nope\", {e} ,\"other\"");
    assert_200(&get(&s, "/f.bin", &[("If-Match", &list)]), &data);
    assert_200(&get(&s, "/f.bin", &[("If-Match", "*")]), &data);
}

#[test]
fn if_match_with_another_etag_is_412_on_get_and_head() {
    let (dir, _) = bin_site(50);
    let s = Server::start(dir.path(), &[]);
    assert_412(&get(&s, "/f.bin", &[("If-Match", "\"not-the-tag\"")]));
    assert_412(&req(
        &s,
        "HEAD",
        "/f.bin",
        &[("If-Match", "\"not-the-tag\"")],
    ));
}

#[test]
fn if_match_never_matches_a_weak_tag_even_with_the_same_opaque_value() {
    let (dir, _) = bin_site(50);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let weak = format!("W/{e}");
    assert_412(&get(&s, "/f.bin", &[("If-Match", &weak)]));
}

#[test]
fn preconditions_are_not_evaluated_for_a_missing_file() {
    let dir = site(&[("x.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    for h in [
        ("If-Match", "*"),
        ("If-Match", "\"abc\""),
        ("If-Unmodified-Since", T0_IMF),
        ("If-None-Match", "*"),
        ("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"),
    ] {
        let r = get(&s, "/missing.txt", &[h]);
        assert_eq!(r.status(), 404, "{h:?}: {}", r.status_line);
        let r = get(&s, "/missing.txt", &[h, ("Range", "bytes=0-0")]);
        assert_eq!(r.status(), 404, "{h:?} + Range: {}", r.status_line);
    }
}

#[test]
fn if_unmodified_since_earlier_than_the_mtime_is_412() {
    let (dir, data) = bin_site(50);
    let s = Server::start(dir.path(), &[]);
    assert_412(&get(&s, "/f.bin", &[("If-Unmodified-Since", &imf(T0 - 1))]));
    assert_200(
        &get(&s, "/f.bin", &[("If-Unmodified-Since", T0_IMF)]),
        &data,
    );
    assert_200(
        &get(&s, "/f.bin", &[("If-Unmodified-Since", &imf(T0 + 1))]),
        &data,
    );
}

#[test]
fn if_unmodified_since_equal_to_last_modified_passes_even_with_subsecond_mtime() {
    let (dir, data) = bin_site(50);
    set_mtime(&dir.path().join("f.bin"), T0, 750_000_000);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/f.bin", &[("If-Unmodified-Since", T0_IMF)]);
    assert_200(&r, &data);
}

#[test]
fn if_unmodified_since_is_ignored_when_if_match_is_present() {
    let (dir, data) = bin_site(50);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let old = imf(T0 - 1000);
    assert_200(
        &get(
            &s,
            "/f.bin",
            &[("If-Match", &e), ("If-Unmodified-Since", &old)],
        ),
        &data,
    );
    assert_200(
        &get(
            &s,
            "/f.bin",
            &[("If-Match", "*"), ("If-Unmodified-Since", &old)],
        ),
        &data,
    );
}

#[test]
fn an_invalid_if_unmodified_since_is_ignored() {
    let (dir, data) = bin_site(50);
    let s = Server::start(dir.path(), &[]);
    for v in [
        "yesterday",
        "Sun, 32 Sep 2001 01:46:40 GMT",
        "1000000000",
        "",
    ] {
        assert_200(&get(&s, "/f.bin", &[("If-Unmodified-Since", v)]), &data);
    }
}

#[test]
fn a_failing_if_match_wins_over_a_matching_if_none_match() {
    let (dir, _) = bin_site(50);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    assert_412(&get(
        &s,
        "/f.bin",
        &[("If-None-Match", &e), ("If-Match", "\"other\"")],
    ));
    assert_412(&get(
        &s,
        "/f.bin",
        &[
            ("If-Modified-Since", T0_IMF),
            ("If-Unmodified-Since", &imf(T0 - 5)),
        ],
    ));
}

#[test]
fn a_passing_if_match_then_a_matching_if_none_match_gives_304() {
    let (dir, data) = bin_site(50);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let r = get(&s, "/f.bin", &[("If-Match", &e), ("If-None-Match", &e)]);
    assert_304(&r, &e, T0_IMF);
    assert_304_len(&r, data.len());
}

#[test]
fn a_failing_precondition_beats_a_range_and_an_unsatisfiable_range() {
    let (dir, _) = bin_site(50);
    let s = Server::start(dir.path(), &[]);
    assert_412(&get(
        &s,
        "/f.bin",
        &[("If-Match", "\"x\""), ("Range", "bytes=0-9")],
    ));
    assert_412(&get(
        &s,
        "/f.bin",
        &[("If-Match", "\"x\""), ("Range", "bytes=500-")],
    ));
}

// ===========================================================================
// If-None-Match and If-Modified-Since (§13.1.2, §13.1.3, §15.4.5)
// ===========================================================================

#[test]
fn if_none_match_with_the_current_etag_gives_a_bodiless_304_with_validators() {
    let (dir, data) = bin_site(777);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let r = get(&s, "/f.bin", &[("If-None-Match", &e)]);
    assert_304(&r, &e, T0_IMF);
    assert_304_len(&r, data.len());
    assert!(r.header("Date").is_some());
    assert!(
        r.header("Cache-Control").is_none(),
        "no Cache-Control by default"
    );
}

#[test]
fn if_none_match_uses_weak_comparison_lists_and_star() {
    let (dir, data) = bin_site(60);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let weak = format!("W/{e}");
    let list = format!("\"a\",W/\"b\" ,  {e}");
    for v in [weak.as_str(), list.as_str(), "*", e.as_str()] {
        let r = get(&s, "/f.bin", &[("If-None-Match", v)]);
        assert_304(&r, &e, T0_IMF);
    }
    for v in ["\"a\", \"b\"", "W/\"a\"", "\"\""] {
        assert_200(&get(&s, "/f.bin", &[("If-None-Match", v)]), &data);
    }
    // The opaque value without quotes is not the entity-tag.
    let bare = e.trim_matches('"').to_owned();
    let r = get(&s, "/f.bin", &[("If-None-Match", &bare)]);
    assert_200(&r, &data);
}

#[test]
fn if_none_match_on_head_gives_304() {
    let (dir, _) = bin_site(60);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let r = req(&s, "HEAD", "/f.bin", &[("If-None-Match", &e)]);
    assert_304(&r, &e, T0_IMF);
    let r = req(&s, "HEAD", "/f.bin", &[("If-Modified-Since", T0_IMF)]);
    assert_304(&r, &e, T0_IMF);
}

#[test]
fn if_modified_since_at_or_after_the_mtime_gives_304_and_before_gives_200() {
    let (dir, data) = bin_site(60);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    for d in [
        T0_IMF.to_owned(),
        imf(T0 + 1),
        imf(now_secs() + 86_400 * 365),
    ] {
        let r = get(&s, "/f.bin", &[("If-Modified-Since", &d)]);
        assert_304(&r, &e, T0_IMF);
    }
    assert_200(
        &get(&s, "/f.bin", &[("If-Modified-Since", &imf(T0 - 1))]),
        &data,
    );
    assert_200(
        &get(
            &s,
            "/f.bin",
            &[("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")],
        ),
        &data,
    );
}

#[test]
fn if_modified_since_compares_whole_seconds_with_a_subsecond_mtime() {
    let (dir, data) = bin_site(60);
    set_mtime(&dir.path().join("f.bin"), T0, 900_000_000);
    let s = Server::start(dir.path(), &[]);
    let g = get(&s, "/f.bin", &[]);
    let e = etag(&g);
    assert_eq!(g.header("Last-Modified"), Some(T0_IMF));
    let r = get(&s, "/f.bin", &[("If-Modified-Since", T0_IMF)]);
    assert_304(&r, &e, T0_IMF);
    assert_200(
        &get(&s, "/f.bin", &[("If-Modified-Since", &imf(T0 - 1))]),
        &data,
    );
}

#[test]
fn if_modified_since_accepts_rfc850_and_asctime_dates() {
    let (dir, data) = bin_site(60);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    for d in [T0_RFC850, T0_ASCTIME] {
        let r = get(&s, "/f.bin", &[("If-Modified-Since", d)]);
        assert_304(&r, &e, T0_IMF);
    }
    for d in [
        "Saturday, 08-Sep-01 01:46:40 GMT",
        "Sat Sep  8 01:46:40 2001",
    ] {
        assert_200(&get(&s, "/f.bin", &[("If-Modified-Since", d)]), &data);
    }
}

#[test]
fn an_invalid_if_modified_since_is_ignored() {
    let (dir, data) = bin_site(60);
    let s = Server::start(dir.path(), &[]);
    for d in [
        "garbage",
        "Sun, 09 Sep 2001 25:46:40 GMT",
        "Sun, 09 Foo 2001 01:46:40 GMT",
        "2001-09-09T01:46:40Z",
        "",
    ] {
        assert_200(&get(&s, "/f.bin", &[("If-Modified-Since", d)]), &data);
    }
}

#[test]
fn if_modified_since_is_ignored_when_if_none_match_is_present() {
    let (dir, data) = bin_site(60);
    let s = Server::start(dir.path(), &[]);
    let future = imf(now_secs() + 86_400);
    let r = get(
        &s,
        "/f.bin",
        &[
            ("If-None-Match", "\"stale\""),
            ("If-Modified-Since", &future),
        ],
    );
    assert_200(&r, &data);
}

#[test]
fn a_matching_if_none_match_beats_a_range() {
    let (dir, data) = bin_site(60);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let r = get(
        &s,
        "/f.bin",
        &[("If-None-Match", &e), ("Range", "bytes=0-9")],
    );
    assert_304(&r, &e, T0_IMF);
    let r = get(
        &s,
        "/f.bin",
        &[("If-Modified-Since", T0_IMF), ("Range", "bytes=999-")],
    );
    assert_304(&r, &e, T0_IMF);
    // A non-matching If-None-Match lets the Range apply.
    let r = get(
        &s,
        "/f.bin",
        &[("If-None-Match", "\"x\""), ("Range", "bytes=0-9")],
    );
    assert_206(&r, &data, 0, 9);
}

#[test]
fn several_304s_on_one_keep_alive_connection_then_a_200() {
    let (dir, data) = bin_site(300);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let mut c = s.connect();
    for _ in 0..5 {
        let r = on(&mut c, "GET", "/f.bin", &[("If-None-Match", &e)]);
        assert_304(&r, &e, T0_IMF);
        let r = on(&mut c, "HEAD", "/f.bin", &[("If-Modified-Since", T0_IMF)]);
        assert_304(&r, &e, T0_IMF);
    }
    let r = on(&mut c, "GET", "/f.bin", &[]);
    assert_200(&r, &data);
}

#[test]
fn pipelined_304s_412s_and_206s_stay_in_order_and_exactly_framed() {
    let (dir, data) = bin_site(300);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let mut raw = String::new();
    raw += &build("GET", "/f.bin", &[("If-None-Match", &e)], false);
    raw += &build("GET", "/f.bin", &[("If-Match", "\"zz\"")], false);
    raw += &build("GET", "/f.bin", &[("Range", "bytes=5-9")], false);
    raw += &build("GET", "/f.bin", &[("Range", "bytes=400-")], false);
    raw += &build("HEAD", "/f.bin", &[("Range", "bytes=0-1")], false);
    raw += &build("GET", "/f.bin", &[("If-Modified-Since", T0_IMF)], false);
    raw += &build("GET", "/f.bin", &[], true);
    let got = s.exchange(raw.as_bytes());
    let rs = parse_all(&got, &[false, false, false, false, true, false, false]);
    assert_eq!(
        rs.len(),
        7,
        "{:?}",
        rs.iter().map(|r| &r.status_line).collect::<Vec<_>>()
    );
    assert_304(&rs[0], &e, T0_IMF);
    assert_412(&rs[1]);
    assert_206(&rs[2], &data, 5, 9);
    assert_416(&rs[3], 300);
    assert_eq!(rs[4].status_line, "HTTP/1.1 200 OK");
    assert_eq!(rs[4].header("Content-Length"), Some("300"));
    assert_304(&rs[5], &e, T0_IMF);
    assert_200(&rs[6], &data);
}

// ===========================================================================
// Ranges (§14)
// ===========================================================================

#[test]
fn single_ranges_give_exact_206s() {
    let (dir, data) = bin_site(1000);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    for (spec, a, b) in [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, 999),
        ("bytes=-500", 500, 999),
        ("bytes=990-5000", 990, 999),
        ("bytes=0-0", 0, 0),
        ("bytes=999-999", 999, 999),
        ("bytes=-1", 999, 999),
        ("bytes=-1000", 0, 999),
        ("bytes=-5000", 0, 999),
        ("bytes=0-", 0, 999),
        ("bytes=0-999", 0, 999),
    ] {
        let r = get(&s, "/f.bin", &[("Range", spec)]);
        assert_206(&r, &data, a, b);
        assert_eq!(r.header("ETag"), Some(e.as_str()), "{spec}");
        assert_eq!(r.header("Last-Modified"), Some(T0_IMF), "{spec}");
        assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
    }
}

#[test]
fn the_range_unit_is_case_insensitive_and_whitespace_around_commas_is_allowed() {
    let (dir, data) = bin_site(20_000);
    let s = Server::start(dir.path(), &[]);
    assert_206(&get(&s, "/f.bin", &[("Range", "BYTES=0-9")]), &data, 0, 9);
    assert_206(
        &get(&s, "/f.bin", &[("Range", "Bytes=10-19")]),
        &data,
        10,
        19,
    );
    let r = get(&s, "/f.bin", &[("Range", "bytes=0-9 ,\t 15000-15009")]);
    let got = pieces(&r, &data, "application/octet-stream");
    assert_covers(&got, &[(0, 9), (15000, 15009)]);
}

#[test]
fn empty_list_elements_in_a_range_set_are_ignored() {
    // RFC 9110 §5.6.1.2: recipients MUST accept empty list elements.
    let (dir, data) = bin_site(20_000);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/f.bin", &[("Range", "bytes=0-9,,15000-15009")]);
    let got = pieces(&r, &data, "application/octet-stream");
    assert_covers(&got, &[(0, 9), (15000, 15009)]);
    let r = get(&s, "/f.bin", &[("Range", "bytes=, 3-7")]);
    assert_206(&r, &data, 3, 7);
}

#[test]
fn unsatisfiable_ranges_give_416_and_the_connection_stays_usable() {
    let (dir, data) = bin_site(100);
    let s = Server::start(dir.path(), &[]);
    let mut c = s.connect();
    for spec in [
        "bytes=100-",
        "bytes=100-200",
        "bytes=5000-6000",
        "bytes=-0",
        "bytes=100-,200-300",
    ] {
        let r = on(&mut c, "GET", "/f.bin", &[("Range", spec)]);
        assert_416(&r, 100);
        assert!(
            r.body.windows(10).all(|w| w != &data[0..10]),
            "a 416 must not carry the file"
        );
    }
    let r = on(&mut c, "GET", "/f.bin", &[("Range", "bytes=1-2")]);
    assert_206(&r, &data, 1, 2);
    let r = on(&mut c, "GET", "/f.bin", &[]);
    assert_200(&r, &data);
}

#[test]
fn a_range_on_an_empty_file_is_416() {
    let dir = site(&[("empty.bin", b"")]);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/empty.bin", &[]);
    assert_200(&r, b"");
    for spec in ["bytes=0-0", "bytes=0-", "bytes=-1"] {
        let r = get(&s, "/empty.bin", &[("Range", spec)]);
        assert_416(&r, 0);
    }
}

#[test]
fn one_satisfiable_range_among_unsatisfiable_ones_is_served() {
    let (dir, data) = bin_site(100);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/f.bin", &[("Range", "bytes=500-600,10-19,1000-")]);
    let got = pieces(&r, &data, "application/octet-stream");
    assert_covers(&got, &[(10, 19)]);
    assert!(got.iter().all(|&(_, l)| l < 100));
}

#[test]
fn invalid_range_syntax_or_an_unknown_unit_is_ignored() {
    let (dir, data) = bin_site(100);
    let s = Server::start(dir.path(), &[]);
    for spec in [
        "bytes=abc",
        "bytes=5-2",
        "bytes=",
        "bytes=-",
        "bytes 0-9",
        "bytes=0-9;",
        "bytes=1-2-3",
        "bytes=-5-10",
        "bytes=+1-5",
        "bytes=0x1-5",
        "bytes=1 - 5",
        "items=0-9",
        "none",
        "=0-9",
        "bytes==0-9",
    ] {
        let r = get(&s, "/f.bin", &[("Range", spec)]);
        assert_eq!(r.status_line, "HTTP/1.1 200 OK", "Range: {spec}");
        assert_200(&r, &data);
    }
}

#[test]
fn huge_numbers_in_a_range_neither_crash_nor_mislead() {
    let (dir, data) = bin_site(100);
    let s = Server::start(dir.path(), &[]);
    for spec in [
        "bytes=0-18446744073709551616",
        "bytes=0-99999999999999999999999999999",
        "bytes=50-18446744073709551615",
    ] {
        let r = get(&s, "/f.bin", &[("Range", spec)]);
        match r.status() {
            200 => assert_200(&r, &data),
            206 => {
                let (a, _, _) = parse_content_range(r.header("Content-Range").unwrap());
                assert_206(&r, &data, a, 99);
            }
            _ => panic!("Range {spec}: {}", r.status_line),
        }
    }
    for spec in [
        "bytes=18446744073709551616-",
        "bytes=99999999999999999999999-1",
    ] {
        let r = get(&s, "/f.bin", &[("Range", spec)]);
        match r.status() {
            200 => assert_200(&r, &data),
            416 => assert_416(&r, 100),
            _ => panic!("Range {spec}: {}", r.status_line),
        }
    }
    for spec in [
        "bytes=-18446744073709551616",
        "bytes=-99999999999999999999999",
    ] {
        let r = get(&s, "/f.bin", &[("Range", spec)]);
        match r.status() {
            200 => assert_200(&r, &data),
            206 => assert_206(&r, &data, 0, 99),
            _ => panic!("Range {spec}: {}", r.status_line),
        }
    }
    assert_200(&get(&s, "/f.bin", &[]), &data);
}

#[test]
fn a_range_on_head_is_ignored() {
    let (dir, data) = bin_site(100);
    let s = Server::start(dir.path(), &[]);
    let mut c = s.connect();
    let r = on(&mut c, "HEAD", "/f.bin", &[("Range", "bytes=0-9")]);
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("Content-Length"), Some("100"));
    assert_eq!(r.header("Content-Range"), None);
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    let r = on(&mut c, "HEAD", "/f.bin", &[("Range", "bytes=500-")]);
    assert_eq!(
        r.status_line, "HTTP/1.1 200 OK",
        "HEAD ignores even an unsatisfiable Range"
    );
    let r = on(&mut c, "GET", "/f.bin", &[]);
    assert_200(&r, &data);
}

#[test]
fn a_range_on_other_methods_never_yields_206_or_416() {
    let (dir, _) = bin_site(100);
    let s = Server::start(dir.path(), &[]);
    for m in ["OPTIONS", "POST", "DELETE"] {
        for spec in ["bytes=0-9", "bytes=500-"] {
            let raw = format!(
                "{m} /f.bin HTTP/1.1\r\nHost: t\r\nRange: {spec}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let got = s.exchange(raw.as_bytes());
            let r = parse_all(&got, &[]).remove(0);
            assert!(
                r.status() != 206 && r.status() != 416,
                "{m} with Range {spec}: {}",
                r.status_line
            );
        }
    }
}

#[test]
fn two_far_apart_ranges_give_a_multipart_byteranges_with_separate_exact_parts() {
    let (dir, data) = bin_site(50_000);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let mut c = s.connect();
    let r = on(
        &mut c,
        "GET",
        "/f.bin",
        &[("Range", "bytes=0-99,40000-40099")],
    );
    assert_eq!(r.status_line, "HTTP/1.1 206 Partial Content");
    assert_eq!(r.header("Content-Range"), None);
    assert_eq!(r.header("ETag"), Some(e.as_str()));
    assert_eq!(r.header("Last-Modified"), Some(T0_IMF));
    let b = boundary_of(r.header("Content-Type").expect("Content-Type"));
    let parts = parse_multipart(&r.body, &b);
    assert_eq!(parts.len(), 2, "far-apart ranges are separate parts");
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for p in &parts {
        assert_eq!(p.content_type.as_deref(), Some("application/octet-stream"));
        assert_eq!(p.total, 50_000);
        assert!(p.data == data[p.first..=p.last]);
        spans.push((p.first, p.last));
    }
    spans.sort();
    assert_eq!(spans, vec![(0, 99), (40000, 40099)]);
    // Exact Content-Length: the next response on the connection parses.
    let r = on(&mut c, "GET", "/f.bin", &[("Range", "bytes=-3")]);
    assert_206(&r, &data, 49_997, 49_999);
}

#[test]
fn three_ranges_including_suffix_and_open_ended_are_each_exact() {
    let (dir, data) = bin_site(100_000);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/f.bin", &[("Range", "bytes=10-20,50000-50010,-7")]);
    let got = pieces(&r, &data, "application/octet-stream");
    assert_covers(&got, &[(10, 20), (50000, 50010), (99_993, 99_999)]);
    assert!(r.body.len() < 10_000, "no gap filling across 50 KB");
    let r = get(&s, "/f.bin", &[("Range", "bytes=99990-,0-4")]);
    let got = pieces(&r, &data, "application/octet-stream");
    assert_covers(&got, &[(99_990, 99_999), (0, 4)]);
}

#[test]
fn the_multipart_boundary_is_random_and_absent_from_the_data() {
    let (dir, data) = bin_site(50_000);
    let s = Server::start(dir.path(), &[]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let r = get(&s, "/f.bin", &[("Range", "bytes=0-9,30000-30009")]);
        let b = boundary_of(r.header("Content-Type").unwrap());
        assert!(
            !data.windows(b.len()).any(|w| w == b.as_bytes()),
            "boundary occurs in data"
        );
        seen.push(b);
    }
    assert!(
        seen[0] != seen[1] || seen[1] != seen[2],
        "boundary is constant: {seen:?}"
    );
}

#[test]
fn overlapping_and_adjacent_ranges_return_correct_bytes_without_duplication_blowup() {
    let (dir, data) = bin_site(10_000);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/f.bin", &[("Range", "bytes=0-50,25-75,76-100")]);
    let got = pieces(&r, &data, "application/octet-stream");
    assert_covers(&got, &[(0, 100)]);
    let r = get(&s, "/f.bin", &[("Range", "bytes=500-599,0-99")]);
    let got = pieces(&r, &data, "application/octet-stream");
    assert_covers(&got, &[(500, 599), (0, 99)]);
}

#[test]
fn many_whole_file_ranges_are_coalesced_or_refused_not_amplified() {
    let (dir, data) = bin_site(10_000);
    let s = Server::start(dir.path(), &[]);
    let spec = format!("bytes={}", vec!["0-"; 50].join(","));
    let r = get(&s, "/f.bin", &[("Range", &spec)]);
    assert!(
        r.body.len() < 2 * data.len(),
        "{} bytes sent for a {}-byte file",
        r.body.len(),
        data.len()
    );
    match r.status() {
        200 => assert_200(&r, &data),
        206 => assert_covers(&pieces(&r, &data, "application/octet-stream"), &[(0, 9999)]),
        _ => panic!("{}", r.status_line),
    }
    let spec = format!("bytes={}", vec!["-10000"; 60].join(","));
    let r = get(&s, "/f.bin", &[("Range", &spec)]);
    assert!(r.body.len() < 2 * data.len());
}

#[test]
fn more_than_100_ranges_get_the_whole_file_as_200() {
    let (dir, data) = bin_site(100_000);
    let s = Server::start(dir.path(), &[]);
    let spec = format!(
        "bytes={}",
        (0..101)
            .map(|i| format!("{}-{}", i * 900, i * 900 + 1))
            .collect::<Vec<_>>()
            .join(",")
    );
    let r = get(&s, "/f.bin", &[("Range", &spec)]);
    assert_200(&r, &data);
}

#[test]
fn a_hundred_small_far_apart_ranges_are_answered_correctly_either_way() {
    let (dir, data) = bin_site(100_000);
    let s = Server::start(dir.path(), &[]);
    let wanted: Vec<(usize, usize)> = (0..100).map(|i| (i * 990, i * 990 + 3)).collect();
    let spec = format!(
        "bytes={}",
        wanted
            .iter()
            .map(|(a, b)| format!("{a}-{b}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let r = get(&s, "/f.bin", &[("Range", &spec)]);
    match r.status() {
        200 => assert_200(&r, &data),
        206 => assert_covers(&pieces(&r, &data, "application/octet-stream"), &wanted),
        _ => panic!("{}", r.status_line),
    }
}

#[test]
fn a_2mb_range_of_a_5mb_file_is_exact() {
    let (dir, data) = bin_site(5 * 1024 * 1024);
    let s = Server::start(dir.path(), &[]);
    let first = 1_234_567;
    let last = first + 2 * 1024 * 1024 - 1;
    let mut c = s.connect();
    let r = on(
        &mut c,
        "GET",
        "/f.bin",
        &[("Range", &format!("bytes={first}-{last}"))],
    );
    assert_206(&r, &data, first, last);
    // and a multipart of two 1 MB pieces
    let r = on(
        &mut c,
        "GET",
        "/f.bin",
        &[("Range", "bytes=0-1048575,4194304-5242879")],
    );
    let got = pieces(&r, &data, "application/octet-stream");
    assert_covers(&got, &[(0, 1_048_575), (4_194_304, 5_242_879)]);
    let r = on(&mut c, "GET", "/f.bin", &[("Range", "bytes=-1")]);
    assert_206(&r, &data, data.len() - 1, data.len() - 1);
}

// ===========================================================================
// If-Range (§13.1.5)
// ===========================================================================

#[test]
fn if_range_with_the_current_etag_or_exact_date_gives_206() {
    let (dir, data) = bin_site(500);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    assert_206(
        &get(
            &s,
            "/f.bin",
            &[("If-Range", &e), ("Range", "bytes=100-199")],
        ),
        &data,
        100,
        199,
    );
    assert_206(
        &get(
            &s,
            "/f.bin",
            &[("Range", "bytes=100-199"), ("If-Range", T0_IMF)],
        ),
        &data,
        100,
        199,
    );
}

#[test]
fn if_range_with_anything_else_gives_the_full_200() {
    let (dir, data) = bin_site(500);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let weak = format!("W/{e}");
    let before = imf(T0 - 1);
    let after = imf(T0 + 1);
    for v in [
        "\"other\"",
        weak.as_str(),
        before.as_str(),
        after.as_str(),
        "garbage",
    ] {
        let r = get(&s, "/f.bin", &[("Range", "bytes=0-9"), ("If-Range", v)]);
        assert_eq!(r.status_line, "HTTP/1.1 200 OK", "If-Range: {v}");
        assert_200(&r, &data);
        assert_eq!(r.header("ETag"), Some(e.as_str()));
    }
}

#[test]
fn if_range_with_a_list_of_tags_is_not_a_match() {
    // If-Range takes one entity-tag or one date, not a list.
    let (dir, data) = bin_site(500);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let list = format!("\"x\", {e}");
    let r = get(&s, "/f.bin", &[("Range", "bytes=0-9"), ("If-Range", &list)]);
    assert_200(&r, &data);
}

#[test]
fn a_failing_if_range_overrides_even_an_unsatisfiable_range() {
    let (dir, data) = bin_site(500);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let r = get(
        &s,
        "/f.bin",
        &[("Range", "bytes=9000-"), ("If-Range", "\"old\"")],
    );
    assert_200(&r, &data);
    let r = get(&s, "/f.bin", &[("Range", "bytes=9000-"), ("If-Range", &e)]);
    assert_416(&r, 500);
}

#[test]
fn if_range_without_range_is_ignored() {
    let (dir, data) = bin_site(500);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    assert_200(&get(&s, "/f.bin", &[("If-Range", &e)]), &data);
    assert_200(&get(&s, "/f.bin", &[("If-Range", "\"other\"")]), &data);
}

#[test]
fn if_range_with_the_last_modified_of_a_subsecond_mtime_gives_206() {
    let (dir, data) = bin_site(500);
    set_mtime(&dir.path().join("f.bin"), T0, 400_000_000);
    let s = Server::start(dir.path(), &[]);
    let lm = get(&s, "/f.bin", &[])
        .header("Last-Modified")
        .unwrap()
        .to_owned();
    assert_eq!(lm, T0_IMF);
    let r = get(&s, "/f.bin", &[("Range", "bytes=1-3"), ("If-Range", &lm)]);
    assert_206(&r, &data, 1, 3);
}

#[test]
fn if_range_after_the_file_changed_sends_the_new_whole_file() {
    let (dir, _) = bin_site(500);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let new = lcg(600, 99);
    std::fs::write(dir.path().join("f.bin"), &new).unwrap();
    set_mtime(&dir.path().join("f.bin"), T0 + 50, 0);
    settle();
    let r = get(&s, "/f.bin", &[("Range", "bytes=500-"), ("If-Range", &e)]);
    assert_200(&r, &new);
    let r = get(
        &s,
        "/f.bin",
        &[("Range", "bytes=500-"), ("If-Range", T0_IMF)],
    );
    assert_200(&r, &new);
}

// ===========================================================================
// Precompressed sidecars and Accept-Encoding (§12.5.3, §8.4)
// ===========================================================================

fn assert_encoded(r: &Response, coding: &str, body: &[u8]) {
    assert_200(r, body);
    assert_eq!(
        r.header("Content-Encoding"),
        Some(coding),
        "{:?}",
        r.headers
    );
    assert_eq!(r.header("Content-Type"), Some(JS_CT));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
}

fn assert_plain(r: &Response) {
    assert_200(r, JS);
    assert_eq!(r.header("Content-Encoding"), None, "{:?}", r.headers);
    assert_eq!(r.header("Content-Type"), Some(JS_CT));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
}

#[test]
fn brotli_is_preferred_over_gzip_when_both_are_equally_acceptable() {
    let dir = sidecar_site(true, true);
    let s = Server::start(dir.path(), &[]);
    for ae in [
        "gzip, br",
        "br, gzip",
        "gzip;q=0.5, br;q=0.5",
        "*",
        "gzip, deflate, br, zstd",
    ] {
        let r = get(&s, "/app.js", &[("Accept-Encoding", ae)]);
        assert_encoded(&r, "br", BR);
    }
}

#[test]
fn q_values_choose_between_the_sidecars() {
    let dir = sidecar_site(true, true);
    let s = Server::start(dir.path(), &[]);
    for ae in [
        "gzip",
        "br;q=0.5, gzip",
        "gzip;q=1.000, br;q=0.999",
        "br;q=0, gzip;q=0.1",
        "br;q=0, *",
        "*;q=0, gzip",
        "GZIP",
        "gzip ; q=0.9, br ; q=0.2",
        "identity;q=0, gzip",
    ] {
        let r = get(&s, "/app.js", &[("Accept-Encoding", ae)]);
        assert_encoded(&r, "gzip", GZ);
    }
    for ae in ["br", "BR;Q=1", "gzip;q=0.8, br;q=0.9", "*;q=0.1, br;q=0.2"] {
        let r = get(&s, "/app.js", &[("Accept-Encoding", ae)]);
        assert_encoded(&r, "br", BR);
    }
}

#[test]
fn the_plain_file_is_served_when_no_sidecar_coding_is_acceptable() {
    let dir = sidecar_site(true, true);
    let s = Server::start(dir.path(), &[]);
    assert_plain(&get(&s, "/app.js", &[]));
    for ae in [
        "",
        "identity",
        "deflate",
        "gzip;q=0, br;q=0",
        "gzip;q=0.000, br;q=0.0",
        "*;q=0, identity",
        "zstd",
    ] {
        let r = get(&s, "/app.js", &[("Accept-Encoding", ae)]);
        assert_plain(&r);
    }
}

#[test]
fn gzip_with_q_zero_excludes_the_only_sidecar() {
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &[]);
    assert_plain(&get(&s, "/app.js", &[("Accept-Encoding", "gzip;q=0")]));
    assert_plain(&get(&s, "/app.js", &[("Accept-Encoding", "br")]));
    assert_plain(&get(&s, "/app.js", &[("Accept-Encoding", "*;q=0, br")]));
    assert_encoded(
        &get(&s, "/app.js", &[("Accept-Encoding", "br, gzip;q=0.1")]),
        "gzip",
        GZ,
    );
    assert_encoded(&get(&s, "/app.js", &[("Accept-Encoding", "*")]), "gzip", GZ);
}

#[test]
fn each_representation_has_its_own_stable_etag() {
    let dir = sidecar_site(true, true);
    let s = Server::start(dir.path(), &[]);
    let plain = etag(&get(&s, "/app.js", &[]));
    let gz = etag(&get(&s, "/app.js", &[("Accept-Encoding", "gzip")]));
    let br = etag(&get(&s, "/app.js", &[("Accept-Encoding", "br")]));
    assert_ne!(plain, gz);
    assert_ne!(plain, br);
    assert_ne!(gz, br);
    assert_eq!(
        etag(&get(&s, "/app.js", &[("Accept-Encoding", "gzip")])),
        gz
    );
    // The sidecar URL itself is another resource; whatever its tag, the
    // negotiated gzip representation of /app.js must not share the plain one.
    let h = req(&s, "HEAD", "/app.js", &[("Accept-Encoding", "br")]);
    assert_eq!(h.header("ETag"), Some(br.as_str()));
    assert_eq!(h.header("Content-Encoding"), Some("br"));
    assert_eq!(
        h.header("Content-Length"),
        Some(BR.len().to_string().as_str())
    );
    assert_eq!(h.header("Vary"), Some("Accept-Encoding"));
}

#[test]
fn conditional_requests_use_the_etag_of_the_negotiated_representation() {
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &[]);
    let plain = etag(&get(&s, "/app.js", &[]));
    let gz = etag(&get(&s, "/app.js", &[("Accept-Encoding", "gzip")]));
    // The gzip tag revalidates the gzip representation, with Vary.
    let r = get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", &gz)],
    );
    assert_304(&r, &gz, T0_IMF);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    // ... but not the plain one.
    let r = get(&s, "/app.js", &[("If-None-Match", &gz)]);
    assert_plain(&r);
    assert_eq!(r.header("ETag"), Some(plain.as_str()));
    // The plain tag does not revalidate the gzip representation.
    let r = get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", &plain)],
    );
    assert_encoded(&r, "gzip", GZ);
    // A plain 304 still carries Vary.
    let r = get(&s, "/app.js", &[("If-None-Match", &plain)]);
    assert_304(&r, &plain, T0_IMF);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    // If-Match is strong against the selected representation.
    let r = get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-Match", &plain)],
    );
    assert_412(&r);
    let r = get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-Match", &gz)],
    );
    assert_encoded(&r, "gzip", GZ);
}

#[test]
fn ranges_apply_to_the_encoded_bytes() {
    let dir = sidecar_site(true, true);
    let s = Server::start(dir.path(), &[]);
    let gz_tag = etag(&get(&s, "/app.js", &[("Accept-Encoding", "gzip")]));
    let r = get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("Range", "bytes=2-5")],
    );
    assert_206(&r, GZ, 2, 5);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(r.header("Content-Type"), Some(JS_CT));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(r.header("ETag"), Some(gz_tag.as_str()));
    let r = get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "br"), ("Range", "bytes=-4")],
    );
    assert_206(&r, BR, BR.len() - 4, BR.len() - 1);
    assert_eq!(r.header("Content-Encoding"), Some("br"));
    // Plain 206 of a file with sidecars still varies.
    let r = get(&s, "/app.js", &[("Range", "bytes=0-6")]);
    assert_206(&r, JS, 0, 6);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    // Unsatisfiable against the encoded length (JS is longer than BR).
    let spec = format!("bytes={}-", BR.len());
    assert!(JS.len() > BR.len());
    let r = get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "br"), ("Range", &spec)],
    );
    assert_416(&r, BR.len());
}

#[test]
fn if_range_compares_with_the_negotiated_representation() {
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &[]);
    let plain = etag(&get(&s, "/app.js", &[]));
    let gz = etag(&get(&s, "/app.js", &[("Accept-Encoding", "gzip")]));
    let r = get(
        &s,
        "/app.js",
        &[
            ("Accept-Encoding", "gzip"),
            ("Range", "bytes=0-3"),
            ("If-Range", &plain),
        ],
    );
    assert_encoded(&r, "gzip", GZ);
    let r = get(
        &s,
        "/app.js",
        &[
            ("Accept-Encoding", "gzip"),
            ("Range", "bytes=0-3"),
            ("If-Range", &gz),
        ],
    );
    assert_206(&r, GZ, 0, 3);
}

#[test]
fn a_sidecar_without_its_original_is_not_served_for_the_original_name() {
    let dir = site(&[("only.js.gz", GZ), ("only.js.br", BR)]);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/only.js", &[("Accept-Encoding", "gzip, br")]);
    assert_eq!(r.status(), 404, "{:?}", r.headers);
}

#[test]
fn requesting_the_sidecar_url_directly_serves_it_without_content_encoding() {
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/app.js.gz", &[("Accept-Encoding", "gzip")]);
    assert_200(&r, GZ);
    assert_eq!(
        r.header("Content-Encoding"),
        None,
        "the .gz file is the representation itself"
    );
    assert_ne!(r.header("Content-Type"), Some(JS_CT));
}

#[test]
fn a_sidecar_symlink_leading_outside_the_root_is_never_served() {
    let outer = tempfile::tempdir().unwrap();
    let secret = outer.path().join("secret.gz");
    std::fs::write(&secret, b"TOP-SECRET-OUTSIDE-THE-ROOT").unwrap();
    let root = outer.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("app.js"), JS).unwrap();
    std::os::unix::fs::symlink(&secret, root.join("app.js.gz")).unwrap();
    let s = Server::start(&root, &[]);
    let r = get(&s, "/app.js", &[("Accept-Encoding", "gzip")]);
    assert!(
        !r.body.windows(10).any(|w| w == b"TOP-SECRET"),
        "served a file from outside the root"
    );
    assert_eq!(r.status(), 200);
    assert_200(&r, JS);
    assert_eq!(r.header("Content-Encoding"), None);
}

#[test]
fn a_sidecar_that_is_a_directory_is_ignored() {
    let dir = site(&[("app.js", JS), ("app.js.gz/inner.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/app.js", &[("Accept-Encoding", "gzip")]);
    assert_200(&r, JS);
    assert_eq!(r.header("Content-Encoding"), None);
}

#[test]
fn a_sidecar_for_a_hidden_file_does_not_reveal_it() {
    let dir = site(&[(".secret.js", JS), (".secret.js.gz", GZ)]);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/.secret.js", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.status(), 404);
}

// ===========================================================================
// Cache-Control
// ===========================================================================

#[test]
fn there_is_no_cache_control_by_default() {
    let (dir, _) = bin_site(50);
    let s = Server::start(dir.path(), &[]);
    let g = get(&s, "/f.bin", &[]);
    assert_eq!(g.header("Cache-Control"), None);
    let e = etag(&g);
    assert_eq!(
        get(&s, "/f.bin", &[("Range", "bytes=0-1")]).header("Cache-Control"),
        None
    );
    assert_eq!(
        get(&s, "/f.bin", &[("If-None-Match", &e)]).header("Cache-Control"),
        None
    );
}

#[test]
fn cache_control_flag_is_sent_on_200_head_206_and_304() {
    let (dir, data) = bin_site(50);
    let cc = "public, max-age=31536000, immutable";
    let s = Server::start(dir.path(), &["--cache-control", cc]);
    let g = get(&s, "/f.bin", &[]);
    assert_200(&g, &data);
    assert_eq!(g.header("Cache-Control"), Some(cc));
    let e = etag(&g);
    assert_eq!(
        req(&s, "HEAD", "/f.bin", &[]).header("Cache-Control"),
        Some(cc)
    );
    let p = get(&s, "/f.bin", &[("Range", "bytes=0-1")]);
    assert_206(&p, &data, 0, 1);
    assert_eq!(p.header("Cache-Control"), Some(cc));
    let n = get(&s, "/f.bin", &[("If-None-Match", &e)]);
    assert_304(&n, &e, T0_IMF);
    assert_eq!(n.header("Cache-Control"), Some(cc));
    let n = get(&s, "/f.bin", &[("If-Modified-Since", T0_IMF)]);
    assert_eq!(n.status(), 304);
    assert_eq!(n.header("Cache-Control"), Some(cc));
}

#[test]
fn no_cache_flag_sends_cache_control_no_cache() {
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &["--no-cache"]);
    let g = get(&s, "/app.js", &[]);
    assert_plain(&g);
    assert_eq!(g.header("Cache-Control"), Some("no-cache"));
    let e = etag(&g);
    let n = get(&s, "/app.js", &[("If-None-Match", &e)]);
    assert_304(&n, &e, T0_IMF);
    assert_eq!(n.header("Cache-Control"), Some("no-cache"));
    assert_eq!(n.header("Vary"), Some("Accept-Encoding"));
    let z = get(&s, "/app.js", &[("Accept-Encoding", "gzip")]);
    assert_encoded(&z, "gzip", GZ);
    assert_eq!(z.header("Cache-Control"), Some("no-cache"));
}

// ===========================================================================
// curl
// ===========================================================================

fn curl_code(args: &[&str]) -> (String, Vec<u8>) {
    let mut all: Vec<&str> = vec!["-w", "%{http_code}"];
    all.extend_from_slice(args);
    let (code, out, err) = curl(&all);
    assert_eq!(code, 0, "curl {args:?}: {err}");
    (String::from_utf8_lossy(&out).into_owned(), out)
}

#[test]
fn curl_range_downloads_exact_bytes() {
    let (dir, data) = bin_site(5 * 1024 * 1024);
    let s = Server::start(dir.path(), &[]);
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("part");
    let o = o.to_str().unwrap();
    let url = s.url("/f.bin");
    let (code, _) = curl_code(&["-r", "0-99", "-o", o, &url]);
    assert_eq!(code, "206");
    assert_eq!(std::fs::read(o).unwrap(), &data[..100]);
    let (code, _) = curl_code(&["-r", "1000000-3097151", "-o", o, &url]);
    assert_eq!(code, "206");
    assert!(std::fs::read(o).unwrap() == data[1_000_000..=3_097_151]);
}

#[test]
fn curl_time_conditions_give_304_or_the_file() {
    let (dir, data) = bin_site(400);
    let s = Server::start(dir.path(), &[]);
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("o");
    let o = o.to_str().unwrap();
    let url = s.url("/f.bin");
    // -z DATE: If-Modified-Since.
    let (code, _) = curl_code(&["-z", T0_IMF, "-o", o, &url]);
    assert_eq!(code, "304");
    let (code, _) = curl_code(&["-z", &imf(T0 - 3600), "-o", o, &url]);
    assert_eq!(code, "200");
    assert_eq!(std::fs::read(o).unwrap(), data);
    // -z FILE: uses the local file's mtime.
    let local = out.path().join("local");
    std::fs::write(&local, b"x").unwrap();
    set_mtime(&local, T0 + 10, 0);
    let (code, _) = curl_code(&["-z", local.to_str().unwrap(), "-o", o, &url]);
    assert_eq!(code, "304");
    set_mtime(&local, T0 - 10, 0);
    let (code, _) = curl_code(&["-z", local.to_str().unwrap(), "-o", o, &url]);
    assert_eq!(code, "200");
    // -z -DATE: If-Unmodified-Since.
    let minus = format!("-{}", imf(T0 - 3600));
    let (code, _) = curl_code(&["-z", &minus, "-o", o, &url]);
    assert_eq!(code, "412");
}

#[test]
fn curl_resume_completes_a_partial_download() {
    let (dir, data) = bin_site(300_000);
    let s = Server::start(dir.path(), &[]);
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("partial.bin");
    std::fs::write(&o, &data[..123_457]).unwrap();
    let (code, _) = curl_code(&["-C", "-", "-o", o.to_str().unwrap(), &s.url("/f.bin")]);
    assert_eq!(code, "206");
    assert!(std::fs::read(&o).unwrap() == data, "resumed file differs");
}

#[test]
fn curl_compressed_decodes_a_real_gzip_sidecar_to_the_original() {
    let original = {
        let mut v = Vec::new();
        for i in 0..2000 {
            v.extend_from_slice(
                format!("const line{i} = 'some repetitive javascript';\n").as_bytes(),
            );
        }
        v
    };
    let dir = site(&[("bundle.js", &original)]);
    let st = Command::new("gzip")
        .args(["-k", "-n", "-9"])
        .arg(dir.path().join("bundle.js"))
        .status()
        .expect("gzip runs");
    assert!(st.success());
    let gz = std::fs::read(dir.path().join("bundle.js.gz")).unwrap();
    assert!(gz.len() < original.len() / 4);
    let s = Server::start(dir.path(), &[]);
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("o.js");
    let h = out.path().join("h.txt");
    let url = s.url("/bundle.js");
    let (code, _) = curl_code(&[
        "--compressed",
        "-D",
        h.to_str().unwrap(),
        "-o",
        o.to_str().unwrap(),
        &url,
    ]);
    assert_eq!(code, "200");
    assert!(
        std::fs::read(&o).unwrap() == original,
        "decoded bytes differ"
    );
    let heads = std::fs::read_to_string(&h).unwrap().to_ascii_lowercase();
    assert!(heads.contains("\r\ncontent-encoding: gzip\r\n"), "{heads}");
    assert!(
        heads.contains(&format!("\r\ncontent-length: {}\r\n", gz.len())),
        "{heads}"
    );
    assert!(heads.contains("\r\nvary: accept-encoding\r\n"), "{heads}");
    // Raw (no decoding) the bytes are the sidecar's.
    let r = get(&s, "/bundle.js", &[("Accept-Encoding", "gzip")]);
    assert!(r.body == gz);
}

// ===========================================================================
// Consistency of validators and bytes while a file changes
// ===========================================================================

#[test]
fn a_large_file_rewritten_in_place_is_never_sent_under_its_old_etag() {
    // RFC 9110 §8.8.3 (a strong ETag changes with the bytes) and §13.1.5
    // (If-Range exists so a resume never splices two versions together).
    let n = 200_000; // above the 32 KiB in-memory limit
    let old = vec![b'a'; n];
    let new = vec![b'b'; n];
    let dir = site(&[("big.bin", &old)]);
    let p = dir.path().join("big.bin");
    set_mtime(&p, T0, 0);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let old_tag = etag(&get(&s, "/big.bin", &[]));
    // Rewrite the same inode: same size, new content, new mtime.
    std::fs::write(&p, &new).unwrap();
    set_mtime(&p, T0 + 60, 0);
    let r = get(
        &s,
        "/big.bin",
        &[("Range", "bytes=100000-100009"), ("If-Range", &old_tag)],
    );
    let tag = r.header("ETag").map(str::to_owned);
    if r.body.contains(&b'b') {
        assert_ne!(
            tag.as_deref(),
            Some(old_tag.as_str()),
            "new bytes {:?} sent as {} with the OLD ETag and Last-Modified {:?} \
             (If-Range with the old tag must give the whole new file)",
            String::from_utf8_lossy(&r.body[..r.body.len().min(10)]),
            r.status_line,
            r.header("Last-Modified")
        );
    }
    let r = get(&s, "/big.bin", &[]);
    if r.body.contains(&b'b') {
        assert_ne!(
            r.header("ETag"),
            Some(old_tag.as_str()),
            "new bytes, old ETag"
        );
        assert_ne!(
            r.header("Last-Modified"),
            Some(T0_IMF),
            "new bytes, old date"
        );
    }
}

#[test]
fn a_large_file_truncated_in_place_is_never_announced_with_its_old_length() {
    let n = 200_000;
    let dir = site(&[("big.bin", &vec![b'a'; n])]);
    let p = dir.path().join("big.bin");
    set_mtime(&p, T0, 0);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let _ = get(&s, "/big.bin", &[]);
    std::fs::write(&p, b"hello").unwrap();
    let mut c = s.connect();
    c.write_all(build("GET", "/big.bin", &[], true).as_bytes())
        .unwrap();
    let raw = drain(&mut c);
    let end = common::head_end(&raw).expect("a head");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let body = &raw[end..];
    let cl: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("Content-Length")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        cl,
        body.len(),
        "announced {cl} bytes but the connection closed after {}: {head}",
        body.len()
    );
}

#[test]
fn a_small_cached_file_is_consistent_and_fresh_within_a_second() {
    let dir = site(&[("s.txt", b"version-one")]);
    let p = dir.path().join("s.txt");
    set_mtime(&p, T0, 0);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let t1 = etag(&get(&s, "/s.txt", &[]));
    std::fs::write(&p, b"version-two").unwrap();
    set_mtime(&p, T0 + 5, 0);
    // Within the cache window: old bytes with old tag, or new with new.
    let r = get(&s, "/s.txt", &[]);
    if r.body == b"version-two" {
        assert_ne!(etag(&r), t1);
    } else {
        assert_eq!(r.body, b"version-one");
        assert_eq!(etag(&r), t1);
    }
    settle();
    let r = get(&s, "/s.txt", &[("If-None-Match", &t1)]);
    assert_200(&r, b"version-two");
    assert_eq!(r.header("Last-Modified"), Some(imf(T0 + 5).as_str()));
}

#[test]
fn a_sidecar_added_or_removed_later_is_noticed() {
    let dir = site(&[("late.js", JS)]);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let r = get(&s, "/late.js", &[("Accept-Encoding", "gzip")]);
    assert_200(&r, JS);
    assert_eq!(r.header("Content-Encoding"), None);
    std::fs::write(dir.path().join("late.js.gz"), GZ).unwrap();
    settle();
    let r = get(&s, "/late.js", &[("Accept-Encoding", "gzip")]);
    assert_200(&r, GZ);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    std::fs::remove_file(dir.path().join("late.js.gz")).unwrap();
    settle();
    let r = get(&s, "/late.js", &[("Accept-Encoding", "gzip")]);
    assert_200(&r, JS);
    assert_eq!(r.header("Content-Encoding"), None);
}

// ===========================================================================
// Field lines and lists (RFC 9110 §5.3, §5.6.1)
// ===========================================================================

#[test]
fn repeated_if_none_match_and_if_match_lines_form_one_list() {
    let (dir, data) = bin_site(64);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let r = get(
        &s,
        "/f.bin",
        &[("If-None-Match", "\"a\""), ("If-None-Match", &e)],
    );
    assert_304(&r, &e, T0_IMF);
    let r = get(&s, "/f.bin", &[("If-Match", "\"a\""), ("If-Match", &e)]);
    assert_200(&r, &data);
    let with_empty = format!("\"a\", , {e},");
    let r = get(&s, "/f.bin", &[("If-None-Match", &with_empty)]);
    assert_304(&r, &e, T0_IMF);
}

#[test]
fn repeated_accept_encoding_lines_form_one_list() {
    let dir = sidecar_site(true, true);
    let s = Server::start(dir.path(), &[]);
    let r = get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "identity"), ("Accept-Encoding", "gzip")],
    );
    assert_encoded(&r, "gzip", GZ);
    let r = get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "gzip;q=0"), ("Accept-Encoding", "br")],
    );
    assert_encoded(&r, "br", BR);
    let r = get(
        &s,
        "/app.js",
        &[
            ("Accept-Encoding", "br;q=0"),
            ("Accept-Encoding", "gzip;q=0"),
        ],
    );
    assert_plain(&r);
}

#[test]
fn an_if_modified_since_with_more_than_one_member_is_ignored() {
    // RFC 9110 §13.1.3: MUST ignore if the field value has more than one member.
    let (dir, data) = bin_site(64);
    let s = Server::start(dir.path(), &[]);
    let r = get(
        &s,
        "/f.bin",
        &[("If-Modified-Since", T0_IMF), ("If-Modified-Since", T0_IMF)],
    );
    assert_200(&r, &data);
}

#[test]
fn an_if_unmodified_since_that_looks_like_a_list_is_ignored() {
    // RFC 9110 §13.1.4: MUST ignore an invalid date, including a list.
    let (dir, data) = bin_site(64);
    let s = Server::start(dir.path(), &[]);
    let old = imf(T0 - 100);
    let r = get(
        &s,
        "/f.bin",
        &[("If-Unmodified-Since", &old), ("If-Unmodified-Since", &old)],
    );
    assert_200(&r, &data);
}

#[test]
fn a_trailing_comma_in_a_range_set_is_an_empty_element() {
    let (dir, data) = bin_site(64);
    let s = Server::start(dir.path(), &[]);
    assert_206(&get(&s, "/f.bin", &[("Range", "bytes=0-9,")]), &data, 0, 9);
}

// ===========================================================================
// Dates at the edges
// ===========================================================================

#[test]
fn dates_far_in_the_past_or_future_are_compared_without_overflow() {
    let (dir, data) = bin_site(64);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let far_future = "Fri, 31 Dec 9999 23:59:59 GMT";
    let far_past = "Mon, 01 Jan 1900 00:00:00 GMT";
    assert_304(
        &get(&s, "/f.bin", &[("If-Modified-Since", far_future)]),
        &e,
        T0_IMF,
    );
    assert_200(
        &get(&s, "/f.bin", &[("If-Modified-Since", far_past)]),
        &data,
    );
    assert_200(
        &get(&s, "/f.bin", &[("If-Unmodified-Since", far_future)]),
        &data,
    );
    let r = get(&s, "/f.bin", &[("If-Unmodified-Since", far_past)]);
    assert_eq!(
        r.status(),
        412,
        "If-Unmodified-Since: {far_past} is a valid IMF-fixdate before the mtime"
    );
    assert_200(
        &get(
            &s,
            "/f.bin",
            &[("If-Modified-Since", "Thursday, 01-Jan-70 00:00:00 GMT")],
        ),
        &data,
    );
}

#[test]
fn an_asctime_date_with_a_two_digit_day_is_accepted() {
    // date3 = month SP ( 2DIGIT / ( SP DIGIT ) )
    let (dir, _) = bin_site(64);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let r = get(
        &s,
        "/f.bin",
        &[("If-Modified-Since", "Sun Sep 09 01:46:40 2001")],
    );
    assert_304(&r, &e, T0_IMF);
}

#[test]
fn if_range_with_a_last_modified_in_the_current_second_is_weak() {
    // §13.1.5 step 1 with §8.8.2.2: a date the server cannot know to be
    // strong (the file changed in the same second as the response) is false.
    let dir = site(&[("hot.bin", &lcg(100, 3))]);
    let p = dir.path().join("hot.bin");
    let s = Server::start(dir.path(), &[]);
    for _ in 0..5 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        if now.subsec_millis() > 700 {
            std::thread::sleep(Duration::from_millis(350));
            continue;
        }
        set_mtime(&p, now.as_secs(), now.subsec_nanos());
        let r = get(
            &s,
            "/hot.bin",
            &[("Range", "bytes=0-9"), ("If-Range", &imf(now.as_secs()))],
        );
        let date = r.header("Date").unwrap().to_owned();
        if date != imf(now.as_secs()) {
            continue;
        }
        assert_eq!(
            r.status(),
            200,
            "If-Range date equal to Date (same second as the mtime) is not strong"
        );
        return;
    }
}

// ===========================================================================
// Preconditions are ignored where the response would not be 2xx (§13.2.1)
// ===========================================================================

#[test]
fn preconditions_are_ignored_for_redirects_and_disallowed_methods() {
    let dir = site(&[("sub/a.txt", b"a"), ("f.txt", b"f")]);
    let s = Server::start(dir.path(), &[]);
    for h in [
        ("If-None-Match", "*"),
        ("If-Match", "\"nope\""),
        ("If-Modified-Since", "Fri, 31 Dec 9999 23:59:59 GMT"),
    ] {
        let r = get(&s, "/sub", &[h]);
        assert_eq!(r.status(), 301, "{h:?}: {}", r.status_line);
    }
    for m in ["POST", "DELETE"] {
        let raw = format!(
            "{m} /f.txt HTTP/1.1\r\nHost: t\r\nIf-Match: \"nope\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let r = parse_all(&s.exchange(raw.as_bytes()), &[]).remove(0);
        assert_eq!(
            r.status(),
            405,
            "{m} with a false If-Match: {}",
            r.status_line
        );
    }
}

// ===========================================================================
// More representation details
// ===========================================================================

#[test]
fn multipart_parts_carry_the_text_content_type_with_charset() {
    let text: Vec<u8> = (0..20_000).map(|i| b'a' + (i % 26) as u8).collect();
    let dir = site(&[("t.txt", &text)]);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/t.txt", &[("Range", "bytes=0-4,15000-15004")]);
    let got = pieces(&r, &text, "text/plain; charset=utf-8");
    assert_covers(&got, &[(0, 4), (15000, 15004)]);
}

#[test]
fn head_sends_exactly_the_headers_get_sends_for_plain_encoded_and_304() {
    let dir = sidecar_site(true, true);
    let s = Server::start(dir.path(), &["--cache-control", "max-age=5"]);
    let plain = etag(&get(&s, "/app.js", &[]));
    for h in [
        vec![],
        vec![("Accept-Encoding", "gzip")],
        vec![("Accept-Encoding", "br, gzip")],
        vec![("If-None-Match", plain.as_str())],
        vec![("If-Match", "\"no\"")],
    ] {
        let g = get(&s, "/app.js", &h);
        let hd = req(&s, "HEAD", "/app.js", &h);
        let strip = |r: &Response| {
            let mut v: Vec<(String, String)> = r
                .headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("Date"))
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(g.status_line, hd.status_line, "{h:?}");
        assert_eq!(strip(&g), strip(&hd), "{h:?}");
    }
}

#[test]
fn a_sidecar_304_by_date_names_the_negotiated_representation() {
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &["--cache-control", "max-age=9"]);
    let gz = etag(&get(&s, "/app.js", &[("Accept-Encoding", "gzip")]));
    let r = get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-Modified-Since", T0_IMF)],
    );
    assert_304(&r, &gz, T0_IMF);
    assert_304_len(&r, GZ.len());
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(r.header("Cache-Control"), Some("max-age=9"));
}

#[test]
fn identity_preferred_by_q_value_wins_over_a_sidecar() {
    // §12.5.3 / §12.4.2: q-values express the client's relative preference.
    let dir = sidecar_site(true, true);
    let s = Server::start(dir.path(), &[]);
    let r = get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "identity;q=1, gzip;q=0.5, br;q=0.4")],
    );
    assert_plain(&r);
}

#[test]
fn a_cache_control_value_with_a_line_break_cannot_inject_a_header() {
    let dir = site(&[("a.txt", b"a")]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.arg(dir.path()).args([
        "--port",
        "0",
        "--quiet",
        "--cache-control",
        "max-age=1\r\nX-Injected: yes",
    ]);
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    if line.is_empty() {
        // Refused to start: fine, if it says so with a failure status.
        let mut status = None;
        for _ in 0..250 {
            if let Some(st) = child.try_wait().unwrap() {
                status = Some(st);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        let st = status.expect("neither started nor exited");
        assert!(!st.success(), "exited 0 with a CRLF in --cache-control");
        return;
    }
    let url = line.trim_end().rsplit(' ').next().unwrap().to_owned();
    let addr: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let mut c = common::connect(addr);
    c.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let raw = drain(&mut c);
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(!text.contains("\r\nx-injected:"), "header injected: {text}");
}

#[test]
fn preconditions_on_a_listing_without_an_etag_are_still_evaluated() {
    // §13.1.1: If-Match is false when no listed tag matches the selected
    // representation (a listing without an ETag matches none); §13.1.2:
    // If-None-Match: * is false when a current representation exists.
    let dir = site(&[("sub/a.txt", b"a")]);
    let s = Server::start(dir.path(), &[]);
    let l = get(&s, "/sub/", &[]);
    assert_eq!(l.status(), 200);
    let tag = l.header("ETag").map(str::to_owned);
    let r = get(
        &s,
        "/sub/",
        &[("If-Match", "\"certainly-not-the-listing\"")],
    );
    assert_eq!(r.status(), 412, "If-Match with a foreign tag on a listing");
    let r = get(&s, "/sub/", &[("If-Match", "*")]);
    assert_eq!(r.status(), 200);
    let r = get(&s, "/sub/", &[("If-None-Match", "*")]);
    assert_eq!(r.status(), 304, "If-None-Match: * on an existing listing");
    if let Some(t) = tag {
        assert_eq!(get(&s, "/sub/", &[("If-None-Match", &t)]).status(), 304);
    }
}

#[test]
fn x_gzip_is_treated_as_gzip() {
    // RFC 9110 §8.4.1.3: a recipient SHOULD consider x-gzip equivalent to gzip.
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/app.js", &[("Accept-Encoding", "x-gzip")]);
    assert_eq!(r.body, GZ, "x-gzip not honoured (SHOULD)");
}

#[test]
fn q_parameter_names_are_case_insensitive_and_tiny_weights_still_count() {
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &[]);
    assert_plain(&get(&s, "/app.js", &[("Accept-Encoding", "gzip;Q=0")]));
    assert_plain(&get(&s, "/app.js", &[("Accept-Encoding", "gzip; q=0.")]));
    assert_encoded(
        &get(&s, "/app.js", &[("Accept-Encoding", "gzip;q=0.001")]),
        "gzip",
        GZ,
    );
    assert_encoded(
        &get(&s, "/app.js", &[("Accept-Encoding", "gzip;q=1")]),
        "gzip",
        GZ,
    );
}

#[test]
fn range_numbers_with_leading_zeros_are_plain_decimals() {
    let (dir, data) = bin_site(100);
    let s = Server::start(dir.path(), &[]);
    assert_206(
        &get(&s, "/f.bin", &[("Range", "bytes=007-0010")]),
        &data,
        7,
        10,
    );
    assert_206(
        &get(&s, "/f.bin", &[("Range", "bytes=-0005")]),
        &data,
        95,
        99,
    );
}

#[test]
fn a_range_header_with_thousands_of_ranges_is_answered_quickly() {
    let (dir, data) = bin_site(50_000);
    let s = Server::start(dir.path(), &[]);
    let spec = format!(
        "bytes={}",
        (0..6000)
            .map(|i| format!("{}-{}", i * 8, i * 8 + 1))
            .collect::<Vec<_>>()
            .join(",")
    );
    let t = std::time::Instant::now();
    let r = get(&s, "/f.bin", &[("Range", &spec)]);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
    match r.status() {
        200 => assert_200(&r, &data),
        431 => {}
        _ => panic!("{}", r.status_line),
    }
}

#[test]
fn a_hundred_overlapping_ranges_are_not_amplified() {
    let (dir, data) = bin_site(10_000);
    let s = Server::start(dir.path(), &[]);
    let spec = format!(
        "bytes={}",
        (0..100)
            .map(|i| format!("{i}-9999"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let r = get(&s, "/f.bin", &[("Range", &spec)]);
    assert!(
        r.body.len() < 2 * data.len(),
        "{} bytes for a {}-byte file",
        r.body.len(),
        data.len()
    );
    match r.status() {
        200 => assert_200(&r, &data),
        206 => assert_covers(&pieces(&r, &data, "application/octet-stream"), &[(0, 9999)]),
        _ => panic!("{}", r.status_line),
    }
    let spec = format!(
        "bytes={}",
        (0..100)
            .map(|i| format!("-{}", 10_000 - i))
            .collect::<Vec<_>>()
            .join(",")
    );
    let r = get(&s, "/f.bin", &[("Range", &spec)]);
    assert!(r.body.len() < 2 * data.len(), "{} bytes", r.body.len());
}

#[test]
fn a_range_that_ends_before_the_suffix_overlaps_is_merged_correctly() {
    let (dir, data) = bin_site(1000);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/f.bin", &[("Range", "bytes=0-99,-950")]);
    let got = pieces(&r, &data, "application/octet-stream");
    assert_covers(&got, &[(0, 999)]);
    assert!(r.body.len() < 1500);
}

#[test]
fn pipelined_large_multipart_and_range_responses_survive_a_slow_reader() {
    let (dir, data) = bin_site(5 * 1024 * 1024);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let mut c = s.connect();
    let mut raw = String::new();
    raw += &build(
        "GET",
        "/f.bin",
        &[("Range", "bytes=0-1499999,2000000-3499999,-1000000")],
        false,
    );
    raw += &build("GET", "/f.bin", &[("Range", "bytes=100-1000099")], false);
    raw += &build("GET", "/f.bin", &[("If-Modified-Since", T0_IMF)], false);
    raw += &build(
        "GET",
        "/f.bin",
        &[("Range", "bytes=10-19,4000000-4000009")],
        true,
    );
    c.write_all(raw.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    for i in 0..100_000 {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("read: {e} after {} bytes", got.len()),
        }
        if i % 16 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let rs = parse_all(&got, &[false, false, false, false]);
    assert_eq!(rs.len(), 4);
    let p = pieces(&rs[0], &data, "application/octet-stream");
    assert_covers(
        &p,
        &[
            (0, 1_499_999),
            (2_000_000, 3_499_999),
            (4_242_880, 5_242_879),
        ],
    );
    assert_206(&rs[1], &data, 100, 1_000_099);
    assert_eq!(rs[2].status(), 304);
    let p = pieces(&rs[3], &data, "application/octet-stream");
    assert_covers(&p, &[(10, 19), (4_000_000, 4_000_009)]);
}

#[test]
fn http_1_0_keep_alive_carries_304s_and_206s() {
    let (dir, data) = bin_site(1000);
    let s = Server::start(dir.path(), &[]);
    let mut c = s.connect();
    let send = |c: &mut TcpStream, extra: &str| {
        let r = format!("GET /f.bin HTTP/1.0\r\nConnection: keep-alive\r\n{extra}\r\n");
        c.write_all(r.as_bytes()).unwrap();
        read_response(c, false).expect("response")
    };
    let r = send(&mut c, &format!("If-Modified-Since: {T0_IMF}\r\n"));
    assert_eq!(r.status(), 304, "{:?}", r.headers);
    let r = send(&mut c, "Range: bytes=0-9\r\n");
    assert_eq!(r.status(), 206);
    assert_eq!(r.body, &data[..10]);
    let r = send(&mut c, "Range: bytes=0-9,500-509\r\n");
    let got = pieces(&r, &data, "application/octet-stream");
    assert_covers(&got, &[(0, 9), (500, 509)]);
    let r = send(&mut c, "");
    assert_eq!(r.status(), 200);
    assert_eq!(r.body, data);
}

#[test]
fn an_explicit_zero_for_a_coding_beats_a_wildcard() {
    let dir = sidecar_site(true, false);
    let s = Server::start(dir.path(), &[]);
    assert_plain(&get(&s, "/app.js", &[("Accept-Encoding", "gzip;q=0, *")]));
    assert_plain(&get(
        &s,
        "/app.js",
        &[("Accept-Encoding", "*;q=0.5, gzip;q=0")],
    ));
    let dir2 = sidecar_site(true, true);
    let s2 = Server::start(dir2.path(), &[]);
    assert_encoded(
        &get(&s2, "/app.js", &[("Accept-Encoding", "gzip;q=0.5, *")]),
        "br",
        BR,
    );
    assert_encoded(
        &get(&s2, "/app.js", &[("Accept-Encoding", "*, br;q=0.2")]),
        "gzip",
        GZ,
    );
}

#[test]
fn the_etag_changes_when_a_file_with_a_pre_1970_mtime_is_rewritten() {
    // §8.8.3: a strong ETag changes whenever the representation data does.
    // mtimes before the epoch are legal (archives, `touch -d 1960-01-01`).
    let dir = site(&[("old.txt", b"aaaa")]);
    let p = dir.path().join("old.txt");
    let before_epoch = |secs: u64| {
        let f = std::fs::File::open(&p).unwrap();
        f.set_modified(UNIX_EPOCH - Duration::from_secs(secs))
            .unwrap();
    };
    before_epoch(100_000_000);
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/old.txt", &[]);
    assert_200(&r, b"aaaa");
    let e1 = etag(&r);
    std::fs::write(&p, b"bbbb").unwrap();
    before_epoch(200_000_000);
    settle();
    let r = get(&s, "/old.txt", &[("If-None-Match", &e1)]);
    assert_eq!(
        r.status(),
        200,
        "content changed (aaaa -> bbbb, mtime 1966 -> 1963) but ETag {e1} still matched"
    );
    assert_200(&r, b"bbbb");
    assert_ne!(etag(&r), e1);
}

#[test]
fn a_pre_1970_mtime_is_reported_and_compared_as_itself() {
    // Last-Modified is the file's mtime (issue); §13.1.3: not modified since
    // a later date → 304.
    let dir = site(&[("old.txt", b"old")]);
    let p = dir.path().join("old.txt");
    std::fs::File::open(&p)
        .unwrap()
        .set_modified(UNIX_EPOCH - Duration::from_secs(315_619_200))
        .unwrap();
    let s = Server::start(dir.path(), &[]);
    let r = get(&s, "/old.txt", &[]);
    assert_200(&r, b"old");
    assert_eq!(
        r.header("Last-Modified"),
        Some("Fri, 01 Jan 1960 00:00:00 GMT")
    );
    let r = get(
        &s,
        "/old.txt",
        &[("If-Modified-Since", "Fri, 01 Jan 1965 00:00:00 GMT")],
    );
    assert_eq!(r.status(), 304, "unmodified since 1965");
    let r = get(
        &s,
        "/old.txt",
        &[("If-Unmodified-Since", "Fri, 01 Jan 1965 00:00:00 GMT")],
    );
    assert_200(&r, b"old");
    let r = get(
        &s,
        "/old.txt",
        &[("If-Unmodified-Since", "Sun, 01 Jan 1950 00:00:00 GMT")],
    );
    assert_412(&r);
}

#[test]
fn entity_tag_comparison_is_case_sensitive() {
    // §8.8.3.2: opaque-tags are compared character by character.
    let (dir, data) = bin_site(64);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&get(&s, "/f.bin", &[]));
    let upper = e.to_uppercase();
    let lower = e.to_lowercase();
    for other in [upper, lower] {
        if other == e {
            continue;
        }
        assert_412(&get(&s, "/f.bin", &[("If-Match", &other)]));
        assert_200(&get(&s, "/f.bin", &[("If-None-Match", &other)]), &data);
        assert_200(
            &get(
                &s,
                "/f.bin",
                &[("Range", "bytes=0-0"), ("If-Range", &other)],
            ),
            &data,
        );
    }
}

#[test]
fn a_sidecar_that_is_a_fifo_neither_blocks_nor_is_served() {
    let dir = site(&[("app.js", JS)]);
    let st = Command::new("mkfifo")
        .arg(dir.path().join("app.js.gz"))
        .status()
        .expect("mkfifo runs");
    assert!(st.success());
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let t = std::time::Instant::now();
    let r = get(&s, "/app.js", &[("Accept-Encoding", "gzip")]);
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_200(&r, JS);
    assert_eq!(r.header("Content-Encoding"), None);
    // The worker is still free.
    assert_200(&get(&s, "/app.js", &[]), JS);
}
