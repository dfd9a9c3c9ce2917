//! Access log: one line per request to stderr, buffered per worker and
//! written when the buffer fills or a second has passed, so logging does not
//! cost a syscall per request.
//!
//! ```text
//! [Wed, 25 Nov 2026 15:44:01 GMT] 127.0.0.1:50312 "GET /index.html HTTP/1.1" 200 1234 0.081ms
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::response::{DateCache, Status};

const FLUSH_BYTES: usize = 32 * 1024;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The parts of a request line the log shows.
#[derive(Debug, Clone, Copy)]
pub struct ReqLine<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub version: &'a str,
}

impl ReqLine<'static> {
    /// For a request that could not be parsed.
    pub const UNPARSED: ReqLine<'static> = ReqLine {
        method: "-",
        target: "-",
        version: "-",
    };
}

pub struct AccessLog {
    enabled: bool,
    buf: Vec<u8>,
    last_flush: Instant,
}

impl AccessLog {
    pub fn new(enabled: bool) -> Self {
        AccessLog {
            enabled,
            buf: Vec::with_capacity(if enabled { FLUSH_BYTES + 1024 } else { 0 }),
            last_flush: Instant::now(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
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
        if !self.enabled {
            return;
        }
        let now = Instant::now();
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

    pub fn flush(&mut self, now: Instant) {
        self.last_flush = now;
        if self.buf.is_empty() {
            return;
        }
        // One write under stderr's lock: lines from workers never interleave.
        let _ = std::io::stderr().lock().write_all(&self.buf);
        self.buf.clear();
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
        let mut log = AccessLog::new(true);
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
}
