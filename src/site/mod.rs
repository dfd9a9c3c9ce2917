//! What to answer: the router (method + path → a route), the [`Reply`] and
//! [`Body`] types, folder listings, CORS, and the pages and fields that
//! decorate every response. A new route (a live-reload endpoint, say) is a
//! new arm in the router and, if it needs one, a new `Body` variant.

pub mod cors;
pub mod jobs;
pub mod listing;
pub mod pages;
pub mod reply;
pub mod router;

use std::sync::Arc;
use std::time::Instant;

use crate::fs::Root;
use crate::fs::cache::FdBudget;
use crate::h1::{DateCache, Request};
use crate::http::{Persist, Status};
use jobs::{Done, Jobs, ListingJob, Mailbox, Waiter};
use listing::cache::{ListingCache, Lookup};
use router::Route;

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
    /// Directory entries read for one listing at most.
    pub max_listing_read: usize,
    /// Bytes of listings kept in the listing cache.
    pub listing_cache: usize,
    /// Descriptors the file caches may hold together (None: a quarter of
    /// the open-file limit, at most 4096).
    pub cache_fds: Option<usize>,
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
            max_listing_read: 100_000,
            listing_cache: 32 << 20,
            cache_fds: None,
        }
    }
}

/// What every worker's site shares, built once at startup.
pub struct SiteShared {
    root: Arc<Root>,
    options: SiteOptions,
    not_found: Option<CustomPage>,
    /// `--cors` and `--header` lines, pre-rendered.
    preamble: Box<[u8]>,
    listings: Arc<ListingCache>,
    jobs: Jobs,
    fd_budget: Arc<FdBudget>,
}

impl SiteShared {
    /// Starts the job thread too.
    pub fn new(
        root: Root,
        options: SiteOptions,
        not_found: Option<CustomPage>,
    ) -> std::io::Result<SiteShared> {
        let preamble = pages::preamble(options.cors, &options.headers);
        let root = Arc::new(root);
        let listings = Arc::new(ListingCache::new(options.listing_cache));
        let jobs = Jobs::start(
            Arc::clone(&root),
            Arc::clone(&listings),
            options.max_listing_read,
        )?;
        let fd_budget = FdBudget::new(options.cache_fds.unwrap_or_else(FdBudget::default_size));
        Ok(SiteShared {
            root,
            options,
            not_found,
            preamble,
            listings,
            jobs,
            fd_budget,
        })
    }

    /// The descriptors the file caches hold together.
    pub fn fd_budget(&self) -> &FdBudget {
        &self.fd_budget
    }

    /// The listing cache (for tests and benchmarks).
    pub fn listings(&self) -> &ListingCache {
        &self.listings
    }

    pub fn root(&self) -> &Root {
        &self.root
    }
}

/// One worker's view of the site: the shared part, its own router (with
/// its file cache), and its mailbox for finished jobs.
pub struct Site {
    shared: Arc<SiteShared>,
    router: Router,
    mailbox: Arc<Mailbox>,
}

impl Site {
    pub fn new(shared: Arc<SiteShared>, mailbox: Arc<Mailbox>) -> Site {
        Site {
            router: Router::new(Arc::clone(&shared.fd_budget)),
            shared,
            mailbox,
        }
    }

    /// The reply to a request from the connection with `token`. A listing
    /// that is not cached yet is [`Reply::Pending`]: it arrives later in
    /// the mailbox, for that token.
    pub fn respond(&mut self, req: &Request<'_>, now: Instant, token: u64) -> Reply {
        if let Some(p) = self.shared.options.debug_panic_path.as_deref()
            && p == req.path
        {
            panic!("--debug-panic-path {p} requested");
        }
        let reply = match self
            .router
            .route(&self.shared.root, &self.shared.options, req, now)
        {
            Route::Reply(reply) => reply,
            Route::Listing(job) => self.listing(job, token),
        };
        self.decorate(reply)
    }

    /// A cached listing, or a wait for one (starting its job if no one
    /// else did).
    fn listing(&self, job: ListingJob, token: u64) -> Reply {
        let waiter = Waiter {
            token,
            mailbox: Arc::clone(&self.mailbox),
        };
        match self
            .shared
            .listings
            .get_or_wait(job.stamp, job.view, waiter)
        {
            Lookup::Ready(body) => Reply::Listing {
                body,
                json: job.view.json,
            },
            Lookup::Wait(first) => {
                if first {
                    self.shared.jobs.submit(job);
                }
                Reply::Pending
            }
        }
    }

    /// Finished jobs posted to this worker.
    pub fn take_done(&self, into: &mut Vec<(u64, Done)>) {
        self.mailbox.take(into);
    }

    /// The reply a finished job makes.
    pub fn finish(&self, done: Done) -> Reply {
        match done {
            Done::Listing(Ok((body, json))) => Reply::Listing { body, json },
            Done::Listing(Err(status)) => self.error(status),
        }
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

    /// Answers a squeeze at once (descriptors ran out for accepting).
    pub fn answer_squeeze(&mut self, now: Instant) {
        if self.router.cache().squeeze_pending() {
            self.router.cache().evict_idle(now);
        }
    }
}
