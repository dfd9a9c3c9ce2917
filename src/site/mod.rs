//! What to answer: the router (method + path → a route), the [`Reply`] and
//! [`Body`] types, folder listings, CORS, and the pages and fields that
//! decorate every response. A new route (a live-reload endpoint, say) is a
//! new arm in the router and, if it needs one, a new `Body` variant.

pub mod cors;
pub mod listing;
pub mod pages;
pub mod reply;
pub mod router;

use std::sync::Arc;
use std::time::Instant;

use crate::fs::Root;
use crate::h1::{DateCache, Request};
use crate::http::{Persist, Status};

pub use pages::CustomPage;
pub use reply::{Body, Decor, Reply};
pub use router::Router;

/// Per-site choices made on the command line.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// List folders without index.html (else 403).
    pub listing: bool,
    /// `--spa`: unknown extension-less paths get /index.html.
    pub spa: bool,
    /// `--cors`: `Access-Control-Allow-Origin: *` and preflight answers.
    pub cors: bool,
    /// `Cache-Control` for file responses.
    pub cache_control: Option<String>,
    /// `--header` fields, validated.
    pub headers: Vec<(String, String)>,
    /// Testing aid: a request for exactly this path panics in the handler.
    pub debug_panic_path: Option<String>,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            listing: true,
            spa: false,
            cors: false,
            cache_control: None,
            headers: Vec::new(),
            debug_panic_path: None,
        }
    }
}

/// What every worker's site shares, built once at startup.
pub struct SiteShared {
    root: Root,
    options: SiteOptions,
    not_found: Option<CustomPage>,
    /// `--cors` and `--header` lines, pre-rendered.
    preamble: Box<[u8]>,
}

impl SiteShared {
    pub fn new(root: Root, options: SiteOptions, not_found: Option<CustomPage>) -> SiteShared {
        let preamble = pages::preamble(options.cors, &options.headers);
        SiteShared {
            root,
            options,
            not_found,
            preamble,
        }
    }

    pub fn root(&self) -> &Root {
        &self.root
    }
}

/// One worker's view of the site: the shared part and its own router
/// (with its file cache).
pub struct Site {
    shared: Arc<SiteShared>,
    router: Router,
}

impl Site {
    pub fn new(shared: Arc<SiteShared>) -> Site {
        Site {
            shared,
            router: Router::new(),
        }
    }

    /// The reply to a request.
    pub fn respond(&mut self, req: &Request<'_>, now: Instant) -> Reply {
        if let Some(p) = self.shared.options.debug_panic_path.as_deref()
            && p == req.path
        {
            panic!("--debug-panic-path {p} requested");
        }
        let reply = self
            .router
            .route(&self.shared.root, &self.shared.options, req, now);
        self.decorate(reply)
    }

    /// An error reply (the custom page for a 404).
    pub fn error(&self, status: Status) -> Reply {
        self.decorate(Reply::error(status))
    }

    fn decorate(&self, reply: Reply) -> Reply {
        match reply {
            Reply::Error(Status::NotFound, None) if self.shared.not_found.is_some() => {
                Reply::Error(Status::NotFound, self.shared.not_found.clone())
            }
            other => other,
        }
    }

    /// Encodes `reply`'s head into `dst`.
    pub fn encode_head(
        &self,
        reply: &Reply,
        persist: Persist,
        date: &DateCache,
        dst: &mut Vec<u8>,
    ) {
        let decor = Decor {
            preamble: &self.shared.preamble,
            cache_control: self
                .shared
                .options
                .cache_control
                .as_deref()
                .map(str::as_bytes),
        };
        reply.encode_head(&decor, persist, date, dst);
    }

    /// Closes cached files not asked for lately.
    pub fn evict_idle(&mut self, now: Instant) {
        self.router.cache().evict_idle(now);
    }

    /// Whether nothing is cached (an idle worker then sleeps untimed).
    pub fn is_idle(&mut self) -> bool {
        self.router.cache().is_empty()
    }
}
