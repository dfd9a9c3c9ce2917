//! Validators, conditional requests, ranges and precompressed files
//! (RFC 9110 §8.8, §13, §14, §15.4.5), checked over raw sockets and curl.
//! Test names cite the requirement they check.

mod common;

use std::io::Write;
use std::time::{Duration, SystemTime};

use common::{Response, Server, curl, parse_all, read_response, site};

fn request(s: &Server, head: &str) -> Response {
    let raw = s.exchange(format!("{head}Host: t\r\nConnection: close\r\n\r\n").as_bytes());
    let is_head = head.starts_with("HEAD ");
    parse_all(&raw, &[is_head]).remove(0)
}

fn get(s: &Server, path: &str, fields: &str) -> Response {
    request(s, &format!("GET {path} HTTP/1.1\r\n{fields}"))
}

fn text_site() -> (tempfile::TempDir, Server) {
    let dir = site(&[("a.txt", b"0123456789abcdefghij")]);
    let s = Server::start(dir.path(), &[]);
    (dir, s)
}

#[test]
fn file_responses_carry_strong_etag_last_modified_and_accept_ranges() {
    let (dir, s) = text_site();
    let r = s.get("/a.txt");
    let etag = r.header("ETag").expect("ETag").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "{etag}"
    );
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    let lm = r.header("Last-Modified").expect("Last-Modified");
    let mtime = std::fs::metadata(dir.path().join("a.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(lm, httpdate::fmt_http_date(mtime));
    // Stable across requests and restarts; HEAD agrees.
    assert_eq!(s.get("/a.txt").header("ETag"), Some(etag.as_str()));
    let h = request(&s, "HEAD /a.txt HTTP/1.1\r\n");
    assert_eq!(h.header("ETag"), Some(etag.as_str()));
    assert_eq!(h.header("Last-Modified"), Some(lm));
    drop(s);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(s.get("/a.txt").header("ETag"), Some(etag.as_str()));
}

#[test]
fn etags_differ_per_file_and_change_with_the_file() {
    let dir = site(&[("a.txt", b"same"), ("b.txt", b"same")]);
    let s = Server::start(dir.path(), &[]);
    let a = s.get("/a.txt").header("ETag").unwrap().to_owned();
    let b = s.get("/b.txt").header("ETag").unwrap().to_owned();
    assert_ne!(a, b);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("a.txt"))
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let mut changed = a.clone();
    for _ in 0..150 {
        changed = s.get("/a.txt").header("ETag").unwrap().to_owned();
        if changed != a {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_ne!(changed, a, "a new mtime gives a new ETag");
}

#[test]
fn last_modified_is_never_later_than_date_rfc9110_8_8_2_1() {
    let dir = site(&[("future.txt", b"from the future")]);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("future.txt"))
        .unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(86_400 * 365))
        .unwrap();
    let s = Server::start(dir.path(), &[]);
    let r = s.get("/future.txt");
    let date = parse_date(r.header("Date").unwrap());
    let lm = parse_date(r.header("Last-Modified").unwrap());
    assert!(lm <= date, "Last-Modified {lm} after Date {date}");
}

/// Seconds since the epoch of an HTTP-date.
fn parse_date(s: &str) -> u64 {
    httpdate::parse_http_date(s)
        .expect("an HTTP-date")
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn if_match_uses_strong_comparison_and_412_withholds_the_file_rfc9110_13_1_1() {
    let (_d, s) = text_site();
    let etag = s.get("/a.txt").header("ETag").unwrap().to_owned();
    assert_eq!(
        get(&s, "/a.txt", &format!("If-Match: {etag}\r\n")).status(),
        200
    );
    assert_eq!(get(&s, "/a.txt", "If-Match: *\r\n").status(), 200);
    assert_eq!(
        get(&s, "/a.txt", &format!("If-Match: \"x\", {etag}\r\n")).status(),
        200
    );
    let weak = get(&s, "/a.txt", &format!("If-Match: W/{etag}\r\n"));
    assert_eq!(weak.status_line, "HTTP/1.1 412 Precondition Failed");
    assert!(!String::from_utf8_lossy(&weak.body).contains("0123456789"));
    let other = get(&s, "/a.txt", "If-Match: \"other\"\r\n");
    assert_eq!(other.status(), 412);
}

#[test]
fn if_unmodified_since_fails_for_a_newer_file_and_yields_to_if_match_rfc9110_13_1_4() {
    let (_d, s) = text_site();
    let r = s.get("/a.txt");
    let etag = r.header("ETag").unwrap().to_owned();
    let old = "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
    assert_eq!(get(&s, "/a.txt", old).status(), 412);
    let lm = r.header("Last-Modified").unwrap().to_owned();
    assert_eq!(
        get(&s, "/a.txt", &format!("If-Unmodified-Since: {lm}\r\n")).status(),
        200
    );
    // Ignored when If-Match is present, and when the date is invalid.
    assert_eq!(
        get(&s, "/a.txt", &format!("If-Match: {etag}\r\n{old}")).status(),
        200
    );
    assert_eq!(
        get(&s, "/a.txt", "If-Unmodified-Since: not a date\r\n").status(),
        200
    );
}

#[test]
fn if_none_match_uses_weak_comparison_and_gives_304_rfc9110_13_1_2() {
    let (_d, s) = text_site();
    let etag = s.get("/a.txt").header("ETag").unwrap().to_owned();
    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        "*".into(),
        format!("\"x\", {etag}"),
    ] {
        let r = get(&s, "/a.txt", &format!("If-None-Match: {inm}\r\n"));
        assert_eq!(r.status_line, "HTTP/1.1 304 Not Modified", "{inm}");
    }
    assert_eq!(
        get(&s, "/a.txt", "If-None-Match: \"other\"\r\n").status(),
        200
    );
}

#[test]
fn a_304_has_no_body_and_the_200s_validators_rfc9110_15_4_5() {
    let dir = site(&[("a.css", b"body{}"), ("a.css.gz", b"gz")]);
    let s = Server::start(dir.path(), &["--cache-control", "max-age=60"]);
    let ok = s.get("/a.css");
    let etag = ok.header("ETag").unwrap();
    let mut c = s.connect();
    // Several 304s on one keep-alive connection, then a 200.
    for _ in 0..3 {
        c.write_all(
            format!("GET /a.css HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let r = read_response(&mut c, false).unwrap();
        r.assert_common();
        assert_eq!(r.status_line, "HTTP/1.1 304 Not Modified");
        assert_eq!(r.header("ETag"), Some(etag));
        assert_eq!(r.header("Last-Modified"), ok.header("Last-Modified"));
        assert_eq!(r.header("Cache-Control"), Some("max-age=60"));
        assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
        assert!(r.header("Content-Length").is_none_or(|v| v == "6"));
        assert!(r.header("Content-Type").is_none());
    }
    c.write_all(b"GET /a.css HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let r = read_response(&mut c, false).unwrap();
    assert_eq!(r.body, b"body{}");
}

#[test]
fn if_modified_since_gives_304_unless_if_none_match_or_bad_date_rfc9110_13_1_3() {
    let (_d, s) = text_site();
    let lm = s.get("/a.txt").header("Last-Modified").unwrap().to_owned();
    assert_eq!(
        get(&s, "/a.txt", &format!("If-Modified-Since: {lm}\r\n")).status(),
        304
    );
    // Later than the file: still not modified.
    assert_eq!(
        get(
            &s,
            "/a.txt",
            "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n"
        )
        .status(),
        304
    );
    // RFC 850 and asctime forms.
    assert_eq!(
        get(
            &s,
            "/a.txt",
            "If-Modified-Since: Friday, 01-Jan-99 00:00:00 GMT\r\n"
        )
        .status(),
        200
    );
    assert_eq!(
        get(
            &s,
            "/a.txt",
            "If-Modified-Since: Fri Jan  1 00:00:00 2100\r\n"
        )
        .status(),
        304
    );
    assert_eq!(
        get(&s, "/a.txt", "If-Modified-Since: yesterday\r\n").status(),
        200
    );
    assert_eq!(
        get(
            &s,
            "/a.txt",
            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        )
        .status(),
        200
    );
    // Ignored when If-None-Match is present.
    assert_eq!(
        get(
            &s,
            "/a.txt",
            &format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {lm}\r\n")
        )
        .status(),
        200
    );
    // HEAD too; other methods never get 304.
    let h = request(
        &s,
        &format!("HEAD /a.txt HTTP/1.1\r\nIf-Modified-Since: {lm}\r\n"),
    );
    assert_eq!(h.status(), 304);
}

#[test]
fn preconditions_are_not_evaluated_for_a_404_rfc9110_13_2_1() {
    let (_d, s) = text_site();
    let r = get(&s, "/missing", "If-Match: \"x\"\r\n");
    assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
    let r = get(&s, "/missing", "If-None-Match: *\r\n");
    assert_eq!(r.status(), 404);
}

#[test]
fn evaluation_follows_the_order_of_rfc9110_13_2_2() {
    let (_d, s) = text_site();
    let r = s.get("/a.txt");
    let (etag, lm) = (
        r.header("ETag").unwrap(),
        r.header("Last-Modified").unwrap(),
    );
    // Step 1 before step 3: a failed If-Match is 412 even if INM matches.
    let r = get(
        &s,
        "/a.txt",
        &format!("If-Match: \"no\"\r\nIf-None-Match: {etag}\r\n"),
    );
    assert_eq!(r.status(), 412);
    // Step 2 before step 4.
    let r = get(
        &s,
        "/a.txt",
        &format!(
            "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nIf-Modified-Since: {lm}\r\n"
        ),
    );
    assert_eq!(r.status(), 412);
    // Preconditions before Range: a 304 wins over a 206.
    let r = get(
        &s,
        "/a.txt",
        &format!("If-None-Match: {etag}\r\nRange: bytes=0-1\r\n"),
    );
    assert_eq!(r.status(), 304);
}

#[test]
fn single_ranges_give_206_with_exact_content_range_rfc9110_14_4() {
    let (_d, s) = text_site();
    let full = s.get("/a.txt");
    for (range, expect, cr) in [
        ("bytes=0-3", &b"0123"[..], "bytes 0-3/20"),
        ("bytes=10-", b"abcdefghij", "bytes 10-19/20"),
        ("bytes=-5", b"fghij", "bytes 15-19/20"),
        ("bytes=18-1000", b"ij", "bytes 18-19/20"),
        ("bytes=0-0", b"0", "bytes 0-0/20"),
    ] {
        let r = get(&s, "/a.txt", &format!("Range: {range}\r\n"));
        assert_eq!(r.status_line, "HTTP/1.1 206 Partial Content", "{range}");
        assert_eq!(r.header("Content-Range"), Some(cr), "{range}");
        assert_eq!(r.header("Content-Length"), Some(&*expect.len().to_string()));
        assert_eq!(r.body, expect, "{range}");
        for same in ["Content-Type", "ETag", "Last-Modified", "Accept-Ranges"] {
            assert_eq!(r.header(same), full.header(same), "{range} {same}");
        }
    }
}

#[test]
fn a_2mb_range_of_a_5mb_file_is_exact() {
    let content = common::pattern(5 * 1024 * 1024, 1);
    let dir = site(&[("big.bin", &content)]);
    let s = Server::start(dir.path(), &[]);
    let (first, last) = (1_000_003usize, 1_000_003 + 2 * 1024 * 1024 - 1);
    let r = get(&s, "/big.bin", &format!("Range: bytes={first}-{last}\r\n"));
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.header("Content-Range"),
        Some(&*format!("bytes {first}-{last}/{}", content.len()))
    );
    assert!(r.body == content[first..=last], "range bytes differ");
    // And with curl -r.
    let (code, out, err) = curl(&["-r", &format!("{first}-{last}"), &s.url("/big.bin")]);
    assert_eq!(code, 0, "{err}");
    assert!(out == content[first..=last]);
}

/// One part of a multipart body: lower-cased header fields, then the data.
type Part = (Vec<(String, String)>, Vec<u8>);

/// Splits a multipart/byteranges body into its parts.
fn multipart(r: &Response) -> Vec<Part> {
    let ct = r.header("Content-Type").unwrap();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .expect(ct);
    let delim = format!("--{boundary}");
    let body = &r.body;
    let mut parts = Vec::new();
    let mut at = body
        .windows(delim.len())
        .position(|w| w == delim.as_bytes())
        .expect("first delimiter");
    loop {
        at += delim.len();
        if body[at..].starts_with(b"--") {
            assert_eq!(&body[at..], b"--\r\n", "closing delimiter ends the body");
            break;
        }
        assert!(body[at..].starts_with(b"\r\n"));
        at += 2;
        let head_end = at
            + body[at..]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .unwrap();
        let headers: Vec<(String, String)> = std::str::from_utf8(&body[at..head_end])
            .unwrap()
            .split("\r\n")
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        let data_start = head_end + 4;
        let cr = &headers
            .iter()
            .find(|(n, _)| n == "content-range")
            .unwrap()
            .1;
        let (a, b) = cr
            .strip_prefix("bytes ")
            .unwrap()
            .split_once('/')
            .unwrap()
            .0
            .split_once('-')
            .unwrap();
        let n = b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1;
        parts.push((headers, body[data_start..data_start + n].to_vec()));
        at = data_start + n;
        assert!(
            body[at..].starts_with(b"\r\n"),
            "CRLF before the next delimiter"
        );
        at += 2;
        assert!(body[at..].starts_with(delim.as_bytes()));
    }
    parts
}

#[test]
fn several_ranges_give_multipart_byteranges_checked_part_by_part_rfc9110_14_6() {
    for size in [20usize, 3 * 1024 * 1024] {
        let content = common::pattern(size, 1);
        let dir = site(&[("f.bin", &content)]);
        let s = Server::start(dir.path(), &[]);
        let r = get(&s, "/f.bin", "Range: bytes=0-1, 10-12, -3\r\n");
        assert_eq!(r.status(), 206);
        assert!(
            r.header("Content-Range").is_none(),
            "no Content-Range on the whole"
        );
        assert_eq!(r.header("Content-Length"), Some(&*r.body.len().to_string()));
        let parts = multipart(&r);
        let expect = [(0, 1), (10, 12), (size - 3, size - 1)];
        assert_eq!(parts.len(), 3);
        for ((headers, data), (a, b)) in parts.iter().zip(expect) {
            let get = |n: &str| &headers.iter().find(|(k, _)| k == n).unwrap().1;
            assert_eq!(get("content-type"), "application/octet-stream");
            assert_eq!(get("content-range"), &format!("bytes {a}-{b}/{size}"));
            assert_eq!(data, &content[a..=b]);
        }
        // Boundaries differ between responses.
        let again = get(&s, "/f.bin", "Range: bytes=0-1, 10-12\r\n");
        assert_ne!(again.header("Content-Type"), r.header("Content-Type"));
    }
}

#[test]
fn overlapping_ranges_are_coalesced_and_too_many_give_the_whole_file() {
    let (_d, s) = text_site();
    let r = get(&s, "/a.txt", "Range: bytes=0-5, 3-8, 9-9\r\n");
    assert_eq!(r.status(), 206);
    assert_eq!(r.header("Content-Range"), Some("bytes 0-9/20"));
    assert_eq!(r.body, b"0123456789");
    let many: Vec<String> = (0..101).map(|i| format!("{i}-{i}")).collect();
    let r = get(
        &s,
        "/a.txt",
        &format!("Range: bytes={}\r\n", many.join(",")),
    );
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.body, b"0123456789abcdefghij");
}

#[test]
fn unsatisfiable_ranges_give_416_and_the_connection_stays_usable_rfc9110_15_5_17() {
    let (_d, s) = text_site();
    let mut c = s.connect();
    c.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=20-\r\n\r\n")
        .unwrap();
    let r = read_response(&mut c, false).unwrap();
    assert_eq!(r.status_line, "HTTP/1.1 416 Range Not Satisfiable");
    assert_eq!(r.header("Content-Range"), Some("bytes */20"));
    assert_eq!(r.header("Connection"), None);
    c.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut c, false).unwrap().body,
        b"0123456789abcdefghij"
    );
}

#[test]
fn invalid_ranges_unknown_units_and_non_get_methods_are_ignored_rfc9110_14_2() {
    let (_d, s) = text_site();
    for range in [
        "bytes=5-1",
        "bytes=abc",
        "items=0-1",
        "bytes 0-1",
        "bytes=0-1,,x",
    ] {
        let r = get(&s, "/a.txt", &format!("Range: {range}\r\n"));
        assert_eq!(r.status(), 200, "{range}");
        assert_eq!(r.body.len(), 20);
    }
    let h = request(&s, "HEAD /a.txt HTTP/1.1\r\nRange: bytes=0-1\r\n");
    assert_eq!(h.status_line, "HTTP/1.1 200 OK");
    assert_eq!(h.header("Content-Length"), Some("20"));
    assert!(h.header("Content-Range").is_none());
}

#[test]
fn if_range_needs_the_strong_etag_or_the_exact_date_rfc9110_13_1_5() {
    let (dir, s) = text_site();
    // A Last-Modified in the current second is weak (§8.8.2.2): age it.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("a.txt"))
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    drop(s);
    let s = Server::start(dir.path(), &[]);
    let r = s.get("/a.txt");
    let (etag, lm) = (
        r.header("ETag").unwrap(),
        r.header("Last-Modified").unwrap(),
    );
    let range = "Range: bytes=0-1\r\n";
    for (if_range, code) in [
        (etag.to_owned(), 206),
        (lm.to_owned(), 206),
        (format!("W/{etag}"), 200),
        ("\"other\"".to_owned(), 200),
        ("Sun, 06 Nov 1994 08:49:37 GMT".to_owned(), 200),
        ("garbage".to_owned(), 200),
    ] {
        let if_range: String = if_range;
        let r = get(&s, "/a.txt", &format!("If-Range: {if_range}\r\n{range}"));
        assert_eq!(r.status(), code, "If-Range: {if_range}");
        let expect: &[u8] = if code == 206 {
            b"01"
        } else {
            b"0123456789abcdefghij"
        };
        assert_eq!(r.body, expect);
    }
    // Without Range, If-Range is ignored.
    assert_eq!(get(&s, "/a.txt", "If-Range: \"other\"\r\n").status(), 200);
}

#[test]
fn curl_resumes_a_download_with_continue_at() {
    let content = common::pattern(300_000, 1);
    let dir = site(&[("f.bin", &content)]);
    let s = Server::start(dir.path(), &[]);
    let out = dir.path().join("download.part");
    std::fs::write(&out, &content[..123_456]).unwrap();
    let (code, _, err) = curl(&["-C", "-", "-o", out.to_str().unwrap(), &s.url("/f.bin")]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&out).unwrap() == content);
}

#[test]
fn curl_time_condition_gets_304_then_200() {
    let (dir, s) = text_site();
    let file = dir.path().join("a.txt");
    // -z FILE: only if newer than FILE's mtime (same file: not newer).
    let (code, out, err) = curl(&[
        "-z",
        file.to_str().unwrap(),
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        &s.url("/a.txt"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, b"304");
    let (_, out, _) = curl(&[
        "-z",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        &s.url("/a.txt"),
    ]);
    assert_eq!(out, b"200");
}

#[test]
fn precompressed_sidecars_are_negotiated_with_vary_rfc9110_12_5_3() {
    let js = b"export const greeting = 'hello hello hello hello hello';\n".repeat(20);
    let dir = site(&[("app.js", &js)]);
    let status = std::process::Command::new("gzip")
        .args(["-k", "-n", "-9"])
        .arg(dir.path().join("app.js"))
        .status()
        .expect("gzip");
    assert!(status.success());
    std::fs::write(dir.path().join("app.js.br"), b"not really brotli").unwrap();
    let gz = std::fs::read(dir.path().join("app.js.gz")).unwrap();
    let s = Server::start(dir.path(), &[]);
    let plain = s.get("/app.js");
    assert_eq!(plain.body, js);
    assert_eq!(plain.header("Vary"), Some("Accept-Encoding"));
    assert!(plain.header("Content-Encoding").is_none());
    let g = get(&s, "/app.js", "Accept-Encoding: gzip\r\n");
    assert_eq!(g.header("Content-Encoding"), Some("gzip"));
    assert_eq!(
        g.header("Content-Type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(g.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(g.body, gz);
    assert_ne!(g.header("ETag"), plain.header("ETag"));
    let b = get(&s, "/app.js", "Accept-Encoding: gzip, deflate, br\r\n");
    assert_eq!(b.header("Content-Encoding"), Some("br"));
    assert_eq!(b.body, b"not really brotli");
    for (ae, coding) in [
        ("br;q=0.5, gzip;q=0.9", Some("gzip")),
        ("br;q=0, gzip;q=0", None),
        ("identity;q=0, gzip;q=0.1", Some("gzip")),
        ("*", Some("br")),
        ("*;q=0, identity", None),
        ("deflate", None),
    ] {
        let r = get(&s, "/app.js", &format!("Accept-Encoding: {ae}\r\n"));
        assert_eq!(r.header("Content-Encoding"), coding, "{ae}");
    }
    // Ranges apply to the encoded bytes.
    let r = get(
        &s,
        "/app.js",
        "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n",
    );
    assert_eq!(r.status(), 206);
    assert_eq!(r.body, &gz[..10]);
    assert_eq!(
        r.header("Content-Range"),
        Some(&*format!("bytes 0-9/{}", gz.len()))
    );
    // Several ranges of an encoded representation: the whole of it, since
    // Content-Encoding on a multipart body would be misread.
    let r = get(
        &s,
        "/app.js",
        "Accept-Encoding: gzip\r\nRange: bytes=0-1,5-6\r\n",
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(r.body, gz);
    // A 304 for the gzip variant uses its own ETag.
    let etag = g.header("ETag").unwrap();
    let r = get(
        &s,
        "/app.js",
        &format!("Accept-Encoding: gzip\r\nIf-None-Match: {etag}\r\n"),
    );
    assert_eq!(r.status(), 304);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    // curl --compressed with only gzip offered decodes to the original.
    let (code, out, err) = curl(&[
        "-H",
        "Accept-Encoding: gzip",
        "--compressed",
        &s.url("/app.js"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, js);
}

#[test]
fn files_without_sidecars_have_no_vary_and_cache_control_is_opt_in() {
    let (_d, s) = text_site();
    let r = s.get("/a.txt");
    assert!(r.header("Vary").is_none());
    assert!(r.header("Cache-Control").is_none());
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &["--no-cache"]);
    assert_eq!(s.get("/a.txt").header("Cache-Control"), Some("no-cache"));
    let s = Server::start(dir.path(), &["--cache-control", "public, max-age=3600"]);
    assert_eq!(
        s.get("/a.txt").header("Cache-Control"),
        Some("public, max-age=3600")
    );
    // Not on errors.
    assert!(s.get("/missing").header("Cache-Control").is_none());
}

#[test]
fn listings_carry_no_validators() {
    let dir = site(&[("d/x.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    let r = s.get("/d/");
    assert_eq!(r.status(), 200);
    assert!(r.header("ETag").is_none() && r.header("Last-Modified").is_none());
}

#[test]
fn preconditions_are_ignored_for_options_and_unsupported_methods_rfc9110_13_2_1() {
    let (_d, s) = text_site();
    let r = request(&s, "OPTIONS /a.txt HTTP/1.1\r\nIf-Match: \"no\"\r\n");
    assert_eq!(r.status_line, "HTTP/1.1 204 No Content");
    let r = request(&s, "DELETE /a.txt HTTP/1.1\r\nIf-Match: \"no\"\r\n");
    assert_eq!(r.status(), 405);
    let r = request(&s, "HEAD /a.txt HTTP/1.1\r\nIf-Match: \"no\"\r\n");
    assert_eq!(r.status(), 412, "HEAD selects a representation: evaluated");
}
