//! Field-value syntax shared by every reader of request fields (RFC 9110
//! §5.6): tokens, optional whitespace, comma-separated lists and weights.
//! One copy of each rule, so two fields can't disagree on what a list is.

/// `tchar` (RFC 9110 §5.6.2): the bytes of a token such as a field name.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `v` is a non-empty token.
pub fn is_token(v: &[u8]) -> bool {
    !v.is_empty() && v.iter().all(|&b| is_tchar(b))
}

/// Strips optional whitespace (SP / HTAB) around a field value or list item.
pub fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The elements of a list-valued field over all of its lines (several lines
/// mean one comma-joined list, RFC 9110 §5.3), trimmed, empty elements
/// skipped (§5.6.1).
pub fn elements<'a>(lines: impl Iterator<Item = &'a [u8]>) -> impl Iterator<Item = &'a [u8]> {
    lines
        .flat_map(|line| line.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// A list element with parameters, `value;p=v;q=0.5`: the value and its
/// weight in thousandths (RFC 9110 §12.4.2). Without a `q` parameter the
/// weight is 1000; an invalid one counts as 0 (not acceptable).
pub fn weighted(element: &[u8]) -> (&[u8], u16) {
    let mut parts = element.split(|&b| b == b';');
    let value = trim_ows(parts.next().unwrap_or(b""));
    let q = parts
        .map(trim_ows)
        .find_map(|p| p.strip_prefix(b"q=").or_else(|| p.strip_prefix(b"Q=")))
        .map_or(1000, |v| qvalue(trim_ows(v)).unwrap_or(0));
    (value, q)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in
/// thousandths.
pub fn qvalue(v: &[u8]) -> Option<u16> {
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

    #[test]
    fn list_elements_span_lines_and_skip_empty_ones() {
        let lines = [&b" a, ,b "[..], b"", b"c,"];
        let got: Vec<&[u8]> = elements(lines.into_iter()).collect();
        assert_eq!(got, [&b"a"[..], b"b", b"c"]);
    }

    #[test]
    fn weights_default_to_one_and_invalid_ones_are_zero() {
        assert_eq!(weighted(b"gzip"), (&b"gzip"[..], 1000));
        assert_eq!(weighted(b"br ; q=0.5"), (&b"br"[..], 500));
        assert_eq!(weighted(b"text/html;level=1;Q=0"), (&b"text/html"[..], 0));
        assert_eq!(weighted(b"gzip;q=2"), (&b"gzip"[..], 0));
        assert_eq!(weighted(b"gzip;q= 0.2 "), (&b"gzip"[..], 200));
    }

    #[test]
    fn tokens_and_whitespace() {
        assert!(is_token(b"X-Frame-Options"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert_eq!(trim_ows(b" \tx y\t "), b"x y");
    }
}
