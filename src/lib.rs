//! ferry: a small, fast, standards-correct HTTP/1.1 static-file server.
//!
//! The layers, each importing only those below it (`http ← h1 ← fs ← site
//! ← conn ← worker ← server`; check with `../shared/tools/modgraph`):
//!
//! | module | owns |
//! |---|---|
//! | [`cli`] → [`settings`] | flags, parsed once into the settings every layer reads |
//! | [`server`] | startup, the listeners (bound or passed by a supervisor), the banner, shutdown |
//! | [`worker`] | one epoll event loop per pool thread: accepting, connections, timers, change notifications, the inbox |
//! | [`conn`] | the connection state machine, its output (copy, sendfile, linger), admission |
//! | [`log`] | the buffered, never-blocking access log |
//! | [`site`] | what to answer: router, `Reply`/`Body`, listings, live reload, CORS, pages |
//! | [`fs`] | the root (every open kernel-checked), path cleaning, the file cache and its watches, the descriptor budget, compressed forms and their threads, MIME |
//! | [`h1`] | HTTP/1.1 on the wire, sans-IO: request reader, chunked, response heads |
//! | [`http`] | pure semantics: status, fields, dates, ETags, conditionals, ranges, negotiation |
//!
//! Where the cross-cutting features live: live reload is an internal
//! route (`/.ferry/live`) in [`site::router`] with its own `Body` variant
//! (an event stream written by `conn::output`), fed by the file cache's
//! change notifications, an event source in [`worker`]; compression on the
//! fly is a `Body` of cached compressed bytes chosen in [`site::router`] by
//! [`http::negotiate`] and made off the workers ([`fs::compress`]);
//! accepting is the listeners as an event source in [`worker`], taking
//! tickets from [`conn::admission`].
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
