//! `Range: bytes=…` (RFC 9110 §14.1.2, §14.2) → a plan of byte ranges.
//!
//! Any input yields a plan: ignore the field (invalid syntax, unknown unit,
//! too many parts), unsatisfiable (416), or one or more satisfiable ranges,
//! clamped to the representation, sorted and with overlapping or adjacent
//! ranges coalesced, so a client can't make us send the same bytes twice
//! or assemble a response from thousands of tiny slices.

/// Most ranges honoured in one request; more and the whole file is sent.
pub const MAX_RANGES: usize = 100;

/// An inclusive byte range `first..=last` within the representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

impl ByteRange {
    pub fn length(&self) -> u64 {
        self.last - self.first + 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangePlan {
    /// Serve the whole representation (200).
    Ignore,
    /// None of the ranges overlaps the representation (416).
    Unsatisfiable,
    /// Satisfiable ranges, sorted, disjoint and non-adjacent (206).
    Ranges(Vec<ByteRange>),
}

/// Parses a Range field value against a representation of `len` bytes.
pub fn parse(value: &[u8], len: u64) -> RangePlan {
    let value = trim(value);
    let Some(eq) = value.iter().position(|&b| b == b'=') else {
        return RangePlan::Ignore;
    };
    if !trim(&value[..eq]).eq_ignore_ascii_case(b"bytes") {
        return RangePlan::Ignore; // unknown unit
    }
    let mut ranges = Vec::new();
    let mut specs = 0;
    for spec in value[eq + 1..].split(|&b| b == b',') {
        let spec = trim(spec);
        if spec.is_empty() {
            continue; // RFC 9110 §5.6.1: empty list elements are allowed
        }
        specs += 1;
        if specs > MAX_RANGES {
            return RangePlan::Ignore;
        }
        let Some(dash) = spec.iter().position(|&b| b == b'-') else {
            return RangePlan::Ignore;
        };
        let (a, b) = (&spec[..dash], &spec[dash + 1..]);
        let range = if a.is_empty() {
            // suffix-range: the last N bytes.
            let Some(n) = digits(b) else {
                return RangePlan::Ignore;
            };
            if n == 0 || len == 0 {
                continue; // unsatisfiable
            }
            ByteRange {
                first: len.saturating_sub(n),
                last: len - 1,
            }
        } else {
            let Some(first) = digits(a) else {
                return RangePlan::Ignore;
            };
            let last = if b.is_empty() {
                u64::MAX
            } else {
                match digits(b) {
                    Some(last) if last >= first => last,
                    _ => return RangePlan::Ignore, // last < first: invalid
                }
            };
            if first >= len {
                continue; // unsatisfiable
            }
            ByteRange {
                first,
                last: last.min(len - 1),
            }
        };
        ranges.push(range);
    }
    if specs == 0 {
        return RangePlan::Ignore;
    }
    if ranges.is_empty() {
        return RangePlan::Unsatisfiable;
    }
    ranges.sort_unstable_by_key(|r| r.first);
    let mut merged: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(prev) if r.first <= prev.last.saturating_add(1) => {
                prev.last = prev.last.max(r.last);
            }
            _ => merged.push(r),
        }
    }
    RangePlan::Ranges(merged)
}

/// `1*DIGIT` as u64; None on anything else or overflow.
fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

fn trim(s: &[u8]) -> &[u8] {
    super::syntax::trim_ows(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(first: u64, last: u64) -> ByteRange {
        ByteRange { first, last }
    }

    fn ranges(v: &str, len: u64) -> RangePlan {
        parse(v.as_bytes(), len)
    }

    #[test]
    fn single_ranges_of_each_form() {
        assert_eq!(
            ranges("bytes=0-99", 1000),
            RangePlan::Ranges(vec![r(0, 99)])
        );
        assert_eq!(
            ranges("bytes=100-", 1000),
            RangePlan::Ranges(vec![r(100, 999)])
        );
        assert_eq!(
            ranges("bytes=-500", 1000),
            RangePlan::Ranges(vec![r(500, 999)])
        );
        assert_eq!(
            ranges("bytes=-5000", 1000),
            RangePlan::Ranges(vec![r(0, 999)])
        );
        assert_eq!(
            ranges("bytes=900-5000", 1000),
            RangePlan::Ranges(vec![r(900, 999)])
        );
        assert_eq!(ranges("Bytes = 0-0", 1), RangePlan::Ranges(vec![r(0, 0)]));
    }

    #[test]
    fn several_ranges_are_sorted_and_coalesced() {
        assert_eq!(
            ranges("bytes=500-599, 0-99", 1000),
            RangePlan::Ranges(vec![r(0, 99), r(500, 599)])
        );
        assert_eq!(
            ranges("bytes=0-99,50-149,150-160", 1000),
            RangePlan::Ranges(vec![r(0, 160)])
        );
        assert_eq!(
            ranges("bytes=0-0,0-0,0-0", 10),
            RangePlan::Ranges(vec![r(0, 0)])
        );
        assert_eq!(
            ranges("bytes=2000-3000, 0-1", 1000),
            RangePlan::Ranges(vec![r(0, 1)])
        );
    }

    #[test]
    fn unsatisfiable_ranges_give_416() {
        assert_eq!(ranges("bytes=1000-", 1000), RangePlan::Unsatisfiable);
        assert_eq!(ranges("bytes=-0", 1000), RangePlan::Unsatisfiable);
        assert_eq!(ranges("bytes=0-10", 0), RangePlan::Unsatisfiable);
        assert_eq!(ranges("bytes=-10", 0), RangePlan::Unsatisfiable);
    }

    #[test]
    fn invalid_syntax_and_unknown_units_are_ignored() {
        for v in [
            "bytes=",
            "bytes=abc",
            "bytes=5-1",
            "bytes=1-2-3",
            "bytes=--1",
            "bytes=+1-2",
            "bytes=0x1-2",
            "items=0-1",
            "0-99",
            "bytes=0-99,x",
            "bytes=99999999999999999999-",
        ] {
            assert_eq!(ranges(v, 1000), RangePlan::Ignore, "{v}");
        }
    }

    #[test]
    fn too_many_ranges_are_ignored() {
        let many: Vec<String> = (0..=MAX_RANGES)
            .map(|i| format!("{}-{}", i * 3, i * 3))
            .collect();
        assert_eq!(
            ranges(&format!("bytes={}", many.join(",")), 10_000),
            RangePlan::Ignore
        );
        let ok: Vec<String> = (0..MAX_RANGES)
            .map(|i| format!("{}-{}", i * 3, i * 3))
            .collect();
        assert!(
            matches!(ranges(&format!("bytes={}", ok.join(",")), 10_000), RangePlan::Ranges(v) if v.len() == MAX_RANGES)
        );
    }
}
