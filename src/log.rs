//! Everything ferry says on stderr once it serves: the access log and notes
//! from any thread ([`note`]). One thread does all the writing: a stderr
//! that blocks (a full pipe, a stopped terminal) or is gone (a closed pipe)
//! costs dropped lines, counted and reported, never a stalled or crashed
//! worker or acceptor, and shutdown waits for it only briefly.
//!
//! The access log has one line per response, made when the response ends:
//! when its last byte is handed to the kernel, or when it is abandoned (the
//! client gone, a write timeout or the minimum send rate, the shutdown
//! deadline), then with the body bytes actually sent and ` aborted`:
//!
//! ```text
//! 2026-11-25T15:44:01.081Z 127.0.0.1:50312 "GET /index.html HTTP/1.1" 200 1234 0.081ms
//! 2026-11-25T15:44:02.532Z 127.0.0.1:50314 "GET /big.iso HTTP/1.1" 200 541696 48.120ms aborted
//! ```
//!
//! Order: a worker appends its lines, with their end times, to its own
//! buffer (no syscall, lock or allocation per request) in the order its
//! responses end, and hands the buffer to the writer once the oldest line
//! is [`HAND_OVER`] old or it holds [`FLUSH_BYTES`]. The writer merges the
//! workers' buffers by end time and writes each line [`REORDER_WINDOW`]
//! after its response ended (or up to [`WRITE_EVERY`] later: due lines are
//! written together): a line of another worker that ended earlier has
//! reached the writer by then and goes first. So lines come out in the
//! order their responses ended, with any number of workers, unless a
//! worker hands its lines over more than the window late (a wake-up of
//! 400 ms); such a line is written when it arrives, never lost. A note
//! ([`note`]) is not held: it goes out as soon as the writer has it, after
//! the lines held that ended before it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt::Display;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::h1::Request;
use crate::http::Status;

/// A worker hands its lines over once they fill this much...
const FLUSH_BYTES: usize = 32 * 1024;
/// ... or once the oldest is this old.
pub const HAND_OVER: Duration = Duration::from_millis(100);
/// How long after its response ended a line is written: long enough for
/// the lines of every worker that ended before it to have been handed over
/// ([`HAND_OVER`], plus 400 ms for a worker's wake-up and scheduling on a
/// loaded machine), short enough to read the log live.
pub const REORDER_WINDOW: Duration = Duration::from_millis(500);
/// The writer wakes for lines coming due at most this often, and writes
/// them together: one write per wake-up, not per line.
const WRITE_EVERY: Duration = Duration::from_millis(50);
/// Buffers queued for the writer thread before lines are dropped.
const QUEUE: usize = 64;
/// Record buffers a worker keeps for its connections' next responses
/// (a connection holds one only while it has responses not yet logged).
const SPARE: usize = 64;
/// A record buffer larger than this (long targets) is freed, not kept.
const SPARE_BYTES: usize = 16 * 1024;
/// The source number of [`note`]s; a worker's lines are its id plus one.
const NOTES: usize = 0;

/// Lines in the order they were made, with the time each was made
/// (microseconds since the epoch: the merge key).
struct Batch {
    source: usize,
    text: Vec<u8>,
    /// Per line: its time and the offset just past it in `text`.
    lines: Vec<(u64, u32)>,
}

enum Msg {
    Lines(Batch),
    /// Write everything held, then stop.
    Finish,
}

/// The writer thread's end of the log: workers send it whole buffers.
#[derive(Clone)]
pub struct Sink {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl Sink {
    /// Queues `batch` without ever blocking; a full queue drops it (and
    /// gives it back for its buffers).
    fn send(&self, batch: Batch) -> Result<(), Batch> {
        let lines = batch.lines.len() as u64;
        match self.tx.try_send(Msg::Lines(batch)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(msg) | TrySendError::Disconnected(msg)) => {
                self.dropped.fetch_add(lines, Ordering::Relaxed);
                match msg {
                    Msg::Lines(back) => Err(back),
                    Msg::Finish => unreachable!("only lines are sent here"),
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
            run_writer(&rx, &counter);
            let _ = done_tx.send(());
        })?;
    let sink = Sink { tx, dropped };
    let _ = WRITER.set(sink.clone());
    Ok(Writer {
        sink,
        done: done_rx,
    })
}

/// The writer thread: takes batches, writes their lines merged by time
/// once they are due, until told to finish (or every sender is gone).
fn run_writer(rx: &Receiver<Msg>, dropped: &AtomicU64) {
    let mut merge = Merge::default();
    let mut out = Vec::new();
    loop {
        let msg = match merge.next_due(now_micros(), Instant::now()) {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(Duration::ZERO) => rx.try_recv().map_err(|e| match e {
                std::sync::mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                std::sync::mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            }),
            Some(wait) => rx.recv_timeout(wait.max(WRITE_EVERY)),
        };
        let finish = match msg {
            Ok(Msg::Lines(batch)) => {
                merge.add(batch, Instant::now());
                false
            }
            Ok(Msg::Finish) | Err(RecvTimeoutError::Disconnected) => true,
            Err(RecvTimeoutError::Timeout) => false,
        };
        merge.take_due(&mut out, now_micros(), Instant::now(), finish);
        if !out.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&out);
            out.clear();
            let lost = dropped.swap(0, Ordering::Relaxed);
            if lost > 0 {
                let _ = writeln!(err, "ferry: {lost} log lines dropped (stderr too slow)");
            }
        }
        if finish {
            return;
        }
    }
}

/// The writer's lines not yet written: per source, its batches in the
/// order they came; a heap of each source's next line by time.
#[derive(Default)]
struct Merge {
    sources: Vec<VecDeque<Held>>,
    next: BinaryHeap<Reverse<(u64, usize)>>,
    /// Lines up to this time are due at once: a note is said as soon as
    /// it is made (a person may be waiting for it, e.g. after Ctrl-C),
    /// after the access lines held that ended before it.
    urgent_until: u64,
}

struct Held {
    batch: Batch,
    /// Its next line to write.
    at: usize,
    arrived: Instant,
}

impl Held {
    fn key(&self) -> u64 {
        self.batch.lines[self.at].0
    }
}

impl Merge {
    fn add(&mut self, batch: Batch, now: Instant) {
        if batch.lines.is_empty() {
            return;
        }
        let s = batch.source;
        if s == NOTES {
            let last = batch.lines.last().map_or(0, |l| l.0);
            self.urgent_until = self.urgent_until.max(last);
        }
        if self.sources.len() <= s {
            self.sources.resize_with(s + 1, VecDeque::new);
        }
        let held = Held {
            batch,
            at: 0,
            arrived: now,
        };
        if self.sources[s].is_empty() {
            self.next.push(Reverse((held.key(), s)));
        }
        self.sources[s].push_back(held);
    }

    /// How long until the earliest line is due; None: nothing is held.
    fn next_due(&self, now_us: u64, now: Instant) -> Option<Duration> {
        let &Reverse((key, s)) = self.next.peek()?;
        if key <= self.urgent_until {
            return Some(Duration::ZERO);
        }
        let window = REORDER_WINDOW.as_micros() as u64;
        let by_time = Duration::from_micros((key + window).saturating_sub(now_us));
        let arrived = self.sources[s].front().map_or(now, |h| h.arrived);
        let by_arrival = (arrived + REORDER_WINDOW).saturating_duration_since(now);
        Some(by_time.min(by_arrival))
    }

    /// Appends to `out` every line due (all of them with `all`), earliest
    /// first. A line is due once its time is a window past, or its batch
    /// arrived a window ago (a clock set back must not hold lines).
    fn take_due(&mut self, out: &mut Vec<u8>, now_us: u64, now: Instant, all: bool) {
        let cutoff = now_us.saturating_sub(REORDER_WINDOW.as_micros() as u64);
        while let Some(&Reverse((key, s))) = self.next.peek() {
            let queue = &mut self.sources[s];
            let Some(held) = queue.front_mut() else {
                self.next.pop();
                continue;
            };
            if !all
                && key > cutoff
                && key > self.urgent_until
                && now.saturating_duration_since(held.arrived) < REORDER_WINDOW
            {
                return;
            }
            self.next.pop();
            let start = match held.at {
                0 => 0,
                i => held.batch.lines[i - 1].1 as usize,
            };
            let end = held.batch.lines[held.at].1 as usize;
            out.extend_from_slice(&held.batch.text[start..end]);
            held.at += 1;
            if held.at == held.batch.lines.len() {
                queue.pop_front();
            }
            if let Some(held) = queue.front() {
                self.next.push(Reverse((held.key(), s)));
            }
        }
    }
}

impl Writer {
    /// A sink for a worker's access log.
    pub fn sink(&self) -> Sink {
        self.sink.clone()
    }

    /// Lets held and queued lines out, waiting at most `limit` for a slow
    /// stderr.
    pub fn finish(self, limit: Duration) {
        if self.sink.tx.try_send(Msg::Finish).is_ok() {
            let _ = self.done.recv_timeout(limit);
        }
    }
}

/// Microseconds since the epoch, now (0 before 1970).
fn now_micros() -> u64 {
    micros(SystemTime::now())
}

fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Says `ferry: MSG` on stderr without blocking or panicking, whatever
/// stderr is: through the writer thread once it runs (at once, after the
/// access-log lines held that ended before it), directly before.
pub fn note(msg: impl Display) {
    let text = format!("ferry: {msg}\n").into_bytes();
    match WRITER.get() {
        Some(sink) => {
            let end = text.len() as u32;
            let _ = sink.send(Batch {
                source: NOTES,
                text,
                lines: vec![(now_micros(), end)],
            });
        }
        None => {
            let _ = std::io::stderr().write_all(&text);
        }
    }
}

/// Says `ferry: MSG` on stderr at once, in order with stdout, never
/// panicking: for startup, before anything is served or accepted.
pub fn note_now(msg: impl Display) {
    let _ = writeln!(std::io::stderr(), "ferry: {msg}");
}

/// Lets a note through at most once per `every` per client address.
/// Memory is bounded: [`NoteLimit::SLOTS`] addresses are remembered; while
/// all of them were noted within `every`, a new address is not noted
/// either, so at most that many such notes are said per `every`.
pub struct NoteLimit {
    every: Duration,
    slots: Mutex<Vec<(IpAddr, Instant)>>,
}

impl NoteLimit {
    pub const SLOTS: usize = 64;

    pub fn new(every: Duration) -> NoteLimit {
        NoteLimit {
            every,
            slots: Mutex::new(Vec::with_capacity(Self::SLOTS)),
        }
    }

    /// Whether to say the note about `addr` now (and if so, remember it).
    pub fn allow(&self, addr: IpAddr, now: Instant) -> bool {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let fresh = |t: Instant| now.saturating_duration_since(t) < self.every;
        if let Some(slot) = slots.iter_mut().find(|(a, _)| *a == addr) {
            if fresh(slot.1) {
                return false;
            }
            slot.1 = now;
            return true;
        }
        if slots.len() < Self::SLOTS {
            slots.push((addr, now));
            return true;
        }
        match slots.iter_mut().find(|(_, t)| !fresh(*t)) {
            Some(slot) => {
                *slot = (addr, now);
                true
            }
            None => false,
        }
    }
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
    /// For a request that could not be parsed, or was never read.
    pub const UNPARSED: ReqLine<'static> = ReqLine {
        method: "-",
        target: "-",
        version: "-",
    };
}

/// A connection's responses staged and not logged yet, oldest first: each
/// is logged when the connection's bytes sent pass its end, or when the
/// connection ends. Positions count every byte the connection staged.
#[derive(Default)]
pub struct Unlogged {
    recs: VecDeque<Rec>,
    /// Their lines' middles, `peer "METHOD target VERSION" status`, one
    /// after the other from `text_at`.
    text: Vec<u8>,
    text_at: usize,
}

struct Rec {
    /// Where its body begins in the connection's output.
    body_start: u64,
    /// Its length; None: an event stream, which ends with its connection.
    body: Option<u64>,
    started: Instant,
    /// Where its middle ends in `text`.
    text_end: usize,
}

impl Unlogged {
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }
}

/// A worker's access log: its lines not yet handed over, and the record
/// buffers its connections borrow.
pub struct AccessLog {
    sink: Option<Sink>,
    source: usize,
    text: Vec<u8>,
    lines: Vec<(u64, u32)>,
    /// When the oldest line not handed over was made.
    oldest: Option<Instant>,
    stamp: Stamp,
    spare: Vec<Unlogged>,
}

impl AccessLog {
    /// `sink` None: logging is off (`--quiet`). `worker`: the worker's id.
    pub fn new(sink: Option<Sink>, worker: usize) -> Self {
        let on = sink.is_some();
        AccessLog {
            sink,
            source: worker + 1,
            text: Vec::with_capacity(if on { FLUSH_BYTES + 1024 } else { 0 }),
            lines: Vec::new(),
            oldest: None,
            stamp: Stamp::default(),
            spare: Vec::new(),
        }
    }

    pub fn is_on(&self) -> bool {
        self.sink.is_some()
    }

    /// Records a response staged on a connection, to be logged when it
    /// ends: its body starts at `body_start` of the connection's output
    /// and is `body` bytes long (None: an event stream).
    #[allow(clippy::too_many_arguments)]
    pub fn stage(
        &mut self,
        u: &mut Unlogged,
        peer: &SocketAddr,
        req: ReqLine<'_>,
        status: Status,
        body_start: u64,
        body: Option<u64>,
        started: Instant,
    ) {
        if self.sink.is_none() {
            return;
        }
        if u.text.capacity() == 0
            && let Some(spare) = self.spare.pop()
        {
            *u = spare;
        }
        let b = &mut u.text;
        let _ = write!(b, "{peer} \"");
        escape_into(b, req.method);
        b.push(b' ');
        escape_into(b, req.target);
        b.push(b' ');
        escape_into(b, req.version);
        b.extend_from_slice(b"\" ");
        b.extend_from_slice(itoa::Buffer::new().format(status.code()).as_bytes());
        u.recs.push_back(Rec {
            body_start,
            body,
            started,
            text_end: b.len(),
        });
    }

    /// Logs the connection's responses whose last byte is out, `sent`
    /// being the bytes it has handed to the kernel.
    pub fn settle(&mut self, u: &mut Unlogged, sent: u64) {
        if u.recs.is_empty() {
            return;
        }
        let mut now = None;
        while let Some(rec) = u.recs.front() {
            let Some(len) = rec.body else { break };
            if sent < rec.body_start + len {
                break;
            }
            let (wall, mono) = *now.get_or_insert_with(|| (SystemTime::now(), Instant::now()));
            self.write_line(u, len, false, wall, mono);
        }
        self.recycle(u);
    }

    /// The connection ends: its responses not logged yet are, with the
    /// body bytes they got out and ` aborted` (an event stream's end is
    /// its connection's: never aborted).
    pub fn abandon(&mut self, u: &mut Unlogged, sent: u64) {
        if u.recs.is_empty() {
            return;
        }
        let (wall, mono) = (SystemTime::now(), Instant::now());
        while let Some(rec) = u.recs.front() {
            let got = sent.saturating_sub(rec.body_start);
            let (bytes, aborted) = match rec.body {
                Some(len) => (got.min(len), sent < rec.body_start + len),
                None => (got, false),
            };
            self.write_line(u, bytes, aborted, wall, mono);
        }
        self.recycle(u);
    }

    /// Appends the first record of `u` as a line ending at `wall`.
    fn write_line(
        &mut self,
        u: &mut Unlogged,
        bytes: u64,
        aborted: bool,
        wall: SystemTime,
        mono: Instant,
    ) {
        let Some(rec) = u.recs.pop_front() else {
            return;
        };
        let key = micros(wall);
        let b = &mut self.text;
        self.stamp.write(key, b);
        b.extend_from_slice(&u.text[u.text_at..rec.text_end]);
        u.text_at = rec.text_end;
        b.push(b' ');
        b.extend_from_slice(itoa::Buffer::new().format(bytes).as_bytes());
        b.push(b' ');
        let took = mono.saturating_duration_since(rec.started).as_micros() as u64;
        b.extend_from_slice(itoa::Buffer::new().format(took / 1000).as_bytes());
        let frac = took % 1000;
        b.extend_from_slice(&[
            b'.',
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
            b'm',
            b's',
        ]);
        if aborted {
            b.extend_from_slice(b" aborted");
        }
        b.push(b'\n');
        self.lines.push((key, b.len() as u32));
        self.oldest.get_or_insert(mono);
        if b.len() >= FLUSH_BYTES {
            self.flush();
        }
    }

    /// A connection with nothing left to log gives its buffers back.
    fn recycle(&mut self, u: &mut Unlogged) {
        if !u.recs.is_empty() {
            return;
        }
        u.text.clear();
        u.text_at = 0;
        if u.text.capacity() == 0 {
            return;
        }
        let spare = std::mem::take(u);
        if self.spare.len() < SPARE && spare.text.capacity() <= SPARE_BYTES {
            self.spare.push(spare);
        }
    }

    /// Hands the lines over if the oldest is [`HAND_OVER`] old.
    pub fn flush_if_due(&mut self, now: Instant) {
        if self
            .oldest
            .is_some_and(|t| now.saturating_duration_since(t) >= HAND_OVER)
        {
            self.flush();
        }
    }

    /// When the lines waiting must be handed over (the worker wakes then).
    pub fn due(&self) -> Option<Instant> {
        self.oldest.map(|t| t + HAND_OVER)
    }

    /// Whether lines are waiting.
    pub fn has_pending(&self) -> bool {
        self.oldest.is_some()
    }

    /// Hands the lines to the writer thread, without ever blocking.
    pub fn flush(&mut self) {
        self.oldest = None;
        let Some(sink) = &self.sink else { return };
        if self.lines.is_empty() {
            return;
        }
        // The next buffer is sized for as much as this one held.
        let size = (self.text.len() + self.text.len() / 4).clamp(1024, FLUSH_BYTES + 1024);
        let batch = Batch {
            source: self.source,
            text: std::mem::replace(&mut self.text, Vec::with_capacity(size)),
            lines: std::mem::replace(&mut self.lines, Vec::with_capacity(size / 64)),
        };
        if let Err(mut back) = sink.send(batch) {
            back.text.clear();
            back.lines.clear();
            self.text = back.text;
            self.lines = back.lines;
        }
    }
}

/// The time of a line, `2026-11-25T15:44:01.081Z` (RFC 3339, UTC, in
/// milliseconds), its seconds rendered once per second.
struct Stamp {
    secs: u64,
    /// `2026-11-25T15:44:01.`
    text: [u8; 20],
}

impl Default for Stamp {
    fn default() -> Self {
        Stamp {
            secs: u64::MAX,
            text: *b"0000-00-00T00:00:00.",
        }
    }
}

impl Stamp {
    /// Appends the time `micros` (since the epoch) and a space.
    fn write(&mut self, micros: u64, out: &mut Vec<u8>) {
        let secs = micros / 1_000_000;
        if secs != self.secs {
            self.secs = secs;
            let s = crate::http::date::rfc3339(secs.min(i64::MAX as u64) as i64);
            if let Some(head) = s.as_bytes().get(..19) {
                self.text[..19].copy_from_slice(head);
            }
        }
        out.extend_from_slice(&self.text);
        let ms = micros / 1000 % 1000;
        out.extend_from_slice(&[
            b'0' + (ms / 100) as u8,
            b'0' + (ms / 10 % 10) as u8,
            b'0' + (ms % 10) as u8,
            b'Z',
            b' ',
        ]);
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

    fn log_with_queue(n: usize) -> (AccessLog, Receiver<Msg>, Arc<AtomicU64>) {
        let (tx, rx) = sync_channel(n);
        let dropped = Arc::new(AtomicU64::new(0));
        let sink = Sink {
            tx,
            dropped: Arc::clone(&dropped),
        };
        (AccessLog::new(Some(sink), 0), rx, dropped)
    }

    fn text(log: &AccessLog) -> String {
        String::from_utf8(log.text.clone()).unwrap()
    }

    const PEER: &str = "127.0.0.1:4000";

    fn stage(log: &mut AccessLog, u: &mut Unlogged, target: &str, at: u64, len: Option<u64>) {
        let req = ReqLine {
            method: "GET",
            target,
            version: "HTTP/1.1",
        };
        let peer: SocketAddr = PEER.parse().unwrap();
        log.stage(u, &peer, req, Status::Ok, at, len, Instant::now());
    }

    #[test]
    fn a_line_is_time_peer_request_status_bytes_duration() {
        let (mut log, _rx, _) = log_with_queue(1);
        let mut u = Unlogged::default();
        let req = ReqLine {
            method: "GET",
            target: "/a\"b\\c\nd",
            version: "HTTP/1.1",
        };
        let peer: SocketAddr = PEER.parse().unwrap();
        log.stage(
            &mut u,
            &peer,
            req,
            Status::NotFound,
            100,
            Some(12),
            Instant::now(),
        );
        log.settle(&mut u, 112);
        let line = text(&log);
        // `2026-11-25T15:44:01.081Z ` is 25 bytes.
        let (stamp, rest) = line.split_at(25);
        let b = stamp.as_bytes();
        assert!(
            b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && stamp.ends_with("Z "),
            "{line}"
        );
        assert!(
            rest.starts_with("127.0.0.1:4000 \"GET /a\\x22b\\x5cc\\x0ad HTTP/1.1\" 404 12 "),
            "{line}"
        );
        assert!(
            rest.ends_with("ms\n") && !rest.contains("aborted"),
            "{line}"
        );
        assert!(u.is_empty());
    }

    #[test]
    fn the_time_has_milliseconds_and_utc() {
        let mut s = Stamp::default();
        let mut out = Vec::new();
        // 1994-11-06T08:49:37Z plus 45.678 ms.
        s.write(784_111_777_045_678, &mut out);
        s.write(784_111_777_999_999, &mut out);
        s.write(784_111_778_000_001, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1994-11-06T08:49:37.045Z 1994-11-06T08:49:37.999Z 1994-11-06T08:49:38.000Z "
        );
    }

    #[test]
    fn a_response_is_logged_when_its_last_byte_is_out() {
        let (mut log, _rx, _) = log_with_queue(1);
        let mut u = Unlogged::default();
        // Two pipelined responses: bodies 100..110 and 150..150 (a HEAD).
        stage(&mut log, &mut u, "/a", 100, Some(10));
        stage(&mut log, &mut u, "/b", 150, Some(0));
        log.settle(&mut u, 109);
        assert_eq!(text(&log), "");
        log.settle(&mut u, 110);
        assert_eq!(text(&log).lines().count(), 1);
        assert!(text(&log).contains("\"GET /a HTTP/1.1\" 200 10 "));
        log.settle(&mut u, 150);
        assert!(text(&log).contains("\"GET /b HTTP/1.1\" 200 0 "));
        assert!(u.is_empty());
    }

    #[test]
    fn an_abandoned_response_logs_the_bytes_sent_and_aborted() {
        let (mut log, _rx, _) = log_with_queue(1);
        let mut u = Unlogged::default();
        stage(&mut log, &mut u, "/big", 200, Some(20_000_000));
        stage(&mut log, &mut u, "/next", 20_000_300, Some(5));
        log.settle(&mut u, 541_896);
        assert_eq!(text(&log), "");
        log.abandon(&mut u, 541_896);
        let all = text(&log);
        let lines: Vec<&str> = all.lines().collect();
        assert!(
            lines[0].contains("\"GET /big HTTP/1.1\" 200 541696 ")
                && lines[0].ends_with("ms aborted"),
            "{all}"
        );
        assert!(
            lines[1].contains("\"GET /next HTTP/1.1\" 200 0 ") && lines[1].ends_with("ms aborted"),
            "{all}"
        );
        // A head cut short: no body bytes, still aborted.
        stage(&mut log, &mut u, "/head", 500, Some(0));
        log.abandon(&mut u, 499);
        assert!(text(&log).lines().nth(2).unwrap().ends_with("ms aborted"));
    }

    #[test]
    fn an_event_stream_is_logged_when_its_connection_ends_never_aborted() {
        let (mut log, _rx, _) = log_with_queue(1);
        let mut u = Unlogged::default();
        stage(&mut log, &mut u, "/.ferry/live", 120, None);
        log.settle(&mut u, 10_000);
        assert_eq!(text(&log), "");
        log.abandon(&mut u, 160);
        let all = text(&log);
        assert!(
            all.contains("\"GET /.ferry/live HTTP/1.1\" 200 40 "),
            "{all}"
        );
        assert!(all.ends_with("ms\n"), "{all}");
    }

    #[test]
    fn record_buffers_are_reused_not_reallocated() {
        let (mut log, _rx, _) = log_with_queue(1);
        let mut u = Unlogged::default();
        stage(&mut log, &mut u, "/a", 0, Some(1));
        log.settle(&mut u, 1);
        assert_eq!(u.text.capacity(), 0, "given back");
        assert_eq!(log.spare.len(), 1);
        let ptr = log.spare[0].text.as_ptr();
        stage(&mut log, &mut u, "/b", 1, Some(1));
        assert_eq!(u.text.as_ptr(), ptr, "the same buffer");
        assert!(log.spare.is_empty());
    }

    #[test]
    fn quiet_stages_nothing() {
        let mut log = AccessLog::new(None, 0);
        let mut u = Unlogged::default();
        stage(&mut log, &mut u, "/a", 0, Some(1));
        assert!(u.is_empty());
        log.abandon(&mut u, 0);
        assert!(!log.has_pending());
    }

    #[test]
    fn a_full_queue_drops_lines_instead_of_blocking() {
        let (mut log, rx, dropped) = log_with_queue(1);
        let mut u = Unlogged::default();
        for _ in 0..3 {
            stage(&mut log, &mut u, "/", 0, Some(0));
            log.settle(&mut u, 0);
            log.flush();
        }
        assert_eq!(rx.try_iter().count(), 1);
        assert_eq!(dropped.load(Ordering::Relaxed), 2);
    }

    fn batch(source: usize, lines: &[(u64, &str)]) -> Batch {
        let mut text = Vec::new();
        let mut index = Vec::new();
        for (key, line) in lines {
            text.extend_from_slice(line.as_bytes());
            text.push(b'\n');
            index.push((*key, text.len() as u32));
        }
        Batch {
            source,
            text,
            lines: index,
        }
    }

    #[test]
    fn the_writer_merges_workers_lines_by_time_after_the_window() {
        let window = REORDER_WINDOW.as_micros() as u64;
        let t = Instant::now();
        let mut m = Merge::default();
        m.add(batch(1, &[(10, "a10"), (40, "a40"), (70, "a70")]), t);
        m.add(batch(2, &[(20, "b20"), (50, "b50")]), t);
        m.add(batch(1, &[(80, "a80")]), t);
        m.add(batch(0, &[(45, "note45")]), t);
        let mut out = Vec::new();
        // Lines younger than the window wait.
        m.take_due(&mut out, 49 + window, t, false);
        assert_eq!(String::from_utf8_lossy(&out), "a10\nb20\na40\nnote45\n");
        assert_eq!(m.next_due(49 + window, t), Some(Duration::from_micros(1)));
        // A late batch of a line that ended earlier than those held.
        m.add(batch(2, &[(60, "b60")]), t);
        out.clear();
        m.take_due(&mut out, 75 + window, t, false);
        assert_eq!(String::from_utf8_lossy(&out), "b50\nb60\na70\n");
        out.clear();
        m.take_due(&mut out, 0, t, true);
        assert_eq!(String::from_utf8_lossy(&out), "a80\n");
        assert_eq!(m.next_due(0, t), None);
    }

    #[test]
    fn a_note_is_due_at_once_after_the_lines_that_ended_before_it() {
        let t = Instant::now();
        let mut m = Merge::default();
        m.add(batch(1, &[(10, "a10"), (30, "a30")]), t);
        m.add(batch(2, &[(20, "b20")]), t);
        assert_eq!(
            m.next_due(31, t),
            Some(REORDER_WINDOW - Duration::from_micros(21))
        );
        m.add(batch(0, &[(25, "draining")]), t);
        assert_eq!(m.next_due(31, t), Some(Duration::ZERO));
        let mut out = Vec::new();
        m.take_due(&mut out, 31, t, false);
        assert_eq!(String::from_utf8_lossy(&out), "a10\nb20\ndraining\n");
        // What ended after the note keeps its window.
        assert_eq!(
            m.next_due(31, t),
            Some(REORDER_WINDOW - Duration::from_micros(1))
        );
    }

    #[test]
    fn a_clock_set_back_holds_lines_no_longer_than_the_window() {
        let t = Instant::now();
        let mut m = Merge::default();
        m.add(batch(1, &[(1_000_000_000, "future")]), t);
        let mut out = Vec::new();
        m.take_due(&mut out, 5, t, false);
        assert!(out.is_empty());
        assert_eq!(m.next_due(5, t), Some(REORDER_WINDOW));
        m.take_due(&mut out, 5, t + REORDER_WINDOW, false);
        assert_eq!(out, b"future\n");
    }

    #[test]
    fn a_note_limit_says_once_per_interval_per_address_within_bounded_slots() {
        let every = Duration::from_secs(60);
        let limit = NoteLimit::new(every);
        let t = Instant::now();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "::1".parse().unwrap();
        assert!(limit.allow(a, t));
        assert!(!limit.allow(a, t + Duration::from_secs(59)));
        assert!(limit.allow(b, t + Duration::from_secs(1)));
        assert!(limit.allow(a, t + every));
        assert!(!limit.allow(a, t + every + Duration::from_secs(1)));
        // Fill every slot: a new address is then not noted until one ages.
        let t2 = t + every * 3;
        for i in 0..NoteLimit::SLOTS as u32 {
            assert!(limit.allow(IpAddr::from((0x0a00_0000 + i).to_be_bytes()), t2));
        }
        let late: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(!limit.allow(late, t2 + Duration::from_secs(1)));
        assert!(limit.allow(late, t2 + every));
        assert!(limit.slots.lock().unwrap().len() <= NoteLimit::SLOTS);
    }
}
