//! Pure HTTP semantics, no sockets: validators and conditional requests,
//! byte ranges, content-coding negotiation. [`plan`] combines them for one
//! file request.

pub mod conditional;
pub mod date;
pub mod encoding;
pub mod etag;
pub mod range;

use std::rc::Rc;

use crate::request::{Fields, Method, Single};
use crate::resolve::CachedFile;
use conditional::{Outcome, Validators};
use encoding::Coding;
use range::{ByteRange, RangePlan};

/// What to send for a file request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// 200 with the whole representation.
    Full,
    /// 304.
    NotModified,
    /// 412.
    PreconditionFailed,
    /// 206 with these ranges (one: a single part; more: multipart).
    Partial(Vec<ByteRange>),
    /// 416.
    Unsatisfiable,
}

/// A file response decided: which representation, and how much of it.
pub struct FileReply {
    /// The representation sent: the file or one of its sidecars.
    pub file: Rc<CachedFile>,
    pub coding: Coding,
    /// A sidecar exists, so the response varies by Accept-Encoding.
    pub vary: bool,
    pub plan: Plan,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Preconditions for a response without validators (a folder listing):
/// only `*` can match.
pub fn listing_precondition(f: &Fields<'_>, method: Method) -> Outcome {
    let none = Validators {
        etag: None,
        last_modified: None,
    };
    conditional::evaluate(f, &none, matches!(method, Method::Get | Method::Head))
}

/// Negotiates the coding, evaluates preconditions, then ranges (RFC 9110
/// §13.2.2 order). Ranges apply to GET only (§14.2) and to the bytes of
/// the chosen representation.
pub fn plan(entry: Rc<CachedFile>, f: &Fields<'_>, method: Method) -> FileReply {
    let vary = entry.br.is_some() || entry.gz.is_some();
    let coding = if vary {
        encoding::choose(
            f.accept_encoding.iter(),
            entry.br.is_some(),
            entry.gz.is_some(),
        )
    } else {
        Coding::Identity
    };
    let file = match (coding, &entry.br, &entry.gz) {
        (Coding::Br, Some(br), _) => Rc::clone(br),
        (Coding::Gzip, _, Some(gz)) => Rc::clone(gz),
        _ => entry,
    };
    let v = Validators {
        etag: Some(file.etag.as_bytes()),
        last_modified: Some(file.last_modified_secs),
    };
    let safe = matches!(method, Method::Get | Method::Head);
    let plan = match conditional::evaluate(f, &v, safe) {
        Outcome::NotModified => Plan::NotModified,
        Outcome::Failed => Plan::PreconditionFailed,
        Outcome::Proceed => match f.range {
            Single::One(value)
                if method == Method::Get && conditional::if_range_holds(f, &v, now()) =>
            {
                match range::parse(value, file.len) {
                    RangePlan::Ignore => Plan::Full,
                    RangePlan::Unsatisfiable => Plan::Unsatisfiable,
                    // Several ranges of a content-coded representation
                    // would put Content-Encoding on a multipart body, which
                    // clients would try to decode: send it whole instead.
                    RangePlan::Ranges(r) if r.len() > 1 && coding != Coding::Identity => Plan::Full,
                    RangePlan::Ranges(r) => Plan::Partial(r),
                }
            }
            _ => Plan::Full,
        },
    };
    FileReply {
        file,
        coding,
        vary,
        plan,
    }
}
