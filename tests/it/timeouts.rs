//! Deadlines: the header timeout (from a head's first byte), the
//! keep-alive, body and write timeouts, and the linger after a closing
//! response. Slow clients never delay others.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;

const INDEX: &[u8] = b"<!doctype html><title>ferry</title><p>hello from ferry</p>\n";
const SMALL: &[u8] = b"small file, answered promptly\n";

#[test]
fn a_slow_head_gets_408_at_the_header_timeout_measured_from_its_first_byte() {
    let t = Site::standard();
    let s = Server::start(t.path(), &["--header-timeout", "1s"]);
    let mut c = s.conn();
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
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
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
    // The close is a lingering one (a FIN), so the 408 is never lost.
    let rs = parse_all(&got, &[false]);
    assert_eq!(rs.len(), 1, "{:?}", String::from_utf8_lossy(&got));
    rs[0].assert_common();
    assert_eq!(rs[0].status_line, TIMEOUT);
    assert_eq!(rs[0].header("Connection"), Some("close"));
}

#[test]
fn the_header_timeout_starts_at_the_first_byte_of_the_next_request() {
    let t = Site::standard();
    let s = Server::start(
        t.path(),
        &["--header-timeout", "1s", "--keepalive-timeout", "20s"],
    );
    let mut c = s.conn();
    c.send(&get_req("/a.txt"));
    assert_eq!(c.read_response(false).body, b"hello");
    c.assert_still_open(
        Duration::from_millis(1600),
        "idle keep-alive shorter than keepalive-timeout",
    );
    c.send(&get_req("/b.txt"));
    let r = c.read_response(false);
    assert_eq!(r.status_line, OK, "request after 1.6 s idle");
    assert_eq!(r.body, b"world!");
}

#[test]
fn a_busy_keep_alive_connection_outliving_the_header_timeout_is_not_cut() {
    let t = Site::standard();
    let s = Server::start(
        t.path(),
        &["--header-timeout", "1s", "--keepalive-timeout", "1s"],
    );
    let mut c = s.conn();
    let start = Instant::now();
    for i in 0..16 {
        c.send(&get_req("/a.txt"));
        let r = c.read_response(false);
        assert_eq!(r.status_line, OK, "request {i} at {:?}", start.elapsed());
        assert!(!r.has_token("connection", "close"));
        thread::sleep(Duration::from_millis(150)); // steady client, well under both timeouts
    }
    assert!(start.elapsed() > Duration::from_millis(2000));
}

#[test]
fn a_slowly_progressing_reader_gets_the_whole_file_despite_a_short_write_timeout() {
    let t = Site::new();
    let data: Vec<u8> = (0..(24 * 1024 * 1024u32))
        .map(|i| (i % 249) as u8)
        .collect();
    t.file("big.bin", &data);
    let s = Server::start(t.path(), &["--write-timeout", "1s"]);
    let mut c = s.conn();
    c.send(&get_req("/big.bin"));
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
fn thirty_two_byte_a_second_clients_do_not_delay_others_and_get_408_at_the_header_timeout() {
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
        let rs = parse_all(&o.received, &[false]);
        assert_eq!(
            rs.len(),
            1,
            "slow client {i}: {:?}",
            String::from_utf8_lossy(&o.received)
        );
        assert_eq!(rs[0].status_line, TIMEOUT, "slow client {i}");
    }
    // And the server is still fine.
    let (r, _) = timed_get(addr, "/index.html");
    assert_ok(&r, INDEX);
}

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

#[test]
fn a_client_that_never_reads_is_abandoned_after_the_write_timeout() {
    let _serial = serial();
    const BIG: u64 = 64 << 20;
    let dir = site(&[("small.txt", SMALL)]);
    std::fs::File::create(dir.path().join("big.bin"))
        .and_then(|f| f.set_len(BIG))
        .expect("sparse file");
    let server = Server::start(dir.path(), &["--threads", "1", "--write-timeout", "1s"]);

    let mut slow = connect_small_rcvbuf(server.addr, 16 * 1024);
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

#[test]
fn a_body_trickled_slower_than_the_body_timeout_gets_408_while_a_steady_one_is_served() {
    let _serial = serial();
    let dir = site(&[("small.txt", SMALL)]);
    // Progress alone is judged here: no minimum rate (see regressions for it).
    let server = Server::start(
        dir.path(),
        &[
            "--threads",
            "2",
            "--body-timeout",
            "1s",
            "--linger-timeout",
            "500ms",
            "--min-body-rate",
            "0",
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

/// Sends `head`, then `piece` every 300 ms (so the body always progresses
/// within --body-timeout) until the server closes: what it sent, and when
/// it closed, from the head.
fn drip_until_closed(addr: SocketAddr, head: &[u8], piece: &[u8]) -> (Vec<u8>, Duration) {
    let mut c = connect(addr);
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let start = Instant::now();
    c.write_all(head).expect("write head");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..30 {
        match c.read(&mut buf) {
            Ok(0) => return (got, start.elapsed()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if c.write_all(piece).is_err() {
                    return (got, start.elapsed());
                }
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (got, start.elapsed()),
            Err(e) => panic!("read error instead of a close: {e}"),
        }
    }
    panic!(
        "still open after 30 pieces; got {:?}",
        String::from_utf8_lossy(&got)
    );
}

/// --min-body-rate judges chunked bodies, bodies sent after a
/// `100 Continue`, and HEAD requests' bodies alike: a body that progresses
/// every 300 ms but averages far below 1024 bytes/s gets 408 and a close
/// at the end of its --body-timeout window (a HEAD's 408 without content).
#[test]
fn a_body_below_the_minimum_rate_gets_408_whatever_its_framing() {
    let _serial = serial();
    let dir = site(&[("small.txt", SMALL)]);
    let server = Server::start(dir.path(), &["--body-timeout", "1s"]);
    let cases: &[(&str, &[u8], &[u8], bool)] = &[
        (
            "chunked",
            b"POST /small.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"1\r\nx\r\n",
            false,
        ),
        (
            "after 100 Continue",
            b"POST /small.txt HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n",
            b"x",
            false,
        ),
        (
            "HEAD with a body",
            b"HEAD /small.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n",
            b"x",
            true,
        ),
    ];
    table(
        cases,
        |c| c.0.to_string(),
        |&(name, head, piece, head_request)| {
            let (got, took) = drip_until_closed(server.addr, head, piece);
            let mut rs = parse_all(&got, &[head_request]);
            if name == "after 100 Continue" {
                assert_eq!(rs[0].status_line, "HTTP/1.1 100 Continue");
                rs.remove(0);
            }
            assert_eq!(rs.len(), 1, "{:?}", String::from_utf8_lossy(&got));
            assert_eq!(rs[0].status_line, TIMEOUT);
            assert_eq!(rs[0].header("Connection"), Some("close"));
            if head_request {
                let end = head_end(&got).expect("head");
                assert_eq!(got.len(), end, "content after a HEAD's 408");
            }
            assert!(
                took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
                "closed {took:?} after the head; the window is 1 s"
            );
        },
    );
    assert_ok(&fetch(server.addr, "/small.txt"), SMALL);
}

/// A HEAD whose head stops arriving gets the header timeout's 408 as a
/// head only (RFC 9110 §9.3.2), then a close.
#[test]
fn a_head_that_stalls_gets_a_408_head_without_content() {
    let t = Site::standard();
    let s = Server::start(t.path(), &["--header-timeout", "1s"]);
    let mut c = s.connect();
    c.write_all(b"HEAD /a.txt HTTP/1.1\r\nHost: t\r\n")
        .expect("write");
    let got = read_to_close(&mut c);
    let end = head_end(&got).expect("a response head");
    let head = String::from_utf8_lossy(&got[..end]);
    assert!(head.starts_with(&format!("{TIMEOUT}\r\n")), "{head}");
    assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
    assert_eq!(
        String::from_utf8_lossy(&got[end..]),
        "",
        "content after the head"
    );
}
