//! Review findings: each test demonstrates one defect and fails until it is
//! fixed. Every test starts its own server on 127.0.0.1 port 0, every socket
//! has timeouts, every loop is bounded.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Response, Server, connect, parse_all, read_response, site};

// ---------------------------------------------------------------- helpers

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn connect_with(addr: SocketAddr, timeout: Duration) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, timeout).expect("connect");
    s.set_read_timeout(Some(timeout)).unwrap();
    s.set_write_timeout(Some(timeout)).unwrap();
    s
}

/// One `Connection: close` request; the whole conversation, parsed.
fn exchange(s: &Server, raw: &str, head: bool) -> Vec<Response> {
    let out = s.exchange(raw.as_bytes());
    parse_all(&out, &[head])
}

fn redirect_target(s: &Server, target: &str) -> String {
    let raw = format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let r = exchange(s, &raw, false);
    assert_eq!(r[0].status(), 301, "{target}: {:?}", r[0].status_line);
    r[0].header("Location").expect("Location").to_owned()
}

// ---------------------------------------------------- 1. memory amplification

/// conn.rs `process`/`encode`/`flush`: every pipelined request in one read is
/// answered into `cx.out` before anything is written, and what the socket
/// does not take is copied into `pending`. ~60 KiB of pipelined GETs for a
/// 32 KiB (cached) file from a client that never reads => ~64 MiB held by
/// the server per connection (plus `cx.out`'s capacity, never shrunk).
#[test]
fn pipelined_requests_from_a_non_reader_do_not_buffer_megabytes() {
    let body = vec![b'z'; 32 * 1024];
    let dir = site(&[("f.bin", &body)]);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let pid = s.child.id();
    // Warm the cache and the allocator.
    assert_eq!(s.get("/f.bin").status(), 200);
    std::thread::sleep(Duration::from_millis(100));
    let before = rss_kib(pid);

    let req = b"GET /f.bin HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut batch = Vec::new();
    while batch.len() + req.len() <= 60 * 1024 {
        batch.extend_from_slice(req);
    }
    let mut c = connect(s.addr);
    c.write_all(&batch).expect("write the pipelined batch");
    // Never read. Give the server time to process what it read.
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kib(pid);
    let grown = after.saturating_sub(before);
    assert!(
        grown < 8 * 1024,
        "{} KiB of pipelined requests from a client that does not read made the \
         server grow by {grown} KiB (RSS {before} -> {after} KiB)",
        batch.len() / 1024
    );
    drop(c);
}

// --------------------------------------------------------- 2. 301 Location

/// conn.rs `redirect_location`: `target.find("://")` also matches inside the
/// query, so the Location is built from the query. README/issue: "301 to the
/// slashed path (encoding and query kept)".
#[test]
fn folder_redirect_keeps_a_query_that_contains_a_url() {
    let dir = site(&[("sub/x.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(
        redirect_target(&s, "/sub?next=http://example.test/landing"),
        "/sub/?next=http://example.test/landing"
    );
}

/// Same root cause, security impact: `/\evil.test/` is a network-path
/// reference for browsers (WHATWG URL treats `\` as `/` in http URLs), so any
/// folder on the site becomes an open redirect to an attacker's host.
#[test]
fn folder_redirect_cannot_be_steered_off_site() {
    let dir = site(&[("sub/x.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    let loc = redirect_target(&s, "/sub?r=http://x/\\evil.test");
    assert!(
        loc.starts_with("/sub/"),
        "Location {loc:?} does not point at the folder"
    );
    assert!(!loc.starts_with("/\\") && !loc.starts_with("//"), "{loc:?}");
}

// ---------------------------------------------- 3. blocking access-log write

/// log.rs `flush`: `stderr().lock().write_all(..)` is a blocking write from
/// the worker's event loop. When whoever reads stderr is slow or stuck (a
/// full pipe: a stalled log shipper, a paused terminal), the worker blocks
/// there and every connection it owns stops being served, deadlines too.
/// Here stderr is a pipe nobody reads (64 KiB of room).
#[test]
fn a_stalled_log_reader_does_not_stall_serving() {
    let dir = site(&[("f.txt", b"hello\n")]);
    // No --quiet: the access log is on; the test never reads stderr.
    let s = Server::start_raw(dir.path(), &["--threads", "1"]);
    // Long targets make long log lines: ~6 KiB each.
    let query = "q".repeat(6000);
    let mut c = connect_with(s.addr, Duration::from_millis(1500));
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut served = 0;
    for i in 0..60 {
        let req = format!("GET /f.txt?{query} HTTP/1.1\r\nHost: t\r\n\r\n");
        if c.write_all(req.as_bytes()).is_err() {
            break;
        }
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        let ok = loop {
            match c.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => break false,
            }
            if head.ends_with(b"\r\n\r\n") {
                let mut body = [0u8; 6];
                break c.read_exact(&mut body).is_ok();
            }
        };
        if !ok || Instant::now() > deadline {
            break;
        }
        served = i + 1;
    }
    assert_eq!(
        served, 60,
        "the server stopped answering after {served} requests: its worker is \
         blocked writing the access log to a full stderr pipe"
    );
}

// ------------------------------------------------ 4. slow heads and memory

/// conn.rs `on_readable`: a connection with a partial head grows its own
/// buffer to `max_head + 4096` (~68 KiB) and zero-fills the spare room on
/// every read, so each slowloris client pins ~68 KiB (680 MiB for 10,000)
/// and each trickled byte costs a ~68 KiB memset. README: "Idle and slow
/// clients cost a socket and a few hundred bytes".
#[test]
fn slow_partial_heads_cost_little_memory() {
    let dir = site(&[("f.txt", b"hello\n")]);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    let pid = s.child.id();
    assert_eq!(s.get("/f.txt").status(), 200);
    let n = 200;
    let mut conns: Vec<TcpStream> = (0..n).map(|_| connect(s.addr)).collect();
    for c in &mut conns {
        c.write_all(b"GET /").unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(pid);
    // A second read on each: the buffered-head path.
    for c in &mut conns {
        c.write_all(b"x").unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kib(pid);
    let per_conn = after.saturating_sub(before) * 1024 / n;
    assert!(
        per_conn < 8 * 1024,
        "each slow client holding 6 bytes of a head costs ~{per_conn} bytes \
         (RSS {before} -> {after} KiB for {n} clients)"
    );
}

// -------------------------------------------------- 5. HEAD error has a body

/// conn.rs `fail_with`: errors decided after the head is parsed (413 for an
/// oversized body, 400 for a bad chunk) always carry the page, even for HEAD.
/// RFC 9110 §9.3.2: the server MUST NOT send content in a HEAD response;
/// README: "HEAD sends exactly GET's headers, errors ... included".
#[test]
fn head_request_refused_for_its_body_gets_no_content() {
    let dir = site(&[("f.txt", b"hello\n")]);
    let s = Server::start(dir.path(), &[]);
    let raw = s.exchange(b"HEAD /f.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    let head = String::from_utf8_lossy(&raw[..end]);
    assert!(head.starts_with("HTTP/1.1 413 "), "{head}");
    assert_eq!(
        String::from_utf8_lossy(&raw[end..]),
        "",
        "content after a HEAD 413"
    );

    let raw =
        s.exchange(b"HEAD /f.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(raw.starts_with(b"HTTP/1.1 400 "));
    assert_eq!(
        String::from_utf8_lossy(&raw[end..]),
        "",
        "content after a HEAD 400"
    );
}

// -------------------------------------------- 6. symlink to a dotfile leaks

/// resolve.rs `open_beneath`: openat2 follows a relative symlink to a
/// dotfile and serves it; only the realpath fallback (absolute links)
/// applies "the dotfile rule applies to where a link leads, too". So
/// `pub -> .secret` is served while `pub2 -> /root/.secret` is 404.
#[test]
fn symlink_to_a_dotfile_is_hidden_like_the_dotfile() {
    let dir = site(&[(".secret", b"s3cret\n")]);
    std::os::unix::fs::symlink(".secret", dir.path().join("pub")).unwrap();
    std::os::unix::fs::symlink(dir.path().join(".secret"), dir.path().join("pub2")).unwrap();
    let s = Server::start(dir.path(), &[]);
    assert_eq!(s.get("/.secret").status(), 404);
    assert_eq!(s.get("/pub2").status(), 404, "absolute link to a dotfile");
    let r = s.get("/pub");
    assert_eq!(
        r.status(),
        404,
        "relative link to a dotfile served {:?}",
        String::from_utf8_lossy(&r.body)
    );
}

// ------------------------------------------ 7. deleted files stay open

/// resolve.rs: cache entries are only revisited when the same path is
/// requested again, so a served file that is then deleted (a rotated log, a
/// replaced release archive) stays open in every worker's cache -- its
/// disk space is never freed -- and the cache may pin up to 1024
/// descriptors per worker that compete with connections for RLIMIT_NOFILE.
#[test]
fn a_deleted_file_is_not_held_open() {
    let dir = site(&[("big.bin", &vec![b'b'; 200 * 1024])]);
    let s = Server::start(dir.path(), &["--threads", "1"]);
    assert_eq!(s.get("/big.bin").status(), 200);
    std::fs::remove_file(dir.path().join("big.bin")).unwrap();
    // Well past the 1 s revalidation interval, with the server otherwise busy.
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        assert_eq!(s.get("/").status(), 200);
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = s.child.id();
    let held: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.display().to_string())
        .filter(|p| p.contains("big.bin"))
        .collect();
    assert!(held.is_empty(), "deleted file still open: {held:?}");
}

// -------------------------------------- 8. percent-encoded paths: no cache

/// resolve.rs `route`: the cache is consulted only when the raw path has no
/// `%`, so every request for a file whose name needs escaping (spaces,
/// non-ASCII -- common) pays an allocation (clean_path) plus openat2, fstat
/// and close, instead of README's "one read and one write". The raw path is
/// as good a cache key with `%` as without.
#[test]
fn percent_encoded_paths_are_served_from_the_cache() {
    let dir = site(&[("a b.txt", b"spaced\n"), ("plain.txt", b"plain\n")]);
    let trace_dir = tempfile::tempdir().unwrap();
    let trace = trace_dir.path().join("strace.txt");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=openat2", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_ferry"))
        .arg(dir.path())
        .args(["--port", "0", "--quiet", "--threads", "1"]);
    let s = Server::spawn(cmd, dir.path());
    let _reaper = Reaper(s.child.id());
    let count = |needle: &str| -> usize {
        std::fs::read_to_string(&trace)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    };
    for (path, name, expect) in [
        ("/plain.txt", "plain.txt", &b"plain\n"[..]),
        ("/a%20b.txt", "a b.txt", &b"spaced\n"[..]),
    ] {
        let mut c = connect(s.addr);
        for _ in 0..20 {
            c.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
                .unwrap();
            let r = read_response(&mut c, false).expect("response");
            assert_eq!(r.body, expect);
        }
        std::thread::sleep(Duration::from_millis(200));
        let opens = count(&format!("\"{name}\""));
        assert!(
            opens >= 1,
            "strace saw no openat2 of {name}; is ptrace allowed?"
        );
        assert!(
            opens <= 2,
            "{path}: {opens} openat2 calls for 20 keep-alive requests within a second"
        );
    }
}

/// Kills ferry (strace's child) when the test ends; strace does not.
struct Reaper(u32);

impl Drop for Reaper {
    fn drop(&mut self) {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.0)) else {
            return;
        };
        for t in tasks.flatten() {
            let children = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for pid in children
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
        }
    }
}

// ------------------------------------- 9. listing panics on a far-future mtime

/// listing.rs `html`: `httpdate::fmt_http_date` panics for times at or past
/// year 9999, so one file with such an mtime (tmpfs, xfs, btrfs allow it;
/// `touch -d 10000-01-02`) turns its folder's listing into a permanent 500.
#[test]
fn listing_survives_a_far_future_mtime() {
    let base = Path::new("/dev/shm");
    if !base.is_dir() {
        eprintln!("no /dev/shm; skipped");
        return;
    }
    let dir = tempfile::tempdir_in(base).unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    let f = std::fs::File::create(dir.path().join("d/future.txt")).unwrap();
    let t = std::time::UNIX_EPOCH + Duration::from_secs(253_402_473_600); // 10000-01-02
    if f.set_modified(t).is_err() {
        eprintln!("file system refuses the mtime; skipped");
        return;
    }
    drop(f);
    let s = Server::start(dir.path(), &[]);
    let r = s.get("/d/");
    assert_eq!(r.status(), 200, "{}", r.status_line);
    assert!(String::from_utf8_lossy(&r.body).contains("future.txt"));
}
