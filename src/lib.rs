//! ferry: a small, fast, standards-correct HTTP/1.1 static-file server.
//!
//! The pipeline, one module per stage:
//! 1. [`cli`] — flags → validated [`cli::Config`]
//! 2. [`server`] — listener, accept loop, admission, the worker pool
//! 3. [`worker`] — one epoll event loop per worker thread, deadlines
//! 4. [`conn`] — per connection: read → parse → respond → keep alive
//! 5. [`request`] — httparse, limits, framing (Content-Length, chunked)
//! 6. [`resolve`] — routing, URL path → file under the root, file cache
//! 7. [`http`] — validators, conditional requests, ranges, Accept-Encoding
//! 8. [`listing`] — folder listings
//! 9. [`response`] — status lines, heads, `Date`
//! 10. [`log`] — the buffered access log

pub mod cli;
pub mod conn;
pub mod http;
pub mod listing;
pub mod log;
pub mod request;
pub mod resolve;
pub mod response;
pub mod server;
pub mod worker;
