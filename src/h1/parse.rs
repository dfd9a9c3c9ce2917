//! Request-head parsing: `httparse` for the request line and header fields,
//! then the RFC 9112 checks httparse leaves to us — limits, `Host`, message
//! framing (Content-Length / Transfer-Encoding) and persistence.
//!
//! A [`Request`] borrows from the connection's buffer: no per-header
//! allocation.

use std::fmt;
use std::mem::MaybeUninit;

use crate::http::syntax::trim_ows;
use crate::http::{Fields, HttpVersion, Method, Persist, Status};

/// Hard ceiling on header slots (the `--max-headers` flag is capped at it);
/// the slots live uninitialised on the stack, so a large ceiling costs nothing.
pub const HEADER_SLOTS: usize = 1000;

/// Limits applied while parsing a head.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest request target (bytes); longer: 414.
    pub max_target: usize,
    /// Largest head (request line + fields + blank line); larger: 431.
    pub max_head: usize,
    /// Most header fields; more: 431.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_target: 8 * 1024,
            max_head: 64 * 1024,
            max_headers: 100,
        }
    }
}

/// How the request body, if any, is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    None,
    Length(u64),
    Chunked,
}

/// A parsed, validated request head, borrowing from the read buffer.
#[derive(Debug)]
pub struct Request<'b> {
    pub method: Method,
    pub method_str: &'b str,
    /// The request target exactly as sent (for the access log).
    pub target: &'b str,
    /// The path, still percent-encoded: `/…` for origin and absolute form,
    /// `*` for asterisk form, the authority for CONNECT's authority form.
    pub path: &'b str,
    /// The query string without `?`, if any.
    pub query: Option<&'b str>,
    pub version: HttpVersion,
    pub persist: Persist,
    pub body: BodyFraming,
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    pub expect_continue: bool,
    /// The fields the response depends on.
    pub fields: Fields<'b>,
}

/// Why a head was rejected. Each maps to one status, and after each the
/// connection closes: framing may be unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    Malformed,
    UriTooLong,
    HeadTooLarge,
    VersionNotSupported,
    /// Conflicting or invalid Content-Length / Transfer-Encoding.
    BadFraming,
    /// A transfer coding other than chunked.
    UnknownCoding,
    /// `HTTP/1.x` with x > 1: to be handled as HTTP/1.1 (RFC 9110 §6.2).
    /// httparse knows only 1.0 and 1.1, so the caller re-parses a copy with
    /// the minor digit at `at` replaced by `1`.
    NewerMinorVersion {
        at: usize,
    },
}

impl RequestError {
    pub fn status(self) -> Status {
        match self {
            RequestError::Malformed | RequestError::BadFraming => Status::BadRequest,
            RequestError::UriTooLong => Status::UriTooLong,
            RequestError::HeadTooLarge => Status::HeaderFieldsTooLarge,
            RequestError::VersionNotSupported | RequestError::NewerMinorVersion { .. } => {
                Status::VersionNotSupported
            }
            RequestError::UnknownCoding => Status::NotImplemented,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestError::Malformed => "malformed request",
            RequestError::UriTooLong => "request target too long",
            RequestError::HeadTooLarge => "request head too large",
            RequestError::VersionNotSupported => "HTTP version not supported",
            RequestError::BadFraming => "invalid message framing",
            RequestError::UnknownCoding => "unsupported transfer coding",
            RequestError::NewerMinorVersion { .. } => "newer HTTP/1 minor version",
        })
    }
}

impl std::error::Error for RequestError {}

/// Parses one request head from the start of `buf`.
///
/// `Ok(None)`: incomplete, read more. `Ok(Some((req, n)))`: the head took
/// `n` bytes; a body (per `req.body`) or the next request follows.
pub fn parse<'b>(
    buf: &'b [u8],
    limits: &Limits,
) -> Result<Option<(Request<'b>, usize)>, RequestError> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; HEADER_SLOTS];
    let slots = &mut slots[..limits.max_headers.min(HEADER_SLOTS)];
    let mut req = httparse::Request::new(&mut []);
    let status =
        httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut req, buf, slots);
    let head_len = match status {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if target_too_long(buf, limits.max_target) {
                return Err(RequestError::UriTooLong);
            }
            if buf.len() >= limits.max_head {
                return Err(RequestError::HeadTooLarge);
            }
            return Ok(None);
        }
        // A version token cut by a read boundary (`HTTP/2`): wait for the
        // rest, so the verdict doesn't depend on how the bytes arrived.
        Err(httparse::Error::Version) if version_incomplete(buf) => {
            check_partial(buf, limits)?;
            return Ok(None);
        }
        Err(e) => return Err(classify_error(e, buf, limits)),
    };
    let (Some(method_str), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(RequestError::Malformed);
    };
    if target.len() > limits.max_target {
        return Err(RequestError::UriTooLong);
    }
    if head_len > limits.max_head {
        return Err(RequestError::HeadTooLarge);
    }
    let version = if minor == 0 {
        HttpVersion::Http10
    } else {
        HttpVersion::Http11
    };
    let method = Method::from_token(method_str);
    let (path, query, target_authority) = split_target(target, method)?;

    let mut hosts = 0;
    let mut host_ok = true;
    let mut close = false;
    let mut keep_alive = false;
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut te_seen = false;
    let mut te_unknown = false;
    let mut expect_continue = false;
    let mut fields = Fields::default();
    for h in req.headers.iter() {
        let value = trim_ows(h.value);
        if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(RequestError::Malformed);
        }
        let name = h.name.as_bytes();
        // Dispatch on length first: most fields are none of ours.
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                hosts += 1;
                host_ok &= valid_host(value, true);
            }
            5 if name.eq_ignore_ascii_case(b"range") => fields.range.set(value),
            6 if name.eq_ignore_ascii_case(b"expect") => {
                expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
            }
            6 if name.eq_ignore_ascii_case(b"accept") => fields.accept.push(value),
            6 if name.eq_ignore_ascii_case(b"origin") => fields.origin.set(value),
            7 if name.eq_ignore_ascii_case(b"referer") => fields.referer.set(value),
            14 if name.eq_ignore_ascii_case(b"sec-fetch-dest") => fields.sec_fetch_dest.set(value),
            29 if name.eq_ignore_ascii_case(b"access-control-request-method") => {
                fields.cors_method.set(value)
            }
            30 if name.eq_ignore_ascii_case(b"access-control-request-headers") => {
                fields.cors_headers.push(value)
            }
            8 if name.eq_ignore_ascii_case(b"if-match") => fields.if_match.push(value),
            8 if name.eq_ignore_ascii_case(b"if-range") => fields.if_range.set(value),
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in value.split(|&b| b == b',') {
                    let token = trim_ows(token);
                    close |= token.eq_ignore_ascii_case(b"close");
                    keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            13 if name.eq_ignore_ascii_case(b"if-none-match") => fields.if_none_match.push(value),
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                for item in value.split(|&b| b == b',') {
                    let n = parse_content_length(trim_ows(item))?;
                    if content_length.is_some_and(|prev| prev != n) {
                        return Err(RequestError::BadFraming);
                    }
                    content_length = Some(n);
                }
            }
            15 if name.eq_ignore_ascii_case(b"accept-encoding") => {
                fields.accept_encoding.push(value)
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                te_seen = true;
                for item in value.split(|&b| b == b',') {
                    let mut parts = item.split(|&b| b == b';');
                    let coding = trim_ows(parts.next().unwrap_or(b""));
                    if coding.is_empty() {
                        continue;
                    }
                    if chunked {
                        // Anything after chunked, including a second chunked.
                        return Err(RequestError::BadFraming);
                    }
                    if coding.eq_ignore_ascii_case(b"chunked") {
                        // `chunked` takes no parameters (RFC 9112 §7.1).
                        if parts.next().is_some() {
                            return Err(RequestError::BadFraming);
                        }
                        chunked = true;
                    } else {
                        te_unknown = true;
                    }
                }
            }
            17 if name.eq_ignore_ascii_case(b"if-modified-since") => {
                fields.if_modified_since.set(value)
            }
            19 if name.eq_ignore_ascii_case(b"if-unmodified-since") => {
                fields.if_unmodified_since.set(value)
            }
            _ => {}
        }
    }

    // RFC 9112 §3.2: a missing Host (HTTP/1.1), several, or an invalid one: 400.
    if hosts > 1 || !host_ok || (hosts == 0 && version == HttpVersion::Http11) {
        return Err(RequestError::Malformed);
    }
    if let Some(authority) = target_authority
        && !valid_host(authority, false)
    {
        return Err(RequestError::Malformed);
    }

    // RFC 9112 §6.1, §6.3: Transfer-Encoding with Content-Length, in
    // HTTP/1.0, or not ending in chunked cannot be framed safely.
    let body = if te_seen {
        if content_length.is_some() || version == HttpVersion::Http10 || !chunked {
            return Err(RequestError::BadFraming);
        }
        if te_unknown {
            return Err(RequestError::UnknownCoding);
        }
        BodyFraming::Chunked
    } else {
        match content_length {
            None | Some(0) => BodyFraming::None,
            Some(n) => BodyFraming::Length(n),
        }
    };

    let persist = match version {
        HttpVersion::Http11 if close => Persist::Close,
        HttpVersion::Http11 => Persist::KeepAlive,
        HttpVersion::Http10 if keep_alive && !close => Persist::KeepAliveAnnounced,
        HttpVersion::Http10 => Persist::Close,
    };
    let request = Request {
        method,
        method_str,
        target,
        path,
        query,
        version,
        persist,
        body,
        expect_continue: expect_continue && version == HttpVersion::Http11,
        fields,
    };
    Ok(Some((request, head_len)))
}

/// The limit checks for an incomplete head, without a full parse (used
/// while bytes trickle in without a line feed).
pub fn check_partial(buf: &[u8], limits: &Limits) -> Result<(), RequestError> {
    if target_too_long(buf, limits.max_target) {
        return Err(RequestError::UriTooLong);
    }
    if buf.len() >= limits.max_head {
        return Err(RequestError::HeadTooLarge);
    }
    Ok(())
}

/// Maps an httparse error to ours. A well-formed but unsupported version
/// (`HTTP/2.0`, `HTTP/3.0`) is 505; a garbled one is 400.
fn classify_error(e: httparse::Error, buf: &[u8], limits: &Limits) -> RequestError {
    match e {
        httparse::Error::TooManyHeaders => RequestError::HeadTooLarge,
        httparse::Error::Version => match version_token(buf) {
            // Past the head limit (a long run of empty lines first): 431.
            Some((b'1', minor, at)) if minor > b'1' && at >= limits.max_head => {
                RequestError::HeadTooLarge
            }
            Some((b'1', minor, at)) if minor > b'1' => RequestError::NewerMinorVersion { at },
            Some(_) => RequestError::VersionNotSupported,
            None => RequestError::Malformed,
        },
        _ if target_too_long(buf, limits.max_target) => RequestError::UriTooLong,
        _ => RequestError::Malformed,
    }
}

/// The third field of the request line (the version, `\r` excluded), its
/// offset in `buf`, and whether a line feed ends the line.
fn version_field(buf: &[u8]) -> Option<(&[u8], usize, bool)> {
    let line = request_line(buf);
    let start = line.as_ptr() as usize - buf.as_ptr() as usize;
    let complete = start + line.len() < buf.len();
    let mut parts = line.split(|&b| b == b' ');
    let (Some(_), Some(_), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let offset = version.as_ptr() as usize - buf.as_ptr() as usize;
    Some((
        version.strip_suffix(b"\r").unwrap_or(version),
        offset,
        complete,
    ))
}

/// Whether the request line has no end yet and its version token so far is
/// a prefix of `HTTP/d.d`.
fn version_incomplete(buf: &[u8]) -> bool {
    let Some((v, _, false)) = version_field(buf) else {
        return false;
    };
    v.len() < 8
        && v.iter().enumerate().all(|(i, &c)| match i {
            0..=4 => c == b"HTTP/"[i],
            5 | 7 => c.is_ascii_digit(),
            _ => c == b'.',
        })
}

/// The version token, if it is a well-formed `HTTP/d.d`: (major, minor,
/// offset of the minor digit).
fn version_token(buf: &[u8]) -> Option<(u8, u8, usize)> {
    let (version, offset, _) = version_field(buf)?;
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Some((*major, *minor, offset + 7))
        }
        _ => None,
    }
}

/// The request line, without leading empty lines, up to (not including) LF.
fn request_line(buf: &[u8]) -> &[u8] {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let rest = &buf[start..];
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    &rest[..end]
}

/// Whether the target seen so far (possibly incomplete) is over the limit,
/// so a client streaming an endless target gets 414 rather than 431.
fn target_too_long(buf: &[u8], max_target: usize) -> bool {
    if buf.len() <= max_target {
        return false;
    }
    let line = request_line(buf);
    let Some(sp) = line.iter().position(|&b| b == b' ') else {
        return false;
    };
    let rest = &line[sp + 1..];
    let target_len = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    target_len > max_target
}

/// A request target taken apart: path, query, and (absolute form) the
/// authority still to be validated.
type TargetParts<'a> = (&'a str, Option<&'a str>, Option<&'a [u8]>);

/// Splits a request target into its parts.
fn split_target(target: &str, method: Method) -> Result<TargetParts<'_>, RequestError> {
    if method == Method::Connect {
        // Authority form; answered with 405 without being looked at further.
        return Ok((target, None, None));
    }
    if target == "*" {
        return if method == Method::Options {
            Ok(("*", None, None))
        } else {
            Err(RequestError::Malformed)
        };
    }
    if target.bytes().any(|b| b == b'#' || !b.is_ascii()) {
        return Err(RequestError::Malformed);
    }
    let (authority, path_and_query) = if target.starts_with('/') {
        (None, target)
    } else {
        let rest = strip_prefix_ignore_case(target, "http://")
            .or_else(|| strip_prefix_ignore_case(target, "https://"))
            .ok_or(RequestError::Malformed)?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        if authority.is_empty() {
            return Err(RequestError::Malformed);
        }
        (Some(authority.as_bytes()), &rest[end..])
    };
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    // An absolute-form target with an empty path means "/".
    let path = if path.is_empty() { "/" } else { path };
    Ok((path, query, authority))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `Host = uri-host [ ":" port ]` (RFC 9110 §7.2), where uri-host is an
/// IP-literal in brackets, or reg-name / IPv4 characters. An empty Host is
/// allowed in the header (RFC 9112 §3.2), not in a target.
fn valid_host(value: &[u8], empty_ok: bool) -> bool {
    if value.is_empty() {
        return empty_ok;
    }
    let (host, port) = if let Some(rest) = value.strip_prefix(b"[") {
        let Some(close) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &rest[..close];
        if literal.is_empty()
            || !literal
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        let after = &rest[close + 1..];
        match after {
            [] => (literal, None),
            [b':', port @ ..] => (literal, Some(port)),
            _ => return false,
        }
    } else {
        match value.iter().position(|&b| b == b':') {
            Some(i) => (&value[..i], Some(&value[i + 1..])),
            None => (value, None),
        }
    };
    let host_ok = value.starts_with(b"[")
        || (!host.is_empty()
            && host
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b)));
    let port_ok = port.is_none_or(|p| p.len() <= 5 && p.iter().all(u8::is_ascii_digit));
    host_ok && port_ok
}

/// `Content-Length = 1*DIGIT`: no sign, no spaces, no overflow.
fn parse_content_length(v: &[u8]) -> Result<u64, RequestError> {
    if v.is_empty() || v.len() > 20 || !v.iter().all(u8::is_ascii_digit) {
        return Err(RequestError::BadFraming);
    }
    let mut n: u64 = 0;
    for &d in v {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or(RequestError::BadFraming)?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> (Request<'_>, usize) {
        parse(raw.as_bytes(), &Limits::default())
            .expect("valid")
            .expect("complete")
    }

    fn err(raw: &str) -> RequestError {
        parse(raw.as_bytes(), &Limits::default()).expect_err("must be rejected")
    }

    #[test]
    fn simple_get_parses_path_query_and_keep_alive() {
        let (r, n) = ok("GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\n\r\nGET");
        assert_eq!(n, 34);
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.path, "/a/b");
        assert_eq!(r.query, Some("x=1"));
        assert_eq!(r.persist, Persist::KeepAlive);
        assert_eq!(r.body, BodyFraming::None);
    }

    #[test]
    fn incomplete_head_asks_for_more() {
        let r = parse(b"GET / HTTP/1.1\r\nHost: h\r\n", &Limits::default());
        assert!(matches!(r, Ok(None)));
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        assert_eq!(ok("GET / HTTP/1.0\r\n\r\n").0.persist, Persist::Close);
        let (r, _) = ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert_eq!(r.persist, Persist::KeepAliveAnnounced);
        let (r, _) = ok("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n");
        assert_eq!(r.persist, Persist::Close);
    }

    #[test]
    fn host_rules_follow_rfc_9112_section_3_2() {
        assert_eq!(err("GET / HTTP/1.1\r\n\r\n"), RequestError::Malformed);
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            RequestError::Malformed
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
            RequestError::Malformed
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
            RequestError::Malformed
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n"),
            RequestError::Malformed
        );
        ok("GET / HTTP/1.1\r\nHost: \r\n\r\n");
        ok("GET / HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n");
        ok("GET / HTTP/1.1\r\nHost: example.com:80\r\n\r\n");
        ok("GET / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn absolute_form_takes_the_path_from_the_target() {
        let (r, _) = ok("GET http://example.com:8000/x/y?q HTTP/1.1\r\nHost: other\r\n\r\n");
        assert_eq!(r.path, "/x/y");
        assert_eq!(r.query, Some("q"));
        let (r, _) = ok("GET HTTP://example.com HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(r.path, "/");
        assert_eq!(
            err("GET ftp://x/ HTTP/1.1\r\nHost: h\r\n\r\n"),
            RequestError::Malformed
        );
        assert_eq!(
            err("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n"),
            RequestError::Malformed
        );
    }

    #[test]
    fn asterisk_form_is_only_for_options() {
        assert_eq!(ok("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").0.path, "*");
        assert_eq!(
            err("GET * HTTP/1.1\r\nHost: h\r\n\r\n"),
            RequestError::Malformed
        );
    }

    #[test]
    fn content_length_must_be_plain_digits_and_agree() {
        for bad in ["abc", "-1", "+5", "1 2", "", "99999999999999999999", "0x10"] {
            let raw = format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(err(&raw), RequestError::BadFraming, "{bad:?}");
        }
        assert_eq!(
            err("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            RequestError::BadFraming
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n"),
            RequestError::BadFraming
        );
        let (r, _) = ok("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n");
        assert_eq!(r.body, BodyFraming::Length(5));
        let (r, _) =
            ok("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n");
        assert_eq!(r.body, BodyFraming::Length(u64::MAX));
    }

    #[test]
    fn transfer_encoding_must_end_in_chunked_and_exclude_length() {
        let (r, _) = ok("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(r.body, BodyFraming::Chunked);
        assert_eq!(
            err(
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
            ),
            RequestError::BadFraming
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
            RequestError::BadFraming
        );
        assert_eq!(
            err(
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            RequestError::BadFraming
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"),
            RequestError::BadFraming
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            RequestError::UnknownCoding
        );
        assert_eq!(
            err("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            RequestError::BadFraming
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;foo=bar\r\n\r\n"),
            RequestError::BadFraming
        );
    }

    #[test]
    fn versions_other_than_1x_are_505_and_garbage_is_400() {
        assert_eq!(
            err("GET / HTTP/2.0\r\nHost: h\r\n\r\n"),
            RequestError::VersionNotSupported
        );
        assert_eq!(
            err("GET / HTTP/1.1x\r\nHost: h\r\n\r\n"),
            RequestError::Malformed
        );
        assert_eq!(
            err("GET / http/1.1\r\nHost: h\r\n\r\n"),
            RequestError::Malformed
        );
        assert_eq!(err("GET /\r\n\r\n"), RequestError::Malformed);
    }

    #[test]
    fn header_syntax_errors_are_400() {
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost : h\r\n\r\n"),
            RequestError::Malformed
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"),
            RequestError::Malformed
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n"),
            RequestError::Malformed
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n"),
            RequestError::Malformed
        );
    }

    #[test]
    fn limits_give_414_and_431() {
        let limits = Limits {
            max_target: 16,
            max_head: 128,
            max_headers: 3,
        };
        let long = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(16));
        assert_eq!(
            parse(long.as_bytes(), &limits).unwrap_err(),
            RequestError::UriTooLong
        );
        // Detected before the request line is complete.
        let partial = format!("GET /{}", "a".repeat(20));
        assert_eq!(
            parse(partial.as_bytes(), &limits).unwrap_err(),
            RequestError::UriTooLong
        );
        let many = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(
            parse(many.as_bytes(), &limits).unwrap_err(),
            RequestError::HeadTooLarge
        );
        let big = format!("GET / HTTP/1.1\r\nHost: h\r\nA: {}", "x".repeat(200));
        assert_eq!(
            parse(big.as_bytes(), &limits).unwrap_err(),
            RequestError::HeadTooLarge
        );
    }

    #[test]
    fn unknown_and_lowercase_methods_parse_as_unknown() {
        assert_eq!(
            ok("get / HTTP/1.1\r\nHost: h\r\n\r\n").0.method,
            Method::Unknown
        );
        assert_eq!(
            ok("BREW / HTTP/1.1\r\nHost: h\r\n\r\n").0.method,
            Method::Unknown
        );
    }
}
