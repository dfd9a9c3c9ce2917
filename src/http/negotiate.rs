//! Content negotiation (RFC 9110 §12): `Accept-Encoding` picks the content
//! coding, `Accept` picks between HTML and JSON. One reader per field, both
//! on the shared list syntax, so q-values mean the same everywhere.

use super::syntax::{elements, weighted};

/// A content coding ferry can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    Br,
    Zstd,
    Gzip,
    Identity,
}

impl Coding {
    /// The codings ferry can compress with, in its order of preference on
    /// a tie.
    pub const COMPRESSED: [Coding; 3] = [Coding::Br, Coding::Zstd, Coding::Gzip];

    pub fn token(self) -> &'static [u8] {
        match self {
            Coding::Br => b"br",
            Coding::Zstd => b"zstd",
            Coding::Gzip => b"gzip",
            Coding::Identity => b"identity",
        }
    }
}

/// A representation on offer: its coding and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub coding: Coding,
    pub len: u64,
}

/// The weights a request's Accept-Encoding gives each coding (thousandths;
/// None: the field is absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodingWeights {
    br: Option<u16>,
    zstd: Option<u16>,
    gzip: Option<u16>,
    identity: Option<u16>,
    star: Option<u16>,
    present: bool,
}

impl EncodingWeights {
    pub fn of<'a>(lines: impl Iterator<Item = &'a [u8]>) -> EncodingWeights {
        let mut w = EncodingWeights::default();
        let mut lines = lines.peekable();
        w.present = lines.peek().is_some();
        for element in elements(lines) {
            let (coding, q) = weighted(element);
            let slot = if coding.eq_ignore_ascii_case(b"br") {
                &mut w.br
            } else if coding.eq_ignore_ascii_case(b"zstd") {
                &mut w.zstd
            } else if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip")
            {
                &mut w.gzip
            } else if coding.eq_ignore_ascii_case(b"identity") {
                &mut w.identity
            } else if coding == b"*" {
                &mut w.star
            } else {
                continue;
            };
            // A coding listed twice: the higher weight stands.
            *slot = Some(slot.map_or(q, |old: u16| old.max(q)));
        }
        w
    }

    /// How acceptable `coding` is (0: not at all). Without the field, only
    /// identity (like curl without `--compressed`). Identity is acceptable
    /// unless excluded by name or by `*` (RFC 9110 §12.5.3), but when the
    /// field does not name it, only as the fallback: the lowest weight, so
    /// `br;q=0.5, gzip;q=0.8` gets gzip rather than the uncompressed bytes.
    pub fn weight(&self, coding: Coding) -> u16 {
        if !self.present {
            return if coding == Coding::Identity { 1000 } else { 0 };
        }
        let named = match coding {
            Coding::Br => self.br,
            Coding::Zstd => self.zstd,
            Coding::Gzip => self.gzip,
            Coding::Identity => self.identity,
        };
        match (named, self.star) {
            (Some(q), _) => q,
            (None, Some(q)) => q,
            (None, None) if coding == Coding::Identity => 1,
            (None, None) => 0,
        }
    }

    /// Whether any compressed coding is acceptable at all.
    pub fn wants_compression(&self) -> bool {
        Coding::COMPRESSED.iter().any(|&c| self.weight(c) > 0)
    }

    /// The compressed coding to make at once when nothing ready is
    /// acceptable: the highest weight, then the quickest to make (zstd,
    /// gzip, br).
    pub fn quickest(&self) -> Option<Coding> {
        [Coding::Zstd, Coding::Gzip, Coding::Br]
            .into_iter()
            .filter(|&c| self.weight(c) > 0)
            .rev()
            .max_by_key(|&c| self.weight(c))
    }

    /// The offer to send: the highest weight; among equal weights the
    /// smallest, then br, zstd, gzip, identity. None when nothing on offer
    /// is acceptable (406).
    pub fn choose(&self, offers: &[Offer]) -> Option<Coding> {
        let rank = |c: Coding| match c {
            Coding::Br => 0,
            Coding::Zstd => 1,
            Coding::Gzip => 2,
            Coding::Identity => 3,
        };
        offers
            .iter()
            .map(|o| (self.weight(o.coding), o))
            .filter(|(q, _)| *q > 0)
            .max_by(|(qa, a), (qb, b)| {
                qa.cmp(qb)
                    .then(b.len.cmp(&a.len))
                    .then(rank(b.coding).cmp(&rank(a.coding)))
            })
            .map(|(_, o)| o.coding)
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

    fn pick(v: &str, offers: &[(Coding, u64)]) -> Option<Coding> {
        let offers: Vec<Offer> = offers
            .iter()
            .map(|&(coding, len)| Offer { coding, len })
            .collect();
        EncodingWeights::of(std::iter::once(v.as_bytes())).choose(&offers)
    }

    const ALL: &[(Coding, u64)] = &[
        (Coding::Identity, 1000),
        (Coding::Br, 200),
        (Coding::Zstd, 220),
        (Coding::Gzip, 250),
    ];

    #[test]
    fn absent_field_means_identity() {
        let w = EncodingWeights::of(std::iter::empty());
        let offers = [Offer {
            coding: Coding::Gzip,
            len: 1,
        }];
        assert_eq!(w.choose(&offers), None);
        assert_eq!(w.weight(Coding::Identity), 1000);
    }

    #[test]
    fn q_values_decide_then_the_smallest_wins() {
        use Coding::*;
        assert_eq!(pick("gzip, deflate, br, zstd", ALL), Some(Br));
        assert_eq!(pick("gzip, deflate, br", &ALL[..2]), Some(Br));
        assert_eq!(pick("br;q=0.5, gzip;q=0.8", ALL), Some(Gzip));
        assert_eq!(pick("br;q=0, gzip", ALL), Some(Gzip));
        assert_eq!(pick("*", ALL), Some(Br));
        assert_eq!(pick("*;q=0, identity", ALL), Some(Identity));
        assert_eq!(pick("identity, gzip;q=0.5", ALL), Some(Identity));
        assert_eq!(pick("x-gzip", ALL), Some(Gzip));
        assert_eq!(pick("", ALL), Some(Identity));
        assert_eq!(pick("GZIP;Q=1.0", ALL), Some(Gzip));
        assert_eq!(
            pick("gzip;q=2", ALL),
            Some(Identity),
            "an invalid weight excludes"
        );
        // Equal weights: the smallest, whatever the order sent.
        assert_eq!(pick("gzip, zstd", ALL), Some(Zstd));
        assert_eq!(
            pick("gzip, br", &[(Identity, 1000), (Br, 300), (Gzip, 250)]),
            Some(Gzip)
        );
    }

    #[test]
    fn identity_excluded_and_nothing_else_acceptable_is_406() {
        use Coding::*;
        assert_eq!(pick("identity;q=0", &[(Identity, 10)]), None);
        assert_eq!(pick("*;q=0", &[(Identity, 10), (Gzip, 5)]), None);
        assert_eq!(
            pick("identity;q=0, gzip", &[(Identity, 10), (Gzip, 5)]),
            Some(Gzip)
        );
        assert_eq!(
            pick("gzip;q=0", &[(Identity, 10), (Gzip, 5)]),
            Some(Identity)
        );
        assert_eq!(pick("identity;q=0, br", &[(Identity, 10), (Gzip, 5)]), None);
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
