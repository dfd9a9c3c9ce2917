//! One event loop per worker thread: its own epoll set, its own slab of
//! connections, its own deadlines. No lock on the hot path.
//!
//! Why this shape (measured on the 2-core dev machine, 1 KiB file,
//! keep-alive, against nginx with one worker; ±15 % noise):
//! - a poller thread handing ready sockets to the pool by channel: 0.6–0.8×
//!   (a context switch per request);
//! - workers sharing one epoll with EPOLLONESHOT re-arming: 0.8–1.0× (an
//!   extra `epoll_ctl` per request);
//! - the accept loop handing each connection to one worker's own epoll,
//!   level-triggered, never re-armed: 0.9–1.06×, and 1.47× with the
//!   open-file cache.
//!
//! So: level-triggered, and interest changes (`epoll_ctl`) only when a write
//! blocks or completes. A request on a warm keep-alive connection costs
//! `read` + `write` plus a share of one `epoll_wait`. Idle and slow clients
//! sit in the epoll set and cost no thread; the loop blocks only in
//! `epoll_wait`, whose timeout is the next deadline sweep.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{EventfdFlags, Timespec, eventfd};
use slab::Slab;

use crate::conn::{Conn, Ctx, Flow, Interest, Ticket};
use crate::log::AccessLog;
use crate::settings::Settings;
use crate::site::jobs::Mailbox;
use crate::site::{Site, SiteShared};

/// Token of the inbox wake-up eventfd (connection tokens are slab keys).
const WAKE: u64 = u64::MAX;
/// Token of the file cache's change notifications.
const CHANGED: u64 = u64::MAX - 1;
/// Events taken per `epoll_wait`.
const MAX_EVENTS: usize = 256;

/// What the accept loop and all workers share.
pub struct Shared {
    pub settings: Settings,
    pub site: Arc<SiteShared>,
    pub shutdown: AtomicBool,
}

/// A connection handed from the accept loop to a worker.
pub struct Incoming {
    pub sock: OwnedFd,
    pub peer: SocketAddr,
    /// Its slot against `--max-connections` (or a rejecting one: 503).
    pub ticket: Ticket,
}

/// A worker's mailbox: new connections, plus an eventfd to wake it. The
/// worker's epoll set is made here too, before the server accepts anything,
/// so a worker cannot fail to start once connections are flowing.
pub struct Inbox {
    queue: Mutex<Vec<Incoming>>,
    wake: OwnedFd,
    epoll: Mutex<Option<OwnedFd>>,
    /// Connections this worker holds, for least-loaded dispatch.
    pub load: AtomicUsize,
    /// False once the worker's loop has ended: send it nothing more.
    pub alive: AtomicBool,
}

impl Inbox {
    pub fn new() -> std::io::Result<Inbox> {
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        epoll::add(&epoll, &wake, EventData::new_u64(WAKE), EventFlags::IN)?;
        Ok(Inbox {
            queue: Mutex::new(Vec::new()),
            wake,
            epoll: Mutex::new(Some(epoll)),
            load: AtomicUsize::new(0),
            alive: AtomicBool::new(true),
        })
    }

    pub fn push(&self, inc: Incoming) {
        self.load.fetch_add(1, Ordering::Relaxed);
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(inc);
        self.wake();
    }

    pub fn wake(&self) {
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }

    fn take(&self, into: &mut Vec<Incoming>) {
        let mut q = self
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        into.append(&mut q);
    }
}

struct Entry {
    conn: Conn,
    generation: u32,
    interest: Interest,
    /// In the ready list (once at most).
    ready: bool,
}

struct Worker {
    shared: Arc<Shared>,
    inbox: Arc<Inbox>,
    epoll: OwnedFd,
    conns: Slab<Entry>,
    next_gen: u32,
    cx: Ctx,
    /// Connections that yielded with requests still buffered (their budget
    /// for this wake-up spent): resumed after the events of the next,
    /// immediate, wake-up.
    ready: Vec<u64>,
    /// The change notifications could not join the epoll set: read them
    /// at every wake-up instead.
    sync_always: bool,
    sweep_every: Duration,
    next_sweep: Instant,
    drain_deadline: Option<Instant>,
}

/// Marks the inbox dead when the worker's loop ends, even by a panic.
struct AliveGuard(Arc<Inbox>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.alive.store(false, Ordering::Release);
    }
}

/// Runs a worker until shutdown has drained its connections.
pub fn run(shared: Arc<Shared>, inbox: Arc<Inbox>, log: Option<crate::log::Sink>) {
    let _guard = AliveGuard(Arc::clone(&inbox));
    let epoll = inbox
        .epoll
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    let Some(epoll) = epoll else {
        crate::log::note("worker started twice");
        return;
    };
    Worker::new(shared, inbox, epoll, log).run();
}

impl Worker {
    fn new(
        shared: Arc<Shared>,
        inbox: Arc<Inbox>,
        epoll: OwnedFd,
        log: Option<crate::log::Sink>,
    ) -> Worker {
        let sweep_every = (shared.settings.timeouts.shortest() / 8)
            .clamp(Duration::from_millis(5), Duration::from_millis(250));
        let waker = Arc::clone(&inbox);
        let mailbox = Mailbox::new(Box::new(move || waker.wake()));
        let site = Site::new(Arc::clone(&shared.site), mailbox);
        let mut cx = Ctx::new(&shared.settings, site, AccessLog::new(log));
        let mut sync_always = false;
        if let Some(fd) = cx.watch_fd() {
            let data = EventData::new_u64(CHANGED);
            sync_always = epoll::add(&epoll, fd, data, EventFlags::IN).is_err();
        }
        let now = cx.now();
        Worker {
            shared,
            inbox,
            epoll,
            conns: Slab::with_capacity(1024),
            next_gen: 0,
            cx,
            ready: Vec::new(),
            sync_always,
            sweep_every,
            next_sweep: now + sweep_every,
            drain_deadline: None,
        }
    }

    fn run(&mut self) {
        let mut events: Vec<epoll::Event> = Vec::with_capacity(MAX_EVENTS);
        let mut incoming = Vec::new();
        let mut done = Vec::new();
        loop {
            let timeout = self.poll_timeout();
            events.clear();
            match epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut events),
                timeout.as_ref(),
            ) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    crate::log::note(format_args!("epoll_wait failed: {e}"));
                    break;
                }
            }
            self.cx.tick();
            // Those that yielded in the last wake-up; whoever yields in this
            // one waits for the next.
            let resume = std::mem::take(&mut self.ready);
            // A change made before a request was sent is seen by it: the
            // notifications are read before the requests. A notification
            // pending when epoll_wait returned is in `events`, unless the
            // batch was full.
            if self.sync_always
                || events.len() == MAX_EVENTS
                || events.iter().any(|e| e.data.u64() == CHANGED)
            {
                self.cx.sync();
            }
            for ev in &events {
                let token = ev.data.u64();
                if token == WAKE {
                    let mut counter = [0u8; 8];
                    let _ = rustix::io::read(&self.inbox.wake, &mut counter);
                    self.inbox.take(&mut incoming);
                    for inc in incoming.drain(..) {
                        self.register(inc);
                    }
                    self.cx.take_done(&mut done);
                    for (token, result) in done.drain(..) {
                        self.run_conn(token, |conn, cx| conn.on_done(result, cx));
                    }
                    if self.shared.shutdown.load(Ordering::Acquire) {
                        self.begin_drain();
                    }
                } else if token != CHANGED {
                    self.run_conn(token, |conn, cx| conn.on_event(cx));
                }
            }
            for token in resume {
                if let Some(entry) = self.entry(token) {
                    entry.ready = false;
                    self.run_conn(token, |conn, cx| conn.resume(cx));
                }
            }
            if self.cx.now() >= self.next_sweep {
                self.sweep();
            }
            self.cx.flush_log_if_due();
            if let Some(deadline) = self.drain_deadline
                && (self.conns.is_empty() || self.cx.now() >= deadline)
            {
                break;
            }
        }
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.close(key);
        }
        self.cx.flush_log();
    }

    /// Wake for the next deadline sweep, or sleep until an event when there
    /// is nothing to time out.
    fn poll_timeout(&mut self) -> Option<Timespec> {
        if self.conns.is_empty() && self.drain_deadline.is_none() && !self.cx.needs_timer() {
            return None;
        }
        let wait = if self.ready.is_empty() {
            self.next_sweep.saturating_duration_since(Instant::now())
        } else {
            Duration::ZERO
        };
        Some(Timespec {
            tv_sec: wait.as_secs() as i64,
            tv_nsec: i64::from(wait.subsec_nanos()),
        })
    }

    fn register(&mut self, inc: Incoming) {
        let generation = self.next_gen;
        self.next_gen = self.next_gen.wrapping_add(1);
        let slot = self.conns.vacant_entry();
        let key = slot.key();
        let conn = Conn::new(
            inc.sock,
            inc.peer,
            token(key, generation),
            inc.ticket,
            &self.cx,
        );
        slot.insert(Entry {
            conn,
            generation,
            interest: Interest::Read,
            ready: false,
        });
        let entry = &self.conns[key];
        let data = EventData::new_u64(token(key, generation));
        if epoll::add(&self.epoll, entry.conn.fd(), data, EventFlags::IN).is_err() {
            self.close(key);
            return;
        }
        let flow = self.conns[key].conn.start(&mut self.cx);
        self.apply(key, flow);
        if self.cx.is_draining() && self.conns.get(key).is_some_and(|e| e.conn.is_idle()) {
            self.close(key);
        }
    }

    /// Runs `f` on the connection named by `token` (if it is still the
    /// one: slots are reused), containing a panic to that connection, and
    /// applies the flow it returns.
    fn run_conn(&mut self, token: u64, f: impl FnOnce(&mut Conn, &mut Ctx) -> Flow) {
        let key = (token & 0xffff_ffff) as usize;
        let generation = (token >> 32) as u32;
        let Some(entry) = self.conns.get_mut(key) else {
            return;
        };
        if entry.generation != generation {
            return; // stale event for a slot since reused
        }
        let cx = &mut self.cx;
        let conn = &mut entry.conn;
        let flow = match catch_unwind(AssertUnwindSafe(|| f(conn, cx))) {
            Ok(flow) => flow,
            Err(_) => {
                // Contain the panic to this connection; the worker lives on.
                cx.recover();
                let _ = catch_unwind(AssertUnwindSafe(|| conn.on_panic(cx)));
                cx.recover();
                Flow::Close
            }
        };
        self.apply(key, flow);
    }

    /// The connection named by `token`, if it is still the one (slots are
    /// reused).
    fn entry(&mut self, token: u64) -> Option<&mut Entry> {
        let entry = self.conns.get_mut((token & 0xffff_ffff) as usize)?;
        (entry.generation == (token >> 32) as u32).then_some(entry)
    }

    fn apply(&mut self, key: usize, flow: Flow) {
        let flow = match flow {
            Flow::Yield => {
                let entry = &mut self.conns[key];
                if !entry.ready {
                    entry.ready = true;
                    self.ready.push(token(key, entry.generation));
                }
                Flow::Wait(Interest::Read)
            }
            other => other,
        };
        match flow {
            Flow::Close | Flow::Yield => self.close(key),
            Flow::Wait(interest) => {
                let entry = &mut self.conns[key];
                if entry.interest != interest {
                    let flags = match interest {
                        Interest::Read => EventFlags::IN,
                        Interest::Write => EventFlags::OUT,
                    };
                    let data = EventData::new_u64(token(key, entry.generation));
                    if epoll::modify(&self.epoll, entry.conn.fd(), data, flags).is_err() {
                        self.close(key);
                        return;
                    }
                    entry.interest = interest;
                }
                if self.cx.is_draining() && self.conns[key].conn.is_idle() {
                    self.close(key);
                }
            }
        }
    }

    /// Hands every connection whose deadline passed to it (most close;
    /// those keeping up a minimum rate get a new window), and closes idle
    /// cache entries.
    fn sweep(&mut self) {
        let now = self.cx.now();
        self.next_sweep = now + self.sweep_every;
        self.cx.sweep();
        let expired: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, e)| e.conn.deadline() <= now)
            .map(|(k, e)| token(k, e.generation))
            .collect();
        for token in expired {
            self.run_conn(token, |conn, cx| conn.on_deadline(cx));
        }
    }

    /// Shutdown: idle connections close now, busy ones after their
    /// response, and all of them by the shutdown deadline.
    fn begin_drain(&mut self) {
        if self.drain_deadline.is_some() {
            return;
        }
        self.cx.begin_drain();
        self.drain_deadline = Some(self.cx.now() + self.shared.settings.timeouts.shutdown);
        let idle: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, e)| e.conn.is_idle())
            .map(|(k, _)| k)
            .collect();
        for key in idle {
            self.close(key);
        }
    }

    /// Drops the connection: closing the socket also removes it from
    /// epoll, and dropping its ticket gives back its admission slot.
    fn close(&mut self, key: usize) {
        if self.conns.try_remove(key).is_some() {
            self.inbox.load.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

fn token(key: usize, generation: u32) -> u64 {
    (u64::from(generation) << 32) | key as u64
}
