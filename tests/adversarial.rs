//! Adversarial black-box tests for `ferry`.
//!
//! Every test builds its own temporary tree, starts its own server on port 0,
//! talks to it over raw `TcpStream` (or `curl`), and asserts exact status
//! lines, header values and body bytes. std only.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_ferry");
const IO_TIMEOUT: Duration = Duration::from_secs(5);
const ALLOW: &str = "GET, HEAD, OPTIONS";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------
// Temporary tree: <container>/root is served, <container>/secret.txt is outside.
// ---------------------------------------------------------------------------

struct Tree {
    container: PathBuf,
    root: PathBuf,
}

impl Tree {
    fn new(tag: &str) -> Tree {
        let base = fs::canonicalize(std::env::temp_dir()).expect("canonical temp dir");
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let container = base.join(format!(
            "ferry-adv-{}-{}-{}-{}",
            tag,
            std::process::id(),
            n,
            nanos
        ));
        let root = container.join("root");
        fs::create_dir_all(&root).expect("create temp root");
        fs::write(container.join("secret.txt"), b"TOPSECRET-OUTSIDE").unwrap();
        fs::create_dir_all(container.join("outdir")).unwrap();
        fs::write(
            container.join("outdir").join("secret.txt"),
            b"TOPSECRET-OUTDIR",
        )
        .unwrap();
        Tree { container, root }
    }

    fn file(&self, rel: &str, data: &[u8]) -> &Tree {
        let p = self.root.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, data).unwrap();
        self
    }

    fn dir(&self, rel: &str) -> &Tree {
        fs::create_dir_all(self.root.join(rel)).unwrap();
        self
    }

    /// The standard small tree most tests use.
    fn standard(tag: &str) -> Tree {
        let t = Tree::new(tag);
        t.file("a.txt", b"hello")
            .file("b.txt", b"world!")
            .file("c.txt", b"third")
            .file("hidden.txt", b"HIDDEN-REQUEST-EXECUTED")
            .file(
                "index.html",
                b"<!doctype html><title>root</title>ROOT-INDEX\n",
            )
            .file("sub/index.html", b"<p>SUB-INDEX</p>\n")
            .file("sub/x.txt", b"sub-x");
        t
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.container);
    }
}

// ---------------------------------------------------------------------------
// Server process guard
// ---------------------------------------------------------------------------

struct Server {
    child: Child,
    port: u16,
    line: String,
}

impl Server {
    fn start(root: &Path, extra: &[&str]) -> Server {
        let mut args: Vec<String> = vec![
            root.to_str().unwrap().to_string(),
            "--port".into(),
            "0".into(),
            "--quiet".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        Server::start_args(&args)
    }

    fn start_args(args: &[String]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(args).stderr(Stdio::inherit());
        Server::spawn(cmd, args)
    }

    /// Spawn a prepared command (stderr as configured by the caller).
    fn spawn(mut cmd: Command, args: &[String]) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn ferry");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            let res = r.read_line(&mut line).map(|_| line);
            let _ = tx.send(res);
            // Drain anything else until the child dies (ends at EOF).
            let mut sink = Vec::new();
            let _ = r.read_to_end(&mut sink);
        });
        let line = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(l)) if !l.is_empty() => l,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ferry did not print a startup line: {other:?} (args {args:?})");
            }
        };
        let port = parse_port(&line).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cannot parse port from startup line {line:?}")
        });
        Server { child, port, line }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_port(line: &str) -> Option<u16> {
    let l = line.trim_end();
    let l = l.strip_suffix('/')?;
    let i = l.rfind(':')?;
    l[i + 1..].parse().ok()
}

/// Run ferry expecting it to exit; returns (status code, stdout, stderr).
fn run_to_exit(args: &[String]) -> (Option<i32>, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait().unwrap() {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ferry {args:?} did not exit within 5 s");
            }
            None => thread::sleep(Duration::from_millis(20)),
        }
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------------------
// Response parsing
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Resp {
    status_line: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    was_head: bool,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.all(name)
            .iter()
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
    fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// Headers minus Date, lower-cased names, sorted: for HEAD/GET comparison.
    fn comparable_headers(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect();
        v.sort();
        v
    }
}

enum Parse {
    Done(Resp, usize),
    NeedMore,
    Bad(String),
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_response(buf: &[u8], head_req: bool, eof: bool) -> Parse {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        if buf.len() > 1 << 20 {
            return Parse::Bad("response head larger than 1 MiB".into());
        }
        return Parse::NeedMore;
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("").to_string();
    if !status_line.starts_with("HTTP/") || status_line.len() < 12 {
        return Parse::Bad(format!("bad status line {status_line:?}"));
    }
    let status: u16 = match status_line.get(9..12).and_then(|s| s.parse().ok()) {
        Some(s) => s,
        None => return Parse::Bad(format!("bad status code in {status_line:?}")),
    };
    let mut headers = Vec::new();
    for l in lines {
        let Some(i) = l.find(':') else {
            return Parse::Bad(format!("bad header line {l:?}"));
        };
        headers.push((
            l[..i].to_string(),
            l[i + 1..]
                .trim_matches(|c| c == ' ' || c == '\t')
                .to_string(),
        ));
    }
    let start = end + 4;
    let bodiless = head_req || (100..200).contains(&status) || status == 204 || status == 304;
    let cl = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.clone());
    let body_len = if bodiless {
        0
    } else if let Some(cl) = cl {
        match cl.parse::<usize>() {
            Ok(n) => n,
            Err(_) => return Parse::Bad(format!("bad Content-Length {cl:?}")),
        }
    } else if eof {
        buf.len() - start
    } else {
        return Parse::NeedMore; // close-delimited; wait for EOF
    };
    if buf.len() < start + body_len {
        if eof {
            return Parse::Bad(format!(
                "EOF after {} of {} body bytes",
                buf.len() - start,
                body_len
            ));
        }
        return Parse::NeedMore;
    }
    Parse::Done(
        Resp {
            status_line,
            status,
            headers,
            body: buf[start..start + body_len].to_vec(),
            was_head: head_req,
        },
        start + body_len,
    )
}

// ---------------------------------------------------------------------------
// Connection helper
// ---------------------------------------------------------------------------

struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

#[derive(Debug, PartialEq)]
enum Closed {
    Eof,
    Reset,
}

fn connect(port: u16) -> Conn {
    connect_addr(SocketAddr::from(([127, 0, 0, 1], port)))
}

fn connect_addr(addr: SocketAddr) -> Conn {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    Conn { s, buf: Vec::new() }
}

impl Conn {
    fn send(&mut self, data: &[u8]) {
        self.s.write_all(data).expect("write request");
    }

    /// Write, ignoring errors (the server may legitimately close early).
    fn send_lossy(&mut self, data: &[u8]) {
        let _ = self.s.write_all(data);
    }

    fn read_response(&mut self, head_req: bool) -> Resp {
        match self.try_read_response(head_req) {
            Ok(r) => r,
            Err(e) => panic!(
                "reading response failed: {e}; bytes buffered: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    fn try_read_response(&mut self, head_req: bool) -> Result<Resp, String> {
        let deadline = Instant::now() + IO_TIMEOUT;
        let mut tmp = [0u8; 65536];
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
                return Err("deadline waiting for response".into());
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

    /// Read until EOF (or reset) within `within`; returns the extra bytes seen.
    fn wait_closed(&mut self, within: Duration) -> Result<(Closed, Vec<u8>), Vec<u8>> {
        let deadline = Instant::now() + within;
        let mut extra = std::mem::take(&mut self.buf);
        let mut tmp = [0u8; 65536];
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
                    if e.kind() == io::ErrorKind::ConnectionReset
                        || e.kind() == io::ErrorKind::ConnectionAborted =>
                {
                    return Ok((Closed::Reset, extra));
                }
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut => {}
                Err(e) => panic!("unexpected read error while waiting for close: {e}"),
            }
        }
    }

    /// Asserts that the server closes the connection without sending anything more.
    fn assert_closed_clean(&mut self, what: &str) {
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

    /// Asserts the connection is still open: nothing arrives and no EOF within `d`.
    fn assert_still_open(&mut self, d: Duration, what: &str) {
        self.s.set_read_timeout(Some(d)).unwrap();
        let mut tmp = [0u8; 1024];
        let r = self.s.read(&mut tmp);
        self.s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        match r {
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
            }
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
// Assertions common to every response
// ---------------------------------------------------------------------------

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Parses an IMF-fixdate strictly; returns seconds since the epoch.
fn parse_imf_fixdate(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 29 || &s[3..5] != ", " || &s[25..] != " GMT" {
        return None;
    }
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let wd = days.iter().position(|d| *d == &s[0..3])? as i64;
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = &s[r];
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    if b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || b[19] != b':' || b[22] != b':' {
        return None;
    }
    let d = num(5..7)?;
    let mon = months.iter().position(|m| *m == &s[8..11])? as i64 + 1;
    let y = num(12..16)?;
    let (hh, mm, ss) = (num(17..19)?, num(20..22)?, num(23..25)?);
    if !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days_since = days_from_civil(y, mon, d);
    if (days_since + 4).rem_euclid(7) != wd {
        return None; // weekday inconsistent with the date
    }
    Some(days_since * 86400 + hh * 3600 + mm * 60 + ss)
}

/// Server/Date/Content-Length rules every response must satisfy.
fn check_common(r: &Resp) {
    let ctx = format!("response {:?} headers {:?}", r.status_line, r.headers);
    assert!(
        r.status_line.starts_with("HTTP/1.1 "),
        "status line must say HTTP/1.1: {ctx}"
    );
    assert_eq!(
        r.all("server"),
        vec!["ferry"],
        "exactly one `Server: ferry`: {ctx}"
    );
    let dates = r.all("date");
    assert_eq!(dates.len(), 1, "exactly one Date: {ctx}");
    let t = parse_imf_fixdate(dates[0]).unwrap_or_else(|| panic!("Date is not IMF-fixdate: {ctx}"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (t - now).abs() <= 5,
        "Date {} is not the current time: {ctx}",
        dates[0]
    );
    assert!(
        r.header("transfer-encoding").is_none(),
        "no Transfer-Encoding expected: {ctx}"
    );
    let cls = r.all("content-length");
    if (100..200).contains(&r.status) || r.status == 204 {
        assert!(
            cls.is_empty(),
            "1xx/204 must not carry Content-Length (RFC 9110 8.6): {ctx}"
        );
        assert!(r.body.is_empty());
    } else if r.status != 304 {
        assert_eq!(cls.len(), 1, "exactly one Content-Length: {ctx}");
        let n: usize = cls[0]
            .parse()
            .unwrap_or_else(|_| panic!("Content-Length not a number: {ctx}"));
        if !r.was_head {
            assert_eq!(n, r.body.len(), "Content-Length vs body: {ctx}");
        }
    }
    if r.status >= 400 && !r.was_head {
        let ct = r.header("content-type").unwrap_or("");
        assert!(
            ct.starts_with("text/html"),
            "error body must be text/html: {ctx}"
        );
        assert!(
            !r.body.is_empty(),
            "error response needs a small HTML body: {ctx}"
        );
    }
}

// ---------------------------------------------------------------------------
// Request helpers
// ---------------------------------------------------------------------------

fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes()
}

fn req(method: &str, target: &str) -> Vec<u8> {
    format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes()
}

fn is_head(raw: &[u8]) -> bool {
    raw.starts_with(b"HEAD ")
}

/// One request on a fresh connection; checks common headers.
fn exchange(port: u16, raw: &[u8]) -> Resp {
    let mut c = connect(port);
    c.send(raw);
    let r = c.read_response(is_head(raw));
    check_common(&r);
    r
}

/// One request that must produce one of `allowed` status lines, `Connection: close`,
/// and then a clean close with nothing else sent (nothing smuggled got executed).
fn exchange_expect_close(port: u16, raw: &[u8], allowed: &[&str]) -> Resp {
    let mut c = connect(port);
    c.send_lossy(raw);
    let r = match c.try_read_response(is_head(raw)) {
        Ok(r) => r,
        Err(e) => panic!(
            "request {:?}: no response ({e})",
            String::from_utf8_lossy(raw)
        ),
    };
    check_common(&r);
    assert!(
        allowed.contains(&r.status_line.as_str()),
        "request {:?}: got {:?}, expected one of {allowed:?}",
        String::from_utf8_lossy(raw),
        r.status_line
    );
    assert!(
        r.has_token("connection", "close"),
        "request {:?}: response must carry Connection: close, headers {:?}",
        String::from_utf8_lossy(raw),
        r.headers
    );
    c.assert_closed_clean(&format!("request {:?}", String::from_utf8_lossy(raw)));
    r
}

fn assert_status(r: &Resp, line: &str, ctx: &str) {
    assert_eq!(
        r.status_line,
        line,
        "{ctx}: headers {:?} body {:?}",
        r.headers,
        r.body_str()
    );
}

fn pct_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

const OK: &str = "HTTP/1.1 200 OK";
const NOT_FOUND: &str = "HTTP/1.1 404 Not Found";
const FORBIDDEN: &str = "HTTP/1.1 403 Forbidden";
const BAD_REQUEST: &str = "HTTP/1.1 400 Bad Request";
const MOVED: &str = "HTTP/1.1 301 Moved Permanently";
const NOT_ALLOWED: &str = "HTTP/1.1 405 Method Not Allowed";
const NOT_IMPL: &str = "HTTP/1.1 501 Not Implemented";
const NO_CONTENT: &str = "HTTP/1.1 204 No Content";
const BAD_VERSION: &str = "HTTP/1.1 505 HTTP Version Not Supported";
const URI_TOO_LONG: &str = "HTTP/1.1 414 URI Too Long";
const HEADERS_TOO_LARGE: &str = "HTTP/1.1 431 Request Header Fields Too Large";
const TOO_LARGE: [&str; 2] = [
    "HTTP/1.1 413 Content Too Large",
    "HTTP/1.1 413 Payload Too Large",
];
const UNAVAILABLE: &str = "HTTP/1.1 503 Service Unavailable";

// ===========================================================================
// Startup and command line
// ===========================================================================

#[test]
fn startup_line_is_exact_and_names_absolute_dir_and_real_port() {
    let t = Tree::standard("startup");
    let s = Server::start(&t.root, &[]);
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {} at http://127.0.0.1:{}/\n",
            t.root.display(),
            s.port
        )
    );
    assert_ne!(s.port, 0);
    let r = exchange(s.port, &get("/a.txt"));
    assert_eq!(r.body, b"hello");
}

#[test]
fn relative_dir_argument_is_printed_as_absolute_path() {
    let t = Tree::standard("reldir");
    let mut child = Command::new(BIN)
        .args(["root", "--port", "0", "--quiet"])
        .current_dir(&t.container)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut l = String::new();
        let _ = r.read_line(&mut l);
        let _ = tx.send(l);
        let mut sink = Vec::new();
        let _ = r.read_to_end(&mut sink);
    });
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    let port = parse_port(&line).expect("port in startup line");
    assert_eq!(
        line,
        format!(
            "ferry: serving {} at http://127.0.0.1:{port}/\n",
            t.root.display()
        )
    );
}

#[test]
fn missing_directory_exits_with_status_2_and_one_line_on_stderr() {
    let t = Tree::new("missing");
    let missing = t.container.join("does-not-exist");
    let (code, out, err) = run_to_exit(&[
        missing.to_str().unwrap().into(),
        "--port".into(),
        "0".into(),
    ]);
    assert_eq!(code, Some(2), "stderr: {err}");
    assert_eq!(out, "", "nothing on stdout");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one-line error, got {err:?}"
    );
    assert!(!err.contains("panicked"), "no panic: {err}");
}

#[test]
fn file_given_as_directory_exits_with_status_2_and_one_line_on_stderr() {
    let t = Tree::new("notdir");
    let (code, out, err) = run_to_exit(&[
        t.container.join("secret.txt").to_str().unwrap().into(),
        "--port".into(),
        "0".into(),
    ]);
    assert_eq!(code, Some(2), "stderr: {err}");
    assert_eq!(out, "");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one-line error, got {err:?}"
    );
    assert!(!err.contains("panicked"), "no panic: {err}");
}

#[test]
fn address_in_use_exits_2_and_suggests_port_0() {
    let t = Tree::new("inuse");
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let (code, out, err) = run_to_exit(&[
        t.root.to_str().unwrap().into(),
        "--port".into(),
        port.to_string(),
        "--quiet".into(),
    ]);
    drop(held);
    assert_eq!(code, Some(2), "stderr: {err}");
    assert_eq!(out, "");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one-line error, got {err:?}"
    );
    assert!(err.contains("--port 0"), "should suggest --port 0: {err:?}");
    assert!(!err.contains("panicked"), "no panic: {err}");
}

#[test]
fn invalid_duration_flag_exits_with_status_2() {
    let t = Tree::new("baddur");
    let (code, _out, err) = run_to_exit(&[
        t.root.to_str().unwrap().into(),
        "--port".into(),
        "0".into(),
        "--header-timeout".into(),
        "soon".into(),
    ]);
    assert_eq!(code, Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "no panic: {err}");
}

#[test]
fn duration_flags_accept_bare_seconds_s_suffix_and_ms() {
    let t = Tree::standard("durs");
    let s = Server::start(
        &t.root,
        &[
            "--header-timeout",
            "10",
            "--keepalive-timeout",
            "10s",
            "--write-timeout",
            "500ms",
            "--body-timeout",
            "2s",
            "--shutdown-timeout",
            "100ms",
        ],
    );
    let r = exchange(s.port, &get("/a.txt"));
    assert_status(&r, OK, "GET /a.txt");
}

#[test]
fn ipv6_loopback_bind_prints_bracketed_url_and_serves() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipping: ::1 not available");
        return;
    }
    let t = Tree::standard("v6");
    let s = Server::start(&t.root, &["--bind", "::1"]);
    assert_eq!(
        s.line,
        format!(
            "ferry: serving {} at http://[::1]:{}/\n",
            t.root.display(),
            s.port
        )
    );
    let mut c = connect_addr(format!("[::1]:{}", s.port).parse().unwrap());
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: [::1]\r\n\r\n");
    let r = c.read_response(false);
    check_common(&r);
    assert_status(&r, OK, "GET over ::1");
    assert_eq!(r.body, b"hello");
}

#[test]
fn root_given_through_a_symlink_still_serves_files() {
    let t = Tree::standard("rootlink");
    let link = t.container.join("rootlink");
    std::os::unix::fs::symlink(&t.root, &link).unwrap();
    let s = Server::start(&link, &[]);
    let r = exchange(s.port, &get("/a.txt"));
    assert_status(&r, OK, "GET /a.txt via symlinked root");
    assert_eq!(r.body, b"hello");
    let r = exchange(s.port, &get("/sub/x.txt"));
    assert_status(&r, OK, "GET /sub/x.txt via symlinked root");
    assert_eq!(r.body, b"sub-x");
}

// ===========================================================================
// Basic serving, content types, HEAD
// ===========================================================================

#[test]
fn get_file_returns_exact_status_headers_and_bytes() {
    let t = Tree::standard("basic");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, &get("/a.txt"));
    assert_status(&r, OK, "GET /a.txt");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("content-length"), Some("5"));
    assert_eq!(r.body, b"hello");
    assert!(!r.has_token("connection", "close"));
}

#[test]
fn empty_file_is_200_with_content_length_zero() {
    let t = Tree::new("empty");
    t.file("empty.txt", b"");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    c.send(&get("/empty.txt"));
    let r = c.read_response(false);
    check_common(&r);
    assert_status(&r, OK, "GET empty file");
    assert_eq!(r.header("content-length"), Some("0"));
    c.send(&get("/empty.txt"));
    let r = c.read_response(false);
    assert_status(&r, OK, "second GET on same connection");
}

#[test]
fn content_type_table_matches_contract() {
    let t = Tree::new("mime");
    let cases: &[(&str, &str)] = &[
        ("p.html", "text/html; charset=utf-8"),
        ("s.css", "text/css; charset=utf-8"),
        ("t.txt", "text/plain; charset=utf-8"),
        ("j.js", "text/javascript; charset=utf-8"),
        ("m.mjs", "text/javascript; charset=utf-8"),
        ("w.wasm", "application/wasm"),
        ("u.zzqq", "application/octet-stream"),
        ("noextension", "application/octet-stream"),
        ("i.png", "image/png"),
    ];
    for (name, _) in cases {
        t.file(name, name.as_bytes());
    }
    let s = Server::start(&t.root, &[]);
    for (name, ct) in cases {
        let r = exchange(s.port, &get(&format!("/{name}")));
        assert_status(&r, OK, name);
        assert_eq!(
            r.header("content-type"),
            Some(*ct),
            "Content-Type for {name}"
        );
        assert_eq!(r.body, name.as_bytes());
    }
}

#[test]
fn missing_file_is_404_with_html_body_and_connection_stays_open() {
    let t = Tree::standard("404");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    c.send(&get("/nope.txt"));
    let r = c.read_response(false);
    check_common(&r);
    assert_status(&r, NOT_FOUND, "GET /nope.txt");
    assert!(
        !r.has_token("connection", "close"),
        "404 keeps framing, no need to close"
    );
    c.send(&get("/a.txt"));
    let r = c.read_response(false);
    assert_status(&r, OK, "GET after 404 on same connection");
    assert_eq!(r.body, b"hello");
}

#[test]
fn date_header_is_imf_fixdate_close_to_now() {
    let t = Tree::standard("date");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, &get("/a.txt"));
    let d = r.header("date").unwrap();
    assert!(parse_imf_fixdate(d).is_some(), "{d:?}");
    // sanity for the parser itself
    assert_eq!(
        parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
        Some(784111777)
    );
    assert_eq!(parse_imf_fixdate("Sunday, 06-Nov-94 08:49:37 GMT"), None);
    assert_eq!(parse_imf_fixdate("Mon, 06 Nov 1994 08:49:37 GMT"), None);
}

#[test]
fn large_file_is_streamed_intact() {
    let t = Tree::new("large");
    let data: Vec<u8> = (0..(4 * 1024 * 1024 + 7u32))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    t.file("big.bin", &data);
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    c.send(&get("/big.bin"));
    let r = c.read_response(false);
    check_common(&r);
    assert_status(&r, OK, "GET big file");
    assert_eq!(
        r.header("content-length"),
        Some(data.len().to_string().as_str())
    );
    assert!(r.body == data, "big file bytes differ");
    c.send(&get("/big.bin"));
    let r = c.read_response(false);
    assert!(r.body == data, "big file bytes differ on keep-alive reuse");
}

fn head_get_pair(port: u16, target: &str) -> (Resp, Resp) {
    let mut c = connect(port);
    c.send(&req("GET", target));
    let g = c.read_response(false);
    check_common(&g);
    let mut c = connect(port);
    c.send(&req("HEAD", target));
    let h = c.read_response(true);
    check_common(&h);
    // Nothing after the HEAD response head: check no body bytes were sent.
    if h.has_token("connection", "close") {
        c.assert_closed_clean(&format!("HEAD {target} with Connection: close"));
        return (g, h);
    }
    c.send(&get("/a.txt"));
    let after = c.read_response(false);
    assert_status(
        &after,
        OK,
        &format!("request after HEAD {target} (body leaked?)"),
    );
    assert_eq!(after.body, b"hello");
    (g, h)
}

#[test]
fn head_returns_exactly_the_get_headers_and_no_body_for_a_file() {
    let t = Tree::standard("headfile");
    let s = Server::start(&t.root, &[]);
    let (g, h) = head_get_pair(s.port, "/b.txt");
    assert_status(&h, OK, "HEAD /b.txt");
    assert_eq!(h.comparable_headers(), g.comparable_headers());
    assert_eq!(h.header("content-length"), Some("6"));
}

#[test]
fn head_of_404_redirect_listing_and_dotfile_matches_get_headers() {
    let t = Tree::standard("headmisc");
    t.file("list/one.txt", b"1").file(".env", b"SECRET=1");
    let s = Server::start(&t.root, &[]);
    for target in ["/nope", "/sub", "/list/", "/.env", "/sub/", "/%zz"] {
        let (g, h) = head_get_pair(s.port, target);
        assert_eq!(
            h.status_line, g.status_line,
            "HEAD vs GET status for {target}"
        );
        assert_eq!(
            h.comparable_headers(),
            g.comparable_headers(),
            "HEAD vs GET headers for {target}"
        );
    }
}

#[test]
fn pipelined_head_in_the_middle_sends_no_body() {
    let t = Tree::standard("headpipe");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = get("/a.txt");
    raw.extend(req("HEAD", "/b.txt"));
    raw.extend(get("/c.txt"));
    c.send(&raw);
    let r1 = c.read_response(false);
    let r2 = c.read_response(true);
    let r3 = c.read_response(false);
    assert_eq!(r1.body, b"hello");
    assert_status(&r2, OK, "HEAD");
    assert_eq!(r2.header("content-length"), Some("6"));
    assert_status(&r3, OK, "GET after HEAD");
    assert_eq!(r3.body, b"third");
}

// ===========================================================================
// Methods
// ===========================================================================

#[test]
fn options_is_204_with_allow_and_no_content_length_or_body() {
    let t = Tree::standard("options");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = req("OPTIONS", "/a.txt");
    raw.extend(get("/b.txt"));
    c.send(&raw);
    let r = c.read_response(false);
    check_common(&r);
    assert_status(&r, NO_CONTENT, "OPTIONS /a.txt");
    assert_eq!(r.header("allow"), Some(ALLOW));
    let r2 = c.read_response(false);
    assert_status(&r2, OK, "GET after OPTIONS (204 must have no body)");
    assert_eq!(r2.body, b"world!");
}

#[test]
fn options_asterisk_is_204_with_allow() {
    // RFC 9112 3.2.4: asterisk-form is only for OPTIONS and applies to the server.
    let t = Tree::standard("optstar");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_status(&r, NO_CONTENT, "OPTIONS *");
    assert_eq!(r.header("allow"), Some(ALLOW));
}

#[test]
fn post_put_delete_patch_are_405_with_allow_header() {
    let t = Tree::standard("405");
    let s = Server::start(&t.root, &[]);
    for m in ["POST", "PUT", "DELETE", "PATCH"] {
        let mut c = connect(s.port);
        let mut raw =
            format!("{m} /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc")
                .into_bytes();
        raw.extend(get("/b.txt"));
        c.send(&raw);
        let r = c.read_response(false);
        check_common(&r);
        assert_status(&r, NOT_ALLOWED, m);
        assert_eq!(
            r.header("allow"),
            Some(ALLOW),
            "{m} 405 must carry Allow (RFC 9110 15.5.6)"
        );
        if !r.has_token("connection", "close") {
            let r2 = c.read_response(false);
            assert_status(&r2, OK, &format!("GET pipelined after {m} with body"));
            assert_eq!(r2.body, b"world!");
        }
        assert_eq!(
            fs::read(t.root.join("a.txt")).unwrap(),
            b"hello",
            "{m} changed the file"
        );
    }
}

#[test]
fn lowercase_mixed_case_and_unknown_methods_are_501() {
    let t = Tree::standard("501");
    let s = Server::start(&t.root, &[]);
    for m in ["get", "Get", "head", "BREW", "PROPFIND", "GETS"] {
        let r = exchange(s.port, &req(m, "/a.txt"));
        assert_status(&r, NOT_IMPL, m);
        assert_ne!(r.body, b"hello", "{m} must not serve the file");
    }
}

#[test]
fn connect_and_get_asterisk_are_400_or_405() {
    let t = Tree::standard("connect");
    let s = Server::start(&t.root, &[]);
    for raw in [
        &b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"[..],
        &b"GET * HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
        &b"HEAD * HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
    ] {
        let r = exchange(s.port, raw);
        let ctx = String::from_utf8_lossy(raw).into_owned();
        assert!(
            r.status_line == BAD_REQUEST || r.status_line == NOT_ALLOWED,
            "{ctx}: got {:?}",
            r.status_line
        );
        if r.status == 405 {
            assert_eq!(r.header("allow"), Some(ALLOW), "{ctx}");
        }
    }
}

// ===========================================================================
// Versions
// ===========================================================================

#[test]
fn http2_and_http3_request_lines_get_505() {
    let t = Tree::standard("505");
    let s = Server::start(&t.root, &[]);
    for v in ["HTTP/2.0", "HTTP/3.0", "HTTP/2.1"] {
        let raw = format!("GET /a.txt {v}\r\nHost: localhost\r\n\r\n");
        let r = exchange(s.port, raw.as_bytes());
        assert_status(&r, BAD_VERSION, v);
    }
}

#[test]
fn http2_connection_preface_is_rejected_and_closed() {
    let t = Tree::standard("preface");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    c.send_lossy(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    let r = c.read_response(false);
    check_common(&r);
    assert!(
        r.status_line == BAD_VERSION || r.status_line == BAD_REQUEST,
        "{:?}",
        r.status_line
    );
    // The connection must end (possibly after a 400 for the "SM" remainder).
    match c.wait_closed(IO_TIMEOUT) {
        Ok((_, extra)) => assert!(
            extra.is_empty() || extra.starts_with(b"HTTP/1.1 400 "),
            "{:?}",
            String::from_utf8_lossy(&extra)
        ),
        Err(_) => panic!("HTTP/2 preface: connection not closed within 5 s"),
    }
}

#[test]
fn higher_minor_version_http_1_9_is_served_as_http_1_1() {
    // RFC 9110 6.2: a higher minor version SHOULD be processed as the highest
    // supported minor version of that major version.
    let t = Tree::standard("http19");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, b"GET /a.txt HTTP/1.9\r\nHost: localhost\r\n\r\n");
    assert_status(&r, OK, "HTTP/1.9");
    assert_eq!(r.body, b"hello");
}

#[test]
fn malformed_request_lines_are_400_with_connection_close() {
    let t = Tree::standard("badline");
    let s = Server::start(&t.root, &[]);
    for raw in [
        &b"GET /a.txt HTTP/1.1 extra\r\nHost: localhost\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.1x\r\nHost: localhost\r\n\r\n"[..],
        &b"GET a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
        &b"GET /a\x01.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
        &b"GET /a\x00.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
        &b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n"[..],
    ] {
        exchange_expect_close(s.port, raw, &[BAD_REQUEST]);
    }
    // Lower-case HTTP-name is not valid syntax: 400 (505 tolerated).
    exchange_expect_close(
        s.port,
        b"GET /a.txt http/1.1\r\nHost: localhost\r\n\r\n",
        &[BAD_REQUEST, BAD_VERSION],
    );
    // HTTP/0.9 simple request: 400 or 505, never the file.
    let r = exchange_expect_close(s.port, b"GET /a.txt\r\n\r\n", &[BAD_REQUEST, BAD_VERSION]);
    assert_ne!(r.body, b"hello");
}

#[test]
fn response_to_http10_request_says_http_1_1() {
    let t = Tree::standard("v10line");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, b"GET /a.txt HTTP/1.0\r\n\r\n");
    assert_status(&r, OK, "HTTP/1.0 request");
    assert_eq!(r.body, b"hello");
}

// ===========================================================================
// Persistence and pipelining
// ===========================================================================

#[test]
fn http11_connection_is_kept_alive_by_default() {
    let t = Tree::standard("ka11");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    for i in 0..5 {
        c.send(&get("/a.txt"));
        let r = c.read_response(false);
        check_common(&r);
        assert_status(&r, OK, &format!("request {i}"));
        assert!(!r.has_token("connection", "close"));
        assert_eq!(r.body, b"hello");
    }
    c.assert_still_open(Duration::from_millis(300), "idle keep-alive");
}

#[test]
fn connection_close_is_honoured_and_later_pipelined_request_is_not_answered() {
    let t = Tree::standard("close");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".to_vec();
    raw.extend(get("/hidden.txt"));
    c.send(&raw);
    let r = c.read_response(false);
    check_common(&r);
    assert_status(&r, OK, "GET with Connection: close");
    assert_eq!(r.body, b"hello");
    assert!(r.has_token("connection", "close"), "{:?}", r.headers);
    c.assert_closed_clean("after Connection: close (RFC 9112 9.6)");
}

#[test]
fn close_token_in_a_list_with_odd_case_and_surrounding_whitespace_is_honoured() {
    let t = Tree::standard("closelist");
    let s = Server::start(&t.root, &[]);
    for hdr in [
        "Connection: keep-alive, Close",
        "Connection:\t foo ,  CLOSE \t",
        "connection: close",
    ] {
        let mut c = connect(s.port);
        let raw = format!("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n{hdr}\r\n\r\n");
        c.send(raw.as_bytes());
        let r = c.read_response(false);
        check_common(&r);
        assert_eq!(r.body, b"hello");
        assert!(
            r.has_token("connection", "close"),
            "{hdr:?}: {:?}",
            r.headers
        );
        c.assert_closed_clean(hdr);
    }
}

#[test]
fn http10_without_keep_alive_gets_connection_close_and_eof() {
    let t = Tree::standard("v10close");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = b"GET /a.txt HTTP/1.0\r\nHost: localhost\r\n\r\n".to_vec();
    raw.extend(b"GET /hidden.txt HTTP/1.0\r\n\r\n");
    c.send(&raw);
    let r = c.read_response(false);
    check_common(&r);
    assert_status(&r, OK, "HTTP/1.0 GET");
    assert_eq!(r.body, b"hello");
    assert!(r.has_token("connection", "close"), "{:?}", r.headers);
    assert!(!r.has_token("connection", "keep-alive"));
    c.assert_closed_clean("HTTP/1.0 without keep-alive");
}

#[test]
fn http10_with_keep_alive_gets_keep_alive_and_connection_stays_open() {
    let t = Tree::standard("v10ka");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    for target in ["/a.txt", "/nope", "/b.txt"] {
        let raw = format!("GET {target} HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        c.send(raw.as_bytes());
        let r = c.read_response(false);
        check_common(&r);
        assert!(
            r.has_token("connection", "keep-alive"),
            "{target}: response must say Connection: keep-alive, got {:?}",
            r.headers
        );
        assert!(!r.has_token("connection", "close"), "{target}");
        if target == "/b.txt" {
            assert_eq!(r.body, b"world!");
        }
    }
    c.assert_still_open(Duration::from_millis(300), "HTTP/1.0 keep-alive");
    // Now the last HTTP/1.0 request without keep-alive closes.
    c.send(b"GET /a.txt HTTP/1.0\r\n\r\n");
    let r = c.read_response(false);
    assert!(r.has_token("connection", "close"));
    c.assert_closed_clean("final HTTP/1.0 request");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let t = Tree::standard("pipe");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = Vec::new();
    let order = ["/a.txt", "/nope", "/b.txt", "/sub", "/c.txt", "/a.txt"];
    for p in order {
        raw.extend(get(p));
    }
    c.send(&raw);
    let expect: [(&str, Option<&[u8]>); 6] = [
        (OK, Some(b"hello")),
        (NOT_FOUND, None),
        (OK, Some(b"world!")),
        (MOVED, None),
        (OK, Some(b"third")),
        (OK, Some(b"hello")),
    ];
    for (i, (line, body)) in expect.iter().enumerate() {
        let r = c.read_response(false);
        check_common(&r);
        assert_status(&r, line, &format!("pipelined #{i} {}", order[i]));
        if let Some(b) = body {
            assert_eq!(&r.body[..], *b, "pipelined #{i}");
        }
    }
}

#[test]
fn many_pipelined_requests_in_one_write_all_get_answers() {
    let t = Tree::standard("pipe100");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = Vec::new();
    for i in 0..200 {
        raw.extend(get(if i % 2 == 0 { "/a.txt" } else { "/b.txt" }));
    }
    c.send(&raw);
    for i in 0..200 {
        let r = c.read_response(false);
        assert_eq!(
            r.body,
            if i % 2 == 0 {
                &b"hello"[..]
            } else {
                &b"world!"[..]
            },
            "pipelined response {i}"
        );
    }
}

#[test]
fn request_sent_one_byte_at_a_time_is_served() {
    let t = Tree::standard("bytewise");
    let s = Server::start(&t.root, &["--header-timeout", "5s"]);
    let mut c = connect(s.port);
    let raw = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nX-Long: abcdefghij\r\n\r\n";
    for b in raw.iter() {
        c.send(&[*b]);
        thread::sleep(Duration::from_millis(2)); // pace a deliberately slow client
    }
    let r = c.read_response(false);
    check_common(&r);
    assert_status(&r, OK, "byte-wise request");
    assert_eq!(r.body, b"hello");
}

#[test]
fn leading_empty_line_before_request_line_is_ignored() {
    // RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request-line.
    let t = Tree::standard("leadcrlf");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = get("/a.txt");
    raw.extend(b"\r\n");
    raw.extend(get("/b.txt"));
    c.send(&raw);
    assert_eq!(c.read_response(false).body, b"hello");
    let r = c.read_response(false);
    assert_status(&r, OK, "request preceded by CRLF");
    assert_eq!(r.body, b"world!");
}

// ===========================================================================
// Framing and smuggling
// ===========================================================================

#[test]
fn content_length_body_is_discarded_and_hidden_request_never_runs() {
    let t = Tree::standard("clbody");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let hidden = b"GET /hidden.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut raw = format!(
        "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        hidden.len()
    )
    .into_bytes();
    raw.extend(hidden);
    raw.extend(get("/b.txt"));
    c.send(&raw);
    let r1 = c.read_response(false);
    assert_status(&r1, OK, "GET with body");
    assert_eq!(r1.body, b"hello");
    let r2 = c.read_response(false);
    assert_status(&r2, OK, "request after body");
    assert_eq!(
        r2.body, b"world!",
        "the request hidden in the body was executed"
    );
    c.assert_still_open(Duration::from_millis(300), "no third response");
}

#[test]
fn body_split_across_writes_is_discarded_correctly() {
    let t = Tree::standard("clsplit");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n01234");
    thread::sleep(Duration::from_millis(50)); // pace a deliberately slow client
    c.send(b"56789");
    c.send(&get("/b.txt"));
    assert_eq!(c.read_response(false).body, b"hello");
    let r = c.read_response(false);
    assert_eq!(r.body, b"world!");
}

#[test]
fn chunked_body_with_extensions_and_trailers_is_discarded() {
    let t = Tree::standard("chunked");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw =
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    raw.extend(b"5;ext=1;quoted=\"a;b\\\"c\"\r\nhello\r\nA\r\n0123456789\r\n0;last\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n");
    raw.extend(get("/b.txt"));
    c.send(&raw);
    let r1 = c.read_response(false);
    check_common(&r1);
    assert_status(&r1, OK, "chunked GET");
    assert_eq!(r1.body, b"hello");
    let r2 = c.read_response(false);
    assert_status(&r2, OK, "after chunked body");
    assert_eq!(r2.body, b"world!");
}

#[test]
fn hidden_request_inside_chunk_data_never_runs() {
    let t = Tree::standard("chunkhide");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let hidden = b"GET /hidden.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut raw =
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    raw.extend(format!("{:x}\r\n", hidden.len()).as_bytes());
    raw.extend(hidden);
    raw.extend(b"\r\n0\r\n\r\n");
    raw.extend(get("/b.txt"));
    c.send(&raw);
    assert_eq!(c.read_response(false).body, b"hello");
    let r2 = c.read_response(false);
    assert_eq!(
        r2.body, b"world!",
        "request hidden in chunk data was executed"
    );
}

#[test]
fn transfer_encoding_chunked_is_case_insensitive() {
    let t = Tree::standard("chunkcase");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw =
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\ntransfer-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            .to_vec();
    raw.extend(get("/b.txt"));
    c.send(&raw);
    assert_eq!(c.read_response(false).body, b"hello");
    assert_eq!(c.read_response(false).body, b"world!");
}

#[test]
fn content_length_and_transfer_encoding_together_is_400_and_close() {
    let t = Tree::standard("clte");
    let s = Server::start(&t.root, &[]);
    let smuggle = "0\r\n\r\nGET /hidden.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
    for (a, b) in [
        ("Content-Length: 5", "Transfer-Encoding: chunked"),
        ("Transfer-Encoding: chunked", "Content-Length: 5"),
        ("Content-Length: 0", "Transfer-Encoding: chunked"),
    ] {
        let raw = format!("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n{a}\r\n{b}\r\n\r\n{smuggle}");
        let r = exchange_expect_close(s.port, raw.as_bytes(), &[BAD_REQUEST]);
        assert!(!r.body_str().contains("HIDDEN"));
    }
}

#[test]
fn invalid_content_length_values_are_400_and_close() {
    let t = Tree::standard("badcl");
    let s = Server::start(&t.root, &[]);
    for cl in [
        "Content-Length: abc",
        "Content-Length: -1",
        "Content-Length: +5",
        "Content-Length: 0x5",
        "Content-Length: 5.0",
        "Content-Length: 5 5",
        "Content-Length: 5, 6",
        "Content-Length: 5\r\nContent-Length: 6",
        "Content-Length: 99999999999999999999999999",
        "Content-Length: 18446744073709551616",
        "Content-Length:",
    ] {
        let raw = format!("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n{cl}\r\n\r\nhello");
        exchange_expect_close(s.port, raw.as_bytes(), &[BAD_REQUEST]);
    }
}

#[test]
fn content_length_with_surrounding_whitespace_is_valid() {
    let t = Tree::standard("clws");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw =
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: \t 3 \t\r\n\r\nxyz".to_vec();
    raw.extend(get("/b.txt"));
    c.send(&raw);
    let r = c.read_response(false);
    assert_status(&r, OK, "CL with OWS");
    assert_eq!(r.body, b"hello");
    assert_eq!(c.read_response(false).body, b"world!");
}

#[test]
fn transfer_encoding_not_ending_in_chunked_is_400_or_501_and_close() {
    let t = Tree::standard("badte");
    let s = Server::start(&t.root, &[]);
    let not_impl_close = "HTTP/1.1 501 Not Implemented";
    for te in [
        "Transfer-Encoding: gzip",
        "Transfer-Encoding: chunked, gzip",
        "Transfer-Encoding: identity",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip",
        "Transfer-Encoding: bogus",
    ] {
        let raw = format!(
            "GET /a.txt HTTP/1.1\r\nHost: localhost\r\n{te}\r\n\r\n0\r\n\r\nGET /hidden.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
        );
        exchange_expect_close(s.port, raw.as_bytes(), &[BAD_REQUEST, not_impl_close]);
    }
}

#[test]
fn bad_chunk_size_or_missing_chunk_crlf_is_400_and_close() {
    let t = Tree::standard("badchunk");
    let s = Server::start(&t.root, &[]);
    for body in [
        "zz\r\nhello\r\n0\r\n\r\n",
        "-1\r\nhello\r\n0\r\n\r\n",
        "0x5\r\nhello\r\n0\r\n\r\n",
        "+5\r\nhello\r\n0\r\n\r\n",
        "\r\nhello\r\n0\r\n\r\n",
        "fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "5\r\nhello0\r\n\r\n",
    ] {
        let raw = format!(
            "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{body}GET /hidden.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
        );
        exchange_expect_close(s.port, raw.as_bytes(), &[BAD_REQUEST]);
    }
}

#[test]
fn transfer_encoding_in_http10_request_closes_the_connection() {
    // RFC 9112 6.1: TE in an HTTP/1.0 request => treat framing as faulty and close.
    let t = Tree::standard("te10");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    c.send(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hidden.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.read_response(false);
    check_common(&r);
    assert!(!r.body_str().contains("HIDDEN"));
    assert!(
        r.has_token("connection", "close"),
        "{:?} {:?}",
        r.status_line,
        r.headers
    );
    c.assert_closed_clean("HTTP/1.0 with Transfer-Encoding");
}

#[test]
fn body_larger_than_max_body_is_413_with_connection_close() {
    let t = Tree::standard("413");
    let s = Server::start(&t.root, &["--max-body", "10"]);
    exchange_expect_close(
        s.port,
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\n01234567890",
        &TOO_LARGE,
    );
    exchange_expect_close(
        s.port,
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 999999999\r\n\r\n0123",
        &TOO_LARGE,
    );
}

#[test]
fn chunked_body_larger_than_max_body_is_413_with_connection_close() {
    let t = Tree::standard("413c");
    let s = Server::start(&t.root, &["--max-body", "10"]);
    exchange_expect_close(
        s.port,
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n67890\r\n0\r\n\r\n",
        &TOO_LARGE,
    );
    exchange_expect_close(
        s.port,
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nffffff\r\n0123",
        &TOO_LARGE,
    );
}

#[test]
fn body_of_exactly_max_body_bytes_is_accepted() {
    let t = Tree::standard("maxbodyok");
    let s = Server::start(&t.root, &["--max-body", "10"]);
    let mut c = connect(s.port);
    let mut raw =
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n0123456789".to_vec();
    raw.extend(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n");
    raw.extend(get("/b.txt"));
    c.send(&raw);
    let r = c.read_response(false);
    assert_status(&r, OK, "CL == max-body");
    let r = c.read_response(false);
    assert_status(&r, OK, "chunked total == max-body");
    assert_eq!(c.read_response(false).body, b"world!");
}

#[test]
fn expect_100_continue_never_makes_the_client_wait() {
    let t = Tree::standard("expect");
    let s = Server::start(&t.root, &[]);
    for method in ["GET", "POST"] {
        let mut c = connect(s.port);
        c.s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let start = Instant::now();
        c.send(
            format!(
                "{method} /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
            )
            .as_bytes(),
        );
        let first = c.try_read_response(false).unwrap_or_else(|e| {
            panic!("{method}: nothing within 2 s after Expect: 100-continue ({e})")
        });
        assert!(start.elapsed() < Duration::from_millis(1500));
        c.s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let first_was_final = first.status != 100;
        let final_resp = if first.status == 100 {
            assert_eq!(first.status_line, "HTTP/1.1 100 Continue");
            c.send(b"hello");
            c.read_response(false)
        } else {
            first
        };
        check_common(&final_resp);
        let expected = if method == "GET" { OK } else { NOT_ALLOWED };
        assert_status(&final_resp, expected, method);
        if first_was_final && !final_resp.has_token("connection", "close") {
            // Keeping the connection open means the server still reads the body
            // (RFC 9110 10.1.1); the next request must then be parsed correctly.
            c.send(b"hello");
            c.send(&get("/b.txt"));
            let r = c.read_response(false);
            assert_eq!(r.body, b"world!", "{method}: request after unread body");
        }
    }
}

#[test]
fn malformed_request_mid_pipeline_gets_400_close_and_later_requests_are_dropped() {
    let t = Tree::standard("pipebad");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = get("/a.txt");
    raw.extend(b"GET /b.txt HTTP/1.1\r\nHost : localhost\r\n\r\n");
    raw.extend(get("/hidden.txt"));
    c.send(&raw);
    let r1 = c.read_response(false);
    assert_eq!(r1.body, b"hello");
    let r2 = c.read_response(false);
    check_common(&r2);
    assert_status(&r2, BAD_REQUEST, "space before colon");
    assert!(r2.has_token("connection", "close"));
    c.assert_closed_clean("after 400");
}

// ===========================================================================
// Limits
// ===========================================================================

#[test]
fn target_over_8_kib_is_414_by_default() {
    let t = Tree::standard("414");
    let s = Server::start(&t.root, &[]);
    let long = format!("/{}", "a".repeat(8192));
    let mut c = connect(s.port);
    c.send_lossy(&get(&long));
    let r = c.read_response(false);
    check_common(&r);
    assert_status(&r, URI_TOO_LONG, "8193-byte target");
    // 8192 bytes exactly is within the limit: ordinary 404.
    let ok = format!("/a.txt?{}", "a".repeat(8192 - 7));
    assert_eq!(ok.len(), 8192);
    let r = exchange(s.port, &get(&ok));
    assert_status(&r, OK, "8192-byte target");
    assert_eq!(r.body, b"hello");
}

#[test]
fn max_target_flag_boundary_is_exact() {
    let t = Tree::standard("414flag");
    let s = Server::start(&t.root, &["--max-target", "64"]);
    let at = format!("/a.txt?{}", "q".repeat(64 - 7));
    assert_eq!(at.len(), 64);
    let r = exchange(s.port, &get(&at));
    assert_status(&r, OK, "64-byte target");
    assert_eq!(r.body, b"hello");
    let over = format!("/a.txt?{}", "q".repeat(65 - 7));
    let r = exchange(s.port, &get(&over));
    assert_status(&r, URI_TOO_LONG, "65-byte target");
}

#[test]
fn header_section_over_64_kib_is_431() {
    let t = Tree::standard("431");
    let s = Server::start(&t.root, &[]);
    let mut raw = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    for i in 0..17 {
        raw.extend(format!("X-Fill-{i}: {}\r\n", "v".repeat(4000)).as_bytes());
    }
    raw.extend(b"\r\n");
    assert!(raw.len() > 65536 && raw.len() < 70000);
    let mut c = connect(s.port);
    c.send_lossy(&raw);
    let r = c.read_response(false);
    check_common(&r);
    assert_status(&r, HEADERS_TOO_LARGE, "68 KB header section");
    // Single giant field too.
    let raw = format!(
        "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "b".repeat(70000)
    );
    let mut c = connect(s.port);
    c.send_lossy(raw.as_bytes());
    let r = c.read_response(false);
    assert_status(&r, HEADERS_TOO_LARGE, "one 70 KB field");
    // A 60 KB header section is fine.
    let mut raw = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    for i in 0..15 {
        raw.extend(format!("X-Fill-{i}: {}\r\n", "v".repeat(4000)).as_bytes());
    }
    raw.extend(b"\r\n");
    let r = exchange(s.port, &raw);
    assert_status(&r, OK, "60 KB header section");
}

#[test]
fn more_than_100_header_fields_is_431_but_100_is_fine() {
    let t = Tree::standard("431n");
    let s = Server::start(&t.root, &[]);
    let build = |n: usize| {
        let mut raw = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n".to_vec();
        for i in 0..n - 1 {
            raw.extend(format!("X-H{i}: {i}\r\n").as_bytes());
        }
        raw.extend(b"\r\n");
        raw
    };
    let r = exchange(s.port, &build(100));
    assert_status(&r, OK, "100 fields");
    let r = exchange(s.port, &build(101));
    assert_status(&r, HEADERS_TOO_LARGE, "101 fields");
    let r = exchange(s.port, &build(500));
    assert_status(&r, HEADERS_TOO_LARGE, "500 fields");
}

#[test]
fn max_headers_and_max_header_bytes_flags_are_honoured() {
    let t = Tree::standard("limitsflags");
    let s = Server::start(
        &t.root,
        &["--max-headers", "5", "--max-header-bytes", "1024"],
    );
    let build = |n: usize, pad: usize| {
        let mut raw = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n".to_vec();
        for i in 0..n - 1 {
            raw.extend(format!("X-H{i}: {}\r\n", "p".repeat(pad)).as_bytes());
        }
        raw.extend(b"\r\n");
        raw
    };
    assert_status(&exchange(s.port, &build(5, 1)), OK, "5 fields");
    assert_status(
        &exchange(s.port, &build(6, 1)),
        HEADERS_TOO_LARGE,
        "6 fields",
    );
    assert_status(
        &exchange(s.port, &build(3, 300)),
        OK,
        "~700 byte header section",
    );
    assert_status(
        &exchange(s.port, &build(3, 700)),
        HEADERS_TOO_LARGE,
        "~1500 byte header section",
    );
}

// ===========================================================================
// Host and header syntax
// ===========================================================================

#[test]
fn http11_request_without_host_is_400() {
    let t = Tree::standard("nohost");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, b"GET /a.txt HTTP/1.1\r\n\r\n");
    assert_status(&r, BAD_REQUEST, "no Host");
    assert_ne!(r.body, b"hello");
}

#[test]
fn two_host_fields_are_400() {
    let t = Tree::standard("twohost");
    let s = Server::start(&t.root, &[]);
    for raw in [
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nHost: example.com\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nhost: localhost\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost, example.com\r\n\r\n"[..],
    ] {
        let r = exchange(s.port, raw);
        assert_status(&r, BAD_REQUEST, &String::from_utf8_lossy(raw));
    }
}

#[test]
fn invalid_host_values_are_400() {
    let t = Tree::standard("badhost");
    let s = Server::start(&t.root, &[]);
    for h in [
        "a b",
        "foo/bar",
        "example.com:abc",
        "[::1",
        "user@example.com",
        "example.com:80:80",
        "exa\"mple.com",
        "example.com/",
    ] {
        let raw = format!("GET /a.txt HTTP/1.1\r\nHost: {h}\r\n\r\n");
        let r = exchange(s.port, raw.as_bytes());
        assert_status(&r, BAD_REQUEST, &format!("Host: {h}"));
    }
}

#[test]
fn valid_host_forms_are_accepted() {
    let t = Tree::standard("goodhost");
    let s = Server::start(&t.root, &[]);
    for h in [
        "localhost",
        "localhost:8080",
        "127.0.0.1",
        "127.0.0.1:1",
        "[::1]",
        "[::1]:8000",
        "Example.COM",
        "xn--bcher-kva.example",
        "my-host_1.example",
        "\t localhost \t",
    ] {
        let raw = format!("GET /a.txt HTTP/1.1\r\nHost:{h}\r\n\r\n");
        let r = exchange(s.port, raw.as_bytes());
        assert_status(&r, OK, &format!("Host:{h:?}"));
        assert_eq!(r.body, b"hello");
    }
}

#[test]
fn http10_request_without_host_is_served() {
    let t = Tree::standard("v10nohost");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, b"GET /b.txt HTTP/1.0\r\n\r\n");
    assert_status(&r, OK, "HTTP/1.0 without Host");
    assert_eq!(r.body, b"world!");
}

#[test]
fn absolute_form_target_is_served_and_its_authority_wins() {
    let t = Tree::standard("absform");
    let s = Server::start(&t.root, &[]);
    let r = exchange(
        s.port,
        b"GET http://localhost/a.txt HTTP/1.1\r\nHost: other.example\r\n\r\n",
    );
    assert_status(&r, OK, "absolute-form");
    assert_eq!(r.body, b"hello");
    let r = exchange(
        s.port,
        b"GET http://localhost:1234/b.txt?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert_status(&r, OK, "absolute-form with port and query");
    assert_eq!(r.body, b"world!");
    let root = exchange(s.port, &get("/"));
    let r = exchange(
        s.port,
        b"GET http://localhost HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert_status(&r, OK, "absolute-form with empty path");
    assert_eq!(r.body, root.body);
    let r = exchange(
        s.port,
        b"GET http://localhost/../secret.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert!(!r.body_str().contains("TOPSECRET"));
}

#[test]
fn absolute_form_without_host_header_is_still_400() {
    // RFC 9112 3.2: HTTP/1.1 request lacking Host => 400, regardless of target form.
    let t = Tree::standard("absnohost");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, b"GET http://localhost/a.txt HTTP/1.1\r\n\r\n");
    assert_status(&r, BAD_REQUEST, "absolute-form, no Host");
}

#[test]
fn whitespace_between_field_name_and_colon_is_400() {
    let t = Tree::standard("wscolon");
    let s = Server::start(&t.root, &[]);
    for raw in [
        &b"GET /a.txt HTTP/1.1\r\nHost : localhost\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length : 5\r\n\r\nhello"[..],
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n"
            [..],
    ] {
        exchange_expect_close(s.port, raw, &[BAD_REQUEST]);
    }
}

#[test]
fn whitespace_preceded_line_after_request_line_is_400() {
    // RFC 9112 2.2: reject, or ignore the line (then Host is missing => 400 anyway).
    let t = Tree::standard("wsline");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, b"GET /a.txt HTTP/1.1\r\n Host: localhost\r\n\r\n");
    assert_status(&r, BAD_REQUEST, "space-led first field line");
}

#[test]
fn cr_nul_or_bad_name_characters_in_fields_are_400() {
    let t = Tree::standard("ctlfield");
    let s = Server::start(&t.root, &[]);
    for raw in [
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nX-A: a\rb\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nX-A: a\x00b\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.1\r\nHost: local\x00host\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nX A: b\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nX(A): b\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n: empty-name\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nno-colon-here\r\n\r\n"[..],
    ] {
        let r = exchange(s.port, raw);
        assert_status(
            &r,
            BAD_REQUEST,
            &format!("{:?}", String::from_utf8_lossy(raw)),
        );
    }
}

#[test]
fn obs_text_in_a_field_value_is_accepted() {
    // RFC 9110 5.5: field-vchar includes obs-text (%x80-FF).
    let t = Tree::standard("obstext");
    let s = Server::start(&t.root, &[]);
    let r = exchange(
        s.port,
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nX-Name: caf\xe9 \xff\r\nUser-Agent: t\xc3\xa9st\r\n\r\n",
    );
    assert_status(&r, OK, "obs-text value");
    assert_eq!(r.body, b"hello");
}

// ===========================================================================
// Paths
// ===========================================================================

fn assert_refused(r: &Resp, ctx: &str) {
    assert!(
        r.status_line == NOT_FOUND || r.status_line == FORBIDDEN || r.status_line == BAD_REQUEST,
        "{ctx}: expected 403/404 (or 400), got {:?}",
        r.status_line
    );
    assert!(
        !r.body_str().contains("TOPSECRET"),
        "{ctx}: leaked the outside file"
    );
}

#[test]
fn dot_dot_traversal_variants_never_reach_an_outside_file() {
    let t = Tree::standard("traverse");
    let s = Server::start(&t.root, &[]);
    let root_index = fs::read(t.root.join("index.html")).unwrap();
    for target in [
        "/../secret.txt",
        "/../../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/sub/..%2f..%2fsecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%5c..%5csecret.txt",
        "/..\\secret.txt",
        "/%252e%252e/secret.txt",
        "/%252e%252e%252fsecret.txt",
        "/..%252fsecret.txt",
        "/..;/secret.txt",
        "/../outdir/secret.txt",
        "/%2e%2e/outdir/secret.txt",
        "/./../secret.txt",
        "/sub/./../../secret.txt",
        "/.../secret.txt",
        "/..",
        "/../",
        "/%2e%2e",
    ] {
        let r = exchange(s.port, &get(target));
        if r.status == 200 {
            // Only acceptable if dot-segments were clamped at the root (RFC 3986 5.2.4).
            assert_eq!(r.body, root_index, "{target}: 200 with unexpected body");
        } else if r.status != 301 {
            assert_refused(&r, target);
        }
        assert!(!r.body_str().contains("TOPSECRET"), "{target}: leaked");
        // A listing of the container would reveal secret.txt's name.
        assert!(
            !r.body_str().contains("secret.txt"),
            "{target}: listed outside dir"
        );
        assert!(
            !r.body_str().contains("outdir"),
            "{target}: listed outside dir"
        );
    }
}

#[test]
fn absolute_path_in_target_never_reaches_an_outside_file() {
    let t = Tree::standard("abspath");
    let s = Server::start(&t.root, &[]);
    let abs = t.container.join("secret.txt");
    let abs = abs.to_str().unwrap();
    let enc = abs.replace('/', "%2f");
    for target in [
        format!("/{abs}"),
        format!("/{enc}"),
        format!("/%2f{}", &enc[3..]),
        format!("//{abs}"),
        format!("/sub/{enc}"),
        "//etc/passwd".to_string(),
        "/%2fetc%2fpasswd".to_string(),
    ] {
        let r = exchange(s.port, &get(&target));
        assert_refused(&r, &target);
        assert!(
            !r.body_str().contains("root:"),
            "{target}: leaked /etc/passwd"
        );
    }
}

#[test]
fn percent_decoding_happens_exactly_once() {
    let t = Tree::standard("decodeonce");
    t.file("%41.txt", b"LITERAL-PERCENT-41")
        .file("A.txt", b"DOUBLE-DECODED");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, &get("/%2541.txt"));
    assert_status(&r, OK, "/%2541.txt");
    assert_eq!(r.body, b"LITERAL-PERCENT-41");
    let r = exchange(s.port, &get("/%41.txt"));
    assert_status(&r, OK, "/%41.txt");
    assert_eq!(r.body, b"DOUBLE-DECODED");
}

#[test]
fn symlink_pointing_outside_root_is_refused_but_inside_symlinks_work() {
    let t = Tree::standard("symlinks");
    let sl = |a: &dyn AsRef<Path>, b: PathBuf| std::os::unix::fs::symlink(a.as_ref(), b);
    sl(&t.container.join("secret.txt"), t.root.join("out-file")).unwrap();
    sl(&"../secret.txt", t.root.join("out-rel")).unwrap();
    sl(&t.container.join("outdir"), t.root.join("out-dir")).unwrap();
    sl(&"a.txt", t.root.join("in-file")).unwrap();
    sl(&"sub", t.root.join("in-dir")).unwrap();
    sl(&"/etc/passwd", t.root.join("passwd")).unwrap();
    let s = Server::start(&t.root, &[]);
    for target in [
        "/out-file",
        "/out-rel",
        "/out-dir/secret.txt",
        "/out-dir/",
        "/passwd",
    ] {
        let r = exchange(s.port, &get(target));
        assert_refused(&r, target);
        assert!(!r.body_str().contains("root:"), "{target}");
        assert!(
            !r.body_str().contains("secret.txt"),
            "{target}: listed outside dir"
        );
    }
    let r = exchange(s.port, &get("/in-file"));
    assert_status(&r, OK, "/in-file");
    assert_eq!(r.body, b"hello");
    let r = exchange(s.port, &get("/in-dir/x.txt"));
    assert_status(&r, OK, "/in-dir/x.txt");
    assert_eq!(r.body, b"sub-x");
}

#[test]
fn nul_and_malformed_percent_escapes_are_400() {
    let t = Tree::standard("badpct");
    t.file("x", b"x");
    let s = Server::start(&t.root, &[]);
    for target in [
        "/a.txt%00",
        "/a.txt%00.html",
        "/%00",
        "/a%zz.txt",
        "/a.txt%",
        "/a.txt%4",
        "/%ff.txt",
        "/%c3%28",
        "/%e2%82",
        "/%C0%AE%C0%AE/secret.txt",
    ] {
        let r = exchange(s.port, &get(target));
        assert_status(&r, BAD_REQUEST, target);
        assert!(!r.body_str().contains("TOPSECRET"));
    }
}

#[test]
fn plus_space_utf8_and_query_are_handled_correctly() {
    let t = Tree::standard("names");
    t.file("a+b.txt", b"PLUS")
        .file("a b.txt", b"SPACE")
        .file("\u{e9}t\u{e9}.txt", b"UTF8")
        .file("q.txt", b"QUERY");
    let s = Server::start(&t.root, &[]);
    for (target, body) in [
        ("/a+b.txt", &b"PLUS"[..]),
        ("/a%2Bb.txt", b"PLUS"),
        ("/a%2bb.txt", b"PLUS"),
        ("/a%20b.txt", b"SPACE"),
        ("/%C3%A9t%C3%A9.txt", b"UTF8"),
        ("/q.txt?x=1&y=../../secret.txt", b"QUERY"),
        ("/q.txt?", b"QUERY"),
        ("/%71.txt", b"QUERY"),
    ] {
        let r = exchange(s.port, &get(target));
        assert_status(&r, OK, target);
        assert_eq!(r.body, body, "{target}");
    }
    let r = exchange(s.port, &get("/a%2Bb.txt?z"));
    assert_eq!(r.body, b"PLUS");
}

// ===========================================================================
// Directories, listings, dotfiles
// ===========================================================================

#[test]
fn directory_without_slash_redirects_301_with_exact_location() {
    let t = Tree::standard("redir");
    t.dir("plain/deeper");
    let s = Server::start(&t.root, &[]);
    for (target, loc) in [
        ("/sub", "/sub/"),
        ("/plain", "/plain/"),
        ("/plain/deeper", "/plain/deeper/"),
    ] {
        let r = exchange(s.port, &get(target));
        assert_status(&r, MOVED, target);
        assert_eq!(r.header("location"), Some(loc), "{target}");
        assert_eq!(r.all("location").len(), 1);
    }
}

#[test]
fn directory_redirect_keeps_percent_encoding_and_query() {
    let t = Tree::standard("redirenc");
    t.dir("my dir").dir("caf\u{e9}");
    let s = Server::start(&t.root, &[]);
    for (target, loc) in [
        ("/my%20dir", "/my%20dir/"),
        ("/my%20dir?q=a%20b&x=1", "/my%20dir/?q=a%20b&x=1"),
        ("/sub?x=y", "/sub/?x=y"),
        ("/caf%C3%A9", "/caf%C3%A9/"),
    ] {
        let r = exchange(s.port, &get(target));
        assert_status(&r, MOVED, target);
        assert_eq!(r.header("location"), Some(loc), "{target}");
    }
}

#[test]
fn directory_redirect_is_never_protocol_relative() {
    let t = Tree::standard("openredir");
    t.dir("evil.example");
    let s = Server::start(&t.root, &[]);
    for target in ["//evil.example", "/%2fevil.example", "///evil.example"] {
        let r = exchange(s.port, &get(target));
        if r.status == 301 {
            let loc = r.header("location").unwrap_or("");
            assert!(
                !loc.starts_with("//") && !loc.starts_with("/\\"),
                "{target}: open redirect Location {loc:?}"
            );
        }
    }
}

#[test]
fn directory_with_index_html_serves_it() {
    let t = Tree::standard("index");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, &get("/sub/"));
    assert_status(&r, OK, "/sub/");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.body, b"<p>SUB-INDEX</p>\n");
    let r = exchange(s.port, &get("/"));
    assert_eq!(r.body, b"<!doctype html><title>root</title>ROOT-INDEX\n");
    let r = exchange(s.port, &get("/sub/?q=1"));
    assert_eq!(r.body, b"<p>SUB-INDEX</p>\n");
}

fn html_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(semi) = after.find(';').filter(|j| *j < 12) else {
            out.push('&');
            rest = &after[1..];
            continue;
        };
        let ent = &after[1..semi];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn hrefs(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut pos = 0;
    for _ in 0..100_000 {
        let Some(i) = lower[pos..].find("href=") else {
            break;
        };
        let start = pos + i + 5;
        let q = html.as_bytes().get(start).copied();
        if q == Some(b'"') || q == Some(b'\'') {
            let q = q.unwrap() as char;
            if let Some(j) = html[start + 1..].find(q) {
                out.push(html_unescape(&html[start + 1..start + 1 + j]));
                pos = start + 1 + j + 1;
                continue;
            }
        }
        pos = start;
    }
    out
}

/// Resolve an href against a directory URL path, the way a browser would.
fn resolve(base: &str, href: &str) -> String {
    let href = href.split('#').next().unwrap();
    let (path, query) = match href.find('?') {
        Some(i) => (&href[..i], &href[i..]),
        None => (href, ""),
    };
    let joined = if let Some(rest) = path.strip_prefix("http://") {
        match rest.find('/') {
            Some(i) => rest[i..].to_string(),
            None => "/".to_string(),
        }
    } else if path.starts_with('/') {
        path.to_string()
    } else if path.is_empty() {
        base.to_string()
    } else {
        format!("{base}{path}")
    };
    let mut segs: Vec<&str> = Vec::new();
    let parts: Vec<&str> = joined.split('/').collect();
    let n = parts.len();
    for (i, seg) in parts.into_iter().enumerate() {
        match seg {
            "." => {
                if i == n - 1 {
                    segs.push("");
                }
            }
            ".." => {
                if segs.len() > 1 {
                    segs.pop();
                }
                if i == n - 1 {
                    segs.push("");
                }
            }
            s => segs.push(s),
        }
    }
    let mut p = segs.join("/");
    if !p.starts_with('/') {
        p.insert(0, '/');
    }
    format!("{p}{query}")
}

fn href_is_properly_encoded(h: &str) -> bool {
    h.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%?".contains(&b))
}

#[test]
fn listing_escapes_names_and_every_link_works() {
    let t = Tree::new("listing");
    let names = [
        "sp ace.txt",
        "pct%41.txt",
        "hash#frag.txt",
        "q?x=1.txt",
        "caf\u{e9}-\u{65e5}\u{672c}.txt",
        "<b>&\"'tag.txt",
        "plus+sign.txt",
        "semi;colon.txt",
        "normal.txt",
    ];
    for n in names {
        t.file(&format!("d/{n}"), n.as_bytes());
    }
    t.dir("d/a <sub> dir");
    t.file("d/a <sub> dir/inner.txt", b"INNER");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, &get("/d/"));
    check_common(&r);
    assert_status(&r, OK, "listing /d/");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let body = r.body_str();
    assert!(
        !body.contains("<b>&"),
        "raw file name injected into HTML:\n{body}"
    );
    assert!(
        !body.contains("<sub>"),
        "raw directory name injected into HTML"
    );
    assert!(
        body.contains("&lt;b&gt;&amp;"),
        "escaped name text missing:\n{body}"
    );
    let links = hrefs(&body);
    for n in names {
        let want = format!("/d/{n}");
        let found = links.iter().find(|h| {
            let res = resolve("/d/", h);
            let path = res.split('?').next().unwrap();
            pct_decode(path) == want.as_bytes()
        });
        let h = found.unwrap_or_else(|| panic!("no working href for {n:?}; hrefs {links:?}"));
        assert!(
            href_is_properly_encoded(h),
            "href {h:?} for {n:?} is not percent-encoded"
        );
        let target = resolve("/d/", h);
        let fr = exchange(s.port, &get(&target));
        assert_status(&fr, OK, &format!("following href {h:?}"));
        assert_eq!(fr.body, n.as_bytes(), "following href {h:?}");
    }
    let dir_href = links
        .iter()
        .find(|h| pct_decode(resolve("/d/", h).split('?').next().unwrap()) == b"/d/a <sub> dir/")
        .unwrap_or_else(|| panic!("no href to the subdirectory (with trailing slash): {links:?}"));
    assert!(href_is_properly_encoded(dir_href), "{dir_href:?}");
    let fr = exchange(
        s.port,
        &get(&format!("{}inner.txt", resolve("/d/", dir_href))),
    );
    assert_eq!(fr.body, b"INNER");
}

#[test]
fn listing_puts_directories_first_hides_dotfiles_and_links_to_parent() {
    let t = Tree::new("listorder");
    t.file("d/aaa-file.txt", b"1")
        .file("d/zzz-dir/f", b"2")
        .file("d/.secret-dot", b"3")
        .file("d/.dotdir/f", b"4")
        .file("d/mmm.txt", b"5");
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, &get("/d/"));
    assert_status(&r, OK, "listing");
    let body = r.body_str();
    assert!(!body.contains(".secret-dot"), "dotfile listed:\n{body}");
    assert!(!body.contains(".dotdir"), "dot directory listed:\n{body}");
    let links = hrefs(&body);
    let idx = |want: &str| {
        links
            .iter()
            .position(|h| resolve("/d/", h).split('?').next().unwrap() == want)
            .unwrap_or_else(|| panic!("no href to {want}: {links:?}"))
    };
    let dir_i = idx("/d/zzz-dir/");
    assert!(
        dir_i < idx("/d/aaa-file.txt"),
        "directories first: {links:?}"
    );
    assert!(dir_i < idx("/d/mmm.txt"), "directories first: {links:?}");
    idx("/"); // parent link
}

#[test]
fn dotfiles_are_404_unless_hidden_flag() {
    let t = Tree::standard("dot");
    t.file(".env", b"DOT-ENV")
        .file(".git/config", b"DOT-GIT")
        .file("sub/.htpasswd", b"DOT-HT")
        .file(".well/known.txt", b"DOT-WELL");
    let s = Server::start(&t.root, &[]);
    for target in [
        "/.env",
        "/%2eenv",
        "/%2Eenv",
        "/.git/config",
        "/.git/",
        "/.git",
        "/%2egit/config",
        "/sub/.htpasswd",
        "/sub/%2ehtpasswd",
        "/.well/known.txt",
    ] {
        let r = exchange(s.port, &get(target));
        assert_status(&r, NOT_FOUND, target);
        assert!(!r.body_str().contains("DOT-"), "{target}");
    }
    let r = exchange(s.port, &get("/sub/x.txt"));
    assert_eq!(r.body, b"sub-x");
}

#[test]
fn hidden_flag_serves_and_lists_dotfiles() {
    let t = Tree::new("dothidden");
    t.file(".env", b"DOT-ENV")
        .file(".git/config", b"DOT-GIT")
        .file("v.txt", b"v");
    let s = Server::start(&t.root, &["--hidden"]);
    let r = exchange(s.port, &get("/.env"));
    assert_status(&r, OK, "/.env with --hidden");
    assert_eq!(r.body, b"DOT-ENV");
    let r = exchange(s.port, &get("/.git/config"));
    assert_eq!(r.body, b"DOT-GIT");
    let r = exchange(s.port, &get("/"));
    let links: Vec<String> = hrefs(&r.body_str())
        .iter()
        .map(|h| resolve("/", h))
        .collect();
    assert!(links.contains(&"/.env".to_string()), "{links:?}");
    assert!(links.contains(&"/.git/".to_string()), "{links:?}");
    // Still no escape with --hidden.
    let r = exchange(s.port, &get("/../secret.txt"));
    assert_refused(&r, "/../secret.txt with --hidden");
}

// ===========================================================================
// Connection limits and timeouts
// ===========================================================================

#[test]
fn connections_beyond_max_connections_get_503_close_and_server_recovers() {
    let t = Tree::standard("503");
    let s = Server::start(&t.root, &["--max-connections", "2"]);
    let mut c1 = connect(s.port);
    let mut c2 = connect(s.port);
    for c in [&mut c1, &mut c2] {
        c.send(&get("/a.txt"));
        assert_eq!(c.read_response(false).body, b"hello");
    }
    let mut c3 = connect(s.port);
    c3.s.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut peek = [0u8; 1];
    let nothing_yet = matches!(c3.s.peek(&mut peek), Err(ref e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut);
    c3.s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    if nothing_yet {
        c3.send_lossy(&get("/a.txt"));
    }
    let r = c3.read_response(false);
    check_common(&r);
    assert_status(&r, UNAVAILABLE, "third connection with --max-connections 2");
    assert!(r.has_token("connection", "close"));
    c3.assert_closed_clean("503 connection");
    // The existing connections still work.
    c1.send(&get("/b.txt"));
    assert_eq!(c1.read_response(false).body, b"world!");
    // Free one slot; a new client must be served again (bounded retries).
    drop(c2);
    let mut served = false;
    for _ in 0..50 {
        let mut c = connect(s.port);
        c.s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        c.send_lossy(&get("/c.txt"));
        if let Ok(r) = c.try_read_response(false)
            && r.status == 200
        {
            assert_eq!(r.body, b"third");
            served = true;
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    assert!(served, "server did not recover after a connection closed");
}

#[test]
fn slowloris_head_is_closed_at_header_timeout_measured_from_first_byte() {
    let t = Tree::standard("slowloris");
    let s = Server::start(&t.root, &["--header-timeout", "1s"]);
    let mut c = connect(s.port);
    c.s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
    let mut got = Vec::new();
    let mut closed_at = None;
    let mut tmp = [0u8; 4096];
    for _ in 0..40 {
        // one byte per ~100 ms: a deliberately slow client
        let _ = c.s.write_all(b"z");
        match c.s.read(&mut tmp) {
            Ok(0) => {
                closed_at = Some(start.elapsed());
                break;
            }
            Ok(n) => got.extend_from_slice(&tmp[..n]),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
            }
            Err(_) => {
                closed_at = Some(start.elapsed());
                break;
            }
        }
    }
    let closed_at = closed_at.expect("slow header sender was never closed (4 s)");
    assert!(
        closed_at >= Duration::from_millis(900),
        "closed too early: {closed_at:?}"
    );
    assert!(
        closed_at <= Duration::from_millis(2600),
        "closed too late: {closed_at:?}"
    );
    if !got.is_empty() {
        assert!(
            got.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"),
            "only a 408 may be sent: {:?}",
            String::from_utf8_lossy(&got)
        );
    }
}

#[test]
fn header_timeout_clock_starts_at_first_byte_of_the_next_request() {
    let t = Tree::standard("htstart");
    let s = Server::start(
        &t.root,
        &["--header-timeout", "1s", "--keepalive-timeout", "20s"],
    );
    let mut c = connect(s.port);
    c.send(&get("/a.txt"));
    assert_eq!(c.read_response(false).body, b"hello");
    c.assert_still_open(
        Duration::from_millis(1600),
        "idle keep-alive shorter than keepalive-timeout",
    );
    c.send(&get("/b.txt"));
    let r = c.read_response(false);
    assert_status(&r, OK, "request after 1.6 s idle");
    assert_eq!(r.body, b"world!");
}

#[test]
fn idle_keep_alive_connection_closes_after_keepalive_timeout() {
    let t = Tree::standard("katimeout");
    let s = Server::start(&t.root, &["--keepalive-timeout", "1s"]);
    let mut c = connect(s.port);
    c.send(&get("/a.txt"));
    let r = c.read_response(false);
    assert!(!r.has_token("connection", "close"));
    let start = Instant::now();
    match c.wait_closed(Duration::from_secs(4)) {
        Ok((_, extra)) => {
            let el = start.elapsed();
            assert!(el >= Duration::from_millis(800), "closed too early: {el:?}");
            if !extra.is_empty() {
                assert!(
                    extra.starts_with(b"HTTP/1.1 408"),
                    "unexpected bytes {:?}",
                    String::from_utf8_lossy(&extra)
                );
            }
        }
        Err(_) => panic!("idle keep-alive connection not closed within 4 s (timeout 1 s)"),
    }
}

#[test]
fn stalled_request_body_is_closed_at_body_timeout() {
    let t = Tree::standard("bodytimeout");
    let s = Server::start(&t.root, &["--body-timeout", "1s"]);
    let mut c = connect(s.port);
    let start = Instant::now();
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789");
    match c.wait_closed(Duration::from_secs(4)) {
        Ok(_) => assert!(start.elapsed() < Duration::from_secs(4)),
        Err(extra) => panic!(
            "connection with stalled body not closed within 4 s (body timeout 1 s); got {:?}",
            String::from_utf8_lossy(&extra)
        ),
    }
}

#[test]
fn response_making_no_progress_is_abandoned_at_write_timeout() {
    let t = Tree::new("writetimeout");
    let f = fs::File::create(t.root.join("huge.bin")).unwrap();
    let size: u64 = 256 * 1024 * 1024;
    f.set_len(size).unwrap(); // sparse
    drop(f);
    let s = Server::start(&t.root, &["--write-timeout", "1s"]);
    let mut c = connect(s.port);
    c.send(&get("/huge.bin"));
    thread::sleep(Duration::from_millis(2500)); // deliberately not reading
    let mut total: u64 = 0;
    let mut tmp = vec![0u8; 1 << 20];
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut closed = false;
    while Instant::now() < deadline {
        match c.s.read(&mut tmp) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                closed = true;
                break;
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                break;
            }
            Err(e) => panic!("read error {e} after {total} bytes"),
        }
    }
    assert!(
        closed,
        "connection not closed after write timeout ({total} bytes read)"
    );
    assert!(
        total < size,
        "whole response was delivered; nothing was abandoned"
    );
}

#[test]
fn slow_reader_of_a_big_file_does_not_pin_the_only_worker() {
    let t = Tree::standard("slowreader");
    let f = fs::File::create(t.root.join("huge.bin")).unwrap();
    f.set_len(256 * 1024 * 1024).unwrap();
    drop(f);
    let s = Server::start(&t.root, &["--threads", "1"]);
    let mut slow = connect(s.port);
    slow.send(&get("/huge.bin"));
    thread::sleep(Duration::from_millis(300)); // let the server fill the socket buffers
    for i in 0..3 {
        let start = Instant::now();
        let r = exchange(s.port, &get("/a.txt"));
        assert_eq!(r.body, b"hello");
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "client {i} delayed {:?} by a slow reader",
            start.elapsed()
        );
    }
    drop(slow);
}

#[test]
fn idle_and_half_sent_connections_do_not_delay_a_new_client_with_two_threads() {
    let t = Tree::standard("idle");
    let s = Server::start(&t.root, &["--threads", "2", "--header-timeout", "10s"]);
    let mut silent = Vec::new();
    let mut half = Vec::new();
    let mut kept = Vec::new();
    for _ in 0..20 {
        silent.push(connect(s.port));
        let mut h = connect(s.port);
        h.send(b"GET /a.txt HTTP/1.1\r\nHost: loc");
        half.push(h);
        let mut k = connect(s.port);
        k.send(&get("/a.txt"));
        assert_eq!(k.read_response(false).body, b"hello");
        kept.push(k);
    }
    for i in 0..5 {
        let start = Instant::now();
        let r = exchange(s.port, &get("/b.txt"));
        assert_eq!(r.body, b"world!");
        assert!(
            start.elapsed() < Duration::from_millis(1000),
            "new client {i} delayed {:?}",
            start.elapsed()
        );
    }
    // The parked connections are intact and complete normally.
    for h in half.iter_mut() {
        h.send(b"alhost\r\n\r\n");
        assert_eq!(h.read_response(false).body, b"hello");
    }
    for k in kept.iter_mut() {
        k.send(&get("/c.txt"));
        assert_eq!(k.read_response(false).body, b"third");
    }
    for sc in silent.iter_mut() {
        sc.send(&get("/a.txt"));
        assert_eq!(sc.read_response(false).body, b"hello");
    }
}

// ===========================================================================
// curl
// ===========================================================================

fn curl(args: &[&str]) -> (bool, Vec<u8>, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "5"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn parse_all(mut buf: &[u8], head: bool) -> Vec<Resp> {
    let mut v = Vec::new();
    for _ in 0..10 {
        if buf.is_empty() {
            break;
        }
        match parse_response(buf, head, true) {
            Parse::Done(r, used) => {
                v.push(r);
                buf = &buf[used..];
            }
            _ => panic!(
                "cannot parse curl output {:?}",
                String::from_utf8_lossy(buf)
            ),
        }
    }
    v
}

#[test]
fn curl_get_and_head_see_exact_status_headers_and_bytes() {
    let t = Tree::standard("curlget");
    let s = Server::start(&t.root, &[]);
    let url = format!("http://127.0.0.1:{}/b.txt", s.port);
    let (ok, out, err) = curl(&["-i", &url]);
    assert!(ok, "curl failed: {err}");
    let rs = parse_all(&out, false);
    assert_eq!(rs.len(), 1);
    check_common(&rs[0]);
    assert_status(&rs[0], OK, "curl GET");
    assert_eq!(rs[0].body, b"world!");
    assert_eq!(
        rs[0].header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let (ok, out, err) = curl(&["-I", &url]);
    assert!(ok, "curl -I failed: {err}");
    let hs = parse_all(&out, true);
    assert_eq!(hs.len(), 1);
    assert_eq!(hs[0].comparable_headers(), rs[0].comparable_headers());
}

#[test]
fn curl_http10_request_gets_http11_status_and_connection_close() {
    let t = Tree::standard("curl10");
    let s = Server::start(&t.root, &[]);
    let url = format!("http://127.0.0.1:{}/a.txt", s.port);
    let (ok, out, err) = curl(&["-0", "-i", &url]);
    assert!(ok, "curl -0 failed: {err}");
    let rs = parse_all(&out, false);
    assert_status(&rs[0], OK, "curl -0");
    assert!(
        rs[0].has_token("connection", "close"),
        "{:?}",
        rs[0].headers
    );
    assert_eq!(rs[0].body, b"hello");
}

#[test]
fn curl_path_as_is_traversal_is_refused() {
    let t = Tree::standard("curltrav");
    let s = Server::start(&t.root, &[]);
    for p in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/../../secret.txt",
        "/..%2fsecret.txt",
    ] {
        let url = format!("http://127.0.0.1:{}{p}", s.port);
        let (ok, out, err) = curl(&["--path-as-is", "-i", &url]);
        assert!(ok, "curl failed for {p}: {err}");
        let rs = parse_all(&out, false);
        assert_refused(&rs[0], p);
    }
}

#[test]
fn curl_follows_directory_redirect_to_index() {
    let t = Tree::standard("curlredir");
    let s = Server::start(&t.root, &[]);
    let url = format!("http://127.0.0.1:{}/sub?k=v", s.port);
    let (ok, out, err) = curl(&["-i", "-L", &url]);
    assert!(ok, "curl -L failed: {err}");
    // curl -L prints the redirect's head but not its body.
    let Parse::Done(first, used) = parse_response(&out, true, true) else {
        panic!(
            "cannot parse curl output {:?}",
            String::from_utf8_lossy(&out)
        );
    };
    let mut rs = vec![first];
    rs.extend(parse_all(&out[used..], false));
    assert_eq!(rs.len(), 2, "one redirect then the page");
    assert_status(&rs[0], MOVED, "first hop");
    assert_eq!(rs[0].header("location"), Some("/sub/?k=v"));
    assert_status(&rs[1], OK, "second hop");
    assert_eq!(rs[1].body, b"<p>SUB-INDEX</p>\n");
}

#[test]
fn curl_post_with_expect_100_continue_is_answered_without_waiting() {
    let t = Tree::standard("curlexpect");
    let s = Server::start(&t.root, &[]);
    let url = format!("http://127.0.0.1:{}/a.txt", s.port);
    let start = Instant::now();
    let (ok, out, err) = curl(&[
        "-i",
        "--expect100-timeout",
        "4",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        "0123456789",
        &url,
    ]);
    let el = start.elapsed();
    assert!(ok, "curl failed: {err}");
    assert!(el < Duration::from_millis(2500), "client waited {el:?}");
    let rs = parse_all(&out, false);
    let last = rs.last().unwrap();
    assert_status(last, NOT_ALLOWED, "curl POST");
    assert_eq!(last.header("allow"), Some(ALLOW));
}

// ===========================================================================
// More edge cases: odd files, query handling, CLI, shutdown, logging, EMFILE
// ===========================================================================

unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
const SIGTERM: i32 = 15;
const SIGINT: i32 = 2;

fn signal(child: &Child, sig: i32) {
    let rc = unsafe { kill(child.id() as i32, sig) };
    assert_eq!(rc, 0, "kill() failed");
}

/// Wait (bounded) for the child to exit; returns its exit code.
fn wait_exit(child: &mut Child, within: Duration) -> Option<Option<i32>> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st.code());
        }
        if Instant::now() > deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn file_path_with_trailing_slash_is_404() {
    let t = Tree::standard("fileslash");
    let s = Server::start(&t.root, &[]);
    for target in ["/a.txt/", "/a.txt/x", "/sub/x.txt/"] {
        let r = exchange(s.port, &get(target));
        assert_status(&r, NOT_FOUND, target);
    }
}

#[test]
fn fifo_in_root_is_refused_without_hanging_a_worker() {
    let t = Tree::standard("fifo");
    let st = Command::new("mkfifo")
        .arg(t.root.join("pipe.txt"))
        .status()
        .expect("mkfifo");
    assert!(st.success());
    let s = Server::start(&t.root, &["--threads", "1"]);
    let mut c = connect(s.port);
    c.s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c.send(&get("/pipe.txt"));
    let r = c
        .try_read_response(false)
        .unwrap_or_else(|e| panic!("GET of a FIFO hung or failed: {e}"));
    check_common(&r);
    assert!(
        r.status_line == NOT_FOUND || r.status_line == FORBIDDEN,
        "FIFO: {:?}",
        r.status_line
    );
    let start = Instant::now();
    let r = exchange(s.port, &get("/a.txt"));
    assert_eq!(r.body, b"hello");
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn query_string_is_not_decoded_or_validated_for_files() {
    let t = Tree::standard("rawquery");
    let s = Server::start(&t.root, &[]);
    for target in [
        "/a.txt?%zz",
        "/a.txt?%00",
        "/a.txt?%ff%fe",
        "/a.txt?a=%",
        "/a.txt?/../../secret.txt",
    ] {
        let r = exchange(s.port, &get(target));
        assert_status(&r, OK, target);
        assert_eq!(r.body, b"hello", "{target}");
    }
}

#[test]
fn chunk_sizes_with_leading_zeros_and_upper_case_hex_are_valid() {
    let t = Tree::standard("chunkhex");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0005\r\nhello\r\nA\r\n0123456789\r\n000\r\n\r\n".to_vec();
    raw.extend(get("/b.txt"));
    c.send(&raw);
    let r = c.read_response(false);
    assert_status(&r, OK, "chunked with 0005/A/000");
    assert_eq!(r.body, b"hello");
    assert_eq!(c.read_response(false).body, b"world!");
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    for flag in ["--help", "--version"] {
        let (code, out, err) = run_to_exit(&[flag.to_string()]);
        assert_eq!(code, Some(0), "{flag}: stderr {err}");
        assert!(!out.is_empty(), "{flag} prints to stdout");
    }
    let (_, out, _) = run_to_exit(&["--version".to_string()]);
    assert!(out.contains("0.1.0") || out.contains("ferry"), "{out:?}");
}

#[test]
fn invalid_bind_address_exits_2_with_one_line() {
    let t = Tree::new("badbind");
    let (code, out, err) = run_to_exit(&[
        t.root.to_str().unwrap().into(),
        "--bind".into(),
        "not-an-address".into(),
        "--port".into(),
        "0".into(),
    ]);
    // Argument-syntax errors come from clap (multi-line usage text is tolerated).
    assert_eq!(code, Some(2), "stderr: {err}");
    assert_eq!(out, "");
    assert!(!err.contains("panicked"));
}

#[test]
fn sigterm_closes_idle_connections_and_exits_0() {
    let t = Tree::standard("sigterm");
    let mut s = Server::start(&t.root, &[]);
    let mut idle = connect(s.port);
    idle.send(&get("/a.txt"));
    assert_eq!(idle.read_response(false).body, b"hello");
    let mut silent = connect(s.port);
    thread::sleep(Duration::from_millis(100)); // let the server register the silent one
    signal(&s.child, SIGTERM);
    let code = wait_exit(&mut s.child, Duration::from_secs(4))
        .expect("server did not exit within 4 s of SIGTERM with only idle connections");
    assert_eq!(code, Some(0), "exit status after SIGTERM");
    assert!(
        idle.wait_closed(Duration::from_secs(1)).is_ok(),
        "idle connection not closed"
    );
    assert!(
        silent.wait_closed(Duration::from_secs(1)).is_ok(),
        "silent connection not closed"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", s.port)).is_err(),
        "still accepting after exit"
    );
}

#[test]
fn sigint_lets_an_in_flight_response_finish_then_exits_0() {
    let t = Tree::new("sigint");
    let data: Vec<u8> = (0..(24 * 1024 * 1024u32))
        .map(|i| (i % 251) as u8)
        .collect();
    t.file("big.bin", &data);
    let mut s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    c.send(&get("/big.bin"));
    // Read just the head and a little of the body, then signal.
    let mut tmp = [0u8; 4096];
    let n = c.s.read(&mut tmp).unwrap();
    c.buf.extend_from_slice(&tmp[..n]);
    signal(&s.child, SIGINT);
    thread::sleep(Duration::from_millis(300)); // deliberately slow reader for a moment
    let r = c.read_response(false);
    check_common(&r);
    assert_eq!(r.body.len(), data.len(), "in-flight response was cut short");
    assert!(r.body == data, "in-flight response bytes differ");
    let code = wait_exit(&mut s.child, Duration::from_secs(6)).expect("no exit after SIGINT");
    assert_eq!(code, Some(0));
}

#[test]
fn access_log_has_one_line_per_request_unless_quiet() {
    let t = Tree::standard("accesslog");
    let args: Vec<String> = vec![t.root.to_str().unwrap().into(), "--port".into(), "0".into()];
    let mut cmd = Command::new(BIN);
    cmd.args(&args).stderr(Stdio::piped());
    let mut s = Server::spawn(cmd, &args);
    let mut err_pipe = s.child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        let _ = tx.send(v);
    });
    let mut c = connect(s.port);
    c.send(&get("/a.txt"));
    c.read_response(false);
    c.send(&get("/nope-xyz"));
    c.read_response(false);
    drop(c);
    thread::sleep(Duration::from_millis(100));
    signal(&s.child, SIGTERM);
    let code = wait_exit(&mut s.child, Duration::from_secs(6)).expect("no exit after SIGTERM");
    assert_eq!(code, Some(0));
    let log =
        String::from_utf8_lossy(&rx.recv_timeout(Duration::from_secs(5)).unwrap()).into_owned();
    let a: Vec<&str> = log.lines().filter(|l| l.contains("/a.txt")).collect();
    let n: Vec<&str> = log.lines().filter(|l| l.contains("/nope-xyz")).collect();
    assert_eq!(a.len(), 1, "one log line for /a.txt: {log:?}");
    assert_eq!(n.len(), 1, "one log line for /nope-xyz: {log:?}");
    assert!(a[0].contains("GET") && a[0].contains("200"), "{:?}", a[0]);
    assert!(n[0].contains("GET") && n[0].contains("404"), "{:?}", n[0]);

    // --quiet: no access log at all.
    let args: Vec<String> = vec![
        t.root.to_str().unwrap().into(),
        "--port".into(),
        "0".into(),
        "--quiet".into(),
    ];
    let mut cmd = Command::new(BIN);
    cmd.args(&args).stderr(Stdio::piped());
    let mut s = Server::spawn(cmd, &args);
    let mut err_pipe = s.child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        let _ = tx.send(v);
    });
    exchange(s.port, &get("/a.txt"));
    signal(&s.child, SIGTERM);
    wait_exit(&mut s.child, Duration::from_secs(6)).expect("no exit after SIGTERM");
    let log = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        !String::from_utf8_lossy(&log).contains("/a.txt"),
        "--quiet still logs: {:?}",
        String::from_utf8_lossy(&log)
    );
}

#[test]
fn running_out_of_file_descriptors_neither_kills_nor_spins_the_server() {
    let t = Tree::standard("emfile");
    // Hard limit 64 so the server cannot raise its soft limit past it.
    let mut args: Vec<String> = vec![
        "-c".into(),
        "ulimit -n 64 && exec \"$0\" \"$@\"".into(),
        BIN.into(),
    ];
    args.extend([
        t.root.to_str().unwrap().into(),
        "--port".into(),
        "0".into(),
        "--quiet".into(),
    ]);
    let mut cmd = Command::new("sh");
    cmd.args(&args).stderr(Stdio::inherit());
    let mut s = Server::spawn(cmd, &args);
    let pid = s.child.id();
    let mut conns = Vec::new();
    for _ in 0..100 {
        conns.push(connect(s.port)); // completes in the backlog even if not accepted
    }
    thread::sleep(Duration::from_millis(300)); // let the server hit EMFILE
    let cpu = |pid: u32| -> u64 {
        let st = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &st[st.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let before = cpu(pid);
    thread::sleep(Duration::from_millis(1000)); // measuring CPU while at the fd limit
    let used = cpu(pid) - before; // clock ticks, normally 100/s
    assert!(
        used < 50,
        "server burned {used} ticks in 1 s at the fd limit (busy loop?)"
    );
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "server exited at the fd limit"
    );
    drop(conns);
    let mut served = false;
    for _ in 0..40 {
        let mut c = connect(s.port);
        c.s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        c.send_lossy(&get("/a.txt"));
        if let Ok(r) = c.try_read_response(false)
            && r.status == 200
            && r.body == b"hello"
        {
            served = true;
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    assert!(
        served,
        "server did not recover after descriptors were freed"
    );
    signal(&s.child, SIGTERM);
    let _ = wait_exit(&mut s.child, Duration::from_secs(5));
}

#[test]
fn pipelined_big_responses_with_a_client_that_writes_everything_first_do_not_deadlock() {
    let t = Tree::new("pipebig");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    t.file("100k.bin", &data);
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut w = c.s.try_clone().unwrap();
    let n = 300;
    let writer = thread::spawn(move || {
        let mut raw = Vec::new();
        for _ in 0..n {
            raw.extend(get("/100k.bin"));
        }
        w.write_all(&raw).is_ok()
    });
    for i in 0..n {
        let r = c.read_response(false);
        assert!(r.body == data, "response {i} differs");
    }
    assert!(
        writer.join().unwrap(),
        "writing the pipelined requests failed"
    );
}

#[test]
fn absolute_form_scheme_is_case_insensitive_and_bad_authority_is_400() {
    let t = Tree::standard("absform2");
    let s = Server::start(&t.root, &[]);
    let r = exchange(
        s.port,
        b"GET HTTP://LOCALHOST/a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert_status(&r, OK, "upper-case scheme (RFC 3986 3.1)");
    assert_eq!(r.body, b"hello");
    for raw in [
        &b"GET http://local host/a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
        &b"GET http://localhost:abc/a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
        &b"GET http:///a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
    ] {
        let r = exchange(s.port, raw);
        assert_status(&r, BAD_REQUEST, &String::from_utf8_lossy(raw));
    }
}

#[test]
fn empty_field_value_and_leading_zero_content_length_are_valid() {
    let t = Tree::standard("emptyval");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nX-Empty:\r\nX-Spaces:   \r\nContent-Length: 003\r\n\r\nxyz".to_vec();
    raw.extend(get("/b.txt"));
    c.send(&raw);
    let r = c.read_response(false);
    assert_status(&r, OK, "empty values, CL 003");
    assert_eq!(r.body, b"hello");
    assert_eq!(c.read_response(false).body, b"world!");
}

#[test]
fn names_too_long_for_the_filesystem_are_404_not_500() {
    let t = Tree::standard("longname");
    let s = Server::start(&t.root, &[]);
    let long_name = format!("/{}", "n".repeat(300));
    let deep = "/d".repeat(2500);
    for target in [long_name.as_str(), deep.as_str()] {
        let r = exchange(s.port, &get(target));
        assert_status(&r, NOT_FOUND, &format!("{} byte path", target.len()));
    }
}

#[test]
fn index_html_symlinked_outside_root_is_not_served() {
    let t = Tree::standard("indexlink");
    t.dir("s2");
    std::os::unix::fs::symlink(t.container.join("secret.txt"), t.root.join("s2/index.html"))
        .unwrap();
    let s = Server::start(&t.root, &[]);
    for target in ["/s2/", "/s2/index.html"] {
        let r = exchange(s.port, &get(target));
        assert!(
            !r.body_str().contains("TOPSECRET"),
            "{target}: leaked via index.html symlink"
        );
    }
}

#[test]
fn close_wins_over_keep_alive_in_http10_and_http11() {
    let t = Tree::standard("closewins");
    let s = Server::start(&t.root, &[]);
    for raw in [
        &b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"[..],
        &b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"[..],
    ] {
        let mut c = connect(s.port);
        c.send(raw);
        let r = c.read_response(false);
        assert_eq!(r.body, b"hello");
        assert!(r.has_token("connection", "close"), "{:?}", String::from_utf8_lossy(raw));
        assert!(!r.has_token("connection", "keep-alive"));
        c.assert_closed_clean(&String::from_utf8_lossy(raw));
    }
}

#[test]
fn client_half_close_after_pipelined_requests_still_gets_all_responses() {
    let t = Tree::standard("halfclose");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = get("/a.txt");
    raw.extend(get("/b.txt"));
    c.send(&raw);
    c.s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(c.read_response(false).body, b"hello");
    assert_eq!(c.read_response(false).body, b"world!");
    c.assert_closed_clean("after half-close");
}

#[test]
fn default_max_body_is_one_mebibyte_exactly() {
    let t = Tree::standard("defmaxbody");
    let s = Server::start(&t.root, &[]);
    let body = vec![b'x'; 1048576];
    let mut c = connect(s.port);
    let mut w = c.s.try_clone().unwrap();
    let mut raw =
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\r\n".to_vec();
    raw.extend(&body);
    raw.extend(get("/b.txt"));
    let writer = thread::spawn(move || w.write_all(&raw).is_ok());
    let r = c.read_response(false);
    assert_status(&r, OK, "1 MiB body");
    assert_eq!(c.read_response(false).body, b"world!");
    assert!(writer.join().unwrap());
    exchange_expect_close(
        s.port,
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048577\r\n\r\n",
        &TOO_LARGE,
    );
}

#[test]
fn slowly_progressing_body_is_not_cut_by_body_timeout() {
    let t = Tree::standard("slowbody");
    let s = Server::start(&t.root, &["--body-timeout", "1s"]);
    let mut c = connect(s.port);
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 8\r\n\r\n");
    for _ in 0..8 {
        thread::sleep(Duration::from_millis(300)); // deliberately slow, but progressing
        c.send_lossy(b"b");
    }
    // 2.4 s total but never 1 s without progress. The response may already have
    // come; the connection must still be usable.
    let r = c.read_response(false);
    assert_status(&r, OK, "slow body");
    assert!(
        !r.has_token("connection", "close"),
        "closed a progressing body: {:?}",
        r.headers
    );
    c.send(&get("/b.txt"));
    assert_eq!(c.read_response(false).body, b"world!");
}

#[test]
fn slowly_progressing_reader_gets_the_whole_file_despite_short_write_timeout() {
    let t = Tree::new("slowread");
    let data: Vec<u8> = (0..(24 * 1024 * 1024u32))
        .map(|i| (i % 249) as u8)
        .collect();
    t.file("big.bin", &data);
    let s = Server::start(&t.root, &["--write-timeout", "1s"]);
    let mut c = connect(s.port);
    c.send(&get("/big.bin"));
    let mut got = Vec::with_capacity(data.len() + 1024);
    let mut tmp = vec![0u8; 256 * 1024];
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut since_pause = 0usize;
    while Instant::now() < deadline {
        match c.s.read(&mut tmp) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&tmp[..n]);
                since_pause += n;
                if since_pause >= 4 * 1024 * 1024 {
                    since_pause = 0;
                    thread::sleep(Duration::from_millis(400)); // slow reader, < write timeout
                }
                if let Parse::Done(r, _) = parse_response(&got, false, false) {
                    assert!(r.body == data, "bytes differ");
                    return;
                }
            }
            Err(e) => panic!("read error {e} after {} bytes", got.len()),
        }
    }
    panic!("response cut short after {} bytes", got.len());
}

#[test]
fn field_names_are_case_insensitive() {
    let t = Tree::standard("namecase");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw =
        b"GET /a.txt HTTP/1.1\r\nHOST: localhost\r\ncontent-LENGTH: 3\r\n\r\nxyz".to_vec();
    raw.extend(b"GET /b.txt HTTP/1.1\r\nhOsT: localhost\r\nCONNECTION: CLOSE\r\n\r\n");
    c.send(&raw);
    let r = c.read_response(false);
    assert_status(&r, OK, "upper-case HOST / content-LENGTH");
    assert_eq!(r.body, b"hello");
    let r = c.read_response(false);
    assert_eq!(r.body, b"world!");
    assert!(r.has_token("connection", "close"));
    c.assert_closed_clean("CONNECTION: CLOSE");
}

#[test]
fn head_of_a_big_file_sends_no_body_on_a_kept_alive_connection() {
    let t = Tree::standard("headbig");
    let f = fs::File::create(t.root.join("big.bin")).unwrap();
    f.set_len(8 * 1024 * 1024).unwrap();
    drop(f);
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut raw = req("HEAD", "/big.bin");
    raw.extend(get("/a.txt"));
    c.send(&raw);
    let h = c.read_response(true);
    check_common(&h);
    assert_status(&h, OK, "HEAD big");
    assert_eq!(h.header("content-length"), Some("8388608"));
    let r = c.read_response(false);
    assert_status(&r, OK, "GET after HEAD of big file (body leaked?)");
    assert_eq!(r.body, b"hello");
}

#[test]
fn upgrade_requests_are_served_as_plain_http11() {
    let t = Tree::standard("upgrade");
    let s = Server::start(&t.root, &[]);
    let r = exchange(
        s.port,
        b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
    );
    assert_status(&r, OK, "h2c upgrade attempt");
    assert_eq!(r.body, b"hello");
    assert!(r.header("upgrade").is_none());
}

#[test]
fn thirty_two_byte_a_tick_clients_do_not_delay_others_and_are_all_closed_in_time() {
    let t = Tree::standard("slow32");
    let s = Server::start(&t.root, &["--threads", "2", "--header-timeout", "1s"]);
    let mut slow: Vec<(TcpStream, Option<Duration>)> = Vec::new();
    let start = Instant::now();
    for _ in 0..32 {
        let c = connect(s.port);
        c.s.set_nonblocking(true).unwrap();
        let mut st = c.s;
        st.write_all(b"G").unwrap();
        slow.push((st, None));
    }
    let mut tmp = [0u8; 1024];
    let mut worst_fast = Duration::ZERO;
    for tick in 0..30 {
        thread::sleep(Duration::from_millis(100)); // pace the deliberately slow clients
        for (st, closed) in slow.iter_mut() {
            if closed.is_some() {
                continue;
            }
            let _ = st.write_all(b"E");
            loop {
                match st.read(&mut tmp) {
                    Ok(0) => {
                        *closed = Some(start.elapsed());
                        break;
                    }
                    Ok(_) => continue, // an optional 408
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        *closed = Some(start.elapsed());
                        break;
                    }
                }
            }
        }
        if tick % 3 == 0 {
            let t0 = Instant::now();
            let r = exchange(s.port, &get("/a.txt"));
            assert_eq!(r.body, b"hello");
            worst_fast = worst_fast.max(t0.elapsed());
        }
        if slow.iter().all(|(_, c)| c.is_some()) {
            break;
        }
    }
    assert!(
        worst_fast < Duration::from_millis(500),
        "normal client delayed {worst_fast:?}"
    );
    for (i, (_, closed)) in slow.iter().enumerate() {
        let at = closed.unwrap_or_else(|| panic!("slow client {i} never closed"));
        assert!(
            at >= Duration::from_millis(900),
            "slow client {i} closed early at {at:?}"
        );
        assert!(
            at <= Duration::from_millis(2600),
            "slow client {i} closed late at {at:?}"
        );
    }
}

#[test]
fn listing_rows_show_size_and_modification_time() {
    let t = Tree::new("listmeta");
    t.file("d/f.bin", &vec![0u8; 12345]);
    let f = fs::File::options()
        .write(true)
        .open(t.root.join("d/f.bin"))
        .unwrap();
    // 2001-02-03 04:05:06 UTC
    f.set_modified(UNIX_EPOCH + Duration::from_secs(981_173_106))
        .unwrap();
    drop(f);
    let s = Server::start(&t.root, &[]);
    let r = exchange(s.port, &get("/d/"));
    assert_status(&r, OK, "listing");
    let body = r.body_str();
    let i = body.find("f.bin").expect("file in listing");
    let row_end = body[i..].find("</tr>").map(|j| i + j).unwrap_or(body.len());
    let row = &body[i..row_end];
    assert!(
        row.contains("12345")
            || row.contains("12.1")
            || row.contains("12 K")
            || row.contains("13 K"),
        "size missing from row {row:?}"
    );
    assert!(
        row.contains("2001"),
        "modification time missing from row {row:?}"
    );
}

#[test]
fn shutdown_timeout_bounds_how_long_a_stuck_response_delays_exit() {
    let t = Tree::standard("shutdowntimeout");
    let f = fs::File::create(t.root.join("huge.bin")).unwrap();
    f.set_len(256 * 1024 * 1024).unwrap();
    drop(f);
    let mut s = Server::start(&t.root, &["--shutdown-timeout", "1s"]);
    let mut stuck = connect(s.port);
    stuck.send(&get("/huge.bin")); // never read
    let mut half = connect(s.port);
    half.send(b"GET /a.txt HTTP/1.1\r\nHo"); // head in progress
    thread::sleep(Duration::from_millis(300)); // let the server fill buffers
    signal(&s.child, SIGTERM);
    let code = wait_exit(&mut s.child, Duration::from_secs(4))
        .expect("server still running 4 s after SIGTERM with --shutdown-timeout 1s");
    assert_eq!(code, Some(0));
    drop(stuck);
    drop(half);
}

#[test]
fn expect_100_continue_in_http10_request_is_ignored() {
    // RFC 9110 10.1.1: a server MUST ignore 100-continue in an HTTP/1.0 request.
    let t = Tree::standard("expect10");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    c.send(b"GET /a.txt HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    c.s.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut tmp = [0u8; 64];
    // Nothing yet (read error/timeout) is fine; anything sent must not be a 100.
    if let Ok(n) = c.s.read(&mut tmp) {
        c.buf.extend_from_slice(&tmp[..n]);
        assert!(
            !c.buf.starts_with(b"HTTP/1.1 100"),
            "sent 100 Continue to an HTTP/1.0 client"
        );
    }
    c.s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    c.send_lossy(b"hello");
    let r = c.read_response(false);
    assert_status(&r, OK, "HTTP/1.0 with Expect");
    assert_eq!(r.body, b"hello");
}

#[test]
fn thousands_of_pipelined_requests_with_odd_sizes_are_parsed_at_every_buffer_offset() {
    let t = Tree::standard("pipeodd");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut w = c.s.try_clone().unwrap();
    let n = 3000usize;
    let writer = thread::spawn(move || {
        let mut raw = Vec::new();
        let mut x: u32 = 12345;
        for i in 0..n {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            let pad = (x >> 16) as usize % 3000;
            let target = if i % 2 == 0 { "/a.txt" } else { "/b.txt" };
            raw.extend(
                format!(
                    "GET {target} HTTP/1.1\r\nHost: localhost\r\nX-Pad: {}\r\n\r\n",
                    "p".repeat(pad)
                )
                .as_bytes(),
            );
        }
        w.write_all(&raw).is_ok()
    });
    for i in 0..n {
        let r = c.read_response(false);
        let want: &[u8] = if i % 2 == 0 { b"hello" } else { b"world!" };
        assert_eq!(r.body, want, "response {i}");
    }
    assert!(writer.join().unwrap());
}

#[test]
fn absolute_form_directory_redirect_points_to_the_slashed_path() {
    let t = Tree::standard("absredir");
    let s = Server::start(&t.root, &[]);
    let r = exchange(
        s.port,
        b"GET http://localhost/sub?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert_status(&r, MOVED, "absolute-form dir");
    let loc = r.header("location").unwrap_or("");
    assert!(
        loc == "/sub/?x=1" || loc == "http://localhost/sub/?x=1",
        "Location {loc:?}"
    );
}

#[test]
fn header_limits_apply_per_request_not_to_the_pipelined_buffer() {
    let t = Tree::standard("perreq");
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    let mut w = c.s.try_clone().unwrap();
    let writer = thread::spawn(move || {
        let mut raw = Vec::new();
        for i in 0..10 {
            raw.extend(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n");
            // ~20 KB and 70 fields per request: 200 KB / 700 fields in total.
            for j in 0..69 {
                raw.extend(format!("X-{i}-{j}: {}\r\n", "v".repeat(280)).as_bytes());
            }
            raw.extend(b"\r\n");
        }
        w.write_all(&raw).is_ok()
    });
    for i in 0..10 {
        let r = c.read_response(false);
        assert_status(
            &r,
            OK,
            &format!("pipelined request {i} with 20 KB / 70 fields"),
        );
        assert_eq!(r.body, b"hello");
    }
    assert!(writer.join().unwrap());
}

#[test]
fn busy_keep_alive_connection_outliving_header_timeout_is_not_cut() {
    let t = Tree::standard("busyka");
    let s = Server::start(
        &t.root,
        &["--header-timeout", "1s", "--keepalive-timeout", "1s"],
    );
    let mut c = connect(s.port);
    let start = Instant::now();
    for i in 0..16 {
        c.send(&get("/a.txt"));
        let r = c.read_response(false);
        assert_status(&r, OK, &format!("request {i} at {:?}", start.elapsed()));
        assert!(!r.has_token("connection", "close"));
        thread::sleep(Duration::from_millis(150)); // steady client, well under both timeouts
    }
    assert!(start.elapsed() > Duration::from_millis(2000));
}

#[test]
fn listing_survives_a_non_utf8_file_name() {
    use std::os::unix::ffi::OsStrExt;
    let t = Tree::new("nonutf8");
    t.file("d/good.txt", b"GOOD");
    fs::write(
        t.root
            .join("d")
            .join(std::ffi::OsStr::from_bytes(b"bad\xff\xfe.txt")),
        b"BAD",
    )
    .unwrap();
    let s = Server::start(&t.root, &[]);
    let mut c = connect(s.port);
    c.send(&get("/d/"));
    let r = c.read_response(false);
    check_common(&r);
    assert_status(&r, OK, "listing with a non-UTF-8 name");
    let links: Vec<String> = hrefs(&r.body_str())
        .iter()
        .map(|h| resolve("/d/", h))
        .collect();
    assert!(links.contains(&"/d/good.txt".to_string()), "{links:?}");
    // The server is still healthy on the same connection.
    c.send(&get("/d/good.txt"));
    assert_eq!(c.read_response(false).body, b"GOOD");
}

#[test]
fn crlf_in_a_directory_name_or_query_cannot_inject_response_headers() {
    let t = Tree::standard("crlfinj");
    t.dir("x\r\nSet-Cookie: evil=1");
    let s = Server::start(&t.root, &[]);
    for target in [
        "/x%0D%0ASet-Cookie:%20evil=1",
        "/sub?%0D%0ASet-Cookie:%20evil=1",
        "/sub?a=%0d%0aX-Injected:%201",
    ] {
        let r = exchange(s.port, &get(target));
        assert!(
            r.header("set-cookie").is_none(),
            "{target}: injected header {:?}",
            r.headers
        );
        assert!(
            r.header("x-injected").is_none(),
            "{target}: injected header {:?}",
            r.headers
        );
        if r.status == 301 {
            let loc = r.header("location").unwrap();
            assert!(!loc.contains('\r') && !loc.contains('\n'), "{loc:?}");
        }
    }
    // The listing must percent-encode the name as well.
    let t2 = Tree::new("crlfinj2");
    t2.dir("d/x\r\nSet-Cookie: evil=1");
    let s2 = Server::start(&t2.root, &[]);
    let r = exchange(s2.port, &get("/d/"));
    assert_status(&r, OK, "listing");
    let links = hrefs(&r.body_str());
    assert!(
        links.iter().all(|h| !h.contains('\r') && !h.contains('\n')),
        "raw CR/LF in href: {links:?}"
    );
}

#[test]
fn clients_aborting_mid_download_do_not_hurt_the_server() {
    let t = Tree::standard("abort");
    let f = fs::File::create(t.root.join("huge.bin")).unwrap();
    f.set_len(64 * 1024 * 1024).unwrap();
    drop(f);
    let s = Server::start(&t.root, &["--threads", "2"]);
    for _ in 0..8 {
        let mut c = connect(s.port);
        c.send(&get("/huge.bin"));
        let mut tmp = [0u8; 65536];
        let _ = c.s.read(&mut tmp);
        drop(c); // abort with unread data: the server sees EPIPE/ECONNRESET
    }
    // Pipelined then abort before reading anything.
    let mut c = connect(s.port);
    let mut raw = Vec::new();
    for _ in 0..50 {
        raw.extend(get("/huge.bin"));
    }
    c.send(&raw);
    drop(c);
    thread::sleep(Duration::from_millis(200));
    let r = exchange(s.port, &get("/a.txt"));
    assert_eq!(r.body, b"hello");
}

#[test]
fn fifty_concurrent_clients_with_idle_connections_held_all_succeed() {
    let t = Tree::standard("concurrent");
    let s = Server::start(&t.root, &["--threads", "2"]);
    let mut idle = Vec::new();
    for _ in 0..200 {
        let mut c = connect(s.port);
        c.send(&get("/a.txt"));
        assert_eq!(c.read_response(false).body, b"hello");
        idle.push(c);
    }
    let port = s.port;
    let start = Instant::now();
    let handles: Vec<_> = (0..50)
        .map(|k| {
            thread::spawn(move || {
                let mut c = connect(port);
                for i in 0..20 {
                    let target = if (k + i) % 2 == 0 { "/a.txt" } else { "/b.txt" };
                    c.send(&get(target));
                    let r = c.read_response(false);
                    let want: &[u8] = if (k + i) % 2 == 0 {
                        b"hello"
                    } else {
                        b"world!"
                    };
                    if r.status != 200 || r.body != want {
                        return Err(format!("client {k} request {i}: {:?}", r.status_line));
                    }
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    for c in idle.iter_mut() {
        c.send(&get("/c.txt"));
        assert_eq!(c.read_response(false).body, b"third");
    }
}
