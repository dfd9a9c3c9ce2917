//! Validators and conditional requests (RFC 9110 §8.8, §13, §15.4.5):
//! ETag and Last-Modified, If-Match, If-None-Match, If-Modified-Since,
//! If-Unmodified-Since and their order, 304 and 412, Cache-Control.

use std::io::Write;
use std::time::Duration;

use crate::support::*;

/// 2001-09-09T01:46:40Z.
pub const T0: u64 = 1_000_000_000;
pub const T0_IMF: &str = "Sun, 09 Sep 2001 01:46:40 GMT";

/// A site with `f.bin` (n pattern bytes) whose mtime is exactly T0.
pub fn bin_site(n: usize) -> (Site, Vec<u8>) {
    let data = pattern(n, n as u64);
    let dir = site(&[("f.bin", &data)]);
    set_mtime(&dir.path().join("f.bin"), at(T0, 0));
    (dir, data)
}

/// The ETag, checked to be a strong entity-tag (RFC 9110 §8.8.3).
pub fn etag(r: &Response) -> String {
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

/// A bodiless 304 with the representation's validators; its
/// Content-Length, if any, is the 200's.
pub fn assert_304(r: &Response, etag_v: &str, lm: &str) {
    assert_eq!(r.status_line, NOT_MODIFIED, "{:?}", r.headers);
    assert_eq!(r.header("ETag"), Some(etag_v), "304 carries the ETag");
    assert_eq!(
        r.header("Last-Modified"),
        Some(lm),
        "304 carries Last-Modified"
    );
    assert!(r.header("Content-Range").is_none());
    assert!(r.header("Content-Type").is_none());
    assert!(r.header("Content-Length").is_none());
    assert!(r.body.is_empty());
}

pub fn assert_412(r: &Response) {
    assert_eq!(r.status_line, PRECONDITION_FAILED, "{:?}", r.headers);
    assert!(r.header("Content-Range").is_none());
}

/// A 200 with exactly `body` and no Content-Range.
pub fn assert_200(r: &Response, body: &[u8]) {
    assert_ok(r, body);
    assert_eq!(
        r.header("Content-Range"),
        None,
        "a 200 has no Content-Range"
    );
}

#[test]
fn every_file_response_carries_a_strong_etag_last_modified_and_accept_ranges() {
    let (dir, data) = bin_site(1000);
    let s = Server::start(dir.path(), &[]);
    let g = s.ask("GET", "/f.bin", &[]);
    assert_200(&g, &data);
    let e = etag(&g);
    assert_eq!(g.header("Last-Modified"), Some(T0_IMF));
    assert_eq!(g.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(g.header("Content-Type"), Some("application/octet-stream"));

    let h = s.ask("HEAD", "/f.bin", &[]);
    assert_eq!(h.status_line, OK);
    assert_eq!(h.comparable_headers(), g.comparable_headers());

    let p = s.ask("GET", "/f.bin", &[("Range", "bytes=10-19")]);
    assert_eq!(p.status_line, PARTIAL);
    for same in ["ETag", "Last-Modified", "Accept-Ranges", "Content-Type"] {
        assert_eq!(p.header(same), g.header(same), "206 {same}");
    }
    assert_304(
        &s.ask("GET", "/f.bin", &[("If-None-Match", &e)]),
        &e,
        T0_IMF,
    );

    // Stable across requests and restarts.
    assert_eq!(etag(&s.ask("GET", "/f.bin", &[])), e);
    drop(s);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    assert_eq!(
        etag(&s.ask("GET", "/f.bin", &[])),
        e,
        "same ETag after restart"
    );
}

#[test]
fn last_modified_is_the_mtime_truncated_to_the_second() {
    let (dir, _) = bin_site(10);
    set_mtime(&dir.path().join("f.bin"), at(T0, 999_999_999));
    let s = Server::start(dir.path(), &[]);
    let r = s.ask("GET", "/f.bin", &[]);
    assert_eq!(r.header("Last-Modified"), Some(T0_IMF));
    let mtime = std::fs::metadata(dir.path().join("f.bin"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        r.header("Last-Modified"),
        Some(httpdate::fmt_http_date(mtime).as_str())
    );
}

/// RFC 9110 §8.8.2.1: a file modified in the future is announced as
/// modified now.
#[test]
fn last_modified_is_never_later_than_date_rfc9110_8_8_2_1() {
    let (dir, data) = bin_site(10);
    set_mtime(&dir.path().join("f.bin"), at(now_secs() + 86_400 * 365, 0));
    let s = Server::start(dir.path(), &[]);
    let r = s.ask("GET", "/f.bin", &[]);
    assert_200(&r, &data);
    let date = parse_imf(r.header("Date").unwrap()).expect("Date parses");
    let lm = parse_imf(r.header("Last-Modified").expect("Last-Modified")).expect("IMF-fixdate");
    assert!(lm <= date, "Last-Modified {lm} later than Date {date}");
}

#[test]
fn files_with_the_same_size_and_mtime_get_different_etags() {
    let dir = site(&[("a.txt", b"same"), ("b.txt", b"same"), ("c.txt", b"diff")]);
    for n in ["a.txt", "b.txt", "c.txt"] {
        set_mtime(&dir.path().join(n), at(T0, 0));
    }
    let s = Server::start(dir.path(), &[]);
    let a = etag(&s.ask("GET", "/a.txt", &[]));
    let b = etag(&s.ask("GET", "/b.txt", &[]));
    let c = etag(&s.ask("GET", "/c.txt", &[]));
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert_ne!(b, c);
}

/// Polls until `path` serves `body` (a worker revalidates its cache entry
/// at least once a second; start the server with one worker); returns
/// that response.
pub fn until_served(s: &Server, path: &str, fields: &[(&str, &str)], body: &[u8]) -> Response {
    let mut last = None;
    let seen = wait_until(Duration::from_secs(3), || {
        let r = s.ask("GET", path, fields);
        let hit = r.body == body;
        last = Some(r);
        hit
    });
    let r = last.unwrap();
    assert!(
        seen,
        "{path} still serves {:?}",
        String::from_utf8_lossy(&r.body[..r.body.len().min(40)])
    );
    r
}

/// RFC 9110 §8.8.3: a strong ETag changes whenever the bytes do, even when
/// size and mtime second stay (new nanoseconds, a new inode by rename, a
/// new size), and the old tag then no longer matches.
#[test]
fn the_etag_changes_with_the_bytes_even_at_the_same_size_and_second_rfc9110_8_8_3() {
    type Change = fn(&std::path::Path);
    let cases: &[(&str, Change, &[u8])] = &[
        (
            "new nanoseconds",
            |p| {
                std::fs::write(p, b"bbbb").unwrap();
                set_mtime(p, at(T0, 200_000_000));
            },
            b"bbbb",
        ),
        (
            "replaced by rename, same size and mtime",
            |p| {
                let tmp = p.with_file_name(".new");
                std::fs::write(&tmp, b"new!").unwrap();
                set_mtime(&tmp, at(T0, 100_000_000));
                std::fs::rename(&tmp, p).unwrap();
            },
            b"new!",
        ),
        (
            "grown, same mtime",
            |p| {
                std::fs::write(p, b"0123456789").unwrap();
                set_mtime(p, at(T0, 100_000_000));
            },
            b"0123456789",
        ),
    ];
    table(
        cases,
        |c| c.0.to_string(),
        |&(_, change, new)| {
            let dir = site(&[("a.txt", b"aaaa")]);
            let p = dir.path().join("a.txt");
            set_mtime(&p, at(T0, 100_000_000));
            // One worker: one cache to revalidate.
            let s = Server::start(dir.path(), &["--threads", "1"]);
            let e1 = etag(&s.ask("GET", "/a.txt", &[]));
            change(&p);
            let r = until_served(&s, "/a.txt", &[], new);
            let e2 = etag(&r);
            assert_ne!(e1, e2, "new bytes under the old ETag");
            assert_eq!(r.header("Last-Modified"), Some(T0_IMF));
            let r = s.ask(
                "GET",
                "/a.txt",
                &[
                    ("If-None-Match", &e1),
                    ("If-Range", &e1),
                    ("Range", "bytes=1-"),
                ],
            );
            assert_200(&r, new);
            assert_eq!(r.header("ETag"), Some(e2.as_str()));
        },
    );
}

#[test]
fn a_folder_served_by_its_index_html_has_the_index_validators() {
    let dir = site(&[("index.html", b"<p>home</p>")]);
    set_mtime(&dir.path().join("index.html"), at(T0, 0));
    let s = Server::start(dir.path(), &[]);
    let e = etag(&s.ask("GET", "/index.html", &[]));
    let r = s.ask("GET", "/", &[]);
    assert_200(&r, b"<p>home</p>");
    assert_eq!(r.header("ETag"), Some(e.as_str()));
    assert_eq!(r.header("Last-Modified"), Some(T0_IMF));
    assert_304(&s.ask("GET", "/", &[("If-None-Match", &e)]), &e, T0_IMF);
}

/// Request fields; `{E}` in a value stands for the current ETag.
type Fields = Vec<(&'static str, String)>;

/// What a conditional GET or HEAD of f.bin (1000 bytes, mtime T0) gets.
#[derive(Clone, Copy, Debug)]
enum Want {
    Full,
    NotModified,
    Failed,
    /// 206 with these bytes.
    Part(usize, usize),
}

/// RFC 9110 §13.1, §13.2.2: each precondition alone and in the order of
/// evaluation: If-Match (strong comparison, lists, `*`), then
/// If-Unmodified-Since (ignored with If-Match, or invalid, or a list), then
/// If-None-Match (weak comparison), then If-Modified-Since (ignored with
/// If-None-Match, or invalid), then Range. `{E}` is the current ETag.
#[test]
fn conditional_requests_get_one_exact_answer_rfc9110_13() {
    use Want::*;
    let (dir, data) = bin_site(1000);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&s.ask("GET", "/f.bin", &[]));
    let bare = e.trim_matches('"').to_owned();
    // ETags are lower-case hex: upper-casing makes another tag.
    let upper = e.to_uppercase();
    assert_ne!(upper, e);
    let before = imf(T0 - 1);
    let after = imf(T0 + 1);
    let far_future = "Fri, 31 Dec 9999 23:59:59 GMT";
    let far_past = "Mon, 01 Jan 1900 00:00:00 GMT";
    let next_year = imf(now_secs() + 86_400 * 365);
    let tomorrow = imf(now_secs() + 86_400);
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Fields, Want)> = vec![
        // If-Match (§13.1.1): strong comparison.
        ("IM current", "GET", vec![("If-Match", "{E}".into())], Full),
        ("IM list with it", "GET", vec![("If-Match", "\"nope\", {E} ,\"other\"".into())], Full),
        ("IM star", "GET", vec![("If-Match", "*".into())], Full),
        ("IM other", "GET", vec![("If-Match", "\"not-the-tag\"".into())], Failed),
        ("IM other, HEAD", "HEAD", vec![("If-Match", "\"not-the-tag\"".into())], Failed),
        ("IM weak current", "GET", vec![("If-Match", "W/{E}".into())], Failed),
        ("IM lines form one list", "GET", vec![("If-Match", "\"a\"".into()), ("If-Match", "{E}".into())], Full),
        // If-Unmodified-Since (§13.1.4).
        ("IUS before", "GET", vec![("If-Unmodified-Since", before.clone())], Failed),
        ("IUS equal", "GET", vec![("If-Unmodified-Since", T0_IMF.into())], Full),
        ("IUS after", "GET", vec![("If-Unmodified-Since", after.clone())], Full),
        ("IUS 1994", "GET", vec![("If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT".into())], Failed),
        ("IUS far future", "GET", vec![("If-Unmodified-Since", far_future.into())], Full),
        ("IUS 1900", "GET", vec![("If-Unmodified-Since", far_past.into())], Failed),
        ("IUS with IM current", "GET", vec![("If-Match", "{E}".into()), ("If-Unmodified-Since", imf(T0 - 1000))], Full),
        ("IUS with IM star", "GET", vec![("If-Match", "*".into()), ("If-Unmodified-Since", imf(T0 - 1000))], Full),
        ("IUS invalid word", "GET", vec![("If-Unmodified-Since", "yesterday".into())], Full),
        ("IUS day 32", "GET", vec![("If-Unmodified-Since", "Sun, 32 Sep 2001 01:46:40 GMT".into())], Full),
        ("IUS a number", "GET", vec![("If-Unmodified-Since", "1000000000".into())], Full),
        ("IUS empty", "GET", vec![("If-Unmodified-Since", "".into())], Full),
        ("IUS two lines", "GET", vec![("If-Unmodified-Since", imf(T0 - 100)), ("If-Unmodified-Since", imf(T0 - 100))], Full),
        // If-None-Match (§13.1.2): weak comparison.
        ("INM current", "GET", vec![("If-None-Match", "{E}".into())], NotModified),
        ("INM weak current", "GET", vec![("If-None-Match", "W/{E}".into())], NotModified),
        ("INM list with it", "GET", vec![("If-None-Match", "\"a\",W/\"b\" ,  {E}".into())], NotModified),
        ("INM list with empty elements", "GET", vec![("If-None-Match", "\"a\", , {E},".into())], NotModified),
        ("INM lines form one list", "GET", vec![("If-None-Match", "\"a\"".into()), ("If-None-Match", "{E}".into())], NotModified),
        ("INM star", "GET", vec![("If-None-Match", "*".into())], NotModified),
        ("INM current, HEAD", "HEAD", vec![("If-None-Match", "{E}".into())], NotModified),
        ("INM others", "GET", vec![("If-None-Match", "\"a\", \"b\"".into())], Full),
        ("INM weak other", "GET", vec![("If-None-Match", "W/\"a\"".into())], Full),
        ("INM empty tag", "GET", vec![("If-None-Match", "\"\"".into())], Full),
        ("INM without quotes", "GET", vec![("If-None-Match", bare.clone())], Full),
        ("INM upper-cased", "GET", vec![("If-None-Match", upper.clone())], Full),
        ("IM upper-cased", "GET", vec![("If-Match", upper.clone())], Failed),
        // If-Modified-Since (§13.1.3).
        ("IMS equal", "GET", vec![("If-Modified-Since", T0_IMF.into())], NotModified),
        ("IMS equal, HEAD", "HEAD", vec![("If-Modified-Since", T0_IMF.into())], NotModified),
        ("IMS after", "GET", vec![("If-Modified-Since", after.clone())], NotModified),
        ("IMS next year", "GET", vec![("If-Modified-Since", next_year)], NotModified),
        ("IMS far future", "GET", vec![("If-Modified-Since", far_future.into())], NotModified),
        ("IMS before", "GET", vec![("If-Modified-Since", before.clone())], Full),
        ("IMS epoch", "GET", vec![("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT".into())], Full),
        ("IMS RFC 850 epoch", "GET", vec![("If-Modified-Since", "Thursday, 01-Jan-70 00:00:00 GMT".into())], Full),
        ("IMS 1900", "GET", vec![("If-Modified-Since", far_past.into())], Full),
        ("IMS RFC 850 equal", "GET", vec![("If-Modified-Since", "Sunday, 09-Sep-01 01:46:40 GMT".into())], NotModified),
        ("IMS asctime equal", "GET", vec![("If-Modified-Since", "Sun Sep  9 01:46:40 2001".into())], NotModified),
        ("IMS asctime two-digit day", "GET", vec![("If-Modified-Since", "Sun Sep 09 01:46:40 2001".into())], NotModified),
        ("IMS RFC 850 before", "GET", vec![("If-Modified-Since", "Saturday, 08-Sep-01 01:46:40 GMT".into())], Full),
        ("IMS asctime before", "GET", vec![("If-Modified-Since", "Sat Sep  8 01:46:40 2001".into())], Full),
        ("IMS garbage", "GET", vec![("If-Modified-Since", "garbage".into())], Full),
        ("IMS hour 25", "GET", vec![("If-Modified-Since", "Sun, 09 Sep 2001 25:46:40 GMT".into())], Full),
        ("IMS month Foo", "GET", vec![("If-Modified-Since", "Sun, 09 Foo 2001 01:46:40 GMT".into())], Full),
        ("IMS ISO 8601", "GET", vec![("If-Modified-Since", "2001-09-09T01:46:40Z".into())], Full),
        ("IMS empty", "GET", vec![("If-Modified-Since", "".into())], Full),
        ("IMS two lines", "GET", vec![("If-Modified-Since", T0_IMF.into()), ("If-Modified-Since", T0_IMF.into())], Full),
        ("IMS with a stale INM", "GET", vec![("If-None-Match", "\"stale\"".into()), ("If-Modified-Since", tomorrow)], Full),
        // Order (§13.2.2).
        ("failing IM beats matching INM", "GET", vec![("If-None-Match", "{E}".into()), ("If-Match", "\"other\"".into())], Failed),
        ("failing IUS beats IMS", "GET", vec![("If-Modified-Since", T0_IMF.into()), ("If-Unmodified-Since", imf(T0 - 5))], Failed),
        ("passing IM then matching INM", "GET", vec![("If-Match", "{E}".into()), ("If-None-Match", "{E}".into())], NotModified),
        ("failing IM beats a range", "GET", vec![("If-Match", "\"x\"".into()), ("Range", "bytes=0-9".into())], Failed),
        ("failing IM beats an unsatisfiable range", "GET", vec![("If-Match", "\"x\"".into()), ("Range", "bytes=5000-".into())], Failed),
        ("matching INM beats a range", "GET", vec![("If-None-Match", "{E}".into()), ("Range", "bytes=0-9".into())], NotModified),
        ("IMS beats an unsatisfiable range", "GET", vec![("If-Modified-Since", T0_IMF.into()), ("Range", "bytes=5000-".into())], NotModified),
        ("other INM lets the range apply", "GET", vec![("If-None-Match", "\"x\"".into()), ("Range", "bytes=0-9".into())], Part(0, 9)),
    ];
    table(
        &cases,
        |c| c.0.to_string(),
        |(_, method, fields, want)| {
            let fields: Vec<(&str, String)> = fields
                .iter()
                .map(|(n, v)| (*n, v.replace("{E}", &e)))
                .collect();
            let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let r = s.ask(method, "/f.bin", &fields);
            match *want {
                Full if *method == "HEAD" => {
                    assert_eq!(r.status_line, OK);
                    assert_eq!(r.header("Content-Length"), Some("1000"));
                }
                Full => assert_200(&r, &data),
                NotModified => assert_304(&r, &e, T0_IMF),
                Failed => assert_412(&r),
                Part(a, b) => {
                    assert_eq!(r.status_line, PARTIAL);
                    assert_eq!(r.body, &data[a..=b]);
                }
            }
        },
    );
}

/// RFC 9110 §15.4.5: a 304 has no content and carries the 200's ETag,
/// Last-Modified, Cache-Control and Vary (not its Content-Type or
/// Content-Length); several 304s on one connection, then a 200.
#[test]
fn a_304_has_no_body_and_the_200s_validators_rfc9110_15_4_5() {
    let dir = site(&[("a.css", b"body{}"), ("a.css.gz", b"gz")]);
    let s = Server::start(dir.path(), &["--cache-control", "max-age=60"]);
    let ok = s.ask("GET", "/a.css", &[]);
    let e = etag(&ok);
    let lm = ok.header("Last-Modified").unwrap().to_owned();
    let mut c = s.connect();
    for _ in 0..3 {
        let r = ask_on(&mut c, "GET", "/a.css", &[("If-None-Match", &e)]);
        assert_304(&r, &e, &lm);
        assert_eq!(r.header("Cache-Control"), Some("max-age=60"));
        assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
        let r = ask_on(&mut c, "HEAD", "/a.css", &[("If-Modified-Since", &lm)]);
        assert_304(&r, &e, &lm);
    }
    let r = ask_on(&mut c, "GET", "/a.css", &[]);
    assert_200(&r, b"body{}");
}

/// RFC 9110 §13.2.1: preconditions apply only where the answer would be a
/// 2xx for a selected representation: not to a 404, a redirect, OPTIONS or
/// a refused method.
#[test]
fn preconditions_are_not_evaluated_where_no_representation_is_selected_rfc9110_13_2_1() {
    let dir = site(&[("sub/a.txt", b"a"), ("f.txt", b"f")]);
    let s = Server::start(dir.path(), &[]);
    let conditions = [
        ("If-Match", "*"),
        ("If-Match", "\"nope\""),
        ("If-Unmodified-Since", T0_IMF),
        ("If-None-Match", "*"),
        ("If-Modified-Since", "Fri, 31 Dec 9999 23:59:59 GMT"),
    ];
    let mut cases = Vec::new();
    for h in conditions {
        cases.push(("GET", "/missing.txt", h, None, NOT_FOUND));
        cases.push(("GET", "/missing.txt", h, Some("bytes=0-0"), NOT_FOUND));
        cases.push(("GET", "/sub", h, None, MOVED));
        cases.push(("OPTIONS", "/f.txt", h, None, NO_CONTENT));
        cases.push(("POST", "/f.txt", h, None, NOT_ALLOWED));
        cases.push(("DELETE", "/f.txt", h, None, NOT_ALLOWED));
    }
    table(
        &cases,
        |c| format!("{} {} {:?} {:?}", c.0, c.1, c.2, c.3),
        |&(method, path, h, range, status)| {
            let mut fields = vec![h, ("Content-Length", "0")];
            if let Some(r) = range {
                fields.push(("Range", r));
            }
            assert_eq!(s.ask(method, path, &fields).status_line, status);
        },
    );
}

#[test]
fn pipelined_304s_412s_and_206s_stay_in_order_and_exactly_framed() {
    let (dir, data) = bin_site(300);
    let s = Server::start(dir.path(), &[]);
    let e = etag(&s.ask("GET", "/f.bin", &[]));
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
    assert_eq!(rs.len(), 7);
    assert_304(&rs[0], &e, T0_IMF);
    assert_412(&rs[1]);
    assert_eq!(rs[2].status_line, PARTIAL);
    assert_eq!(rs[2].body, &data[5..=9]);
    assert_eq!(rs[3].status_line, UNSATISFIABLE);
    assert_eq!(rs[4].status_line, OK);
    assert_eq!(rs[4].header("Content-Length"), Some("300"));
    assert_304(&rs[5], &e, T0_IMF);
    assert_200(&rs[6], &data);
}

#[test]
fn http_1_0_keep_alive_carries_304s_and_206s() {
    let (dir, data) = bin_site(1000);
    let s = Server::start(dir.path(), &[]);
    let mut c = s.connect();
    let mut send = |extra: &str| {
        let r = format!("GET /f.bin HTTP/1.0\r\nConnection: keep-alive\r\n{extra}\r\n");
        c.write_all(r.as_bytes()).expect("write");
        let r = read_response(&mut c, false).expect("response");
        assert_eq!(r.header("Connection"), Some("keep-alive"));
        r
    };
    assert_eq!(
        send(&format!("If-Modified-Since: {T0_IMF}\r\n")).status_line,
        NOT_MODIFIED
    );
    let r = send("Range: bytes=0-9\r\n");
    assert_eq!(r.status_line, PARTIAL);
    assert_eq!(r.body, &data[..10]);
    let r = send("Range: bytes=0-9,500-509\r\n");
    assert_eq!(r.status_line, PARTIAL);
    assert!(
        r.header("Content-Type")
            .unwrap()
            .starts_with("multipart/byteranges; boundary=")
    );
    assert_200(&send(""), &data);
}

/// By default files and listings are `Cache-Control: no-cache`: a browser
/// revalidates every time (cheaply, with a 304) instead of guessing a
/// freshness from Last-Modified; without sidecars, no Vary.
#[test]
fn files_and_listings_default_to_no_cache_so_browsers_always_revalidate() {
    let (dir, _) = bin_site(50);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let s = Server::start(dir.path(), &[]);
    let g = s.ask("GET", "/f.bin", &[]);
    let e = etag(&g);
    for r in [
        g,
        s.ask("GET", "/f.bin", &[("Range", "bytes=0-1")]),
        s.ask("GET", "/f.bin", &[("If-None-Match", &e)]),
    ] {
        assert_eq!(
            r.header("Cache-Control"),
            Some("no-cache"),
            "{}",
            r.status_line
        );
        assert_eq!(r.header("Vary"), None, "{}", r.status_line);
    }
    let listing = s.ask("GET", "/sub/", &[]);
    assert_eq!(listing.status_line, OK);
    assert_eq!(listing.header("Cache-Control"), Some("no-cache"));
    let listing_304 = s.ask("GET", "/sub/", &[("If-None-Match", "*")]);
    assert_eq!(listing_304.status_line, NOT_MODIFIED);
    assert_eq!(listing_304.header("Cache-Control"), Some("no-cache"));
    assert_eq!(
        s.get("/missing").header("Cache-Control"),
        None,
        "not on errors"
    );
}

/// --cache-control VALUE and --no-cache go on 200, HEAD, 206 and 304
/// answers, not on errors.
#[test]
fn cache_control_flags_are_sent_on_successes_and_304s_not_on_errors() {
    let (dir, data) = bin_site(50);
    for (flags, cc) in [
        (
            &["--cache-control", "public, max-age=31536000, immutable"][..],
            "public, max-age=31536000, immutable",
        ),
        (&["--no-cache"], "no-cache"),
    ] {
        let s = Server::start(dir.path(), flags);
        let g = s.ask("GET", "/f.bin", &[]);
        assert_200(&g, &data);
        let e = etag(&g);
        for r in [
            g,
            s.ask("HEAD", "/f.bin", &[]),
            s.ask("GET", "/f.bin", &[("Range", "bytes=0-1")]),
            s.ask("GET", "/f.bin", &[("If-None-Match", &e)]),
            s.ask("GET", "/f.bin", &[("If-Modified-Since", T0_IMF)]),
        ] {
            assert_eq!(r.header("Cache-Control"), Some(cc), "{}", r.status_line);
        }
        assert_eq!(s.ask("GET", "/missing", &[]).header("Cache-Control"), None);
    }
}

#[test]
fn curl_time_conditions_give_304_200_or_412() {
    let (dir, data) = bin_site(400);
    let s = Server::start(dir.path(), &[]);
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("o");
    let o = o.to_str().unwrap();
    let url = s.url("/f.bin");
    let code = |args: &[&str]| {
        let mut all = vec!["-w", "%{http_code}", "-o", o];
        all.extend_from_slice(args);
        all.push(&url);
        String::from_utf8(curl_ok(&all)).unwrap()
    };
    // -z DATE: If-Modified-Since.
    assert_eq!(code(&["-z", T0_IMF]), "304");
    assert_eq!(code(&["-z", &imf(T0 - 3600)]), "200");
    assert_eq!(std::fs::read(o).unwrap(), data);
    // -z FILE: the local file's mtime.
    let local = out.path().join("local");
    std::fs::write(&local, b"x").unwrap();
    set_mtime(&local, at(T0 + 10, 0));
    assert_eq!(code(&["-z", local.to_str().unwrap()]), "304");
    set_mtime(&local, at(T0 - 10, 0));
    assert_eq!(code(&["-z", local.to_str().unwrap()]), "200");
    // -z -DATE: If-Unmodified-Since.
    assert_eq!(code(&["-z", &format!("-{}", imf(T0 - 3600))]), "412");
}

/// A list field means the same however it is split into lines (RFC 9110
/// §5.3), with empty lines and lines of bare commas among them (§5.6.1:
/// empty elements are ignored), up to --max-headers lines: past it, 431.
#[test]
fn if_match_and_if_none_match_over_many_lines_with_empty_ones_are_one_list() {
    let (dir, data) = bin_site(100);
    let s = Server::start(dir.path(), &[]);
    let tag = etag(&s.ask("GET", "/f.bin", &[]));
    let lines = |name: &'static str, filler: &[&'static str], n: usize, last: &str| {
        let mut f: Vec<(&str, String)> = (0..n)
            .map(|i| (name, filler[i % filler.len()].to_owned()))
            .collect();
        f.push((name, last.to_owned()));
        f
    };
    let ask = |fields: &[(&str, String)]| {
        let refs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        s.ask("GET", "/f.bin", &refs)
    };
    let empties = ["", ",", " , ,", "\"other\""];
    assert_ok(&ask(&lines("If-Match", &empties, 40, &tag)), &data);
    assert_eq!(
        ask(&lines("If-Match", &empties, 40, "\"nope\"")).status_line,
        PRECONDITION_FAILED
    );
    assert_eq!(
        ask(&lines("If-None-Match", &empties, 40, &tag)).status_line,
        NOT_MODIFIED
    );
    assert_eq!(
        ask(&lines("If-None-Match", &["\"other\""], 40, "*")).status_line,
        NOT_MODIFIED
    );
    // Host and Connection plus 98 lines: exactly --max-headers (100).
    assert_eq!(
        ask(&lines("If-None-Match", &empties, 97, &tag)).status_line,
        NOT_MODIFIED
    );
    assert_eq!(
        ask(&lines("If-None-Match", &empties, 98, &tag)).status_line,
        HEAD_TOO_LARGE
    );
}
