//! The descriptors all workers' open-file caches (and the compression
//! threads' reads) may hold together.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The descriptors all workers' caches may hold together.
#[derive(Debug)]
pub struct FdBudget {
    max: usize,
    held: AtomicUsize,
    /// Bumped when accepting runs out of descriptors: each cache then
    /// closes what no response is using.
    pub(crate) squeeze: AtomicU64,
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
        (open_file_limit() / 4).clamp(8, 4096) as usize
    }

    /// `asked` (`--cache-fds`), at most half the process's open-file
    /// limit: caches allowed more would run the process out of
    /// descriptors before their budget, and leave none for connections.
    pub fn within_limit(asked: usize) -> usize {
        cap(asked, open_file_limit())
    }

    pub(crate) fn take(&self, n: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                (h + n <= self.max).then_some(h + n)
            })
            .is_ok()
    }

    pub(crate) fn give(&self, n: usize) {
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

/// The process's open-file limit (soft).
fn open_file_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX)
}

/// `asked`, at most half of `limit` (and at least one).
fn cap(asked: usize, limit: u64) -> usize {
    let half = usize::try_from(limit / 2).unwrap_or(usize::MAX).max(1);
    asked.min(half)
}

impl FdBudget {
    /// One descriptor's place in the budget, given back when dropped; None
    /// when the budget is spent.
    pub fn ticket(self: &Arc<Self>) -> Option<FdTicket> {
        self.take(1).then(|| FdTicket(Arc::clone(self)))
    }
}

impl FdBudget {
    /// A ticket only while at least half the budget is free: for
    /// descriptors that are a convenience (a compressed form kept in a
    /// memfd), so they never crowd out the caches.
    pub fn spare_ticket(self: &Arc<Self>) -> Option<FdTicket> {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                (h < self.max / 2).then_some(h + 1)
            })
            .ok()
            .map(|_| FdTicket(Arc::clone(self)))
    }
}

/// A place in the [`FdBudget`] for one descriptor held outside the caches.
#[derive(Debug)]
pub struct FdTicket(Arc<FdBudget>);

impl Drop for FdTicket {
    fn drop(&mut self) {
        self.0.give(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_at_most_half_the_open_file_limit() {
        assert_eq!(cap(1000, 64), 32);
        assert_eq!(cap(20, 64), 20);
        assert_eq!(cap(4096, u64::MAX), 4096);
        assert_eq!(cap(5, 1), 1);
    }
}
