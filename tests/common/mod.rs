//! Test support: start the real `ferry` binary on port 0, talk to it over
//! raw sockets (every one with timeouts) and with curl, and stop it when the
//! test ends.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub root: PathBuf,
    pub line: String,
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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
        cmd.arg(root).arg("--port").arg("0").args(args);
        Server::spawn(cmd, root)
    }

    pub fn spawn(mut cmd: Command, root: &Path) -> Server {
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
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
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
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn connect(&self) -> TcpStream {
        connect(self.addr)
    }

    /// Sends raw bytes on a new connection and reads until the server closes.
    pub fn exchange(&self, raw: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        s.write_all(raw).expect("write");
        read_to_close(&mut s)
    }

    /// One request on a new connection; returns the parsed response.
    pub fn get(&self, path: &str) -> Response {
        let mut s = self.connect();
        let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).expect("write");
        read_response(&mut s, false).expect("response")
    }

    pub fn stderr(&mut self) -> ChildStderr {
        self.child.stderr.take().expect("stderr taken once")
    }

    /// Sends SIGTERM/SIGINT and waits (bounded) for exit.
    pub fn signal_and_wait(
        &mut self,
        sig: rustix::process::Signal,
        limit: Duration,
    ) -> Option<std::process::ExitStatus> {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, sig).expect("kill");
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
        let _ = self.child.kill();
        let _ = self.child.wait();
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

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Reads until EOF (or panics on timeout).
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .expect("read to EOF (server should close)");
    out
}

/// Whether the server closes `s` within the socket's read timeout, after
/// whatever it still sends.
pub fn closes(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    for _ in 0..10_000 {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
    false
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    /// The single value of a header (case-insensitive name); panics if repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        let first = found.next();
        assert!(found.next().is_none(), "header {name} repeated");
        first
    }

    pub fn names(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect()
    }

    /// Checks the fields every response must carry.
    pub fn assert_common(&self) {
        assert!(
            self.status_line.starts_with("HTTP/1.1 "),
            "{}",
            self.status_line
        );
        assert_eq!(self.header("Server"), Some("ferry"));
        let date = self.header("Date").expect("Date");
        assert!(httpdate_like(date), "Date {date:?} is not an IMF-fixdate");
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
pub fn httpdate_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 29
        && &b[3..5] == b", "
        && s.ends_with(" GMT")
        && b[7] == b' '
        && b[11] == b' '
        && b[16] == b' '
        && b[19] == b':'
        && b[22] == b':'
}

/// Reads one response. `head_request`: the request was HEAD (no body
/// regardless of Content-Length). Returns None on a clean EOF before any
/// byte.
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
    let mut resp = parse_head(&head);
    let code = resp.status();
    if head_request || code == 204 || code == 304 || (100..200).contains(&code) {
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

/// Status line and fields of a head (body left empty).
fn parse_head(head: &[u8]) -> Response {
    let text = std::str::from_utf8(head).expect("head is UTF-8");
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').expect("field has a colon");
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    Response {
        status_line,
        headers,
        body: Vec::new(),
    }
}

/// Parses every response in `raw` (a whole conversation read to EOF).
pub fn parse_all(raw: &[u8], head_requests: &[bool]) -> Vec<Response> {
    let mut out = Vec::new();
    let mut rest = raw;
    let mut i = 0;
    while !rest.is_empty() {
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("incomplete head: {:?}", String::from_utf8_lossy(rest)))
            + 4;
        let mut resp = parse_head(&rest[..end]);
        rest = &rest[end..];
        let code = resp.status();
        let head_only = head_requests.get(i).copied().unwrap_or(false);
        if !(head_only || code == 204 || code == 304 || (100..200).contains(&code)) {
            let len: usize = resp.header("Content-Length").unwrap().parse().unwrap();
            resp.body = rest[..len].to_vec();
            rest = &rest[len..];
        }
        if !(100..200).contains(&code) {
            i += 1;
        }
        out.push(resp);
    }
    out
}

/// A temporary site with the given files (path → content).
pub fn site(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, content) in files {
        let p = dir.path().join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, content).unwrap();
    }
    dir
}

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
        .output()
        .expect("curl is installed");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Half-closes our side after writing (so the server sees EOF).
pub fn finish_writing(s: &TcpStream) {
    let _ = s.shutdown(Shutdown::Write);
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs a test binary's timing-sensitive tests one at a time (2 cores).
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A keep-alive GET on an existing connection.
pub fn get_on(s: &mut TcpStream, path: &str) -> Response {
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
    s.write_all(req.as_bytes()).expect("write request");
    read_response(s, false).expect("a response, not EOF")
}

/// A 200 with exactly `body`.
pub fn assert_ok(r: &Response, body: &[u8]) {
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
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

/// Deterministic non-repeating bytes (a 64-bit LCG), different per seed.
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

/// `ferry ROOT --port 0 ARGS…` under `ulimit -n LIMIT` (soft and hard), so
/// the server cannot raise its descriptor limit.
pub fn command_with_fd_limit(limit: u32, root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_ferry"))
        .arg(root)
        .args(["--port", "0"])
        .args(args);
    cmd
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
