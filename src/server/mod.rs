//! Startup and shutdown: open the root, open the listeners (bound, or
//! inherited from a supervisor), announce, start the fixed pool of workers
//! (threadpool: one long-lived event loop per thread, each accepting for
//! itself: see `worker`), then wait for a signal. SIGINT, SIGTERM and
//! SIGHUP stop the accepting at once and let the workers drain; a second
//! one exits at once.

mod banner;
mod listener;

use std::fmt;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use threadpool::ThreadPool;

use crate::fs::Root;
use crate::log;
use crate::settings::Settings;
use crate::site::SiteShared;
use crate::worker::{self, Inbox, Shared};

pub use listener::Origin;

/// Why the server could not start. Each is one line for the user.
#[derive(Debug)]
pub enum StartError {
    Root(PathBuf, std::io::Error),
    AddrInUse(SocketAddr),
    Resolve(String, std::io::Error),
    Bind(SocketAddr, std::io::Error),
    Page(PathBuf, std::io::Error),
    /// `--spa` with no index in the root to fall back to.
    NoIndex(PathBuf),
    /// A socket passed by the supervisor (this descriptor) is not listening.
    NotListening(usize),
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
            StartError::Resolve(host, e) => {
                write!(f, "cannot resolve {host}: {}", io_reason(e))
            }
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
            StartError::NotListening(fd) => write!(
                f,
                "the socket passed by the supervisor as descriptor {fd} is not listening"
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

/// Serves until SIGINT/SIGTERM/SIGHUP, then drains and returns (a second
/// SIGINT exits at once).
pub fn run(settings: Settings) -> Result<(), StartError> {
    listener::raise_fd_limit();
    let root = Root::open(&settings.dir, settings.hidden)
        .map_err(|e| StartError::Root(settings.dir.clone(), e))?;
    if settings.site.spa && crate::site::router::open_index(&root, "").is_none() {
        return Err(StartError::NoIndex(settings.dir.clone()));
    }
    let (listeners, origin) = listener::open(&settings.binds, settings.port, settings.reuse_port)?;

    let (signal_rx, signal_tx) =
        UnixStream::pair().map_err(|e| StartError::Io("cannot create signal pipe", e))?;
    // SIGHUP (the terminal closed) drains like SIGTERM: in-flight
    // downloads finish instead of being cut. Each signal is one byte.
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
    let (quiet, open) = (settings.quiet, settings.open);
    let reuse_port = settings.reuse_port;
    let migrate_req = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_migrate_req").ok();
    let site = SiteShared::new(root, settings.site.clone(), not_found)
        .map_err(|e| StartError::Io("cannot start the job or watch thread", e))?;
    let mut inboxes = Vec::with_capacity(threads);
    for _ in 0..threads {
        inboxes.push(Arc::new(
            Inbox::new().map_err(|e| StartError::Io("cannot create eventfd", e))?,
        ));
    }
    // Each worker polls its own duplicate of every listener: the sockets
    // close when the last worker lets go of them, at the start of the
    // drain.
    let mut worker_listeners = Vec::with_capacity(threads);
    for _ in 0..threads {
        let mut own = Vec::with_capacity(listeners.len());
        for l in &listeners {
            own.push(
                l.socket
                    .try_clone()
                    .map_err(|e| StartError::Io("cannot share the listening socket", e))?,
            );
        }
        worker_listeners.push(own);
    }
    let bound: Vec<banner::Bound> = listeners
        .iter()
        .map(|l| banner::Bound {
            addr: l.addr,
            local: l.local,
        })
        .collect();
    drop(listeners);
    let shared = Arc::new(Shared::new(settings, site, inboxes.clone()));
    // Every diagnostic from here on goes through the writer thread, so no
    // serving or accepting thread ever blocks on or panics from stderr.
    let writer =
        log::start_writer().map_err(|e| StartError::Io("cannot start the log writer", e))?;
    std::panic::set_hook(Box::new(|info| log::note(format_args!("panic: {info}"))));
    // Said before any worker runs, so before any access-log line (the
    // listeners queue connections meanwhile); nothing after it can fail.
    banner::announce(
        &bound,
        origin,
        shared.site().root().path(),
        shared.settings().dir_choice,
        open,
        reuse_port && origin == Origin::Bound && banner::restart_resets(migrate_req.as_deref()),
    );
    let log = (!quiet).then(|| writer.sink());
    let pool = ThreadPool::with_name("ferry-worker".into(), threads);
    for (id, own) in worker_listeners.into_iter().enumerate() {
        let (shared, inbox, log) = (Arc::clone(&shared), Arc::clone(&inboxes[id]), log.clone());
        pool.execute(move || worker::run(id, shared, inbox, own, log));
    }
    drop(log);

    wait_for_signal(&signal_rx);
    let deadline = Instant::now() + shared.settings().timeouts.shutdown;
    shared.begin_shutdown();
    announce_drain(&shared, &signal_rx, deadline);
    // A second SIGINT (or any signal) while draining: exit at once.
    while pool.active_count() > 0 {
        if wait_readable(&signal_rx, Duration::from_millis(5)) && signal_arrived(&signal_rx) {
            log::note("stopping now");
            note_accepted(&shared);
            writer.finish(Duration::from_millis(100));
            std::process::exit(130);
        }
    }
    pool.join();
    note_accepted(&shared);
    // Let the last lines out, but never wait long on a blocked stderr:
    // the exit stays within the shutdown timeout.
    let left = deadline.saturating_duration_since(Instant::now());
    writer.finish(left.min(Duration::from_secs(1)));
    Ok(())
}

/// How the connections spread over the workers, said at exit.
fn note_accepted(shared: &Shared) {
    let counts: Vec<String> = (shared.accepted_counts().iter())
        .map(u64::to_string)
        .collect();
    log::note(format_args!(
        "stopped; connections accepted per worker: {}",
        counts.join(" ")
    ));
}

/// Blocks until SIGINT, SIGTERM or SIGHUP.
fn wait_for_signal(signals: &UnixStream) {
    loop {
        if wait_readable(signals, Duration::from_secs(3600)) && signal_arrived(signals) {
            return;
        }
    }
}

/// Once every worker has begun its drain: if responses are still in
/// flight, says so and for how long at most.
fn announce_drain(shared: &Shared, signals: &UnixStream, deadline: Instant) {
    let busy = loop {
        if let Some(busy) = shared.drain_count() {
            break busy;
        }
        if Instant::now() >= deadline {
            return;
        }
        if wait_readable(signals, Duration::from_millis(5)) {
            return; // a second signal: the caller exits
        }
    };
    if busy > 0 {
        log::note(format_args!(
            "draining {busy} connection{} for up to {:?} (Ctrl-C again to stop now)",
            if busy == 1 { "" } else { "s" },
            shared.settings().timeouts.shutdown
        ));
    }
}

/// Whether `fd` became readable within `wait`.
fn wait_readable(fd: &UnixStream, wait: Duration) -> bool {
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    let timeout = Timespec {
        tv_sec: wait.as_secs() as i64,
        tv_nsec: i64::from(wait.subsec_nanos()),
    };
    matches!(rustix::event::poll(&mut fds, Some(&timeout)), Ok(n) if n > 0)
}

fn signal_arrived(signals: &UnixStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(rustix::io::read(signals.as_fd(), &mut buf), Ok(n) if n > 0)
}
