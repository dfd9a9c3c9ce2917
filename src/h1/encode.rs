//! Response heads on the wire: status line from a table, `Server`, `Date`,
//! the caller's fields in order, `Content-Length`, `Connection`, copied as
//! bytes into a reused buffer (no `format!`), and a `Date` value rendered at
//! most once per second.
//!
//! [`Head`] is h1's own description of a response head, so this layer needs
//! nothing from the layers above; the site's reply converts to it.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::http::{Persist, Status};

/// The interim response to `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Most fields a [`Head`] carries besides the fixed ones.
pub const MAX_FIELDS: usize = 12;

/// A response head to encode.
pub struct Head<'a> {
    pub status: Status,
    /// Pre-rendered `Name: value\r\n` lines sent right after `Date` on every
    /// response (the command line's extra fields).
    pub preamble: &'a [u8],
    /// The response's own fields, in order.
    pub fields: FieldList<'a>,
    /// `Content-Length`, or `None` for a response that has no content.
    pub length: Option<u64>,
    pub persist: Persist,
}

/// A fixed-capacity list of fields: no allocation per response.
#[derive(Clone, Copy, Default)]
pub struct FieldList<'a> {
    items: [(&'a [u8], &'a [u8]); MAX_FIELDS],
    n: usize,
}

impl<'a> FieldList<'a> {
    /// Appends a field. Past [`MAX_FIELDS`] (a bug in the caller) the field
    /// is dropped in release builds.
    pub fn push(&mut self, name: &'a [u8], value: &'a [u8]) -> &mut Self {
        debug_assert!(self.n < MAX_FIELDS, "FieldList full");
        if self.n < MAX_FIELDS {
            self.items[self.n] = (name, value);
            self.n += 1;
        }
        self
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        self.items[..self.n].iter().copied()
    }
}

/// Appends the encoded head to `dst`.
pub fn encode(head: &Head<'_>, date: &DateCache, dst: &mut Vec<u8>) {
    dst.extend_from_slice(status_line(head.status));
    dst.extend_from_slice(b"Server: ferry\r\nDate: ");
    dst.extend_from_slice(date.as_bytes());
    dst.extend_from_slice(b"\r\n");
    dst.extend_from_slice(head.preamble);
    for (name, value) in head.fields.iter() {
        dst.extend_from_slice(name);
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value);
        dst.extend_from_slice(b"\r\n");
    }
    if let Some(len) = head.length {
        dst.extend_from_slice(b"Content-Length: ");
        dst.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    dst.extend_from_slice(match head.persist {
        Persist::KeepAlive => b"\r\n".as_slice(),
        Persist::KeepAliveAnnounced => b"Connection: keep-alive\r\n\r\n",
        Persist::Close => b"Connection: close\r\n\r\n",
    });
}

/// The full status line, CRLF included.
pub fn status_line(status: Status) -> &'static [u8] {
    match status {
        Status::Continue => b"HTTP/1.1 100 Continue\r\n",
        Status::Ok => b"HTTP/1.1 200 OK\r\n",
        Status::NoContent => b"HTTP/1.1 204 No Content\r\n",
        Status::PartialContent => b"HTTP/1.1 206 Partial Content\r\n",
        Status::MovedPermanently => b"HTTP/1.1 301 Moved Permanently\r\n",
        Status::NotModified => b"HTTP/1.1 304 Not Modified\r\n",
        Status::BadRequest => b"HTTP/1.1 400 Bad Request\r\n",
        Status::Forbidden => b"HTTP/1.1 403 Forbidden\r\n",
        Status::NotFound => b"HTTP/1.1 404 Not Found\r\n",
        Status::MethodNotAllowed => b"HTTP/1.1 405 Method Not Allowed\r\n",
        Status::NotAcceptable => b"HTTP/1.1 406 Not Acceptable\r\n",
        Status::RequestTimeout => b"HTTP/1.1 408 Request Timeout\r\n",
        Status::PreconditionFailed => b"HTTP/1.1 412 Precondition Failed\r\n",
        Status::ContentTooLarge => b"HTTP/1.1 413 Content Too Large\r\n",
        Status::UriTooLong => b"HTTP/1.1 414 URI Too Long\r\n",
        Status::RangeNotSatisfiable => b"HTTP/1.1 416 Range Not Satisfiable\r\n",
        Status::HeaderFieldsTooLarge => b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        Status::InternalServerError => b"HTTP/1.1 500 Internal Server Error\r\n",
        Status::NotImplemented => b"HTTP/1.1 501 Not Implemented\r\n",
        Status::ServiceUnavailable => b"HTTP/1.1 503 Service Unavailable\r\n",
        Status::VersionNotSupported => b"HTTP/1.1 505 HTTP Version Not Supported\r\n",
    }
}

/// The `Date` field value, re-rendered when the second changes.
pub struct DateCache {
    secs: u64,
    text: [u8; 29],
}

impl Default for DateCache {
    fn default() -> Self {
        let mut cache = DateCache {
            secs: u64::MAX,
            text: [b' '; 29],
        };
        cache.refresh();
        cache
    }
}

impl DateCache {
    /// Re-renders if the wall-clock second moved on. Cheap: a vDSO clock read.
    pub fn refresh(&mut self) {
        let now = SystemTime::now();
        let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if secs != self.secs {
            self.secs = secs;
            let s = httpdate::fmt_http_date(now);
            if s.len() == self.text.len() {
                self.text.copy_from_slice(s.as_bytes());
            }
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_is_an_imf_fixdate() {
        let d = DateCache::default();
        let s = std::str::from_utf8(d.as_bytes()).unwrap();
        assert!(s.ends_with(" GMT"), "{s}");
        assert!(httpdate::parse_http_date(s).is_ok(), "{s}");
    }

    #[test]
    fn heads_are_encoded_in_a_fixed_order() {
        let mut fields = FieldList::default();
        fields.push(b"Content-Type", b"text/html");
        let head = Head {
            status: Status::NotFound,
            preamble: b"X-Extra: 1\r\n",
            fields,
            length: Some(12),
            persist: Persist::Close,
        };
        let date = DateCache::default();
        let mut buf = Vec::new();
        encode(&head, &date, &mut buf);
        let mut want = b"HTTP/1.1 404 Not Found\r\nServer: ferry\r\nDate: ".to_vec();
        want.extend_from_slice(date.as_bytes());
        want.extend_from_slice(
            b"\r\nX-Extra: 1\r\nContent-Type: text/html\r\nContent-Length: 12\r\n\
              Connection: close\r\n\r\n",
        );
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }

    #[test]
    fn every_status_line_is_http_1_1_code_and_reason() {
        for s in Status::ALL {
            let line = std::str::from_utf8(status_line(s)).unwrap();
            assert_eq!(line, format!("HTTP/1.1 {}\r\n", s.text()));
        }
    }
}
