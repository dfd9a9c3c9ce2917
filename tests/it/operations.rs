//! Operations: graceful shutdown on SIGTERM/SIGINT (in-flight responses
//! finish, idle connections close, --shutdown-timeout bounds the wait),
//! containment of a panic in one request, the buffered access log.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use rustix::process::Signal;

use crate::support::*;

const INDEX: &[u8] = b"<!doctype html><title>ferry</title><p>hello from ferry</p>\n";

fn refused(addr: SocketAddr) -> bool {
    match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Err(e) => e.kind() == ErrorKind::ConnectionRefused,
        Ok(_) => false,
    }
}

#[test]
fn sigterm_lets_an_in_flight_download_finish_closes_idle_connections_and_exits_zero() {
    let _serial = serial();
    const BIG: usize = 32 << 20;
    let dir = site(&[("index.html", INDEX)]);
    File::create(dir.path().join("big.bin"))
        .and_then(|f| f.set_len(BIG as u64))
        .expect("sparse file");
    let mut server = Server::start(dir.path(), &["--threads", "2"]);
    let addr = server.addr;

    // Idle connections from before the signal: one that never sent a byte,
    // and keep-alive ones after one request each (accepted after the silent
    // one, so their answers prove it was accepted too).
    let silent = server.connect();
    let mut idle = vec![silent];
    for _ in 0..3 {
        let mut s = server.connect();
        assert_ok(&get_on(&mut s, "/index.html"), INDEX);
        idle.push(s);
    }

    // A download read slowly but steadily: 256 KiB, then 15 ms, ~2 s in all.
    let progress = Arc::new(AtomicUsize::new(0));
    let download = {
        let progress = Arc::clone(&progress);
        thread::spawn(
            move || -> (Vec<u8>, usize, Result<Vec<u8>, std::io::Error>) {
                let mut s = connect(addr);
                s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
                    .expect("write");
                let mut head = Vec::new();
                let mut body_len = 0usize;
                let mut nonzero = 0usize;
                let mut since_pause = 0usize;
                let mut buf = vec![0u8; 256 * 1024];
                for _ in 0..20_000 {
                    let want = if head_end(&head).is_none() {
                        1
                    } else {
                        (BIG - body_len).min(buf.len())
                    };
                    if want == 0 {
                        break;
                    }
                    let n = s.read(&mut buf[..want]).expect("download read");
                    assert!(n > 0, "EOF after {body_len} of {BIG} body bytes");
                    if head_end(&head).is_none() {
                        head.extend_from_slice(&buf[..n]);
                        continue;
                    }
                    nonzero += buf[..n].iter().filter(|&&b| b != 0).count();
                    body_len += n;
                    progress.store(body_len, Ordering::Relaxed);
                    since_pause += n;
                    if since_pause >= 256 * 1024 {
                        since_pause = 0;
                        thread::sleep(Duration::from_millis(15));
                    }
                }
                assert_eq!(nonzero, 0, "a sparse file reads as zeros");
                // The response is done; draining, the server now closes.
                let after = wait_closed(&mut s);
                (head, body_len, after)
            },
        )
    };

    for _ in 0..1000 {
        if progress.load(Ordering::Relaxed) >= 4 << 20 {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let at_signal = progress.load(Ordering::Relaxed);
    assert!(
        at_signal >= 4 << 20,
        "the download did not get going ({at_signal} bytes)"
    );

    // Watch the idle connections from the moment of the signal.
    let signalled = Instant::now();
    let watchers: Vec<_> = idle
        .into_iter()
        .map(|mut s| {
            thread::spawn(move || {
                let r = wait_closed(&mut s);
                (r, Instant::now())
            })
        })
        .collect();
    let status = server.signal_and_wait(Signal::TERM, Duration::from_secs(8));
    let exited = Instant::now();
    let status = status.expect("ferry did not exit within 8 s of SIGTERM (shutdown timeout 5 s)");
    assert!(
        at_signal < BIG && progress.load(Ordering::Relaxed) >= at_signal,
        "the signal came mid-transfer"
    );
    assert_eq!(status.code(), Some(0), "exit status {status:?}");

    let (head, body_len, after) = download.join().expect("download thread");
    let end = head_end(&head).expect("head");
    let text = String::from_utf8_lossy(&head[..end]);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.contains(&format!("\r\nContent-Length: {BIG}\r\n")),
        "{text}"
    );
    assert_eq!(body_len, BIG, "the in-flight body arrived complete");
    let after = after.expect("connection closed after the in-flight response");
    assert!(
        after.is_empty(),
        "nothing follows the response: {:?}",
        String::from_utf8_lossy(&after)
    );

    for (i, w) in watchers.into_iter().enumerate() {
        let (r, closed_at) = w.join().expect("watcher");
        let bytes = r.unwrap_or_else(|e| panic!("idle connection {i} not closed: {e}"));
        assert!(
            bytes.is_empty(),
            "idle connection {i} got {:?}",
            String::from_utf8_lossy(&bytes)
        );
        assert!(
            closed_at.duration_since(signalled) < Duration::from_secs(1),
            "idle connection {i} closed {:?} after SIGTERM",
            closed_at.duration_since(signalled)
        );
        assert!(
            closed_at <= exited,
            "idle connection {i} was closed only by the exit, not by the drain"
        );
    }

    assert!(refused(addr), "a connection after exit was not refused");
}

#[test]
fn sigint_lets_an_in_flight_response_finish_then_exits_zero() {
    let data = pattern(24 * 1024 * 1024, 11);
    let t = site(&[("big.bin", &data)]);
    let mut s = Server::start(t.path(), &[]);
    let mut c = s.conn();
    c.send(&get_req("/big.bin"));
    // The head and a little of the body have arrived: the response is in
    // flight when the signal comes.
    let mut tmp = [0u8; 4096];
    let n = c.s.read(&mut tmp).unwrap();
    c.buf.extend_from_slice(&tmp[..n]);
    s.signal(Signal::INT);
    thread::sleep(Duration::from_millis(300)); // the client reads nothing for a moment
    let r = c.read_response(false);
    r.assert_common();
    assert_ok(&r, &data);
    let status = s
        .wait_exit(Duration::from_secs(6))
        .expect("no exit after SIGINT");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigint_on_an_idle_server_exits_zero_promptly() {
    let dir = site(&[("index.html", INDEX)]);
    let mut server = Server::start(dir.path(), &[]);
    assert_ok(&server.get("/index.html"), INDEX);
    let t = Instant::now();
    let status = server
        .signal_and_wait(Signal::INT, Duration::from_secs(2))
        .expect("ferry did not exit within 2 s of SIGINT");
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(
        refused(server.addr),
        "a connection after exit was not refused"
    );
}

#[test]
fn the_shutdown_timeout_bounds_how_long_a_stuck_response_delays_the_exit() {
    let _serial = serial();
    let t = Site::standard();
    let f = std::fs::File::create(t.path().join("huge.bin")).unwrap();
    f.set_len(256 * 1024 * 1024).unwrap();
    drop(f);
    let mut s = Server::start(t.path(), &["--shutdown-timeout", "1s"]);
    // A response that has started and will never be read further.
    let mut stuck = connect_small_rcvbuf(s.addr, 16 * 1024);
    stuck.write_all(&get_req("/huge.bin")).unwrap();
    let mut first = [0u8; 1];
    stuck.read_exact(&mut first).expect("the response started");
    // And a head in progress.
    let mut half = s.conn();
    half.send(b"GET /a.txt HTTP/1.1\r\nHo");
    let signalled = Instant::now();
    s.signal(Signal::TERM);
    let status = s
        .wait_exit(Duration::from_secs(4))
        .expect("still running 4 s after SIGTERM with --shutdown-timeout 1s");
    assert_eq!(status.code(), Some(0));
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "exited {took:?} after SIGTERM (shutdown timeout 1 s)"
    );
}

#[test]
fn a_panic_while_handling_one_request_is_contained_to_that_request() {
    if !has_panic_aid("operations::a_panic_while_handling_one_request_is_contained_to_that_request")
    {
        return;
    }
    let dir = site(&[("index.html", INDEX)]);
    let mut server = Server::start(
        dir.path(),
        &["--threads", "2", "--debug-panic-path", "/boom"],
    );

    // Keep-alive connections spread over both workers, held across the panics.
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = server.connect();
            assert_ok(&get_on(&mut s, "/index.html"), INDEX);
            s
        })
        .collect();

    // More panics than workers: a worker killed by one would show below.
    for i in 0..4 {
        let mut s = server.connect();
        s.write_all(b"GET /boom HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("write");
        let raw = read_to_close(&mut s);
        let rs = parse_all(&raw, &[false]);
        assert_eq!(rs.len(), 1, "boom {i}: {:?}", String::from_utf8_lossy(&raw));
        let r = &rs[0];
        r.assert_common();
        assert_eq!(
            r.status_line, "HTTP/1.1 500 Internal Server Error",
            "boom {i}"
        );
        assert_eq!(r.header("Connection"), Some("close"), "boom {i}");
    }

    for i in 0..20 {
        let r = server.get("/index.html");
        assert_ok(&r, INDEX);
        assert_eq!(r.header("Connection"), Some("close"), "request {i}");
    }
    for s in &mut held {
        assert_ok(&get_on(s, "/index.html"), INDEX);
    }
    assert!(server.alive(), "ferry exited after a handler panic");
}

/// A HEAD whose handling panics gets the contained 500 as a head only: the
/// response to HEAD ends at the blank line, whatever went wrong (RFC 9110
/// §9.3.2), so a pipelining client never reads the error page as the next
/// response.
/// Was: the 500 page (169 bytes) followed the head / now: head only, Connection: close.
#[test]
fn a_head_that_panics_gets_a_500_head_without_content_rfc9110_9_3_2() {
    if !has_panic_aid(
        "operations::a_head_that_panics_gets_a_500_head_without_content_rfc9110_9_3_2",
    ) {
        return;
    }
    let dir = site(&[("index.html", INDEX)]);
    let server = Server::start(dir.path(), &["--debug-panic-path", "/boom"]);
    let raw = server.exchange(
        b"HEAD /boom HTTP/1.1\r\nHost: t\r\n\r\nGET /index.html HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let end = head_end(&raw).expect("a response head");
    let head = String::from_utf8_lossy(&raw[..end]);
    assert!(
        head.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Length: "), "{head}");
    assert_eq!(
        String::from_utf8_lossy(&raw[end..]),
        "",
        "content after the head of a HEAD's 500"
    );
}

#[test]
fn the_access_log_records_each_request_within_a_second_and_flushes_at_shutdown() {
    let _serial = serial();
    let dir = site(&[("index.html", INDEX), ("other.txt", b"other\n")]);
    let mut server = Server::start_raw(dir.path(), &["--threads", "1"]);
    let rx = stderr_lines(server.stderr());
    let mut seen = Vec::new();

    let mut s = server.connect();
    assert_ok(&get_on(&mut s, "/index.html"), INDEX);
    let missing = get_on(&mut s, "/missing");
    assert_eq!(missing.status_line, "HTTP/1.1 404 Not Found");
    let missing_len = missing
        .header("Content-Length")
        .expect("Content-Length")
        .to_owned();
    let served = Instant::now();

    let ok_needle = format!("\"GET /index.html HTTP/1.1\" 200 {} ", INDEX.len());
    let line = wait_for_line(&rx, &mut seen, &[&ok_needle], Duration::from_secs(3))
        .unwrap_or_else(|| panic!("no {ok_needle:?} line within 3 s; stderr so far: {seen:?}"));
    let nf_needle = format!("\"GET /missing HTTP/1.1\" 404 {missing_len} ");
    wait_for_line(&rx, &mut seen, &[&nf_needle], Duration::from_secs(3))
        .unwrap_or_else(|| panic!("no {nf_needle:?} line; stderr so far: {seen:?}"));
    let flushed_after = served.elapsed();
    assert!(
        flushed_after < Duration::from_millis(2000),
        "log lines appeared {flushed_after:?} after the requests (buffer flushes each second)"
    );
    // `time peer "request" status bytes duration`, the time in UTC with
    // milliseconds, within a few seconds of now.
    let parsed = parse_log_line(&line).expect("an access-log line");
    assert!(parsed.peer.starts_with("127.0.0.1:"), "{line:?}");
    assert!(!parsed.aborted, "{line:?}");
    let now = rfc3339_ms(SystemTime::now());
    let before = rfc3339_ms(SystemTime::now() - Duration::from_secs(5));
    assert!(
        before <= parsed.time && parsed.time <= now,
        "{line:?}: not between {before} and {now}"
    );

    // A request just before SIGTERM is in the buffer; the exit flushes it.
    assert_ok(&get_on(&mut s, "/other.txt"), b"other\n");
    let status = server
        .signal_and_wait(Signal::TERM, Duration::from_secs(5))
        .expect("ferry did not exit within 5 s of SIGTERM");
    assert_eq!(status.code(), Some(0));
    drain_lines(&rx, &mut seen);
    let last = "\"GET /other.txt HTTP/1.1\" 200 6 ";
    assert!(
        seen.iter().any(|l| l.contains(last)),
        "no {last:?} line after shutdown; stderr: {seen:?}"
    );
    let request_lines = seen.iter().filter(|l| l.contains(" HTTP/1.1\" ")).count();
    assert_eq!(request_lines, 3, "one line per request: {seen:?}");
}

#[test]
fn quiet_writes_no_access_log_lines() {
    let dir = site(&[("index.html", INDEX)]);
    let mut server = Server::start(dir.path(), &["--threads", "1"]);
    let mut stderr = server.stderr();
    let mut s = server.connect();
    assert_ok(&get_on(&mut s, "/index.html"), INDEX);
    assert_eq!(
        get_on(&mut s, "/missing").status_line,
        "HTTP/1.1 404 Not Found"
    );
    let status = server
        .signal_and_wait(Signal::TERM, Duration::from_secs(5))
        .expect("ferry did not exit within 5 s of SIGTERM");
    assert_eq!(status.code(), Some(0));
    // The process has exited: the pipe is at EOF.
    let mut all = String::new();
    stderr.read_to_string(&mut all).expect("read stderr");
    assert!(
        !all.contains("\"GET "),
        "--quiet still logged requests: {all:?}"
    );
}

/// Stops the server with SIGTERM (exit 0) and returns all it said on
/// stderr after `seen`, up to its end.
fn stop_and_read(
    server: &mut Server,
    rx: &std::sync::mpsc::Receiver<String>,
    seen: &mut Vec<String>,
) {
    let status = server
        .signal_and_wait(Signal::TERM, Duration::from_secs(5))
        .expect("ferry did not exit within 5 s of SIGTERM");
    assert_eq!(status.code(), Some(0));
    drain_lines(rx, seen);
}

/// With four workers and many clients at once (some keep-alive, some a
/// new connection per request, so one client's requests land on different
/// workers), every request is logged once, the times are in order, and
/// each client's requests come out in the order it made them (each was
/// sent after the last one's response arrived, so ended after it).
#[test]
fn access_log_lines_come_out_in_the_order_responses_ended_across_workers() {
    let _serial = serial();
    let dir = site(&[("f.txt", b"hello\n")]);
    let mut server = Server::start_raw(dir.path(), &["--threads", "4"]);
    let rx = stderr_lines(server.stderr());
    const CLIENTS: usize = 8;
    const REQUESTS: usize = 40;
    let addr = server.addr;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            thread::spawn(move || {
                let mut keep = (c % 2 == 0).then(|| Conn::new(connect(addr)));
                for i in 0..REQUESTS {
                    let path = format!("/f.txt?c={c}&i={i:02}");
                    let r = match keep.as_mut() {
                        Some(k) => k.get(&path),
                        None => fetch(addr, &path),
                    };
                    assert_ok(&r, b"hello\n");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    let mut seen = Vec::new();
    stop_and_read(&mut server, &rx, &mut seen);
    let lines = log_lines(&seen);
    assert_eq!(lines.len(), CLIENTS * REQUESTS, "{seen:#?}");
    for pair in lines.windows(2) {
        assert!(
            pair[0].time <= pair[1].time,
            "times out of order: {:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
    for c in 0..CLIENTS {
        let order: Vec<String> = lines
            .iter()
            .filter(|l| l.request.contains(&format!("?c={c}&")))
            .map(|l| l.request.clone())
            .collect();
        let expected: Vec<String> = (0..REQUESTS)
            .map(|i| format!("GET /f.txt?c={c}&i={i:02} HTTP/1.1"))
            .collect();
        assert_eq!(order, expected, "client {c}: each request once, in order");
    }
}

/// A response is logged when it ends, with the body bytes actually sent:
/// a download the client cuts logs what went out (at least what the
/// client got, less than the file), the real duration and `aborted`; an
/// uncut one logs the file's size and no mark.
#[test]
fn a_cut_download_logs_the_bytes_sent_its_duration_and_aborted() {
    let _serial = serial();
    const LEN: u64 = 20_000_000;
    let dir = site(&[]);
    File::create(dir.path().join("big.bin"))
        .and_then(|f| f.set_len(LEN))
        .expect("sparse file");
    let mut server = Server::start_raw(dir.path(), &["--threads", "1"]);
    let rx = stderr_lines(server.stderr());
    let mut seen = Vec::new();

    let mut s = connect_small_rcvbuf(server.addr, 64 * 1024);
    s.write_all(&get_req("/big.bin?cut")).unwrap();
    let mut got = Vec::new();
    read_at_least(&mut s, &mut got, 256 * 1024).expect("the download started");
    let body = got.len() - head_end(&got).expect("a head");
    // The client holds the download a while, then cuts it: the log's
    // duration must cover this (it was taken when the response was staged).
    thread::sleep(Duration::from_millis(300));
    reset(s);
    let line = wait_for_line(
        &rx,
        &mut seen,
        &["/big.bin?cut ", " aborted"],
        Duration::from_secs(5),
    )
    .unwrap_or_else(|| panic!("no aborted line for the cut download: {seen:?}"));
    let cut = parse_log_line(&line).expect("an access-log line");
    assert_eq!((cut.status, cut.aborted), (200, true), "{line:?}");
    assert!(
        body as u64 <= cut.bytes && cut.bytes < LEN,
        "{line:?}: the client got {body} body bytes of {LEN}"
    );
    assert!(cut.ms >= 300.0, "{line:?}: shorter than the client held it");

    let whole = fetch(server.addr, "/big.bin?whole");
    assert_eq!(whole.body.len() as u64, LEN);
    let line = wait_for_line(&rx, &mut seen, &["/big.bin?whole "], Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no line for the whole download: {seen:?}"));
    let whole = parse_log_line(&line).expect("an access-log line");
    assert_eq!(
        (whole.status, whole.bytes, whole.aborted),
        (200, LEN, false),
        "{line:?}"
    );
}

/// Pipelined requests on one connection each get one line, in order,
/// with the body bytes of their response: a file, a HEAD (0), a 304 (0),
/// a 404 (its page), a listing made on the job thread, and the 400 that
/// ends the connection.
#[test]
fn every_kind_of_response_is_logged_once_in_order_with_its_body_bytes() {
    let dir = site(&[("f.txt", b"hello\n")]);
    std::fs::create_dir(dir.path().join("dir")).unwrap();
    std::fs::write(dir.path().join("dir/x.txt"), b"x").unwrap();
    let mut server = Server::start_raw(dir.path(), &["--threads", "1"]);
    let rx = stderr_lines(server.stderr());
    let mut c = server.conn();
    let requests = [
        ("GET", "/f.txt", "\r\n"),
        ("HEAD", "/f.txt", "\r\n"),
        ("GET", "/f.txt?again", "If-None-Match: *\r\n"),
        ("GET", "/missing", "\r\n"),
        ("GET", "/dir/", "\r\n"),
        ("GET", "/f.txt?last", "\r\n"),
    ];
    let mut batch = String::new();
    for (method, target, extra) in requests {
        batch += &format!("{method} {target} HTTP/1.1\r\nHost: t\r\n{extra}\r\n");
    }
    // No Host: 400, and the connection closes.
    batch += "GET /f.txt?bad HTTP/1.1\r\n\r\n";
    c.send(batch.as_bytes());
    let mut expected = Vec::new();
    for (method, target, _) in requests {
        let r = c.read_response(method == "HEAD");
        expected.push((
            format!("{method} {target} HTTP/1.1"),
            r.status(),
            r.body.len() as u64,
        ));
    }
    let bad = c.read_response(false);
    assert_eq!(bad.status_line, BAD_REQUEST);
    // A request the reader refuses is logged without its line.
    expected.push(("- - -".into(), 400, bad.body.len() as u64));
    let statuses: Vec<u16> = expected.iter().map(|e| e.1).collect();
    assert_eq!(statuses, [200, 200, 304, 404, 200, 200, 400]);
    let mut seen = Vec::new();
    stop_and_read(&mut server, &rx, &mut seen);
    let logged: Vec<(String, u16, u64)> = log_lines(&seen)
        .into_iter()
        .map(|l| {
            assert!(!l.aborted, "{l:?}");
            (l.request, l.status, l.bytes)
        })
        .collect();
    assert_eq!(logged, expected);
    assert_eq!(expected[1].2, 0, "HEAD");
    assert_eq!(expected[2].2, 0, "304");
}

/// A live-reload event stream is logged when it ends (here: the client
/// leaves), with the bytes it sent and how long it was open; its end is
/// not an abort.
#[test]
fn an_event_stream_is_logged_when_it_ends_with_its_bytes_and_duration() {
    let dir = site(&[("index.html", INDEX)]);
    let mut server = Server::start_raw(dir.path(), &["--threads", "1", "--watch"]);
    let rx = stderr_lines(server.stderr());
    let mut seen = Vec::new();
    let mut st = server.connect();
    st.write_all(&get_req("/.ferry/live?page=%2F")).unwrap();
    let mut got = Vec::new();
    let opened = Instant::now();
    read_at_least(&mut st, &mut got, 1).unwrap();
    while !String::from_utf8_lossy(&got).ends_with("retry: 500\n\n") {
        let want = got.len() + 1;
        read_at_least(&mut st, &mut got, want).unwrap();
    }
    assert!(opened.elapsed() < Duration::from_secs(1));
    // Open for a while, then the client leaves.
    thread::sleep(Duration::from_millis(300));
    drop(st);
    let line = wait_for_line(&rx, &mut seen, &["/.ferry/live"], Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no line for the stream: {seen:?}"));
    let l = parse_log_line(&line).expect("an access-log line");
    assert_eq!(
        (l.request.as_str(), l.status, l.bytes, l.aborted),
        (
            "GET /.ferry/live?page=%2F HTTP/1.1",
            200,
            "retry: 500\n\n".len() as u64,
            false
        ),
        "{line:?}"
    );
    assert!(l.ms >= 300.0, "{line:?}");
}

/// The first bytes of a TLS handshake.
const CLIENT_HELLO: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

/// Sends a TLS handshake and expects the connection closed without a byte.
fn tls_handshake(addr: SocketAddr) {
    let mut s = connect(addr);
    s.write_all(CLIENT_HELLO).unwrap();
    let got = wait_closed(&mut s).expect("closed");
    assert_eq!(got, b"", "an answer to a TLS handshake");
}

/// A TLS handshake on the plain-HTTP port gets no answer (HTTP would be
/// garbage to a TLS client) and a hint on stderr naming the URL to use,
/// once per client address per minute: two handshakes (one of them a
/// real TLS client, curl), one note, and no access-log line.
#[test]
fn a_tls_handshake_is_closed_with_one_hint_per_address_per_minute() {
    let dir = site(&[("index.html", INDEX)]);
    let mut server = Server::start_raw(dir.path(), &["--threads", "2"]);
    let rx = stderr_lines(server.stderr());
    tls_handshake(server.addr);
    let url = format!("https://{}/", server.addr);
    let (code, out, _) = curl(&["-sk", "--max-time", "5", &url]);
    assert_eq!((code, out), (35, Vec::new()), "curl: SSL connect error");
    // Plain HTTP from the same address is served as ever.
    assert_ok(&server.get("/index.html"), INDEX);
    let mut seen = Vec::new();
    stop_and_read(&mut server, &rx, &mut seen);
    let hint = format!(
        "ferry: 127.0.0.1 sent a TLS handshake: this is an HTTP port; use http://127.0.0.1:{}/\n",
        server.port()
    );
    let hints: Vec<&String> = seen.iter().filter(|l| l.contains("TLS")).collect();
    assert_eq!(hints, [&hint], "{seen:?}");
    let logged: Vec<String> = log_lines(&seen).into_iter().map(|l| l.request).collect();
    assert_eq!(logged, ["GET /index.html HTTP/1.1"]);
}

/// After the interval (a hidden flag shortens the minute), the same
/// address gets the hint again.
#[test]
fn the_tls_hint_comes_again_once_the_interval_has_passed() {
    let dir = site(&[("index.html", INDEX)]);
    let mut server = Server::start(dir.path(), &["--debug-tls-hint-every", "1s"]);
    let rx = stderr_lines(server.stderr());
    let mut seen = Vec::new();
    tls_handshake(server.addr);
    wait_for_line(
        &rx,
        &mut seen,
        &["sent a TLS handshake"],
        Duration::from_secs(5),
    )
    .unwrap_or_else(|| panic!("no hint: {seen:?}"));
    // The note was made before we saw it: a second later the interval has
    // passed for ferry too.
    thread::sleep(Duration::from_secs(1));
    tls_handshake(server.addr);
    tls_handshake(server.addr);
    stop_and_read(&mut server, &rx, &mut seen);
    let hints = seen
        .iter()
        .filter(|l| l.contains("sent a TLS handshake"))
        .count();
    assert_eq!(hints, 2, "{seen:?}");
}

/// SIGHUP with a stderr nobody reads (the terminal's reader gone, the pipe
/// full of access-log lines) still drains and exits 0 within
/// --shutdown-timeout: shutdown never waits on stderr.
#[test]
fn sighup_with_a_full_stderr_pipe_exits_zero_within_the_shutdown_timeout() {
    let _serial = serial();
    let dir = site(&[("index.html", INDEX)]);
    let mut server = Server::start_raw(dir.path(), &["--threads", "1", "--shutdown-timeout", "2s"]);
    let _stderr = server.stderr(); // held, never read
    let query = "q".repeat(4000);
    let mut c = server.conn();
    for _ in 0..40 {
        c.send(format!("GET /index.html?{query} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        assert_ok(&c.read_response(false), INDEX);
    }
    let t = Instant::now();
    let status = server
        .signal_and_wait(Signal::HUP, Duration::from_secs(4))
        .expect("exited within 4 s of SIGHUP with a full stderr pipe");
    assert_eq!(status.code(), Some(0));
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );
}

/// With a response in flight, the first SIGINT says on stderr that ferry
/// is draining and for how long at most; a second one exits at once (130)
/// instead of waiting out `--shutdown-timeout`.
#[test]
fn a_second_sigint_while_draining_exits_at_once() {
    let _serial = serial();
    let t = Site::standard();
    let f = std::fs::File::create(t.path().join("huge.bin")).unwrap();
    f.set_len(256 * 1024 * 1024).unwrap();
    drop(f);
    let mut s = Server::start(t.path(), &["--shutdown-timeout", "30s"]);
    let rx = stderr_lines(s.stderr());
    // A response that has started and is not read further.
    let mut stuck = connect_small_rcvbuf(s.addr, 16 * 1024);
    stuck.write_all(&get_req("/huge.bin")).unwrap();
    let mut first = [0u8; 1];
    stuck.read_exact(&mut first).expect("the response started");
    s.signal(Signal::INT);
    let mut seen = Vec::new();
    let note = wait_for_line(
        &rx,
        &mut seen,
        &["draining 1 connection for up to"],
        Duration::from_secs(5),
    );
    let note = note.unwrap_or_else(|| panic!("no draining note: {seen:?}"));
    assert_eq!(
        note,
        "ferry: draining 1 connection for up to 30s (Ctrl-C again to stop now)\n"
    );
    let t0 = Instant::now();
    s.signal(Signal::INT);
    let status = s
        .wait_exit(Duration::from_secs(2))
        .expect("still running 2 s after a second SIGINT");
    assert_eq!(status.code(), Some(130));
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert!(refused(s.addr));
    // It still says so, and how the connections spread.
    drain_lines(&rx, &mut seen);
    let tail: Vec<&str> = seen
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(|l| l.trim_end())
        .collect();
    assert_eq!(tail[0], "ferry: stopping now", "{seen:?}");
    let counts = tail[1]
        .strip_prefix("ferry: stopped; connections accepted per worker: ")
        .unwrap_or_else(|| panic!("no per-worker line: {seen:?}"));
    let total: u64 = counts.split(' ').map(|n| n.parse::<u64>().unwrap()).sum();
    assert_eq!(total, 1, "{seen:?}");
}

/// A request whose head is half sent when shutdown begins gets the same
/// short grace as a new connection's first request: completed, it is
/// answered (and the connection closed); left unfinished, a 408 at the
/// grace's end.
/// Was: dropped at once, whatever came next / now: answered.
#[test]
fn a_request_half_sent_at_shutdown_is_answered_when_it_completes() {
    for finish in [true, false] {
        let dir = site(&[("index.html", INDEX)]);
        let mut s = Server::start(dir.path(), &["--threads", "1"]);
        let mut half = connect(s.addr);
        half.write_all(b"GET /index.html HTTP/1.1\r\nHo").unwrap();
        // The worker has read the half head once a later request on
        // another connection is answered (its events come in order).
        assert_ok(&s.get("/index.html"), INDEX);
        s.signal(Signal::TERM);
        if finish {
            half.write_all(b"st: t\r\n\r\n").unwrap();
        }
        let got = read_to_close(&mut half);
        drop(half); // as a client does at the end: the server's linger ends
        let rs = parse_all(&got, &[false]);
        assert_eq!(
            rs.len(),
            1,
            "finish {finish}: {:?}",
            String::from_utf8_lossy(&got)
        );
        // Completed, it is answered (before the drain began or during it:
        // the close follows either way); left unfinished, a 408 and close.
        if finish {
            assert_ok(&rs[0], INDEX);
        } else {
            assert_eq!(rs[0].status(), 408);
            assert_eq!(rs[0].header("Connection"), Some("close"));
        }
        let status = s.wait_exit(Duration::from_secs(2)).expect("exit");
        assert_eq!(status.code(), Some(0));
    }
}

/// A connection that has sent nothing (a browser's spare connection) is
/// not a transfer: shutdown does not announce it as draining, closes it
/// once its short grace for a first request ends, and exits.
/// Was: "draining 1 connection for up to 5s" for it, and the exit waited
/// up to a sweep period (250 ms) past the grace / now: no note, closed at
/// its grace's end.
#[test]
fn a_connection_that_sent_nothing_is_not_announced_as_draining() {
    let dir = site(&[("index.html", INDEX)]);
    let mut s = Server::start(dir.path(), &["--threads", "1"]);
    let rx = stderr_lines(s.stderr());
    let mut used = s.conn();
    assert_ok(&used.get("/index.html"), INDEX);
    let mut spare = connect(s.addr);
    s.signal(Signal::TERM);
    let status = s
        .wait_exit(Duration::from_secs(2))
        .expect("still running 2 s after SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        read_to_close(&mut spare),
        b"",
        "the spare connection gets nothing"
    );
    let mut seen = Vec::new();
    drain_lines(&rx, &mut seen);
    assert_eq!(
        seen,
        ["ferry: stopped; connections accepted per worker: 2\n"],
        "no draining note"
    );
}

/// At exit, stderr says how many connections each worker accepted (they
/// add up to the connections made).
#[test]
fn at_exit_stderr_says_how_many_connections_each_worker_accepted() {
    let dir = site(&[("index.html", INDEX)]);
    let mut s = Server::start(dir.path(), &["--threads", "2"]);
    let rx = stderr_lines(s.stderr());
    for _ in 0..10 {
        assert_ok(&s.get("/index.html"), INDEX);
    }
    let status = s
        .signal_and_wait(Signal::TERM, Duration::from_secs(5))
        .expect("exit");
    assert_eq!(status.code(), Some(0));
    let mut seen = Vec::new();
    let line = wait_for_line(
        &rx,
        &mut seen,
        &["ferry: stopped; connections accepted per worker: "],
        Duration::from_secs(2),
    )
    .unwrap_or_else(|| panic!("{seen:?}"));
    let counts: Vec<u64> = line
        .trim_end()
        .rsplit(": ")
        .next()
        .unwrap()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(counts.len(), 2, "{line}");
    assert_eq!(counts.iter().sum::<u64>(), 10, "{line}");
}
