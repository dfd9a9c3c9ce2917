//! The properties checked by the fuzz targets (`fuzz/fuzz_targets/*.rs`)
//! and by the proptest suite (`tests/it/properties.rs`): one copy, included
//! by both (`#[path = ...] mod fuzz_checks;`), so the two run exactly the
//! same checks. Every `check_*` function panics when a property fails;
//! every `fuzz_*` function decodes one raw libFuzzer input and runs checks.
//!
//! The `head` properties drive the server's own [`RequestReader`] (the
//! same code `src/conn` runs), never a model of it.
#![allow(dead_code)]

use ferry::fs::{clean_path, rel_bytes, to_rel};
use ferry::h1::{BodyFraming, Event as ReaderEvent, Limits, Phase, RequestReader};
use ferry::http::conditional::{self, Outcome, Validators};
use ferry::http::etag::{EntityTag, Item, ListIter};
use ferry::http::negotiate::{Coding, EncodingWeights, MediaWeights, Offer};
use ferry::http::syntax::trim_ows;
use ferry::http::{Fields, HttpVersion, Lines, Method, Persist, Single, date, range};

// ---------------------------------------------------------------------------
// The request reader, fed in reads split anywhere.
// ---------------------------------------------------------------------------

/// One thing the reader reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete head of `head_len` bytes.
    Head {
        head_len: usize,
        method: Method,
        method_str: String,
        target: String,
        path: String,
        query: Option<String>,
        version: HttpVersion,
        persist: Persist,
        body: BodyFraming,
        expect_continue: bool,
    },
    /// The body of the previous head ended after `len` bytes.
    BodyDone { len: u64 },
}

/// How the input ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Waiting between requests, nothing buffered.
    Idle,
    /// A head is incomplete; this many bytes are buffered. `deferred`:
    /// what reading the buffer at once would say, when the reader has not
    /// yet looked (the last read had no line feed, so only the limits were
    /// checked) and the buffer is already known to be bad.
    PartialHead {
        buffered: usize,
        deferred: Option<Box<End>>,
    },
    /// Inside a body; `seen` body bytes so far.
    InBody { seen: u64 },
    /// Rejected with this status (the server answers it and closes).
    Rejected(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub events: Vec<Event>,
    pub end: End,
}

/// Feeds `stream` to a [`RequestReader`] as reads ending at `cuts`
/// (sorted or not, clamped), checking that no byte is lost or invented.
pub fn run_split(stream: &[u8], cuts: &[usize], limits: Limits, max_body: u64) -> Trace {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(stream.len())).collect();
    cuts.sort_unstable();
    let mut reader = RequestReader::new(limits, max_body);
    let mut events = Vec::new();
    let mut end = None;
    // Where the last event ended in the stream (to measure heads and bodies).
    let mut mark: u64 = 0;
    let mut from = 0;
    for c in cuts.into_iter().chain([stream.len()]) {
        if c <= from || end.is_some() {
            continue;
        }
        // A round's input is what the reader kept, then the fresh bytes.
        let kept = reader.buffered().len();
        let base = (from - kept) as u64;
        let mut input = reader.begin(&stream[from..c]);
        loop {
            match reader.next(&mut input) {
                ReaderEvent::NeedMore => break,
                ReaderEvent::Head(req) => {
                    let mut head = Event::Head {
                        head_len: 0,
                        method: req.method,
                        method_str: req.method_str.to_owned(),
                        target: req.target.to_owned(),
                        path: req.path.to_owned(),
                        query: req.query.map(str::to_owned),
                        version: req.version,
                        persist: req.persist,
                        body: req.body,
                        expect_continue: req.expect_continue,
                    };
                    let at = base + input.consumed() as u64;
                    if let Event::Head { head_len, .. } = &mut head {
                        *head_len = (at - mark) as usize;
                        assert!(*head_len > 0, "a complete head of 0 bytes");
                    }
                    mark = at;
                    events.push(head);
                }
                ReaderEvent::BodyDone => {
                    let at = base + input.consumed() as u64;
                    events.push(Event::BodyDone { len: at - mark });
                    mark = at;
                }
                ReaderEvent::Reject(r) => {
                    end = Some(End::Rejected(r.status.code()));
                    break;
                }
            }
        }
        let used = input.consumed();
        assert!(used <= kept + (c - from), "consumed more than fed");
        reader.end(input);
        if end.is_none() {
            assert_eq!(
                used + reader.buffered().len(),
                kept + (c - from),
                "bytes lost or invented"
            );
        }
        from = c;
    }
    let end = end.unwrap_or_else(|| match reader.phase() {
        Phase::Idle => End::Idle,
        Phase::Head => End::PartialHead {
            buffered: reader.buffered().len(),
            deferred: rejection_at_once(reader.buffered(), limits, max_body)
                .map(|status| Box::new(End::Rejected(status))),
        },
        Phase::Body => End::InBody {
            seen: (stream.len() - reader.buffered().len()) as u64 - mark,
        },
        Phase::Stopped => unreachable!("a stopped reader ends with a rejection"),
    });
    Trace { events, end }
}

/// The status a fresh reader rejects `head` with when it arrives in one
/// read, if it does.
fn rejection_at_once(head: &[u8], limits: Limits, max_body: u64) -> Option<u16> {
    let mut reader = RequestReader::new(limits, max_body);
    let mut input = reader.begin(head);
    match reader.next(&mut input) {
        ReaderEvent::Reject(r) => Some(r.status.code()),
        _ => None,
    }
}

/// Whether two endings are the same verdict. Exact, except for known,
/// accepted differences (fuzz/README.md, "Tolerated differences"):
/// - a head rejected as malformed when it arrives at once can instead hit
///   a limit (431/414) when it arrives in pieces (a read without a line
///   feed is only checked against the limits), or the other way round
///   (the 414 check looks at what has arrived so far); both close;
/// - a head already known to be bad is not rejected until a line feed (or
///   a limit) arrives, when it comes in pieces: the split run may end
///   waiting with the verdict deferred.
fn same_end(whole: &End, split: &End) -> bool {
    if whole == split {
        return true;
    }
    if strict() {
        return false;
    }
    match (whole, split) {
        (
            End::Rejected(_),
            End::PartialHead {
                deferred: Some(d), ..
            },
        ) => same_end(whole, d),
        (End::Rejected(a), End::Rejected(b)) => {
            let limit = |s: u16| matches!(s, 431 | 414);
            let syntax = |s: u16| matches!(s, 400 | 505 | 431);
            (limit(*a) && syntax(*b)) || (syntax(*a) && limit(*b))
        }
        _ => false,
    }
}

/// `FERRY_FUZZ_STRICT=1`: no tolerance at all (see `same_end`).
fn strict() -> bool {
    static STRICT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("FERRY_FUZZ_STRICT").is_some_and(|v| v == "1"))
}

/// The split-invariance property: the stream read at once, in the given
/// pieces, and (when short) one byte at a time gives the same trace.
pub fn check_head_stream(stream: &[u8], cuts: &[usize], limits: Limits, max_body: u64) {
    let whole = run_split(stream, &[], limits, max_body);
    let mut runs = vec![("pieces", run_split(stream, cuts, limits, max_body))];
    if stream.len() <= 2048 {
        let all: Vec<usize> = (1..stream.len()).collect();
        runs.push(("bytewise", run_split(stream, &all, limits, max_body)));
    }
    for (how, split) in runs {
        // Any prefix of accepted heads must be the same; after that only
        // the verdict may differ, and only as `same_end` allows.
        assert_eq!(
            whole.events, split.events,
            "events differ ({how}, cuts {cuts:?}, limits {limits:?})"
        );
        assert!(
            same_end(&whole.end, &split.end),
            "end differs ({how}, cuts {cuts:?}, limits {limits:?}): whole {:?}, split {:?}",
            whole.end,
            split.end
        );
    }
}

/// Small limits make the limit paths reachable with short inputs.
pub fn limits_for(selector: u8) -> (Limits, u64) {
    match selector % 4 {
        0 => (Limits::default(), 1 << 20),
        1 => (
            Limits {
                max_target: 24,
                max_head: 160,
                max_headers: 4,
            },
            64,
        ),
        2 => (
            Limits {
                max_target: 200,
                max_head: 100,
                max_headers: 8,
            },
            8,
        ),
        _ => (
            Limits {
                max_target: 1,
                max_head: 40,
                max_headers: 1,
            },
            0,
        ),
    }
}

/// Cut points from a seed: a tiny xorshift, pieces of 1..=max bytes.
pub fn cuts_from_seed(seed: u64, len: usize) -> Vec<usize> {
    let mut x = seed | 1;
    let max = 1 + (seed % 17) as usize;
    let mut cuts = Vec::new();
    let mut at = 0;
    while at < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        at += 1 + (x as usize) % max;
        cuts.push(at);
    }
    cuts
}

/// libFuzzer entry for `head`: byte 0 selects the limits, bytes 1-2 seed
/// the cut points, the rest is the stream.
pub fn fuzz_head(data: &[u8]) {
    let [sel, s1, s2, stream @ ..] = data else {
        return;
    };
    let (limits, max_body) = limits_for(*sel);
    let seed = u64::from(*s1) << 8 | u64::from(*s2);
    let cuts = cuts_from_seed(seed, stream.len());
    check_head_stream(stream, &cuts, limits, max_body);
    // Also a single cut at a point derived from the input.
    if !stream.is_empty() {
        let one = [usize::from(*s1) * 256 + usize::from(*s2)];
        let one = [one[0] % stream.len()];
        check_head_stream(stream, &one, limits, max_body);
    }
}

// ---------------------------------------------------------------------------
// List fields split into lines, through the real parser.
// ---------------------------------------------------------------------------

/// A request with `If-Match`, `If-None-Match`, `Accept-Encoding` and
/// `Accept` each carrying `items`: once on one line, once split into lines
/// before the items at `cuts` (taken modulo the count). Every reader of
/// those fields must answer the same.
pub fn check_list_lines(items: &[Vec<u8>], cuts: &[usize]) {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (items.len() + 1)).collect();
    at.sort_unstable();
    at.dedup();
    let groups: Vec<Vec<u8>> = {
        let mut g = Vec::new();
        let mut from = 0;
        for &c in at.iter().chain([&items.len()]) {
            if c > from {
                g.push(items[from..c].join(&b", "[..]));
                from = c;
            }
        }
        g
    };
    let one = vec![items.join(&b", "[..])];
    let request = |lines: &[Vec<u8>]| {
        let mut r = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
        for name in ["If-Match", "If-None-Match", "Accept-Encoding", "Accept"] {
            for l in lines {
                r.extend_from_slice(name.as_bytes());
                r.extend_from_slice(b": ");
                r.extend_from_slice(l);
                r.extend_from_slice(b"\r\n");
            }
        }
        r.extend_from_slice(b"\r\n");
        r
    };
    let limits = Limits {
        max_headers: 1000,
        ..Limits::default()
    };
    let answers = |raw: &[u8]| {
        let (req, _) = ferry::h1::parse::parse(raw, &limits)
            .expect("valid")
            .expect("complete");
        let f = &req.fields;
        let v = Validators {
            etag: Some(b"\"abc\""),
            last_modified: Some(0),
        };
        (
            conditional::evaluate(f, &v, true),
            EncodingWeights::of(f.accept_encoding.iter()).choose(&ALL_OFFERS),
            MediaWeights::of(f.accept.iter()),
        )
    };
    assert_eq!(
        answers(&request(&groups)),
        answers(&request(&one)),
        "{} lines vs one: {groups:?}",
        groups.len()
    );
}

// ---------------------------------------------------------------------------
// Range.
// ---------------------------------------------------------------------------

pub fn check_range(value: &[u8], len: u64) {
    match range::parse(value, len) {
        range::RangePlan::Ignore | range::RangePlan::Unsatisfiable => {}
        range::RangePlan::Ranges(rs) => {
            assert!(!rs.is_empty(), "empty range list");
            assert!(rs.len() <= range::MAX_RANGES, "{} ranges", rs.len());
            for r in &rs {
                assert!(r.first <= r.last && r.last < len, "{r:?} of {len}");
                assert_eq!(r.length(), r.last - r.first + 1);
            }
            for w in rs.windows(2) {
                assert!(
                    w[0].last.checked_add(1).is_some_and(|e| e < w[1].first),
                    "not sorted/disjoint/non-adjacent: {w:?}"
                );
            }
        }
    }
}

/// libFuzzer entry for `range`: byte 0 picks how the length is made,
/// the next 8 bytes give it, the rest is the field value.
pub fn fuzz_range(data: &[u8]) {
    let [kind, rest @ ..] = data else {
        return;
    };
    let mut n = [0u8; 8];
    let take = rest.len().min(8);
    n[..take].copy_from_slice(&rest[..take]);
    let raw = u64::from_le_bytes(n);
    let value = &rest[take..];
    let len = match kind % 4 {
        0 => raw % 2000,
        1 => raw,
        2 => u64::MAX - (raw % 4),
        _ => raw % 3,
    };
    check_range(value, len);
}

// ---------------------------------------------------------------------------
// Dates, entity tags, preconditions.
// ---------------------------------------------------------------------------

/// Any parsed date is in the supported range and survives format → parse.
pub fn check_date_value(v: &[u8]) {
    let Ok(s) = std::str::from_utf8(v) else {
        return;
    };
    if let Some(t) = date::parse(s) {
        assert!(
            (date::EARLIEST..=date::LATEST).contains(&t),
            "{s:?} parsed to {t}, outside the supported range"
        );
        let f = date::format(t);
        assert_eq!(date::parse(&f), Some(t), "{s:?} → {t} → {f:?}");
    }
}

/// format → parse is the identity on the supported range; outside it,
/// format clamps.
pub fn check_date_round_trip(secs: i64) {
    let f = date::format(secs);
    assert_eq!(f.len(), 29, "not an IMF-fixdate: {f:?}");
    assert!(f.ends_with(" GMT"), "{f:?}");
    assert_eq!(
        date::parse(&f),
        Some(secs.clamp(date::EARLIEST, date::LATEST)),
        "{secs} → {f:?}"
    );
}

/// Tokenizing a list never panics; every tag is a quoted slice of the input.
pub fn check_etag_list(v: &[u8]) {
    let items: Vec<Item<'_>> = ListIter::new(v).take(v.len() + 1).collect();
    assert!(items.len() <= v.len(), "more items than bytes");
    let range = v.as_ptr_range();
    for item in &items {
        if let Item::Tag(t) = item {
            let o = t.opaque;
            assert!(
                o.len() >= 2 && o[0] == b'"' && o[o.len() - 1] == b'"',
                "{o:?}"
            );
            assert!(!o[1..o.len() - 1].contains(&b'"'), "{o:?}");
            assert!(
                range.start <= o.as_ptr() && o.as_ptr_range().end <= range.end,
                "tag outside the input"
            );
            assert!(t.weak_eq(t), "weak comparison not reflexive");
            assert_eq!(
                t.strong_eq(t),
                !t.weak,
                "strong comparison of a tag with itself"
            );
        }
    }
    if let Some(t) = EntityTag::parse(v) {
        let trimmed = trim_ows(v);
        let again: Vec<Item<'_>> = ListIter::new(trimmed).collect();
        assert_eq!(again, vec![Item::Tag(t)], "parse vs list of {v:?}");
        for item in &items {
            if let Item::Tag(u) = item {
                assert_eq!(t.weak_eq(u), u.weak_eq(&t), "weak_eq not symmetric");
                assert_eq!(t.strong_eq(u), u.strong_eq(&t), "strong_eq not symmetric");
                assert!(
                    !t.strong_eq(u) || t.weak_eq(u),
                    "strong match but no weak match"
                );
            }
        }
    }
}

/// The conditional fields of one request plus the representation.
#[derive(Debug, Clone, Default)]
pub struct CondInput<'a> {
    pub if_match: Vec<&'a [u8]>,
    pub if_none_match: Vec<&'a [u8]>,
    pub if_modified_since: Option<&'a [u8]>,
    pub if_unmodified_since: Option<&'a [u8]>,
    pub if_range: Option<&'a [u8]>,
    /// Repeated single fields (a second copy: `Single::Repeated`).
    pub repeated: u8,
    pub etag: Option<&'a [u8]>,
    pub last_modified: Option<i64>,
    pub now: i64,
}

fn single(v: Option<&[u8]>, repeated: bool) -> Single<'_> {
    match v {
        None => Single::Absent,
        Some(_) if repeated => Single::Repeated,
        Some(v) => Single::One(v),
    }
}

/// `evaluate` and `if_range_holds` never panic, and keep a few rules.
pub fn check_conditional(c: &CondInput<'_>) {
    let mut f = Fields::default();
    let mut if_match = Lines::default();
    c.if_match.iter().for_each(|l| if_match.push(l));
    let mut if_none_match = Lines::default();
    c.if_none_match.iter().for_each(|l| if_none_match.push(l));
    f.if_match = if_match;
    f.if_none_match = if_none_match;
    f.if_modified_since = single(c.if_modified_since, c.repeated & 1 != 0);
    f.if_unmodified_since = single(c.if_unmodified_since, c.repeated & 2 != 0);
    f.if_range = single(c.if_range, c.repeated & 4 != 0);
    for v in c
        .if_match
        .iter()
        .chain(&c.if_none_match)
        .chain(c.if_range.iter())
        .chain(c.etag.iter())
    {
        check_etag_list(v);
    }
    for v in [c.if_modified_since, c.if_unmodified_since, c.if_range]
        .into_iter()
        .flatten()
    {
        check_date_value(v);
        check_date_value(trim_ows(v));
    }
    let v = Validators {
        etag: c.etag,
        last_modified: c.last_modified,
    };
    let safe = conditional::evaluate(&f, &v, true);
    let unsafe_ = conditional::evaluate(&f, &v, false);
    assert_ne!(unsafe_, Outcome::NotModified, "304 for an unsafe method");
    if safe == Outcome::Failed {
        assert_eq!(unsafe_, Outcome::Failed, "412 for GET but not for POST");
    }
    let none = Fields::default();
    assert_eq!(conditional::evaluate(&none, &v, true), Outcome::Proceed);
    // No validators at all (a listing): only `*` in If-Match can pass it.
    let bare = Validators {
        etag: None,
        last_modified: None,
    };
    let listing = conditional::evaluate(&f, &bare, true);
    if f.if_match.is_present()
        && !f
            .if_match
            .iter()
            .flat_map(ListIter::new)
            .any(|i| i == Item::Star)
    {
        assert_eq!(listing, Outcome::Failed, "If-Match matched without a tag");
    }
    let holds = conditional::if_range_holds(&f, &v, c.now);
    match f.if_range {
        Single::Absent => assert!(holds, "no If-Range must let Range apply"),
        Single::Repeated => assert!(!holds, "a repeated If-Range must not hold"),
        Single::One(value) => {
            if holds {
                let value = trim_ows(value);
                let by_tag = EntityTag::parse(value)
                    .is_some_and(|t| !t.weak && c.etag.is_some_and(|e| e == t.opaque));
                let by_date = std::str::from_utf8(value)
                    .ok()
                    .and_then(date::parse)
                    .is_some_and(|d| Some(d) == c.last_modified && d < c.now);
                assert!(by_tag || by_date, "If-Range {value:?} held by neither rule");
            }
        }
    }
    assert!(!conditional::if_range_holds(&f, &bare, c.now) || f.if_range == Single::Absent);
}

fn field_parts(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == b'\n').collect()
}

fn i64_at(data: &[u8], at: usize) -> i64 {
    let mut n = [0u8; 8];
    if let Some(s) = data.get(at..) {
        let take = s.len().min(8);
        n[..take].copy_from_slice(&s[..take]);
    }
    i64::from_le_bytes(n)
}

/// libFuzzer entry for `conditional`: 17 header bytes (flags, two i64s),
/// then newline-separated field values: etag, If-Match, If-None-Match,
/// If-Modified-Since, If-Unmodified-Since, If-Range, extra If-Match and
/// If-None-Match lines.
pub fn fuzz_conditional(data: &[u8]) {
    let [flags, ..] = data else {
        return;
    };
    let a = i64_at(data, 1);
    let b = i64_at(data, 9);
    check_date_round_trip(a);
    check_date_round_trip(b);
    let rest = data.get(17..).unwrap_or(&[]);
    for part in rest.split(|&b| b == b'\n') {
        check_date_value(part);
        check_etag_list(part);
    }
    let p = field_parts(rest);
    let get = |i: usize| p.get(i).copied();
    let present = |bit: u8, i: usize| if flags & bit != 0 { get(i) } else { None };
    let lm = match flags >> 6 {
        0 => None,
        1 => Some(a),
        2 => get(4)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(date::parse),
        _ => Some(a.clamp(date::EARLIEST, date::LATEST)),
    };
    let c = CondInput {
        etag: if flags & 1 != 0 { get(0) } else { None },
        if_match: [present(2, 1), present(2, 6)]
            .into_iter()
            .flatten()
            .collect(),
        if_none_match: [present(4, 2), present(4, 7)]
            .into_iter()
            .flatten()
            .collect(),
        if_modified_since: present(8, 3),
        if_unmodified_since: present(16, 4),
        if_range: present(32, 5),
        repeated: (b as u64 >> 61) as u8,
        last_modified: lm,
        now: b,
    };
    check_conditional(&c);
}

// ---------------------------------------------------------------------------
// Accept-Encoding.
// ---------------------------------------------------------------------------

/// Every coding on offer, with lengths that make ties interesting.
const ALL_OFFERS: [Offer; 4] = [
    Offer {
        coding: Coding::Identity,
        len: 1000,
    },
    Offer {
        coding: Coding::Br,
        len: 300,
    },
    Offer {
        coding: Coding::Zstd,
        len: 300,
    },
    Offer {
        coding: Coding::Gzip,
        len: 320,
    },
];

/// The negotiation never picks what is not on offer or not acceptable,
/// picks the highest weight and, among equals, the smallest; no field
/// means identity; lines are one list; names and `q` any case.
pub fn check_accept_encoding(lines: &[&[u8]], offers: &[Offer]) {
    let w = EncodingWeights::of(lines.iter().copied());
    let c = w.choose(offers);
    match c {
        Some(c) => {
            let o = offers
                .iter()
                .find(|o| o.coding == c)
                .unwrap_or_else(|| panic!("{c:?} chosen but not on offer: {lines:?}"));
            let q = w.weight(c);
            assert!(q > 0, "{c:?} chosen with weight 0: {lines:?}");
            for other in offers {
                let oq = w.weight(other.coding);
                assert!(
                    oq <= q,
                    "{:?} weighs more than {c:?}: {lines:?}",
                    other.coding
                );
                if oq == q {
                    assert!(
                        other.len >= o.len,
                        "{:?} is smaller than {c:?}",
                        other.coding
                    );
                }
            }
        }
        None => assert!(
            offers.iter().all(|o| w.weight(o.coding) == 0),
            "nothing chosen though something is acceptable: {lines:?}"
        ),
    }
    if lines.is_empty() {
        let identity = offers.iter().any(|o| o.coding == Coding::Identity);
        assert_eq!(
            c,
            identity.then_some(Coding::Identity),
            "no field must mean identity"
        );
    } else {
        let joined = lines.join(&b","[..]);
        for v in [
            joined.clone(),
            joined.to_ascii_lowercase(),
            joined.to_ascii_uppercase(),
        ] {
            let again = EncodingWeights::of(std::iter::once(&v[..])).choose(offers);
            assert_eq!(again, c, "{lines:?} vs one line {v:?}");
        }
    }
}

/// libFuzzer entry for `accept_encoding`: byte 0 says which codings are on
/// offer (bits 0-3) and whether the field is absent (bit 4), the rest is
/// newline-separated field lines.
pub fn fuzz_accept_encoding(data: &[u8]) {
    let [flags, rest @ ..] = data else {
        return;
    };
    let lines: Vec<&[u8]> = if flags & 16 != 0 {
        Vec::new()
    } else {
        rest.split(|&b| b == b'\n').collect()
    };
    let offers: Vec<Offer> = ALL_OFFERS
        .iter()
        .enumerate()
        .filter(|(i, _)| flags & (1 << i) != 0)
        .map(|(_, o)| *o)
        .collect();
    check_accept_encoding(&lines, &offers);
    check_accept_encoding(&lines, &ALL_OFFERS);
}

// ---------------------------------------------------------------------------
// Path cleaning.
// ---------------------------------------------------------------------------

pub fn check_clean_path(raw: &str, hidden: bool) {
    let Ok(c) = clean_path(raw, hidden) else {
        return;
    };
    let rel = &c.rel;
    // NUL in `rel` only escapes a byte that is not UTF-8 (NUL, two hex
    // digits); the text and the bytes map one to one.
    let mut escapes = rel.split('\0').skip(1);
    assert!(
        escapes.all(|rest| rest.len() >= 2
            && u8::from_str_radix(&rest[..2], 16).is_ok_and(|b| b >= 0x80)
            && rest[..2]
                .bytes()
                .all(|d| d.is_ascii_digit() || d.is_ascii_uppercase())),
        "NUL that is no escape: {raw:?} → {rel:?}"
    );
    let bytes = rel_bytes(rel);
    assert_eq!(to_rel(&bytes), rel.as_str(), "round trip: {raw:?}");
    // What the file system is asked for.
    assert!(!bytes.starts_with(b"/"), "leading slash: {raw:?} → {rel:?}");
    assert!(!bytes.contains(&b'\\'), "backslash: {raw:?} → {rel:?}");
    assert!(!bytes.contains(&0), "NUL: {raw:?} → {rel:?}");
    if !bytes.is_empty() {
        for seg in bytes.split(|b| *b == b'/') {
            assert!(!seg.is_empty(), "empty segment: {raw:?} → {rel:?}");
            assert!(
                seg != b"." && seg != b"..",
                "dot segment: {raw:?} → {rel:?}"
            );
            if !hidden {
                assert!(!seg.starts_with(b"."), "dotfile: {raw:?} → {rel:?}");
            }
        }
    }
    // Lexically inside the root: every component is a plain name.
    use std::os::unix::ffi::OsStrExt;
    let root = std::path::Path::new("/srv/root");
    let joined = root.join(std::ffi::OsStr::from_bytes(&bytes));
    assert!(joined.starts_with(root), "{raw:?} → {joined:?}");
    assert!(
        joined
            .strip_prefix(root)
            .expect("under root")
            .components()
            .all(|p| matches!(p, std::path::Component::Normal(_))),
        "{raw:?} → {joined:?}"
    );
    // Hiding dotfiles only ever refuses more.
    if !hidden {
        assert_eq!(clean_path(raw, true).map(|c| c.rel).ok(), Some(rel.clone()));
    }
}

/// Any bytes a name may hold (all but `/` and NUL), percent-encoded as a
/// listing links them, clean to exactly those bytes.
pub fn check_name_round_trip(name: &[u8]) {
    if name.is_empty() || name.contains(&b'/') || name.contains(&0) {
        return;
    }
    let mut raw = String::from("/d/");
    for b in name {
        raw.push_str(&format!("%{b:02X}"));
    }
    let refused = name == b".." || name.contains(&b'\\');
    match clean_path(&raw, true) {
        Ok(c) if name == b"." => assert_eq!(c.rel, "d", "{raw}"),
        Ok(c) => {
            assert!(!refused, "{raw} → {:?}", c.rel);
            let mut want = b"d/".to_vec();
            want.extend_from_slice(name);
            assert_eq!(&*rel_bytes(&c.rel), want.as_slice(), "{raw}");
        }
        Err(status) => assert!(refused, "{raw} refused: {status:?}"),
    }
}

/// libFuzzer entry for `path`: byte 0 bit 0 = hidden, the rest is the
/// raw path (lossily made UTF-8, as request targets are ASCII anyway).
pub fn fuzz_path(data: &[u8]) {
    let [flags, rest @ ..] = data else {
        return;
    };
    let raw = String::from_utf8_lossy(rest);
    check_clean_path(&raw, flags & 1 != 0);
    check_clean_path(&raw, flags & 1 == 0);
    check_name_round_trip(rest);
}
