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
//!
//! Each worker accepts for itself: every listener is in every worker's
//! epoll set with `EPOLLEXCLUSIVE`, so a connection wakes one worker, which
//! accepts it, takes its admission ticket and reads at once: a request
//! that is already there is answered without the socket ever joining the
//! epoll set (a connection that closes after one response costs `accept4`,
//! `read`, `write` and `close`). Only a connection that must wait is added.
//!
//! Why one shared socket with `EPOLLEXCLUSIVE` rather than one
//! `SO_REUSEPORT` socket per worker (`benches/balance.sh`, 2 workers, 2
//! cores, unpinned, wrk -c50; results in benches/results/): both served
//! the same requests/s (one wrk thread is the limit), but EPOLLEXCLUSIVE
//! wakes the worker that waited last, so a worker that accepted in batches
//! took all 51 keep-alive connections and 73% of the new-connection load,
//! where SO_REUSEPORT's hash split them 26/25 and 50/50. SO_REUSEPORT,
//! though, makes a queue per worker that an idle worker cannot take from
//! while its owner is busy, resets a closing worker's queued connections,
//! lets any process of the same user join the port even without
//! `--reuse-port`, and cannot split a socket a supervisor passed. So the
//! socket stays shared, and the workers share the accepting themselves: a
//! worker that holds more than its share of the connections (a quarter and
//! two more than the mean) leaves the listeners to the others, wakes the
//! least loaded one, and comes back once it is near its share: 30/21
//! keep-alive connections and 50/50 new connections, at the same
//! requests/s.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{EventfdFlags, Timespec, eventfd};
use rustix::io::Errno;
use rustix::net::SocketFlags;
use slab::Slab;

use crate::conn::{Admission, Admit, Conn, Ctx, Flow, Interest, Ticket};
use crate::log::{AccessLog, NoteLimit};
use crate::settings::Settings;
use crate::site::jobs::Mailbox;
use crate::site::{Site, SiteShared};

/// Token of the inbox wake-up eventfd (connection tokens are slab keys).
const WAKE: u64 = u64::MAX;
/// Token of the file cache's change notifications.
const CHANGED: u64 = u64::MAX - 1;
/// Token of listener `i` is `LISTENER - i`.
const LISTENER: u64 = u64::MAX - 2;
/// At shutdown, a connection accepted this recently that has sent nothing
/// yet is given until then to send its first request (clients send it
/// right after connecting; a silent one is closed soon after).
const FIRST_REQUEST_GRACE: Duration = Duration::from_millis(250);
/// Events taken per `epoll_wait`.
const MAX_EVENTS: usize = 256;
/// Connections accepted per listener event before the worker turns to its
/// other work (level-triggered: the listener reports again).
const ACCEPT_BATCH: usize = 32;

/// What the workers share. The server makes it and, at shutdown, reaches
/// it only through its methods.
pub struct Shared {
    settings: Settings,
    site: Arc<SiteShared>,
    /// The count against `--max-connections`, for every listener.
    admission: Arc<Admission>,
    shutdown: AtomicBool,
    /// Every worker's inbox, to wake them all (shutdown, a descriptor
    /// shortage).
    inboxes: Vec<Arc<Inbox>>,
    /// Connections each worker accepted.
    accepted: Vec<AtomicU64>,
    /// Connections each worker holds now (for sharing the accepting).
    loads: Vec<AtomicUsize>,
    /// Connections still busy when the workers began to drain, and how
    /// many workers have counted theirs.
    draining: AtomicUsize,
    drain_reports: AtomicUsize,
    /// The TLS-handshake hints said, per client address.
    tls_hints: Arc<NoteLimit>,
}

impl Shared {
    /// One worker per inbox.
    pub fn new(settings: Settings, site: SiteShared, inboxes: Vec<Arc<Inbox>>) -> Shared {
        let workers = inboxes.len();
        Shared {
            site: Arc::new(site),
            admission: Admission::new(settings.max_connections),
            tls_hints: Arc::new(NoteLimit::new(settings.tls_hint_every)),
            settings,
            shutdown: AtomicBool::new(false),
            inboxes,
            accepted: (0..workers).map(|_| AtomicU64::new(0)).collect(),
            loads: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
            draining: AtomicUsize::new(0),
            drain_reports: AtomicUsize::new(0),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn site(&self) -> &SiteShared {
        &self.site
    }

    /// Tells every worker to stop accepting and drain.
    pub fn begin_shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
        for inbox in &self.inboxes {
            inbox.wake();
        }
    }

    /// Once every worker has begun its drain: how many connections were
    /// still busy then. `None` while some worker has not counted yet.
    pub fn drain_count(&self) -> Option<usize> {
        (self.drain_reports.load(Ordering::Acquire) >= self.inboxes.len())
            .then(|| self.draining.load(Ordering::Acquire))
    }

    /// Connections each worker accepted so far.
    pub fn accepted_counts(&self) -> Vec<u64> {
        self.accepted
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }
}

/// A connection accepted, with its admission ticket.
pub struct Incoming {
    pub sock: OwnedFd,
    pub peer: SocketAddr,
    /// Its slot against `--max-connections` (or a rejecting one: 503).
    pub ticket: Ticket,
}

/// A worker's wake-up: an eventfd (shutdown, finished jobs, a descriptor
/// shortage). The worker's epoll set is made here too, before the server
/// accepts anything, so a worker cannot fail to start once connections
/// are flowing.
pub struct Inbox {
    wake: OwnedFd,
    epoll: Mutex<Option<OwnedFd>>,
    /// False once the worker's loop has ended.
    pub alive: AtomicBool,
}

impl Inbox {
    pub fn new() -> std::io::Result<Inbox> {
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        epoll::add(&epoll, &wake, EventData::new_u64(WAKE), EventFlags::IN)?;
        Ok(Inbox {
            wake,
            epoll: Mutex::new(Some(epoll)),
            alive: AtomicBool::new(true),
        })
    }

    pub fn wake(&self) {
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }
}

struct Entry {
    conn: Conn,
    generation: u32,
    /// What the epoll set waits for on it; None: not in the set (yet).
    interest: Option<Interest>,
    /// In the ready list (once at most).
    ready: bool,
}

struct Worker {
    id: usize,
    shared: Arc<Shared>,
    inbox: Arc<Inbox>,
    epoll: OwnedFd,
    /// This worker's own descriptors of the listeners; dropped (and left)
    /// at the start of the drain.
    listeners: Vec<TcpListener>,
    /// Accepting pauses until then after running out of descriptors.
    paused_until: Option<Instant>,
    /// This worker holds more than its share of the connections: it has
    /// left the listeners to the others until it holds its share again.
    shedding: bool,
    /// The listeners are in the epoll set.
    listening: bool,
    /// The accept batch's buffer, kept for its allocation.
    accepted: Vec<(OwnedFd, SocketAddr)>,
    backoff: Duration,
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

/// Runs worker `id` until shutdown has drained its connections.
pub fn run(
    id: usize,
    shared: Arc<Shared>,
    inbox: Arc<Inbox>,
    listeners: Vec<TcpListener>,
    log: Option<crate::log::Sink>,
) {
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
    Worker::new(id, shared, inbox, epoll, listeners, log).run();
}

impl Worker {
    fn new(
        id: usize,
        shared: Arc<Shared>,
        inbox: Arc<Inbox>,
        epoll: OwnedFd,
        listeners: Vec<TcpListener>,
        log: Option<crate::log::Sink>,
    ) -> Worker {
        let sweep_every = (shared.settings.timeouts.shortest() / 8)
            .clamp(Duration::from_millis(5), Duration::from_millis(250));
        let waker = Arc::clone(&inbox);
        let mailbox = Mailbox::new(Box::new(move || waker.wake()));
        let site = Site::new(Arc::clone(&shared.site), mailbox);
        let log = AccessLog::new(log, id);
        let mut cx = Ctx::new(&shared.settings, site, log, Arc::clone(&shared.tls_hints));
        let mut sync_always = false;
        if let Some(fd) = cx.watch_fd() {
            let data = EventData::new_u64(CHANGED);
            sync_always = epoll::add(&epoll, fd, data, EventFlags::IN).is_err();
        }
        let now = cx.now();
        let mut worker = Worker {
            id,
            shared,
            inbox,
            epoll,
            listeners,
            paused_until: None,
            shedding: false,
            listening: false,
            accepted: Vec::with_capacity(ACCEPT_BATCH),
            backoff: Duration::ZERO,
            conns: Slab::with_capacity(1024),
            next_gen: 0,
            cx,
            ready: Vec::new(),
            sync_always,
            sweep_every,
            next_sweep: now + sweep_every,
            drain_deadline: None,
        };
        worker.set_listening();
        worker
    }

    /// Puts the listeners in the epoll set or takes them out, as accepting
    /// is paused (descriptors ran out), shed (this worker holds more than
    /// its share), or over (the drain).
    fn set_listening(&mut self) {
        let want = self.paused_until.is_none() && !self.shedding && self.drain_deadline.is_none();
        if want != self.listening {
            self.listen(want);
            self.listening = want;
        }
    }

    /// Whether this worker, holding `mine` connections, holds more than
    /// its share of all workers' (with some slack: `slack` connections and
    /// a quarter more). EPOLLEXCLUSIVE wakes the worker that waited last,
    /// which left alone would take nearly every connection of a burst.
    fn over_share(&self, mine: usize, slack: usize) -> bool {
        let n = self.shared.loads.len();
        if n < 2 {
            return false;
        }
        let others: usize = (self.shared.loads.iter().enumerate())
            .filter(|(i, _)| *i != self.id)
            .map(|(_, l)| l.load(Ordering::Relaxed))
            .sum();
        let fair = (others + mine) / n;
        mine > fair + slack + fair / 4
    }

    /// Leaves the listeners to the others and wakes the least loaded one,
    /// which accepts what is queued.
    fn shed(&mut self) {
        self.shedding = true;
        self.set_listening();
        let least = (self.shared.loads.iter().enumerate())
            .filter(|(i, _)| *i != self.id)
            .min_by_key(|(_, l)| l.load(Ordering::Relaxed))
            .map(|(i, _)| i);
        if let Some(i) = least {
            self.shared.inboxes[i].wake();
        }
    }

    /// Puts the listeners in the epoll set (`EPOLLEXCLUSIVE`: a connection
    /// wakes one of the workers waiting on them), or takes them out.
    fn listen(&self, on: bool) {
        for (i, l) in self.listeners.iter().enumerate() {
            if on {
                let data = EventData::new_u64(LISTENER - i as u64);
                let flags = EventFlags::IN | EventFlags::EXCLUSIVE;
                if let Err(e) = epoll::add(&self.epoll, l, data, flags) {
                    crate::log::note(format_args!("cannot watch a listener: {e}"));
                }
            } else {
                let _ = epoll::delete(&self.epoll, l);
            }
        }
    }

    /// Accepts what is queued on listener `i`, up to a batch, then reads
    /// the file-change notifications once (a connection queued after this
    /// wake-up began may carry a request made after a change; the
    /// notifications read at the wake-up's start don't cover it), then
    /// starts each connection: it takes an admission ticket (a rejecting
    /// one beyond `--max-connections`: it is answered 503) and is read at
    /// once. Returns whether more may be queued.
    fn accept(&mut self, i: usize) -> bool {
        let mut batch = std::mem::take(&mut self.accepted);
        let mut more = true;
        let draining = self.drain_deadline.is_some();
        while batch.len() < ACCEPT_BATCH {
            let Some(listener) = self.listeners.get(i) else {
                more = false;
                break;
            };
            if !draining && self.over_share(self.conns.len() + batch.len(), 2) {
                self.shed();
                more = false;
                break;
            }
            match rustix::net::acceptfrom_with(
                listener,
                SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            ) {
                Ok((sock, addr)) => {
                    self.backoff = Duration::ZERO;
                    let peer = addr
                        .and_then(|a| SocketAddr::try_from(a).ok())
                        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
                    batch.push((sock, peer));
                }
                Err(Errno::AGAIN) => {
                    more = false;
                    break;
                }
                Err(Errno::INTR | Errno::CONNABORTED | Errno::PROTO) => {}
                Err(e @ (Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM)) => {
                    // Out of descriptors: every cache lets go of what no
                    // response uses, and this worker stops accepting for a
                    // while (10 ms, doubling to 1 s) instead of spinning.
                    self.shared.admission.shortage(&e);
                    self.shared.site.fd_budget().squeeze();
                    for inbox in &self.shared.inboxes {
                        inbox.wake();
                    }
                    self.pause();
                    more = false;
                    break;
                }
                Err(e) => {
                    crate::log::note(format_args!("accept: {e}"));
                    self.pause();
                    more = false;
                    break;
                }
            }
        }
        if !batch.is_empty() {
            self.shared.accepted[self.id].fetch_add(batch.len() as u64, Ordering::Relaxed);
            self.cx.sync();
        }
        for (sock, peer) in batch.drain(..) {
            let ticket = match self.shared.admission.admit() {
                Admit::Serve(t) | Admit::Reject(t) => t,
                Admit::Drop => continue, // closing is all we can afford
            };
            self.register(Incoming { sock, peer, ticket });
        }
        self.accepted = batch;
        more
    }

    fn pause(&mut self) {
        self.backoff = (self.backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
        self.paused_until = Some(self.cx.now() + self.backoff);
        self.set_listening();
    }

    fn run(&mut self) {
        let mut events: Vec<epoll::Event> = Vec::with_capacity(MAX_EVENTS);
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
                    self.cx.take_done(&mut done);
                    for (token, result) in done.drain(..) {
                        self.run_conn(token, |conn, cx| conn.on_done(result, cx));
                    }
                    if self.shared.shutdown.load(Ordering::Acquire) {
                        self.begin_drain();
                    } else if self.listening {
                        // Perhaps woken by a worker that left the
                        // listeners with connections queued.
                        for i in 0..self.listeners.len() {
                            self.accept(i);
                        }
                    }
                } else if token == CHANGED {
                } else if let Some(i) = listener_index(token) {
                    self.accept(i);
                } else {
                    self.run_conn(token, |conn, cx| conn.on_event(cx));
                }
            }
            if self.paused_until.is_some_and(|t| self.cx.now() >= t) {
                self.paused_until = None;
                self.set_listening();
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
            self.shared.loads[self.id].store(self.conns.len(), Ordering::Relaxed);
            if self.shedding && !self.over_share(self.conns.len(), 1) {
                self.shedding = false;
                self.set_listening();
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
        if self.conns.is_empty()
            && self.drain_deadline.is_none()
            && self.paused_until.is_none()
            && !self.cx.needs_timer()
        {
            return None;
        }
        let mut wait = if self.ready.is_empty() {
            self.next_sweep.saturating_duration_since(Instant::now())
        } else {
            Duration::ZERO
        };
        if let Some(t) = self.paused_until {
            wait = wait.min(t.saturating_duration_since(Instant::now()));
        }
        if let Some(t) = self.cx.log_due() {
            wait = wait.min(t.saturating_duration_since(Instant::now()));
        }
        Some(Timespec {
            tv_sec: wait.as_secs() as i64,
            tv_nsec: i64::from(wait.subsec_nanos()),
        })
    }

    /// A connection just accepted: read at once; it joins the epoll set
    /// only if it has to wait.
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
            interest: None,
            ready: false,
        });
        self.run_conn(token(key, generation), |conn, cx| conn.start(cx));
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
        debug_assert!(
            !cx.has_staged(),
            "a connection left output in the worker's staging buffer"
        );
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
                if entry.interest != Some(interest) {
                    let flags = match interest {
                        Interest::Read => EventFlags::IN,
                        Interest::Write => EventFlags::OUT,
                    };
                    let data = EventData::new_u64(token(key, entry.generation));
                    let fd = entry.conn.fd();
                    let done = match entry.interest {
                        None => epoll::add(&self.epoll, fd, data, flags),
                        Some(_) => epoll::modify(&self.epoll, fd, data, flags),
                    };
                    if done.is_err() {
                        self.close(key);
                        return;
                    }
                    entry.interest = Some(interest);
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
        if self.drain_deadline.is_some() {
            // Draining, each connection is closed at its own deadline (a
            // grace for a first request ends within milliseconds), not up
            // to a sweep period after it.
            if let Some(first) = self.conns.iter().map(|(_, e)| e.conn.deadline()).min() {
                let soonest = now + Duration::from_millis(1);
                self.next_sweep = self.next_sweep.min(first.max(soonest));
            }
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
        // Stop accepting at once: take what is already queued (it is
        // answered, with Connection: close), then let go of the listeners;
        // the last worker to do so closes them.
        self.set_listening();
        for i in 0..self.listeners.len() {
            for _ in 0..1024 {
                if !self.accept(i) {
                    break;
                }
            }
        }
        self.listeners.clear();
        let now = self.cx.now();
        let mut idle = Vec::new();
        let mut held = 0;
        for (k, e) in self.conns.iter_mut() {
            // Accepted just now (by this very drain, too) with nothing sent
            // yet, or in the middle of a head: a short grace for the
            // request, closed by a sweep at its end unless it comes (wake
            // for it then, not a sweep period later).
            if e.conn.hold_for_request(now, FIRST_REQUEST_GRACE) {
                held += 1;
                self.next_sweep = self.next_sweep.min(e.conn.deadline());
            } else if e.conn.is_idle() {
                idle.push(k);
            }
        }
        for key in idle {
            self.close(key);
        }
        // What the drain note counts: responses in flight, not connections
        // merely given their grace (a browser's spare connection is not a
        // transfer).
        self.shared
            .draining
            .fetch_add(self.conns.len() - held, Ordering::AcqRel);
        self.shared.drain_reports.fetch_add(1, Ordering::AcqRel);
    }

    /// Drops the connection: closing the socket also removes it from
    /// epoll, and dropping its ticket gives back its admission slot. A
    /// response it was still sending is logged, as aborted.
    fn close(&mut self, key: usize) {
        if let Some(mut entry) = self.conns.try_remove(key) {
            entry.conn.close(&mut self.cx);
        }
    }
}

/// The listener a token names, if it names one.
fn listener_index(token: u64) -> Option<usize> {
    // Connection tokens keep their slab key below 2^32 - 1024.
    (token <= LISTENER && LISTENER - token < 1024).then(|| (LISTENER - token) as usize)
}

fn token(key: usize, generation: u32) -> u64 {
    (u64::from(generation) << 32) | key as u64
}
