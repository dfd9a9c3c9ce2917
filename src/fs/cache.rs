//! The per-worker open-file cache: `key → open file, metadata, content type,
//! validators, sidecars, and the bytes of small files`, so a keep-alive hit
//! costs no open, stat or close — and is never stale.
//!
//! Coherence: the directory of every cached file (and its ancestors) is
//! watched ([`super::watch`]); the worker reads the events before it
//! answers the requests of a wake-up, and an event evicts every entry it
//! touches — the file, its sidecars, anything under a moved or removed
//! folder — so a change made on disk before a request was sent is seen by
//! that request. An entry whose folder cannot be watched is checked with
//! one `stat` of its path (and its sidecars') per request instead.
//!
//! Policy:
//! - a file with other hard links is checked by a stat per request (a
//!   write through a link in a folder not watched sends no event there);
//! - a watched entry is resolved again every [`REVALIDATE_AFTER`] all the
//!   same (a safety net for changes notifications cannot see); an
//!   unchanged file keeps its entry;
//! - files of at most [`SMALL_FILE`] bytes are held in memory while the
//!   worker's [`CACHE_BYTES`] allow; larger ones are sent from their
//!   descriptor;
//! - a `.br` / `.gz` sidecar older than its source is not used (it would
//!   send old content to some clients only), and that is logged once;
//! - with live reload, HTML is held in memory with the reload script
//!   injected, as its own representation (its own ETag);
//! - a file is cached once, by its own path (links on the way resolved):
//!   every name that leads to it (`/a.js`, `//a.js`, `/./a.js` and
//!   `/%61.js`; a folder `/d/` and its `/d/index.html`; `/via/a.js` through
//!   a linked folder) shares its entry and its descriptors, so aliases
//!   cannot multiply descriptors;
//! - at most [`CACHE_ENTRIES`] names (so files); a full cache drops an
//!   arbitrary name (hash order) for the newcomer;
//! - the descriptors all workers' caches hold together are capped by one
//!   [`FdBudget`] (`--cache-fds`), well below the process's limit so
//!   connections always have room: over it, the least recently checked
//!   entries no response is using are closed, and if that is not enough
//!   the file is served without being cached. When an open runs out of
//!   descriptors (EMFILE), the cache closes unused files and the open is
//!   tried again (a file whose sidecars could still not be looked for is
//!   served uncached); when accepting runs out, every cache closes what no
//!   response is using. The budget is at most half the open-file limit;
//! - an entry unused for [`IDLE_EVICT`] is closed by the worker's sweep, so
//!   deleted files free their space and idle entries hold no descriptor.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::fs::OFlags;

use super::budget::FdBudget;
use super::compress::{self, Compressor, Form, Source};
use super::watch::{Change, Watches, parent};
use super::{Root, read_full_at};
use crate::http::Status;
use crate::http::negotiate::Coding;

/// How long a watched entry is trusted before it is resolved again.
pub const REVALIDATE_AFTER: Duration = Duration::from_secs(5);
/// A cached file not revalidated (so not requested) for this long is closed.
pub const IDLE_EVICT: Duration = Duration::from_secs(2);
/// Files up to this size are kept in memory and sent with one write.
pub const SMALL_FILE: u64 = 32 * 1024;
/// Most entries per worker.
pub const CACHE_ENTRIES: usize = 1024;
/// Most bytes of small files held in memory per worker.
pub const CACHE_BYTES: usize = 8 << 20;
/// Largest HTML file the live-reload script is injected into.
pub const INJECT_MAX: u64 = 16 << 20;

/// An open regular file, as cached, with its validators and its
/// precompressed sidecars.
pub struct CachedFile {
    pub file: File,
    /// The representation's length (with the live-reload script, for HTML
    /// under `--watch`).
    pub len: u64,
    /// The original's type, also for a sidecar.
    pub content_type: Box<str>,
    /// The whole content, for small files (and injected HTML).
    pub bytes: Option<Box<[u8]>>,
    /// Strong entity tag from metadata, quotes included.
    pub etag: Box<str>,
    /// `Last-Modified` value: the mtime, but never later than now.
    pub last_modified: Box<str>,
    pub last_modified_secs: i64,
    /// `name.br` / `name.gz` next to the file, if any (and not stale).
    pub br: Option<Rc<CachedFile>>,
    pub gz: Option<Rc<CachedFile>>,
    /// The file's path relative to the root, symlinks resolved.
    pub rel: Box<str>,
    stamp: FileStamp,
    /// What was found at `rel.br` and `rel.gz` (used or not); None when
    /// sidecars are not looked for.
    sidecars: Option<[Option<FileStamp>; 2]>,
    checked: Cell<Instant>,
    /// Its folders are watched; else it is checked by a stat per request.
    watched: Cell<bool>,
    /// This version's compressed forms, as far as they are known (br,
    /// zstd, gzip), and whether they are final (the best pass's).
    forms: RefCell<[Option<Weak<Form>>; 3]>,
    settled: Cell<bool>,
    /// Its type is worth compressing (and it has no coding of its own).
    pub compressible: bool,
    /// The content coding its bytes carry by their format (gzip for
    /// `.svgz`), sent with them; identity for nearly every file.
    pub coding: Coding,
}

impl CachedFile {
    /// The whole representation's bytes (read, unless held in memory);
    /// None if the file is no longer as long as this version.
    pub fn content(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        if let Some(bytes) = &self.bytes {
            return Some(std::borrow::Cow::Borrowed(bytes));
        }
        let mut buf = vec![0u8; self.len as usize];
        let n = read_full_at(&self.file, &mut buf).ok()?;
        (n == buf.len()).then_some(std::borrow::Cow::Owned(buf))
    }

    /// This version's identity for the compressed-forms store.
    pub fn version_id(&self) -> u64 {
        compress::source_id((&*self.rel, &*self.etag))
    }

    /// The ready compressed forms of this version, asking the store for
    /// them (and, the first time, to make them) until they are final. Once
    /// final they are held weakly: the store's budget alone keeps them, and
    /// one it dropped is asked for again.
    pub fn forms(&self, store: &Compressor) -> [Option<Arc<Form>>; 3] {
        if self.settled.get() {
            let weak = self.forms.borrow();
            let held = [0, 1, 2].map(|i| weak[i].as_ref().and_then(Weak::upgrade));
            drop(weak);
            if held.iter().all(Option::is_some) {
                return held;
            }
            self.settled.set(false);
        }
        let id = self.version_id();
        let forms = store.forms(id);
        let all_best = forms.iter().all(|f| f.as_ref().is_some_and(|f| f.best));
        if !all_best {
            store.ask(id, &self.etag, || {
                Some(match &self.bytes {
                    Some(b) => Source::Bytes(Arc::from(&b[..])),
                    None => {
                        let stamp = self.stamp;
                        Source::File {
                            ticket: store.ticket()?,
                            file: self.file.try_clone().ok()?,
                            len: self.len,
                            unchanged: Box::new(move |f: &File| {
                                f.metadata().is_ok_and(|m| FileStamp::of(&m) == stamp)
                            }),
                        }
                    }
                })
            });
        }
        self.settled.set(all_best);
        *self.forms.borrow_mut() = forms.clone().map(|f| f.as_ref().map(Arc::downgrade));
        forms
    }

    /// An unwatched entry's check: the path still names this version, its
    /// sidecars are as they were, and no index name preferred to its own
    /// has appeared beside it (for `index.htm`: `index.html`).
    fn unchanged_at(&self, root: &Root) -> bool {
        let now = |rel: &str| root.stat(rel).map(|st| FileStamp::of_stat(&st));
        let (dir, name) = self.rel.rsplit_once('/').unwrap_or(("", &self.rel));
        let preferred = super::INDEX_NAMES
            .iter()
            .position(|n| *n == name)
            .map_or(&[][..], |i| &super::INDEX_NAMES[..i]);
        now(&self.rel) == Some(self.stamp)
            && self.sidecars.is_none_or(|cars| {
                now(&format!("{}.br", self.rel)) == cars[0]
                    && now(&format!("{}.gz", self.rel)) == cars[1]
            })
            && preferred.iter().all(|n| {
                let rel = if dir.is_empty() {
                    (*n).to_owned()
                } else {
                    format!("{dir}/{n}")
                };
                root.stat(&rel).is_none()
            })
    }

    /// Descriptors held by this entry and its sidecars.
    fn fds(&self) -> usize {
        1 + usize::from(self.br.is_some()) + usize::from(self.gz.is_some())
    }

    /// Bytes held in memory by this entry and its sidecars.
    fn held(&self) -> usize {
        self.bytes.as_ref().map_or(0, |b| b.len())
            + self.br.as_ref().map_or(0, |f| f.held())
            + self.gz.as_ref().map_or(0, |f| f.held())
    }

    /// Whether a change at `path` touches this entry: the file, a folder on
    /// its way (or on the way of the name asked for), one of its sidecars
    /// (also one appearing), or for a folder's index, any index name
    /// beside it (`index.html` appearing wins over `index.htm`).
    fn touched_by(&self, key: &str, path: &str) -> bool {
        let under = |p: &str| {
            p == path
                || p.strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        let sidecar = path
            .strip_suffix(".br")
            .or_else(|| path.strip_suffix(".gz"))
            .is_some_and(|base| base == &*self.rel);
        let index = (key.is_empty() || key.ends_with('/'))
            && parent(path) == parent(&self.rel)
            && super::INDEX_NAMES
                .iter()
                .any(|name| path.rsplit('/').next() == Some(name));
        under(&self.rel) || under(key.trim_end_matches('/')) || sidecar || index
    }
}

/// A file's identity and version: a changed file, or one replaced by
/// rename, differs in at least one of these (the ctime also when it was
/// rewritten with the same size and its old mtime put back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileStamp {
    fn of(m: &Metadata) -> FileStamp {
        FileStamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }

    fn of_stat(st: &rustix::fs::Stat) -> FileStamp {
        FileStamp {
            dev: st.st_dev,
            ino: st.st_ino,
            len: st.st_size.max(0) as u64,
            mtime: (st.st_mtime, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime, st.st_ctime_nsec as i64),
        }
    }

    fn nanos(t: (i64, i64)) -> i128 {
        i128::from(t.0) * 1_000_000_000 + i128::from(t.1)
    }
}

/// Sidecars found older than their source, reported once each.
static STALE_SIDECARS: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn report_stale_sidecar(rel: &str) {
    let mut seen = STALE_SIDECARS.lock().unwrap_or_else(|p| p.into_inner());
    let seen = seen.get_or_insert_with(HashSet::new);
    if seen.len() < 10_000 && seen.insert(rel.to_owned()) {
        crate::log::note(format_args!(
            "{rel} is older than its source: not used (serving the source)"
        ));
    }
}

/// A cached file and the names (request keys) that lead to it.
struct Slot {
    file: Rc<CachedFile>,
    /// Each name, and whether it holds the watches of its folders (those
    /// of the file, and of the name when it is elsewhere).
    names: Vec<(Box<str>, bool)>,
}

impl Slot {
    /// Whether a response holds the file (beyond the cache's own
    /// references: the slot's and one per name).
    fn in_use(&self) -> bool {
        Rc::strong_count(&self.file) > 1 + self.names.len()
    }
}

/// One worker's cache.
pub struct FileCache {
    /// Each name asked for → the file it leads to (the same `Rc` as in
    /// `files`): one lookup per hit.
    names: HashMap<Box<str>, Rc<CachedFile>>,
    /// Each cached file by its path, with its names.
    files: HashMap<Box<str>, Slot>,
    /// Bytes held in memory by all entries.
    held: usize,
    budget: Arc<FdBudget>,
    /// The last squeeze this cache answered.
    squeezed: u64,
    watches: Watches,
    /// The live-reload script, to inject into HTML (`--watch`).
    inject: Option<Arc<[u8]>>,
    /// The compressed-forms store, told when a version is gone.
    compressor: Option<Arc<Compressor>>,
    changes: Vec<Change>,
}

impl FileCache {
    pub fn new(
        budget: Arc<FdBudget>,
        watches: Watches,
        inject: Option<Arc<[u8]>>,
        compressor: Option<Arc<Compressor>>,
    ) -> FileCache {
        FileCache {
            names: HashMap::new(),
            files: HashMap::new(),
            held: 0,
            squeezed: budget.squeeze.load(Ordering::Acquire),
            budget,
            watches,
            inject,
            compressor,
            changes: Vec::new(),
        }
    }

    /// The descriptor that becomes readable when a watched file changes.
    pub fn watch_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.watches.fd()
    }

    /// Reads the change notifications and evicts what they touch. The
    /// worker calls it before answering the requests of a wake-up.
    pub fn sync(&mut self) {
        self.watches.drain(&mut self.changes);
        if self.changes.is_empty() {
            return;
        }
        let changes = std::mem::take(&mut self.changes);
        let mut gone: Vec<Box<str>> = Vec::new();
        for change in &changes {
            match change {
                Change::Overflow => gone.extend(self.files.keys().cloned()),
                Change::Entry { path, .. } | Change::Dir(path) => gone.extend(
                    self.files
                        .iter()
                        .filter(|(_, s)| {
                            path.is_empty()
                                || s.names.iter().any(|(k, _)| s.file.touched_by(k, path))
                        })
                        .map(|(rel, _)| rel.clone()),
                ),
            }
        }
        for rel in gone {
            // The version is gone: so are its compressed forms.
            if let (Some(c), Some(s)) = (&self.compressor, self.files.get(&*rel)) {
                c.forget(s.file.version_id());
            }
            self.forget_file(&rel);
        }
        self.changes = changes;
        self.changes.clear();
    }

    /// The entry for `key`, if it may be served without resolving again.
    pub fn get(&self, root: &Root, key: &str, now: Instant) -> Option<Rc<CachedFile>> {
        let hit = self.names.get(key)?;
        let fresh = now.duration_since(hit.checked.get()) < REVALIDATE_AFTER
            && (hit.watched.get() || hit.unchanged_at(root));
        fresh.then(|| Rc::clone(hit))
    }

    /// Caches the file at `rel` (just opened) with its sidecars, reached by
    /// the name `key`, unless the file's cached entry is the same version:
    /// that is then trusted anew, and `key` becomes one more name for it
    /// (the descriptors just opened are closed). Over the descriptor budget
    /// the entry is returned but not kept.
    pub fn insert(
        &mut self,
        root: &Root,
        key: &str,
        file: File,
        meta: &Metadata,
        rel: &str,
        now: Instant,
    ) -> Rc<CachedFile> {
        let content_type: Box<str> = super::mime::content_type(rel).into();
        let inject = self
            .inject
            .clone()
            .filter(|_| content_type.starts_with("text/html") && meta.len() <= INJECT_MAX);
        // A file coded already (`.svgz`) has no sidecars: a coding on top
        // of its own would need two in Content-Encoding.
        let look = inject.is_none()
            && super::mime::content_coding(rel) == Coding::Identity
            && !(rel.ends_with(".br") || rel.ends_with(".gz"));
        let (br, br_known) = self.open_sidecar(look, root, rel, "br");
        let (gz, gz_known) = self.open_sidecar(look, root, rel, "gz");
        let sidecars = look.then(|| {
            let stamp_of = |f: &Option<(File, Metadata)>| f.as_ref().map(|(_, m)| FileStamp::of(m));
            [stamp_of(&br), stamp_of(&gz)]
        });
        // Out of descriptors, whether a sidecar exists is unknown: the file
        // is served as found, and not kept.
        let keep = br_known && gz_known;
        if keep
            && let Some(old) = self.files.get(rel)
            && old.file.stamp == FileStamp::of(meta)
            && old.file.sidecars == sidecars
        {
            // Unchanged: keep the cached bytes, trust it anew.
            let old = Rc::clone(&old.file);
            old.checked.set(now);
            self.add_name(root, key, rel);
            return old;
        }
        self.forget_file(rel);
        self.forget(key);
        let stamp = FileStamp::of(meta);
        let mut entry = self.load(
            file,
            meta,
            content_type.clone(),
            rel,
            now,
            inject.as_deref(),
        );
        entry.sidecars = sidecars;
        // A sidecar older than its source would send old content to the
        // clients that take it: not used.
        let fresh = |car: Option<(File, Metadata)>, ext: &str| {
            let (f, m) = car?;
            if !sidecar_is_fresh(FileStamp::of(&m).mtime, stamp.mtime) {
                report_stale_sidecar(&format!("{rel}.{ext}"));
                return None;
            }
            let path = format!("{rel}.{ext}");
            Some(Rc::new(self.load(
                f,
                &m,
                content_type.clone(),
                &path,
                now,
                None,
            )))
        };
        entry.br = fresh(br, "br");
        entry.gz = fresh(gz, "gz");
        let entry = Rc::new(entry);
        if !keep {
            return entry;
        }
        self.room_for_a_name();
        if !self.make_room(entry.fds()) {
            return entry; // served, then closed
        }
        // Watch before trusting: then check that nothing changed between
        // the open and the watch (a change after it is an event). A file
        // with other hard links can be written through a name in a folder
        // not watched: it is checked by a stat per request instead.
        let linked = std::os::unix::fs::MetadataExt::nlink(meta) > 1;
        let watched = !linked && self.hold_watches(root, key, rel);
        if watched && !entry.unchanged_at(root) {
            self.release_watches(key, rel);
            self.budget.give(entry.fds());
            return entry;
        }
        entry.watched.set(watched);
        self.held += entry.held();
        self.names.insert(key.into(), Rc::clone(&entry));
        self.files.insert(
            rel.into(),
            Slot {
                file: Rc::clone(&entry),
                names: vec![(key.into(), watched)],
            },
        );
        entry
    }

    /// `rel.ext`, if `look` and it is a regular file beneath the root; and
    /// whether that is known (an open out of descriptors is tried again
    /// after closing unused files, and may still fail).
    fn open_sidecar(
        &mut self,
        look: bool,
        root: &Root,
        rel: &str,
        ext: &str,
    ) -> (Option<(File, Metadata)>, bool) {
        if !look {
            return (None, true);
        }
        let path = format!("{rel}.{ext}");
        let mut opened = root.open_beneath(&path, OFlags::RDONLY);
        if matches!(opened, Err(Status::ServiceUnavailable)) && self.let_go(2) {
            opened = root.open_beneath(&path, OFlags::RDONLY);
        }
        match opened {
            Ok(fd) => {
                let file = File::from(fd);
                let car = file
                    .metadata()
                    .ok()
                    .filter(Metadata::is_file)
                    .map(|meta| (file, meta));
                (car, true)
            }
            Err(status) => (None, status != Status::ServiceUnavailable),
        }
    }

    /// Makes `key` one more name of the cached file at `rel` (unless it
    /// already is), watching its folder too; a name that cannot be watched
    /// leaves the file checked by a stat per request.
    fn add_name(&mut self, root: &Root, key: &str, rel: &str) {
        if self.names.get(key).is_some_and(|f| *f.rel == *rel) {
            return;
        }
        self.forget(key);
        self.room_for_a_name();
        let Some(slot) = self.files.get(rel) else {
            return; // the room was made by dropping this very file
        };
        let file = Rc::clone(&slot.file);
        // Unwatched already (a hard-linked file, or no watch to be had):
        // checked by a stat per request under every name.
        let watched = file.watched.get() && self.hold_watches(root, key, rel);
        if watched && !file.unchanged_at(root) {
            // Changed meanwhile: the next request resolves it again.
            self.release_watches(key, rel);
            return;
        }
        if !watched {
            file.watched.set(false);
        }
        self.names.insert(key.into(), Rc::clone(&file));
        if let Some(slot) = self.files.get_mut(rel) {
            slot.names.push((key.into(), watched));
        }
    }

    /// Keeps the names at most [`CACHE_ENTRIES`]: a full cache drops an
    /// arbitrary one for the newcomer.
    fn room_for_a_name(&mut self) {
        if self.names.len() >= CACHE_ENTRIES
            && let Some(victim) = self.names.keys().next().cloned()
        {
            self.forget(&victim);
        }
    }

    /// Watches the folder of the file and, when the request named it
    /// through a link, the folder of the name asked for.
    fn hold_watches(&mut self, root: &Root, key: &str, rel: &str) -> bool {
        let key_dir = key_dir(key);
        if !self.watches.hold(root, parent(rel)) {
            return false;
        }
        if key_dir != parent(rel) && !self.watches.hold(root, key_dir) {
            self.watches.release(parent(rel));
            return false;
        }
        true
    }

    fn release_watches(&mut self, key: &str, rel: &str) {
        self.watches.release(parent(rel));
        if key_dir(key) != parent(rel) {
            self.watches.release(key_dir(key));
        }
    }

    /// Takes `fds` descriptors from the budget, closing this cache's least
    /// recently checked unused entries while it is short.
    fn make_room(&mut self, fds: usize) -> bool {
        while !self.budget.take(fds) {
            if self.close_one_unused() == 0 {
                return false;
            }
        }
        true
    }

    /// Out of descriptors (an open failed with EMFILE): closes the least
    /// recently checked files no response is using until `fds` descriptors
    /// are free (or none is left); false when there was none to close. If
    /// this cache had too few, every cache is asked to let go of its unused
    /// files (as when accepting runs out).
    pub fn let_go(&mut self, fds: usize) -> bool {
        let mut freed = 0;
        while freed < fds {
            match self.close_one_unused() {
                0 => break,
                n => freed += n,
            }
        }
        if freed < fds {
            self.budget.squeeze();
        }
        freed > 0
    }

    /// Closes the least recently checked file no response is using; the
    /// descriptors that freed (0: every cached file is in use).
    fn close_one_unused(&mut self) -> usize {
        let victim = self
            .files
            .iter()
            .filter(|(_, s)| !s.in_use())
            .min_by_key(|(_, s)| s.file.checked.get())
            .map(|(rel, s)| (rel.clone(), s.file.fds()));
        match victim {
            Some((rel, fds)) => {
                self.forget_file(&rel);
                fds
            }
            None => 0,
        }
    }

    /// Builds an entry, reading a small file's bytes while the memory
    /// budget allows (and an HTML file's, to inject `inject` into it).
    fn load(
        &self,
        file: File,
        meta: &Metadata,
        content_type: Box<str>,
        rel: &str,
        now: Instant,
        inject: Option<&[u8]>,
    ) -> CachedFile {
        let stamp = FileStamp::of(meta);
        let mut len = meta.len();
        let mut bytes = None;
        let in_memory =
            inject.is_some() || (len <= SMALL_FILE && self.held + len as usize <= CACHE_BYTES);
        if in_memory {
            let mut buf = vec![0u8; len as usize];
            // A file that shrank under us is served by sendfile instead.
            if matches!(read_full_at(&file, &mut buf), Ok(n) if n == buf.len()) {
                bytes = Some(buf);
            }
        }
        let mut variant = "";
        if let (Some(script), Some(page)) = (inject, bytes.as_mut()) {
            inject_before_body_end(page, script);
            len = page.len() as u64;
            variant = "lr";
        }
        // Last-Modified is never later than Date (RFC 9110 §8.8.2.1).
        let now_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let lm_secs = stamp.mtime.0.min(now_secs);
        let etag = crate::http::etag::for_file(
            stamp.ino,
            meta.len(),
            FileStamp::nanos(stamp.mtime),
            FileStamp::nanos(stamp.ctime),
            variant,
        );
        // A sidecar (`x.js.br`) is loaded under its own name: no coding of
        // its own by that name; the router says which coding it is.
        let coding = super::mime::content_coding(rel);
        CachedFile {
            file,
            len,
            compressible: coding == Coding::Identity && compress::compressible(&content_type),
            coding,
            content_type,
            bytes: bytes.map(Vec::into_boxed_slice),
            etag: etag.into(),
            last_modified: crate::http::date::format(lm_secs).into(),
            last_modified_secs: lm_secs,
            br: None,
            gz: None,
            rel: rel.into(),
            stamp,
            sidecars: None,
            checked: Cell::new(now),
            watched: Cell::new(false),
            forms: RefCell::new([None, None, None]),
            settled: Cell::new(false),
        }
    }

    /// Nothing cached (an idle worker may then sleep without a timeout).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Closes cached files not asked for lately, so a deleted file's space
    /// is freed and idle entries don't hold descriptors; after a squeeze,
    /// every file no response is using.
    pub fn evict_idle(&mut self, now: Instant) {
        let squeeze = self.budget.squeeze.load(Ordering::Acquire);
        let all = squeeze != self.squeezed;
        self.squeezed = squeeze;
        let gone: Vec<Box<str>> = self
            .files
            .iter()
            .filter(|(_, s)| {
                (all && !s.in_use())
                    || now.saturating_duration_since(s.file.checked.get()) >= IDLE_EVICT
            })
            .map(|(rel, _)| rel.clone())
            .collect();
        for rel in gone {
            self.forget_file(&rel);
        }
    }

    /// Whether a squeeze is waiting to be answered.
    pub fn squeeze_pending(&self) -> bool {
        self.budget.squeeze.load(Ordering::Acquire) != self.squeezed
    }

    /// Drops the name `key`, if cached, and its file with its last name.
    pub fn forget(&mut self, key: &str) {
        let Some(file) = self.names.remove(key) else {
            return;
        };
        let Some(slot) = self.files.get_mut(&*file.rel) else {
            return;
        };
        let watched = match slot.names.iter().position(|(k, _)| **k == *key) {
            Some(i) => slot.names.swap_remove(i).1,
            None => false,
        };
        let last = slot.names.is_empty();
        if watched {
            self.release_watches(key, &file.rel);
        }
        if last {
            self.forget_file(&file.rel);
        }
    }

    /// Drops the cached file at `rel`, if any, with all its names.
    fn forget_file(&mut self, rel: &str) {
        let Some(slot) = self.files.remove(rel) else {
            return;
        };
        for (key, watched) in &slot.names {
            self.names.remove(key);
            if *watched {
                self.release_watches(key, rel);
            }
        }
        self.held -= slot.file.held();
        self.budget.give(slot.file.fds());
    }

    /// Directories this cache watches.
    pub fn watched_dirs(&self) -> usize {
        self.watches.len()
    }
}

impl Drop for FileCache {
    fn drop(&mut self) {
        let fds: usize = self.files.values().map(|s| s.file.fds()).sum();
        self.budget.give(fds);
    }
}

/// The folder of the name a request asked for: `a/b.js` → `a`, `dir/` →
/// `dir`.
fn key_dir(key: &str) -> &str {
    match key.strip_suffix('/') {
        Some(dir) => dir,
        None => parent(key),
    }
}

/// Whether a sidecar modified at `car` (seconds, nanoseconds) is not
/// older than its source, modified at `source`. A time in whole seconds
/// in the source's second is the source's time copied by a tool that keeps
/// seconds only (`brotli -k` does): fresh too.
fn sidecar_is_fresh(car: (i64, i64), source: (i64, i64)) -> bool {
    car >= source || (car.1 == 0 && car.0 == source.0)
}

/// Puts `script` just before the page's last `</body>` tag (any case), or
/// at the end when there is none. A `</body>` inside a comment or inside
/// the text of a `<script>`, `<style>` or another element whose content is
/// not markup is not a tag, and is passed over.
pub fn inject_before_body_end(page: &mut Vec<u8>, script: &[u8]) {
    let at = body_end_tag(page).unwrap_or(page.len());
    page.splice(at..at, script.iter().copied());
}

/// Elements whose content is text up to their own end tag (HTML's raw
/// text and escapable raw text elements, and noscript as a browser with
/// scripting parses it).
const TEXT_ELEMENTS: [&[u8]; 9] = [
    b"script",
    b"style",
    b"textarea",
    b"title",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
    b"noscript",
];

/// Where the last `</body>` tag of `page` begins, as an HTML tokenizer
/// sees the page: comments, `<!…>`/`<?…>` and the text of
/// [`TEXT_ELEMENTS`] skipped.
fn body_end_tag(page: &[u8]) -> Option<usize> {
    let find = |from: usize, what: &[u8]| {
        page.get(from..)?
            .windows(what.len())
            .position(|w| w.eq_ignore_ascii_case(what))
            .map(|p| from + p)
    };
    let mut last = None;
    let mut i = 0;
    while let Some(p) = page
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| b == b'<'))
    {
        i += p;
        let rest = &page[i..];
        // What ends the page unclosed (a comment, a script) holds no tag.
        if rest.starts_with(b"<!--") {
            let Some(end) = find(i + 4, b"-->") else {
                break;
            };
            i = end + 3;
        } else if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            let Some(end) = find(i + 2, b">") else { break };
            i = end + 1;
        } else if rest.len() > 1 && rest[1] == b'/' {
            if names(&rest[2..], b"body") {
                last = Some(i);
            }
            i += 2;
        } else if rest.get(1).is_some_and(u8::is_ascii_alphabetic) {
            // A start tag: past its end (a quoted value may hold `>` or
            // `</body>`), then, for a text element, to its end tag.
            let Some(open_end) = start_tag_end(page, i + 1) else {
                break;
            };
            let Some(name) = TEXT_ELEMENTS.iter().find(|n| names(&rest[1..], n)) else {
                i = open_end + 1;
                continue;
            };
            let mut at = open_end + 1;
            let close = loop {
                let Some(end) = find(at, b"</") else {
                    break None;
                };
                if names(&page[end + 2..], name) {
                    break Some(end);
                }
                at = end + 2;
            };
            let Some(close) = close else { break };
            i = close;
        } else {
            i += 1;
        }
    }
    last
}

/// Where the start tag whose name begins at `from` ends (its `>`),
/// passing over attribute values in quotes.
fn start_tag_end(page: &[u8], from: usize) -> Option<usize> {
    let mut quote = None;
    let mut after_equals = false;
    for (j, &b) in page.iter().enumerate().skip(from) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if after_equals && (b == b'"' || b == b'\'') => quote = Some(b),
            None if b == b'>' => return Some(j),
            None => {}
        }
        if !b.is_ascii_whitespace() {
            after_equals = b == b'=' && quote.is_none();
        }
    }
    None
}

/// Whether `s` begins with the tag name `name` (any case), ended as a tag
/// name ends: whitespace, `/`, `>`, or the end of the page.
fn names(s: &[u8], name: &[u8]) -> bool {
    s.len() >= name.len()
        && s[..name.len()].eq_ignore_ascii_case(name)
        && s.get(name.len())
            .is_none_or(|b| matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>'))
}

/// The cache key of a request path that is already clean (no escapes,
/// empty, dot or dotfile segments): the path without its leading slash,
/// borrowed. Other paths are cleaned first ([`key_of`]) and land on the
/// same key.
pub fn clean_key(raw: &str, hidden: bool) -> Option<&str> {
    let rest = raw.strip_prefix('/')?;
    if rest.bytes().any(|b| b == b'%' || b == b'\\' || b == 0) {
        return None;
    }
    let mut segments = rest.split('/').peekable();
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        let bad = (seg.is_empty() && !last)
            || seg == "."
            || seg == ".."
            || (seg.starts_with('.') && !hidden);
        if bad {
            return None;
        }
    }
    Some(rest)
}

/// The cache key of a cleaned path: its relative path, with a slash after
/// a folder named with one.
pub fn key_of(clean: &super::CleanPath) -> String {
    if clean.trailing_slash && !clean.rel.is_empty() {
        format!("{}/", clean.rel)
    } else {
        clean.rel.clone()
    }
}

#[cfg(test)]
pub(crate) fn unwatched() -> Watches {
    Watches::new(super::watch::WatchBudget::new(0), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_cache_stays_within_its_entry_and_byte_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let n = CACHE_ENTRIES + 50;
        for i in 0..n {
            std::fs::write(dir.path().join(format!("f{i}.txt")), vec![b'x'; 16 * 1024]).unwrap();
        }
        let root = Root::open(dir.path(), false).unwrap();
        let mut cache = FileCache::new(FdBudget::new(usize::MAX / 2), unwatched(), None, None);
        let now = Instant::now();
        for i in 0..n {
            let rel = format!("f{i}.txt");
            let file = File::from(root.open_beneath(&rel, OFlags::RDONLY).unwrap());
            let meta = file.metadata().unwrap();
            cache.insert(&root, &format!("/{rel}"), file, &meta, &rel, now);
            assert!(cache.names.len() <= CACHE_ENTRIES);
            assert!(cache.files.len() <= CACHE_ENTRIES);
            assert!(cache.held <= CACHE_BYTES);
        }
        assert_eq!(cache.files.len(), CACHE_ENTRIES);
        let held: usize = cache.files.values().map(|s| s.file.held()).sum();
        assert_eq!(held, cache.held, "byte accounting matches the entries");
        // Entries nobody asked for lately are closed.
        cache.evict_idle(now + IDLE_EVICT + Duration::from_millis(1));
        assert!(cache.is_empty());
        assert_eq!(cache.held, 0);
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use crate::fs::clean_path;

    #[test]
    fn aliases_of_one_path_share_one_key() {
        let key = |raw: &str| match clean_key(raw, false) {
            Some(k) => k.to_owned(),
            None => key_of(&clean_path(raw, false).unwrap()),
        };
        for alias in [
            "/app.js",
            "//app.js",
            "/./app.js",
            "/%61pp.js",
            "/x/../app.js",
        ] {
            if alias.contains("..") {
                continue; // refused before the cache (403)
            }
            assert_eq!(key(alias), "app.js", "{alias}");
        }
        assert_eq!(key("/dir/"), "dir/");
        assert_eq!(key("//dir//"), "dir/");
        assert_eq!(key("/dir"), "dir");
        assert_eq!(key("/"), "");
        assert_eq!(clean_key("/.env", false), None);
        assert_eq!(clean_key("/a//b", false), None);
        assert_eq!(clean_key("/a/./b", false), None);
    }

    #[test]
    fn the_descriptor_budget_closes_unused_entries_then_stops_caching() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..6 {
            std::fs::write(dir.path().join(format!("f{i}")), b"x").unwrap();
        }
        let root = Root::open(dir.path(), false).unwrap();
        let budget = FdBudget::new(4);
        let mut cache = FileCache::new(Arc::clone(&budget), unwatched(), None, None);
        let now = Instant::now();
        let open = |cache: &mut FileCache, i: usize| {
            let rel = format!("f{i}");
            let file = File::from(root.open_beneath(&rel, OFlags::RDONLY).unwrap());
            let meta = file.metadata().unwrap();
            cache.insert(&root, &rel, file, &meta, &rel, now)
        };
        let held: Vec<_> = (0..4).map(|i| open(&mut cache, i)).collect();
        assert_eq!(budget.held(), 4);
        // All four are in use by "responses": the fifth is not cached.
        let extra = open(&mut cache, 4);
        assert_eq!(Rc::strong_count(&extra), 1, "served uncached");
        assert_eq!(budget.held(), 4);
        drop(held);
        // Now unused entries make room.
        open(&mut cache, 5);
        assert_eq!(budget.held(), 4);
        assert_eq!(cache.files.len(), 4);
        budget.squeeze();
        cache.evict_idle(now);
        assert_eq!(budget.held(), 0);
        assert!(cache.is_empty());
    }

    #[test]
    fn out_of_descriptors_the_cache_lets_go_of_unused_files_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..4 {
            std::fs::write(dir.path().join(format!("f{i}")), b"x").unwrap();
        }
        let root = Root::open(dir.path(), false).unwrap();
        let budget = FdBudget::new(100);
        let mut cache = FileCache::new(Arc::clone(&budget), unwatched(), None, None);
        let t0 = Instant::now();
        let held: Vec<_> = (0..4)
            .map(|i| {
                let rel = format!("f{i}");
                let file = File::from(root.open_beneath(&rel, OFlags::RDONLY).unwrap());
                let meta = file.metadata().unwrap();
                let at = t0 + Duration::from_millis(i as u64);
                cache.insert(&root, &rel, file, &meta, &rel, at)
            })
            .collect();
        // Every file in use by a response: nothing to let go of.
        assert!(!cache.let_go(2));
        assert_eq!(budget.held(), 4);
        drop(held);
        let squeezes = budget.squeeze.load(Ordering::Acquire);
        assert!(cache.let_go(2));
        assert_eq!(budget.held(), 2);
        assert!(cache.get(&root, "f0", t0).is_none() && cache.get(&root, "f1", t0).is_none());
        assert!(cache.get(&root, "f3", t0).is_some(), "the newest stays");
        assert_eq!(
            budget.squeeze.load(Ordering::Acquire),
            squeezes,
            "enough here"
        );
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn names_of_one_file_share_its_entry_and_descriptors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/index.html"), b"<p>i</p>").unwrap();
        std::fs::write(dir.path().join("d/index.html.gz"), b"gz").unwrap();
        let root = Root::open(dir.path(), false).unwrap();
        let budget = FdBudget::new(100);
        let mut cache = FileCache::new(Arc::clone(&budget), unwatched(), None, None);
        let now = Instant::now();
        let rel = "d/index.html";
        let insert = |cache: &mut FileCache, key: &str| {
            let file = File::from(root.open_beneath(rel, OFlags::RDONLY).unwrap());
            let meta = file.metadata().unwrap();
            cache.insert(&root, key, file, &meta, rel, now)
        };
        let a = insert(&mut cache, "d/");
        let b = insert(&mut cache, "d/index.html");
        assert!(Rc::ptr_eq(&a, &b), "one entry");
        assert_eq!(budget.held(), 2, "the file and its sidecar, once");
        assert_eq!((cache.names.len(), cache.files.len()), (2, 1));
        assert!(cache.get(&root, "d/", now).is_some());
        assert!(cache.get(&root, "d/index.html", now).is_some());
        // In use by a response: not closed by a squeeze.
        budget.squeeze();
        cache.evict_idle(now);
        assert_eq!(cache.files.len(), 1);
        drop((a, b));
        // One name goes, the file stays for the other.
        cache.forget("d/");
        assert!(cache.get(&root, "d/", now).is_none());
        assert!(cache.get(&root, "d/index.html", now).is_some());
        assert_eq!(budget.held(), 2);
        cache.forget("d/index.html");
        assert!(cache.is_empty());
        assert_eq!(budget.held(), 0);
        // Unused, it is closed by a squeeze with all its names.
        insert(&mut cache, "d/");
        insert(&mut cache, "d/index.html");
        budget.squeeze();
        cache.evict_idle(now);
        assert!(cache.is_empty() && cache.names.is_empty());
        assert_eq!(budget.held(), 0);
    }
}

#[cfg(test)]
mod coherence_tests {
    use super::*;
    use crate::fs::watch::WatchBudget;

    fn open(root: &Root, rel: &str) -> (File, Metadata) {
        let file = File::from(root.open_beneath(rel, OFlags::RDONLY).unwrap());
        let meta = file.metadata().unwrap();
        (file, meta)
    }

    #[test]
    fn a_watched_entry_is_evicted_by_a_change_and_an_unwatched_one_by_its_stat() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/f.txt"), b"one").unwrap();
        let root = Root::open(dir.path(), false).unwrap();
        let now = Instant::now();
        for watched in [true, false] {
            let budget = WatchBudget::new(if watched { 10 } else { 0 });
            let mut cache = FileCache::new(
                FdBudget::new(100),
                Watches::new(Arc::clone(&budget), watched),
                None,
                None,
            );
            let (f, m) = open(&root, "d/f.txt");
            let e = cache.insert(&root, "d/f.txt", f, &m, "d/f.txt", now);
            assert_eq!(e.watched.get(), watched);
            assert_eq!(budget.held(), if watched { 2 } else { 0 });
            assert!(cache.get(&root, "d/f.txt", now).is_some());
            // Same size, mtime put back: only the ctime moves.
            let mtime = std::fs::metadata(dir.path().join("d/f.txt"))
                .unwrap()
                .modified()
                .unwrap();
            std::fs::write(dir.path().join("d/f.txt"), b"two").unwrap();
            std::fs::File::options()
                .write(true)
                .open(dir.path().join("d/f.txt"))
                .unwrap()
                .set_modified(mtime)
                .unwrap();
            cache.sync();
            assert!(
                cache.get(&root, "d/f.txt", now).is_none(),
                "watched {watched}: stale"
            );
            cache.forget("d/f.txt");
            assert_eq!(budget.held(), 0, "watches given back");
        }
    }

    #[test]
    fn a_sidecar_is_fresh_unless_older_than_its_source() {
        assert!(sidecar_is_fresh((10, 5), (10, 5)));
        assert!(sidecar_is_fresh((11, 0), (10, 999)));
        assert!(!sidecar_is_fresh((10, 4), (10, 5)));
        assert!(!sidecar_is_fresh((9, 0), (10, 5)));
        // The source's time kept to the second (`brotli -k`).
        assert!(sidecar_is_fresh((10, 0), (10, 123_456_789)));
    }

    #[test]
    fn html_gets_the_script_before_the_last_body_end_tag() {
        let cases: [(&[u8], &[u8]); 14] = [
            (
                b"<html><BODY>x</body></html>",
                b"<html><BODY>x<s></body></html>",
            ),
            (b"a</body>b</BODY >c", b"a</body>b<s></BODY >c"),
            (b"plain", b"plain<s>"),
            // Not tags: in a comment, in a script's text, in a title.
            (
                b"<body>x</body><!-- </body> -->",
                b"<body>x<s></body><!-- </body> -->",
            ),
            (
                b"<script>let s = '</body>';</script>",
                b"<script>let s = '</body>';</script><s>",
            ),
            (
                b"<SCRIPT type=module>'</body>'</script ><p>",
                b"<SCRIPT type=module>'</body>'</script ><p><s>",
            ),
            (b"<title></body></title>x", b"<title></body></title>x<s>"),
            (b"<!doctype html></body>", b"<!doctype html><s></body>"),
            // A longer name is another element.
            (b"<scripts></body>", b"<scripts><s></body>"),
            // In a quoted attribute value: not a tag.
            (
                b"<div title=\"</body>\">x</div>",
                b"<div title=\"</body>\">x</div><s>",
            ),
            (b"<p a = '>'></body>", b"<p a = '>'><s></body>"),
            // Unclosed at the end: the end, unless a real tag came before.
            (b"<body><!-- </body>", b"<body><!-- </body><s>"),
            (b"x</body><!-- y", b"x<s></body><!-- y"),
            (b"x</body><script>y", b"x<s></body><script>y"),
        ];
        for (page, want) in cases {
            let mut got = page.to_vec();
            inject_before_body_end(&mut got, b"<s>");
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(want),
                "{}",
                String::from_utf8_lossy(page)
            );
        }
    }
}
