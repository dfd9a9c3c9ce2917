//! Everything ferry says on stderr once it serves: the access log (one
//! line per request, buffered per worker and handed over when the buffer
//! fills or a second has passed, so logging costs no syscall per request)
//! and notes from any thread ([`note`]). One thread does all the writing:
//! a stderr that blocks (a full pipe, a stopped terminal) or is gone (a
//! closed pipe) costs dropped lines, counted and reported, never a stalled
//! or crashed worker or acceptor, and shutdown waits for it only briefly.
//!
//! ```text
//! [Wed, 25 Nov 2026 15:44:01 GMT] 127.0.0.1:50312 "GET /index.html HTTP/1.1" 200 1234 0.081ms
//! ```

use std::fmt::Display;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::h1::{DateCache, Request};
use crate::http::Status;

const FLUSH_BYTES: usize = 32 * 1024;
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Buffers queued for the writer thread before lines are dropped.
const QUEUE: usize = 64;

enum Msg {
    Lines(Vec<u8>),
    /// Write what came before, then stop.
    Finish,
}

/// The writer thread's end of the log: workers send it whole buffers.
#[derive(Clone)]
pub struct Sink {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl Sink {
    /// Queues `buf` without ever blocking; a full queue drops it.
    fn send(&self, buf: Vec<u8>, lines: u64) -> Result<(), Vec<u8>> {
        match self.tx.try_send(Msg::Lines(buf)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(msg) | TrySendError::Disconnected(msg)) => {
                self.dropped.fetch_add(lines, Ordering::Relaxed);
                match msg {
                    Msg::Lines(back) => Err(back),
                    Msg::Finish => Err(Vec::new()),
                }
            }
        }
    }
}

/// The process's stderr writer, for the notes of every thread.
static WRITER: OnceLock<Sink> = OnceLock::new();

/// The handle main keeps to finish the writer at exit.
pub struct Writer {
    sink: Sink,
    done: Receiver<()>,
}

/// Starts the writer thread (once per process) and routes [`note`]s to it.
pub fn start_writer() -> std::io::Result<Writer> {
    let (tx, rx) = sync_channel::<Msg>(QUEUE);
    let (done_tx, done_rx) = sync_channel(1);
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&dropped);
    std::thread::Builder::new()
        .name("ferry-log".into())
        .spawn(move || {
            for msg in rx {
                let Msg::Lines(buf) = msg else { break };
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(&buf);
                let lost = counter.swap(0, Ordering::Relaxed);
                if lost > 0 {
                    let _ = writeln!(err, "ferry: {lost} log lines dropped (stderr too slow)");
                }
            }
            let _ = done_tx.send(());
        })?;
    let sink = Sink { tx, dropped };
    let _ = WRITER.set(sink.clone());
    Ok(Writer {
        sink,
        done: done_rx,
    })
}

impl Writer {
    /// A sink for a worker's access log.
    pub fn sink(&self) -> Sink {
        self.sink.clone()
    }

    /// Lets queued lines out, waiting at most `limit` for a slow stderr.
    pub fn finish(self, limit: Duration) {
        if self.sink.tx.try_send(Msg::Finish).is_ok() {
            let _ = self.done.recv_timeout(limit);
        }
    }
}

/// Says `ferry: MSG` on stderr without blocking or panicking, whatever
/// stderr is: through the writer thread once it runs, directly before.
pub fn note(msg: impl Display) {
    let line = format!("ferry: {msg}\n").into_bytes();
    match WRITER.get() {
        Some(sink) => {
            let _ = sink.send(line, 1);
        }
        None => {
            let _ = std::io::stderr().write_all(&line);
        }
    }
}

/// Says `ferry: MSG` on stderr at once, in order with stdout, never
/// panicking: for startup, before anything is served or accepted.
pub fn note_now(msg: impl Display) {
    let _ = writeln!(std::io::stderr(), "ferry: {msg}");
}

/// The parts of a request line the log shows.
#[derive(Debug, Clone, Copy)]
pub struct ReqLine<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub version: &'a str,
}

impl<'a> ReqLine<'a> {
    /// A parsed request's line.
    pub fn of(req: &Request<'a>) -> ReqLine<'a> {
        ReqLine {
            method: req.method_str,
            target: req.target,
            version: req.version.as_str(),
        }
    }

    /// A copy that outlives the request's bytes.
    pub fn to_owned(self) -> OwnedReqLine {
        OwnedReqLine {
            method: self.method.to_owned(),
            target: self.target.to_owned(),
            version: self.version.to_owned(),
        }
    }
}

/// A request line kept while its request's body is read.
#[derive(Debug, Clone)]
pub struct OwnedReqLine {
    method: String,
    target: String,
    version: String,
}

impl OwnedReqLine {
    pub fn as_line(&self) -> ReqLine<'_> {
        ReqLine {
            method: &self.method,
            target: &self.target,
            version: &self.version,
        }
    }
}

impl ReqLine<'static> {
    /// For a request that could not be parsed.
    pub const UNPARSED: ReqLine<'static> = ReqLine {
        method: "-",
        target: "-",
        version: "-",
    };
}

/// A worker's log buffer.
pub struct AccessLog {
    sink: Option<Sink>,
    buf: Vec<u8>,
    lines: u64,
    last_flush: Instant,
}

impl AccessLog {
    /// `None`: logging is off (`--quiet`).
    pub fn new(sink: Option<Sink>) -> Self {
        AccessLog {
            buf: Vec::with_capacity(if sink.is_some() {
                FLUSH_BYTES + 1024
            } else {
                0
            }),
            sink,
            lines: 0,
            last_flush: Instant::now(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        peer: &SocketAddr,
        req: ReqLine<'_>,
        status: Status,
        bytes: u64,
        started: Instant,
        date: &DateCache,
    ) {
        if self.sink.is_none() {
            return;
        }
        let now = Instant::now();
        self.lines += 1;
        let b = &mut self.buf;
        b.push(b'[');
        b.extend_from_slice(date.as_bytes());
        b.extend_from_slice(b"] ");
        let _ = write!(b, "{peer} \"");
        escape_into(b, req.method);
        b.push(b' ');
        escape_into(b, req.target);
        b.push(b' ');
        escape_into(b, req.version);
        let micros = now.saturating_duration_since(started).as_micros();
        let _ = writeln!(
            b,
            "\" {} {} {}.{:03}ms",
            status.code(),
            bytes,
            micros / 1000,
            micros % 1000
        );
        if b.len() >= FLUSH_BYTES {
            self.flush(now);
        }
    }

    /// Writes out lines older than a second.
    pub fn flush_if_due(&mut self, now: Instant) {
        if !self.buf.is_empty() && now.saturating_duration_since(self.last_flush) >= FLUSH_EVERY {
            self.flush(now);
        }
    }

    /// Whether lines are waiting (the worker then wakes within a second).
    pub fn has_pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Hands the buffer to the writer thread, without ever blocking.
    pub fn flush(&mut self, now: Instant) {
        self.last_flush = now;
        let Some(sink) = &self.sink else { return };
        if self.buf.is_empty() {
            return;
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(FLUSH_BYTES + 1024));
        let lines = std::mem::take(&mut self.lines);
        if let Err(mut back) = sink.send(full, lines) {
            back.clear();
            self.buf = back;
        }
    }
}

/// Copies log text, escaping quotes, backslashes and anything not visible
/// ASCII, so a request cannot forge log lines.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    for &c in s.as_bytes() {
        if c == b'"' || c == b'\\' || !(0x21..=0x7e).contains(&c) {
            let _ = write!(out, "\\x{c:02x}");
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_method_target_status_bytes_and_duration() {
        let (tx, _rx) = sync_channel(1);
        let sink = Sink {
            tx,
            dropped: Arc::default(),
        };
        let mut log = AccessLog::new(Some(sink));
        let t = Instant::now();
        let req = ReqLine {
            method: "GET",
            target: "/a\"b",
            version: "HTTP/1.1",
        };
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        log.record(&peer, req, Status::NotFound, 12, t, &DateCache::default());
        let line = String::from_utf8(log.buf.clone()).unwrap();
        assert!(line.starts_with("[") && line.ends_with("ms\n"), "{line}");
        assert!(
            line.contains("] 127.0.0.1:4000 \"GET /a\\x22b HTTP/1.1\" 404 12 "),
            "{line}"
        );
    }

    #[test]
    fn a_full_queue_drops_lines_instead_of_blocking() {
        let (tx, rx) = sync_channel(1);
        let dropped = Arc::new(AtomicU64::new(0));
        let sink = Sink {
            tx,
            dropped: Arc::clone(&dropped),
        };
        let mut log = AccessLog::new(Some(sink));
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let t = Instant::now();
        for _ in 0..3 {
            log.record(
                &peer,
                ReqLine::UNPARSED,
                Status::NotFound,
                0,
                t,
                &DateCache::default(),
            );
            log.flush(t);
        }
        assert_eq!(rx.try_iter().count(), 1);
        assert_eq!(dropped.load(Ordering::Relaxed), 2);
    }
}
