//! The one test harness: start the real `ferry` binary on port 0, build
//! sites (with a secret planted outside the served root), talk to the
//! server over raw sockets (every one with timeouts) or curl, parse its
//! responses, probe its descriptors and memory, and record skips visibly.
//! Every server is killed when its `Server` is dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Read and write timeout of every test socket.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ferry");
/// Content of the files planted outside every site's root: no response
/// may ever contain it.
pub const SECRET: &str = "TOPSECRET-OUTSIDE";
/// `Allow` of every 405 and OPTIONS answer.
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

pub const OK: &str = "HTTP/1.1 200 OK";
pub const NO_CONTENT: &str = "HTTP/1.1 204 No Content";
pub const PARTIAL: &str = "HTTP/1.1 206 Partial Content";
pub const MOVED: &str = "HTTP/1.1 301 Moved Permanently";
pub const NOT_MODIFIED: &str = "HTTP/1.1 304 Not Modified";
pub const BAD_REQUEST: &str = "HTTP/1.1 400 Bad Request";
pub const FORBIDDEN: &str = "HTTP/1.1 403 Forbidden";
pub const NOT_FOUND: &str = "HTTP/1.1 404 Not Found";
pub const NOT_ALLOWED: &str = "HTTP/1.1 405 Method Not Allowed";
pub const TIMEOUT: &str = "HTTP/1.1 408 Request Timeout";
pub const PRECONDITION_FAILED: &str = "HTTP/1.1 412 Precondition Failed";
pub const TOO_LARGE: &str = "HTTP/1.1 413 Content Too Large";
pub const URI_TOO_LONG: &str = "HTTP/1.1 414 URI Too Long";
pub const UNSATISFIABLE: &str = "HTTP/1.1 416 Range Not Satisfiable";
pub const HEAD_TOO_LARGE: &str = "HTTP/1.1 431 Request Header Fields Too Large";
pub const NOT_IMPLEMENTED: &str = "HTTP/1.1 501 Not Implemented";
pub const UNAVAILABLE: &str = "HTTP/1.1 503 Service Unavailable";
pub const BAD_VERSION: &str = "HTTP/1.1 505 HTTP Version Not Supported";

// ---------------------------------------------------------------------------
// Sites
// ---------------------------------------------------------------------------

/// A temporary tree: `<outside>/root` is served; `<outside>/secret.txt` and
/// `<outside>/outdir/secret.txt` hold [`SECRET`] and must never be served.
pub struct Site {
    /// Removed on drop.
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Site {
    pub fn new() -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        // Canonical, so startup lines and symlink targets compare exactly.
        let outside = std::fs::canonicalize(dir.path()).expect("canonical tempdir");
        let root = outside.join("root");
        std::fs::create_dir_all(&root).expect("create root");
        std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
        std::fs::create_dir_all(outside.join("outdir")).unwrap();
        std::fs::write(outside.join("outdir/secret.txt"), SECRET).unwrap();
        Site { _dir: dir, root }
    }

    /// The small tree many tests share.
    pub fn standard() -> Site {
        let s = Site::new();
        s.file("a.txt", b"hello")
            .file("b.txt", b"world!")
            .file("c.txt", b"third")
            .file("hidden.txt", b"HIDDEN-REQUEST-EXECUTED")
            .file(
                "index.html",
                b"<!doctype html><title>root</title>ROOT-INDEX\n",
            )
            .file("sub/index.html", b"<p>SUB-INDEX</p>\n")
            .file("sub/x.txt", b"sub-x");
        s
    }

    /// The served root.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The folder holding the root and the secrets.
    pub fn outside(&self) -> PathBuf {
        self.root.parent().expect("root has a parent").to_path_buf()
    }

    pub fn file(&self, rel: &str, data: &[u8]) -> &Site {
        let p = self.root.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, data).unwrap();
        self
    }

    pub fn dir(&self, rel: &str) -> &Site {
        std::fs::create_dir_all(self.root.join(rel)).unwrap();
        self
    }

    pub fn symlink(&self, target: impl AsRef<Path>, rel: &str) -> &Site {
        std::os::unix::fs::symlink(target, self.root.join(rel)).unwrap();
        self
    }
}

/// A site with the given files (path → content) under its root.
pub fn site(files: &[(&str, &[u8])]) -> Site {
    let s = Site::new();
    for (path, content) in files {
        s.file(path, content);
    }
    s
}

/// Sets a file's mtime.
pub fn set_mtime(p: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(p)
        .or_else(|_| std::fs::File::open(p))
        .and_then(|f| f.set_modified(t))
        .unwrap_or_else(|e| panic!("set mtime of {}: {e}", p.display()));
}

/// `secs` (and `nanos`) after the epoch.
pub fn at(secs: u64, nanos: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(secs, nanos)
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// IMF-fixdate of a Unix time (1970..9999).
pub fn imf(secs: u64) -> String {
    httpdate::fmt_http_date(at(secs, 0))
}

/// Seconds of an IMF-fixdate; None for any other form or an invalid date.
pub fn parse_imf(s: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(s).ok()?;
    (httpdate::fmt_http_date(t) == s).then(|| t.duration_since(UNIX_EPOCH).unwrap().as_secs())
}

/// Deterministic non-repeating bytes (a 64-bit LCG), different per seed.
/// The suite's only PRNG.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub root: PathBuf,
    /// The startup line (with its newline).
    pub line: String,
    /// The server runs as a child of `child` (strace): kill it too.
    grandchild: bool,
}

impl Server {
    /// Starts `ferry ROOT --port 0 --quiet ARGS…`.
    pub fn start(root: &Path, args: &[&str]) -> Server {
        let mut all = vec!["--quiet"];
        all.extend_from_slice(args);
        Server::start_raw(root, &all)
    }

    /// Starts `ferry ROOT --port 0 ARGS…` (no implicit --quiet).
    pub fn start_raw(root: &Path, args: &[&str]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg(root).arg("--port").arg("0").args(args);
        Server::spawn(cmd, root)
    }

    /// Starts a prepared command that execs ferry (same pid) and waits for
    /// its startup line.
    pub fn spawn(cmd: Command, root: &Path) -> Server {
        Server::spawn_inner(cmd, root, false)
    }

    /// Starts a command that runs ferry as its child (strace -f): the drop
    /// kills ferry as well.
    pub fn spawn_parent_of(cmd: Command, root: &Path) -> Server {
        Server::spawn_inner(cmd, root, true)
    }

    fn spawn_inner(mut cmd: Command, root: &Path, grandchild: bool) -> Server {
        raise_fd_limit();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ferry");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining until the child exits (bounded by EOF).
            let mut sink = Vec::new();
            let _ = r.read_to_end(&mut sink);
        });
        let line = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if !line.is_empty() => line,
            _ => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("wait");
                panic!(
                    "ferry did not print its startup line; stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        };
        let url = line.trim_end().rsplit(' ').next().expect("url").to_owned();
        let hostport = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let addr: SocketAddr = hostport.parse().expect("address in startup line");
        Server {
            child,
            addr,
            root: root.to_path_buf(),
            line,
            grandchild,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn connect(&self) -> TcpStream {
        connect(self.addr)
    }

    /// A buffered keep-alive client.
    pub fn conn(&self) -> Conn {
        Conn::new(self.connect())
    }

    /// Sends raw bytes on a new connection and reads until the server closes.
    pub fn exchange(&self, raw: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        s.write_all(raw).expect("write");
        read_to_close(&mut s)
    }

    /// One request (raw bytes) on a new connection: its response, with the
    /// fields every response must have checked.
    pub fn request(&self, raw: &[u8]) -> Response {
        let mut c = self.conn();
        c.send(raw);
        let r = c.read_response(raw.starts_with(b"HEAD "));
        r.assert_common();
        r
    }

    /// `GET path` with `Connection: close` on a new connection.
    pub fn get(&self, path: &str) -> Response {
        let mut s = self.connect();
        let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).expect("write");
        read_response(&mut s, false).expect("response")
    }

    /// `METHOD path` with extra field lines (`Name: value`), `Connection:
    /// close`, on its own connection; checks that nothing follows the
    /// response and the fields every response has.
    pub fn ask(&self, method: &str, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut s = self.connect();
        s.write_all(build(method, path, fields, true).as_bytes())
            .expect("write request");
        let r = read_response(&mut s, method == "HEAD").expect("a response");
        let rest = read_to_close(&mut s);
        assert!(
            rest.is_empty(),
            "{method} {path} {fields:?}: {} stray bytes after the {} response: {:?}",
            rest.len(),
            r.status_line,
            String::from_utf8_lossy(&rest[..rest.len().min(120)])
        );
        r.assert_common();
        r
    }

    pub fn stderr(&mut self) -> ChildStderr {
        self.child.stderr.take().expect("stderr taken once")
    }

    /// Sends a signal and waits (bounded) for the exit.
    pub fn signal_and_wait(
        &mut self,
        sig: rustix::process::Signal,
        limit: Duration,
    ) -> Option<std::process::ExitStatus> {
        self.signal(sig);
        self.wait_exit(limit)
    }

    pub fn signal(&self, sig: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, sig).expect("kill");
    }

    /// Waits (bounded) for the exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.grandchild {
            kill_children(self.child.id());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills the children of `pid` (ferry under strace).
fn kill_children(pid: u32) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for t in tasks.flatten() {
        let children = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        for child in children
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
            .filter_map(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(child, rustix::process::Signal::KILL);
        }
    }
}

/// Raises this process's open-file soft limit (tests open many sockets).
pub fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut l = getrlimit(Resource::Nofile);
    if l.current != l.maximum {
        l.current = l.maximum;
        let _ = setrlimit(Resource::Nofile, l);
    }
}

/// `ferry ROOT --port 0 ARGS…` under `ulimit -n LIMIT` (soft and hard), so
/// the server cannot raise its descriptor limit.
pub fn command_with_fd_limit(limit: u32, root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(BIN)
        .arg(root)
        .args(["--port", "0"])
        .args(args);
    cmd
}

/// Runs ferry expecting it to exit within 5 s: (exit code, stdout, stderr).
pub fn run_ferry(args: &[&str], cwd: Option<&Path>) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    run_to_exit(cmd)
}

/// Runs `cmd` (stdout and stderr piped) expecting it to exit within 5 s:
/// (exit code, stdout, stderr).
pub fn run_to_exit(mut cmd: Command) -> (Option<i32>, String, String) {
    let mut child = cmd.spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not exit within 5 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A startup error: status 2, nothing on stdout, one line on stderr, no
/// panic. Returns the line.
pub fn one_line_error(args: &[&str]) -> String {
    let (code, out, err) = run_ferry(args, None);
    assert_eq!(code, Some(2), "{args:?}: {err}");
    assert_eq!(out, "", "{args:?}: nothing on stdout");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Forwards a server's stderr, line by line, to a channel.
pub fn stderr_lines(stderr: ChildStderr) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(stderr);
        for _ in 0..1_000_000 {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// Collects lines until one contains every needle, or the time is up.
pub fn wait_for_line(
    rx: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    needles: &[&str],
    within: Duration,
) -> Option<String> {
    let found = |l: &String| needles.iter().all(|n| l.contains(n));
    if let Some(l) = seen.iter().find(|l| found(l)) {
        return Some(l.clone());
    }
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(l) => {
                let hit = found(&l);
                seen.push(l.clone());
                if hit {
                    return Some(l);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        }
    }
    None
}

/// Every line still to come, up to the writer's EOF (the process exited).
pub fn drain_lines(rx: &mpsc::Receiver<String>, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(l) => seen.push(l),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
    panic!("stderr did not reach EOF within 5 s of the exit");
}

/// One access-log line:
/// `2026-12-01T17:05:03.123Z PEER "METHOD target VERSION" STATUS BYTES Nms[ aborted]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// RFC 3339 in UTC with milliseconds (fixed width: compares as text).
    pub time: String,
    pub peer: String,
    /// `METHOD target VERSION`, as escaped in the log.
    pub request: String,
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// Duration in milliseconds (three decimals in the log).
    pub ms: f64,
    pub aborted: bool,
}

/// Parses an access-log line; None for anything else (a `ferry:` note).
/// Panics on a line that starts like one (with a digit) and is malformed.
pub fn parse_log_line(line: &str) -> Option<LogLine> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    if !line.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    macro_rules! bad {
        () => {
            panic!("malformed access-log line: {line:?}")
        };
    }
    let (time, rest) = line.split_once(' ').unwrap_or_else(|| bad!());
    let t = time.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
    let shape = t.len() == 24
        && digits.iter().all(|&i| t[i].is_ascii_digit())
        && [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (23, b'Z'),
        ]
        .iter()
        .all(|&(i, c)| t[i] == c);
    if !shape {
        bad!();
    }
    let (peer, rest) = rest.split_once(" \"").unwrap_or_else(|| bad!());
    let (request, rest) = rest.split_once("\" ").unwrap_or_else(|| bad!());
    let fields: Vec<&str> = rest.split(' ').collect();
    let (status, bytes, took, aborted) = match fields[..] {
        [s, b, d] => (s, b, d, false),
        [s, b, d, "aborted"] => (s, b, d, true),
        _ => bad!(),
    };
    let ms = took.strip_suffix("ms").unwrap_or_else(|| bad!());
    if ms.split_once('.').is_none_or(|(_, frac)| frac.len() != 3) {
        bad!();
    }
    Some(LogLine {
        time: time.to_owned(),
        peer: peer.to_owned(),
        request: request.to_owned(),
        status: status.parse().unwrap_or_else(|_| bad!()),
        bytes: bytes.parse().unwrap_or_else(|_| bad!()),
        ms: ms.parse().unwrap_or_else(|_| bad!()),
        aborted,
    })
}

/// `t` as the access log shows times: `2026-12-01T17:05:03.123Z`.
pub fn rfc3339_ms(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).expect("after 1970");
    let (days, tod) = ((d.as_secs() / 86_400) as i64, d.as_secs() % 86_400);
    // Days to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60,
        d.subsec_millis()
    )
}

/// Every access-log line among `lines`, in order.
pub fn log_lines(lines: &[String]) -> Vec<LogLine> {
    lines.iter().filter_map(|l| parse_log_line(l)).collect()
}

/// Polls `f` every 10 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------
// Sockets
// ---------------------------------------------------------------------------

pub fn connect(addr: SocketAddr) -> TcpStream {
    connect_with(addr, IO_TIMEOUT)
}

pub fn connect_with(addr: SocketAddr, timeout: Duration) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, timeout).expect("connect");
    s.set_read_timeout(Some(timeout)).unwrap();
    s.set_write_timeout(Some(timeout)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// A client socket with a small receive buffer, so the server cannot push
/// a large file into socket buffers and be done with it.
pub fn connect_small_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> TcpStream {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
    let fd = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .expect("socket");
    sockopt::set_socket_recv_buffer_size(&fd, rcvbuf).expect("SO_RCVBUF");
    // Loopback and a listening socket: this connect completes at once.
    rustix::net::connect(&fd, &addr).expect("connect");
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Closes with an RST instead of a FIN (SO_LINGER 0).
pub fn reset(s: TcpStream) {
    rustix::net::sockopt::set_socket_linger(&s, Some(Duration::ZERO)).expect("SO_LINGER 0");
    drop(s);
}

/// Reads until EOF (a reset counts as EOF); panics on a timeout.
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    for _ in 0..1_000_000 {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!(
                "read to EOF (the server should close): {e} after {} bytes",
                out.len()
            ),
        }
    }
    panic!("the server kept sending");
}

/// Reads until EOF or reset; `Err` on a timeout (the server kept it open).
pub fn wait_closed(s: &mut TcpStream) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..100_000 {
        match s.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(out),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// EOF, or the connection was reset.
pub fn is_eof_or_reset(r: &std::io::Result<usize>) -> bool {
    match r {
        Ok(0) => true,
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
        ),
        Ok(_) => false,
    }
}

/// Half-closes our side after writing (so the server sees EOF).
pub fn finish_writing(s: &TcpStream) {
    let _ = s.shutdown(Shutdown::Write);
}

/// A keep-alive GET on an existing connection.
pub fn get_on(s: &mut TcpStream, path: &str) -> Response {
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
    s.write_all(req.as_bytes()).expect("write request");
    read_response(s, false).expect("a response, not EOF")
}

/// A request head: `METHOD path HTTP/1.1`, `Host: t`, the fields, and
/// `Connection: close` if asked.
pub fn build(method: &str, path: &str, fields: &[(&str, &str)], close: bool) -> String {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n");
    for (n, v) in fields {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    if close {
        r.push_str("Connection: close\r\n");
    }
    r.push_str("\r\n");
    r
}

/// A keep-alive request with fields on an existing connection.
pub fn ask_on(c: &mut TcpStream, method: &str, path: &str, fields: &[(&str, &str)]) -> Response {
    c.write_all(build(method, path, fields, false).as_bytes())
        .expect("write request");
    let r = read_response(c, method == "HEAD").expect("a response, not EOF");
    r.assert_common();
    r
}

/// A `Connection: close` GET on a new connection, read to the server's
/// close, that reports failures instead of panicking (for polling loops).
pub fn try_get_raw(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(timeout)).unwrap();
    s.set_write_timeout(Some(timeout)).unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .map_err(|e| format!("read: {e} after {} bytes", raw.len()))?;
    Ok(raw)
}

/// Like `try_get_raw`, parsed: exactly one response or an error.
pub fn try_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Response, String> {
    let raw = try_get_raw(addr, path, timeout)?;
    if head_end(&raw).is_none() {
        return Err(format!(
            "no complete head: {:?}",
            String::from_utf8_lossy(&raw)
        ));
    }
    let mut rs = parse_all(&raw, &[false]);
    if rs.len() != 1 {
        return Err(format!("{} responses", rs.len()));
    }
    Ok(rs.remove(0))
}

/// `GET path` with `Connection: close`: exactly one response, read to the
/// server's close.
pub fn fetch(addr: SocketAddr, path: &str) -> Response {
    try_get(addr, path, IO_TIMEOUT).unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// `GET path` on a new connection and the time it took, connect included.
pub fn timed_get(addr: SocketAddr, path: &str) -> (Response, Duration) {
    let t = Instant::now();
    let r = fetch(addr, path);
    (r, t.elapsed())
}

/// Reads until `buf` holds at least `want` bytes.
pub fn read_at_least(s: &mut TcpStream, buf: &mut Vec<u8>, want: usize) -> Result<(), String> {
    let mut chunk = vec![0u8; 64 * 1024];
    for _ in 0..100_000 {
        if buf.len() >= want {
            return Ok(());
        }
        match s.read(&mut chunk) {
            Ok(0) => return Err(format!("EOF after {} bytes", buf.len())),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("read after {} bytes: {e}", buf.len())),
        }
    }
    Err(format!("only {} bytes after many reads", buf.len()))
}

/// How a connection ended.
#[derive(Debug, PartialEq)]
pub enum Closed {
    Eof,
    Reset,
}

/// A keep-alive client: a socket and what was read past the last response.
pub struct Conn {
    pub s: TcpStream,
    pub buf: Vec<u8>,
}

impl Conn {
    pub fn new(s: TcpStream) -> Conn {
        Conn { s, buf: Vec::new() }
    }

    pub fn send(&mut self, data: &[u8]) {
        self.s.write_all(data).expect("write request");
    }

    /// Write, ignoring errors (the server may legitimately close early).
    pub fn send_lossy(&mut self, data: &[u8]) {
        let _ = self.s.write_all(data);
    }

    pub fn get(&mut self, path: &str) -> Response {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        self.read_response(false)
    }

    /// A keep-alive request with fields.
    pub fn ask(&mut self, method: &str, path: &str, fields: &[(&str, &str)]) -> Response {
        self.send(build(method, path, fields, false).as_bytes());
        self.read_response(method == "HEAD")
    }

    pub fn read_response(&mut self, head_req: bool) -> Response {
        match self.try_read_response(head_req) {
            Ok(r) => r,
            Err(e) => panic!(
                "reading a response failed: {e}; bytes buffered: {:?}",
                String::from_utf8_lossy(&self.buf[..self.buf.len().min(300)])
            ),
        }
    }

    /// The next response refuses the request: `status`, the fields every
    /// response has, `Connection: close`, then a clean close.
    pub fn read_refusal_and_close(&mut self, status: &str) -> Response {
        let r = self
            .try_read_response(false)
            .unwrap_or_else(|e| panic!("no response: {e}"));
        r.assert_common();
        assert_eq!(r.status_line, status);
        assert_eq!(r.header("Connection"), Some("close"));
        self.assert_closed_clean(&format!("after the {status}"));
        r
    }

    pub fn try_read_response(&mut self, head_req: bool) -> Result<Response, String> {
        let deadline = Instant::now() + IO_TIMEOUT;
        let mut tmp = vec![0u8; 64 * 1024];
        loop {
            match parse_response(&self.buf, head_req, false) {
                Parse::Done(r, used) => {
                    self.buf.drain(..used);
                    return Ok(r);
                }
                Parse::Bad(e) => return Err(e),
                Parse::NeedMore => {}
            }
            if Instant::now() > deadline {
                return Err("deadline waiting for a response".into());
            }
            match self.s.read(&mut tmp) {
                Ok(0) => {
                    return match parse_response(&self.buf, head_req, true) {
                        Parse::Done(r, used) => {
                            self.buf.drain(..used);
                            Ok(r)
                        }
                        Parse::Bad(e) => Err(format!("EOF: {e}")),
                        Parse::NeedMore => Err("EOF before a complete response".into()),
                    };
                }
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e) => return Err(format!("read error: {e}")),
            }
        }
    }

    /// Reads until EOF (or reset) within `within`; the bytes seen meanwhile.
    pub fn wait_closed(&mut self, within: Duration) -> Result<(Closed, Vec<u8>), Vec<u8>> {
        let deadline = Instant::now() + within;
        let mut extra = std::mem::take(&mut self.buf);
        let mut tmp = vec![0u8; 64 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(extra);
            }
            self.s
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match self.s.read(&mut tmp) {
                Ok(0) => return Ok((Closed::Eof, extra)),
                Ok(n) => extra.extend_from_slice(&tmp[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::ConnectionReset
                        || e.kind() == std::io::ErrorKind::ConnectionAborted =>
                {
                    return Ok((Closed::Reset, extra));
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("unexpected read error while waiting for close: {e}"),
            }
        }
    }

    /// The server closes without sending anything more.
    pub fn assert_closed_clean(&mut self, what: &str) {
        match self.wait_closed(IO_TIMEOUT) {
            Ok((_, extra)) => assert!(
                extra.is_empty(),
                "{what}: server sent extra bytes before closing: {:?}",
                String::from_utf8_lossy(&extra)
            ),
            Err(extra) => panic!(
                "{what}: connection was not closed within 5 s (extra bytes {:?})",
                String::from_utf8_lossy(&extra)
            ),
        }
    }

    /// Nothing arrives and no EOF within `d`.
    pub fn assert_still_open(&mut self, d: Duration, what: &str) {
        assert!(self.buf.is_empty(), "{what}: unread bytes {:?}", self.buf);
        self.s.set_read_timeout(Some(d)).unwrap();
        let mut tmp = [0u8; 1024];
        let r = self.s.read(&mut tmp);
        self.s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        match r {
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Ok(0) => panic!("{what}: connection was closed"),
            Ok(n) => panic!(
                "{what}: unexpected bytes {:?}",
                String::from_utf8_lossy(&tmp[..n])
            ),
            Err(e) => panic!("{what}: read error {e}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Response {
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The request was HEAD: no body whatever Content-Length says.
    pub head_request: bool,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    /// The single value of a field (case-insensitive name); panics if repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut found = self.all(name).into_iter();
        let first = found.next();
        assert!(found.next().is_none(), "field {name} repeated");
        first
    }

    /// Every value of a field.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether a list field holds `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.all(name)
            .iter()
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Lower-cased field names, in order.
    pub fn names(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect()
    }

    /// Fields minus Date, lower-cased names, sorted: for HEAD/GET comparison.
    pub fn comparable_headers(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect();
        v.sort();
        v
    }

    /// What every response carries: `HTTP/1.1`, one `Server: ferry`, one
    /// current IMF-fixdate `Date`, no Transfer-Encoding, one exact
    /// Content-Length (none on 1xx/204), and an HTML page on errors.
    pub fn assert_common(&self) {
        let ctx = format!("response {:?} fields {:?}", self.status_line, self.headers);
        assert!(self.status_line.starts_with("HTTP/1.1 "), "{ctx}");
        assert_eq!(self.all("server"), ["ferry"], "one Server: ferry: {ctx}");
        let dates = self.all("date");
        assert_eq!(dates.len(), 1, "one Date: {ctx}");
        let t = parse_imf(dates[0]).unwrap_or_else(|| panic!("Date is not IMF-fixdate: {ctx}"));
        assert!(
            t.abs_diff(now_secs()) <= 5,
            "Date {} is not the current time: {ctx}",
            dates[0]
        );
        assert!(
            self.header("transfer-encoding").is_none(),
            "no Transfer-Encoding: {ctx}"
        );
        let code = self.status();
        let lengths = self.all("content-length");
        if (100..200).contains(&code) || code == 204 {
            assert!(lengths.is_empty(), "1xx/204 has no Content-Length: {ctx}");
            assert!(self.body.is_empty());
        } else if code != 304 {
            assert_eq!(lengths.len(), 1, "one Content-Length: {ctx}");
            let n: usize = lengths[0]
                .parse()
                .unwrap_or_else(|_| panic!("Content-Length not a number: {ctx}"));
            if !self.head_request {
                assert_eq!(n, self.body.len(), "Content-Length vs body: {ctx}");
            }
        }
        if code >= 400 && !self.head_request {
            let ct = self.header("content-type").unwrap_or("");
            assert!(ct.starts_with("text/html"), "error pages are HTML: {ctx}");
            assert!(!self.body.is_empty(), "error pages have a body: {ctx}");
        }
    }
}

/// A 200 with exactly `body`.
pub fn assert_ok(r: &Response, body: &[u8]) {
    assert_eq!(r.status_line, OK, "{:?}", r.headers);
    assert_eq!(
        r.header("Content-Length"),
        Some(body.len().to_string().as_str())
    );
    assert!(
        r.body == body,
        "body differs: {} bytes received, {} expected; starts {:?}",
        r.body.len(),
        body.len(),
        String::from_utf8_lossy(&r.body[..r.body.len().min(80)])
    );
}

/// Offset just past the first CRLFCRLF.
pub fn head_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The outcome of parsing a buffer that should start with a response.
pub enum Parse {
    Done(Response, usize),
    NeedMore,
    Bad(String),
}

/// Status line and fields of a head (`head` ends with CRLFCRLF).
fn parse_head(head: &[u8], head_request: bool) -> Result<Response, String> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.trim_end_matches("\r\n").split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    if !status_line.starts_with("HTTP/") || status_line.len() < 12 {
        return Err(format!("bad status line {status_line:?}"));
    }
    let mut headers = Vec::new();
    for l in lines {
        let (n, v) = l
            .split_once(':')
            .ok_or_else(|| format!("field without a colon: {l:?}"))?;
        headers.push((n.to_owned(), v.trim_matches([' ', '\t']).to_owned()));
    }
    Ok(Response {
        status_line,
        headers,
        body: Vec::new(),
        head_request,
    })
}

/// Whether a response with this status to this request has no body.
fn bodiless(code: u16, head_request: bool) -> bool {
    head_request || code == 204 || code == 304 || (100..200).contains(&code)
}

/// Parses one response at the start of `buf`; with `eof`, a response
/// without Content-Length ends at the end of `buf`.
pub fn parse_response(buf: &[u8], head_req: bool, eof: bool) -> Parse {
    let Some(end) = head_end(buf) else {
        if buf.len() > 1 << 20 {
            return Parse::Bad("response head larger than 1 MiB".into());
        }
        return Parse::NeedMore;
    };
    let mut r = match parse_head(&buf[..end], head_req) {
        Ok(r) => r,
        Err(e) => return Parse::Bad(e),
    };
    let len = if bodiless(r.status(), head_req) {
        0
    } else {
        let lengths = r.all("content-length");
        match lengths.first() {
            Some(v) => match v.parse::<usize>() {
                Ok(n) => n,
                Err(_) => return Parse::Bad(format!("bad Content-Length {v:?}")),
            },
            None if eof => buf.len() - end,
            None => return Parse::NeedMore,
        }
    };
    if buf.len() < end + len {
        if eof {
            return Parse::Bad(format!("EOF after {} of {len} body bytes", buf.len() - end));
        }
        return Parse::NeedMore;
    }
    r.body = buf[end..end + len].to_vec();
    Parse::Done(r, end + len)
}

/// Reads one response from a socket without reading past it. Returns None
/// on a clean EOF before any byte.
pub fn read_response(s: &mut TcpStream, head_request: bool) -> Option<Response> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match s.read(&mut byte) {
            Ok(0) if head.is_empty() => return None,
            Ok(0) => panic!("EOF inside head: {:?}", String::from_utf8_lossy(&head)),
            Ok(_) => head.push(byte[0]),
            Err(e) => panic!(
                "read head: {e}; so far {:?}",
                String::from_utf8_lossy(&head)
            ),
        }
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
        assert!(head.len() < 100_000, "head too long");
    }
    let mut resp = parse_head(&head, head_request).unwrap_or_else(|e| panic!("{e}"));
    if bodiless(resp.status(), head_request) {
        return Some(resp);
    }
    let len: usize = resp
        .header("Content-Length")
        .expect("Content-Length")
        .parse()
        .expect("numeric Content-Length");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).expect("read body");
    resp.body = body;
    Some(resp)
}

/// Parses every response in `raw` (a whole conversation read to EOF);
/// `head_requests[i]`: the i-th request was HEAD (interim 1xx responses
/// don't count).
pub fn parse_all(raw: &[u8], head_requests: &[bool]) -> Vec<Response> {
    let mut out = Vec::new();
    let mut rest = raw;
    let mut i = 0;
    for _ in 0..100_000 {
        if rest.is_empty() {
            return out;
        }
        let head_only = head_requests.get(i).copied().unwrap_or(false);
        match parse_response(rest, head_only, true) {
            Parse::Done(r, used) => {
                if !(100..200).contains(&r.status()) {
                    i += 1;
                }
                out.push(r);
                rest = &rest[used..];
            }
            Parse::NeedMore => panic!("incomplete response: {:?}", String::from_utf8_lossy(rest)),
            Parse::Bad(e) => panic!("{e}: {:?}", String::from_utf8_lossy(rest)),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// curl
// ---------------------------------------------------------------------------

/// Runs curl with a 10 s cap; returns (exit code, stdout, stderr).
pub fn curl(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--max-time",
            "10",
            "--noproxy",
            "*",
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("curl is installed");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// curl, which must succeed; stdout.
pub fn curl_ok(args: &[&str]) -> Vec<u8> {
    let (code, out, err) = curl(args);
    assert_eq!(code, 0, "curl {args:?}: {err}");
    out
}

// ---------------------------------------------------------------------------
// The server process: descriptors, memory, CPU
// ---------------------------------------------------------------------------

/// Targets of the process's descriptors (`socket:[…]`, paths, `anon_inode:…`).
pub fn fd_targets(pid: u32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        panic!("cannot read /proc/{pid}/fd: has the server exited?");
    };
    dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.display().to_string())
        .collect()
}

/// Descriptors of the process that point at deleted files.
pub fn deleted_files_held(pid: u32) -> Vec<String> {
    fd_targets(pid)
        .into_iter()
        .filter(|t| t.ends_with(" (deleted)"))
        .collect()
}

/// A field of /proc/PID/status (`VmRSS:`, `State:`, `Uid:`).
pub fn proc_status_field(pid: u32, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .map(|v| v.trim().to_owned())
}

/// Resident memory of the process.
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_field(pid, "VmRSS:")
        .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// The largest RSS seen over `window`, sampled every 20 ms.
pub fn peak_rss_kib(pid: u32, window: Duration) -> u64 {
    let deadline = Instant::now() + window;
    let mut peak = rss_kib(pid);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        peak = peak.max(rss_kib(pid));
    }
    peak
}

/// CPU time (user + system) of the process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    let after = &st[st.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// What a server held before the hard part of a test.
#[derive(Debug, Clone, Copy)]
pub struct Baseline {
    pub fds: usize,
    pub sockets: usize,
    pub rss_kib: u64,
}

/// Extra descriptors of any kind tolerated after a test: a worker may still
/// hold a just-served file in its open-file cache (one per worker and file).
const FD_TOLERANCE: usize = 4;
/// Extra sockets tolerated after a test.
const SOCKET_TOLERANCE: usize = 1;
/// How long closes may take to happen (they are asynchronous).
const FD_SETTLE: Duration = Duration::from_secs(2);
/// Generous bound on RSS growth over a test.
const RSS_GROWTH_KIB: u64 = 64 * 1024;

/// Samples the server's descriptors and RSS.
pub fn baseline(server: &Server) -> Baseline {
    let pid = server.pid();
    let targets = fd_targets(pid);
    Baseline {
        fds: targets.len(),
        sockets: targets.iter().filter(|t| t.starts_with("socket:")).count(),
        rss_kib: rss_kib(pid),
    }
}

fn summarize(targets: &[String]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for t in targets {
        let key = if t.starts_with("socket:") {
            "socket:[…]".to_owned()
        } else {
            t.clone()
        };
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

/// The server is alive, its descriptors are back to `base` (polled for up
/// to 2 s, within a small tolerance) and its RSS grew by less than 64 MiB.
pub fn assert_no_leak(server: &Server, base: &Baseline) {
    let pid = server.pid();
    let state = proc_status_field(pid, "State:").unwrap_or_default();
    assert!(
        !state.is_empty() && !state.starts_with('Z') && !state.starts_with('X'),
        "the server (pid {pid}) is no longer running: state {state:?}"
    );
    let deadline = Instant::now() + FD_SETTLE;
    let mut targets = Vec::new();
    for _ in 0..1_000 {
        targets = fd_targets(pid);
        let sockets = targets.iter().filter(|t| t.starts_with("socket:")).count();
        if targets.len() <= base.fds + FD_TOLERANCE && sockets <= base.sockets + SOCKET_TOLERANCE {
            break;
        }
        if Instant::now() >= deadline {
            panic!(
                "descriptors not back to baseline {FD_SETTLE:?} after the test: \
                 {} open ({sockets} sockets), baseline {} ({} sockets), \
                 tolerance +{FD_TOLERANCE} (+{SOCKET_TOLERANCE} sockets); open now: {:?}",
                targets.len(),
                base.fds,
                base.sockets,
                summarize(&targets)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let rss = rss_kib(pid);
    assert!(
        rss <= base.rss_kib + RSS_GROWTH_KIB,
        "RSS grew from {} KiB to {rss} KiB (bound +{RSS_GROWTH_KIB} KiB); descriptors: {:?}",
        base.rss_kib,
        summarize(&targets)
    );
}

// ---------------------------------------------------------------------------
// Running the suite
// ---------------------------------------------------------------------------

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the few timing-sensitive or load-heavy tests one at a time
/// (2 cores); the others run beside them.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The build's target directory.
pub fn target_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("target"));
    if target.is_absolute() {
        target
    } else {
        manifest.join(target)
    }
}

/// Records that (part of) a test could not run here: `SKIPPED: test:
/// reason` straight to stderr (past libtest's capture) and appended to
/// `target/test-skips.txt`. The caller then returns (or goes on without
/// the part it could not check).
pub fn skip(test: &str, reason: &str) {
    let line = format!("SKIPPED: {test}: {reason}");
    let _ = writeln!(std::io::stderr(), "{line}");
    let dir = target_dir();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("test-skips.txt"))
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Whether the binary under test has the `--debug-panic-path` testing aid:
/// debug builds only (a release build refuses the flag); without it, the
/// skip of `test` is recorded.
pub fn has_panic_aid(test: &str) -> bool {
    if !cfg!(debug_assertions) {
        skip(
            test,
            "a release build has no --debug-panic-path (run the tests without --release)",
        );
    }
    cfg!(debug_assertions)
}

/// `METHOD target HTTP/1.1` with `Host: localhost`, as bytes.
pub fn req(method: &str, target: &str) -> Vec<u8> {
    format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes()
}

/// `GET target HTTP/1.1` with `Host: localhost`, as bytes.
pub fn get_req(target: &str) -> Vec<u8> {
    req("GET", target)
}

/// Runs `check` on every case of a table, then fails naming each case
/// that failed and why (httparse's `req!` tests, as one test).
pub fn table<T>(cases: &[T], name: impl Fn(&T) -> String, check: impl Fn(&T)) {
    let mut failed = Vec::new();
    for case in cases {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(case)));
        if let Err(e) = outcome {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("case {:?}: {msg}", name(case)));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}
