//! The per-worker open-file cache: `key → open file, metadata, content type,
//! validators, sidecars, and the bytes of small files`, so a keep-alive hit
//! costs no open, stat or close.
//!
//! Policy:
//! - an entry is trusted for [`REVALIDATE_AFTER`]; after that the next
//!   request resolves the path again, and an unchanged file keeps its entry
//!   (and its bytes);
//! - files of at most [`SMALL_FILE`] bytes are held in memory while the
//!   worker's [`CACHE_BYTES`] allow; larger ones are sent from their
//!   descriptor and checked with one `fstat` per response, so a file
//!   rewritten in place is never announced with its old length or tag;
//! - entries are keyed by the resolved path (`/a.js`, `//a.js`, `/./a.js`
//!   and `/%61.js` share one), so aliases cannot multiply descriptors;
//! - at most [`CACHE_ENTRIES`] entries; a full cache drops an arbitrary one
//!   (hash order) for the newcomer;
//! - the descriptors all workers' caches hold together are capped by one
//!   [`FdBudget`] (`--cache-fds`), well below the process's limit so
//!   connections always have room: over it, the least recently checked
//!   entries no response is using are closed, and if that is not enough
//!   the file is served without being cached. When accepting runs out of
//!   descriptors, every cache closes what no response is using;
//! - an entry unused for [`IDLE_EVICT`] is closed by the worker's sweep, so
//!   deleted files free their space and idle entries hold no descriptor.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::fs::OFlags;

use super::Root;

/// How long a cached file is trusted before it is resolved again.
pub const REVALIDATE_AFTER: Duration = Duration::from_secs(1);
/// A cached file not revalidated (so not requested) for this long is closed.
pub const IDLE_EVICT: Duration = Duration::from_secs(2);
/// Files up to this size are kept in memory and sent with one write.
pub const SMALL_FILE: u64 = 32 * 1024;
/// Most entries per worker.
pub const CACHE_ENTRIES: usize = 1024;
/// Most bytes of small files held in memory per worker.
pub const CACHE_BYTES: usize = 8 << 20;

/// An open regular file, as cached, with its validators and its
/// precompressed sidecars.
pub struct CachedFile {
    pub file: File,
    pub len: u64,
    /// The original's type, also for a sidecar.
    pub content_type: Box<str>,
    /// The whole content, for small files.
    pub bytes: Option<Box<[u8]>>,
    /// Strong entity tag from metadata, quotes included.
    pub etag: Box<str>,
    /// `Last-Modified` value: the mtime, but never later than now.
    pub last_modified: Box<str>,
    pub last_modified_secs: i64,
    /// `name.br` / `name.gz` next to the file, if any.
    pub br: Option<Rc<CachedFile>>,
    pub gz: Option<Rc<CachedFile>>,
    stamp: FileStamp,
    checked: Cell<Instant>,
}

impl CachedFile {
    /// For a file sent from disk (not from memory): one fstat, so a file
    /// rewritten or truncated in place is never announced with the old
    /// length or ETag. A file held in memory is a consistent snapshot and
    /// needs no check within the revalidation second.
    fn unchanged_on_disk(&self) -> bool {
        self.file
            .metadata()
            .is_ok_and(|m| m.nlink() > 0 && FileStamp::of(&m) == self.stamp)
            && self
                .br
                .as_ref()
                .is_none_or(|f| f.bytes.is_some() || f.unchanged_on_disk())
            && self
                .gz
                .as_ref()
                .is_none_or(|f| f.bytes.is_some() || f.unchanged_on_disk())
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
}

/// A file's identity and version: a changed file, or one replaced by
/// rename, differs in at least one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl FileStamp {
    fn of(m: &Metadata) -> FileStamp {
        FileStamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
        }
    }
}

/// The descriptors all workers' caches may hold together.
pub struct FdBudget {
    max: usize,
    held: AtomicUsize,
    /// Bumped when accepting runs out of descriptors: each cache then
    /// closes what no response is using.
    squeeze: AtomicU64,
}

impl FdBudget {
    pub fn new(max: usize) -> Arc<FdBudget> {
        Arc::new(FdBudget {
            max,
            held: AtomicUsize::new(0),
            squeeze: AtomicU64::new(0),
        })
    }

    /// A budget of a quarter of the process's open-file limit, at most
    /// 4096: most descriptors stay for connections.
    pub fn default_size() -> usize {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        (limit / 4).clamp(8, 4096) as usize
    }

    fn take(&self, n: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                (h + n <= self.max).then_some(h + n)
            })
            .is_ok()
    }

    fn give(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::AcqRel);
    }

    /// Descriptors held by all caches.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// Accepting failed for want of descriptors: every cache lets go of
    /// what no response is using (at its worker's next wake-up).
    pub fn squeeze(&self) {
        self.squeeze.fetch_add(1, Ordering::AcqRel);
    }
}

/// One worker's cache.
pub struct FileCache {
    entries: HashMap<Box<str>, Rc<CachedFile>>,
    /// Bytes held in memory by all entries.
    held: usize,
    budget: Arc<FdBudget>,
    /// The last squeeze this cache answered.
    squeezed: u64,
}

impl FileCache {
    pub fn new(budget: Arc<FdBudget>) -> FileCache {
        FileCache {
            entries: HashMap::new(),
            held: 0,
            squeezed: budget.squeeze.load(Ordering::Acquire),
            budget,
        }
    }

    /// The entry for `key`, if it may be served without resolving again.
    pub fn get(&self, key: &str, now: Instant) -> Option<Rc<CachedFile>> {
        let hit = self.entries.get(key)?;
        (now.duration_since(hit.checked.get()) < REVALIDATE_AFTER
            && (hit.bytes.is_some() || hit.unchanged_on_disk()))
        .then(|| Rc::clone(hit))
    }

    /// Caches the file at `rel` (just opened) with its sidecars under
    /// `key`, unless the cached entry is the same version, which is then
    /// trusted anew. Over the descriptor budget the entry is returned but
    /// not kept.
    pub fn insert(
        &mut self,
        root: &Root,
        key: &str,
        file: File,
        meta: &Metadata,
        rel: &str,
        now: Instant,
    ) -> Rc<CachedFile> {
        let sidecars = !(rel.ends_with(".br") || rel.ends_with(".gz"));
        let br = sidecars.then(|| open_sidecar(root, rel, "br")).flatten();
        let gz = sidecars.then(|| open_sidecar(root, rel, "gz")).flatten();
        let stamp_of = |f: &Option<(File, Metadata)>| f.as_ref().map(|(_, m)| FileStamp::of(m));
        if let Some(old) = self.entries.get(key)
            && old.stamp == FileStamp::of(meta)
            && old.br.as_ref().map(|f| f.stamp) == stamp_of(&br)
            && old.gz.as_ref().map(|f| f.stamp) == stamp_of(&gz)
        {
            // Unchanged: keep the cached bytes, trust it for another second.
            old.checked.set(now);
            return Rc::clone(old);
        }
        self.forget(key);
        let content_type: Box<str> = super::mime::content_type(rel).into();
        let mut entry = self.load(file, meta, content_type.clone(), now);
        entry.br = br.map(|(f, m)| Rc::new(self.load(f, &m, content_type.clone(), now)));
        entry.gz = gz.map(|(f, m)| Rc::new(self.load(f, &m, content_type, now)));
        let entry = Rc::new(entry);
        if self.entries.len() >= CACHE_ENTRIES
            && let Some(victim) = self.entries.keys().next().cloned()
        {
            self.forget(&victim);
        }
        if !self.make_room(entry.fds()) {
            return entry; // served, then closed
        }
        self.held += entry.held();
        self.entries.insert(key.into(), Rc::clone(&entry));
        entry
    }

    /// Takes `fds` descriptors from the budget, closing this cache's least
    /// recently checked unused entries while it is short.
    fn make_room(&mut self, fds: usize) -> bool {
        while !self.budget.take(fds) {
            let victim = self
                .entries
                .iter()
                .filter(|(_, e)| Rc::strong_count(e) == 1)
                .min_by_key(|(_, e)| e.checked.get())
                .map(|(k, _)| k.clone());
            match victim {
                Some(k) => self.forget(&k),
                None => return false,
            }
        }
        true
    }

    /// Builds an entry, reading a small file's bytes while the memory
    /// budget allows.
    fn load(
        &self,
        file: File,
        meta: &Metadata,
        content_type: Box<str>,
        now: Instant,
    ) -> CachedFile {
        let stamp = FileStamp::of(meta);
        let len = meta.len();
        let mut bytes = None;
        if len <= SMALL_FILE && self.held + len as usize <= CACHE_BYTES {
            let mut buf = vec![0u8; len as usize];
            // A file that shrank under us is served by sendfile instead.
            if matches!(read_full_at(&file, &mut buf), Ok(n) if n == buf.len()) {
                bytes = Some(buf.into_boxed_slice());
            }
        }
        let mtime_ns = i128::from(stamp.mtime) * 1_000_000_000 + i128::from(stamp.mtime_nsec);
        // Last-Modified is never later than Date (RFC 9110 §8.8.2.1).
        let now_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let lm_secs = stamp.mtime.min(now_secs);
        CachedFile {
            file,
            len,
            content_type,
            bytes,
            etag: crate::http::etag::for_file(stamp.ino, len, mtime_ns).into(),
            last_modified: crate::http::date::format(lm_secs).into(),
            last_modified_secs: lm_secs,
            br: None,
            gz: None,
            stamp,
            checked: Cell::new(now),
        }
    }

    /// Nothing cached (an idle worker may then sleep without a timeout).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Closes cached files not asked for lately, so a deleted file's space
    /// is freed and idle entries don't hold descriptors; after a squeeze,
    /// every file no response is using.
    pub fn evict_idle(&mut self, now: Instant) {
        let squeeze = self.budget.squeeze.load(Ordering::Acquire);
        let all = squeeze != self.squeezed;
        self.squeezed = squeeze;
        let gone: Vec<Box<str>> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                (all && Rc::strong_count(e) == 1)
                    || now.saturating_duration_since(e.checked.get()) >= IDLE_EVICT
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            self.forget(&key);
        }
    }

    /// Whether a squeeze is waiting to be answered.
    pub fn squeeze_pending(&self) -> bool {
        self.budget.squeeze.load(Ordering::Acquire) != self.squeezed
    }

    /// Drops the entry for `key`, if any.
    pub fn forget(&mut self, key: &str) {
        if let Some(old) = self.entries.remove(key) {
            self.held -= old.held();
            self.budget.give(old.fds());
        }
    }
}

impl Drop for FileCache {
    fn drop(&mut self) {
        let fds: usize = self.entries.values().map(|e| e.fds()).sum();
        self.budget.give(fds);
    }
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

/// `rel.ext` if it is a regular file beneath the root.
fn open_sidecar(root: &Root, rel: &str, ext: &str) -> Option<(File, Metadata)> {
    let fd = root
        .open_beneath(&format!("{rel}.{ext}"), OFlags::RDONLY)
        .ok()?;
    let file = File::from(fd);
    let meta = file.metadata().ok()?;
    meta.is_file().then_some((file, meta))
}

fn read_full_at(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
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
        let mut cache = FileCache::new(FdBudget::new(usize::MAX / 2));
        let now = Instant::now();
        for i in 0..n {
            let rel = format!("f{i}.txt");
            let file = File::from(root.open_beneath(&rel, OFlags::RDONLY).unwrap());
            let meta = file.metadata().unwrap();
            cache.insert(&root, &format!("/{rel}"), file, &meta, &rel, now);
            assert!(cache.entries.len() <= CACHE_ENTRIES);
            assert!(cache.held <= CACHE_BYTES);
        }
        assert_eq!(cache.entries.len(), CACHE_ENTRIES);
        let held: usize = cache.entries.values().map(|e| e.held()).sum();
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
        let mut cache = FileCache::new(Arc::clone(&budget));
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
        assert_eq!(cache.entries.len(), 4);
        budget.squeeze();
        cache.evict_idle(now);
        assert_eq!(budget.held(), 0);
        assert!(cache.is_empty());
    }
}
