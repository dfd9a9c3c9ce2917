//! What decorates every response: the small HTML error pages, the custom
//! `--404` page, and the fields the command line adds to every head
//! (`--header`, `--cors`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::http::Status;

/// `Allow` value for the methods ferry serves.
pub const ALLOW: &[u8] = b"GET, HEAD, OPTIONS";

/// The small HTML body of an error or redirect response.
pub fn page(status: Status) -> &'static [u8] {
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
    match status {
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
        Status::NotAcceptable => page!("406 Not Acceptable"),
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

/// The content type of the built-in pages.
pub const HTML: &[u8] = b"text/html; charset=utf-8";

/// A custom page for 404 responses (`--404 FILE`).
#[derive(Debug, Clone)]
pub struct CustomPage {
    pub body: Arc<[u8]>,
    pub content_type: Box<str>,
}

/// `--404 FILE`, which follows changes to that file: one `stat` per 404
/// (not a hot path) says whether to read it again. While it cannot be read,
/// the built-in page is used.
pub struct NotFoundPage {
    path: PathBuf,
    content_type: Box<str>,
    current: Mutex<Option<(PageStamp, CustomPage)>>,
}

/// What tells a version of the page from the next.
type PageStamp = (u64, u64, u64, i64, i64, i64, i64);

impl NotFoundPage {
    pub fn new(path: PathBuf) -> NotFoundPage {
        let content_type = crate::fs::mime::content_type(&path.to_string_lossy()).into();
        NotFoundPage {
            path,
            content_type,
            current: Mutex::new(None),
        }
    }

    /// Reads the page, for the startup check.
    pub fn load(&self) -> std::io::Result<()> {
        std::fs::read(&self.path).map(|_| ())
    }

    /// The page as it is now on disk, or None (the built-in page).
    pub fn current(&self) -> Option<CustomPage> {
        use std::os::unix::fs::MetadataExt;
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(m) = std::fs::metadata(&self.path) else {
            *current = None;
            return None;
        };
        let stamp = (
            m.dev(),
            m.ino(),
            m.len(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        );
        if let Some((seen, page)) = current.as_ref()
            && *seen == stamp
        {
            return Some(page.clone());
        }
        let page = CustomPage {
            body: std::fs::read(&self.path).ok()?.into(),
            content_type: self.content_type.clone(),
        };
        *current = Some((stamp, page.clone()));
        Some(page)
    }
}

/// Pre-rendered `Name: value\r\n` lines for every response: CORS's
/// `Access-Control-Allow-Origin` and `--header` fields, in that order.
pub fn preamble(cors: bool, headers: &[(String, String)]) -> Box<[u8]> {
    let mut extra = Vec::new();
    if cors {
        extra.extend_from_slice(super::cors::EVERY_RESPONSE);
    }
    for (name, value) in headers {
        extra.extend_from_slice(name.as_bytes());
        extra.extend_from_slice(b": ");
        extra.extend_from_slice(value.as_bytes());
        extra.extend_from_slice(b"\r\n");
    }
    extra.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_page_is_titled_with_its_status() {
        for s in Status::ALL {
            let p = std::str::from_utf8(page(s)).unwrap();
            if s.code() >= 300 && s != Status::NotModified {
                assert!(p.contains(&format!("<title>{}</title>", s.text())), "{s:?}");
            } else {
                assert!(p.is_empty());
            }
        }
    }
}
