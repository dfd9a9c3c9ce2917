//! The request vocabulary the semantics work on: the method, the protocol
//! version, and the request fields that select or condition a response,
//! borrowed from the request's bytes (no allocation per field).

/// A request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Options,
    Post,
    Put,
    Delete,
    Patch,
    Connect,
    Trace,
    /// Syntactically a token, but not a method ferry knows: 501.
    Unknown,
}

impl Method {
    /// Methods are case-sensitive (RFC 9110 §9.1): `get` is unknown.
    pub fn from_token(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "CONNECT" => Method::Connect,
            "TRACE" => Method::Trace,
            _ => Method::Unknown,
        }
    }

    /// GET or HEAD: the methods that select a representation to send.
    pub fn is_get_or_head(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// The HTTP version of a request (1.x with x > 1 is served as 1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    Http10,
    Http11,
}

impl HttpVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http10 => "HTTP/1.0",
            HttpVersion::Http11 => "HTTP/1.1",
        }
    }
}

/// How many lines of one list field are kept without allocating.
const INLINE_LINES: usize = 4;

/// Lines of a list-valued field: several lines mean one comma-joined list
/// (RFC 9110 §5.3), so every line is kept (as many as the header-count
/// limit lets through). The first few live inline; more allocate.
#[derive(Debug, Clone, Default)]
pub struct Lines<'b> {
    inline: [&'b [u8]; INLINE_LINES],
    n: usize,
    more: Vec<&'b [u8]>,
}

impl<'b> Lines<'b> {
    pub fn push(&mut self, v: &'b [u8]) {
        match self.inline.get_mut(self.n) {
            Some(slot) => *slot = v,
            None => self.more.push(v),
        }
        self.n += 1;
    }

    pub fn is_present(&self) -> bool {
        self.n > 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &'b [u8]> + '_ {
        self.inline[..self.n.min(INLINE_LINES)]
            .iter()
            .chain(self.more.iter())
            .copied()
    }
}

/// A field defined to appear once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Single<'b> {
    #[default]
    Absent,
    One(&'b [u8]),
    /// Sent more than once: treated as invalid.
    Repeated,
}

impl<'b> Single<'b> {
    pub fn set(&mut self, v: &'b [u8]) {
        *self = match self {
            Single::Absent => Single::One(v),
            _ => Single::Repeated,
        };
    }

    pub fn is_one(&self) -> bool {
        matches!(self, Single::One(_))
    }
}

/// Request fields that select or condition the response (RFC 9110 §12-14).
#[derive(Debug, Clone, Default)]
pub struct Fields<'b> {
    pub if_match: Lines<'b>,
    pub if_none_match: Lines<'b>,
    pub if_modified_since: Single<'b>,
    pub if_unmodified_since: Single<'b>,
    pub if_range: Single<'b>,
    pub range: Single<'b>,
    pub accept_encoding: Lines<'b>,
    /// For listings (HTML or JSON) and `--spa`.
    pub accept: Lines<'b>,
    /// For live reload: which page loaded this.
    pub referer: Single<'b>,
    pub sec_fetch_dest: Single<'b>,
    /// For `--cors` preflight requests.
    pub origin: Single<'b>,
    pub cors_method: Single<'b>,
    pub cors_headers: Lines<'b>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_a_list_field_is_kept_in_order() {
        let mut l = Lines::default();
        let values: Vec<Vec<u8>> = (0..20).map(|i| format!("v{i}").into_bytes()).collect();
        for v in &values {
            l.push(v);
        }
        let got: Vec<&[u8]> = l.iter().collect();
        let want: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        assert_eq!(got, want);
    }
}
