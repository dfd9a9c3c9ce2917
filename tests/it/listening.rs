//! Where ferry listens and how it hands over: several `--bind` addresses,
//! dual-stack `::`, host names, sockets passed by a supervisor (socket
//! activation with `systemd-socket-activate`), and a restart with
//! `--reuse-port` under load that fails no request.

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::support::*;

const HELLO: &[u8] = b"hello from ferry\n";

/// A GET on a new connection to `addr`, bounded.
fn get_at(addr: SocketAddr) -> Response {
    try_get(addr, "/a.txt", Duration::from_secs(5)).unwrap_or_else(|e| panic!("{addr}: {e}"))
}

fn ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

/// Starts ferry with exactly these arguments (no implicit `--port 0`).
fn start_exact(root: &std::path::Path, args: &[&str]) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.arg(root).arg("--quiet").args(args);
    Server::spawn(cmd, root)
}

/// The other listeners, as announced on stderr after the stdout line.
fn also_listening(s: &mut Server, n: usize) -> Vec<SocketAddr> {
    let rx = stderr_lines(s.stderr());
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for _ in 0..n {
        let line = wait_for_line(
            &rx,
            &mut seen,
            &["also listening at http://"],
            Duration::from_secs(5),
        )
        .unwrap_or_else(|| panic!("announcements: {seen:?}"));
        seen.retain(|l| l != &line);
        let url = line.trim().rsplit(' ').next().unwrap();
        let hostport = url.trim_start_matches("http://").trim_end_matches('/');
        out.push(hostport.parse().unwrap());
    }
    out
}

/// `--bind` twice: both addresses are served on the same port (with
/// `--port 0`, the one the first got); the stdout line names the first,
/// stderr the other.
#[test]
fn every_bind_address_is_served_on_one_port_and_announced() {
    if !ipv6_loopback() {
        skip(
            "listening::every_bind_address_is_served_on_one_port_and_announced",
            "no IPv6 loopback",
        );
        return;
    }
    let dir = site(&[("a.txt", HELLO)]);
    let mut s = Server::start(dir.path(), &["--bind", "127.0.0.1", "--bind", "::1"]);
    assert!(s.addr.is_ipv4(), "{}", s.line);
    let others = also_listening(&mut s, 1);
    assert_eq!(
        others,
        vec![SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], s.addr.port()))]
    );
    for addr in [s.addr, others[0]] {
        assert_ok(&get_at(addr), HELLO);
    }
}

/// `--bind ::` serves IPv4 and IPv6 on one socket (as python, node and
/// miniserve do); the stdout line gives its IPv4 loopback URL.
#[test]
fn bind_all_ipv6_is_dual_stack() {
    if !ipv6_loopback() {
        skip("listening::bind_all_ipv6_is_dual_stack", "no IPv6 loopback");
        return;
    }
    let dir = site(&[("a.txt", HELLO)]);
    let s = Server::start(dir.path(), &["--bind", "::"]);
    let port = s.addr.port();
    assert_eq!(
        s.addr,
        SocketAddr::from(([127, 0, 0, 1], port)),
        "{}",
        s.line
    );
    for addr in [
        SocketAddr::from(([127, 0, 0, 1], port)),
        SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], port)),
    ] {
        assert_ok(&get_at(addr), HELLO);
    }
}

/// A host name binds every address it resolves to (here `localhost`, as
/// this machine's resolver answers it).
#[test]
fn a_host_name_binds_every_address_it_resolves_to() {
    let want: BTreeSet<SocketAddr> = ("localhost", 0)
        .to_socket_addrs()
        .expect("localhost resolves")
        .filter(|a| TcpListener::bind(SocketAddr::new(a.ip(), 0)).is_ok())
        .collect();
    let dir = site(&[("a.txt", HELLO)]);
    let mut s = Server::start(dir.path(), &["--bind", "localhost"]);
    let port = s.addr.port();
    let mut got: BTreeSet<SocketAddr> = BTreeSet::new();
    got.insert(s.addr);
    got.extend(also_listening(&mut s, want.len() - 1));
    let want: BTreeSet<SocketAddr> = want
        .into_iter()
        .map(|a| SocketAddr::new(a.ip(), port))
        .collect();
    assert_eq!(got, want);
    for addr in got {
        assert_ok(&get_at(addr), HELLO);
    }
}

/// Without `--reuse-port` a port in use fails at once, one line, status
/// 2, also when the one holding it is another ferry; with it on both, the
/// second starts beside the first and both serve.
#[test]
fn a_port_in_use_is_refused_unless_both_use_reuse_port() {
    let dir = site(&[("a.txt", HELLO)]);
    let first = Server::start(dir.path(), &[]);
    let port = first.addr.port().to_string();
    let root = dir.path().to_str().unwrap();
    let (code, out, err) = run_ferry(&[root, "--port", &port, "--quiet"], None);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("already in use"), "{err}");
    drop(first);
    let a = start_exact(dir.path(), &["--port", "0", "--reuse-port"]);
    let port = a.addr.port().to_string();
    let (code, _, err) = run_ferry(&[root, "--port", &port, "--quiet"], None);
    assert_eq!(
        code,
        Some(2),
        "without --reuse-port the second is refused: {err}"
    );
    let b = start_exact(dir.path(), &["--port", &port, "--reuse-port"]);
    assert_eq!(a.addr, b.addr);
    assert_ok(&get_at(a.addr), HELLO);
}

/// As systemd's `sd_listen_fds`: `LISTEN_FDS` without `LISTEN_PID`
/// naming this process passes nothing, so ferry binds as usual.
/// Was: it took descriptor 3 anyway and exited with "fd 3 is not a
/// socket" (or served on whatever socket descriptor 3 was) / now: ignored.
#[test]
fn listen_fds_without_this_process_in_listen_pid_is_ignored() {
    let dir = site(&[("a.txt", HELLO)]);
    for pid in [None, Some("1")] {
        let mut cmd = Command::new(BIN);
        cmd.arg(dir.path())
            .args(["--port", "0", "--quiet"])
            .env("LISTEN_FDS", "1")
            .env_remove("LISTEN_PID");
        if let Some(pid) = pid {
            cmd.env("LISTEN_PID", pid);
        }
        let s = Server::spawn(cmd, dir.path());
        assert_ok(&get_at(s.addr), HELLO);
    }
}

/// A supervisor's socket that is bound but not listening is refused at
/// startup with one line and status 2.
/// Was: ferry announced itself, then wrote "accept: Invalid argument"
/// several times a second for ever and served nothing / now: refused.
#[test]
fn a_passed_socket_that_is_not_listening_is_refused() {
    if Command::new("python3").arg("-V").output().is_err() {
        skip(
            "listening::a_passed_socket_that_is_not_listening_is_refused",
            "python3 missing (it passes the socket)",
        );
        return;
    }
    // Binds without listen(), puts the socket at descriptor 3 and becomes
    // ferry, as a supervisor would.
    const PASS_BOUND_SOCKET: &str = "import os, socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ['LISTEN_FDS'] = '1'
os.environ['LISTEN_PID'] = str(os.getpid())
os.execv(sys.argv[1], sys.argv[1:])";
    let dir = site(&[("a.txt", HELLO)]);
    let mut cmd = Command::new("python3");
    cmd.args(["-c", PASS_BOUND_SOCKET, BIN])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (code, out, err) = run_to_exit(cmd);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            Some(2),
            "",
            "ferry: the socket passed by the supervisor as descriptor 3 is not listening\n"
        )
    );
}

/// A free port on 127.0.0.1 (bound, read, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Socket activation: started by `systemd-socket-activate` (which binds,
/// then execs ferry with `LISTEN_FDS`/`LISTEN_PID` on the first
/// connection), ferry serves on the passed socket, ignores `--bind` and
/// `--port`, serves the connection that was waiting, says where it listens,
/// and stops on SIGTERM.
#[test]
fn socket_activation_serves_on_the_passed_socket() {
    let tool = "/usr/bin/systemd-socket-activate";
    if !std::path::Path::new(tool).exists() {
        skip(
            "listening::socket_activation_serves_on_the_passed_socket",
            "systemd-socket-activate missing (Debian package systemd)",
        );
        return;
    }
    let dir = site(&[("a.txt", HELLO)]);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(tool)
        .args(["-l", &listen, BIN])
        .arg(dir.path())
        .args(["--quiet", "--bind", "::1", "--port", "9"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn systemd-socket-activate");
    let rx = stderr_lines(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let listening = wait_for_line(
        &rx,
        &mut seen,
        &["Listening on", &listen],
        Duration::from_secs(5),
    );
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(listening.is_some(), "systemd-socket-activate: {seen:?}");
        let addr: SocketAddr = listen.parse().unwrap();
        // The first connection waits in the socket while ferry starts.
        assert_ok(&get_at(addr), HELLO);
        assert_ok(&get_at(addr), HELLO);
        let mut stdout = String::new();
        let mut out = child.stdout.take().unwrap();
        let mut buf = [0u8; 256];
        let n = out.read(&mut buf).unwrap();
        stdout.push_str(&String::from_utf8_lossy(&buf[..n]));
        assert_eq!(
            stdout,
            format!(
                "ferry: serving {} at http://{listen}/\n",
                dir.path().canonicalize().unwrap().display()
            )
        );
        assert!(
            wait_for_line(
                &rx,
                &mut seen,
                &["serving on 1 socket passed by the supervisor"],
                Duration::from_secs(5)
            )
            .is_some(),
            "{seen:?}"
        );
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        rustix::process::kill_process(pid, Signal::TERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status.code(), Some(0));
    }));
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// `net.ipv4.tcp_migrate_req` set for the test (restored after): at 1 the
/// kernel moves connections queued on a closing `SO_REUSEPORT` listener to
/// another in its group instead of resetting them. Tests that set it hold
/// `serial()`.
struct MigrateReq {
    before: String,
}

const MIGRATE_REQ: &str = "/proc/sys/net/ipv4/tcp_migrate_req";

impl MigrateReq {
    fn enable() -> Option<MigrateReq> {
        MigrateReq::set("1")
    }

    fn set(value: &str) -> Option<MigrateReq> {
        let before = std::fs::read_to_string(MIGRATE_REQ).ok()?;
        if before.trim() != value {
            std::fs::write(MIGRATE_REQ, value).ok()?;
        }
        Some(MigrateReq { before })
    }
}

/// ferry's stderr from start to exit, started with these arguments.
fn stderr_of_a_run(root: &std::path::Path, args: &[&str]) -> Vec<String> {
    let mut s = start_exact(root, args);
    let rx = stderr_lines(s.stderr());
    let status = s
        .signal_and_wait(Signal::TERM, Duration::from_secs(5))
        .expect("ferry did not exit within 5 s of SIGTERM");
    assert_eq!(status.code(), Some(0));
    let mut seen = Vec::new();
    drain_lines(&rx, &mut seen);
    seen.iter().map(|l| l.trim_end().to_owned()).collect()
}

/// With `--reuse-port` on a kernel that would reset connections queued on
/// the listener of a process that stops (`net.ipv4.tcp_migrate_req` 0,
/// the default), stderr says so and how to change it; with it at 1, or
/// without `--reuse-port`, nothing is said.
#[test]
fn reuse_port_says_when_a_restart_could_reset_a_connection() {
    let _serial = serial();
    let dir = site(&[("a.txt", HELLO)]);
    let note = "ferry: note: net.ipv4.tcp_migrate_req is 0, so when a process sharing this port \
                stops, a connection that arrives just as it closes its listener can be reset; \
                `sysctl net.ipv4.tcp_migrate_req=1` hands such connections to the process that stays";
    let stopped = "ferry: stopped; connections accepted per worker: 0";
    let reuse = ["--port", "0", "--reuse-port", "--threads", "1"];
    {
        let Some(_zero) = MigrateReq::set("0") else {
            skip(
                "listening::reuse_port_says_when_a_restart_could_reset_a_connection",
                "cannot set net.ipv4.tcp_migrate_req (needs root, Linux 5.14+)",
            );
            return;
        };
        assert_eq!(stderr_of_a_run(dir.path(), &reuse), [note, stopped]);
        assert_eq!(
            stderr_of_a_run(dir.path(), &["--port", "0", "--threads", "1"]),
            [stopped]
        );
    }
    let _one = MigrateReq::set("1").expect("set it to 0 a moment ago");
    assert_eq!(stderr_of_a_run(dir.path(), &reuse), [stopped]);
}

impl Drop for MigrateReq {
    fn drop(&mut self) {
        let _ = std::fs::write(MIGRATE_REQ, self.before.trim());
    }
}

/// What the clients of the restart test saw.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    /// Keep-alive requests retried on a new connection after the old
    /// server closed the idle one (as clients do).
    retried: AtomicU64,
    failed: AtomicU64,
    resets: AtomicU64,
    errors: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn fail(&self, what: String, reset: bool) {
        if reset {
            self.resets.fetch_add(1, Ordering::Relaxed);
        }
        self.failed.fetch_add(1, Ordering::Relaxed);
        let mut e = self.errors.lock().unwrap();
        if e.len() < 10 {
            e.push(what);
        }
    }
}

/// One request on `c` (a new connection when None); Ok(body) or the error.
fn one_request(
    c: &mut Option<TcpStream>,
    addr: SocketAddr,
    keep_alive: bool,
) -> Result<Vec<u8>, std::io::Error> {
    if c.is_none() {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        *c = Some(s);
    }
    let s = c.as_mut().unwrap();
    let req: &[u8] = if keep_alive {
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"
    } else {
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    };
    s.write_all(req)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let r = loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse_response(&buf, false, false) {
            Parse::Done(r, _) => break r,
            Parse::NeedMore => {}
            Parse::Bad(e) => return Err(std::io::Error::other(e)),
        }
    };
    if r.status_line != OK || r.body != HELLO {
        return Err(std::io::Error::other(format!(
            "{} {:?}",
            r.status_line, r.body
        )));
    }
    let closing = !keep_alive || r.header("Connection") == Some("close");
    if closing {
        *c = None;
    }
    Ok(r.body)
}

fn client(addr: SocketAddr, keep_alive: bool, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let mut conn: Option<TcpStream> = None;
    for _ in 0..1_000_000 {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let reused = conn.is_some();
        match one_request(&mut conn, addr, keep_alive) {
            Ok(_) => {
                tally.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                conn = None;
                if reused {
                    // The server closed an idle keep-alive connection as
                    // our request went out: a client retries it.
                    tally.retried.fetch_add(1, Ordering::Relaxed);
                    match one_request(&mut conn, addr, keep_alive) {
                        Ok(_) => {
                            tally.ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            conn = None;
                            tally.fail(
                                format!("retry: {e}"),
                                e.kind() == ErrorKind::ConnectionReset,
                            );
                        }
                    }
                } else {
                    tally.fail(
                        format!("new connection: {e}"),
                        e.kind() == ErrorKind::ConnectionReset,
                    );
                }
            }
        }
    }
}

/// Until the clients have made `n` more successful requests (bounded).
fn wait_for_ok(tally: &Tally, n: u64) {
    let target = tally.ok.load(Ordering::Relaxed) + n;
    assert!(
        wait_until(Duration::from_secs(30), || tally.ok.load(Ordering::Relaxed)
            >= target),
        "the clients stalled at {} requests",
        tally.ok.load(Ordering::Relaxed)
    );
}

/// Zero-downtime restart: with clients running throughout (half keep-alive,
/// half a new connection per request), a new ferry starts with
/// `--reuse-port` on the same port, the old one gets SIGTERM, stops
/// accepting at once and drains: no request fails and no connection is
/// reset (a keep-alive connection the old server closes while idle is
/// retried, as clients do).
#[test]
fn a_restart_with_reuse_port_under_load_fails_no_request() {
    let _serial = serial();
    let Some(_migrate) = MigrateReq::enable() else {
        skip(
            "listening::a_restart_with_reuse_port_under_load_fails_no_request",
            "cannot set net.ipv4.tcp_migrate_req=1 (needs root, Linux 5.14+)",
        );
        return;
    };
    let dir = site(&[("a.txt", HELLO)]);
    let mut old = start_exact(
        dir.path(),
        &["--port", "0", "--reuse-port", "--threads", "2"],
    );
    let addr = old.addr;
    let port = addr.port().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let clients: Vec<_> = [true, true, false, false]
        .into_iter()
        .map(|keep_alive| {
            let (stop, tally) = (Arc::clone(&stop), Arc::clone(&tally));
            std::thread::spawn(move || client(addr, keep_alive, stop, tally))
        })
        .collect();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for_ok(&tally, 2000);
        let new = start_exact(
            dir.path(),
            &["--port", &port, "--reuse-port", "--threads", "2"],
        );
        wait_for_ok(&tally, 2000);
        let status = old
            .signal_and_wait(Signal::TERM, Duration::from_secs(10))
            .expect("the old server did not exit");
        assert_eq!(status.code(), Some(0));
        wait_for_ok(&tally, 4000);
        assert_ok(&get_at(new.addr), HELLO);
        new
    }));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let _new = result.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let (ok, retried) = (
        tally.ok.load(Ordering::Relaxed),
        tally.retried.load(Ordering::Relaxed),
    );
    let (failed, resets) = (
        tally.failed.load(Ordering::Relaxed),
        tally.resets.load(Ordering::Relaxed),
    );
    let _ = writeln!(
        std::io::stderr(),
        "reuse-port restart under load: {ok} requests, {failed} failed, {resets} resets, {retried} keep-alive retries"
    );
    assert_eq!(
        (failed, resets),
        (0, 0),
        "errors: {:?}",
        tally.errors.lock().unwrap()
    );
}
