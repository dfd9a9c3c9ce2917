//! Response encoding: status lines from a table, headers in a fixed order,
//! copied as bytes into a reused buffer (no `format!` on the hot path), and a
//! `Date` value rendered at most once per second per worker.

use std::time::{SystemTime, UNIX_EPOCH};

/// The statuses ferry sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Continue,
    Ok,
    NoContent,
    PartialContent,
    MovedPermanently,
    NotModified,
    BadRequest,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    PreconditionFailed,
    ContentTooLarge,
    UriTooLong,
    RangeNotSatisfiable,
    HeaderFieldsTooLarge,
    InternalServerError,
    NotImplemented,
    ServiceUnavailable,
    VersionNotSupported,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Continue => 100,
            Status::Ok => 200,
            Status::NoContent => 204,
            Status::PartialContent => 206,
            Status::NotModified => 304,
            Status::MovedPermanently => 301,
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::PreconditionFailed => 412,
            Status::ContentTooLarge => 413,
            Status::RangeNotSatisfiable => 416,
            Status::UriTooLong => 414,
            Status::HeaderFieldsTooLarge => 431,
            Status::InternalServerError => 500,
            Status::NotImplemented => 501,
            Status::ServiceUnavailable => 503,
            Status::VersionNotSupported => 505,
        }
    }

    /// The full status line, CRLF included.
    pub fn line(self) -> &'static [u8] {
        match self {
            Status::Continue => b"HTTP/1.1 100 Continue\r\n",
            Status::Ok => b"HTTP/1.1 200 OK\r\n",
            Status::NoContent => b"HTTP/1.1 204 No Content\r\n",
            Status::PartialContent => b"HTTP/1.1 206 Partial Content\r\n",
            Status::NotModified => b"HTTP/1.1 304 Not Modified\r\n",
            Status::MovedPermanently => b"HTTP/1.1 301 Moved Permanently\r\n",
            Status::BadRequest => b"HTTP/1.1 400 Bad Request\r\n",
            Status::Forbidden => b"HTTP/1.1 403 Forbidden\r\n",
            Status::NotFound => b"HTTP/1.1 404 Not Found\r\n",
            Status::MethodNotAllowed => b"HTTP/1.1 405 Method Not Allowed\r\n",
            Status::RequestTimeout => b"HTTP/1.1 408 Request Timeout\r\n",
            Status::PreconditionFailed => b"HTTP/1.1 412 Precondition Failed\r\n",
            Status::ContentTooLarge => b"HTTP/1.1 413 Content Too Large\r\n",
            Status::RangeNotSatisfiable => b"HTTP/1.1 416 Range Not Satisfiable\r\n",
            Status::UriTooLong => b"HTTP/1.1 414 URI Too Long\r\n",
            Status::HeaderFieldsTooLarge => b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
            Status::InternalServerError => b"HTTP/1.1 500 Internal Server Error\r\n",
            Status::NotImplemented => b"HTTP/1.1 501 Not Implemented\r\n",
            Status::ServiceUnavailable => b"HTTP/1.1 503 Service Unavailable\r\n",
            Status::VersionNotSupported => b"HTTP/1.1 505 HTTP Version Not Supported\r\n",
        }
    }

    /// The small HTML body of an error or redirect response.
    pub fn page(self) -> &'static [u8] {
        macro_rules! page {
            ($t:literal) => {
                concat!(
                    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>",
                    $t,
                    "</title></head>\n<body><h1>",
                    $t,
                    "</h1><hr><p>ferry</p></body></html>\n"
                )
                .as_bytes()
            };
        }
        match self {
            Status::Continue
            | Status::Ok
            | Status::NoContent
            | Status::PartialContent
            | Status::NotModified => b"",
            Status::MovedPermanently => page!("301 Moved Permanently"),
            Status::BadRequest => page!("400 Bad Request"),
            Status::Forbidden => page!("403 Forbidden"),
            Status::NotFound => page!("404 Not Found"),
            Status::MethodNotAllowed => page!("405 Method Not Allowed"),
            Status::RequestTimeout => page!("408 Request Timeout"),
            Status::PreconditionFailed => page!("412 Precondition Failed"),
            Status::ContentTooLarge => page!("413 Content Too Large"),
            Status::RangeNotSatisfiable => page!("416 Range Not Satisfiable"),
            Status::UriTooLong => page!("414 URI Too Long"),
            Status::HeaderFieldsTooLarge => page!("431 Request Header Fields Too Large"),
            Status::InternalServerError => page!("500 Internal Server Error"),
            Status::NotImplemented => page!("501 Not Implemented"),
            Status::ServiceUnavailable => page!("503 Service Unavailable"),
            Status::VersionNotSupported => page!("505 HTTP Version Not Supported"),
        }
    }

    /// Statuses whose response never has content (RFC 9110 §6.4.1).
    pub fn is_bodiless(self) -> bool {
        matches!(
            self,
            Status::Continue | Status::NoContent | Status::NotModified
        )
    }
}

/// What the connection does after this response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persist {
    /// HTTP/1.1 default: stay open, no `Connection` field needed.
    KeepAlive,
    /// HTTP/1.0 with `Connection: keep-alive`: stay open and say so.
    KeepAliveAnnounced,
    /// Send `Connection: close`, then close.
    Close,
}

impl Persist {
    pub fn keeps_alive(self) -> bool {
        self != Persist::Close
    }
}

/// `Allow` value for the methods ferry serves.
pub const ALLOW: &[u8] = b"GET, HEAD, OPTIONS";

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

/// A custom page for 404 responses (`--404 FILE`).
#[derive(Debug, Clone)]
pub struct CustomPage {
    pub body: Box<[u8]>,
    pub content_type: Box<str>,
}

/// What every response head starts with: `Server`, `Date`, and the fields
/// the command line adds (`--header`, `--cors`); plus the custom 404 page.
#[derive(Default)]
pub struct Preamble {
    pub date: DateCache,
    /// Pre-rendered `Name: value\r\n` lines.
    pub extra: Box<[u8]>,
    pub not_found: Option<CustomPage>,
}

/// Writes a response head into `buf` (appending): status line, `Server`,
/// `Date`, extra fields, the caller's fields, then framing and
/// `Connection`, and the blank line.
pub struct HeadWriter<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> HeadWriter<'a> {
    pub fn new(buf: &'a mut Vec<u8>, status: Status, pre: &Preamble) -> Self {
        buf.extend_from_slice(status.line());
        buf.extend_from_slice(b"Server: ferry\r\nDate: ");
        buf.extend_from_slice(pre.date.as_bytes());
        buf.extend_from_slice(b"\r\n");
        buf.extend_from_slice(&pre.extra);
        HeadWriter { buf }
    }

    pub fn field(&mut self, name: &[u8], value: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(b": ");
        self.buf.extend_from_slice(value);
        self.buf.extend_from_slice(b"\r\n");
        self
    }

    /// Pre-rendered `Name: value\r\n` lines.
    pub fn raw(&mut self, lines: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(lines);
        self
    }

    pub fn content_length(&mut self, len: u64) -> &mut Self {
        self.buf.extend_from_slice(b"Content-Length: ");
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
        self
    }

    /// Ends the head with the `Connection` field `persist` calls for.
    pub fn finish(self, persist: Persist) {
        self.buf.extend_from_slice(match persist {
            Persist::KeepAlive => b"\r\n".as_slice(),
            Persist::KeepAliveAnnounced => b"Connection: keep-alive\r\n\r\n",
            Persist::Close => b"Connection: close\r\n\r\n",
        });
    }
}

/// A 503 for connections beyond `--max-connections`, sent before the request
/// is read.
pub fn service_unavailable(buf: &mut Vec<u8>, pre: &Preamble) {
    let status = Status::ServiceUnavailable;
    let page = status.page();
    let mut head = HeadWriter::new(buf, status, pre);
    head.field(b"Content-Type", b"text/html; charset=utf-8")
        .field(b"Retry-After", b"1")
        .content_length(page.len() as u64);
    head.finish(Persist::Close);
    buf.extend_from_slice(page);
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
    fn head_writer_emits_fields_in_order() {
        let d = Preamble::default();
        let mut buf = Vec::new();
        let mut h = HeadWriter::new(&mut buf, Status::NotFound, &d);
        h.field(b"Content-Type", b"text/html").content_length(12);
        h.finish(Persist::Close);
        let s = String::from_utf8(buf).unwrap();
        assert!(s.starts_with("HTTP/1.1 404 Not Found\r\nServer: ferry\r\nDate: "));
        assert!(s.ends_with(
            "Content-Type: text/html\r\nContent-Length: 12\r\nConnection: close\r\n\r\n"
        ));
    }

    #[test]
    fn every_status_line_names_its_code() {
        for s in [
            Status::Continue,
            Status::Ok,
            Status::NoContent,
            Status::PartialContent,
            Status::MovedPermanently,
            Status::NotModified,
            Status::BadRequest,
            Status::Forbidden,
            Status::NotFound,
            Status::MethodNotAllowed,
            Status::RequestTimeout,
            Status::PreconditionFailed,
            Status::ContentTooLarge,
            Status::RangeNotSatisfiable,
            Status::UriTooLong,
            Status::HeaderFieldsTooLarge,
            Status::InternalServerError,
            Status::NotImplemented,
            Status::ServiceUnavailable,
            Status::VersionNotSupported,
        ] {
            let line = std::str::from_utf8(s.line()).unwrap();
            assert!(line.starts_with(&format!("HTTP/1.1 {} ", s.code())));
            assert!(line.ends_with("\r\n"));
        }
    }
}
