//! Admission: the count of connections held against `--max-connections`,
//! in one place. Whoever accepts a connection takes a [`Ticket`]; the
//! connection holds it, and dropping the connection gives the slot back.
//!
//! Beyond the limit a connection still gets a ticket of the rejecting kind
//! (it is answered `503` and closed), up to [`MAX_REJECTING`] at once;
//! beyond that it is closed outright.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// Most connections lingering over a 503 at once.
pub const MAX_REJECTING: usize = 1024;

/// The connection counter.
pub struct Admission {
    max: usize,
    active: AtomicUsize,
    rejecting: AtomicUsize,
    /// When accepting last ran out of descriptors (ms since `epoch`; 0:
    /// never): one note per episode, which ends after a quiet second.
    short_at: AtomicU64,
    epoch: Instant,
}

/// What to do with a new connection.
pub enum Admit {
    /// Serve it.
    Serve(Ticket),
    /// Over the limit: answer 503 and close.
    Reject(Ticket),
    /// Far over the limit: close it at once.
    Drop,
}

/// A held slot, given back on drop.
pub struct Ticket {
    admission: Arc<Admission>,
    rejected: bool,
}

impl Admission {
    pub fn new(max_connections: usize) -> Arc<Admission> {
        Arc::new(Admission {
            max: max_connections,
            active: AtomicUsize::new(0),
            rejecting: AtomicUsize::new(0),
            short_at: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    /// Accepting failed for want of descriptors (by any worker): noted on
    /// stderr once per episode.
    pub fn shortage(&self, e: &dyn std::fmt::Display) {
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        let last = self.short_at.swap(now, Ordering::AcqRel);
        if last == 0 || now.saturating_sub(last) > 1000 {
            crate::log::note(format_args!(
                "accept: {e}; pausing accept until descriptors free up"
            ));
        }
    }

    /// Takes a slot for a new connection.
    pub fn admit(self: &Arc<Self>) -> Admit {
        let take = |counter: &AtomicUsize, limit: usize| {
            counter
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < limit).then_some(n + 1)
                })
                .is_ok()
        };
        if take(&self.active, self.max) {
            return Admit::Serve(self.ticket(false));
        }
        if take(&self.rejecting, MAX_REJECTING) {
            return Admit::Reject(self.ticket(true));
        }
        Admit::Drop
    }

    fn ticket(self: &Arc<Self>, rejected: bool) -> Ticket {
        Ticket {
            admission: Arc::clone(self),
            rejected,
        }
    }

    /// Connections being served.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }
}

impl Ticket {
    /// Whether this connection is to be turned away with a 503.
    pub fn is_rejected(&self) -> bool {
        self.rejected
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let counter = if self.rejected {
            &self.admission.rejecting
        } else {
            &self.admission.active
        };
        counter.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_and_given_back_on_drop() {
        let a = Admission::new(2);
        let t1 = a.admit();
        let t2 = a.admit();
        assert!(matches!(t1, Admit::Serve(_)) && matches!(t2, Admit::Serve(_)));
        let Admit::Reject(r) = a.admit() else {
            panic!("the third is over the limit")
        };
        assert!(r.is_rejected());
        assert_eq!(a.active(), 2);
        drop(t1);
        assert_eq!(a.active(), 1);
        assert!(matches!(a.admit(), Admit::Serve(_)));
        drop(r);
        assert_eq!(a.rejecting.load(Ordering::Acquire), 0);
    }
}
