//! Adversarial and fault tests (issue 6): clients that trickle, vanish,
//! half-close or reset; descriptor exhaustion; the connection limit; files
//! that change or cannot be read while they are served. After each test the
//! server's open descriptors must be back to their baseline and its RSS must
//! not have grown without bound (`assert_no_leak`).
//!
//! Every test starts its own server on 127.0.0.1 port 0; every socket has
//! timeouts and every loop is bounded. The tests run one at a time
//! (`common::serial()`): they measure timing and descriptor counts, and the
//! machine has two cores.
//!
//! Already covered elsewhere, so not repeated here: slowloris on heads, a
//! stalled body and a steadily progressing body (`adversarial.rs`), a client
//! that never reads (`connections.rs`), the EMFILE pause and recovery without
//! the once-per-episode log (`connections.rs`, `adversarial.rs`), a small
//! file replaced by rename getting a new ETag and a file truncated *before*
//! the request (`issue4_adversarial.rs`).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    IO_TIMEOUT, Response, Server, assert_ok, connect, get_on, head_end, parse_all, read_response,
    read_to_close, serial, site,
};

const SMALL: &[u8] = b"small file, still served\n";

// ---------------------------------------------------------------------------
// Leak checks
// ---------------------------------------------------------------------------

/// Extra descriptors of any kind tolerated after a test: a worker may still
/// hold a just-served file in its open-file cache (one per worker and file).
const FD_TOLERANCE: usize = 4;
/// Extra sockets tolerated after a test.
const SOCKET_TOLERANCE: usize = 1;
/// How long closes may take to happen (they are asynchronous).
const FD_SETTLE: Duration = Duration::from_secs(2);
/// Generous bound on RSS growth over a test.
const RSS_GROWTH_KIB: u64 = 64 * 1024;

/// What the server held before the adversarial part of a test.
#[derive(Debug, Clone, Copy)]
struct Baseline {
    fds: usize,
    sockets: usize,
    rss_kib: u64,
}

/// Targets of the process's descriptors (`socket:[…]`, paths, `anon_inode:…`).
fn fd_targets(pid: u32) -> Vec<String> {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        panic!("cannot read /proc/{pid}/fd: has the server exited?");
    };
    dir.filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.display().to_string())
        .collect()
}

fn proc_status_field(pid: u32, field: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .map(|v| v.trim().to_owned())
}

fn rss_kib(pid: u32) -> u64 {
    proc_status_field(pid, "VmRSS:")
        .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

fn assert_running(server: &Server) {
    let pid = server.child.id();
    let state = proc_status_field(pid, "State:").unwrap_or_default();
    assert!(
        !state.is_empty() && !state.starts_with('Z') && !state.starts_with('X'),
        "the server (pid {pid}) is no longer running: state {state:?}"
    );
}

/// Samples the server's descriptors and RSS (after letting earlier closes
/// land).
fn baseline(server: &Server) -> Baseline {
    thread::sleep(Duration::from_millis(100));
    let pid = server.child.id();
    let targets = fd_targets(pid);
    Baseline {
        fds: targets.len(),
        sockets: targets.iter().filter(|t| t.starts_with("socket:")).count(),
        rss_kib: rss_kib(pid),
    }
}

fn summarize(targets: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
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
/// to `FD_SETTLE`, within a small tolerance) and its RSS grew by less than
/// `RSS_GROWTH_KIB`.
fn assert_no_leak(server: &Server, base: &Baseline) {
    assert_running(server);
    let pid = server.child.id();
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
        thread::sleep(Duration::from_millis(20));
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
// Client helpers
// ---------------------------------------------------------------------------

/// `GET path` with `Connection: close` on a new connection, read to the
/// server's close; exactly one response.
fn fetch(addr: SocketAddr, path: &str) -> Response {
    let mut s = connect(addr);
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).expect("write request");
    let raw = read_to_close(&mut s);
    let mut rs = parse_all(&raw, &[false]);
    assert_eq!(
        rs.len(),
        1,
        "expected one response to GET {path}: {:?}",
        String::from_utf8_lossy(&raw[..raw.len().min(300)])
    );
    rs.remove(0)
}

/// Like `fetch`, but reports failures instead of panicking (for polling).
fn try_fetch(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Response, String> {
    let raw = common::try_get_raw(addr, path, timeout)?;
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

/// A client socket with a small receive buffer, so the server cannot push a
/// large file into socket buffers and be done with it.
fn connect_small_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> TcpStream {
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
fn reset(s: TcpStream) {
    rustix::net::sockopt::set_socket_linger(&s, Some(Duration::ZERO)).expect("SO_LINGER 0");
    drop(s);
}

/// Reads until `buf` holds at least `want` bytes (bounded; panics on EOF or
/// timeout).
fn read_at_least(s: &mut TcpStream, buf: &mut Vec<u8>, want: usize) -> Result<(), String> {
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

fn content_length(head: &str) -> Option<u64> {
    head.split("\r\n")
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length").then(|| v.trim())
        })
        .and_then(|v| v.parse().ok())
}

// ---------------------------------------------------------------------------
// Slowloris on bodies
// ---------------------------------------------------------------------------

#[test]
fn a_body_trickled_slower_than_the_body_timeout_is_closed_while_a_steady_one_is_served() {
    let _serial = serial();
    let dir = site(&[("small.txt", SMALL)]);
    let server = Server::start(
        dir.path(),
        &[
            "--threads",
            "2",
            "--body-timeout",
            "1s",
            "--linger-timeout",
            "500ms",
        ],
    );
    assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
    let base = baseline(&server);

    // Steady: one byte every 300 ms (never 1 s without progress), 1.5 s in all.
    let addr = server.addr;
    let steady = thread::spawn(move || {
        let mut c = connect(addr);
        c.write_all(b"GET /small.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n")
            .expect("write head");
        for b in b"abcde" {
            thread::sleep(Duration::from_millis(300));
            c.write_all(&[*b])
                .expect("steady body byte refused: connection closed while progressing");
        }
        let r = read_response(&mut c, false).expect("a response to the steady body, not EOF");
        assert_ok(&r, SMALL);
        assert_eq!(
            r.header("Connection"),
            None,
            "a progressing body got a close"
        );
        // The connection is still usable.
        assert_ok(&get_on(&mut c, "/small.txt"), SMALL);
    });

    // Trickle: the head and one body byte, then one byte every 1.5 s.
    let mut c = server.connect();
    c.write_all(b"GET /small.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nx")
        .expect("write head");
    let mut last_progress = Instant::now();
    let mut body_bytes_sent = 1;
    let mut got = Vec::new();
    let mut closed_after: Option<Duration> = None;
    let mut buf = [0u8; 4096];
    'trickle: for _ in 0..10 {
        let until = last_progress + Duration::from_millis(1500);
        for _ in 0..1_000 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            c.set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match c.read(&mut buf) {
                Ok(0) => {
                    closed_after = Some(last_progress.elapsed());
                    break 'trickle;
                }
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    break;
                }
                Err(e) => panic!("trickling client: read error instead of a clean close: {e}"),
            }
        }
        if c.write_all(b"x").is_err() {
            closed_after = Some(last_progress.elapsed());
            break;
        }
        last_progress = Instant::now();
        body_bytes_sent += 1;
    }
    let closed_after =
        closed_after.expect("a body trickled at one byte per 1.5 s was never closed");
    assert_eq!(
        body_bytes_sent, 1,
        "closed only after {body_bytes_sent} body bytes 1.5 s apart (body timeout 1 s)"
    );
    assert!(
        closed_after >= Duration::from_millis(900) && closed_after < Duration::from_millis(1500),
        "closed {closed_after:?} after the last progress; expected ~1 s (body timeout 1 s)"
    );
    let rs = parse_all(&got, &[false]);
    assert_eq!(rs.len(), 1, "{:?}", String::from_utf8_lossy(&got));
    assert_eq!(rs[0].status_line, "HTTP/1.1 408 Request Timeout");
    assert_eq!(rs[0].header("Connection"), Some("close"));
    rs[0].assert_common();

    steady.join().expect("steady client");
    drop(c);
    assert_no_leak(&server, &base);
}

// ---------------------------------------------------------------------------
// Clients that vanish mid-download
// ---------------------------------------------------------------------------

#[test]
fn forty_clients_vanishing_mid_download_with_fin_or_rst_leave_the_server_serving_without_leaks() {
    let _serial = serial();
    const LEN: usize = 5 << 20;
    let content = Arc::new(common::pattern(LEN, 1));
    let dir = site(&[("big.bin", &content), ("small.txt", SMALL)]);
    let server = Server::start(dir.path(), &["--threads", "2", "--linger-timeout", "500ms"]);
    // Warm both workers' caches so the baseline includes them.
    for _ in 0..2 {
        assert_ok(&fetch(server.addr, "/big.bin"), &content);
        assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
    }
    let base = baseline(&server);

    const CLIENTS: usize = 40;
    const READ_BEFORE_VANISHING: usize = 256 * 1024;
    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let addr = server.addr;
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let content = Arc::clone(&content);
            thread::spawn(move || -> Result<usize, String> {
                let setup = (|| -> Result<(TcpStream, usize), String> {
                    let mut c = connect_small_rcvbuf(addr, 64 * 1024);
                    c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
                        .map_err(|e| format!("write: {e}"))?;
                    let mut got = Vec::new();
                    read_at_least(&mut c, &mut got, READ_BEFORE_VANISHING)?;
                    let end = head_end(&got).ok_or("no head")?;
                    let head = String::from_utf8_lossy(&got[..end]).into_owned();
                    if !head.starts_with("HTTP/1.1 200 OK\r\n")
                        || content_length(&head) != Some(LEN as u64)
                    {
                        return Err(format!("unexpected head: {head:?}"));
                    }
                    let body = &got[end..];
                    if body != &content[..body.len()] {
                        return Err("body prefix differs from the file".into());
                    }
                    Ok((c, body.len()))
                })();
                // Everyone vanishes at once, also after a failed setup.
                barrier.wait();
                let (c, n) = setup.map_err(|e| format!("client {i}: {e}"))?;
                if i % 2 == 0 {
                    // FIN first (the close then resets: unread data is pending).
                    let _ = c.shutdown(Shutdown::Both);
                    drop(c);
                } else {
                    reset(c);
                }
                Ok(n)
            })
        })
        .collect();
    barrier.wait();
    for (i, h) in handles.into_iter().enumerate() {
        let n = h
            .join()
            .expect("client thread")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            n < LEN,
            "client {i} had the whole file before vanishing: not a mid-download abort"
        );
    }

    // Still serving, exactly.
    assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
    assert_ok(&fetch(server.addr, "/big.bin"), &content);
    assert_no_leak(&server, &base);
}

// ---------------------------------------------------------------------------
// Half-closed client
// ---------------------------------------------------------------------------

#[test]
fn a_client_that_half_closes_right_after_its_request_still_gets_the_whole_eight_mebibyte_file() {
    let _serial = serial();
    // More than the server's largest send buffer (tcp_wmem max, 4 MiB here)
    // plus the client's receive buffer: the response is still going out
    // when the server sees the client's EOF.
    const LEN: usize = 8 << 20;
    let content = common::pattern(LEN, 2);
    let dir = site(&[("big.bin", &content), ("small.txt", SMALL)]);
    let server = Server::start(dir.path(), &["--threads", "2"]);
    assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
    let base = baseline(&server);

    // Keep-alive request (no Connection: close): only the half-close says
    // no more requests are coming. A pipelined small GET rides behind.
    let mut c = connect_small_rcvbuf(server.addr, 32 * 1024);
    c.write_all(
        b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /small.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .expect("write requests");
    c.shutdown(Shutdown::Write).expect("half-close");
    // Let the server see the EOF while its response is still blocked.
    thread::sleep(Duration::from_millis(300));
    let raw = read_to_close(&mut c);
    let rs = parse_all(&raw, &[false, false]);
    assert_eq!(
        rs.len(),
        2,
        "expected two responses, got {} ({} bytes)",
        rs.len(),
        raw.len()
    );
    assert_ok(&rs[0], &content);
    assert_ok(&rs[1], SMALL);
    drop(c);
    assert_no_leak(&server, &base);
}

// ---------------------------------------------------------------------------
// Aborted connections, then sequential ones
// ---------------------------------------------------------------------------

#[test]
fn two_hundred_aborted_connections_then_a_thousand_sequential_ones_are_all_served_exactly() {
    let _serial = serial();
    let data = common::pattern(3000, 3);
    let dir = site(&[("data.bin", &data)]);
    let server = Server::start(dir.path(), &["--threads", "2", "--linger-timeout", "500ms"]);
    assert_ok(&fetch(server.addr, "/data.bin"), &data);
    assert_ok(&fetch(server.addr, "/data.bin"), &data);
    let base = baseline(&server);

    // All 200 open at once, then each ends its own way.
    let half = b"GET /data.bin HTTP/1.1\r\nHost: t\r\nAcc";
    let mut junk: Vec<(usize, TcpStream)> = Vec::new();
    for i in 0..200 {
        let mut c = server.connect();
        if i % 4 == 1 || i % 4 == 2 {
            c.write_all(half).expect("write half a request");
        }
        junk.push((i, c));
    }
    for (i, c) in junk {
        match i % 4 {
            0 | 1 => drop(c), // connect-and-close, half-a-request-and-close (FIN)
            _ => reset(c),    // half-a-request-and-reset, connect-and-reset (RST)
        }
    }

    for i in 0..1_000 {
        let r = try_fetch(server.addr, "/data.bin", IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("sequential connection {i}: {e}"));
        assert_eq!(
            r.status_line, "HTTP/1.1 200 OK",
            "sequential connection {i}"
        );
        assert!(r.body == data, "sequential connection {i}: body differs");
    }
    assert_no_leak(&server, &base);
}

// ---------------------------------------------------------------------------
// Descriptor exhaustion
// ---------------------------------------------------------------------------

#[test]
fn out_of_descriptors_the_server_logs_the_condition_once_and_serves_again_when_clients_leave() {
    let _serial = serial();
    let dir = site(&[("small.txt", SMALL)]);
    // Not --quiet: the stderr is what is checked (access lines included).
    let cmd = common::command_with_fd_limit(64, dir.path(), &["--threads", "1"]);
    let mut server = Server::spawn(cmd, dir.path());
    let stderr = server.stderr();
    let (tx, rx) = mpsc::channel::<String>();
    thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        for _ in 0..100_000 {
            match lines.next() {
                Some(Ok(l)) => {
                    if tx.send(l).is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
    });
    let mut seen: Vec<String> = Vec::new();
    let drain = |seen: &mut Vec<String>| {
        while let Ok(l) = rx.try_recv() {
            seen.push(l);
        }
    };
    let is_fd_report = |l: &String| l.contains("Too many open files") || l.contains("descriptors");

    // Warm-up: the worker is up and serving before descriptors run out.
    assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
    let base = baseline(&server);

    // 100 connections against a limit of 64: the rest wait in the backlog
    // while the accept loop keeps hitting EMFILE (with backoff).
    let conns: Vec<TcpStream> = (0..100).map(|_| server.connect()).collect();
    thread::sleep(Duration::from_millis(1200));
    drain(&mut seen);
    let reports: Vec<&String> = seen.iter().filter(|l| is_fd_report(l)).collect();
    assert_eq!(
        reports.len(),
        1,
        "expected the descriptor shortage reported exactly once while 100 connections \
         were held for 1.2 s; stderr lines: {seen:#?}"
    );
    assert!(server.alive(), "ferry exited at the descriptor limit");

    drop(conns);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = String::new();
    let mut served = false;
    for _ in 0..500 {
        match try_fetch(server.addr, "/small.txt", Duration::from_secs(2)) {
            Ok(r) if r.status() == 200 => {
                assert_ok(&r, SMALL);
                served = true;
                break;
            }
            Ok(r) => last = r.status_line,
            Err(e) => last = e,
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        served,
        "not served within 5 s after the 100 connections closed; last: {last}"
    );
    assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
    assert_no_leak(&server, &base);
}

// ---------------------------------------------------------------------------
// Connection limit
// ---------------------------------------------------------------------------

#[test]
fn beyond_max_connections_new_clients_get_503_while_every_admitted_connection_keeps_being_served() {
    let _serial = serial();
    const N: usize = 4;
    let dir = site(&[("small.txt", SMALL)]);
    let server = Server::start(
        dir.path(),
        &[
            "--threads",
            "2",
            "--max-connections",
            "4",
            "--linger-timeout",
            "500ms",
        ],
    );
    let base = baseline(&server);

    let mut admitted: Vec<TcpStream> = (0..N)
        .map(|_| {
            let mut c = server.connect();
            assert_ok(&get_on(&mut c, "/small.txt"), SMALL);
            c
        })
        .collect();

    for k in 0..10 {
        let mut c = server.connect();
        // The 503 may come before the request is written; a write error
        // after the server's close is fine.
        let _ = c.write_all(b"GET /small.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        let raw = read_to_close(&mut c);
        let rs = parse_all(&raw, &[false]);
        assert_eq!(
            rs.len(),
            1,
            "client {k}: {:?}",
            String::from_utf8_lossy(&raw)
        );
        rs[0].assert_common();
        assert_eq!(
            rs[0].status_line, "HTTP/1.1 503 Service Unavailable",
            "client {k}"
        );
        assert_eq!(rs[0].header("Connection"), Some("close"), "client {k}");
    }

    // Every admitted connection is still served, twice.
    for round in 0..2 {
        for (i, c) in admitted.iter_mut().enumerate() {
            let r = get_on(c, "/small.txt");
            assert!(
                r.status() == 200,
                "admitted connection {i}, round {round}: {}",
                r.status_line
            );
            assert_ok(&r, SMALL);
        }
    }

    // Capacity returns once they leave.
    admitted.clear();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut last = String::new();
    let mut served = false;
    for _ in 0..300 {
        match try_fetch(server.addr, "/small.txt", Duration::from_secs(2)) {
            Ok(r) if r.status() == 200 => {
                assert_ok(&r, SMALL);
                served = true;
                break;
            }
            Ok(r) => last = r.status_line,
            Err(e) => last = e,
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        served,
        "still refused 3 s after the admitted clients left; last: {last}"
    );
    assert_no_leak(&server, &base);
}

// ---------------------------------------------------------------------------
// Files that change while served
// ---------------------------------------------------------------------------

/// Issue 6: a file truncated during a sendfile transfer "ends the connection
/// cleanly (never pads or sends stale bytes with a wrong Content-Length)".
/// The response never completes: the connection closes before the
/// announced length, so a client always sees the transfer failed. A limit
/// of zero-copy: bytes sendfile already queued in the socket are page-cache
/// pages, not copies, and truncating zeroes the part of a partly cut folio
/// past the new end, so zeros may arrive from the cut point on before the
/// close (plain `os.sendfile` does the same). Every other byte must be the
/// original's.
#[test]
fn a_file_truncated_during_a_slow_transfer_ends_the_connection_before_its_content_length() {
    let _serial = serial();
    const LEN: usize = 20 << 20;
    const CUT: usize = 1 << 20;
    let content = common::pattern(LEN, 4);
    let dir = site(&[("big.bin", &content), ("small.txt", SMALL)]);
    let path = dir.path().join("big.bin");
    let server = Server::start(dir.path(), &["--threads", "2"]);
    assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
    let base = baseline(&server);

    // Keep-alive, so only the truncation can end the connection.
    let mut c = connect_small_rcvbuf(server.addr, 64 * 1024);
    c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write request");
    // Read slowly at first: the server's transfer stalls on full buffers.
    let mut got = Vec::new();
    for step in 1..=3 {
        read_at_least(&mut c, &mut got, step * 32 * 1024).expect("slow start");
        thread::sleep(Duration::from_millis(100));
    }
    let end = head_end(&got).expect("a head in the first 32 KiB");
    let head = String::from_utf8_lossy(&got[..end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(content_length(&head), Some(LEN as u64), "{head}");

    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(CUT as u64))
        .expect("truncate");

    // Now read fast, to the end.
    let mut buf = vec![0u8; 256 * 1024];
    let mut ending: Option<std::io::Result<usize>> = None;
    for _ in 0..100_000 {
        match c.read(&mut buf) {
            Ok(0) => {
                ending = Some(Ok(0));
                break;
            }
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                assert!(
                    got.len() - end <= LEN,
                    "more body bytes than Content-Length: {}",
                    got.len() - end
                );
            }
            Err(e) => {
                ending = Some(Err(e));
                break;
            }
        }
    }
    let body = &got[end..];
    match ending {
        Some(Ok(0)) => {}
        Some(Err(e)) => panic!(
            "after {} body bytes the connection ended with an error, not EOF: {e}",
            body.len()
        ),
        _ => panic!("no end after {} body bytes", body.len()),
    }
    assert!(
        body.len() < LEN,
        "all {LEN} announced bytes arrived although the file was cut to {CUT}"
    );
    // Every byte received is the original file's, or (past the cut, in
    // data already queued by sendfile) a zero the kernel wrote: never bytes
    // of another version.
    let first_diff = body
        .iter()
        .zip(&content)
        .enumerate()
        .position(|(i, (a, b))| a != b && !(i >= CUT && *a == 0));
    if let Some(first) = first_diff {
        let last = body
            .iter()
            .zip(&content)
            .rposition(|(a, b)| a != b)
            .unwrap_or(first);
        let zeros = body[first..=last].iter().filter(|&&b| b == 0).count();
        panic!(
            "received {} body bytes (Content-Length {LEN}, cut to {CUT} during the transfer); \
             bytes {first}..={last} are not the original file's: {zeros} of those {} bytes \
             are zeros (padding)",
            body.len(),
            last - first + 1
        );
    }
    drop(c);

    // The file as it is now is served exactly.
    assert_ok(&fetch(server.addr, "/big.bin"), &content[..CUT]);
    assert_no_leak(&server, &base);
}

/// Descriptors of the process that point at deleted files.
fn deleted_files_held(pid: u32) -> Vec<String> {
    fd_targets(pid)
        .into_iter()
        .filter(|t| t.ends_with(" (deleted)"))
        .collect()
}

#[test]
fn a_large_file_replaced_by_rename_between_requests_gets_a_new_etag_and_its_new_bytes_at_once() {
    let _serial = serial();
    const LEN: usize = 1 << 20; // sent from disk, not from the in-memory cache
    let old = common::pattern(LEN, 5);
    let new = common::pattern(LEN, 6);
    let dir = site(&[("big.bin", &old)]);
    let path = dir.path().join("big.bin");
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    let server = Server::start(dir.path(), &["--threads", "1"]);

    let mut c = server.connect();
    let r1 = get_on(&mut c, "/big.bin");
    assert_ok(&r1, &old);
    let e1 = r1.header("ETag").expect("ETag").to_owned();

    // Same size and same mtime: only the inode tells them apart.
    let tmp = dir.path().join(".big.bin.new");
    fs::write(&tmp, &new).unwrap();
    fs::File::options()
        .write(true)
        .open(&tmp)
        .and_then(|f| f.set_modified(mtime))
        .expect("set mtime");
    fs::rename(&tmp, &path).unwrap();

    // At once (well within the 1 s revalidation window), same connection.
    let r2 = get_on(&mut c, "/big.bin");
    assert_ok(&r2, &new);
    let e2 = r2.header("ETag").expect("ETag").to_owned();
    assert_ne!(e2, e1, "new bytes under the old ETag");
    let req = format!("GET /big.bin HTTP/1.1\r\nHost: t\r\nIf-None-Match: {e1}\r\n\r\n");
    c.write_all(req.as_bytes()).unwrap();
    let r3 = read_response(&mut c, false).expect("response");
    assert_ok(&r3, &new);
    assert_eq!(r3.header("ETag"), Some(e2.as_str()));
    // The replaced file is not kept open.
    let held = deleted_files_held(server.child.id());
    assert!(held.is_empty(), "the replaced file is still open: {held:?}");
}

// ---------------------------------------------------------------------------
// Permission denied
// ---------------------------------------------------------------------------

/// Restores modes on drop so the temporary tree can be removed by a
/// non-root user, whatever the test's outcome.
struct RestoreModes(Vec<(PathBuf, u32)>);

impl Drop for RestoreModes {
    fn drop(&mut self) {
        for (p, mode) in &self.0 {
            let _ = fs::set_permissions(p, fs::Permissions::from_mode(*mode));
        }
    }
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn unreadable_files_and_folders_are_403_and_an_unreadable_folder_is_never_listed() {
    let _serial = serial();
    let dir = site(&[
        ("open.txt", b"open\n"),
        ("secret.txt", b"SECRET-FILE-MARKER\n"),
        ("locked/inner.txt", b"LOCKED-INNER-MARKER\n"),
        ("xonly/inner.txt", b"reachable\n"),
    ]);
    let root = dir.path();
    // Permissions don't bind root: run the server as nobody if we are root.
    let as_root = rustix::process::geteuid().is_root();
    let setpriv_ok = as_root
        && Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
            .status()
            .is_ok_and(|s| s.success());
    if as_root && !setpriv_ok {
        eprintln!(
            "SKIPPED unreadable_files_and_folders_are_403…: running as root, for whom file \
             modes don't apply (CAP_DAC_OVERRIDE), and `setpriv` is not available to run \
             the server as an unprivileged user; nothing was checked"
        );
        return;
    }
    let _restore = RestoreModes(vec![
        (root.join("secret.txt"), 0o644),
        (root.join("locked"), 0o755),
        (root.join("xonly"), 0o755),
    ]);
    chmod(root, 0o755); // tempdir is 0700: let nobody in
    chmod(&root.join("secret.txt"), 0o000);
    chmod(&root.join("locked"), 0o000);
    chmod(&root.join("xonly"), 0o111);

    let server = if setpriv_ok {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_ferry"))
            .arg(root)
            .args(["--port", "0", "--quiet", "--threads", "1"]);
        Server::spawn(cmd, root)
    } else {
        Server::start(root, &["--threads", "1"])
    };
    // Otherwise this test would check nothing.
    let uid = proc_status_field(server.child.id(), "Uid:").unwrap_or_default();
    let euid = uid.split_whitespace().nth(1).unwrap_or("?");
    assert_ne!(
        euid, "0",
        "the server runs as root, so file modes don't bind it: {uid}"
    );
    assert_ok(&fetch(server.addr, "/open.txt"), b"open\n");
    let base = baseline(&server);

    for target in ["/secret.txt", "/locked/", "/locked/inner.txt", "/xonly/"] {
        let r = fetch(server.addr, target);
        r.assert_common();
        assert_eq!(r.status_line, "HTTP/1.1 403 Forbidden", "GET {target}");
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("MARKER") && !body.contains("inner.txt"),
            "GET {target} revealed content or a listing: {body}"
        );
    }
    // A folder that can be searched but not read: its files are reachable.
    assert_ok(&fetch(server.addr, "/xonly/inner.txt"), b"reachable\n");
    // The root listing itself still works.
    let r = fetch(server.addr, "/");
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_no_leak(&server, &base);
}

// ---------------------------------------------------------------------------
// Cached descriptors on an idle server
// ---------------------------------------------------------------------------

/// README: cached files are "closed after 2 s unused", and `evict_idle`
/// exists "so a deleted file's space is freed and idle entries don't hold
/// descriptors". Regression: a worker with no connection left used to sleep
/// in epoll_wait without a timeout and never sweep its cache (failed at
/// c75c6b5; `poll_timeout` now also wakes while the cache is non-empty).
#[test]
fn a_served_then_deleted_file_is_closed_within_a_few_seconds_even_when_the_server_goes_idle() {
    let _serial = serial();
    let content = common::pattern(64 * 1024, 7);
    let dir = site(&[("big.bin", &content)]);
    let server = Server::start(dir.path(), &["--threads", "1"]);
    assert_ok(&fetch(server.addr, "/big.bin"), &content);
    fs::remove_file(dir.path().join("big.bin")).unwrap();
    // No traffic at all from now on: 2 s idle eviction plus margin.
    thread::sleep(Duration::from_millis(3500));
    let held = deleted_files_held(server.child.id());
    assert!(
        held.is_empty(),
        "3.5 s after its only request, with the server idle, a deleted file is still \
         open (its disk space is not freed): {held:?}"
    );
}
