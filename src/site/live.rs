//! Live reload (`--watch`): the browser reloads a page by itself when a
//! file it loaded changes, and swaps a changed stylesheet in place.
//!
//! - Every HTML response gets [`SCRIPT`] injected before `</body>` (by the
//!   file cache, as its own representation). The script opens an
//!   `EventSource` to the reserved route [`ROUTE`] (under `/.ferry/`, a
//!   dot-path the dotfile rule already keeps from clashing with served
//!   content), naming its page.
//! - The server records what each page loaded: every request that carries
//!   a page as `Referer` (stylesheets, scripts, modules, images, fetches),
//!   and transitively those whose `Referer` is one of these (a module
//!   imported by a module, an image or `@import` from a stylesheet).
//!   Navigations (`Sec-Fetch-Dest: document`, or HTML without it) are not
//!   dependencies.
//! - A thread of its own watches the folders of the files served (lazily,
//!   within the shared watch budget) and, when a change is complete — the
//!   file closed after writing, renamed into place or away, removed; never a
//!   write in progress — folds the rest of the editor's burst (events
//!   arriving within [`SETTLE`]), then tells each page that loaded the file:
//!   `css` with the stylesheets to swap when only stylesheets changed,
//!   `reload` otherwise. Files no page loaded (`node_modules/`, `.git/`,
//!   swap files) trigger nothing.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::OFlags;

use super::jobs::{Done, Mailbox};
use crate::fs::Root;
use crate::fs::cache::{clean_key, key_of};
use crate::fs::clean_path;
use crate::fs::watch::{Change, WatchBudget, Watches, parent};

/// The event stream's route.
pub const ROUTE: &str = "/.ferry/live";
/// Events of one burst are folded while they keep coming this close.
pub const SETTLE: Duration = Duration::from_millis(8);
/// Files remembered as asked for and missing, at most.
const MAX_MISSING: usize = 4096;
/// A burst is sent at the latest this long after its first event.
const SETTLE_MAX: Duration = Duration::from_millis(50);

/// The script injected into HTML under `--watch`. It reconnects by itself
/// (`retry`), and reloads once after a reconnection (the server restarted).
pub const SCRIPT: &str = concat!(
    "<script>/* ferry --watch */(()=>{",
    "const es=new EventSource('/.ferry/live?page='+encodeURIComponent(location.pathname));",
    "let up=false,lost=false;",
    "es.onopen=()=>{if(lost){location.reload()}up=true};",
    "es.onerror=()=>{if(up){lost=true}};",
    "es.addEventListener('reload',()=>location.reload());",
    "es.addEventListener('css',e=>{const want=e.data.split('\\n');let hit=0;",
    "for(const l of document.querySelectorAll('link[rel~=\"stylesheet\"]')){",
    "const u=new URL(l.href,location.href);",
    "if(want.includes(decodeURIComponent(u.pathname))){hit++;const n=l.cloneNode();",
    "u.searchParams.set('ferry-reload',Date.now());n.href=u.href;",
    "n.onload=()=>l.remove();l.after(n)}}",
    "if(!hit){location.reload()}})",
    "})();</script>"
);

/// What a page is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    Reload,
    /// Swap these stylesheets (paths, decoded, from the root).
    Css(Vec<String>),
}

impl LiveEvent {
    /// The event-stream bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            LiveEvent::Reload => b"event: reload\ndata: \n\n".to_vec(),
            LiveEvent::Css(paths) => {
                let mut out = b"event: css\n".to_vec();
                for p in paths {
                    out.extend_from_slice(b"data: ");
                    out.extend_from_slice(p.as_bytes());
                    out.push(b'\n');
                }
                out.push(b'\n');
                out
            }
        }
    }
}

struct Sub {
    page: String,
    mailbox: Arc<Mailbox>,
}

struct Inner {
    watches: Watches,
    /// File (resolved path) → the request keys served from it.
    keys: HashMap<String, HashSet<String>>,
    /// Key → the keys of the pages (or resources) that referred to it.
    referers: HashMap<String, HashSet<String>>,
    /// Folders watched (or that could not be).
    dirs: HashSet<String>,
    /// Files asked for that were not there (at most [`MAX_MISSING`]).
    missing: HashSet<String>,
    /// Folder → the keys of its listing pages (each entry added, removed
    /// or changed reloads them).
    listings: HashMap<String, HashSet<String>>,
    /// Every key served or asked for (pages and what they loaded): a
    /// `Referer` counts only when it names one.
    known: HashSet<String>,
    /// Page → when it was last served by navigation, and when a change
    /// last reached it: a stream opened after a change its page missed is
    /// told at once.
    loaded_at: HashMap<String, Instant>,
    changed_at: HashMap<String, Instant>,
    subs: HashMap<u64, Sub>,
}

impl Inner {
    /// Watches the folder `dir` (once; a folder that cannot be watched is
    /// not asked again).
    fn watch(&mut self, root: &Root, dir: &str) {
        if !self.dirs.contains(dir) {
            self.watches.hold(root, dir);
            self.dirs.insert(dir.to_owned());
        }
    }

    /// `key`, served from `rel` (or asked for there), was loaded by the
    /// page or resource `referer`, if any: one served before (a name
    /// never served is no page, and would make the map grow with every
    /// made-up `Referer`).
    fn depends(&mut self, rel: &str, key: &str, referer: Option<&str>) {
        self.keys
            .entry(rel.to_owned())
            .or_default()
            .insert(key.to_owned());
        self.known.insert(key.to_owned());
        if let Some(from) = referer
            && from != key
            && self.known.contains(from)
        {
            self.referers
                .entry(key.to_owned())
                .or_default()
                .insert(from.to_owned());
        }
    }
}

/// The live-reload hub, shared by the workers and its watch thread.
pub struct LiveReload {
    root: Arc<Root>,
    inner: Mutex<Inner>,
}

/// A page's event stream, subscribed while it is held.
pub struct Subscription {
    hub: Arc<LiveReload>,
    token: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.lock().subs.remove(&self.token);
    }
}

impl LiveReload {
    /// Starts the hub and its watch thread.
    pub fn start(
        root: Arc<Root>,
        budget: Arc<WatchBudget>,
        notifies: bool,
    ) -> std::io::Result<Arc<LiveReload>> {
        let watches = Watches::new(budget, notifies);
        let fd = watches.shared_fd();
        let hub = Arc::new(LiveReload {
            root,
            inner: Mutex::new(Inner {
                watches,
                keys: HashMap::new(),
                referers: HashMap::new(),
                dirs: HashSet::new(),
                missing: HashSet::new(),
                listings: HashMap::new(),
                known: HashSet::new(),
                loaded_at: HashMap::new(),
                changed_at: HashMap::new(),
                subs: HashMap::new(),
            }),
        });
        if let Some(fd) = fd {
            let hub = Arc::clone(&hub);
            std::thread::Builder::new()
                .name("ferry-watch".into())
                .spawn(move || hub.watch(fd))?;
        }
        Ok(hub)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A file response: `key` (the name asked for) served from `rel`,
    /// with the page or resource that referred to it, if any (none: a
    /// page loaded by navigation).
    pub fn served(&self, key: &str, rel: &str, referer: Option<&str>) {
        let mut inner = self.lock();
        inner.watch(&self.root, parent(rel));
        inner.depends(rel, key, referer);
        if referer.is_none() {
            inner.loaded_at.insert(key.to_owned(), Instant::now());
        }
    }

    /// An HTML listing of the folder `dir` was asked for as `key`.
    pub fn listed(&self, key: &str, dir: &str) {
        let mut inner = self.lock();
        inner.watch(&self.root, dir);
        inner
            .listings
            .entry(dir.to_owned())
            .or_default()
            .insert(key.to_owned());
        inner.known.insert(key.to_owned());
        inner.loaded_at.insert(key.to_owned(), Instant::now());
    }

    /// A request for `key` (from the page or resource `referer`; none: a
    /// page navigated to) found nothing: watches the nearest folder on its
    /// path that exists, so that the file (or a folder on the way)
    /// appearing tells the page.
    pub fn missing(&self, key: &str, referer: Option<&str>) {
        let rel = key.trim_end_matches('/');
        if rel.is_empty() {
            return;
        }
        let mut inner = self.lock();
        if inner.missing.len() >= MAX_MISSING && !inner.missing.contains(rel) {
            return; // bounded: a client asking for names at random
        }
        inner.missing.insert(rel.to_owned());
        let mut dir = parent(rel);
        while !dir.is_empty()
            && self
                .root
                .open_beneath(dir, OFlags::PATH | OFlags::DIRECTORY)
                .is_err()
        {
            dir = parent(dir);
        }
        inner.watch(&self.root, dir);
        inner.depends(rel, key, referer);
        if referer.is_none() {
            inner.loaded_at.insert(key.to_owned(), Instant::now());
        }
    }

    /// Subscribes the event stream of connection `token` for `page`.
    pub fn subscribe(
        self: &Arc<Self>,
        page: String,
        token: u64,
        mailbox: Arc<Mailbox>,
    ) -> Subscription {
        let mut inner = self.lock();
        // A change that reached this page after it was served and before
        // its stream opened (a save while the page was loading) is told
        // now.
        let missed = match (inner.changed_at.get(&page), inner.loaded_at.get(&page)) {
            (Some(changed), Some(loaded)) => changed > loaded,
            _ => false,
        };
        if missed {
            mailbox.post(token, Done::Live(LiveEvent::Reload));
        }
        inner.subs.insert(token, Sub { page, mailbox });
        drop(inner);
        Subscription {
            hub: Arc::clone(self),
            token,
        }
    }

    /// Subscribed pages (for tests).
    pub fn subscribers(&self) -> usize {
        self.lock().subs.len()
    }

    /// Folders watched for live reload.
    pub fn watched_dirs(&self) -> usize {
        self.lock().watches.len()
    }

    /// The watch thread: waits for events, folds a burst, tells the pages.
    fn watch(&self, fd: Arc<OwnedFd>) {
        let mut changes = Vec::new();
        loop {
            if !wait_readable(&fd, None) {
                continue;
            }
            let mut changed: HashSet<String> = HashSet::new();
            let mut gone: HashSet<String> = HashSet::new();
            // Folders whose entries changed (for their listings).
            let mut folders: HashSet<String> = HashSet::new();
            let first = Instant::now();
            loop {
                self.lock().watches.drain(&mut changes);
                for c in changes.drain(..) {
                    match c {
                        Change::Entry {
                            dir,
                            path,
                            complete,
                            attrib,
                        } => {
                            // A listing shows what is complete and what a
                            // touch changed, dotfiles only with --hidden.
                            if (complete || attrib) && self.listed_in(&path) {
                                folders.insert(dir);
                            }
                            // For pages, a write in progress is nothing yet:
                            // its end is the change.
                            if complete {
                                changed.insert(path);
                            }
                        }
                        Change::Overflow => {
                            changed.insert(String::new());
                        }
                        Change::Dir(dir) => {
                            // Moved or removed (a build tool recreating it):
                            // what was loaded from it is gone, and its watch
                            // follows the old folder. Forget it, so the next
                            // file served from the path watches the new one.
                            self.forget_dir(&dir);
                            gone.insert(dir);
                        }
                    }
                }
                if changed.is_empty() && gone.is_empty() && folders.is_empty() {
                    break; // only writes in progress: wait for their end
                }
                let left = SETTLE_MAX.saturating_sub(first.elapsed());
                if left.is_zero() || !wait_readable(&fd, Some(SETTLE.min(left))) {
                    break;
                }
            }
            // A folder that went away, or one that came (made, or moved
            // into place): every file loaded from beneath it.
            let moved: Vec<&String> = gone.iter().chain(&changed).collect();
            if !moved.is_empty() {
                let inner = self.lock();
                let beneath: Vec<String> = (inner.keys.keys())
                    .filter(|rel| moved.iter().any(|d| under(rel, d)))
                    .cloned()
                    .collect();
                drop(inner);
                changed.extend(beneath);
            }
            if !changed.is_empty() || !folders.is_empty() {
                self.notify(&changed, &folders);
            }
        }
    }

    /// Whether the entry `path` appears in its folder's listing.
    fn listed_in(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        self.root.hidden() || !name.starts_with('.')
    }

    /// Stops counting `dir` (and the folders under it) as watched.
    fn forget_dir(&self, dir: &str) {
        let mut inner = self.lock();
        let stale: Vec<String> = (inner.dirs.iter())
            .filter(|d| d.as_str() == dir || under(d, dir))
            .cloned()
            .collect();
        for d in stale {
            inner.watches.release(&d);
            inner.dirs.remove(&d);
        }
    }

    /// Tells every page that loaded one of `changed` (`""`: anything), and
    /// the listings of `folders`.
    fn notify(&self, changed: &HashSet<String>, folders: &HashSet<String>) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let mut touched: HashSet<&str> = HashSet::new();
        let mut only_css = true;
        for dir in folders {
            if let Some(keys) = inner.listings.get(dir) {
                touched.extend(keys.iter().map(String::as_str));
                only_css = false;
            }
        }
        for rel in changed {
            if rel.is_empty() {
                touched.extend(inner.subs.values().map(|s| s.page.as_str()));
                only_css = false;
                continue;
            }
            if let Some(keys) = inner.keys.get(rel) {
                touched.extend(keys.iter().map(String::as_str));
                only_css &= rel.ends_with(".css");
            }
        }
        if touched.is_empty() {
            return;
        }
        // Everything that (transitively) referred to a touched key.
        let mut affected: HashSet<&str> = touched.clone();
        let mut todo: Vec<&str> = touched.into_iter().collect();
        while let Some(k) = todo.pop() {
            for r in inner.referers.get(k).into_iter().flatten() {
                if affected.insert(r.as_str()) {
                    todo.push(r.as_str());
                }
            }
        }
        let now = Instant::now();
        for page in &affected {
            if inner.loaded_at.contains_key(*page) {
                inner.changed_at.insert((*page).to_owned(), now);
            }
        }
        for (token, sub) in &inner.subs {
            if !affected.contains(sub.page.as_str()) {
                continue;
            }
            // The page's own stylesheets on the way to the change.
            let sheets: Vec<String> = affected
                .iter()
                .filter(|k| {
                    k.ends_with(".css")
                        && inner
                            .referers
                            .get(**k)
                            .is_some_and(|r| r.contains(&sub.page))
                })
                .map(|k| format!("/{k}"))
                .collect();
            let event = if only_css && !sheets.is_empty() && !changed.contains(&sub.page) {
                LiveEvent::Css(sheets)
            } else {
                LiveEvent::Reload
            };
            sub.mailbox.post(*token, Done::Live(event));
        }
    }
}

/// The request key a `Referer` value names (its path, cleaned), if any.
pub fn referer_key(value: &[u8], hidden: bool) -> Option<String> {
    let v = std::str::from_utf8(value).ok()?;
    let path = match v.find("://") {
        Some(i) => {
            let rest = &v[i + 3..];
            &rest[rest.find('/')?..]
        }
        None if v.starts_with('/') => v,
        None => return None,
    };
    let path = path.split(['?', '#']).next().unwrap_or("/");
    request_key(path, hidden)
}

/// The request key of the page an event stream names: the script sends
/// `location.pathname` (a path as requested, percent-encoded) as a query
/// value, encoded once more (`encodeURIComponent`); undone here, then
/// cleaned as a request path is.
pub fn page_key(value: &str, hidden: bool) -> Option<String> {
    let path = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()?;
    request_key(&path, hidden)
}

/// The cache key of a request path (see [`clean_key`]).
pub fn request_key(path: &str, hidden: bool) -> Option<String> {
    match clean_key(path, hidden) {
        Some(k) => Some(k.to_owned()),
        None => clean_path(path, hidden).ok().map(|c| key_of(&c)),
    }
}

/// Whether `path` is beneath the folder `dir` (`""`: the root).
fn under(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Waits until `fd` is readable, or `timeout` passes (false then).
fn wait_readable(fd: &OwnedFd, timeout: Option<Duration>) -> bool {
    let fd = fd.as_fd();
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let t = timeout.map(|d| Timespec {
        tv_sec: d.as_secs() as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    });
    matches!(rustix::event::poll(&mut fds, t.as_ref()), Ok(n) if n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referers_name_request_keys() {
        assert_eq!(
            referer_key(b"http://127.0.0.1:8000/dir/?x=1#y", false).as_deref(),
            Some("dir/")
        );
        assert_eq!(
            referer_key(b"http://127.0.0.1:8000/a%20b.css", false).as_deref(),
            Some("a b.css")
        );
        assert_eq!(referer_key(b"http://h:1", false), None);
        assert_eq!(referer_key(b"/x.js", false).as_deref(), Some("x.js"));
    }

    #[test]
    fn a_page_is_named_by_its_path_encoded_once_more() {
        // encodeURIComponent('/sp%20ace/p%C3%A9.html')
        assert_eq!(
            page_key("%2Fsp%2520ace%2Fp%25C3%25A9.html", false).as_deref(),
            Some("sp ace/p\u{e9}.html")
        );
        assert_eq!(page_key("%2F", false).as_deref(), Some(""));
        assert_eq!(
            page_key("%2Fa%26b.html", false).as_deref(),
            Some("a&b.html")
        );
    }

    #[test]
    fn events_are_event_stream_frames() {
        assert_eq!(LiveEvent::Reload.to_bytes(), b"event: reload\ndata: \n\n");
        assert_eq!(
            LiveEvent::Css(vec!["/a.css".into(), "/b.css".into()]).to_bytes(),
            b"event: css\ndata: /a.css\ndata: /b.css\n\n"
        );
    }
}
