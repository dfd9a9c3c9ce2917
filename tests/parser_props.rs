//! Property tests for the request parser and the chunked decoder: any
//! input gives a request, "need more", or a rejection — never a panic, never
//! a length past the input — and splitting the input never changes the
//! verdict.

use ferry::h1::Limits;
use ferry::h1::chunked::ChunkedDecoder;
use ferry::h1::parse::parse;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 400,
        ..ProptestConfig::default()
    }
}

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
    #![proptest_config(config())]

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
    #![proptest_config(config())]

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
