//! `Accept-Encoding` negotiation (RFC 9110 §12.5.3) between the plain file
//! and its precompressed `.br` / `.gz` sidecars.

use crate::request::trim_ows;

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

/// Picks the representation for the request's Accept-Encoding lines.
/// Without the field, identity (like curl without `--compressed`). The
/// highest q wins; ties prefer br, then gzip, then identity. Identity is
/// the fallback even where excluded: RFC 9110 says to send an uncoded
/// representation rather than fail.
pub fn choose<'a>(lines: impl Iterator<Item = &'a [u8]>, has_br: bool, has_gz: bool) -> Coding {
    // q-values in thousandths; None: not mentioned.
    let (mut br, mut gz, mut id, mut star) = (None, None, None, None);
    let mut any = false;
    for line in lines {
        any = true;
        for element in line.split(|&b| b == b',') {
            let mut parts = element.split(|&b| b == b';');
            let coding = trim_ows(parts.next().unwrap_or(b""));
            if coding.is_empty() {
                continue;
            }
            let mut q = 1000;
            for param in parts {
                let param = trim_ows(param);
                if let Some(v) = param
                    .strip_prefix(b"q=")
                    .or_else(|| param.strip_prefix(b"Q="))
                {
                    q = qvalue(trim_ows(v)).unwrap_or(0);
                }
            }
            let slot = if coding.eq_ignore_ascii_case(b"br") {
                &mut br
            } else if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip")
            {
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
    }
    if !any {
        return Coding::Identity;
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

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in
/// thousandths.
pub(crate) fn qvalue(v: &[u8]) -> Option<u16> {
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths = 0u16;
    for (i, d) in frac.iter().enumerate() {
        thousandths += u16::from(d - b'0') * [100, 10, 1][i];
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(v: &str, br: bool, gz: bool) -> Coding {
        choose(std::iter::once(v.as_bytes()), br, gz)
    }

    #[test]
    fn absent_field_means_identity() {
        assert_eq!(choose(std::iter::empty(), true, true), Coding::Identity);
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

    #[test]
    fn qvalues_parse_strictly() {
        assert_eq!(qvalue(b"1"), Some(1000));
        assert_eq!(qvalue(b"1.000"), Some(1000));
        assert_eq!(qvalue(b"0.5"), Some(500));
        assert_eq!(qvalue(b"0.001"), Some(1));
        assert_eq!(qvalue(b"0"), Some(0));
        assert_eq!(qvalue(b"1.5"), None);
        assert_eq!(qvalue(b"0.0001"), None);
        assert_eq!(qvalue(b"abc"), None);
    }
}
