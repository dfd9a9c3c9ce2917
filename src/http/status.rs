//! The status and persistence vocabulary every layer speaks: which status a
//! response has, and whether the connection outlives it.

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
    NotAcceptable,
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
    /// Every status, for tables and tests.
    pub const ALL: [Status; 21] = [
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
        Status::NotAcceptable,
        Status::RequestTimeout,
        Status::PreconditionFailed,
        Status::ContentTooLarge,
        Status::UriTooLong,
        Status::RangeNotSatisfiable,
        Status::HeaderFieldsTooLarge,
        Status::InternalServerError,
        Status::NotImplemented,
        Status::ServiceUnavailable,
        Status::VersionNotSupported,
    ];

    pub fn code(self) -> u16 {
        match self {
            Status::Continue => 100,
            Status::Ok => 200,
            Status::NoContent => 204,
            Status::PartialContent => 206,
            Status::MovedPermanently => 301,
            Status::NotModified => 304,
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::NotAcceptable => 406,
            Status::RequestTimeout => 408,
            Status::PreconditionFailed => 412,
            Status::ContentTooLarge => 413,
            Status::UriTooLong => 414,
            Status::RangeNotSatisfiable => 416,
            Status::HeaderFieldsTooLarge => 431,
            Status::InternalServerError => 500,
            Status::NotImplemented => 501,
            Status::ServiceUnavailable => 503,
            Status::VersionNotSupported => 505,
        }
    }

    /// `code reason`, as in a status line or an error page's title.
    pub fn text(self) -> &'static str {
        match self {
            Status::Continue => "100 Continue",
            Status::Ok => "200 OK",
            Status::NoContent => "204 No Content",
            Status::PartialContent => "206 Partial Content",
            Status::MovedPermanently => "301 Moved Permanently",
            Status::NotModified => "304 Not Modified",
            Status::BadRequest => "400 Bad Request",
            Status::Forbidden => "403 Forbidden",
            Status::NotFound => "404 Not Found",
            Status::MethodNotAllowed => "405 Method Not Allowed",
            Status::NotAcceptable => "406 Not Acceptable",
            Status::RequestTimeout => "408 Request Timeout",
            Status::PreconditionFailed => "412 Precondition Failed",
            Status::ContentTooLarge => "413 Content Too Large",
            Status::UriTooLong => "414 URI Too Long",
            Status::RangeNotSatisfiable => "416 Range Not Satisfiable",
            Status::HeaderFieldsTooLarge => "431 Request Header Fields Too Large",
            Status::InternalServerError => "500 Internal Server Error",
            Status::NotImplemented => "501 Not Implemented",
            Status::ServiceUnavailable => "503 Service Unavailable",
            Status::VersionNotSupported => "505 HTTP Version Not Supported",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_text_starts_with_its_code() {
        for s in Status::ALL {
            assert!(s.text().starts_with(&format!("{} ", s.code())), "{s:?}");
        }
    }
}
