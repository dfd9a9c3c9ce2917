//! The per-worker context every connection of the worker works with: the
//! site (with its file cache), the access log, the `Date` cache, the read
//! scratch and the output staging buffer, the clock, and the drain flag.
//! The worker reaches it only through methods.

use std::sync::Arc;
use std::time::Instant;

use crate::h1::{self, DateCache};
use crate::log::{AccessLog, NoteLimit};
use crate::settings::{Settings, Timeouts};
use crate::site::Site;

/// Per-worker state shared by its connections.
pub struct Ctx {
    pub(super) timeouts: Timeouts,
    pub(super) limits: h1::Limits,
    pub(super) max_body: u64,
    pub(super) min_body_rate: u64,
    pub(super) min_send_rate: u64,
    pub(super) site: Site,
    pub(super) log: AccessLog,
    /// The TLS-handshake hints said, per client address (all workers').
    pub(super) tls_hints: Arc<NoteLimit>,
    pub(super) date: DateCache,
    /// Input scratch: a whole read lands here first.
    pub(super) scratch: Box<[u8]>,
    /// Output staging: heads and small bodies, written once per batch.
    pub(super) out: Vec<u8>,
    pub(super) now: Instant,
    /// Which wake-up of the worker this is (each [`Ctx::tick`] begins one):
    /// a connection's answers are counted per wake-up.
    pub(super) wake: u64,
    /// Set once shutdown begins: every response closes its connection.
    pub(super) draining: bool,
}

impl Ctx {
    pub fn new(settings: &Settings, site: Site, log: AccessLog, tls_hints: Arc<NoteLimit>) -> Ctx {
        Ctx {
            timeouts: settings.timeouts,
            limits: settings.limits,
            max_body: settings.max_body,
            min_body_rate: settings.min_body_rate,
            min_send_rate: settings.min_send_rate,
            site,
            log,
            tls_hints,
            date: DateCache::default(),
            scratch: scratch_buffer(&settings.limits),
            out: Vec::with_capacity(64 * 1024),
            now: Instant::now(),
            wake: 0,
            draining: false,
        }
    }

    /// A new wake-up: the clock and the `Date` field move on.
    pub fn tick(&mut self) {
        self.wake = self.wake.wrapping_add(1);
        self.now = Instant::now();
        self.date.refresh();
        self.site.answer_squeeze(self.now);
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Shutdown began: from now on every response closes its connection.
    pub fn begin_drain(&mut self) {
        self.draining = true;
    }

    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// The periodic sweep's share: idle cache entries close.
    pub fn sweep(&mut self) {
        self.site.evict_idle(self.now);
    }

    /// Whether the worker must wake on a timer even with no connection
    /// (log lines to hand over, cached files to evict).
    pub fn needs_timer(&mut self) -> bool {
        self.log.has_pending() || !self.site.is_idle()
    }

    /// When the access log's lines must be handed over, if any wait.
    pub fn log_due(&self) -> Option<Instant> {
        self.log.due()
    }

    pub fn flush_log_if_due(&mut self) {
        self.log.flush_if_due(self.now);
    }

    pub fn flush_log(&mut self) {
        self.log.flush();
    }

    /// Reads the file-change notifications before requests are answered.
    pub fn sync(&mut self) {
        self.site.sync();
    }

    /// The descriptor that becomes readable when a cached file changes.
    pub fn watch_fd(&mut self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.site.watch_fd()
    }

    /// Finished jobs for this worker's connections.
    pub fn take_done(&mut self, into: &mut Vec<(u64, crate::site::jobs::Done)>) {
        self.site.take_done(into);
    }

    /// Output is staged but not sent (after a connection's turn, never:
    /// the buffer is the worker's).
    pub fn has_staged(&self) -> bool {
        !self.out.is_empty()
    }

    /// After a panic: nothing staged survives, and the scratch buffer is
    /// restored if the panic left it taken.
    pub fn recover(&mut self) {
        self.out.clear();
        if self.scratch.is_empty() {
            self.scratch = scratch_buffer(&self.limits);
        }
    }
}

fn scratch_buffer(limits: &h1::Limits) -> Box<[u8]> {
    vec![0u8; limits.max_head.max(16 * 1024) + 4096].into_boxed_slice()
}
