//! HTTP/1.1 on the wire, sans-IO (in the manner of hyper's `proto/h1`):
//! [`RequestReader`] turns bytes into request events (heads, body ends,
//! rejections), [`encode`] turns a response [`Head`] into bytes. Nothing
//! here touches a socket or a file, so the server, the benches and the
//! fuzz targets all run this code.

pub mod chunked;
pub mod encode;
pub mod parse;
pub mod reader;

pub use encode::{CONTINUE, DateCache, FieldList, Head, encode};
pub use parse::{BodyFraming, Limits, Request, RequestError};
pub use reader::{Event, Input, Phase, Rejection, RequestReader, is_head, is_tls_handshake};
