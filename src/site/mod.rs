//! What to answer: the router (method + path → a route), the [`Reply`] and
//! [`Body`] types, folder listings, CORS, live reload, and the pages and
//! fields that decorate every response. A new route is a new arm in the
//! router and, if it needs one, a new `Body` variant.

pub mod cors;
pub mod jobs;
pub mod listing;
pub mod live;
pub mod pages;
pub mod reply;
pub mod router;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::fs::budget::FdBudget;
use crate::fs::compress::{self, Compressor, Form, INLINE_MAX, MIN_LEN, Source};
use crate::fs::watch::{WatchBudget, Watches, notifies};
use crate::fs::{CachedFile, Root};
use crate::h1::{DateCache, Request};
use crate::http::negotiate::{Coding, EncodingWeights, Offer};
use crate::http::{Fields, Method, Persist, Single, Status};
use jobs::{Done, Jobs, ListingJob, Mailbox, Waiter};
use listing::cache::{ListingCache, Lookup};
use live::{LiveReload, Subscription};
use pages::NotFoundPage;
use router::Route;

/// The tag listings' forms are named from (a listing sends no ETag).
const LISTING_TAG: &str = "\"listing\"";

pub use pages::{CustomPage, Decor};
pub use reply::{Body, Reply, Vary};
pub use router::Router;

/// Per-site choices made on the command line.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// List folders without an index (else 403).
    pub listing: bool,
    /// `--spa`: missing paths get the root's index, for clients that name
    /// HTML in Accept.
    pub spa: bool,
    /// `--clean-urls`: `/about` serves `about.html`, which redirects there.
    pub clean_urls: bool,
    /// `--cors`: `Access-Control-Allow-Origin: *` and preflight answers.
    pub cors: bool,
    /// `Cache-Control` for file and listing responses.
    pub cache_control: Option<String>,
    /// `--header` fields, validated (see [`Decor`] for how they apply).
    pub headers: Vec<(String, String)>,
    /// Testing aid (debug builds only): a request for exactly this path
    /// panics in the handler.
    #[cfg(debug_assertions)]
    pub debug_panic_path: Option<String>,
    /// Directory entries read for one listing at most.
    pub max_listing_read: usize,
    /// Bytes of listings kept in the listing cache.
    pub listing_cache: usize,
    /// Descriptors the file caches may hold together (None: a quarter of
    /// the open-file limit, at most 4096).
    pub cache_fds: Option<usize>,
    /// Directory watches all caches may hold together (None: a quarter of
    /// the user's inotify limit, at most 8192).
    pub max_watches: Option<usize>,
    /// `--watch`: live reload.
    pub watch: bool,
    /// Compress on the fly (`--no-compress` turns it off).
    pub compress: bool,
    /// Bytes of compressed forms kept (`--compress-cache`).
    pub compress_cache: usize,
    /// Largest file compressed (`--compress-max`).
    pub compress_max: u64,
}

impl SiteOptions {
    /// The type a `--header Content-Type` gives files.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str())
    }
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            listing: true,
            spa: false,
            clean_urls: false,
            cors: false,
            cache_control: Some("no-cache".into()),
            headers: Vec::new(),
            #[cfg(debug_assertions)]
            debug_panic_path: None,
            max_listing_read: 100_000,
            listing_cache: 32 << 20,
            cache_fds: None,
            max_watches: None,
            watch: false,
            compress: true,
            compress_cache: 64 << 20,
            compress_max: 16 << 20,
        }
    }
}

/// What every worker's site shares, built once at startup.
pub struct SiteShared {
    root: Arc<Root>,
    options: SiteOptions,
    not_found: Option<NotFoundPage>,
    /// The built-in 404 page with the live-reload script (`--watch`).
    live_404: Option<CustomPage>,
    /// `--cors`, `--header` and Cache-Control, arranged for every head.
    decor: Decor,
    listings: Arc<ListingCache>,
    jobs: Jobs,
    fd_budget: Arc<FdBudget>,
    watch_budget: Arc<WatchBudget>,
    /// The root's file system reports changes (not a network one).
    notifies: bool,
    live: Option<Arc<LiveReload>>,
    compressor: Option<Arc<Compressor>>,
}

impl SiteShared {
    /// Starts the job thread (and, with `--watch`, the live-reload one).
    pub fn new(
        root: Root,
        options: SiteOptions,
        not_found: Option<PathBuf>,
    ) -> std::io::Result<SiteShared> {
        let decor = Decor::new(
            options.cors,
            &options.headers,
            options.cache_control.as_deref(),
        );
        let root = Arc::new(root);
        let notifies = notifies(&root);
        let watch_budget = WatchBudget::new(
            options
                .max_watches
                .unwrap_or_else(WatchBudget::default_size),
        );
        let listings = Arc::new(ListingCache::new(
            options.listing_cache,
            Watches::new(Arc::clone(&watch_budget), notifies),
        ));
        let jobs = Jobs::start(
            Arc::clone(&root),
            Arc::clone(&listings),
            options.max_listing_read,
            options.watch.then_some(live::SCRIPT),
        )?;
        let fd_budget = FdBudget::new(match options.cache_fds {
            Some(asked) => {
                let allowed = FdBudget::within_limit(asked);
                if allowed < asked {
                    crate::log::note(format_args!(
                        "--cache-fds {asked} is more than half the open-file limit: {allowed} used"
                    ));
                }
                allowed
            }
            None => FdBudget::default_size(),
        });
        let live = if options.watch {
            Some(LiveReload::start(
                Arc::clone(&root),
                Arc::clone(&watch_budget),
                notifies,
            )?)
        } else {
            None
        };
        let compressor = if options.compress {
            Some(Compressor::start(
                options.compress_cache,
                Arc::clone(&fd_budget),
            )?)
        } else {
            None
        };
        let script = options.watch.then_some(live::SCRIPT);
        Ok(SiteShared {
            compressor,
            root,
            options,
            not_found: not_found.map(|p| NotFoundPage::new(p, script)),
            live_404: script.map(pages::not_found_with),
            decor,
            listings,
            jobs,
            fd_budget,
            watch_budget,
            notifies,
            live,
        })
    }

    /// The descriptors the file caches hold together.
    pub fn fd_budget(&self) -> &FdBudget {
        &self.fd_budget
    }

    /// The directory watches all caches hold together.
    pub fn watch_budget(&self) -> &WatchBudget {
        &self.watch_budget
    }

    /// The store of compressed forms, when compression is on.
    pub fn compressor(&self) -> Option<&Compressor> {
        self.compressor.as_deref()
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
        let watches = Watches::new(Arc::clone(&shared.watch_budget), shared.notifies);
        let inject = shared
            .live
            .as_ref()
            .map(|_| Arc::from(live::SCRIPT.as_bytes()));
        let compress = shared
            .compressor
            .as_ref()
            .map(|c| (Arc::clone(c), shared.options.compress_max));
        Site {
            router: Router::new(Arc::clone(&shared.fd_budget), watches, inject, compress),
            shared,
            mailbox,
        }
    }

    /// The reply to a request from the connection with `token`. A listing
    /// that is not cached yet is [`Reply::Pending`]: it arrives later in
    /// the mailbox, for that token.
    pub fn respond(&mut self, req: &Request<'_>, now: Instant, token: u64) -> Reply {
        #[cfg(debug_assertions)]
        if let Some(p) = self.shared.options.debug_panic_path.as_deref()
            && p == req.path
        {
            panic!("--debug-panic-path {p} requested");
        }
        if let Some(hub) = &self.shared.live
            && req.path.starts_with("/.ferry/")
        {
            return self.internal(req, hub);
        }
        let reply = match self
            .router
            .route(&self.shared.root, &self.shared.options, req, now)
        {
            Route::Reply(reply) => reply,
            Route::Listing(job) => {
                if let Some(hub) = &self.shared.live
                    && !job.view.json
                    && let Some(key) = live::request_key(req.path, self.shared.root.hidden())
                {
                    hub.listed(&key, &job.rel);
                }
                self.listing(job, token, &req.fields)
            }
        };
        match (&self.shared.live, &reply) {
            (Some(hub), Reply::File(f)) => self.record(hub, req, f),
            (Some(hub), Reply::Error(Status::NotFound, ..)) => self.record_missing(hub, req),
            _ => {}
        }
        self.decorate(reply)
    }

    /// The routes under `/.ferry/`, reserved with `--watch`.
    fn internal(&self, req: &Request<'_>, hub: &Arc<LiveReload>) -> Reply {
        if req.path != live::ROUTE {
            return self.error(Status::NotFound);
        }
        if !matches!(req.method, Method::Get | Method::Head) {
            return self.error(Status::MethodNotAllowed);
        }
        let page = req
            .query
            .unwrap_or("")
            .split('&')
            .find_map(|p| p.strip_prefix("page="))
            .and_then(|p| live::page_key(p, self.shared.root.hidden()))
            .unwrap_or_default();
        debug_assert!(hub.subscribers() < usize::MAX);
        Reply::EventStream { page }
    }

    /// Live reload: what this file response tells about the page's
    /// dependencies.
    fn record(&self, hub: &LiveReload, req: &Request<'_>, reply: &reply::FileReply) {
        let file: &CachedFile = &reply.file;
        let hidden = self.shared.root.hidden();
        let Some(key) = live::request_key(req.path, hidden) else {
            return;
        };
        let navigation = match req.fields.sec_fetch_dest {
            Single::One(dest) => dest.eq_ignore_ascii_case(b"document"),
            _ => file.content_type.starts_with("text/html"),
        };
        let referer = match req.fields.referer {
            Single::One(v) if !navigation => live::referer_key(v, hidden),
            _ => None,
        };
        // A sidecar is served for its source: the source is what changes.
        // (A file coded by its format, `.svgz`, is its own source, and a
        // form compressed on the fly is of `file` itself.)
        let rel = if reply.coding == file.coding || reply.form.is_some() {
            &*file.rel
        } else {
            file.rel
                .rsplit_once('.')
                .map_or(&*file.rel, |(source, _)| source)
        };
        hub.served(&key, rel, referer.as_deref());
    }

    /// Live reload: a page (or what it loaded) asked for a file that is
    /// not there (a folder being rebuilt, a page not written yet): it
    /// depends on it appearing. A navigation's 404 page carries the script.
    fn record_missing(&self, hub: &LiveReload, req: &Request<'_>) {
        let hidden = self.shared.root.hidden();
        let referer = match (req.fields.sec_fetch_dest, req.fields.referer) {
            (Single::One(dest), _) if dest.eq_ignore_ascii_case(b"document") => None,
            (_, Single::One(v)) => live::referer_key(v, hidden),
            _ => None,
        };
        if let Some(key) = live::request_key(req.path, hidden) {
            hub.missing(&key, referer.as_deref());
        }
    }

    /// Subscribes connection `token`'s event stream for `page`.
    pub fn subscribe(&self, page: String, token: u64) -> Option<Subscription> {
        let hub = self.shared.live.as_ref()?;
        Some(hub.subscribe(page, token, Arc::clone(&self.mailbox)))
    }

    /// A cached listing, or a wait for one (starting its job if no one
    /// else did).
    fn listing(&self, job: ListingJob, token: u64, f: &Fields<'_>) -> Reply {
        let waiter = Waiter {
            token,
            mailbox: Arc::clone(&self.mailbox),
        };
        match self
            .shared
            .listings
            .get_or_wait(job.stamp, job.view, waiter)
        {
            Lookup::Ready(body, serial) => {
                let weights = EncodingWeights::of(f.accept_encoding.iter());
                self.listing_reply(body, job.view.json, serial, &weights)
            }
            Lookup::Wait(first) => {
                if first {
                    self.shared.jobs.submit(job);
                }
                Reply::Pending(EncodingWeights::of(f.accept_encoding.iter()))
            }
        }
    }

    /// A listing, compressed when the client takes a coding and a form of
    /// this rendering is ready (made once per rendering, off the workers;
    /// at once, if small, for a client that takes nothing else).
    fn listing_reply(
        &self,
        body: Arc<[u8]>,
        json: bool,
        serial: u64,
        weights: &EncodingWeights,
    ) -> Reply {
        let vary = self.shared.compressor.is_some();
        let store = self.shared.compressor.as_ref();
        // A rendering that was not kept has no serial, and its forms are
        // not kept either.
        let id = (serial != 0).then(|| compress::source_id(("listing", serial)));
        let mut offers = [Offer {
            coding: Coding::Identity,
            len: body.len() as u64,
        }; 4];
        let mut n = 1;
        let mut forms: [Option<Arc<Form>>; 3] = [None, None, None];
        if let (Some(store), Some(id)) = (store, id)
            && (body.len() as u64 >= MIN_LEN || weights.weight(Coding::Identity) == 0)
            && weights.wants_compression()
        {
            forms = store.forms(id);
            if forms.iter().any(|f| f.as_ref().is_none_or(|f| !f.best)) {
                let source = Arc::clone(&body);
                store.ask(id, LISTING_TAG, || Some(Source::Bytes(source)));
            }
            for form in forms.iter().flatten() {
                offers[n] = Offer {
                    coding: form.coding,
                    len: form.len,
                };
                n += 1;
            }
        }
        let form = match weights.choose(&offers[..n]) {
            Some(Coding::Identity) => None,
            Some(coding) => forms.into_iter().flatten().find(|f| f.coding == coding),
            None => match (store, weights.quickest()) {
                (Some(store), Some(coding)) if body.len() as u64 <= INLINE_MAX => {
                    store.make_now(id, LISTING_TAG, coding, &body)
                }
                (store, coding) => {
                    return Reply::NoCoding {
                        later: store.is_some() && coding.is_some(),
                        vary: Vary::BOTH,
                    };
                }
            },
        };
        Reply::Listing {
            body,
            vary: vary || form.is_some(),
            form,
            json,
        }
    }

    /// Finished jobs posted to this worker.
    pub fn take_done(&self, into: &mut Vec<(u64, Done)>) {
        self.mailbox.take(into);
    }

    /// The reply a finished listing job makes, for a request whose
    /// Accept-Encoding gave `weights`.
    pub fn finish(&self, done: Done, weights: &EncodingWeights) -> Reply {
        match done {
            Done::Listing(Ok((body, json, serial))) => {
                self.listing_reply(body, json, serial, weights)
            }
            Done::Listing(Err(status)) => self.error(status),
            Done::Live(_) => self.error(Status::InternalServerError),
        }
    }

    /// An error reply (the custom page for a 404).
    pub fn error(&self, status: Status) -> Reply {
        self.decorate(Reply::error(status))
    }

    fn decorate(&self, reply: Reply) -> Reply {
        let Reply::Error(Status::NotFound, None, vary) = reply else {
            return reply;
        };
        let custom = self
            .shared
            .not_found
            .as_ref()
            .and_then(NotFoundPage::current);
        Reply::Error(
            Status::NotFound,
            custom.or_else(|| self.shared.live_404.clone()),
            vary,
        )
    }

    /// Encodes `reply`'s head into `dst`.
    pub fn encode_head(
        &self,
        reply: &Reply,
        persist: Persist,
        date: &DateCache,
        dst: &mut Vec<u8>,
    ) {
        reply.encode_head(&self.shared.decor, persist, date, dst);
    }

    /// Reads the file-change notifications and evicts what they touch;
    /// called before the requests of a wake-up are answered.
    pub fn sync(&mut self) {
        self.router.cache().sync();
    }

    /// The descriptor that becomes readable when a watched file changes.
    pub fn watch_fd(&mut self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.router.cache().watch_fd()
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
