//! What the site answers: a [`Reply`] (the status and what its head says)
//! and its [`Body`]. The reply converts itself to h1's [`Head`] to be
//! encoded; the connection's output writes the body. A new kind of body is
//! one new [`Body`] variant.

use std::rc::Rc;
use std::sync::Arc;

use crate::fs::CachedFile;
use crate::fs::compress::Form;
use crate::h1::{self, DateCache, FieldList, Head};
use crate::http::negotiate::{Coding, EncodingWeights};
use crate::http::range::ByteRange;
use crate::http::{Persist, Plan, Status};

use super::cors::{self, Preflight};
use super::pages::{self, ALLOW, CustomPage, Decor, HTML};

/// A response decided by the site.
pub enum Reply {
    /// A file: which representation, and 200/206/304/412/416.
    File(FileReply),
    /// 200 with a listing of a folder, HTML or JSON: `body`, or its
    /// compressed `form` (`vary`: the listing is compressible).
    Listing {
        body: Arc<[u8]>,
        form: Option<Arc<Form>>,
        json: bool,
        vary: bool,
    },
    /// Not decided yet: a listing is being made on the job thread; the
    /// connection waits for it in its worker's mailbox (with the weights
    /// its Accept-Encoding gave, to pick the coding then).
    Pending(EncodingWeights),
    /// 304 for a listing (`If-None-Match: *`: a listing has no validators),
    /// with the `Vary` its 200 carries (RFC 9110 §15.4.5).
    ListingNotModified { vary: bool },
    /// 301 to this Location: the same path with a slash appended.
    Redirect(String),
    /// 204 to OPTIONS with `Allow`, and for a CORS preflight its fields.
    Options(Option<Preflight>),
    /// An error page (the custom 404 page when one is set); 405 carries
    /// `Allow`. The [`Vary`] is `--spa`'s: a 404 given because the client
    /// did not ask for HTML varies by `Accept`.
    Error(Status, Option<CustomPage>, Vary),
    /// 503 for a connection beyond `--max-connections`, with `Retry-After`.
    Overloaded,
    /// Identity excluded and no coding on offer acceptable, with the
    /// `Vary` the resource's 200 carries: 406, or with `later`, 503 and
    /// Retry-After (an acceptable form is being made).
    NoCoding { later: bool, vary: Vary },
    /// 200 with a live-reload event stream for `page` (a request key): the
    /// body never ends, the connection does.
    EventStream { page: String },
}

/// The request fields that chose a response: its `Vary` (RFC 9110
/// §12.5.5), on every response whose choice they made (200, 206, 304,
/// 404, 406, 412, 416).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vary {
    /// `Accept`: `--spa` chose between the app's index and a 404 by it.
    pub accept: bool,
    /// `Accept-Encoding`: a sidecar exists, or the body may be compressed
    /// on the fly.
    pub accept_encoding: bool,
}

impl Vary {
    pub const NONE: Vary = Vary {
        accept: false,
        accept_encoding: false,
    };
    pub const ACCEPT: Vary = Vary {
        accept: true,
        accept_encoding: false,
    };
    pub const BOTH: Vary = Vary {
        accept: true,
        accept_encoding: true,
    };

    /// The field's value, if the response varies at all.
    pub fn value(self) -> Option<&'static [u8]> {
        match (self.accept, self.accept_encoding) {
            (true, true) => Some(b"Accept, Accept-Encoding"),
            (true, false) => Some(b"Accept"),
            (false, true) => Some(b"Accept-Encoding"),
            (false, false) => None,
        }
    }
}

/// A file response decided: the representation and the plan for it.
pub struct FileReply {
    /// The file, or the sidecar sent.
    pub file: Rc<CachedFile>,
    pub coding: Coding,
    /// What chose the representation: Accept-Encoding (a sidecar exists,
    /// or the file is compressed on the fly), Accept (`--spa`'s index).
    pub vary: Vary,
    pub plan: Plan,
    /// The compressed form sent, when made on the fly.
    pub form: Option<Arc<Form>>,
    /// For several ranges: the multipart framing.
    multipart: Option<Multipart>,
}

/// `multipart/byteranges` framing (RFC 9110 §14.6): a part head before
/// each range, a closing delimiter after the last.
struct Multipart {
    content_type: Vec<u8>,
    parts: Vec<Vec<u8>>,
    closing: Vec<u8>,
}

impl FileReply {
    /// `part_type`: the type a `--header Content-Type` gives files, for
    /// the parts of a multipart body.
    pub fn new(
        file: Rc<CachedFile>,
        coding: Coding,
        vary: Vary,
        plan: Plan,
        form: Option<Arc<Form>>,
        part_type: Option<&str>,
    ) -> FileReply {
        let multipart = match &plan {
            Plan::Partial(ranges) if ranges.len() > 1 => {
                let part_type = part_type.unwrap_or(&file.content_type);
                Some(Multipart::new(&file, ranges, part_type))
            }
            _ => None,
        };
        FileReply {
            file,
            coding,
            vary,
            plan,
            form,
            multipart,
        }
    }
}

impl Multipart {
    fn new(file: &CachedFile, ranges: &[ByteRange], part_type: &str) -> Multipart {
        let boundary = boundary();
        let mut content_type = b"multipart/byteranges; boundary=".to_vec();
        content_type.extend_from_slice(&boundary);
        let parts = ranges
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut p = Vec::with_capacity(128);
                if i > 0 {
                    p.extend_from_slice(b"\r\n");
                }
                p.extend_from_slice(b"--");
                p.extend_from_slice(&boundary);
                p.extend_from_slice(b"\r\nContent-Type: ");
                p.extend_from_slice(part_type.as_bytes());
                p.extend_from_slice(b"\r\nContent-Range: ");
                p.extend_from_slice(&content_range(*r, file.len));
                p.extend_from_slice(b"\r\n\r\n");
                p
            })
            .collect();
        let mut closing = b"\r\n--".to_vec();
        closing.extend_from_slice(&boundary);
        closing.extend_from_slice(b"--\r\n");
        Multipart {
            content_type,
            parts,
            closing,
        }
    }

    fn len(&self, ranges: &[ByteRange]) -> u64 {
        self.parts.iter().map(|p| p.len() as u64).sum::<u64>()
            + ranges.iter().map(|r| r.length()).sum::<u64>()
            + self.closing.len() as u64
    }
}

/// A response body, as the connection's output writes it.
pub enum Body {
    Empty,
    Static(&'static [u8]),
    Bytes(Vec<u8>),
    Shared(Arc<[u8]>),
    /// A compressed form made on the fly: copied when short, else sent by
    /// sendfile from its memfd.
    Form(Arc<Form>),
    /// `range` of a file: copied from memory for a file held there, else
    /// sent by sendfile.
    File {
        file: Rc<CachedFile>,
        range: ByteRange,
    },
    /// Several ranges of a file, each after its part head, then the
    /// closing delimiter.
    Multipart {
        file: Rc<CachedFile>,
        parts: Vec<(Vec<u8>, ByteRange)>,
        closing: Vec<u8>,
    },
}

impl Body {
    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Static(b) => b.len() as u64,
            Body::Bytes(b) => b.len() as u64,
            Body::Shared(b) => b.len() as u64,
            Body::Form(f) => f.len,
            Body::File { range, .. } => range.length(),
            Body::Multipart { parts, closing, .. } => {
                parts
                    .iter()
                    .map(|(p, r)| p.len() as u64 + r.length())
                    .sum::<u64>()
                    + closing.len() as u64
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Reply {
    /// An error reply with the built-in page.
    pub fn error(status: Status) -> Reply {
        Reply::Error(status, None, Vary::NONE)
    }

    pub fn status(&self) -> Status {
        match self {
            Reply::File(f) => match &f.plan {
                Plan::Full => Status::Ok,
                Plan::Partial(_) => Status::PartialContent,
                Plan::NotModified => Status::NotModified,
                Plan::PreconditionFailed => Status::PreconditionFailed,
                Plan::Unsatisfiable => Status::RangeNotSatisfiable,
            },
            Reply::Listing { .. } | Reply::Pending(_) => Status::Ok,
            Reply::ListingNotModified { .. } => Status::NotModified,
            Reply::Redirect(_) => Status::MovedPermanently,
            Reply::Options(_) => Status::NoContent,
            Reply::Error(status, ..) => *status,
            Reply::Overloaded => Status::ServiceUnavailable,
            Reply::NoCoding { later: false, .. } => Status::NotAcceptable,
            Reply::NoCoding { later: true, .. } => Status::ServiceUnavailable,
            Reply::EventStream { .. } => Status::Ok,
        }
    }

    /// Encodes the head into `dst`.
    pub fn encode_head(
        &self,
        decor: &Decor,
        persist: Persist,
        date: &DateCache,
        dst: &mut Vec<u8>,
    ) {
        let status = self.status();
        let mut fields = FieldList::default();
        let length = match self {
            Reply::File(f) => return f.encode_head(decor, persist, date, dst),
            Reply::Listing {
                body,
                form,
                json,
                vary,
            } => {
                let ctype: &[u8] = if *json { b"application/json" } else { HTML };
                fields.push(b"Content-Type", ctype).push(
                    b"Vary",
                    if *vary {
                        b"Accept, Accept-Encoding"
                    } else {
                        b"Accept"
                    },
                );
                if let Some(form) = form {
                    fields.push(b"Content-Encoding", form.coding.token());
                }
                if let Some(cc) = decor.cache_control() {
                    fields.push(b"Cache-Control", cc);
                }
                Some(form.as_ref().map_or(body.len() as u64, |f| f.len))
            }
            Reply::EventStream { .. } => {
                fields
                    .push(b"Content-Type", b"text/event-stream")
                    .push(b"Cache-Control", b"no-cache");
                None
            }
            Reply::ListingNotModified { vary } => {
                fields.push(
                    b"Vary",
                    if *vary {
                        b"Accept, Accept-Encoding"
                    } else {
                        b"Accept"
                    },
                );
                if let Some(cc) = decor.cache_control() {
                    fields.push(b"Cache-Control", cc);
                }
                None
            }
            Reply::Pending(_) => {
                debug_assert!(false, "a pending reply has no head yet");
                None
            }
            Reply::Redirect(location) => {
                fields
                    .push(b"Location", location.as_bytes())
                    .push(b"Content-Type", HTML);
                Some(pages::page(status).len() as u64)
            }
            Reply::Options(preflight) => {
                fields.push(b"Allow", ALLOW);
                if let Some(p) = preflight {
                    fields.push(b"Access-Control-Allow-Methods", cors::ALLOW_METHODS);
                    if let Some(h) = &p.allow_headers {
                        fields.push(b"Access-Control-Allow-Headers", h);
                    }
                    fields.push(b"Access-Control-Max-Age", cors::MAX_AGE);
                }
                None
            }
            Reply::Error(_, page, vary) => {
                if status == Status::MethodNotAllowed {
                    fields.push(b"Allow", ALLOW);
                }
                if let Some(v) = vary.value() {
                    fields.push(b"Vary", v);
                }
                match page {
                    Some(custom) => {
                        fields.push(b"Content-Type", custom.content_type.as_bytes());
                        Some(custom.body.len() as u64)
                    }
                    None => {
                        fields.push(b"Content-Type", HTML);
                        Some(pages::page(status).len() as u64)
                    }
                }
            }
            Reply::NoCoding { later, vary } => {
                fields.push(b"Content-Type", HTML);
                if let Some(v) = vary.value() {
                    fields.push(b"Vary", v);
                }
                if *later {
                    fields.push(b"Retry-After", b"1");
                }
                Some(pages::page(status).len() as u64)
            }
            Reply::Overloaded => {
                fields
                    .push(b"Content-Type", HTML)
                    .push(b"Retry-After", b"1");
                Some(pages::page(status).len() as u64)
            }
        };
        emit(decor, status, fields, length, persist, date, dst);
    }

    /// The body (the head's `Content-Length` is its length).
    pub fn into_body(self) -> Body {
        match self {
            Reply::File(f) => f.into_body(),
            Reply::Listing {
                form: Some(form), ..
            } => Body::Form(form),
            Reply::Listing { body, .. } => Body::Shared(body),
            Reply::ListingNotModified { .. } | Reply::Options(_) | Reply::Pending(_) => Body::Empty,
            // The stream's first bytes: reconnect half a second after a
            // drop (the server restarting).
            Reply::EventStream { .. } => Body::Static(b"retry: 500\n\n"),
            Reply::Error(_, Some(custom), _) => Body::Shared(custom.body),
            Reply::Redirect(_) | Reply::Error(..) | Reply::Overloaded | Reply::NoCoding { .. } => {
                Body::Static(pages::page(self.status()))
            }
        }
    }
}

impl FileReply {
    fn encode_head(&self, decor: &Decor, persist: Persist, date: &DateCache, dst: &mut Vec<u8>) {
        let file = &self.file;
        let content_type = decor.content_type().unwrap_or(file.content_type.as_bytes());
        let mut fields = FieldList::default();
        let single_range;
        let unsatisfiable;
        let (status, length) = match &self.plan {
            // RFC 9110 §15.4.5: no content; the validators and the fields
            // a 200 would carry for caches.
            Plan::NotModified => {
                self.validators(decor, &mut fields);
                (Status::NotModified, None)
            }
            // Which representation's validator failed depends on what chose
            // it: the same Vary as its 200 (RFC 9110 §12.5.5).
            Plan::PreconditionFailed => {
                let status = Status::PreconditionFailed;
                let reply = Reply::Error(status, None, self.vary);
                return reply.encode_head(decor, persist, date, dst);
            }
            Plan::Unsatisfiable => {
                let status = Status::RangeNotSatisfiable;
                unsatisfiable = unsatisfied_range(file.len);
                fields
                    .push(b"Content-Range", &unsatisfiable)
                    .push(b"Content-Type", HTML);
                if let Some(v) = self.vary.value() {
                    fields.push(b"Vary", v);
                }
                (status, Some(pages::page(status).len() as u64))
            }
            Plan::Full | Plan::Partial(_) => {
                self.validators(decor, &mut fields);
                fields.push(b"Accept-Ranges", b"bytes");
                if self.coding != Coding::Identity {
                    fields.push(b"Content-Encoding", self.coding.token());
                }
                match (&self.plan, &self.multipart) {
                    (Plan::Partial(ranges), Some(m)) => {
                        fields.push(b"Content-Type", &m.content_type);
                        (Status::PartialContent, Some(m.len(ranges)))
                    }
                    (Plan::Partial(ranges), None) => {
                        let range = ranges[0];
                        single_range = content_range(range, file.len);
                        fields
                            .push(b"Content-Type", content_type)
                            .push(b"Content-Range", &single_range);
                        (Status::PartialContent, Some(range.length()))
                    }
                    _ => {
                        fields.push(b"Content-Type", content_type);
                        let len = self.form.as_ref().map_or(file.len, |f| f.len);
                        (Status::Ok, Some(len))
                    }
                }
            }
        };
        emit(decor, status, fields, length, persist, date, dst);
    }

    /// The validators and the fields caches need, on 200, 206 and 304.
    fn validators<'a>(&'a self, decor: &'a Decor, fields: &mut FieldList<'a>) {
        fields
            .push(b"Last-Modified", self.file.last_modified.as_bytes())
            .push(
                b"ETag",
                match &self.form {
                    Some(form) => form.etag.as_bytes(),
                    None => self.file.etag.as_bytes(),
                },
            );
        if let Some(cc) = decor.cache_control() {
            fields.push(b"Cache-Control", cc);
        }
        if let Some(v) = self.vary.value() {
            fields.push(b"Vary", v);
        }
    }

    fn into_body(self) -> Body {
        match self.plan {
            Plan::NotModified => Body::Empty,
            Plan::PreconditionFailed => Body::Static(pages::page(Status::PreconditionFailed)),
            Plan::Unsatisfiable => Body::Static(pages::page(Status::RangeNotSatisfiable)),
            Plan::Full if self.form.is_some() => self.form.map_or(Body::Empty, Body::Form),
            Plan::Full if self.file.len == 0 => Body::Empty,
            Plan::Full => Body::File {
                range: ByteRange {
                    first: 0,
                    last: self.file.len - 1,
                },
                file: self.file,
            },
            Plan::Partial(ranges) => match self.multipart {
                None => Body::File {
                    file: self.file,
                    range: ranges[0],
                },
                Some(m) => Body::Multipart {
                    file: self.file,
                    parts: m.parts.into_iter().zip(ranges).collect(),
                    closing: m.closing,
                },
            },
        }
    }
}

/// Encodes a head: the command line's fields (see [`Decor`]), then the
/// response's own as `decor` leaves them.
fn emit(
    decor: &Decor,
    status: Status,
    fields: FieldList<'_>,
    length: Option<u64>,
    persist: Persist,
    date: &DateCache,
    dst: &mut Vec<u8>,
) {
    let mut merged = Vec::new();
    let head = Head {
        status,
        preamble: decor.preamble(),
        fields: decor.apply(fields, &mut merged),
        length,
        persist,
    };
    h1::encode(&head, date, dst);
}

/// `bytes first-last/len`
fn content_range(r: ByteRange, len: u64) -> Vec<u8> {
    let mut v = b"bytes ".to_vec();
    let mut n = itoa::Buffer::new();
    v.extend_from_slice(n.format(r.first).as_bytes());
    v.push(b'-');
    v.extend_from_slice(n.format(r.last).as_bytes());
    v.push(b'/');
    v.extend_from_slice(n.format(len).as_bytes());
    v
}

/// `bytes */len` (RFC 9110 §14.4).
fn unsatisfied_range(len: u64) -> Vec<u8> {
    let mut v = b"bytes */".to_vec();
    v.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
    v
}

/// A random multipart boundary: 16 hex digits from the kernel's CSPRNG, so
/// no file's content can be crafted to contain it.
fn boundary() -> Vec<u8> {
    let mut raw = [0u8; 8];
    if rustix::rand::getrandom(&mut raw, rustix::rand::GetRandomFlags::empty()).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        raw = t.to_le_bytes();
    }
    let mut out = b"ferry-".to_vec();
    for b in raw {
        out.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    out
}
