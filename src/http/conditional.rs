//! Conditional requests (RFC 9110 §13), evaluated in the order of
//! §13.2.2: If-Match, else If-Unmodified-Since; then If-None-Match, else
//! If-Modified-Since; If-Range is left to the range step.

use super::etag::{EntityTag, Item, ListIter};
use super::{Fields, Single};

/// The current representation's validators (a listing has none).
#[derive(Debug, Clone, Copy)]
pub struct Validators<'a> {
    /// Strong entity tag, quotes included.
    pub etag: Option<&'a [u8]>,
    /// Last-Modified in whole seconds since the epoch.
    pub last_modified: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Preconditions hold (or none were sent): respond normally.
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluates the preconditions for an existing representation. `safe`:
/// the method is GET or HEAD.
pub fn evaluate(f: &Fields<'_>, v: &Validators<'_>, safe: bool) -> Outcome {
    let current = v.etag.map(|opaque| EntityTag {
        weak: false,
        opaque,
    });
    // Step 1-2.
    if f.if_match.is_present() {
        // Strong comparison; `*` matches any current representation; a
        // representation without a tag matches no tag.
        let ok = f
            .if_match
            .iter()
            .flat_map(ListIter::new)
            .any(|item| match item {
                Item::Star => true,
                Item::Tag(t) => current.is_some_and(|c| t.strong_eq(&c)),
                Item::Invalid => false,
            });
        if !ok {
            return Outcome::Failed;
        }
    } else if let (Some(date), Some(lm)) = (http_date(f.if_unmodified_since), v.last_modified)
        && lm > date
    {
        return Outcome::Failed;
    }
    // Step 3-4.
    if f.if_none_match.is_present() {
        // Weak comparison.
        let matched = f
            .if_none_match
            .iter()
            .flat_map(ListIter::new)
            .any(|item| match item {
                Item::Star => true,
                Item::Tag(t) => current.is_some_and(|c| t.weak_eq(&c)),
                Item::Invalid => false,
            });
        if matched {
            return if safe {
                Outcome::NotModified
            } else {
                Outcome::Failed
            };
        }
    } else if safe
        && let (Some(date), Some(lm)) = (http_date(f.if_modified_since), v.last_modified)
        && lm <= date
    {
        // A date later than Last-Modified still means "not modified".
        return Outcome::NotModified;
    }
    Outcome::Proceed
}

/// Whether If-Range (if any) lets a Range apply (RFC 9110 §13.1.5): the
/// current strong entity tag, or exactly the Last-Modified date when that
/// date is a strong validator — one from an earlier second than `now`
/// (§8.8.2.2: within the current second the file could change again
/// unseen).
pub fn if_range_holds(f: &Fields<'_>, v: &Validators<'_>, now: i64) -> bool {
    let value = match f.if_range {
        Single::Absent => return true,
        Single::Repeated => return false,
        Single::One(value) => super::syntax::trim_ows(value),
    };
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        return match (EntityTag::parse(value), v.etag) {
            (Some(t), Some(opaque)) => t.strong_eq(&EntityTag {
                weak: false,
                opaque,
            }),
            _ => false,
        };
    }
    match (parse_date(value), v.last_modified) {
        (Some(date), Some(lm)) => date == lm && lm < now,
        _ => false,
    }
}

/// An HTTP-date in any of the three accepted forms; None if absent,
/// repeated or invalid (an invalid date is ignored, RFC 9110 §13.1.3).
fn http_date(field: Single<'_>) -> Option<i64> {
    match field {
        Single::One(v) => parse_date(super::syntax::trim_ows(v)),
        _ => None,
    }
}

fn parse_date(v: &[u8]) -> Option<i64> {
    super::date::parse(std::str::from_utf8(v).ok()?)
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)] // each test edits one field at a time
mod tests {
    use super::*;
    use crate::http::Lines;

    const TAG: &[u8] = b"\"abc\"";
    // Sun, 06 Nov 1994 08:49:37 GMT
    const LM: i64 = 784_111_777;
    const NOW: i64 = LM + 1000;

    fn v() -> Validators<'static> {
        Validators {
            etag: Some(TAG),
            last_modified: Some(LM),
        }
    }

    fn lines(v: &'static str) -> Lines<'static> {
        let mut l = Lines::default();
        l.push(v.as_bytes());
        l
    }

    #[test]
    fn if_match_is_strong_and_star_matches() {
        let mut f = Fields::default();
        f.if_match = lines("\"abc\"");
        assert_eq!(evaluate(&f, &v(), true), Outcome::Proceed);
        f.if_match = lines("W/\"abc\"");
        assert_eq!(evaluate(&f, &v(), true), Outcome::Failed);
        f.if_match = lines("\"x\", \"abc\"");
        assert_eq!(evaluate(&f, &v(), true), Outcome::Proceed);
        f.if_match = lines("*");
        assert_eq!(evaluate(&f, &v(), true), Outcome::Proceed);
        f.if_match = lines("\"zzz\"");
        assert_eq!(evaluate(&f, &v(), true), Outcome::Failed);
    }

    #[test]
    fn if_unmodified_since_only_without_if_match() {
        let mut f = Fields::default();
        f.if_unmodified_since = Single::One(b"Sun, 06 Nov 1994 08:49:36 GMT");
        assert_eq!(evaluate(&f, &v(), true), Outcome::Failed);
        f.if_unmodified_since = Single::One(b"Sunday, 06-Nov-94 08:49:37 GMT");
        assert_eq!(evaluate(&f, &v(), true), Outcome::Proceed);
        f.if_unmodified_since = Single::One(b"Sun Nov  6 08:49:30 1994");
        f.if_match = lines("\"abc\"");
        assert_eq!(evaluate(&f, &v(), true), Outcome::Proceed, "If-Match wins");
        f.if_match = Lines::default();
        f.if_unmodified_since = Single::One(b"garbage");
        assert_eq!(
            evaluate(&f, &v(), true),
            Outcome::Proceed,
            "invalid date ignored"
        );
    }

    #[test]
    fn if_none_match_is_weak_and_beats_if_modified_since() {
        let mut f = Fields::default();
        f.if_none_match = lines("W/\"abc\"");
        assert_eq!(evaluate(&f, &v(), true), Outcome::NotModified);
        assert_eq!(evaluate(&f, &v(), false), Outcome::Failed);
        f.if_none_match = lines("\"other\"");
        f.if_modified_since = Single::One(b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            evaluate(&f, &v(), true),
            Outcome::Proceed,
            "IMS ignored with INM"
        );
        f.if_none_match = lines("*");
        assert_eq!(evaluate(&f, &v(), true), Outcome::NotModified);
    }

    #[test]
    fn if_modified_since_compares_seconds_and_ignores_bad_dates() {
        let mut f = Fields::default();
        f.if_modified_since = Single::One(b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(evaluate(&f, &v(), true), Outcome::NotModified);
        f.if_modified_since = Single::One(b"Sat, 06 Nov 2094 08:49:37 GMT");
        assert_eq!(
            evaluate(&f, &v(), true),
            Outcome::NotModified,
            "future date"
        );
        f.if_modified_since = Single::One(b"Sun, 06 Nov 1994 08:49:36 GMT");
        assert_eq!(evaluate(&f, &v(), true), Outcome::Proceed);
        f.if_modified_since = Single::One(b"yesterday");
        assert_eq!(evaluate(&f, &v(), true), Outcome::Proceed);
        f.if_modified_since = Single::One(b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(evaluate(&f, &v(), false), Outcome::Proceed, "GET/HEAD only");
    }

    #[test]
    fn if_range_needs_the_strong_tag_or_the_exact_date() {
        let mut f = Fields::default();
        assert!(if_range_holds(&f, &v(), NOW));
        f.if_range = Single::One(b"\"abc\"");
        assert!(if_range_holds(&f, &v(), NOW));
        f.if_range = Single::One(b"W/\"abc\"");
        assert!(!if_range_holds(&f, &v(), NOW));
        f.if_range = Single::One(b"\"nope\"");
        assert!(!if_range_holds(&f, &v(), NOW));
        f.if_range = Single::One(b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert!(if_range_holds(&f, &v(), NOW));
        f.if_range = Single::One(b"Sun, 06 Nov 1994 08:49:38 GMT");
        assert!(!if_range_holds(&f, &v(), NOW));
        f.if_range = Single::One(b"junk");
        assert!(!if_range_holds(&f, &v(), NOW));
        // The Last-Modified second is the current one: weak, no match.
        f.if_range = Single::One(b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert!(!if_range_holds(&f, &v(), LM));
    }

    #[test]
    fn dates_before_1970_are_valid_and_earlier_than_any_file() {
        assert_eq!(parse_date(b"Mon, 01 Foo 1900 00:00:00 GMT"), None);
        let mut f = Fields::default();
        f.if_unmodified_since = Single::One(b"Mon, 01 Jan 1900 00:00:00 GMT");
        assert_eq!(evaluate(&f, &v(), true), Outcome::Failed);
    }

    #[test]
    fn without_validators_only_stars_match() {
        let none = Validators {
            etag: None,
            last_modified: None,
        };
        let mut f = Fields::default();
        f.if_match = lines("\"x\"");
        assert_eq!(evaluate(&f, &none, true), Outcome::Failed);
        f.if_match = lines("*");
        assert_eq!(evaluate(&f, &none, true), Outcome::Proceed);
        f.if_none_match = lines("*");
        assert_eq!(evaluate(&f, &none, true), Outcome::NotModified);
        let mut f = Fields::default();
        f.if_modified_since = Single::One(b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(evaluate(&f, &none, true), Outcome::Proceed);
    }
}
