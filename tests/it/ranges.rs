//! Range requests (RFC 9110 §14): single ranges, multipart/byteranges,
//! coalescing, limits, 416, If-Range (§13.1.5), and curl's resume.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::caching::{T0, T0_IMF, bin_site, etag, until_served};
use crate::support::*;

/// What a Range request gets.
#[derive(Clone, Debug)]
enum Want {
    /// 200 with the whole file.
    Full,
    /// 206 with these inclusive ranges, in this order (one: a plain 206
    /// with Content-Range; several: multipart/byteranges).
    Ranges(Vec<(usize, usize)>),
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
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

/// One part of a multipart body.
struct Part {
    content_type: Option<String>,
    first: usize,
    last: usize,
    total: usize,
    data: Vec<u8>,
}

fn boundary_of(ct: &str) -> String {
    let b = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("Content-Type {ct:?} is not multipart/byteranges"));
    assert!(
        !b.is_empty() && b.len() <= 70,
        "boundary {b:?} (RFC 2046: 1..70 chars)"
    );
    b.to_owned()
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
            "expected delimiter {delim:?} at {pos}"
        );
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            assert_eq!(
                &body[pos..],
                b"--\r\n",
                "the closing delimiter ends the body"
            );
            return parts;
        }
        assert!(body[pos..].starts_with(b"\r\n"), "CRLF after delimiter");
        pos += 2;
        let hend = pos + head_end(&body[pos..]).expect("part head end") - 4;
        let head = std::str::from_utf8(&body[pos..hend]).expect("part head UTF-8");
        let mut ctype = None;
        let mut crange = None;
        for line in head.split("\r\n").filter(|l| !l.is_empty()) {
            let (n, v) = line.split_once(':').expect("part field colon");
            if n.eq_ignore_ascii_case("Content-Type") {
                assert!(ctype.is_none(), "repeated Content-Type in a part");
                ctype = Some(v.trim().to_owned());
            } else if n.eq_ignore_ascii_case("Content-Range") {
                assert!(crange.is_none(), "repeated Content-Range in a part");
                crange = Some(v.trim().to_owned());
            }
        }
        pos = hend + 4;
        let (first, last, total) =
            parse_content_range(crange.as_deref().expect("every part has Content-Range"));
        assert!(
            first <= last && last < total,
            "bad part {first}-{last}/{total}"
        );
        let len = last - first + 1;
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

/// Checks `r` against `want` for a file with `data` and Content-Type `ct`.
fn assert_ranges(r: &Response, data: &[u8], ct: &str, want: &Want) {
    match want {
        Want::Full => {
            assert_eq!(r.status_line, OK, "{:?}", r.headers);
            assert_eq!(r.header("Content-Range"), None);
            assert!(r.body == data, "the whole file");
        }
        Want::Unsatisfiable => {
            assert_eq!(r.status_line, UNSATISFIABLE, "{:?}", r.headers);
            let cr = format!("bytes */{}", data.len());
            assert_eq!(r.header("Content-Range"), Some(cr.as_str()));
        }
        Want::Ranges(want) => {
            assert_eq!(r.status_line, PARTIAL, "{:?}", r.headers);
            let got: Vec<(usize, usize)> = if want.len() == 1 {
                assert_eq!(r.header("Content-Type"), Some(ct));
                let (a, b, total) = parse_content_range(r.header("Content-Range").unwrap());
                assert_eq!(total, data.len());
                assert!(r.body == data[a..=b], "bytes {a}-{b} differ");
                vec![(a, b)]
            } else {
                assert!(
                    r.header("Content-Range").is_none(),
                    "no top-level Content-Range"
                );
                let b = boundary_of(r.header("Content-Type").expect("Content-Type"));
                parse_multipart(&r.body, &b)
                    .iter()
                    .map(|p| {
                        assert_eq!(p.content_type.as_deref(), Some(ct), "part Content-Type");
                        assert_eq!(p.total, data.len());
                        assert!(
                            p.data == data[p.first..=p.last],
                            "part {}-{}",
                            p.first,
                            p.last
                        );
                        (p.first, p.last)
                    })
                    .collect()
            };
            assert_eq!(&got, want);
        }
    }
}

fn ranges(v: &[(usize, usize)]) -> Want {
    Want::Ranges(v.to_vec())
}

/// RFC 9110 §14.1.2, §14.2: every Range value gets one exact answer: byte
/// ranges, suffixes, open ends, clamped lasts; overlapping or adjacent
/// ranges coalesced and put in ascending order; more than 100 ranges, invalid syntax or another unit
/// ignored (200); nothing satisfiable is 416.
#[test]
fn every_range_value_gets_one_exact_answer_rfc9110_14() {
    use Want::*;
    let sizes = [0usize, 64, 100, 1000, 10_000, 20_000, 50_000, 100_000];
    let t = Site::new();
    for n in sizes {
        t.file(&format!("f{n}.bin"), &pattern(n, n as u64));
    }
    let s = Server::start(t.path(), &[]);
    let many = |n: usize, f: &dyn Fn(usize) -> String| {
        format!("bytes={}", (0..n).map(f).collect::<Vec<_>>().join(","))
    };
    let far_apart: Vec<(usize, usize)> = (0..100).map(|i| (i * 990, i * 990 + 3)).collect();
    #[rustfmt::skip]
    let cases: Vec<(&str, usize, String, Want)> = vec![
        ("first 100", 1000, "bytes=0-99".into(), ranges(&[(0, 99)])),
        ("open end", 1000, "bytes=100-".into(), ranges(&[(100, 999)])),
        ("suffix", 1000, "bytes=-500".into(), ranges(&[(500, 999)])),
        ("last past the end", 1000, "bytes=990-5000".into(), ranges(&[(990, 999)])),
        ("first byte", 1000, "bytes=0-0".into(), ranges(&[(0, 0)])),
        ("last byte", 1000, "bytes=999-999".into(), ranges(&[(999, 999)])),
        ("suffix of one", 1000, "bytes=-1".into(), ranges(&[(999, 999)])),
        ("suffix of all", 1000, "bytes=-1000".into(), ranges(&[(0, 999)])),
        ("suffix past the start", 1000, "bytes=-5000".into(), ranges(&[(0, 999)])),
        ("all from 0", 1000, "bytes=0-".into(), ranges(&[(0, 999)])),
        ("all exactly", 1000, "bytes=0-999".into(), ranges(&[(0, 999)])),
        ("unit in capitals", 20_000, "BYTES=0-9".into(), ranges(&[(0, 9)])),
        ("unit capitalised", 20_000, "Bytes=10-19".into(), ranges(&[(10, 19)])),
        ("whitespace around commas", 20_000, "bytes=0-9 ,\t 15000-15009".into(), ranges(&[(0, 9), (15000, 15009)])),
        ("empty list elements", 20_000, "bytes=0-9,,15000-15009".into(), ranges(&[(0, 9), (15000, 15009)])),
        ("leading empty element", 20_000, "bytes=, 3-7".into(), ranges(&[(3, 7)])),
        ("trailing comma", 64, "bytes=0-9,".into(), ranges(&[(0, 9)])),
        ("leading zeros", 100, "bytes=007-0010".into(), ranges(&[(7, 10)])),
        ("suffix with leading zeros", 100, "bytes=-0005".into(), ranges(&[(95, 99)])),
        ("three with suffix", 100_000, "bytes=10-20,50000-50010,-7".into(), ranges(&[(10, 20), (50000, 50010), (99_993, 99_999)])),
        ("open end then start", 100_000, "bytes=99990-,0-4".into(), ranges(&[(0, 4), (99_990, 99_999)])),
        ("overlapping and adjacent", 10_000, "bytes=0-50,25-75,76-100".into(), ranges(&[(0, 100)])),
        ("out of order", 10_000, "bytes=500-599,0-99".into(), ranges(&[(0, 99), (500, 599)])),
        ("range and overlapping suffix", 1000, "bytes=0-99,-950".into(), ranges(&[(0, 999)])),
        ("one satisfiable of three", 100, "bytes=500-600,10-19,1000-".into(), ranges(&[(10, 19)])),
        ("50 whole-file ranges", 10_000, many(50, &|_| "0-".into()), ranges(&[(0, 9999)])),
        ("60 whole-file suffixes", 10_000, many(60, &|_| "-10000".into()), ranges(&[(0, 9999)])),
        ("100 overlapping ranges", 10_000, many(100, &|i| format!("{i}-9999")), ranges(&[(0, 9999)])),
        ("100 overlapping suffixes", 10_000, many(100, &|i| format!("-{}", 10_000 - i)), ranges(&[(0, 9999)])),
        ("100 far-apart ranges", 100_000, many(100, &|i| format!("{}-{}", i * 990, i * 990 + 3)), Ranges(far_apart)),
        ("101 ranges", 100_000, many(101, &|i| format!("{}-{}", i * 900, i * 900 + 1)), Full),
        ("4000 ranges", 50_000, many(4000, &|i| format!("{}-{}", i * 8, i * 8 + 1)), Full),
        ("last too big for u64", 100, "bytes=0-18446744073709551616".into(), Full),
        ("last far too big", 100, "bytes=0-99999999999999999999999999999".into(), Full),
        ("last u64::MAX", 100, "bytes=50-18446744073709551615".into(), ranges(&[(50, 99)])),
        ("first too big for u64", 100, "bytes=18446744073709551616-".into(), Full),
        ("first far too big", 100, "bytes=99999999999999999999999-1".into(), Full),
        ("suffix too big for u64", 100, "bytes=-18446744073709551616".into(), Full),
        ("suffix far too big", 100, "bytes=-99999999999999999999999".into(), Full),
        ("from the end", 100, "bytes=100-".into(), Unsatisfiable),
        ("past the end", 100, "bytes=100-200".into(), Unsatisfiable),
        ("far past the end", 100, "bytes=5000-6000".into(), Unsatisfiable),
        ("empty suffix", 100, "bytes=-0".into(), Unsatisfiable),
        ("two past the end", 100, "bytes=100-,200-300".into(), Unsatisfiable),
        ("empty file, first byte", 0, "bytes=0-0".into(), Unsatisfiable),
        ("empty file, open end", 0, "bytes=0-".into(), Unsatisfiable),
        ("empty file, suffix", 0, "bytes=-1".into(), Unsatisfiable),
        ("letters", 100, "bytes=abc".into(), Full),
        ("last before first", 100, "bytes=5-2".into(), Full),
        ("nothing", 100, "bytes=".into(), Full),
        ("a dash", 100, "bytes=-".into(), Full),
        ("no equals sign", 100, "bytes 0-9".into(), Full),
        ("a semicolon", 100, "bytes=0-9;".into(), Full),
        ("three numbers", 100, "bytes=1-2-3".into(), Full),
        ("suffix with an end", 100, "bytes=-5-10".into(), Full),
        ("a plus", 100, "bytes=+1-5".into(), Full),
        ("hex", 100, "bytes=0x1-5".into(), Full),
        ("spaces around the dash", 100, "bytes=1 - 5".into(), Full),
        ("another unit", 100, "items=0-9".into(), Full),
        ("no unit", 100, "none".into(), Full),
        ("empty unit", 100, "=0-9".into(), Full),
        ("two equals signs", 100, "bytes==0-9".into(), Full),
        ("valid then garbage", 100, "bytes=0-1,,x".into(), Full),
    ];
    table(
        &cases,
        |c| c.0.to_string(),
        |(_, size, spec, want)| {
            let data = pattern(*size, *size as u64);
            let start = Instant::now();
            let r = s.ask("GET", &format!("/f{size}.bin"), &[("Range", spec)]);
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "took {:?}",
                start.elapsed()
            );
            assert_ranges(&r, &data, "application/octet-stream", want);
            if matches!(want, Want::Ranges(_)) {
                assert!(
                    r.body.len() < 2 * data.len() + 10_000,
                    "amplified: {} bytes",
                    r.body.len()
                );
            }
        },
    );
}

#[test]
fn a_partial_response_keeps_the_full_responses_fields() {
    let dir = site(&[("a.txt", b"0123456789abcdefghij")]);
    let s = Server::start(dir.path(), &[]);
    let full = s.ask("GET", "/a.txt", &[]);
    for (range, expect, cr) in [
        ("bytes=0-3", &b"0123"[..], "bytes 0-3/20"),
        ("bytes=10-", b"abcdefghij", "bytes 10-19/20"),
        ("bytes=-5", b"fghij", "bytes 15-19/20"),
        ("bytes=18-1000", b"ij", "bytes 18-19/20"),
        ("bytes=0-5, 3-8, 9-9", b"0123456789", "bytes 0-9/20"),
    ] {
        let r = s.ask("GET", "/a.txt", &[("Range", range)]);
        assert_eq!(r.status_line, PARTIAL, "{range}");
        assert_eq!(r.header("Content-Range"), Some(cr), "{range}");
        assert_eq!(r.body, expect, "{range}");
        for same in ["Content-Type", "ETag", "Last-Modified", "Accept-Ranges"] {
            assert_eq!(r.header(same), full.header(same), "{range} {same}");
        }
    }
}

/// RFC 9110 §14.6: several ranges give multipart/byteranges, each part
/// with the file's type and its own Content-Range, exact Content-Length,
/// a boundary that changes per response and is absent from the data.
#[test]
fn several_ranges_give_a_multipart_byteranges_checked_part_by_part_rfc9110_14_6() {
    for size in [20usize, 50_000, 3 * 1024 * 1024] {
        let content = pattern(size, 1);
        let dir = site(&[("f.bin", &content)]);
        set_mtime(&dir.path().join("f.bin"), at(T0, 0));
        let s = Server::start(dir.path(), &[]);
        let e = etag(&s.ask("GET", "/f.bin", &[]));
        let mut c = s.connect();
        let r = ask_on(
            &mut c,
            "GET",
            "/f.bin",
            &[("Range", "bytes=0-1, 10-12, -3")],
        );
        assert_ranges(
            &r,
            &content,
            "application/octet-stream",
            &ranges(&[(0, 1), (10, 12), (size - 3, size - 1)]),
        );
        assert_eq!(r.header("ETag"), Some(e.as_str()));
        assert_eq!(r.header("Last-Modified"), Some(T0_IMF));
        // Exact framing: the next response on the connection parses.
        let next = ask_on(&mut c, "GET", "/f.bin", &[("Range", "bytes=-3")]);
        assert_eq!(next.body, &content[size - 3..]);
        let mut seen = Vec::new();
        for _ in 0..3 {
            let r = s.ask("GET", "/f.bin", &[("Range", "bytes=0-1, 10-12")]);
            let b = boundary_of(r.header("Content-Type").unwrap());
            assert!(
                !content.windows(b.len()).any(|w| w == b.as_bytes()),
                "boundary in the data"
            );
            seen.push(b);
        }
        assert!(
            seen[0] != seen[1] && seen[1] != seen[2],
            "constant boundary: {seen:?}"
        );
    }
    let text: Vec<u8> = (0..20_000).map(|i| b'a' + (i % 26) as u8).collect();
    let dir = site(&[("t.txt", &text)]);
    let s = Server::start(dir.path(), &[]);
    let r = s.ask("GET", "/t.txt", &[("Range", "bytes=0-4,15000-15004")]);
    assert_ranges(
        &r,
        &text,
        "text/plain; charset=utf-8",
        &ranges(&[(0, 4), (15000, 15004)]),
    );
}

#[test]
fn a_2mb_range_of_a_5mb_file_is_exact_by_raw_socket_and_curl() {
    let (dir, data) = bin_site(5 * 1024 * 1024);
    let s = Server::start(dir.path(), &[]);
    let (first, last) = (1_000_003usize, 1_000_003 + 2 * 1024 * 1024 - 1);
    let mut c = s.connect();
    let r = ask_on(
        &mut c,
        "GET",
        "/f.bin",
        &[("Range", &format!("bytes={first}-{last}"))],
    );
    assert_ranges(
        &r,
        &data,
        "application/octet-stream",
        &ranges(&[(first, last)]),
    );
    let r = ask_on(
        &mut c,
        "GET",
        "/f.bin",
        &[("Range", "bytes=0-1048575,4194304-5242879")],
    );
    assert_ranges(
        &r,
        &data,
        "application/octet-stream",
        &ranges(&[(0, 1_048_575), (4_194_304, 5_242_879)]),
    );
    let r = ask_on(&mut c, "GET", "/f.bin", &[("Range", "bytes=-1")]);
    assert_eq!(r.body, &data[data.len() - 1..]);
    let out = curl_ok(&["-r", &format!("{first}-{last}"), &s.url("/f.bin")]);
    assert!(out == data[first..=last], "curl -r bytes differ");
    let out = curl_ok(&["-r", "0-99", &s.url("/f.bin")]);
    assert_eq!(out, &data[..100]);
}

#[test]
fn unsatisfiable_ranges_give_416_and_the_connection_stays_usable_rfc9110_15_5_17() {
    let (dir, data) = bin_site(100);
    let s = Server::start(dir.path(), &[]);
    let mut c = s.connect();
    for spec in ["bytes=100-", "bytes=5000-6000", "bytes=-0"] {
        let r = ask_on(&mut c, "GET", "/f.bin", &[("Range", spec)]);
        assert_ranges(&r, &data, "application/octet-stream", &Want::Unsatisfiable);
        assert_eq!(r.header("Connection"), None);
        assert!(
            r.body.windows(10).all(|w| w != &data[0..10]),
            "a 416 carries the file"
        );
    }
    let r = ask_on(&mut c, "GET", "/f.bin", &[("Range", "bytes=1-2")]);
    assert_eq!(r.body, &data[1..=2]);
    assert_ok(&ask_on(&mut c, "GET", "/f.bin", &[]), &data);
}

/// RFC 9110 §14.2: Range applies to GET only: HEAD gets the full fields
/// (even for an unsatisfiable range), other methods their usual answer.
#[test]
fn a_range_is_ignored_on_head_and_other_methods_rfc9110_14_2() {
    let (dir, data) = bin_site(100);
    let s = Server::start(dir.path(), &[]);
    let cases: &[(&str, &str, &str)] = &[
        ("HEAD", "bytes=0-9", OK),
        ("HEAD", "bytes=500-", OK),
        ("OPTIONS", "bytes=0-9", NO_CONTENT),
        ("OPTIONS", "bytes=500-", NO_CONTENT),
        ("POST", "bytes=0-9", NOT_ALLOWED),
        ("POST", "bytes=500-", NOT_ALLOWED),
        ("DELETE", "bytes=0-9", NOT_ALLOWED),
        ("DELETE", "bytes=500-", NOT_ALLOWED),
    ];
    table(
        cases,
        |c| format!("{} {}", c.0, c.1),
        |&(method, spec, status)| {
            let r = s.ask(
                method,
                "/f.bin",
                &[("Range", spec), ("Content-Length", "0")],
            );
            assert_eq!(r.status_line, status);
            assert_eq!(r.header("Content-Range"), None);
            if method == "HEAD" {
                assert_eq!(r.header("Content-Length"), Some("100"));
                assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
            }
        },
    );
    assert_ok(&s.ask("GET", "/f.bin", &[]), &data);
}

/// RFC 9110 §13.1.5: If-Range applies the Range only for the current
/// strong ETag or exactly the Last-Modified date (one value, not a list);
/// otherwise the whole file, even if the Range was unsatisfiable. Without
/// a Range it is ignored.
#[test]
fn if_range_applies_the_range_only_for_the_strong_etag_or_the_exact_date_rfc9110_13_1_5() {
    let (dir, data) = bin_site(500);
    set_mtime(&dir.path().join("f.bin"), at(T0, 400_000_000));
    let s = Server::start(dir.path(), &[]);
    let e = etag(&s.ask("GET", "/f.bin", &[]));
    let weak = format!("W/{e}");
    let list = format!("\"x\", {e}");
    let (before, after) = (imf(T0 - 1), imf(T0 + 1));
    let upper = e.to_uppercase();
    assert_ne!(upper, e);
    let cases: Vec<(&str, Option<&str>, &str, Want)> = vec![
        (
            "current ETag",
            Some("bytes=100-199"),
            &e,
            ranges(&[(100, 199)]),
        ),
        (
            "exact date (sub-second mtime)",
            Some("bytes=100-199"),
            T0_IMF,
            ranges(&[(100, 199)]),
        ),
        ("other ETag", Some("bytes=0-9"), "\"other\"", Want::Full),
        ("weak current ETag", Some("bytes=0-9"), &weak, Want::Full),
        ("upper-cased ETag", Some("bytes=0-0"), &upper, Want::Full),
        ("a list", Some("bytes=0-9"), &list, Want::Full),
        ("a second earlier", Some("bytes=0-9"), &before, Want::Full),
        ("a second later", Some("bytes=0-9"), &after, Want::Full),
        (
            "1994",
            Some("bytes=0-9"),
            "Sun, 06 Nov 1994 08:49:37 GMT",
            Want::Full,
        ),
        ("garbage", Some("bytes=0-9"), "garbage", Want::Full),
        (
            "stale, unsatisfiable range",
            Some("bytes=9000-"),
            "\"old\"",
            Want::Full,
        ),
        (
            "current, unsatisfiable range",
            Some("bytes=9000-"),
            &e,
            Want::Unsatisfiable,
        ),
        ("current, no Range", None, &e, Want::Full),
        ("other, no Range", None, "\"other\"", Want::Full),
    ];
    table(
        &cases,
        |c| c.0.to_string(),
        |(_, range, if_range, want)| {
            let mut fields = vec![("If-Range", *if_range)];
            if let Some(r) = range {
                fields.push(("Range", r));
            }
            let r = s.ask("GET", "/f.bin", &fields);
            assert_ranges(&r, &data, "application/octet-stream", want);
            let tag = match want {
                Want::Unsatisfiable => None,
                _ => Some(e.as_str()),
            };
            assert_eq!(r.header("ETag"), tag);
        },
    );
}

#[test]
fn if_range_after_the_file_changed_sends_the_new_whole_file() {
    let (dir, _) = bin_site(500);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let e = etag(&s.ask("GET", "/f.bin", &[]));
    let new = pattern(600, 99);
    std::fs::write(dir.path().join("f.bin"), &new).unwrap();
    set_mtime(&dir.path().join("f.bin"), at(T0 + 50, 0));
    until_served(&s, "/f.bin", &[], &new);
    for if_range in [e.as_str(), T0_IMF] {
        let r = s.ask(
            "GET",
            "/f.bin",
            &[("Range", "bytes=500-"), ("If-Range", if_range)],
        );
        assert_ranges(&r, &new, "application/octet-stream", &Want::Full);
    }
}

#[test]
fn curl_resumes_a_partial_download() {
    let (dir, data) = bin_site(300_000);
    let s = Server::start(dir.path(), &[]);
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("partial.bin");
    std::fs::write(&o, &data[..123_457]).unwrap();
    let code = curl_ok(&[
        "-w",
        "%{http_code}",
        "-C",
        "-",
        "-o",
        o.to_str().unwrap(),
        &s.url("/f.bin"),
    ]);
    assert_eq!(code, b"206");
    assert!(std::fs::read(&o).unwrap() == data, "resumed file differs");
}

/// Big pipelined multipart and range answers reach a client that reads
/// slowly, in order and exactly framed.
#[test]
fn pipelined_large_multipart_and_range_responses_reach_a_slow_reader() {
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
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    for i in 0..100_000 {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("read: {e} after {} bytes", got.len()),
        }
        if i % 16 == 0 {
            std::thread::sleep(Duration::from_millis(2)); // a slow reader
        }
    }
    let rs = parse_all(&got, &[false, false, false, false]);
    assert_eq!(rs.len(), 4);
    let ct = "application/octet-stream";
    assert_ranges(
        &rs[0],
        &data,
        ct,
        &ranges(&[
            (0, 1_499_999),
            (2_000_000, 3_499_999),
            (4_242_880, 5_242_879),
        ]),
    );
    assert_ranges(&rs[1], &data, ct, &ranges(&[(100, 1_000_099)]));
    assert_eq!(rs[2].status_line, NOT_MODIFIED);
    assert_ranges(
        &rs[3],
        &data,
        ct,
        &ranges(&[(10, 19), (4_000_000, 4_000_009)]),
    );
}
