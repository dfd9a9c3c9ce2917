//! What decorates every response: the small HTML error pages, the custom
//! `--404` page, and the fields the command line adds to every head
//! (`--header`, `--cors`, `--cache-control`) in [`Decor`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::h1::FieldList;
use crate::http::Status;
use crate::http::syntax::elements;

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
    /// The live-reload script, put into an HTML page (`--watch`).
    inject: Option<&'static str>,
    current: Mutex<Option<(PageStamp, CustomPage)>>,
}

/// What tells a version of the page from the next.
type PageStamp = (u64, u64, u64, i64, i64, i64, i64);

impl NotFoundPage {
    pub fn new(path: PathBuf, inject: Option<&'static str>) -> NotFoundPage {
        let content_type: Box<str> = crate::fs::mime::content_type(&path.to_string_lossy()).into();
        NotFoundPage {
            inject: inject.filter(|_| content_type.starts_with("text/html")),
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
        let mut body = std::fs::read(&self.path).ok()?;
        if let Some(script) = self.inject {
            crate::fs::cache::inject_before_body_end(&mut body, script.as_bytes());
        }
        let page = CustomPage {
            body: body.into(),
            content_type: self.content_type.clone(),
        };
        *current = Some((stamp, page.clone()));
        Some(page)
    }
}

/// The built-in 404 page with the live-reload script (`--watch`): a page
/// navigated to before it exists reloads once it does.
pub fn not_found_with(script: &str) -> CustomPage {
    let mut body = page(Status::NotFound).to_vec();
    crate::fs::cache::inject_before_body_end(&mut body, script.as_bytes());
    CustomPage {
        body: body.into(),
        content_type: std::str::from_utf8(HTML).unwrap_or_default().into(),
    }
}

/// What the command line adds to every head, arranged once at startup.
///
/// A `--header` replaces ferry's own field of that name wherever ferry
/// would send it (Cache-Control, the CORS fields, Allow, Retry-After …)
/// and goes on every response; two exceptions: `Vary` is merged with
/// ferry's own Vary into one field, and `Content-Type` replaces the type
/// of files served (200 and 206, multipart parts included) and nothing
/// else: ferry's own pages (errors, redirects, listings) keep theirs.
/// The fields conditional requests, ranges and framing rest on are
/// refused at startup (see `cli`).
#[derive(Debug, Default)]
pub struct Decor {
    /// `Name: value\r\n` lines for every response: `--cors`'s (those no
    /// `--header` replaces), then the `--header` fields but Vary and
    /// Content-Type.
    preamble: Box<[u8]>,
    /// `Cache-Control` for file and listing responses.
    cache_control: Option<Box<[u8]>>,
    /// Names (as given) of ferry's own fields to leave out: a `--header`
    /// stands in for them.
    replaced: Box<[Box<[u8]>]>,
    /// The `--header Vary` field names, deduplicated, joined.
    vary: Option<Box<[u8]>>,
    /// `--header Content-Type`: the type files are served with.
    content_type: Option<Box<[u8]>>,
}

impl Decor {
    /// `headers` validated (see `cli`): at most one Content-Type.
    pub fn new(cors: bool, headers: &[(String, String)], cache_control: Option<&str>) -> Decor {
        let named = |n: &str| headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n));
        let mut preamble = Vec::new();
        let mut line = |name: &str, value: &str| {
            preamble.extend_from_slice(name.as_bytes());
            preamble.extend_from_slice(b": ");
            preamble.extend_from_slice(value.as_bytes());
            preamble.extend_from_slice(b"\r\n");
        };
        if cors {
            for (name, value) in super::cors::EVERY_RESPONSE {
                if !named(name) {
                    line(name, value);
                }
            }
        }
        let mut vary = Vec::new();
        let mut content_type = None;
        let mut replaced: Vec<Box<[u8]>> = Vec::new();
        for (name, value) in headers {
            if name.eq_ignore_ascii_case("vary") {
                merge_vary(&mut vary, value.as_bytes());
            } else if name.eq_ignore_ascii_case("content-type") {
                content_type = Some(value.as_bytes().into());
            } else {
                line(name, value);
                if !replaced
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(name.as_bytes()))
                {
                    replaced.push(name.as_bytes().into());
                }
            }
        }
        Decor {
            preamble: preamble.into(),
            cache_control: cache_control.map(|c| c.as_bytes().into()),
            replaced: replaced.into(),
            vary: (!vary.is_empty()).then(|| vary.into()),
            content_type,
        }
    }

    /// The lines sent on every response.
    pub fn preamble(&self) -> &[u8] {
        &self.preamble
    }

    /// `Cache-Control` for file and listing responses.
    pub fn cache_control(&self) -> Option<&[u8]> {
        self.cache_control.as_deref()
    }

    /// The type files are served with, when a `--header` sets it.
    pub fn content_type(&self) -> Option<&[u8]> {
        self.content_type.as_deref()
    }

    /// ferry's own `fields` as sent: those a `--header` replaces left out,
    /// and one `Vary` with ferry's names and the `--header`'s (`merged`
    /// holds that value).
    pub fn apply<'a>(&'a self, fields: FieldList<'a>, merged: &'a mut Vec<u8>) -> FieldList<'a> {
        if self.replaced.is_empty() && self.vary.is_none() {
            return fields;
        }
        let own_vary = fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(b"vary"))
            .map(|(_, v)| v);
        merged.clear();
        if let (Some(own), Some(user)) = (own_vary, &self.vary) {
            merge_vary(merged, own);
            merge_vary(merged, user);
        }
        let merged: &'a [u8] = merged;
        let mut out = FieldList::default();
        for (name, value) in fields.iter() {
            if name.eq_ignore_ascii_case(b"vary") {
                out.push(name, if merged.is_empty() { value } else { merged });
            } else if !self.replaced.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                out.push(name, value);
            }
        }
        if let (None, Some(user)) = (own_vary, &self.vary) {
            out.push(b"Vary", user);
        }
        out
    }
}

/// Adds the field names of the Vary value `add` to the list `into`
/// (`a, b`), each once, compared without case; `*` (anything may vary)
/// absorbs every name.
fn merge_vary(into: &mut Vec<u8>, add: &[u8]) {
    for name in elements(std::iter::once(add)) {
        if into == b"*" {
            return;
        }
        if name == b"*" {
            into.clear();
            into.push(b'*');
            return;
        }
        if elements(std::iter::once(&into[..])).any(|n| n.eq_ignore_ascii_case(name)) {
            continue;
        }
        if !into.is_empty() {
            into.extend_from_slice(b", ");
        }
        into.extend_from_slice(name);
    }
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

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn applied(decor: &Decor, own: &[(&'static [u8], &'static [u8])]) -> Vec<(String, String)> {
        let mut fields = FieldList::default();
        for (n, v) in own {
            fields.push(n, v);
        }
        let mut merged = Vec::new();
        decor
            .apply(fields, &mut merged)
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn vary_names_are_merged_once_without_case() {
        let mut v = Vec::new();
        merge_vary(&mut v, b"Accept, Accept-Encoding");
        merge_vary(&mut v, b"origin, ACCEPT-encoding,, Origin");
        assert_eq!(v, b"Accept, Accept-Encoding, origin");
        merge_vary(&mut v, b"Cookie, *");
        assert_eq!(v, b"*");
        merge_vary(&mut v, b"Origin");
        assert_eq!(v, b"*");
    }

    #[test]
    fn a_header_replaces_fields_of_its_name_and_vary_merges() {
        let d = Decor::new(
            true,
            &headers(&[
                ("cache-control", "no-store"),
                ("Vary", "Origin"),
                ("Content-Type", "text/plain"),
                ("Access-Control-Expose-Headers", "X-Id"),
            ]),
            None,
        );
        assert_eq!(
            d.preamble(),
            b"Access-Control-Allow-Origin: *\r\ncache-control: no-store\r\n\
              Access-Control-Expose-Headers: X-Id\r\n"
        );
        assert_eq!(d.content_type(), Some(&b"text/plain"[..]));
        let own: &[(&[u8], &[u8])] = &[
            (b"Content-Type", b"text/css"),
            (b"Cache-Control", b"no-cache"),
            (b"Vary", b"Accept-Encoding"),
        ];
        assert_eq!(
            applied(&d, own),
            [
                ("Content-Type".into(), "text/css".into()),
                ("Vary".into(), "Accept-Encoding, Origin".into())
            ]
        );
        // No Vary of ferry's: the header's alone.
        assert_eq!(
            applied(&d, &own[..1]),
            [
                ("Content-Type".into(), "text/css".into()),
                ("Vary".into(), "Origin".into())
            ]
        );
        // Nothing to change: the fields as they are.
        let plain = Decor::new(false, &headers(&[("Content-Type", "a/b")]), None);
        assert_eq!(applied(&plain, own).len(), 3);
    }
}
