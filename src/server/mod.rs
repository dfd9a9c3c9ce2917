//! Startup and the accept loop: open the root, bind the listener, start the
//! fixed pool of workers (threadpool: one long-lived event loop per
//! thread), then accept, take an admission ticket for each connection
//! (`conn::admission`), and hand it to the least-loaded worker's inbox.
//!
//! When accept fails for want of file descriptors the loop backs off
//! (10 ms, doubling to 1 s) and tries again, so it neither spins nor exits.
//! SIGINT/SIGTERM stop the accepting; the workers then drain (see
//! `worker`).

mod banner;
mod listener;

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::SocketFlags;
use threadpool::ThreadPool;

use crate::conn::{Admission, Admit};
use crate::fs::Root;
use crate::log;
use crate::settings::Settings;
use crate::site::SiteShared;
use crate::worker::{self, Inbox, Incoming, Shared};

/// Why the server could not start. Each is one line for the user.
#[derive(Debug)]
pub enum StartError {
    Root(PathBuf, std::io::Error),
    AddrInUse(SocketAddr),
    Bind(SocketAddr, std::io::Error),
    Page(PathBuf, std::io::Error),
    /// `--spa` with no index in the root to fall back to.
    NoIndex(PathBuf),
    Io(&'static str, std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Root(path, e) => {
                write!(f, "cannot serve {}: {}", path.display(), io_reason(e))
            }
            StartError::AddrInUse(addr) => write!(
                f,
                "address {addr} is already in use; pick another port, or --port 0 for any free one"
            ),
            StartError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {}", io_reason(e)),
            StartError::Page(path, e) => {
                write!(
                    f,
                    "cannot read the 404 page {}: {}",
                    path.display(),
                    io_reason(e)
                )
            }
            StartError::NoIndex(path) => write!(
                f,
                "--spa needs an index.html (or index.htm) in {} to fall back to",
                path.display()
            ),
            StartError::Io(what, e) => write!(f, "{what}: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// The OS message without Rust's " (os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Serves until SIGINT/SIGTERM, then drains and returns.
pub fn run(settings: Settings) -> Result<(), StartError> {
    listener::raise_fd_limit();
    let root = Root::open(&settings.dir, settings.hidden)
        .map_err(|e| StartError::Root(settings.dir.clone(), e))?;
    if settings.site.spa && crate::site::router::open_index(&root, "").is_none() {
        return Err(StartError::NoIndex(settings.dir.clone()));
    }
    let listener = listener::bind(SocketAddr::new(settings.bind, settings.port))?;
    let local = listener
        .local_addr()
        .map_err(|e| StartError::Io("cannot read the bound address", e))?;

    let (signal_rx, signal_tx) =
        UnixStream::pair().map_err(|e| StartError::Io("cannot create signal pipe", e))?;
    signal_rx
        .set_nonblocking(true)
        .map_err(|e| StartError::Io("cannot create signal pipe", e))?;
    // SIGHUP (the terminal closed) drains like SIGTERM: in-flight
    // downloads finish instead of being cut.
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let tx = signal_tx
            .try_clone()
            .map_err(|e| StartError::Io("cannot create signal pipe", e))?;
        signal_hook::low_level::pipe::register(sig, tx)
            .map_err(|e| StartError::Io("cannot install signal handler", e))?;
    }

    // The 404 page must be readable at startup; later it follows changes.
    if let Some(path) = &settings.not_found_page {
        std::fs::read(path).map_err(|e| StartError::Page(path.clone(), e))?;
    }
    let not_found = settings.not_found_page.clone();
    let threads = settings.threads;
    let admission = Admission::new(settings.max_connections);
    let (quiet, open) = (settings.quiet, settings.open);
    let site = SiteShared::new(root, settings.site.clone(), not_found)
        .map_err(|e| StartError::Io("cannot start the job or watch thread", e))?;
    let shared = Arc::new(Shared {
        site: Arc::new(site),
        settings,
        shutdown: AtomicBool::new(false),
    });
    let mut inboxes = Vec::with_capacity(threads);
    for _ in 0..threads {
        inboxes.push(Arc::new(
            Inbox::new().map_err(|e| StartError::Io("cannot create eventfd", e))?,
        ));
    }
    // Every diagnostic from here on goes through the writer thread, so no
    // serving or accepting thread ever blocks on or panics from stderr.
    let writer =
        log::start_writer().map_err(|e| StartError::Io("cannot start the log writer", e))?;
    std::panic::set_hook(Box::new(|info| log::note(format_args!("panic: {info}"))));
    let log = (!quiet).then(|| writer.sink());
    let pool = ThreadPool::with_name("ferry-worker".into(), threads);
    for inbox in &inboxes {
        let (shared, inbox, log) = (Arc::clone(&shared), Arc::clone(inbox), log.clone());
        pool.execute(move || worker::run(shared, inbox, log));
    }
    drop(log);

    banner::announce(local, shared.site.root().path(), open);

    accept_loop(&listener, &signal_rx, &admission, &inboxes, &shared.site);

    let deadline = Instant::now() + shared.settings.timeouts.shutdown;
    drop(listener);
    shared.shutdown.store(true, Ordering::Release);
    for inbox in &inboxes {
        inbox.wake();
    }
    pool.join();
    // Let the last lines out, but never wait long on a blocked stderr:
    // the exit stays within the shutdown timeout.
    let left = deadline.saturating_duration_since(Instant::now());
    writer.finish(left.min(Duration::from_secs(1)));
    Ok(())
}

fn accept_loop(
    listener: &TcpListener,
    signals: &UnixStream,
    admission: &Arc<Admission>,
    inboxes: &[Arc<Inbox>],
    site: &SiteShared,
) {
    let mut backoff: Option<Duration> = None;
    let mut next = 0usize;
    // When descriptors last ran out; the shortage is reported once per
    // episode, which ends after a second without one.
    let mut short_since: Option<Instant> = None;
    loop {
        let mut fds = [
            PollFd::new(listener, PollFlags::IN),
            PollFd::new(signals, PollFlags::IN),
        ];
        let timeout = backoff.map(|d| Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        // While backing off, don't wake for the listener (it stays readable).
        let fds = if backoff.is_some() {
            &mut fds[1..]
        } else {
            &mut fds[..]
        };
        match rustix::event::poll(fds, timeout.as_ref()) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => {
                log::note(format_args!("poll failed: {e}"));
                return;
            }
        }
        if signal_arrived(signals) {
            return;
        }
        loop {
            match rustix::net::acceptfrom_with(
                listener,
                SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            ) {
                Ok((sock, addr)) => {
                    backoff = None;
                    if short_since.is_some_and(|t| t.elapsed() > Duration::from_secs(1)) {
                        short_since = None;
                    }
                    let peer = addr
                        .and_then(|a| SocketAddr::try_from(a).ok())
                        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
                    admit(sock, peer, admission, inboxes, &mut next);
                }
                Err(Errno::AGAIN) => break,
                Err(Errno::INTR | Errno::CONNABORTED | Errno::PROTO) => continue,
                Err(e @ (Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM)) => {
                    if short_since.is_none() {
                        log::note(format_args!(
                            "accept: {e}; pausing accept until descriptors free up"
                        ));
                    }
                    short_since = Some(Instant::now());
                    // Cached files must never starve accepting: the caches
                    // close what no response is using.
                    site.fd_budget().squeeze();
                    for inbox in inboxes {
                        inbox.wake();
                    }
                    let d = backoff.map_or(Duration::from_millis(10), |d| {
                        (d * 2).min(Duration::from_secs(1))
                    });
                    backoff = Some(d);
                    break;
                }
                Err(e) => {
                    log::note(format_args!("accept: {e}"));
                    backoff = Some(Duration::from_millis(50));
                    break;
                }
            }
        }
    }
}

fn signal_arrived(signals: &UnixStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(rustix::io::read(signals.as_fd(), &mut buf), Ok(n) if n > 0)
}

/// Takes an admission ticket for the connection (a rejecting one beyond
/// the limit: it gets a 503) and hands it to the least-loaded worker.
fn admit(
    sock: OwnedFd,
    peer: SocketAddr,
    admission: &Arc<Admission>,
    inboxes: &[Arc<Inbox>],
    next: &mut usize,
) {
    let ticket = match admission.admit() {
        Admit::Serve(t) | Admit::Reject(t) => t,
        Admit::Drop => return, // closing is all we can afford
    };
    let _ = rustix::net::sockopt::set_tcp_nodelay(&sock, true);
    // Least-loaded live worker, scanning from after the last one chosen.
    let n = inboxes.len();
    let mut best: Option<usize> = None;
    for i in 0..n {
        let idx = (*next + i) % n;
        if !inboxes[idx].alive.load(Ordering::Acquire) {
            continue;
        }
        let load = inboxes[idx].load.load(Ordering::Relaxed);
        if best.is_none_or(|b| load < inboxes[b].load.load(Ordering::Relaxed)) {
            best = Some(idx);
        }
    }
    let Some(best) = best else {
        log::note("no worker is running; dropping connection");
        return;
    };
    *next = best + 1;
    inboxes[best].push(Incoming { sock, peer, ticket });
}
