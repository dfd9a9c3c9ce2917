//! Startup and the accept loop: open the root, bind the listener
//! (socket2: SO_REUSEADDR, backlog 1024, nonblocking), start the fixed pool
//! of workers (threadpool: one long-lived event loop per thread), then
//! accept and hand each connection to the least-loaded worker's inbox.
//!
//! Admission happens here: beyond `--max-connections` a connection is
//! handed over marked for a 503. When accept fails for want of file
//! descriptors the loop backs off (10 ms, doubling to 1 s) and tries again,
//! so it neither spins nor exits. SIGINT/SIGTERM stop the accepting; the
//! workers then drain (see `worker`).

use std::fmt;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::SocketFlags;
use socket2::{Domain, Protocol, Socket, Type};
use threadpool::ThreadPool;

use crate::cli::Config;
use crate::resolve::Root;
use crate::worker::{self, Inbox, Incoming, Shared};

/// Listen backlog: room for a burst of connects while workers are busy.
const BACKLOG: i32 = 1024;
/// Most connections kept lingering for a 503 at once; beyond, they are
/// closed outright.
const MAX_REJECTING: usize = 1024;

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
pub fn run(cfg: Config) -> Result<(), StartError> {
    raise_fd_limit();
    let root =
        Root::open(&cfg.dir, cfg.hidden).map_err(|e| StartError::Root(cfg.dir.clone(), e))?;
    let listener = bind(SocketAddr::new(cfg.bind, cfg.port))?;
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

    let not_found = match &cfg.not_found_page {
        Some(path) => {
            let body = std::fs::read(path).map_err(|e| StartError::Page(path.clone(), e))?;
            Some(crate::response::CustomPage {
                body: body.into_boxed_slice(),
                content_type: crate::resolve::content_type(&path.to_string_lossy()).into(),
            })
        }
        None => None,
    };
    let threads = cfg.worker_count();
    let shared = Arc::new(Shared {
        not_found,
        root: Arc::new(root),
        active: AtomicUsize::new(0),
        rejecting: AtomicUsize::new(0),
        shutdown: AtomicBool::new(false),
        cfg,
    });
    let mut inboxes = Vec::with_capacity(threads);
    for _ in 0..threads {
        inboxes.push(Arc::new(
            Inbox::new().map_err(|e| StartError::Io("cannot create eventfd", e))?,
        ));
    }
    let (log, log_done) = if shared.cfg.quiet {
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

    // Notes go to stderr before the one stdout line, so a script that
    // waits for that line has them all.
    if !local.ip().is_loopback() {
        eprintln!(
            "ferry: warning: {} is not a loopback address: anyone who can reach this machine \
             can read {} (ferry has no TLS and no authentication)",
            local.ip(),
            shared.root.path().display()
        );
    }
    if local.ip().is_unspecified() {
        print_lan_urls(local);
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "ferry: serving {} at {}",
            shared.root.path().display(),
            url_for(local)
        );
        let _ = out.flush();
    }
    if shared.cfg.open {
        open_browser(local);
    }

    accept_loop(&listener, &signal_rx, &shared, &inboxes);

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

/// Bound to every address: list where a phone on the LAN can connect (on
/// stderr, so stdout keeps its one line).
fn print_lan_urls(local: SocketAddr) {
    let Ok(ifaces) = if_addrs::get_if_addrs() else {
        return;
    };
    for iface in ifaces {
        let ip = iface.ip();
        let link_local =
            matches!(ip, std::net::IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80);
        if ip.is_loopback() || link_local || ip.is_ipv4() != local.is_ipv4() {
            continue;
        }
        eprintln!(
            "ferry: also at {}",
            url_for(SocketAddr::new(ip, local.port()))
        );
    }
}

fn url_for(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("http://{}:{}/", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("http://[{}]:{}/", a.ip(), a.port()),
    }
}

/// `--open`: hand the URL to the desktop's launcher; no launcher is not an
/// error. The child is reaped on a thread so it leaves no zombie.
fn open_browser(local: SocketAddr) {
    let ip = match local.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let url = url_for(SocketAddr::new(ip, local.port()));
    let spawned = std::process::Command::new("xdg-open")
        .arg(&url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            let _ = std::thread::Builder::new()
                .name("ferry-open".into())
                .spawn(move || child.wait());
        }
        Err(_) => {
            eprintln!("ferry: --open: no browser launcher (xdg-open) found; open {url} yourself")
        }
    }
}

fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    let err = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            StartError::AddrInUse(addr)
        } else {
            StartError::Bind(addr, e)
        }
    };
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(err)?;
    socket.set_reuse_address(true).map_err(err)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(err)?;
    }
    socket.bind(&addr.into()).map_err(err)?;
    socket.listen(BACKLOG).map_err(err)?;
    socket.set_nonblocking(true).map_err(err)?;
    Ok(socket.into())
}

/// Raises the open-file soft limit to the hard limit: each connection is a
/// descriptor, and the default soft limit (often 1024) is far below
/// --max-connections.
fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

fn accept_loop(
    listener: &TcpListener,
    signals: &UnixStream,
    shared: &Shared,
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
                    admit(sock, peer, shared, inboxes, &mut next);
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

/// Counts the connection in (or marks it for a 503) and hands it to the
/// least-loaded worker.
fn admit(
    sock: OwnedFd,
    peer: SocketAddr,
    shared: &Shared,
    inboxes: &[Arc<Inbox>],
    next: &mut usize,
) {
    let max = shared.cfg.max_connections as usize;
    let reject = if shared.active.load(Ordering::Relaxed) >= max {
        if shared.rejecting.load(Ordering::Relaxed) >= MAX_REJECTING {
            return; // dropped: closing is all we can afford
        }
        shared.rejecting.fetch_add(1, Ordering::Relaxed);
        true
    } else {
        shared.active.fetch_add(1, Ordering::Relaxed);
        false
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
        let counter = if reject {
            &shared.rejecting
        } else {
            &shared.active
        };
        counter.fetch_sub(1, Ordering::Relaxed);
        return;
    };
    *next = best + 1;
    inboxes[best].push(Incoming { sock, peer, reject });
}
