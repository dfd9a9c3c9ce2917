//! Compression on the fly: br, zstd and gzip forms made once per file
//! version (and per listing), off the workers, first at a fast level and
//! then at the best; negotiated by Accept-Encoding, each with its own
//! strong ETag, never used for a range, never stale.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;

const JS_CT: &str = "text/javascript; charset=utf-8";
const ALL: &str = "gzip, deflate, br, zstd";

/// Text that compresses like real JavaScript does (about 4:1 with gzip):
/// varied identifiers and numbers, repeated keywords.
pub fn js_like(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "render", "state", "props", "value", "index", "length", "children", "node", "update",
        "effect", "context", "memo", "callback", "ref", "element", "fiber", "queue", "lane",
    ];
    let noise = pattern(len / 4 + 64, seed);
    let mut out = Vec::with_capacity(len + 128);
    let mut i = 0;
    while out.len() < len {
        let (a, b, c) = (
            noise[i % noise.len()],
            noise[(i + 1) % noise.len()],
            noise[(i + 2) % noise.len()],
        );
        let w1 = WORDS[a as usize % WORDS.len()];
        let w2 = WORDS[b as usize % WORDS.len()];
        let line = format!(
            "function {w1}_{a:x}{c:x}({w2}, i) {{ return {w2}.{w1} === {} ? i + {b} : null; }}\n",
            u32::from(c) * 31 + u32::from(a)
        );
        out.extend_from_slice(line.as_bytes());
        i += 3;
    }
    out.truncate(len);
    out
}

/// Decodes a body with the codings' own crates.
pub fn decode(coding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "br" => brotli::BrotliDecompress(&mut &body[..], &mut out).expect("valid brotli"),
        "zstd" => out = zstd::stream::decode_all(body).expect("valid zstd"),
        "gzip" => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .expect("valid gzip");
        }
        other => panic!("no decoder for {other}"),
    }
    out
}

/// Asks with `Accept-Encoding: coding` until the best pass's form of that
/// coding is served (its ETag ends in `-coding"`, not `-fast"`).
pub fn warm(s: &Server, path: &str, coding: &str) -> Response {
    let mut last = None;
    let done = wait_until(Duration::from_secs(20), || {
        let r = s.ask("GET", path, &[("Accept-Encoding", coding)]);
        let best = r.header("Content-Encoding") == Some(coding)
            && r.header("ETag")
                .is_some_and(|t| t.ends_with(&format!("-{coding}\"")));
        last = Some(r);
        best
    });
    let r = last.unwrap();
    assert!(done, "{path}: no best {coding} form: {:?}", r.headers);
    r
}

/// The identity ETag with a coding inserted before the closing quote.
fn tag_with(identity: &str, suffix: &str) -> String {
    format!("{}-{suffix}\"", identity.trim_end_matches('"'))
}

/// Every coding decodes — with its crate and with `curl --compressed` — to
/// exactly the file's bytes; Content-Length is exact; the tag is the
/// file's with the coding appended.
#[test]
fn every_coding_decodes_to_exactly_the_file() {
    let js = js_like(100 * 1024, 1);
    let dir = site(&[("app.js", &js)]);
    let s = Server::start(dir.path(), &[]);
    let plain = s.get("/app.js");
    assert_ok(&plain, &js);
    assert_eq!(plain.header("Vary"), Some("Accept-Encoding"));
    let identity_tag = plain.header("ETag").unwrap().to_owned();
    for coding in ["br", "zstd", "gzip"] {
        let r = warm(&s, "/app.js", coding);
        assert_eq!(r.status_line, OK);
        assert_eq!(r.header("Content-Type"), Some(JS_CT));
        assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
        assert_eq!(
            r.header("Content-Length"),
            Some(r.body.len().to_string().as_str())
        );
        assert_eq!(
            r.header("ETag"),
            Some(tag_with(&identity_tag, coding).as_str())
        );
        assert!(
            r.body.len() < js.len() / 3,
            "{coding}: {} bytes",
            r.body.len()
        );
        assert!(
            decode(coding, &r.body) == js,
            "{coding} decodes to other bytes"
        );
        let r = s.ask(
            "GET",
            "/app.js",
            &[("Accept-Encoding", &format!("x-{coding}"))],
        );
        if coding == "gzip" {
            assert_eq!(r.header("Content-Encoding"), Some("gzip"), "x-gzip is gzip");
        }
    }
    let features = String::from_utf8_lossy(&curl_ok(&["-V"])).to_ascii_lowercase();
    let out = tempfile::tempdir().unwrap();
    for (coding, feature) in [("br", "brotli"), ("zstd", "zstd"), ("gzip", "libz")] {
        if !features.contains(feature) {
            skip(
                "compression::every_coding_decodes_to_exactly_the_file",
                &format!("curl lacks {feature}: {coding} decoded by the crate only"),
            );
            continue;
        }
        let (o, h) = (
            out.path().join(coding),
            out.path().join(format!("{coding}.h")),
        );
        let code = curl_ok(&[
            "-w",
            "%{http_code}",
            "--compressed",
            "-H",
            &format!("Accept-Encoding: {coding}"),
            "-D",
            h.to_str().unwrap(),
            "-o",
            o.to_str().unwrap(),
            &s.url("/app.js"),
        ]);
        assert_eq!(code, b"200");
        let heads = std::fs::read_to_string(&h).unwrap().to_ascii_lowercase();
        assert!(
            heads.contains(&format!("\r\ncontent-encoding: {coding}\r\n")),
            "{heads}"
        );
        assert!(
            std::fs::read(&o).unwrap() == js,
            "curl decoded {coding} to other bytes"
        );
    }
}

/// RFC 9110 §12.5.3 with forms made on the fly: the highest weight wins,
/// then the smallest body; identity is the fallback unless excluded; with
/// identity excluded and nothing else acceptable, 406.
#[test]
fn accept_encoding_picks_by_weight_then_the_smallest_form_rfc9110_12_5_3() {
    let js = js_like(64 * 1024, 2);
    let dir = site(&[("app.js", &js)]);
    let s = Server::start(dir.path(), &[]);
    let mut len = std::collections::HashMap::new();
    for coding in ["br", "zstd", "gzip"] {
        len.insert(coding, warm(&s, "/app.js", coding).body.len());
    }
    let smallest = *["br", "zstd", "gzip"]
        .iter()
        .min_by_key(|c| len[*c])
        .unwrap();
    let smallest_of = |a: &'static str, b: &'static str| if len[b] < len[a] { b } else { a };
    let zstd_or_gzip = smallest_of("zstd", "gzip");
    #[rustfmt::skip]
    let cases: Vec<(&str, Option<&str>)> = vec![
        (ALL, Some(smallest)),
        ("*", Some(smallest)),
        ("gzip, zstd", Some(zstd_or_gzip)),
        ("zstd, gzip", Some(zstd_or_gzip)),
        ("br", Some("br")),
        ("zstd", Some("zstd")),
        ("gzip", Some("gzip")),
        ("x-gzip", Some("gzip")),
        ("GZIP;Q=1.0", Some("gzip")),
        ("br;q=0.5, gzip;q=0.8", Some("gzip")),
        ("br;q=0.5, gzip;q=0.8, zstd;q=0.9", Some("zstd")),
        ("br;q=0, *", Some(zstd_or_gzip)),
        ("*;q=0.1, gzip", Some("gzip")),
        ("identity;q=0, gzip", Some("gzip")),
        ("identity", None),
        ("identity, gzip;q=0.5", None),
        ("", None),
        ("deflate", None),
        ("compress, deflate", None),
        ("gzip;q=0, br;q=0, zstd;q=0", None),
        ("gzip;q=2", None),
        ("*;q=0, identity", None),
        ("identity;q=0, deflate", Some("406")),
        ("*;q=0", Some("406")),
        ("br;q=0, zstd;q=0, gzip;q=0, identity;q=0", Some("406")),
    ];
    let no_field = s.ask("GET", "/app.js", &[]);
    assert_eq!(no_field.header("Content-Encoding"), None);
    table(
        &cases,
        |c| format!("{:?}", c.0),
        |&(field, want)| {
            let r = s.ask("GET", "/app.js", &[("Accept-Encoding", field)]);
            assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
            match want {
                Some("406") => {
                    assert_eq!(r.status_line, "HTTP/1.1 406 Not Acceptable");
                    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
                }
                Some(coding) => {
                    assert_eq!(r.status_line, OK);
                    assert_eq!(r.header("Content-Encoding"), Some(coding));
                    assert_eq!(r.body.len(), len[coding]);
                }
                None => {
                    assert_ok(&r, &js);
                    assert_eq!(r.header("Content-Encoding"), None);
                }
            }
        },
    );
}

/// When identity is excluded and no form is ready: a small body is
/// compressed at once (its fast form), a large one gets 503 with
/// Retry-After until its form is made.
#[test]
fn identity_excluded_before_a_form_is_ready_gets_one_made_or_503() {
    let small = js_like(600, 3);
    let mid = js_like(100 * 1024, 4);
    let big = js_like(600 * 1024, 5);
    let dir = site(&[("small.js", &small), ("mid.js", &mid), ("big.js", &big)]);
    let s = Server::start(dir.path(), &[]);
    let only_br = [("Accept-Encoding", "identity;q=0, br")];
    for (path, data) in [("/small.js", &small), ("/mid.js", &mid)] {
        let identity_tag = s.ask("HEAD", path, &[]).header("ETag").unwrap().to_owned();
        let r = s.ask("GET", path, &only_br);
        assert_eq!(r.status_line, OK, "{path}");
        assert_eq!(r.header("Content-Encoding"), Some("br"));
        assert_eq!(
            r.header("ETag"),
            Some(tag_with(&identity_tag, "br-quick").as_str())
        );
        assert!(decode("br", &r.body) == *data, "{path}");
    }
    let r = s.ask("GET", "/big.js", &only_br);
    assert_eq!(r.status_line, UNAVAILABLE);
    assert_eq!(r.header("Retry-After"), Some("1"));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    let r = warm(&s, "/big.js", "br");
    assert!(decode("br", &r.body) == big);
    let r = s.ask("GET", "/big.js", &only_br);
    assert_eq!(r.header("Content-Encoding"), Some("br"));
    // Under 1 KiB a form is made only for a client that takes nothing else.
    let r = s.ask("GET", "/small.js", &[("Accept-Encoding", ALL)]);
    assert_ok(&r, &small);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
}

/// A large body whose forms are too big for `--compress-cache` (a form
/// may take a quarter of it) is never compressed: a client refusing
/// identity gets 503 while the store finds that out, then 406 for good.
/// Was: 503 with Retry-After: 1 on every request, for ever / now: 406.
#[test]
fn a_body_whose_forms_the_cache_cannot_keep_is_406_for_a_client_refusing_identity() {
    let big = js_like(600 * 1024, 21);
    let dir = site(&[("big.js", &big)]);
    let s = Server::start(dir.path(), &["--compress-cache", "50000"]);
    let only_br = [("Accept-Encoding", "identity;q=0, br")];
    let mut statuses = Vec::new();
    let settled = wait_until(Duration::from_secs(10), || {
        let r = s.ask("GET", "/big.js", &only_br);
        assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
        statuses.push(r.status());
        r.status() != 503
    });
    assert!(settled, "still 503: {statuses:?}");
    assert_eq!(statuses.first(), Some(&503), "{statuses:?}");
    for _ in 0..3 {
        assert_eq!(s.ask("GET", "/big.js", &only_br).status(), 406);
    }
    // Everyone else gets the file as it is.
    let r = s.ask("GET", "/big.js", &[("Accept-Encoding", "br")]);
    assert_ok(&r, &big);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
}

/// Every answer for a compressible type varies by Accept-Encoding (RFC
/// 9110 §12.5.5), whatever its status: a 412 (which representation's tag
/// failed depends on it), a 416, and a file over `--compress-max` (never
/// compressed, but 406 for a client refusing identity).
/// Was: no Vary on those / now: Vary: Accept-Encoding.
#[test]
fn every_answer_for_a_compressible_type_varies_by_accept_encoding() {
    let js = js_like(40 * 1024, 22);
    let big = js_like(80 * 1024, 23);
    let dir = site(&[("app.js", &js), ("big.js", &big)]);
    let s = Server::start(dir.path(), &["--compress-max", "65536"]);
    let br_tag = warm(&s, "/app.js", "br").header("ETag").unwrap().to_owned();
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16);
    let cases: [Case; 5] = [
        (
            "/app.js",
            vec![("Accept-Encoding", "br"), ("If-Match", &br_tag)],
            200,
        ),
        (
            "/app.js",
            vec![("Accept-Encoding", "gzip"), ("If-Match", &br_tag)],
            412,
        ),
        ("/app.js", vec![("Range", "bytes=999999-")], 416),
        ("/big.js", vec![("Accept-Encoding", "br")], 200),
        (
            "/big.js",
            vec![("Accept-Encoding", "identity;q=0, br")],
            406,
        ),
    ];
    table(
        &cases,
        |c| format!("{} {:?}", c.0, c.1),
        |(path, fields, status)| {
            let r = s.ask("GET", path, fields);
            assert_eq!(r.status(), *status, "{:?}", r.headers);
            assert_eq!(r.all("Vary"), ["Accept-Encoding"]);
        },
    );
}

/// A fresh sidecar is sent for its coding rather than a form made on the
/// fly; the codings it lacks are made on the fly.
#[test]
fn a_fresh_sidecar_wins_over_a_form_of_its_coding() {
    let js = js_like(40 * 1024, 13);
    let fake_gz = b"\x1f\x8bA-HAND-MADE-SIDECAR".to_vec();
    let dir = site(&[("app.js", &js), ("app.js.gz", &fake_gz)]);
    let s = Server::start(dir.path(), &[]);
    warm(&s, "/app.js", "br");
    for field in ["gzip", "identity;q=0, gzip", "gzip, zstd;q=0.5"] {
        let r = s.ask("GET", "/app.js", &[("Accept-Encoding", field)]);
        assert_ok(&r, &fake_gz);
        assert_eq!(r.header("Content-Encoding"), Some("gzip"), "{field}");
    }
    // Smaller still: the sidecar even where br is taken too.
    let r = s.ask("GET", "/app.js", &[("Accept-Encoding", ALL)]);
    assert_ok(&r, &fake_gz);
    let r = s.ask("GET", "/app.js", &[("Accept-Encoding", "br")]);
    assert_eq!(r.header("Content-Encoding"), Some("br"));
    assert!(decode("br", &r.body) == js);
}

/// Vary on 200, 206, 304 and 406; one strong ETag per coding, and a 304
/// only for the tag of the representation selected; HEAD sends exactly
/// GET's fields.
#[test]
fn each_coding_has_its_own_etag_and_304_and_head_matches_get() {
    let js = js_like(40 * 1024, 6);
    let dir = site(&[("app.js", &js)]);
    let s = Server::start(dir.path(), &["--cache-control", "max-age=60"]);
    let identity_tag = s.get("/app.js").header("ETag").unwrap().to_owned();
    let mut tags = vec![identity_tag.clone()];
    for coding in ["br", "zstd", "gzip"] {
        tags.push(
            warm(&s, "/app.js", coding)
                .header("ETag")
                .unwrap()
                .to_owned(),
        );
    }
    for (i, (coding, tag)) in [
        ("identity", &tags[0]),
        ("br", &tags[1]),
        ("zstd", &tags[2]),
        ("gzip", &tags[3]),
    ]
    .into_iter()
    .enumerate()
    {
        let ae = [("Accept-Encoding", coding)];
        let r = s.ask("GET", "/app.js", &[ae[0], ("If-None-Match", tag)]);
        assert_eq!(r.status_line, NOT_MODIFIED, "{coding}");
        assert_eq!(r.header("ETag"), Some(tag.as_str()));
        assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
        assert_eq!(r.header("Cache-Control"), Some("max-age=60"));
        // Another coding's tag does not revalidate this one.
        let other = &tags[(i + 1) % tags.len()];
        let r = s.ask("GET", "/app.js", &[ae[0], ("If-None-Match", other)]);
        assert_eq!(r.status_line, OK, "{coding} with {other}");
        assert_eq!(r.header("ETag"), Some(tag.as_str()));
        // If-Match compares with the selected representation.
        let r = s.ask("GET", "/app.js", &[ae[0], ("If-Match", other)]);
        assert_eq!(r.status_line, PRECONDITION_FAILED);
        for fields in [vec![ae[0]], vec![ae[0], ("If-None-Match", tag.as_str())]] {
            let g = s.ask("GET", "/app.js", &fields);
            let h = s.ask("HEAD", "/app.js", &fields);
            assert_eq!(g.status_line, h.status_line, "{fields:?}");
            assert_eq!(g.comparable_headers(), h.comparable_headers(), "{fields:?}");
            assert!(h.body.is_empty());
        }
    }
    let r = s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", "identity;q=0, deflate")],
    );
    assert_eq!(r.status_line, "HTTP/1.1 406 Not Acceptable");
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
}

/// A Range is answered from the identity representation (206 of the file's
/// bytes), never by slicing a compressed form; with identity excluded the
/// Range is ignored and the whole form sent.
#[test]
fn a_range_is_answered_from_identity_never_from_a_compressed_form() {
    let js = js_like(40 * 1024, 7);
    let dir = site(&[("app.js", &js)]);
    let s = Server::start(dir.path(), &[]);
    let identity_tag = s.get("/app.js").header("ETag").unwrap().to_owned();
    let br_tag = warm(&s, "/app.js", "br").header("ETag").unwrap().to_owned();
    let r = s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", ALL), ("Range", "bytes=100-199")],
    );
    assert_eq!(r.status_line, PARTIAL);
    assert_eq!(r.body, &js[100..200]);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(
        r.header("Content-Range"),
        Some(format!("bytes 100-199/{}", js.len()).as_str())
    );
    assert_eq!(r.header("ETag"), Some(identity_tag.as_str()));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    // Several ranges: multipart of the identity bytes.
    let r = s.ask(
        "GET",
        "/app.js",
        &[("Accept-Encoding", "br"), ("Range", "bytes=0-9,20-29")],
    );
    assert_eq!(r.status_line, PARTIAL);
    assert_eq!(r.header("Content-Encoding"), None);
    assert!(
        r.header("Content-Type")
            .unwrap()
            .starts_with("multipart/byteranges")
    );
    // If-Range with the br tag: the range is of identity, whose tag differs,
    // so the whole identity representation.
    let r = s.ask(
        "GET",
        "/app.js",
        &[
            ("Accept-Encoding", "br"),
            ("Range", "bytes=0-9"),
            ("If-Range", &br_tag),
        ],
    );
    assert_ok(&r, &js);
    assert_eq!(r.header("Content-Encoding"), None);
    // Identity excluded: no range of a form, the whole form.
    let r = s.ask(
        "GET",
        "/app.js",
        &[
            ("Accept-Encoding", "identity;q=0, br"),
            ("Range", "bytes=0-9"),
        ],
    );
    assert_eq!(r.status_line, OK);
    assert_eq!(r.header("Content-Encoding"), Some("br"));
    assert_eq!(r.header("Content-Range"), None);
    assert!(decode("br", &r.body) == js);
}

/// What is not compressed: types that are compressed already (images,
/// archives, woff2), bodies under 1 KiB, files over `--compress-max`, and
/// everything under `--no-compress`. The compression threads work in the
/// order asked, so once a file asked for later is compressed, one that
/// would have been is too.
#[test]
fn what_is_not_compressed_stays_identity() {
    let js = js_like(8 * 1024, 8);
    let big_js = js_like(20 * 1024, 9);
    let text = js_like(4 * 1024, 10);
    let files: Vec<(&str, &[u8])> = vec![
        ("photo.png", &text),
        ("font.woff2", &text),
        ("font.woff", &text),
        ("bundle.zip", &text),
        ("movie.mp4", &text),
        ("tiny.js", &js[..1000]),
        ("big.js", &big_js),
        ("app.js", &js),
    ];
    let dir = site(&files);
    let s = Server::start(dir.path(), &["--compress-max", "16384"]);
    for (name, data) in &files[..7] {
        assert_ok(
            &s.ask("GET", &format!("/{name}"), &[("Accept-Encoding", ALL)]),
            data,
        );
    }
    warm(&s, "/app.js", "gzip");
    for (name, data) in &files[..7] {
        let r = s.ask("GET", &format!("/{name}"), &[("Accept-Encoding", ALL)]);
        assert_ok(&r, data);
        assert_eq!(r.header("Content-Encoding"), None, "{name}");
        // A compressible type varies by Accept-Encoding, compressed or not.
        let vary = name.ends_with(".js").then_some("Accept-Encoding");
        assert_eq!(r.header("Vary"), vary, "{name}");
    }
    // Not compressible, identity excluded: nothing acceptable.
    let r = s.ask(
        "GET",
        "/photo.png",
        &[("Accept-Encoding", "identity;q=0, br")],
    );
    assert_eq!(r.status_line, "HTTP/1.1 406 Not Acceptable");
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    let s = Server::start(dir.path(), &["--no-compress"]);
    for _ in 0..20 {
        let r = s.ask("GET", "/app.js", &[("Accept-Encoding", ALL)]);
        assert_ok(&r, &js);
        assert_eq!(r.header("Content-Encoding"), None);
        assert_eq!(r.header("Vary"), None);
    }
}

/// Every type the issue lists as compressible is; a compressed type is not.
#[test]
fn compressible_types_are_compressed() {
    let body = js_like(4 * 1024, 11);
    let names = [
        "a.html",
        "a.css",
        "a.js",
        "a.mjs",
        "a.json",
        "a.xml",
        "a.svg",
        "a.txt",
        "a.md",
        "a.csv",
        "a.wasm",
        "a.webmanifest",
        "a.map",
        "a.ttf",
        "a.otf",
    ];
    let files: Vec<(String, &[u8])> = names.iter().map(|n| (n.to_string(), &body[..])).collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let dir = site(&refs);
    let s = Server::start(dir.path(), &[]);
    table(
        &names,
        |n| n.to_string(),
        |n| {
            let r = warm(&s, &format!("/{n}"), "gzip");
            assert!(decode("gzip", &r.body) == body);
        },
    );
}

/// A file edited between requests never yields an old compressed body: the
/// form of the version before is dropped with it. Every response decodes to
/// the bytes on disk at the time — with watches and without.
#[test]
fn an_edited_file_never_yields_an_old_compressed_body() {
    for flags in [&[][..], &["--max-watches", "0"][..]] {
        let dir = site(&[("app.js", b"")]);
        let path = dir.path().join("app.js");
        let s = Server::start(dir.path(), flags);
        let mut c = s.conn();
        let (mut compressed, mut stale) = (0, 0);
        for round in 0..60u64 {
            // Some rounds keep the length; the content always changes.
            let len = 4096 + (round as usize % 3) * 1000;
            let data = js_like(len, 100 + round);
            std::fs::write(&path, &data).unwrap();
            // Every other round, this version's forms are made before the
            // next edit, so old forms exist to be wrongly served; the last
            // request of such a round is compressed for sure.
            let warmed = round % 2 == 0;
            for i in 0..4 {
                if warmed && i == 3 {
                    warm(&s, "/app.js", "zstd");
                }
                let r = c.ask("GET", "/app.js", &[("Accept-Encoding", ALL)]);
                assert_eq!(r.status_line, OK);
                let got = match r.header("Content-Encoding") {
                    None => r.body.clone(),
                    Some(coding) => {
                        compressed += 1;
                        decode(coding, &r.body)
                    }
                };
                if got != data {
                    stale += 1;
                }
            }
        }
        assert_eq!(stale, 0, "{flags:?}: responses of an older version");
        assert!(compressed >= 30, "{flags:?}: {compressed} compressed");
    }
}

/// Listings, HTML and JSON, are compressed too (once per rendering), and a
/// changed folder's listing is never an old one's form.
#[test]
fn listings_are_compressed_and_never_stale() {
    let dir = Site::new();
    for i in 0..300 {
        dir.file(&format!("docs/file-{i:04}.txt"), b"x");
    }
    let s = Server::start(dir.path(), &[]);
    for (target, accept) in [("/docs/", "text/html"), ("/docs/", "application/json")] {
        let plain = s.ask("GET", target, &[("Accept", accept)]);
        assert_eq!(plain.status_line, OK);
        assert_eq!(plain.header("Vary"), Some("Accept, Accept-Encoding"));
        let mut last = None;
        let ok = wait_until(Duration::from_secs(20), || {
            let r = s.ask(
                "GET",
                target,
                &[("Accept", accept), ("Accept-Encoding", "br")],
            );
            let done = r.header("Content-Encoding") == Some("br");
            last = Some(r);
            done
        });
        let r = last.unwrap();
        assert!(ok, "{accept} listing never compressed");
        assert_eq!(r.header("Vary"), Some("Accept, Accept-Encoding"));
        assert_eq!(r.header("Content-Type"), plain.header("Content-Type"));
        assert!(
            r.body.len() < plain.body.len() / 4,
            "{} of {}",
            r.body.len(),
            plain.body.len()
        );
        assert!(decode("br", &r.body) == plain.body, "{accept}");
        let h = s.ask(
            "HEAD",
            target,
            &[("Accept", accept), ("Accept-Encoding", "br")],
        );
        assert_eq!(h.comparable_headers(), r.comparable_headers());
    }
    // A listing not yet made, for a client that takes only br: made, then
    // compressed at once.
    dir.file("other/a.txt", b"a");
    let r = s.ask("GET", "/other/", &[("Accept-Encoding", "identity;q=0, br")]);
    assert_eq!(r.status_line, OK);
    assert_eq!(r.header("Content-Encoding"), Some("br"));
    assert!(String::from_utf8_lossy(&decode("br", &r.body)).contains("a.txt"));
    let r = s.ask("GET", "/other/", &[("Accept-Encoding", "identity;q=0")]);
    assert_eq!(r.status_line, "HTTP/1.1 406 Not Acceptable");
    assert_eq!(r.header("Vary"), Some("Accept, Accept-Encoding"));
    for round in 0..20 {
        let name = format!("new-{round}.txt");
        dir.file(&format!("docs/{name}"), b"y");
        for _ in 0..3 {
            let r = s.ask("GET", "/docs/", &[("Accept-Encoding", ALL)]);
            let body = match r.header("Content-Encoding") {
                Some(coding) => decode(coding, &r.body),
                None => r.body.clone(),
            };
            assert!(
                String::from_utf8_lossy(&body).contains(&name),
                "round {round}"
            );
        }
    }
}

/// While many large files are compressed, small requests on the same
/// (single) worker are still answered at once: no worker compresses a
/// large body itself. The bound is generous; the figure is in the closing
/// note of the issue.
#[test]
fn a_flood_of_large_files_never_stalls_small_requests() {
    let _serial = serial();
    let dir = Site::new();
    let big = js_like(1 << 20, 12);
    for i in 0..24 {
        let mut data = big.clone();
        data[..8].copy_from_slice(format!("{i:08}").as_bytes());
        dir.file(&format!("big-{i}.js"), &data);
    }
    dir.file("small.txt", b"small");
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let addr = s.addr;
    let flood: Vec<_> = (0..2)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = connect(addr);
                // Until a dozen compressed responses came back (forms were
                // made while the flood went on): at most 60 s, since the
                // compression threads run at a low priority and a loaded
                // machine may give them little time.
                let mut compressed = 0;
                let deadline = Instant::now() + Duration::from_secs(60);
                for n in 0..1_000_000 {
                    if Instant::now() > deadline {
                        break;
                    }
                    let path = format!("/big-{}.js", (n * 2 + t) % 24);
                    let r = ask_on(&mut c, "GET", &path, &[("Accept-Encoding", ALL)]);
                    assert_eq!(r.status(), 200);
                    compressed += usize::from(r.header("Content-Encoding").is_some());
                    if compressed == 12 {
                        break;
                    }
                }
                compressed
            })
        })
        .collect();
    let (mut worst, mut small) = (Duration::ZERO, 0);
    while small < 100_000 && !flood.iter().all(|f| f.is_finished()) {
        let t = Instant::now();
        let r = s.get("/small.txt");
        let took = t.elapsed();
        worst = worst.max(took);
        small += 1;
        assert_eq!(r.body, b"small");
        assert!(
            took < Duration::from_secs(2),
            "a small request took {took:?}"
        );
    }
    let compressed: usize = flood.into_iter().map(|f| f.join().unwrap()).sum();
    assert_eq!(
        compressed, 24,
        "the flood was not compressed: nothing was tested"
    );
    eprintln!(
        "compression flood: {small} small requests, slowest {worst:?}; \
         {compressed} large responses compressed"
    );
}

/// The store keeps its accounted bytes within `--compress-cache` however
/// much is compressed, least recently used out.
#[test]
fn compressed_forms_stay_within_their_budget() {
    use ferry::fs::budget::FdBudget;
    use ferry::fs::compress::{Compressor, Source};
    let budget = 100_000;
    let c = Compressor::start(budget, FdBudget::new(100)).unwrap();
    let mut made = 0usize;
    for id in 0..20u64 {
        let data: Arc<[u8]> = js_like(30_000, 200 + id).into();
        c.ask(id, "\"t\"", || Some(Source::Bytes(data)));
        assert!(c.held() <= budget);
        // One at a time, so every version is compressed (the queue is
        // bounded).
        let done = wait_until(Duration::from_secs(20), || {
            assert!(c.held() <= budget, "{} held of {budget}", c.held());
            c.forms(id)
                .iter()
                .all(|f| f.as_ref().is_some_and(|f| f.best))
        });
        assert!(done, "version {id} not compressed");
        made += c
            .forms(id)
            .iter()
            .flatten()
            .map(|f| f.len as usize)
            .sum::<usize>();
    }
    assert!(c.held() <= budget, "{} held of {budget}", c.held());
    assert!(
        made > budget * 2,
        "only {made} bytes made: the budget was not tested"
    );
    // The oldest are gone, the newest kept.
    assert!(c.forms(0).iter().all(Option::is_none));
    assert!(c.forms(19).iter().all(Option::is_some));
}
