//! Listings cached per folder version, shared by all workers: repeated
//! listings of an unchanged folder cost a lookup. The folder's entries are
//! kept once per version, and each rendering (HTML or JSON, sort, order,
//! page) beside them. A folder's version is its identity and its modification
//! and change times: adding, removing or renaming an entry makes a new one.
//! A change inside an entry (a file growing) leaves the folder's times as
//! they are, so every cached folder is watched too, and each lookup first
//! reads the notifications and drops what they touch: a listing is never
//! stale. A folder that cannot be watched is not cached. Least recently
//! used versions go when the cache is over its budget (`--listing-cache`).
//!
//! The cache also knows which listings are being made, and who waits for
//! each, so a burst of requests for one big folder starts one read.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Folder, View};
use crate::fs::Root;
use crate::fs::watch::{Change, Watches};
use crate::site::jobs::Waiter;

/// A folder's identity and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FolderStamp {
    dev: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FolderStamp {
    pub fn of(m: &Metadata) -> FolderStamp {
        FolderStamp {
            dev: m.dev(),
            ino: m.ino(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// A rendered listing: the body, whether it is JSON, and its serial (unique
/// per rendering kept; 0 when it was not kept).
pub type Rendered = (Arc<[u8]>, bool, u64);

struct Slot {
    rel: String,
    folder: Arc<Folder>,
    bodies: Vec<(View, Arc<[u8]>, u64)>,
    weight: usize,
    used: u64,
}

struct Inner {
    slots: HashMap<FolderStamp, Slot>,
    held: usize,
    clock: u64,
    /// The last serial given to a rendering.
    serial: u64,
    waiting: HashMap<(FolderStamp, View), Vec<Waiter>>,
    watches: Watches,
    /// Folders being read, and whether a change touched them meanwhile
    /// (then what was read is not kept).
    reading: HashMap<String, bool>,
    changes: Vec<Change>,
}

impl Inner {
    /// Reads the notifications and drops every version they touch.
    fn sync(&mut self) {
        self.watches.drain(&mut self.changes);
        if self.changes.is_empty() {
            return;
        }
        let changes = std::mem::take(&mut self.changes);
        for c in &changes {
            let touched = |rel: &str| match c {
                Change::Overflow => true,
                Change::Entry { dir, .. } => rel == dir,
                Change::Dir(d) => {
                    d.is_empty()
                        || rel == d
                        || rel
                            .strip_prefix(d.as_str())
                            .is_some_and(|r| r.starts_with('/'))
                }
            };
            let gone: Vec<FolderStamp> = self
                .slots
                .iter()
                .filter(|(_, s)| touched(&s.rel))
                .map(|(k, _)| *k)
                .collect();
            for k in gone {
                self.remove(k);
            }
            for (rel, dirty) in self.reading.iter_mut() {
                *dirty |= touched(rel);
            }
        }
        self.changes = changes;
        self.changes.clear();
    }

    fn remove(&mut self, k: FolderStamp) {
        if let Some(gone) = self.slots.remove(&k) {
            self.held -= gone.weight;
            self.watches.release(&gone.rel);
        }
    }
}

/// What [`ListingCache::get_or_wait`] found.
pub enum Lookup {
    /// The body and its serial.
    Ready(Arc<[u8]>, u64),
    /// Not there: the caller waits; `true` if it must start the job.
    Wait(bool),
}

pub struct ListingCache {
    inner: Mutex<Inner>,
    budget: usize,
}

impl ListingCache {
    /// `budget`: bytes of entries and renderings kept.
    pub fn new(budget: usize, watches: Watches) -> ListingCache {
        ListingCache {
            inner: Mutex::new(Inner {
                slots: HashMap::new(),
                held: 0,
                clock: 0,
                serial: 0,
                waiting: HashMap::new(),
                watches,
                reading: HashMap::new(),
                changes: Vec::new(),
            }),
            budget,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rendering, or else `waiter` is registered to hear of it.
    pub fn get_or_wait(&self, stamp: FolderStamp, view: View, waiter: Waiter) -> Lookup {
        let mut inner = self.lock();
        inner.sync();
        inner.clock += 1;
        let now = inner.clock;
        if let Some(slot) = inner.slots.get_mut(&stamp) {
            slot.used = now;
            if let Some((_, body, serial)) = slot.bodies.iter().find(|(v, ..)| *v == view) {
                return Lookup::Ready(Arc::clone(body), *serial);
            }
        }
        let waiters = inner.waiting.entry((stamp, view)).or_default();
        waiters.push(waiter);
        Lookup::Wait(waiters.len() == 1)
    }

    /// The folder's entries, if this version was read already (and has
    /// not changed since).
    pub fn folder(&self, stamp: FolderStamp) -> Option<Arc<Folder>> {
        let mut inner = self.lock();
        inner.sync();
        inner.slots.get(&stamp).map(|s| Arc::clone(&s.folder))
    }

    /// A read of the folder `rel` begins: watch it first, so a change
    /// during the read is known. False if it cannot be watched.
    pub fn begin_read(&self, root: &Root, rel: &str) -> bool {
        let mut inner = self.lock();
        if !inner.watches.hold(root, rel) {
            return false;
        }
        inner.reading.insert(rel.to_owned(), false);
        true
    }

    /// Keeps a rendering (and its folder) and returns who waited for it,
    /// and the rendering's serial (0 when it was not kept). `body` is
    /// `None` when the view has no rendering (a page past the last): the
    /// folder is kept all the same, so asking again costs no read.
    /// `watched`: the read of `rel` began with [`ListingCache::begin_read`]
    /// (or the folder was cached already); if it changed meanwhile, or it
    /// could not be watched, nothing is kept.
    pub fn fill(
        &self,
        stamp: FolderStamp,
        rel: &str,
        view: View,
        folder: Arc<Folder>,
        body: Option<Arc<[u8]>>,
        watched: bool,
    ) -> (Vec<Waiter>, u64) {
        let mut inner = self.lock();
        inner.sync();
        let dirty = inner.reading.remove(rel);
        let waiters = inner.waiting.remove(&(stamp, view)).unwrap_or_default();
        let cached = inner.slots.contains_key(&stamp);
        if dirty == Some(true) || (!watched && !cached) {
            if watched && !cached {
                inner.watches.release(rel);
            }
            return (waiters, 0);
        }
        if cached && dirty.is_some() {
            // Read again while cached: one watch is enough.
            inner.watches.release(rel);
        }
        inner.clock += 1;
        let now = inner.clock;
        let serial = match body {
            Some(_) => {
                inner.serial += 1;
                inner.serial
            }
            None => 0,
        };
        let mut grown = 0;
        let slot = inner.slots.entry(stamp).or_insert_with(|| {
            grown = folder.weight();
            Slot {
                rel: rel.to_owned(),
                weight: grown,
                folder,
                bodies: Vec::new(),
                used: now,
            }
        });
        if let Some(body) = body {
            grown += body.len();
            slot.weight += body.len();
            slot.bodies.push((view, body, serial));
        }
        slot.used = now;
        inner.held += grown;
        while inner.held > self.budget && inner.slots.len() > 1 {
            let Some(oldest) = inner
                .slots
                .iter()
                .filter(|(k, _)| **k != stamp)
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            inner.remove(oldest);
        }
        (waiters, serial)
    }

    /// The listing could not be made: returns who waited for it.
    pub fn fail(&self, stamp: FolderStamp, rel: &str, view: View, watched: bool) -> Vec<Waiter> {
        let mut inner = self.lock();
        if watched && inner.reading.remove(rel).is_some() {
            inner.watches.release(rel);
        }
        inner.waiting.remove(&(stamp, view)).unwrap_or_default()
    }

    /// Bytes held (for tests and the budget).
    pub fn held(&self) -> usize {
        self.lock().held
    }
}
