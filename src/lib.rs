//! ferry: a small, fast, standards-correct HTTP/1.1 static-file server.
//!
//! The layers, each importing only those below it (`http ← h1 ← fs ← site
//! ← conn ← worker ← server`; check with `../shared/tools/modgraph`):
//!
//! | module | owns |
//! |---|---|
//! | [`cli`] → [`settings`] | flags, parsed once into the settings every layer reads |
//! | [`server`] | startup, the listener, the accept loop, the banner |
//! | [`worker`] | one epoll event loop per pool thread: connections, timers, the inbox |
//! | [`conn`] | the connection state machine, its output (copy, sendfile, linger), admission |
//! | [`log`] | the buffered, never-blocking access log |
//! | [`site`] | what to answer: router, `Reply`/`Body`, listings, CORS, pages |
//! | [`fs`] | the root (every open kernel-checked), path cleaning, file cache, MIME |
//! | [`h1`] | HTTP/1.1 on the wire, sans-IO: request reader, chunked, response heads |
//! | [`http`] | pure semantics: status, fields, dates, ETags, conditionals, ranges, negotiation |
//!
//! Where new work goes: a live-reload endpoint is an internal route in
//! [`site::router`] with its own `Body` variant (an event stream written by
//! `conn::output`) and file-change notifications as an event source in
//! [`worker`]; compression on the fly is a `Body` of cached compressed bytes
//! chosen in [`site::router`] by [`http::negotiate`], made off the workers;
//! accepting in the workers is the listener as an event source in
//! [`worker`], taking tickets from [`conn::admission`].
#![forbid(unsafe_code)]

pub mod cli;
pub mod conn;
pub mod fs;
pub mod h1;
pub mod http;
pub mod log;
pub mod server;
pub mod settings;
pub mod site;
pub mod worker;
