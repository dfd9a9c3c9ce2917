//! Pure HTTP semantics, no sockets and nothing from outside `http/`: the
//! status and request vocabulary, field syntax, dates, entity tags,
//! conditional requests, byte ranges and content negotiation. [`plan`]
//! combines them for one request over plain validators.

pub mod conditional;
pub mod date;
pub mod etag;
pub mod fields;
pub mod negotiate;
pub mod range;
pub mod status;
pub mod syntax;

pub use fields::{Fields, HttpVersion, Lines, Method, Single};
pub use status::{Persist, Status};

use conditional::{Outcome, Validators};
use range::{ByteRange, RangePlan};

/// What to send for a request of a representation with validators.
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

/// The representation a plan is made for.
#[derive(Debug, Clone, Copy)]
pub struct Representation<'a> {
    pub validators: Validators<'a>,
    /// Length in bytes.
    pub len: u64,
    /// Content-coded (a sidecar): several ranges of it are not sent as
    /// multipart, since clients would try to decode the multipart body.
    pub coded: bool,
    /// Byte ranges of it are served (not of a form compressed on the fly,
    /// whose bytes may differ from one compression to the next: a Range is
    /// then ignored).
    pub ranges: bool,
}

/// Evaluates preconditions, then ranges (RFC 9110 §13.2.2 order). Ranges
/// apply to GET only (§14.2) and to the bytes of the representation.
/// `now`: the current time, which decides whether a date is strong.
pub fn plan(f: &Fields<'_>, method: Method, rep: &Representation<'_>, now: i64) -> Plan {
    let v = &rep.validators;
    match conditional::evaluate(f, v, method.is_get_or_head()) {
        Outcome::NotModified => Plan::NotModified,
        Outcome::Failed => Plan::PreconditionFailed,
        Outcome::Proceed => match f.range {
            Single::One(value)
                if method == Method::Get
                    && rep.ranges
                    && conditional::if_range_holds(f, v, now) =>
            {
                match range::parse(value, rep.len) {
                    RangePlan::Ignore => Plan::Full,
                    RangePlan::Unsatisfiable => Plan::Unsatisfiable,
                    RangePlan::Ranges(r) if r.len() > 1 && rep.coded => Plan::Full,
                    RangePlan::Ranges(r) => Plan::Partial(r),
                }
            }
            _ => Plan::Full,
        },
    }
}

/// Preconditions for a response without validators (a folder listing):
/// only `*` can match.
pub fn plan_without_validators(f: &Fields<'_>, method: Method) -> Outcome {
    let none = Validators {
        etag: None,
        last_modified: None,
    };
    conditional::evaluate(f, &none, method.is_get_or_head())
}
