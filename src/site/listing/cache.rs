//! Listings cached per folder version, shared by all workers: repeated
//! listings of an unchanged folder cost a lookup. The folder's entries are
//! kept once per version, and each rendering (HTML or JSON, sort, order)
//! beside them. A folder's version is its identity and its modification
//! and change times: adding, removing or renaming an entry makes a new one.
//! Least recently used versions go when the cache is over its budget
//! (`--listing-cache`).
//!
//! The cache also knows which listings are being made, and who waits for
//! each, so a burst of requests for one big folder starts one read.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Folder, View};
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

/// A rendered listing: the body, and whether it is JSON.
pub type Rendered = (Arc<[u8]>, bool);

struct Slot {
    folder: Arc<Folder>,
    bodies: Vec<(View, Arc<[u8]>)>,
    weight: usize,
    used: u64,
}

#[derive(Default)]
struct Inner {
    slots: HashMap<FolderStamp, Slot>,
    held: usize,
    clock: u64,
    waiting: HashMap<(FolderStamp, View), Vec<Waiter>>,
}

/// What [`ListingCache::get_or_wait`] found.
pub enum Lookup {
    Ready(Arc<[u8]>),
    /// Not there: the caller waits; `true` if it must start the job.
    Wait(bool),
}

pub struct ListingCache {
    inner: Mutex<Inner>,
    budget: usize,
}

impl ListingCache {
    /// `budget`: bytes of entries and renderings kept.
    pub fn new(budget: usize) -> ListingCache {
        ListingCache {
            inner: Mutex::default(),
            budget,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rendering, or else `waiter` is registered to hear of it.
    pub fn get_or_wait(&self, stamp: FolderStamp, view: View, waiter: Waiter) -> Lookup {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        if let Some(slot) = inner.slots.get_mut(&stamp) {
            slot.used = now;
            if let Some((_, body)) = slot.bodies.iter().find(|(v, _)| *v == view) {
                return Lookup::Ready(Arc::clone(body));
            }
        }
        let waiters = inner.waiting.entry((stamp, view)).or_default();
        waiters.push(waiter);
        Lookup::Wait(waiters.len() == 1)
    }

    /// The folder's entries, if this version was read already.
    pub fn folder(&self, stamp: FolderStamp) -> Option<Arc<Folder>> {
        self.lock().slots.get(&stamp).map(|s| Arc::clone(&s.folder))
    }

    /// Keeps a rendering (and its folder) and returns who waited for it.
    pub fn fill(
        &self,
        stamp: FolderStamp,
        view: View,
        folder: Arc<Folder>,
        body: Arc<[u8]>,
    ) -> Vec<Waiter> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let added = body.len();
        let slot = inner.slots.entry(stamp).or_insert_with(|| Slot {
            weight: folder.weight(),
            folder,
            bodies: Vec::new(),
            used: now,
        });
        let fresh = slot.bodies.is_empty();
        slot.bodies.push((view, body));
        slot.weight += added;
        slot.used = now;
        let grown = if fresh { slot.weight } else { added };
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
            if let Some(gone) = inner.slots.remove(&oldest) {
                inner.held -= gone.weight;
            }
        }
        inner.waiting.remove(&(stamp, view)).unwrap_or_default()
    }

    /// The listing could not be made: returns who waited for it.
    pub fn fail(&self, stamp: FolderStamp, view: View) -> Vec<Waiter> {
        self.lock()
            .waiting
            .remove(&(stamp, view))
            .unwrap_or_default()
    }

    /// Bytes held (for tests and the budget).
    pub fn held(&self) -> usize {
        self.lock().held
    }
}
