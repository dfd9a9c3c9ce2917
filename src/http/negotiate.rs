//! Content negotiation (RFC 9110 §12): `Accept-Encoding` picks the content
//! coding, `Accept` picks between HTML and JSON. One reader per field, both
//! on the shared list syntax, so q-values mean the same everywhere.

use super::syntax::{elements, weighted};

/// A content coding ferry can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Br,
    Gzip,
    Identity,
}

impl Coding {
    pub fn token(self) -> &'static [u8] {
        match self {
            Coding::Br => b"br",
            Coding::Gzip => b"gzip",
            Coding::Identity => b"identity",
        }
    }
}

/// Picks the coding for the request's Accept-Encoding lines, among the
/// codings available besides identity. Without the field, identity (like
/// curl without `--compressed`). The highest q wins; ties prefer br, then
/// gzip, then identity. Identity is the fallback even where excluded: RFC
/// 9110 says to send an uncoded representation rather than fail.
pub fn choose_coding<'a>(
    lines: impl Iterator<Item = &'a [u8]>,
    has_br: bool,
    has_gz: bool,
) -> Coding {
    // q-values in thousandths; None: not mentioned.
    let (mut br, mut gz, mut id, mut star) = (None, None, None, None);
    let mut lines = lines.peekable();
    if lines.peek().is_none() {
        return Coding::Identity;
    }
    for element in elements(lines) {
        let (coding, q) = weighted(element);
        let slot = if coding.eq_ignore_ascii_case(b"br") {
            &mut br
        } else if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip") {
            &mut gz
        } else if coding.eq_ignore_ascii_case(b"identity") {
            &mut id
        } else if coding == b"*" {
            &mut star
        } else {
            continue;
        };
        // A coding listed twice: the higher weight stands.
        *slot = Some(slot.map_or(q, |old: u16| old.max(q)));
    }
    let br = if has_br { br.or(star).unwrap_or(0) } else { 0 };
    let gz = if has_gz { gz.or(star).unwrap_or(0) } else { 0 };
    let id = id.or(star).unwrap_or(1);
    if br > 0 && br >= gz && br >= id {
        Coding::Br
    } else if gz > 0 && gz >= id {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

/// What a request's `Accept` says about the two formats ferry offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MediaWeights {
    /// `application/json`'s weight.
    pub json: u16,
    /// HTML's weight, through `text/html`, `text/*` or `*/*`.
    pub html: u16,
    /// `text/html`'s weight when named explicitly (0 when not).
    pub html_named: u16,
}

impl MediaWeights {
    /// Reads the Accept lines (the highest weight of repeated ranges).
    pub fn of<'a>(lines: impl Iterator<Item = &'a [u8]>) -> MediaWeights {
        let mut w = MediaWeights::default();
        for element in elements(lines) {
            let (range, q) = weighted(element);
            if range.eq_ignore_ascii_case(b"application/json") {
                w.json = w.json.max(q);
            } else if range.eq_ignore_ascii_case(b"text/html") {
                w.html = w.html.max(q);
                w.html_named = w.html_named.max(q);
            } else if range.eq_ignore_ascii_case(b"text/*") || range == b"*/*" {
                w.html = w.html.max(q);
            }
        }
        w
    }

    /// JSON weighs more than HTML (a script asking for a listing).
    pub fn prefers_json(&self) -> bool {
        self.json > 0 && self.json > self.html
    }

    /// The client names HTML as acceptable: a browser navigating.
    pub fn names_html(&self) -> bool {
        self.html_named > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(v: &str, br: bool, gz: bool) -> Coding {
        choose_coding(std::iter::once(v.as_bytes()), br, gz)
    }

    #[test]
    fn absent_field_means_identity() {
        assert_eq!(
            choose_coding(std::iter::empty(), true, true),
            Coding::Identity
        );
    }

    #[test]
    fn br_is_preferred_on_ties_and_q_values_decide() {
        assert_eq!(pick("gzip, deflate, br, zstd", true, true), Coding::Br);
        assert_eq!(pick("gzip, deflate, br", false, true), Coding::Gzip);
        assert_eq!(pick("br;q=0.5, gzip;q=0.8", true, true), Coding::Gzip);
        assert_eq!(pick("br;q=0, gzip", true, true), Coding::Gzip);
        assert_eq!(pick("gzip;q=0", false, true), Coding::Identity);
        assert_eq!(pick("*", true, true), Coding::Br);
        assert_eq!(pick("*;q=0, identity", true, true), Coding::Identity);
        assert_eq!(pick("identity;q=0", false, true), Coding::Identity);
        assert_eq!(pick("identity;q=0, gzip;q=0.1", false, true), Coding::Gzip);
        assert_eq!(pick("identity, gzip;q=0.5", false, true), Coding::Identity);
        assert_eq!(pick("x-gzip", false, true), Coding::Gzip);
        assert_eq!(pick("", true, true), Coding::Identity);
        assert_eq!(pick("GZIP;Q=1.0", false, true), Coding::Gzip);
        assert_eq!(pick("gzip;q=2", false, true), Coding::Identity);
    }

    fn weights(v: &str) -> MediaWeights {
        MediaWeights::of(std::iter::once(v.as_bytes()))
    }

    #[test]
    fn accept_weighs_json_against_html_with_q_values() {
        assert!(weights("application/json").prefers_json());
        assert!(!weights("*/*").prefers_json());
        assert!(!weights("text/html,application/xhtml+xml,*/*;q=0.8").prefers_json());
        assert!(weights("application/json, */*;q=0.1").prefers_json());
        assert!(!weights("application/json;q=0, */*").prefers_json());
        assert!(weights("text/html;q=0.5, application/json").prefers_json());
    }

    #[test]
    fn only_a_named_acceptable_html_counts_as_a_browser() {
        assert!(weights("text/html,application/xhtml+xml,*/*;q=0.8").names_html());
        assert!(!weights("*/*").names_html());
        assert!(!weights("text/html;q=0").names_html());
        assert!(!weights("application/json").names_html());
    }
}
