//! Connection-architecture tests for `ferry`: idle and slow clients must not
//! hold workers, every connection state has a deadline, admission control,
//! and resilience to descriptor exhaustion.
//!
//! Every test starts its own server on 127.0.0.1 port 0; every socket has
//! timeouts and every loop is bounded. The tests in this file run one at a
//! time (a file-wide lock): several assert latencies, and the machine has
//! two cores.

mod common;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    Response, Server, assert_ok, connect, get_on, head_end, parse_all, read_response,
    read_to_close, serial, site,
};

const INDEX: &[u8] = b"<!doctype html><title>ferry</title><p>hello from ferry</p>\n";
const SMALL: &[u8] = b"small file, answered promptly\n";

/// `GET path` with `Connection: close` on a new connection; the elapsed time
/// covers connect, request and the whole response.
fn timed_get(addr: SocketAddr, path: &str) -> (Response, Duration) {
    let t = Instant::now();
    let mut s = connect(addr);
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).expect("write request");
    let r = read_response(&mut s, false).expect("a response, not EOF");
    (r, t.elapsed())
}

/// A `Connection: close` GET that reports failures instead of panicking:
/// the whole conversation, read to the server's close, parsed.
fn try_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Vec<Response>, String> {
    let raw = common::try_get_raw(addr, path, timeout)?;
    Ok(parse_all(&raw, &[false]))
}

fn is_eof_or_reset(r: &std::io::Result<usize>) -> bool {
    match r {
        Ok(0) => true,
        Err(e) => matches!(
            e.kind(),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
        ),
        Ok(_) => false,
    }
}

// ---------------------------------------------------------------------------
// 1. Idle connections cost no worker.
// ---------------------------------------------------------------------------

#[test]
fn six_hundred_idle_connections_do_not_delay_a_new_client_on_a_two_thread_pool() {
    let _serial = serial();
    let dir = site(&[("index.html", INDEX)]);
    let server = Server::start(dir.path(), &["--threads", "2"]);

    // Connected and silent. Opened first: the keep-alive ones below are
    // accepted after them, so once those are answered these are accepted too.
    let silent: Vec<TcpStream> = (0..300).map(|_| server.connect()).collect();
    let mut idle = Vec::with_capacity(300);
    for i in 0..300 {
        let mut s = server.connect();
        let r = get_on(&mut s, "/index.html");
        assert_ok(&r, INDEX);
        assert_eq!(
            r.header("Connection"),
            None,
            "keep-alive response {i} must not close"
        );
        idle.push(s);
    }

    let (r, elapsed) = timed_get(server.addr, "/index.html");
    assert_ok(&r, INDEX);
    assert!(
        elapsed < Duration::from_secs(2),
        "a new client waited {elapsed:?} behind 600 idle connections"
    );

    // The held connections were kept, not dropped to make room.
    let mut first_silent = silent.into_iter().next().unwrap();
    assert_ok(&get_on(&mut first_silent, "/index.html"), INDEX);
    assert_ok(&get_on(idle.last_mut().unwrap(), "/index.html"), INDEX);
}

// ---------------------------------------------------------------------------
// 2. Slow-header clients.
// ---------------------------------------------------------------------------

/// What one byte-a-second client observed.
struct SlowOutcome {
    /// First byte sent → EOF/reset observed.
    closed_after: Duration,
    /// Bytes the server sent before closing.
    received: Vec<u8>,
}

fn slow_header_client(addr: SocketAddr, start: Arc<Barrier>) -> Result<SlowOutcome, String> {
    let mut s = connect(addr);
    // The 1 byte/s pacing: after each byte, wait up to a second for the
    // server to answer or close.
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let head = b"GET /index.html HTTP/1.1\r\nHost: t\r\nX-Slow: dribbling\r\n\r\n";
    start.wait();
    let mut first: Option<Instant> = None;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    // Bounded: at most 8 bytes (8 s); the server must close after ~2 s.
    for &byte in head.iter().take(8) {
        if let Err(e) = s.write_all(&[byte]) {
            let first = first.ok_or_else(|| format!("first byte not sent: {e}"))?;
            return Ok(SlowOutcome {
                closed_after: first.elapsed(),
                received,
            });
        }
        let first = *first.get_or_insert_with(Instant::now);
        let r = s.read(&mut buf);
        match r {
            Err(ref e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                continue;
            }
            _ => {}
        }
        if is_eof_or_reset(&r) {
            return Ok(SlowOutcome {
                closed_after: first.elapsed(),
                received,
            });
        }
        let n = r.map_err(|e| format!("read: {e}"))?;
        received.extend_from_slice(&buf[..n]);
        // Bytes arrived (a 408, presumably): the close must follow at once.
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        for _ in 0..1000 {
            let r = s.read(&mut buf);
            if is_eof_or_reset(&r) {
                return Ok(SlowOutcome {
                    closed_after: first.elapsed(),
                    received,
                });
            }
            match r {
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(e) => {
                    return Err(format!(
                        "no close after {:?}: {e}",
                        String::from_utf8_lossy(&received)
                    ));
                }
            }
        }
        return Err("server kept sending".into());
    }
    Err(format!(
        "still open {:?} after the first byte (header timeout is 2 s)",
        first.map(|f| f.elapsed())
    ))
}

#[test]
fn thirty_two_byte_a_second_clients_do_not_delay_others_and_are_closed_at_the_header_timeout() {
    let _serial = serial();
    let dir = site(&[("index.html", INDEX)]);
    let server = Server::start(dir.path(), &["--threads", "2", "--header-timeout", "2s"]);
    let addr = server.addr;

    const SLOW: usize = 32;
    let start = Arc::new(Barrier::new(SLOW + 1));
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::new();
    for i in 0..SLOW {
        let (start, tx) = (Arc::clone(&start), tx.clone());
        handles.push(thread::spawn(move || {
            let outcome = slow_header_client(addr, start);
            let _ = tx.send((i, outcome));
        }));
    }
    drop(tx);
    start.wait();

    // While they trickle, normal clients are answered promptly.
    let mut outcomes = Vec::new();
    let mut gets_while_trickling = 0;
    let deadline = Instant::now() + Duration::from_secs(12);
    while outcomes.len() < SLOW && Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(150)) {
            Ok(o) => {
                outcomes.push(o);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if outcomes.is_empty() {
            let (r, elapsed) = timed_get(addr, "/index.html");
            assert_ok(&r, INDEX);
            assert!(
                elapsed < Duration::from_secs(1),
                "a normal GET took {elapsed:?} while 32 clients trickled headers"
            );
            gets_while_trickling += 1;
        }
    }
    for h in handles {
        h.join().expect("slow client thread");
    }
    assert!(
        gets_while_trickling >= 5,
        "only {gets_while_trickling} normal GETs ran while the slow clients trickled"
    );
    assert_eq!(outcomes.len(), SLOW, "every slow client reports");

    for (i, outcome) in outcomes {
        let o = outcome.unwrap_or_else(|e| panic!("slow client {i}: {e}"));
        assert!(
            o.closed_after <= Duration::from_millis(3500),
            "slow client {i} closed {:?} after its first byte (header timeout 2 s)",
            o.closed_after
        );
        assert!(
            o.closed_after >= Duration::from_millis(1500),
            "slow client {i} closed after only {:?}, before the 2 s header timeout",
            o.closed_after
        );
        if !o.received.is_empty() {
            assert!(
                o.received.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"),
                "slow client {i} received {:?}",
                String::from_utf8_lossy(&o.received)
            );
        }
    }
    // And the server is still fine.
    let (r, _) = timed_get(addr, "/index.html");
    assert_ok(&r, INDEX);
}

// ---------------------------------------------------------------------------
// 3. Many idle keep-alive connections plus concurrent keep-alive load.
// ---------------------------------------------------------------------------

#[test]
fn a_thousand_idle_keep_alive_connections_survive_four_thousand_concurrent_requests() {
    let _serial = serial();
    let dir = site(&[("index.html", INDEX)]);
    let server = Server::start(dir.path(), &[]);
    let addr = server.addr;

    let mut idle = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let mut s = server.connect();
        assert_ok(&get_on(&mut s, "/index.html"), INDEX);
        idle.push(s);
    }

    let ok = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..200)
        .map(|c| {
            let ok = Arc::clone(&ok);
            thread::spawn(move || -> Result<(), String> {
                let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                    .map_err(|e| format!("client {c}: connect: {e}"))?;
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
                for i in 0..20 {
                    s.write_all(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n")
                        .map_err(|e| format!("client {c} request {i}: write: {e}"))?;
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        read_response(&mut s, false)
                    }))
                    .map_err(|_| format!("client {c} request {i}: unreadable response"))?
                    .ok_or_else(|| format!("client {c} request {i}: EOF instead of a response"))?;
                    if r.status_line != "HTTP/1.1 200 OK" || r.body != INDEX {
                        return Err(format!(
                            "client {c} request {i}: {:?} with {} body bytes",
                            r.status_line,
                            r.body.len()
                        ));
                    }
                    ok.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    let errors: Vec<String> = handles
        .into_iter()
        .filter_map(|h| h.join().expect("client thread").err())
        .collect();
    assert!(
        errors.is_empty(),
        "{} clients failed, first: {:?}",
        errors.len(),
        errors.first()
    );
    assert_eq!(ok.load(Ordering::Relaxed), 4000);

    for i in [0, 1, 250, 500, 998, 999] {
        let r = get_on(&mut idle[i], "/index.html");
        assert_ok(&r, INDEX);
    }
}

// ---------------------------------------------------------------------------
// 4. --max-connections.
// ---------------------------------------------------------------------------

#[test]
fn a_connection_beyond_max_connections_gets_503_and_capacity_returns_when_others_close() {
    let _serial = serial();
    let dir = site(&[("index.html", INDEX)]);
    let server = Server::start(dir.path(), &["--threads", "2", "--max-connections", "10"]);

    let mut held: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut s = server.connect();
            assert_ok(&get_on(&mut s, "/index.html"), INDEX);
            s
        })
        .collect();

    let mut extra = server.connect();
    extra
        .write_all(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let raw = read_to_close(&mut extra);
    let rs = parse_all(&raw, &[false]);
    assert_eq!(rs.len(), 1, "{:?}", String::from_utf8_lossy(&raw));
    let r = &rs[0];
    r.assert_common();
    assert_eq!(r.status_line, "HTTP/1.1 503 Service Unavailable");
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(r.header("Retry-After"), Some("1"));
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));

    // The admitted connections are unaffected.
    assert_ok(&get_on(&mut held[0], "/index.html"), INDEX);

    held.truncate(7);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let last = match try_get(server.addr, "/index.html", Duration::from_secs(5)) {
            Ok(rs) if rs.len() == 1 && rs[0].status() == 200 => {
                assert_ok(&rs[0], INDEX);
                break;
            }
            Ok(rs) => format!(
                "{:?}",
                rs.iter().map(|r| &r.status_line).collect::<Vec<_>>()
            ),
            Err(e) => e,
        };
        assert!(
            Instant::now() < deadline,
            "still refused 3 s after closing 3 of 10 connections; last: {last}"
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert_ok(&get_on(&mut held[6], "/index.html"), INDEX);
}

// ---------------------------------------------------------------------------
// 5. Keep-alive idle timeout.
// ---------------------------------------------------------------------------

#[test]
fn an_idle_keep_alive_connection_is_closed_silently_after_the_keepalive_timeout() {
    let _serial = serial();
    let dir = site(&[("index.html", INDEX)]);
    let server = Server::start(dir.path(), &["--keepalive-timeout", "1s"]);

    let mut s = server.connect();
    assert_ok(&get_on(&mut s, "/index.html"), INDEX);
    let idle_since = Instant::now();
    let mut buf = [0u8; 1024];
    let r = s.read(&mut buf);
    let elapsed = idle_since.elapsed();
    match r {
        Ok(0) => {}
        Ok(n) => panic!(
            "expected a silent close, got {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) => panic!("expected EOF within the keep-alive timeout, got {e} after {elapsed:?}"),
    }
    assert!(
        elapsed >= Duration::from_millis(900),
        "closed after only {elapsed:?} (keep-alive timeout 1 s)"
    );
    assert!(
        elapsed < Duration::from_millis(2000),
        "closed after {elapsed:?} (keep-alive timeout 1 s)"
    );
}

// ---------------------------------------------------------------------------
// 6. Write timeout.
// ---------------------------------------------------------------------------

/// A client socket with a small receive buffer, so a non-reader stalls the
/// server after little data.
fn connect_small_rcvbuf(addr: SocketAddr) -> TcpStream {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
    let fd = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .expect("socket");
    sockopt::set_socket_recv_buffer_size(&fd, 16 * 1024).expect("SO_RCVBUF");
    // Loopback and a listening socket: this connect completes at once.
    rustix::net::connect(&fd, &addr).expect("connect");
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

#[test]
fn a_client_that_never_reads_is_abandoned_after_the_write_timeout() {
    let _serial = serial();
    const BIG: u64 = 64 << 20;
    let dir = site(&[("small.txt", SMALL)]);
    File::create(dir.path().join("big.bin"))
        .and_then(|f| f.set_len(BIG))
        .expect("sparse file");
    let server = Server::start(dir.path(), &["--threads", "1", "--write-timeout", "1s"]);

    let mut slow = connect_small_rcvbuf(server.addr);
    slow.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let sent_at = Instant::now();

    // The slow client does not read for 3 s; meanwhile others are served
    // promptly by the single worker.
    let mut gets = 0;
    for _ in 0..200 {
        if sent_at.elapsed() >= Duration::from_secs(3) {
            break;
        }
        if sent_at.elapsed() >= Duration::from_millis(250 * gets) {
            let (r, elapsed) = timed_get(server.addr, "/small.txt");
            assert_ok(&r, SMALL);
            assert!(
                elapsed < Duration::from_secs(1),
                "a small GET took {elapsed:?} while a reader was stuck"
            );
            gets += 1;
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert!(gets >= 8, "only {gets} GETs ran during the stall");

    // Now read what is buffered: the server must have given up, so EOF
    // (or a reset) comes before the 64 MiB.
    let mut total: u64 = 0;
    let mut head = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut ended = false;
    for _ in 0..10_000 {
        let r = slow.read(&mut buf);
        if is_eof_or_reset(&r) {
            ended = true;
            break;
        }
        match r {
            Ok(n) => {
                if head.len() < 512 {
                    head.extend_from_slice(&buf[..n.min(512)]);
                }
                total += n as u64;
            }
            Err(e) => {
                panic!("the server still holds the stalled connection after {total} bytes: {e}")
            }
        }
    }
    assert!(ended, "no EOF after {total} bytes");
    let end = head_end(&head).expect("a response head arrived");
    let text = String::from_utf8_lossy(&head[..end]);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.contains(&format!("\r\nContent-Length: {BIG}\r\n")),
        "{text}"
    );
    assert!(
        total < BIG,
        "the whole {BIG}-byte body arrived ({total} bytes): nothing was abandoned"
    );
}

// ---------------------------------------------------------------------------
// 7. A slow reader of a large file does not pin the only worker.
// ---------------------------------------------------------------------------

#[test]
fn a_large_file_reaches_curl_and_a_slow_reader_intact_while_a_small_get_is_answered_promptly() {
    let _serial = serial();
    const LEN: usize = 8 << 20;
    let content = Arc::new(common::pattern(LEN, 0));
    let dir = site(&[("small.txt", SMALL), ("big.bin", &content)]);
    let server = Server::start(dir.path(), &["--threads", "1"]);
    let addr = server.addr;

    let url = server.url("/big.bin");
    let curl = thread::spawn(move || common::curl(&["--output", "-", &url]));

    let progress = Arc::new(AtomicUsize::new(0));
    let slow = {
        let progress = Arc::clone(&progress);
        thread::spawn(move || -> Vec<u8> {
            let mut s = connect(addr);
            s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .expect("write");
            let mut raw = Vec::with_capacity(LEN + 1024);
            let mut buf = vec![0u8; 64 * 1024];
            for _ in 0..4000 {
                let n = s.read(&mut buf).expect("slow reader read");
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&buf[..n]);
                progress.store(raw.len(), Ordering::Relaxed);
                thread::sleep(Duration::from_millis(5));
            }
            raw
        })
    };

    // Once the slow reader is well into the body, small GETs go through.
    for _ in 0..1000 {
        if progress.load(Ordering::Relaxed) >= 1 << 20 {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    assert!(
        progress.load(Ordering::Relaxed) >= 1 << 20,
        "slow reader made no progress"
    );
    for _ in 0..3 {
        let (r, elapsed) = timed_get(addr, "/small.txt");
        assert_ok(&r, SMALL);
        assert!(
            elapsed < Duration::from_secs(1),
            "a small GET took {elapsed:?} during a slow large download"
        );
    }
    let at_end_of_gets = progress.load(Ordering::Relaxed);
    assert!(
        at_end_of_gets < LEN,
        "the slow reader had already finished ({at_end_of_gets} bytes): nothing was proven"
    );

    let raw = slow.join().expect("slow reader thread");
    let end = head_end(&raw).expect("slow reader got a head");
    let text = String::from_utf8_lossy(&raw[..end]);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.contains(&format!("\r\nContent-Length: {LEN}\r\n")),
        "{text}"
    );
    let body = &raw[end..];
    assert_eq!(body.len(), LEN, "slow reader body length");
    assert!(
        body == &content[..],
        "slow reader body differs from the file"
    );

    let (code, out, err) = curl.join().expect("curl thread");
    assert_eq!(code, 0, "curl failed: {err}");
    assert_eq!(out.len(), LEN, "curl body length");
    assert!(out == *content, "curl body differs from the file");
}

// ---------------------------------------------------------------------------
// 8. EMFILE on accept.
// ---------------------------------------------------------------------------

#[test]
fn running_out_of_file_descriptors_on_accept_pauses_the_server_instead_of_killing_it() {
    let _serial = serial();
    let dir = site(&[("index.html", INDEX)]);
    let cmd = common::command_with_fd_limit(64, dir.path(), &["--quiet", "--threads", "1"]);
    let mut server = Server::spawn(cmd, dir.path());
    let mut stderr = server.stderr();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        for _ in 0..10_000 {
            match stderr.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    all.extend_from_slice(&buf[..n]);
                    let _ = tx.send(String::from_utf8_lossy(&all).into_owned());
                }
            }
        }
    });

    // The worker is up before descriptors run out (see the report: a worker
    // that starts after the accept loop has used them all never starts).
    let (r, _) = timed_get(server.addr, "/index.html");
    assert_ok(&r, INDEX);

    // More connections than descriptors: the rest wait in the backlog.
    let conns: Vec<TcpStream> = (0..80).map(|_| server.connect()).collect();
    // The server says it hit the limit (so this test exercised EMFILE).
    let mut said = String::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !said.contains("accept") && Instant::now() < deadline {
        if let Ok(s) = rx.recv_timeout(Duration::from_millis(20)) {
            said = s;
        }
    }
    assert!(
        said.contains("accept"),
        "no accept-failure report on stderr, so EMFILE was never hit: {said:?}"
    );
    assert!(server.alive(), "ferry exited when accept failed: {said}");

    drop(conns);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let last = match try_get(
            server.addr,
            "/index.html",
            left.max(Duration::from_millis(100)),
        ) {
            Ok(rs) if rs.len() == 1 && rs[0].status() == 200 => {
                assert_ok(&rs[0], INDEX);
                break;
            }
            Ok(rs) => format!(
                "{:?}",
                rs.iter().map(|r| &r.status_line).collect::<Vec<_>>()
            ),
            Err(e) => e,
        };
        assert!(
            Instant::now() < deadline,
            "not served within 5 s after descriptors were freed; last: {last}"
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert!(server.alive(), "ferry is no longer running");
    // And it keeps serving.
    let (r, elapsed) = timed_get(server.addr, "/index.html");
    assert_ok(&r, INDEX);
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn a_closing_error_is_readable_even_when_the_client_keeps_sending() {
    let _g = serial();
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &[]);
    let mut c = connect(s.addr);
    let mut req = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'j', 256 * 1024));
    // The server answers after the head; the junk behind it must not turn
    // the close into a reset that destroys the answer.
    let writer = {
        let mut w = c.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(&req);
        })
    };
    let r = read_response(&mut c, false).expect("a response before the close");
    assert_eq!(r.status_line, "HTTP/1.1 400 Bad Request");
    assert_eq!(r.header("Connection"), Some("close"));
    writer.join().unwrap();
}

#[test]
fn lingering_after_a_closing_response_ends_at_the_linger_timeout() {
    let _g = serial();
    let dir = site(&[("a.txt", b"x")]);
    let s = Server::start(dir.path(), &["--linger-timeout", "300ms"]);
    let mut c = connect(s.addr);
    c.write_all(b"GET / HTTP/2.0\r\nHost: t\r\n\r\n").unwrap();
    let r = read_response(&mut c, false).unwrap();
    assert_eq!(r.status_line, "HTTP/1.1 505 HTTP Version Not Supported");
    let start = Instant::now();
    // Our side half-open: keep sending; the server drains, then gives up.
    let mut failed_after = None;
    for _ in 0..300 {
        if c.write_all(b"x").is_err() {
            failed_after = Some(start.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let t = failed_after.expect("server closed the lingering connection");
    assert!(t >= Duration::from_millis(200), "closed too early: {t:?}");
    assert!(t < Duration::from_secs(2), "lingered too long: {t:?}");
}
