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
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::SocketFlags;
use threadpool::ThreadPool;

use crate::conn::{Admission, Admit};
use crate::fs::Root;
use crate::settings::Settings;
use crate::site::{CustomPage, SiteShared};
use crate::worker::{self, Inbox, Incoming, Shared};

/// Why the server could not start. Each is one line for the user.
#[derive(Debug)]
pub enum StartError {
    Root(PathBuf, std::io::Error),
    AddrInUse(SocketAddr),
    Bind(SocketAddr, std::io::Error),
    Page(PathBuf, std::io::Error),
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
    let listener = listener::bind(SocketAddr::new(settings.bind, settings.port))?;
    let local = listener
        .local_addr()
        .map_err(|e| StartError::Io("cannot read the bound address", e))?;

    let (signal_rx, signal_tx) =
        UnixStream::pair().map_err(|e| StartError::Io("cannot create signal pipe", e))?;
    signal_rx
        .set_nonblocking(true)
        .map_err(|e| StartError::Io("cannot create signal pipe", e))?;
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let tx = signal_tx
            .try_clone()
            .map_err(|e| StartError::Io("cannot create signal pipe", e))?;
        signal_hook::low_level::pipe::register(sig, tx)
            .map_err(|e| StartError::Io("cannot install signal handler", e))?;
    }

    let not_found = match &settings.not_found_page {
        Some(path) => {
            let body = std::fs::read(path).map_err(|e| StartError::Page(path.clone(), e))?;
            Some(CustomPage {
                body: body.into(),
                content_type: crate::fs::mime::content_type(&path.to_string_lossy()).into(),
            })
        }
        None => None,
    };
    let threads = settings.threads;
    let admission = Admission::new(settings.max_connections);
    let (quiet, open) = (settings.quiet, settings.open);
    let shared = Arc::new(Shared {
        site: Arc::new(SiteShared::new(root, settings.site.clone(), not_found)),
        settings,
        shutdown: AtomicBool::new(false),
    });
    let mut inboxes = Vec::with_capacity(threads);
    for _ in 0..threads {
        inboxes.push(Arc::new(
            Inbox::new().map_err(|e| StartError::Io("cannot create eventfd", e))?,
        ));
    }
    let (log, log_done) = if quiet {
        (None, None)
    } else {
        let (sink, done) = crate::log::start_writer()
            .map_err(|e| StartError::Io("cannot start the log writer", e))?;
        (Some(sink), Some(done))
    };
    let pool = ThreadPool::with_name("ferry-worker".into(), threads);
    for inbox in &inboxes {
        let (shared, inbox, log) = (Arc::clone(&shared), Arc::clone(inbox), log.clone());
        pool.execute(move || worker::run(shared, inbox, log));
    }
    // The workers hold the only senders: the writer ends after them.
    drop(log);

    banner::announce(local, shared.site.root().path(), open);

    accept_loop(&listener, &signal_rx, &admission, &inboxes);

    drop(listener);
    shared.shutdown.store(true, Ordering::Release);
    for inbox in &inboxes {
        inbox.wake();
    }
    pool.join();
    if let Some(done) = log_done {
        // Let the last lines out, but never hang on a blocked stderr.
        let _ = done.recv_timeout(Duration::from_secs(2));
    }
    Ok(())
}

fn accept_loop(
    listener: &TcpListener,
    signals: &UnixStream,
    admission: &Arc<Admission>,
    inboxes: &[Arc<Inbox>],
) {
    let mut backoff: Option<Duration> = None;
    let mut next = 0usize;
    let mut warned = false;
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
                eprintln!("ferry: poll failed: {e}");
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
                    warned = false;
                    let peer = addr
                        .and_then(|a| SocketAddr::try_from(a).ok())
                        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
                    admit(sock, peer, admission, inboxes, &mut next);
                }
                Err(Errno::AGAIN) => break,
                Err(Errno::INTR | Errno::CONNABORTED | Errno::PROTO) => continue,
                Err(e @ (Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM)) => {
                    if !warned {
                        eprintln!("ferry: accept: {e}; pausing accept until descriptors free up");
                        warned = true;
                    }
                    let d = backoff.map_or(Duration::from_millis(10), |d| {
                        (d * 2).min(Duration::from_secs(1))
                    });
                    backoff = Some(d);
                    break;
                }
                Err(e) => {
                    eprintln!("ferry: accept: {e}");
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
        eprintln!("ferry: no worker is running; dropping connection");
        return;
    };
    *next = best + 1;
    inboxes[best].push(Incoming { sock, peer, ticket });
}
