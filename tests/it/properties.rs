//! Properties of the parsers and the semantics, called on the library
//! directly: the fuzz targets' properties (fuzz/fuzz_targets/*.rs) as
//! proptest properties, so `cargo test` checks them on stable without
//! libFuzzer (the checks are shared: tests/fuzz_checks/mod.rs), and the
//! request parser's, the chunked decoder's and the range parser's own.
//!
//! - head: the request head parser + body framing fed the way the server
//!   feeds it gives the same trace however the bytes are split;
//! - conditional: dates (parse, format → parse), entity-tag lists,
//!   `evaluate` / `if_range_holds` on arbitrary field values;
//! - accept_encoding: the choice is on offer, acceptable, the highest
//!   weight and among equals the smallest; lines are one list, any case;
//! - path: `clean_path` results have no `..`, empty, dot or dotfile
//!   segment, no backslash, NUL or leading `/`, and stay under the root.
//!
//! Each `raw_*` test also runs the libFuzzer entry function itself on
//! random bytes and on the seed corpus.

use ferry::h1::Limits;
use ferry::h1::chunked::ChunkedDecoder;
use ferry::h1::parse::parse;
use proptest::prelude::*;

use crate::fuzz_checks::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn bytes_of(v: &[&str]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

// ---------------------------------------------------------------------------
// head
// ---------------------------------------------------------------------------

/// One request: a line, some fields, maybe a body matching (or not) its
/// framing; pieces of garbage now and then.
fn request_ish() -> impl Strategy<Value = Vec<u8>> {
    let method = prop::sample::select(bytes_of(&[
        "GET", "HEAD", "POST", "OPTIONS", "PUT", "CONNECT", "get", "BREW", "G\\T", "",
    ]));
    let target = prop::sample::select(bytes_of(&[
        "/",
        "/a/b?x=1",
        "*",
        "http://example.com:80/p",
        "HTTP://h",
        "/%2e%2e/x",
        "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ftp://x/",
        "/a#f",
        "example.com:443",
    ]));
    let version = prop::sample::select(bytes_of(&[
        "HTTP/1.1",
        "HTTP/1.0",
        "HTTP/1.2",
        "HTTP/2.0",
        "HTTP/1.1x",
        "http/1.1",
    ]));
    let field = prop::sample::select(bytes_of(&[
        "Host: h",
        "Host: [::1]:8000",
        "Host: a b",
        "Host: h",
        "Content-Length: 5",
        "Content-Length: 0",
        "Content-Length: 3, 3",
        "Content-Length: 3, 4",
        "Content-Length: 99999",
        "Content-Length: 18446744073709551615",
        "Transfer-Encoding: chunked",
        "Transfer-Encoding: gzip, chunked",
        "Transfer-Encoding: chunked, gzip",
        "Transfer-Encoding: chunked;foo=bar",
        "Connection: close",
        "Connection: keep-alive",
        "Expect: 100-continue",
        "Range: bytes=0-1",
        "If-None-Match: \"x\"",
        "X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        " folded",
        "Bad Name: x",
    ]));
    let body = prop::sample::select(bytes_of(&[
        "",
        "hello",
        "abc",
        "5\r\nhello\r\n0\r\n\r\n",
        "3;e=1\r\nabc\r\n0\r\nT: x\r\n\r\n",
        "0\r\n\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "ffffffffffffffff\r\n",
        "10000\r\n",
        // RFC 9112 §7.1 grammar: extensions, quoted strings, trailers.
        "3 zzz\r\nabc\r\n0\r\n\r\n",
        "3 ; e = v ;f\r\nabc\r\n0\r\n\r\n",
        "3;a=\"x\r\nabc\r\n0\r\n\r\n",
        "3;a=\"q\\\"\"\r\nabc\r\n0\r\n\r\n",
        "3;a=\"é\"\r\nabc\r\n0\r\n\r\n",
        "0\r\nGET /x HTTP/1.1\r\n\r\n",
        "0\r\nX : y\r\n\r\n",
        "0\r\nX: y\r\n folded\r\n\r\n",
        "0\r\nX-T: v\r\n\r\n",
        // §7.1.1: whitespace may not end a chunk line.
        "3 \r\nabc\r\n0\r\n\r\n",
        "3;e=v\t\r\nabc\r\n0\r\n\r\n",
        "3;e=\"v\" ;f\r\nabc\r\n0 \r\n\r\n",
    ]));
    let eol = prop::sample::select(bytes_of(&["\r\n", "\r\n", "\r\n", "\n"]));
    let garbage = prop::collection::vec(any::<u8>(), 0..3);
    (
        method,
        target,
        version,
        prop::collection::vec(field, 0..5),
        body,
        eol,
        garbage,
        0u8..8,
    )
        .prop_map(|(m, t, v, fields, body, eol, garbage, where_)| {
            let mut r = Vec::new();
            if where_ == 7 {
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(&m);
            r.push(b' ');
            r.extend_from_slice(&t);
            r.push(b' ');
            r.extend_from_slice(&v);
            r.extend_from_slice(&eol);
            for (i, f) in fields.iter().enumerate() {
                if where_ as usize == i {
                    r.extend_from_slice(&garbage);
                }
                r.extend_from_slice(f);
                r.extend_from_slice(&eol);
            }
            r.extend_from_slice(&eol);
            r.extend_from_slice(&body);
            r
        })
}

/// A connection's input: pipelined requests, maybe cut short.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(request_ish(), 1..4), any::<u16>()).prop_map(|(reqs, cut)| {
        let mut s = reqs.concat();
        if cut % 3 == 0 && !s.is_empty() {
            s.truncate(usize::from(cut) % s.len());
        }
        s
    })
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn head_and_body_framing_do_not_depend_on_how_the_bytes_are_split(
        s in stream(),
        sel in any::<u8>(),
        cuts in prop::collection::vec(0usize..600, 0..12),
    ) {
        let (limits, max_body) = limits_for(sel);
        check_head_stream(&s, &cuts, limits, max_body);
    }

    #[test]
    fn raw_head_entry_on_random_bytes(data in prop::collection::vec(any::<u8>(), 0..300)) {
        fuzz_head(&data);
    }
}

// ---------------------------------------------------------------------------
// list fields: however split into lines
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn a_list_field_means_the_same_however_it_is_split_into_lines(
        tags in prop::collection::vec(prop::sample::select(bytes_of(&[
            "\"abc\"", "W/\"abc\"", "\"x\"", "\"y\"", "*", "gzip", "br;q=0.5",
            "identity;q=0", "application/json", "text/html;q=0.2", "*/*;q=0.1",
        ])), 1..40),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        check_list_lines(&tags, &cuts);
    }
}

#[test]
fn head_model_sees_pipelined_requests_and_bodies() {
    let s = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
GET /x";
    let t = run_split(s, &[], limits_for(0).0, 1 << 20);
    assert_eq!(t.events.len(), 4, "{t:?}");
    assert_eq!(t.events[1], Event::BodyDone { len: 5 });
    assert_eq!(t.events[3], Event::BodyDone { len: 13 });
    assert_eq!(
        t.end,
        End::PartialHead {
            buffered: 6,
            deferred: None,
        }
    );
    check_head_stream(s, &[1, 50, 51, 52, 90], limits_for(0).0, 1 << 20);
}

// ---------------------------------------------------------------------------
// conditional: dates, entity tags, preconditions
// ---------------------------------------------------------------------------

/// Dates in the three forms, near misses of them, and garbage.
fn date_ish() -> impl Strategy<Value = Vec<u8>> {
    let good = (ferry::http::date::EARLIEST..=ferry::http::date::LATEST)
        .prop_map(|t| ferry::http::date::format(t).into_bytes());
    let mutated =
        (good.clone(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut d, i, b)| {
            let i = i.index(d.len());
            d[i] = b"0123456789 ,:-GMTa"[usize::from(b) % 18];
            d
        });
    let fixed = prop::sample::select(bytes_of(&[
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Mon, 01 Jan 1900 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Sat, 01 Jan 0000 00:00:00 GMT",
        "Thu, 01 Jan 1970 00:00:60 GMT",
        "Wed, 31 Dec 1969 23:59:60 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        " Sun, 06 Nov 1994 08:49:37 GMT ",
        "",
    ]));
    prop_oneof![
        good,
        mutated,
        fixed,
        prop::collection::vec(any::<u8>(), 0..40)
    ]
}

fn etag_list_ish() -> impl Strategy<Value = Vec<u8>> {
    let atom = prop::sample::select(bytes_of(&[
        "\"abc\"",
        "W/\"abc\"",
        "\"x\"",
        "*",
        ",",
        " ",
        "\"",
        "W/",
        "\"a,b\"",
        "\"\"",
        "w/\"abc\"",
        "\"a\"b\"",
        "\t",
    ]));
    prop::collection::vec(
        prop_oneof![
            4 => atom,
            1 => prop::collection::vec(any::<u8>(), 0..3)
        ],
        0..6,
    )
    .prop_map(|v| v.concat())
}

prop_compose! {
    fn cond_input()(
        etag in prop::option::of(prop::sample::select(bytes_of(&["\"abc\"", "\"x\"", "W/\"abc\"", ""]))),
        im in prop::collection::vec(etag_list_ish(), 0..3),
        inm in prop::collection::vec(etag_list_ish(), 0..3),
        ims in prop::option::of(date_ish()),
        ius in prop::option::of(date_ish()),
        ir in prop::option::of(prop_oneof![date_ish(), etag_list_ish()]),
        repeated in 0u8..8,
        lm in prop::option::of(prop_oneof![
            Just(784_111_777i64),
            ferry::http::date::EARLIEST..=ferry::http::date::LATEST,
            any::<i64>()
        ]),
        now in prop_oneof![Just(784_111_778i64), any::<i64>()],
    ) -> (Option<Vec<u8>>, Vec<Vec<u8>>, Vec<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>, u8, Option<i64>, i64) {
        (etag, im, inm, ims, ius, ir, repeated, lm, now)
    }
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn any_i64_formats_to_a_date_that_parses_back(secs in prop_oneof![
        any::<i64>(),
        ferry::http::date::EARLIEST..=ferry::http::date::LATEST,
        -100_000i64..100_000,
    ]) {
        check_date_round_trip(secs);
    }

    #[test]
    fn parsed_dates_are_in_range_and_round_trip(v in date_ish()) {
        check_date_value(&v);
    }

    #[test]
    fn entity_tag_lists_tokenize_within_the_input(v in etag_list_ish()) {
        check_etag_list(&v);
    }

    #[test]
    fn preconditions_never_panic_and_keep_their_rules(c in cond_input()) {
        let (etag, im, inm, ims, ius, ir, repeated, lm, now) = c;
        let input = CondInput {
            if_match: im.iter().map(Vec::as_slice).collect(),
            if_none_match: inm.iter().map(Vec::as_slice).collect(),
            if_modified_since: ims.as_deref(),
            if_unmodified_since: ius.as_deref(),
            if_range: ir.as_deref(),
            repeated,
            etag: etag.as_deref(),
            last_modified: lm,
            now,
        };
        check_conditional(&input);
    }

    #[test]
    fn raw_conditional_entry_on_random_bytes(data in prop::collection::vec(any::<u8>(), 0..200)) {
        fuzz_conditional(&data);
    }
}

// ---------------------------------------------------------------------------
// accept_encoding
// ---------------------------------------------------------------------------

fn accept_line() -> impl Strategy<Value = Vec<u8>> {
    let coding = prop::sample::select(bytes_of(&[
        "gzip", "br", "x-gzip", "identity", "*", "deflate", "zstd", "GZIP", "Br", "",
    ]));
    let param = prop::sample::select(bytes_of(&[
        "",
        ";q=0",
        ";q=1",
        ";q=0.5",
        ";Q=0.001",
        ";q=1.000",
        ";q=1.5",
        ";q=0.0001",
        ";q=",
        " ; q=0.8",
        ";level=1",
        ";q=0.5;q=1",
        ";q=abc",
    ]));
    let element = (
        coding,
        param,
        prop::collection::vec(any::<u8>(), 0..2),
        0u8..10,
    )
        .prop_map(|(c, p, junk, k)| {
            let mut e = c;
            e.extend_from_slice(&p);
            if k == 0 {
                e.extend_from_slice(&junk);
            }
            e
        });
    prop::collection::vec(element, 0..5).prop_map(|v| v.join(&b", "[..]))
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn accept_encoding_picks_the_best_acceptable_offer(
        lines in prop::collection::vec(accept_line(), 0..4),
        on_offer in 0u8..32,
    ) {
        let lines: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let mut data = vec![on_offer & 15];
        for l in &lines {
            data.extend_from_slice(l);
            data.push(b'\n');
        }
        if lines.is_empty() {
            data[0] |= 16;
        } else {
            data.pop();
        }
        fuzz_accept_encoding(&data);
    }

    #[test]
    fn raw_accept_encoding_entry_on_random_bytes(data in prop::collection::vec(any::<u8>(), 0..100)) {
        fuzz_accept_encoding(&data);
    }
}

// ---------------------------------------------------------------------------
// path
// ---------------------------------------------------------------------------

/// Paths built from the classic traversal pieces.
fn path_ish() -> impl Strategy<Value = String> {
    let seg = prop::sample::select(vec![
        "..",
        ".",
        "%2e%2e",
        "%2E%2e",
        "%2e.",
        ".%2E",
        "%252e%252e",
        "%2f",
        "%2F",
        "%5c",
        "%5C",
        "\\",
        "..\\..",
        "%00",
        "%c0%ae%c0%ae",
        "%c0%af",
        "%e0%80%ae",
        "%ff",
        "%",
        "%2",
        "%zz",
        ".hidden",
        "%2ehidden",
        "a",
        "b c",
        "%20",
        "index.html",
        "C:",
        "~",
        "\u{e9}",
        "",
    ]);
    (
        prop::collection::vec(seg, 0..7),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(segs, lead, trail)| {
            let mut p = if lead { "/".to_owned() } else { String::new() };
            p.push_str(&segs.join("/"));
            if trail {
                p.push('/');
            }
            p
        })
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn clean_paths_stay_under_the_root(raw in path_ish(), hidden in any::<bool>()) {
        check_clean_path(&raw, hidden);
    }

    #[test]
    fn clean_path_of_any_string(raw in ".{0,40}", hidden in any::<bool>()) {
        check_clean_path(&raw, hidden);
    }

    #[test]
    fn raw_path_entry_on_random_bytes(data in prop::collection::vec(any::<u8>(), 0..80)) {
        fuzz_path(&data);
    }

    /// Bytes that are not UTF-8 near dots, slashes and backslashes, sent
    /// percent-encoded: never a way out, and a name is its exact bytes.
    #[test]
    fn paths_with_bytes_that_are_not_utf8_stay_under_the_root(
        parts in prop::collection::vec(
            prop_oneof![
                Just(b"%2e".to_vec()), Just(b".".to_vec()), Just(b"/".to_vec()),
                Just(b"%2F".to_vec()), Just(b"%5C".to_vec()), Just(b"%C0%AE".to_vec()),
                Just(b"%E0%80%AE".to_vec()), Just(b"%C0%AF".to_vec()), Just(b"%FF".to_vec()),
                Just(b"%80".to_vec()), Just(b"%ED%A0%80".to_vec()), Just(b"a".to_vec()),
            ],
            0..12,
        ),
        hidden in any::<bool>(),
        name in prop::collection::vec(any::<u8>(), 1..12),
    ) {
        let raw = format!("/{}", String::from_utf8(parts.concat()).unwrap());
        check_clean_path(&raw, hidden);
        check_name_round_trip(&name);
    }
}

// ---------------------------------------------------------------------------
// The fuzz seed corpora (and any crash inputs added to them) as tests.
// ---------------------------------------------------------------------------

#[test]
fn seed_corpora_pass() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    type Entry = fn(&[u8]);
    let targets: [(&str, Entry); 5] = [
        ("head", fuzz_head),
        ("range", fuzz_range),
        ("conditional", fuzz_conditional),
        ("accept_encoding", fuzz_accept_encoding),
        ("path", fuzz_path),
    ];
    let mut ran = 0;
    for (name, run) in targets {
        let Ok(entries) = std::fs::read_dir(dir.join(name)) else {
            continue;
        };
        for e in entries.flatten() {
            let file = e.file_name();
            if !file.to_string_lossy().starts_with("seed-") {
                continue; // only the committed seeds, not libFuzzer's output
            }
            let data = std::fs::read(e.path()).expect("read seed");
            run(&data);
            ran += 1;
        }
    }
    assert!(ran >= 5, "no seeds found under {}", dir.display());
}

// ---------------------------------------------------------------------------
// The request parser, the chunked decoder and the range parser on their own:
// any input gives a request, "need more", or a rejection — never a panic,
// never a length past the input — and splitting never changes the verdict.
// ---------------------------------------------------------------------------

/// Bytes biased towards HTTP syntax, so the parser gets deep.
fn http_ish() -> impl Strategy<Value = Vec<u8>> {
    let atoms = prop_oneof![
        Just(b"GET ".to_vec()),
        Just(b"POST ".to_vec()),
        Just(b"/".to_vec()),
        Just(b" HTTP/1.1".to_vec()),
        Just(b" HTTP/1.0".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"Host: h".to_vec()),
        Just(b"Content-Length: ".to_vec()),
        Just(b"Transfer-Encoding: chunked".to_vec()),
        Just(b"Connection: close".to_vec()),
        Just(b":".to_vec()),
        Just(b" ".to_vec()),
        "[0-9]{1,3}".prop_map(|s| s.into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..4),
    ];
    proptest::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn parse_never_panics_and_stays_in_bounds(input in http_ish()) {
        let limits = Limits { max_target: 64, max_head: 512, max_headers: 8 };
        if let Ok(Some((_, n))) = parse(&input, &limits) {
            prop_assert!(n <= input.len());
        }
    }

    #[test]
    fn parse_of_random_bytes_never_panics(input in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse(&input, &Limits::default());
    }

    #[test]
    fn a_complete_head_parses_the_same_with_more_bytes_behind_it(input in http_ish(), tail in proptest::collection::vec(any::<u8>(), 0..20)) {
        let limits = Limits::default();
        if let Ok(Some((req, n))) = parse(&input, &limits) {
            let (path, body) = (req.path.to_owned(), req.body);
            let mut longer = input.clone();
            longer.extend_from_slice(&tail);
            let (again, m) = parse(&longer, &limits).expect("still valid").expect("still complete");
            prop_assert_eq!(n, m);
            prop_assert_eq!(again.path, path.as_str());
            prop_assert_eq!(again.body, body);
        }
    }

    #[test]
    fn chunked_decoder_never_overreads_and_splitting_is_invisible(
        input in proptest::collection::vec(prop_oneof![
            Just(b'0'), Just(b'5'), Just(b'a'), Just(b'\r'), Just(b'\n'), Just(b';'), any::<u8>()
        ], 0..200),
        split in 0usize..200,
    ) {
        let mut whole = ChunkedDecoder::new(1 << 20);
        let r1 = whole.feed(&input);
        if let Ok(n) = r1 {
            prop_assert!(n <= input.len());
        }
        let split = split.min(input.len());
        let mut parts = ChunkedDecoder::new(1 << 20);
        let r2 = parts.feed(&input[..split]).and_then(|a| {
            if parts.is_done() { Ok(a) } else { parts.feed(&input[split..]).map(|b| a + b) }
        });
        prop_assert_eq!(r1, r2);
        prop_assert_eq!(whole.is_done(), parts.is_done());
    }
}

/// Range field values biased towards the grammar.
fn range_ish() -> impl Strategy<Value = Vec<u8>> {
    let atoms = prop_oneof![
        Just(b"bytes=".to_vec()),
        Just(b"-".to_vec()),
        Just(b",".to_vec()),
        Just(b" ".to_vec()),
        "[0-9]{1,4}".prop_map(|s| s.into_bytes()),
        "[0-9]{18,21}".prop_map(|s| s.into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..3),
    ];
    proptest::collection::vec(atoms, 0..30).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn range_plans_stay_inside_the_representation(value in range_ish(), len in 0u64..5000) {
        use ferry::http::range::{MAX_RANGES, RangePlan, parse};
        match parse(&value, len) {
            RangePlan::Ignore => {}
            RangePlan::Unsatisfiable => {}
            RangePlan::Ranges(ranges) => {
                prop_assert!(!ranges.is_empty() && ranges.len() <= MAX_RANGES);
                for r in &ranges {
                    prop_assert!(r.first <= r.last && r.last < len, "{:?} of {}", r, len);
                }
                for w in ranges.windows(2) {
                    // Sorted, disjoint and not adjacent (coalesced).
                    prop_assert!(w[0].last + 1 < w[1].first, "{:?}", w);
                }
            }
        }
    }
}

/// Markup-like bytes: tags, comments and text that the injection's scanner
/// must walk without panicking.
fn markup() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"</body>".to_vec()),
        Just(b"</BODY >".to_vec()),
        Just(b"<body>".to_vec()),
        Just(b"<!--".to_vec()),
        Just(b"-->".to_vec()),
        Just(b"<script>".to_vec()),
        Just(b"</script>".to_vec()),
        Just(b"<title>".to_vec()),
        Just(b"</title>".to_vec()),
        Just(b"<!doctype html>".to_vec()),
        Just(b"<?x".to_vec()),
        Just(b"</".to_vec()),
        Just(b"<".to_vec()),
        Just(b">".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(2000))]

    /// Live reload's injection keeps every byte of the page, in order, and
    /// puts the script in one piece at a tag boundary or the end; a page
    /// whose only `</body>` is in a comment gets it at the end.
    #[test]
    fn the_live_reload_script_is_inserted_whole_and_the_page_kept(page in markup()) {
        let script = b"<script>S</script>";
        let mut got = page.clone();
        ferry::fs::cache::inject_before_body_end(&mut got, script);
        prop_assert_eq!(got.len(), page.len() + script.len());
        let at = (0..=page.len())
            .find(|&i| got[..i] == page[..i] && got[i..i + script.len()] == script[..]
                && got[i + script.len()..] == page[i..]);
        prop_assert!(at.is_some(), "the page was changed: {:?}", String::from_utf8_lossy(&got));
        let at = at.unwrap();
        prop_assert!(at == page.len() || page[at..].to_ascii_lowercase().starts_with(b"</body"));
    }
}
