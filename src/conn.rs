//! One client connection: read → parse → respond → keep alive or close.
//!
//! ```text
//! Idle ──byte──▶ Head ──complete──▶ (Body: discard) ──▶ respond ──▶ Idle
//!                  │ limit/garbage/timeout                 │ EAGAIN
//!                  └──▶ error reply, close ──▶ Linger      └──▶ Write ──done──▶ Idle
//! ```
//! Every state has a deadline. A connection never blocks its worker: all
//! sockets are nonblocking and a short write parks the rest of the response
//! on the connection until epoll reports it writable.
//!
//! Input is read into the worker's scratch buffer; only bytes left over (a
//! partial head, pipelined requests behind a blocked write) are copied into
//! the connection's own buffer, which is freed once drained, so an idle
//! connection owns no buffer.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::time::Instant;

use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags, Shutdown};

use crate::cli::Config;
use crate::http::encoding::Coding;
use crate::http::range::ByteRange;
use crate::http::{FileReply, Plan};
use crate::log::{AccessLog, ReqLine};
use crate::request::{
    self, BodyFraming, ChunkError, ChunkedDecoder, Limits, Method, Request, RequestError,
};
use crate::resolve::{CachedFile, Reply, Resolver, Root};
use crate::response::{ALLOW, HeadWriter, Persist, Preamble, Status};

/// Most bytes one `sendfile` call is asked for, and most sent for one
/// connection per wake-up, so one fast reader of a huge file cannot hog
/// its worker.
const SENDFILE_CHUNK: usize = 1 << 20;
const SENDFILE_BUDGET: u64 = 4 << 20;
/// Staged output beyond which pipelined requests wait until it is written.
const OUT_HIGH_WATER: usize = 128 * 1024;

/// Per-worker state shared by its connections.
pub struct Ctx {
    pub cfg: Rc<Config>,
    pub root: std::sync::Arc<Root>,
    pub limits: Limits,
    pub now: Instant,
    /// Date, extra fields and custom pages shared by every head.
    pub head: Preamble,
    pub resolver: Resolver,
    pub log: AccessLog,
    /// Input scratch: a whole read lands here first.
    pub scratch: Box<[u8]>,
    /// Output staging: heads and small bodies, written once per batch.
    pub out: Vec<u8>,
    /// Set once shutdown begins: every response closes its connection.
    pub draining: bool,
    /// `Cache-Control` for file responses (--cache-control / --no-cache).
    pub cache_control: Option<Box<[u8]>>,
}

/// What the worker should do with the connection after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep it; `interest` says what to wait for.
    Wait(Interest),
    /// Close it now.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    Read,
    Write,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between requests (keep-alive idle).
    Idle,
    /// Some of a head has arrived.
    Head,
    /// Discarding a request body; the reply waits in `deferred`.
    Body,
    /// Blocked writing a response.
    Write,
    /// Response done, write side shut: draining input until EOF.
    Linger,
}

enum BodyLeft {
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// A reply decided before the request body was read.
struct Deferred {
    reply: Reply,
    head_only: bool,
    persist: Persist,
    /// For the access log, once the request buffer is gone.
    line: OwnedLine,
}

struct OwnedLine {
    method: String,
    target: String,
    version: &'static str,
}

impl OwnedLine {
    fn as_line(&self) -> ReqLine<'_> {
        ReqLine {
            method: &self.method,
            target: &self.target,
            version: self.version,
        }
    }
}

/// A large file body still to go out: file ranges by sendfile, with the
/// part headers of a multipart response between them.
struct FileBody {
    file: Rc<CachedFile>,
    segments: VecDeque<Segment>,
}

/// Why [`Conn::send_body`] stopped before the end.
enum Stop {
    /// The socket is full: wait for EPOLLOUT.
    Blocked,
    /// This wake-up's budget is spent: come back on the next EPOLLOUT.
    Yield,
    /// The send failed, or the file shrank: end the connection.
    Close,
}

enum Segment {
    Bytes {
        data: Vec<u8>,
        pos: usize,
    },
    /// `pos..end` of the file.
    File {
        pos: u64,
        end: u64,
    },
}

pub struct Conn {
    sock: OwnedFd,
    peer: SocketAddr,
    state: State,
    /// Unparsed input kept between reads.
    buf: Vec<u8>,
    /// Unsent response bytes, when a write would have blocked.
    pending: Vec<u8>,
    pending_pos: usize,
    file: Option<FileBody>,
    body: Option<BodyLeft>,
    deferred: Option<Deferred>,
    /// The current response is the last: linger-close after it.
    closing: bool,
    /// A write failed mid-batch: close without sending anything more.
    failed: bool,
    /// The last request asked for the close (`Connection: close`, HTTP/1.0).
    client_closes: bool,
    /// Over --max-connections: gets a 503 and is not counted.
    pub rejected: bool,
    pub deadline: Instant,
    /// When the current request's first byte arrived.
    started: Instant,
}

impl Conn {
    /// `rejected`: over --max-connections, to get a 503 ([`Conn::reject`]).
    pub fn new(sock: OwnedFd, peer: SocketAddr, rejected: bool, cx: &Ctx) -> Conn {
        Conn {
            sock,
            peer,
            state: State::Idle,
            buf: Vec::new(),
            pending: Vec::new(),
            pending_pos: 0,
            file: None,
            body: None,
            deferred: None,
            closing: false,
            failed: false,
            client_closes: false,
            rejected,
            deadline: cx.now + cx.cfg.keepalive_timeout,
            started: cx.now,
        }
    }

    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// Whether the connection may simply be dropped at shutdown: no
    /// response in flight that a client is waiting on.
    pub fn is_idle(&self) -> bool {
        // Lingering connections are not idle: dropping one early could
        // reset away the response the client is still reading.
        matches!(self.state, State::Idle | State::Head)
            && self.pending.is_empty()
            && self.file.is_none()
    }

    /// A new connection beyond the limit: answer 503, then linger-close.
    pub fn reject(&mut self, cx: &mut Ctx) -> Flow {
        crate::response::service_unavailable(&mut cx.out, &cx.head);
        self.closing = true;
        self.flush(cx)
    }

    /// The deadline passed. A client that started a request and stalled
    /// gets a best-effort 408 before the close.
    pub fn on_timeout(&mut self, cx: &mut Ctx) {
        if matches!(self.state, State::Head | State::Body) && self.pending.is_empty() {
            self.last_word(Status::RequestTimeout, cx);
        }
    }

    /// After a panic while handling this connection: a best-effort 500
    /// behind whatever complete responses were already staged.
    pub fn on_panic(&mut self, cx: &mut Ctx) {
        if !self.pending.is_empty() || matches!(self.state, State::Write | State::Linger) {
            cx.out.clear();
            return;
        }
        let status = Status::InternalServerError;
        let date = &cx.head.date;
        cx.log
            .record(&self.peer, ReqLine::UNPARSED, status, 0, self.started, date);
        self.last_word(status, cx);
    }

    /// A best-effort closing error page behind whatever complete responses
    /// are staged, in one nonblocking send, just before the close.
    fn last_word(&mut self, status: Status, cx: &mut Ctx) {
        error_reply(&mut cx.out, status, false, Persist::Close, &cx.head);
        let _ = rustix::net::send(
            &self.sock,
            &cx.out,
            SendFlags::NOSIGNAL | SendFlags::DONTWAIT,
        );
        cx.out.clear();
    }

    pub fn on_event(&mut self, cx: &mut Ctx) -> Flow {
        match self.state {
            State::Write => self.flush(cx),
            State::Linger => self.drain_linger(cx),
            State::Idle | State::Head | State::Body => self.on_readable(cx),
        }
    }

    fn on_readable(&mut self, cx: &mut Ctx) -> Flow {
        // Every read lands in the worker's scratch buffer; only what must
        // wait (a partial head, input behind a blocked write) is copied to
        // the connection's own buffer, byte for byte.
        let mut scratch = std::mem::take(&mut cx.scratch);
        let flow = match read(&self.sock, &mut scratch[..]) {
            Err(Errno::AGAIN) => Flow::Wait(Interest::Read),
            Ok(0) | Err(_) => Flow::Close,
            Ok(n) => self.on_bytes(&scratch[..n], cx),
        };
        cx.scratch = scratch;
        flow
    }

    fn on_bytes(&mut self, bytes: &[u8], cx: &mut Ctx) -> Flow {
        if self.buf.is_empty() {
            let consumed = self.process(bytes, cx);
            if !self.closing && !self.failed && consumed < bytes.len() {
                self.buf.extend_from_slice(&bytes[consumed..]);
            }
            return self.after_input(cx);
        }
        self.buf.extend_from_slice(bytes);
        // A head can only complete on a line feed; without one, only the
        // limits need checking. This keeps a byte-at-a-time client from
        // making us re-parse its growing head on every byte.
        if self.state == State::Head && !bytes.contains(&b'\n') {
            return match request::check_partial(&self.buf, &cx.limits) {
                Ok(()) => Flow::Wait(Interest::Read),
                Err(e) => {
                    self.fail(e.status(), cx);
                    self.flush(cx)
                }
            };
        }
        let buf = std::mem::take(&mut self.buf);
        self.on_own_input(buf, cx)
    }

    /// Processes input that was kept in our own buffer; what is left stays.
    fn on_own_input(&mut self, mut buf: Vec<u8>, cx: &mut Ctx) -> Flow {
        let consumed = self.process(&buf, cx);
        if !self.closing && !self.failed && consumed < buf.len() {
            buf.drain(..consumed);
            self.buf = buf;
        }
        self.after_input(cx)
    }

    fn after_input(&mut self, cx: &mut Ctx) -> Flow {
        if self.failed {
            return Flow::Close;
        }
        if self.state == State::Write {
            return Flow::Wait(Interest::Write);
        }
        if self.state == State::Linger {
            return Flow::Wait(Interest::Read);
        }
        self.flush(cx)
    }

    /// Parses and answers as many requests as `input` holds. Returns the
    /// bytes consumed; stops early when a write blocks.
    fn process(&mut self, input: &[u8], cx: &mut Ctx) -> usize {
        let mut at = 0;
        while at < input.len() && !self.closing && !self.failed {
            let data = &input[at..];
            match self.state {
                State::Idle | State::Head => {
                    if self.state == State::Idle {
                        self.state = State::Head;
                        self.started = cx.now;
                        self.deadline = cx.now + cx.cfg.header_timeout;
                    }
                    let mut patched = Vec::new();
                    let mut parsed = request::parse(data, &cx.limits);
                    if let Err(RequestError::NewerMinorVersion { at: minor }) = parsed {
                        // Rare: serve HTTP/1.x (x > 1) as HTTP/1.1 from a
                        // patched copy of the head (at most a head's worth).
                        // `minor` < max_head (parse says 431 otherwise).
                        patched.extend_from_slice(&data[..data.len().min(cx.limits.max_head)]);
                        patched[minor] = b'1';
                        parsed = request::parse(&patched, &cx.limits);
                    }
                    match parsed {
                        Ok(None) => break,
                        Err(e) => self.fail(e.status(), cx),
                        Ok(Some((req, n))) => {
                            at += n;
                            self.on_request(req, cx);
                            if self.state == State::Write {
                                break;
                            }
                            // A client pipelining without reading must not
                            // make us stage unbounded output: write now,
                            // and stop parsing if the socket is full.
                            if cx.out.len() >= OUT_HIGH_WATER {
                                if self.flush(cx) == Flow::Close {
                                    self.failed = true;
                                }
                                if self.state != State::Idle {
                                    break;
                                }
                            }
                        }
                    }
                }
                State::Body => match self.discard_body(data, cx) {
                    Ok(n) => at += n,
                    Err(status) => self.fail(status, cx),
                },
                State::Write | State::Linger => break,
            }
        }
        if self.closing || self.failed {
            // Nothing after a closing response is looked at.
            return input.len();
        }
        at
    }

    fn on_request(&mut self, req: Request<'_>, cx: &mut Ctx) {
        if let Some(p) = cx.cfg.debug_panic_path.as_deref()
            && p == req.path
        {
            panic!("--debug-panic-path {p} requested");
        }
        let head_only = req.method == Method::Head;
        let persist = if cx.draining {
            Persist::Close
        } else {
            req.persist
        };
        // The client itself ends the connection: it sends nothing after this.
        self.client_closes = req.persist == Persist::Close;
        let line = req_line(&req);
        let body = match req.body {
            BodyFraming::None => None,
            BodyFraming::Length(n) if n > cx.cfg.max_body => {
                self.fail_with(Status::ContentTooLarge, line, head_only, cx);
                return;
            }
            BodyFraming::Length(n) => Some(BodyLeft::Length(n)),
            BodyFraming::Chunked => Some(BodyLeft::Chunked(ChunkedDecoder::new(cx.cfg.max_body))),
        };
        let reply = cx.resolver.route(&cx.root, &req, cx.now);
        let Some(body) = body else {
            self.encode(reply, head_only, persist, line, cx);
            self.after_encode(cx);
            return;
        };
        // Read (and drop) the body before answering, so a bad chunk still
        // gets its 400 and the next request is parsed where it starts.
        if req.expect_continue {
            cx.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        self.body = Some(body);
        self.deferred = Some(Deferred {
            reply,
            head_only,
            persist,
            line: OwnedLine {
                method: line.method.to_owned(),
                target: line.target.to_owned(),
                version: version_str(req.version),
            },
        });
        self.state = State::Body;
        self.deadline = cx.now + cx.cfg.body_timeout;
    }

    fn discard_body(&mut self, data: &[u8], cx: &mut Ctx) -> Result<usize, Status> {
        let (used, done) = match self.body.as_mut() {
            Some(BodyLeft::Length(left)) => {
                let take = (*left).min(data.len() as u64);
                *left -= take;
                (take as usize, *left == 0)
            }
            Some(BodyLeft::Chunked(dec)) => {
                let n = dec.feed(data).map_err(|e| match e {
                    ChunkError::Malformed => Status::BadRequest,
                    ChunkError::TooLarge => Status::ContentTooLarge,
                })?;
                (n, dec.is_done())
            }
            None => (0, true),
        };
        self.deadline = cx.now + cx.cfg.body_timeout;
        if done {
            self.body = None;
            if let Some(d) = self.deferred.take() {
                self.encode(d.reply, d.head_only, d.persist, d.line.as_line(), cx);
            }
            self.after_encode(cx);
        }
        Ok(used)
    }

    /// Back to waiting for the next request; a file body goes out now,
    /// before any later pipelined response is staged behind it.
    fn after_encode(&mut self, cx: &mut Ctx) {
        self.state = State::Idle;
        self.deadline = cx.now + cx.cfg.keepalive_timeout;
        if self.file.is_some() && self.flush(cx) == Flow::Close {
            self.failed = true;
        }
    }

    /// An error that ends the connection: reply with `Connection: close`.
    fn fail(&mut self, status: Status, cx: &mut Ctx) {
        match self.deferred.take() {
            Some(d) => self.fail_with(status, d.line.as_line(), d.head_only, cx),
            None => self.fail_with(status, ReqLine::UNPARSED, false, cx),
        }
    }

    fn fail_with(&mut self, status: Status, line: ReqLine<'_>, head_only: bool, cx: &mut Ctx) {
        self.body = None;
        let len = error_reply(&mut cx.out, status, head_only, Persist::Close, &cx.head);
        let bytes = if head_only { 0 } else { len };
        cx.log
            .record(&self.peer, line, status, bytes, self.started, &cx.head.date);
        self.closing = true;
        self.state = State::Idle;
    }

    /// Stages the response head (and a small body) in `cx.out`; a large
    /// body is left in `self.file` for sendfile.
    fn encode(
        &mut self,
        reply: Reply,
        head_only: bool,
        persist: Persist,
        line: ReqLine<'_>,
        cx: &mut Ctx,
    ) {
        if !persist.keeps_alive() {
            self.closing = true;
        }
        if let Reply::File(reply) = reply {
            let (status, len) = self.encode_file(reply, head_only, persist, cx);
            let sent = if head_only { 0 } else { len };
            cx.log
                .record(&self.peer, line, status, sent, self.started, &cx.head.date);
            return;
        }
        let out = &mut cx.out;
        let (status, len) = match reply {
            Reply::File(_) => unreachable!("handled above"),
            Reply::Listing { body, json } => {
                let ctype: &[u8] = if json {
                    b"application/json"
                } else {
                    b"text/html; charset=utf-8"
                };
                let mut head = HeadWriter::new(out, Status::Ok, &cx.head);
                head.field(b"Content-Type", ctype)
                    .field(b"Vary", b"Accept")
                    .content_length(body.len() as u64);
                head.finish(persist);
                if !head_only {
                    out.extend_from_slice(&body);
                }
                (Status::Ok, body.len() as u64)
            }
            Reply::NotModified => {
                HeadWriter::new(out, Status::NotModified, &cx.head).finish(persist);
                (Status::NotModified, 0)
            }
            Reply::Options(preflight) => {
                let mut head = HeadWriter::new(out, Status::NoContent, &cx.head);
                head.field(b"Allow", ALLOW);
                if let Some(lines) = preflight {
                    head.raw(&lines);
                }
                head.finish(persist);
                (Status::NoContent, 0)
            }
            Reply::Redirect(location) => {
                let status = Status::MovedPermanently;
                let page = status.page();
                let mut head = HeadWriter::new(out, status, &cx.head);
                head.field(b"Location", location.as_bytes())
                    .field(b"Content-Type", b"text/html; charset=utf-8")
                    .content_length(page.len() as u64);
                head.finish(persist);
                if !head_only {
                    out.extend_from_slice(page);
                }
                (status, page.len() as u64)
            }
            Reply::Error(status) => (
                status,
                error_reply(out, status, head_only, persist, &cx.head),
            ),
        };
        let sent = if head_only { 0 } else { len };
        cx.log
            .record(&self.peer, line, status, sent, self.started, &cx.head.date);
    }

    /// Stages a file response: 200, 206 (single or multipart), 304, 412
    /// or 416. Returns the status and the body length.
    fn encode_file(
        &mut self,
        reply: FileReply,
        head_only: bool,
        persist: Persist,
        cx: &mut Ctx,
    ) -> (Status, u64) {
        let FileReply {
            file,
            coding,
            vary,
            plan,
        } = reply;
        let out = &mut cx.out;
        let cache_control = cx.cache_control.as_deref();
        let validators = |head: &mut HeadWriter<'_>| {
            head.field(b"Last-Modified", file.last_modified.as_bytes())
                .field(b"ETag", file.etag.as_bytes());
            if let Some(cc) = cache_control {
                head.field(b"Cache-Control", cc);
            }
            if vary {
                head.field(b"Vary", b"Accept-Encoding");
            }
        };
        let ranges = match plan {
            Plan::NotModified => {
                // RFC 9110 §15.4.5: no content; the validators and the
                // fields a 200 would carry for caches.
                let mut head = HeadWriter::new(out, Status::NotModified, &cx.head);
                validators(&mut head);
                head.finish(persist);
                return (Status::NotModified, 0);
            }
            Plan::PreconditionFailed => {
                let status = Status::PreconditionFailed;
                return (
                    status,
                    error_reply(out, status, head_only, persist, &cx.head),
                );
            }
            Plan::Unsatisfiable => {
                let status = Status::RangeNotSatisfiable;
                let page = status.page();
                let mut head = HeadWriter::new(out, status, &cx.head);
                let mut range = b"bytes */".to_vec();
                range.extend_from_slice(itoa::Buffer::new().format(file.len).as_bytes());
                head.field(b"Content-Range", &range)
                    .field(b"Content-Type", b"text/html; charset=utf-8")
                    .content_length(page.len() as u64);
                head.finish(persist);
                if !head_only {
                    out.extend_from_slice(page);
                }
                return (status, page.len() as u64);
            }
            Plan::Full => None,
            Plan::Partial(ranges) => Some(ranges),
        };
        let status = if ranges.is_some() {
            Status::PartialContent
        } else {
            Status::Ok
        };
        let mut head = HeadWriter::new(out, status, &cx.head);
        validators(&mut head);
        head.field(b"Accept-Ranges", b"bytes");
        if coding != Coding::Identity {
            head.field(b"Content-Encoding", coding.token());
        }
        let Some(ranges) = ranges else {
            head.field(b"Content-Type", file.content_type.as_bytes())
                .content_length(file.len);
            head.finish(persist);
            let len = file.len;
            if !head_only && len > 0 {
                let whole = ByteRange {
                    first: 0,
                    last: len - 1,
                };
                self.stage_body(file, vec![whole], None, out);
            }
            return (status, len);
        };
        if let [range] = ranges[..] {
            head.field(b"Content-Type", file.content_type.as_bytes())
                .field(b"Content-Range", &content_range(range, file.len))
                .content_length(range.length());
            head.finish(persist);
            if !head_only {
                self.stage_body(file, ranges, None, out);
            }
            return (status, range.length());
        }
        // multipart/byteranges (RFC 9110 §14.6).
        let boundary = boundary();
        let mut ctype = b"multipart/byteranges; boundary=".to_vec();
        ctype.extend_from_slice(&boundary);
        let parts: Vec<Vec<u8>> = ranges
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut p = Vec::with_capacity(128);
                if i > 0 {
                    p.extend_from_slice(b"\r\n");
                }
                p.extend_from_slice(b"--");
                p.extend_from_slice(&boundary);
                p.extend_from_slice(b"\r\nContent-Type: ");
                p.extend_from_slice(file.content_type.as_bytes());
                p.extend_from_slice(b"\r\nContent-Range: ");
                p.extend_from_slice(&content_range(*r, file.len));
                p.extend_from_slice(b"\r\n\r\n");
                p
            })
            .collect();
        let mut closing = b"\r\n--".to_vec();
        closing.extend_from_slice(&boundary);
        closing.extend_from_slice(b"--\r\n");
        let len = parts.iter().map(|p| p.len() as u64).sum::<u64>()
            + ranges.iter().map(|r| r.length()).sum::<u64>()
            + closing.len() as u64;
        head.field(b"Content-Type", &ctype).content_length(len);
        head.finish(persist);
        if !head_only {
            self.stage_body(file, ranges, Some((parts, closing)), out);
        }
        (status, len)
    }

    /// Queues the body: copied into `out` for a file held in memory, else
    /// as segments for sendfile, part headers between them.
    fn stage_body(
        &mut self,
        file: Rc<CachedFile>,
        ranges: Vec<ByteRange>,
        multipart: Option<(Vec<Vec<u8>>, Vec<u8>)>,
        out: &mut Vec<u8>,
    ) {
        let (parts, closing) = match multipart {
            Some((parts, closing)) => (Some(parts), Some(closing)),
            None => (None, None),
        };
        if let Some(bytes) = &file.bytes {
            for (i, r) in ranges.iter().enumerate() {
                if let Some(parts) = &parts {
                    out.extend_from_slice(&parts[i]);
                }
                out.extend_from_slice(&bytes[r.first as usize..=r.last as usize]);
            }
            if let Some(closing) = closing {
                out.extend_from_slice(&closing);
            }
            return;
        }
        let mut segments = VecDeque::with_capacity(ranges.len() * 2 + 1);
        let mut parts = parts.map(Vec::into_iter);
        for r in &ranges {
            if let Some(head) = parts.as_mut().and_then(Iterator::next) {
                segments.push_back(Segment::Bytes { data: head, pos: 0 });
            }
            segments.push_back(Segment::File {
                pos: r.first,
                end: r.last + 1,
            });
        }
        if let Some(closing) = closing {
            segments.push_back(Segment::Bytes {
                data: closing,
                pos: 0,
            });
        }
        self.file = Some(FileBody { file, segments });
    }

    /// Writes staged output, then a file body. Returns what to wait for.
    fn flush(&mut self, cx: &mut Ctx) -> Flow {
        if !cx.out.is_empty() {
            if self.pending.is_empty() {
                let more = more_flag(self.file.is_some());
                match send_all(&self.sock, &cx.out, more) {
                    Ok(n) if n == cx.out.len() => cx.out.clear(),
                    Ok(n) => {
                        self.pending.extend_from_slice(&cx.out[n..]);
                        cx.out.clear();
                        return self.blocked(cx);
                    }
                    Err(_) => {
                        cx.out.clear();
                        return Flow::Close;
                    }
                }
            } else {
                // Anything newly staged queues behind what is pending.
                self.pending.extend_from_slice(&cx.out);
                cx.out.clear();
            }
        }
        if !self.pending.is_empty() {
            let more = more_flag(self.file.is_some());
            match send_all(&self.sock, &self.pending[self.pending_pos..], more) {
                Ok(n) => {
                    self.pending_pos += n;
                    if n > 0 {
                        self.deadline = cx.now + cx.cfg.write_timeout;
                    }
                    if self.pending_pos < self.pending.len() {
                        return self.blocked(cx);
                    }
                    self.pending = Vec::new();
                    self.pending_pos = 0;
                }
                Err(_) => return Flow::Close,
            }
        }
        if self.file.is_some() {
            match self.send_body(cx) {
                Ok(()) => self.file = None,
                Err(Stop::Blocked) => return self.blocked(cx),
                Err(Stop::Yield) => {
                    // Let other connections run; level-triggered EPOLLOUT
                    // brings us straight back.
                    self.state = State::Write;
                    return Flow::Wait(Interest::Write);
                }
                Err(Stop::Close) => return Flow::Close,
            }
        }
        self.response_done(cx)
    }

    /// Sends the body segments in order, until done or told to stop.
    fn send_body(&mut self, cx: &Ctx) -> Result<(), Stop> {
        let mut budget = SENDFILE_BUDGET;
        let Some(body) = self.file.as_mut() else {
            return Ok(());
        };
        loop {
            let more = more_flag(body.segments.len() > 1);
            let Some(segment) = body.segments.front_mut() else {
                break;
            };
            match segment {
                Segment::Bytes { data, pos } => {
                    let n = send_all(&self.sock, &data[*pos..], more).map_err(|_| Stop::Close)?;
                    *pos += n;
                    if n > 0 {
                        self.deadline = cx.now + cx.cfg.write_timeout;
                    }
                    if *pos < data.len() {
                        return Err(Stop::Blocked);
                    }
                }
                Segment::File { pos, end } => {
                    while *pos < *end {
                        let want = (*end - *pos).min(SENDFILE_CHUNK as u64) as usize;
                        let mut offset = *pos;
                        match rustix::fs::sendfile(
                            &self.sock,
                            &body.file.file,
                            Some(&mut offset),
                            want,
                        ) {
                            // The file shrank under us: the promised length
                            // can't be met, so the connection has to end.
                            Ok(0) => return Err(Stop::Close),
                            Ok(n) => {
                                *pos += n as u64;
                                self.deadline = cx.now + cx.cfg.write_timeout;
                                budget = budget.saturating_sub(n as u64);
                                if budget == 0 && *pos < *end {
                                    return Err(Stop::Yield);
                                }
                            }
                            Err(Errno::AGAIN) => return Err(Stop::Blocked),
                            Err(Errno::INTR) => {}
                            Err(_) => return Err(Stop::Close),
                        }
                    }
                }
            }
            body.segments.pop_front();
        }
        Ok(())
    }

    fn blocked(&mut self, cx: &Ctx) -> Flow {
        if self.state != State::Write {
            self.deadline = cx.now + cx.cfg.write_timeout;
            self.state = State::Write;
        }
        Flow::Wait(Interest::Write)
    }

    /// Everything staged is out. Close, or carry on with buffered input.
    fn response_done(&mut self, cx: &mut Ctx) -> Flow {
        if self.closing {
            // A client that asked for the close and has nothing more in
            // flight can't be reset by our close: skip the lingering.
            if self.client_closes && self.buf.is_empty() && !self.input_waiting() {
                return Flow::Close;
            }
            return self.start_linger(cx);
        }
        if self.state == State::Write {
            if self.body.is_some() {
                self.state = State::Body;
                self.deadline = cx.now + cx.cfg.body_timeout;
            } else {
                self.state = State::Idle;
                self.deadline = cx.now + cx.cfg.keepalive_timeout;
            }
            if !self.buf.is_empty() {
                // Pipelined requests waited behind the blocked write.
                let buf = std::mem::take(&mut self.buf);
                return self.on_own_input(buf, cx);
            }
        }
        if cx.draining && self.state == State::Idle && self.buf.is_empty() {
            return Flow::Close;
        }
        Flow::Wait(Interest::Read)
    }

    /// Whether unread bytes sit in the socket (one nonblocking peek).
    fn input_waiting(&self) -> bool {
        let mut byte = [0u8; 1];
        let flags = RecvFlags::PEEK | RecvFlags::DONTWAIT;
        matches!(rustix::net::recv(&self.sock, &mut byte, flags), Ok((n, _)) if n > 0)
    }

    /// Shut our side, then read and drop what the client still sends until
    /// it closes or the linger deadline passes, so a client with more in
    /// flight reads our last response instead of a reset.
    fn start_linger(&mut self, cx: &Ctx) -> Flow {
        self.buf = Vec::new();
        if rustix::net::shutdown(&self.sock, Shutdown::Write).is_err() {
            return Flow::Close;
        }
        self.state = State::Linger;
        self.deadline = cx.now + cx.cfg.linger_timeout;
        Flow::Wait(Interest::Read)
    }

    fn drain_linger(&mut self, cx: &mut Ctx) -> Flow {
        for _ in 0..16 {
            match read(&self.sock, &mut cx.scratch[..]) {
                Err(Errno::AGAIN) => return Flow::Wait(Interest::Read),
                Ok(0) | Err(_) => return Flow::Close,
                Ok(n) if n < cx.scratch.len() => return Flow::Wait(Interest::Read),
                Ok(_) => {}
            }
        }
        Flow::Wait(Interest::Read)
    }
}

/// `bytes first-last/len`
fn content_range(r: ByteRange, len: u64) -> Vec<u8> {
    let mut v = b"bytes ".to_vec();
    let mut n = itoa::Buffer::new();
    v.extend_from_slice(n.format(r.first).as_bytes());
    v.push(b'-');
    v.extend_from_slice(n.format(r.last).as_bytes());
    v.push(b'/');
    v.extend_from_slice(n.format(len).as_bytes());
    v
}

/// A random multipart boundary: 16 hex digits from the kernel's CSPRNG, so
/// no file's content can be crafted to contain it.
fn boundary() -> Vec<u8> {
    let mut raw = [0u8; 8];
    if rustix::rand::getrandom(&mut raw, rustix::rand::GetRandomFlags::empty()).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        raw = t.to_le_bytes();
    }
    let mut out = b"ferry-".to_vec();
    for b in raw {
        out.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    out
}

fn more_flag(file_follows: bool) -> SendFlags {
    if file_follows {
        SendFlags::MORE
    } else {
        SendFlags::empty()
    }
}

fn req_line<'a>(req: &Request<'a>) -> ReqLine<'a> {
    ReqLine {
        method: req.method_str,
        target: req.target,
        version: version_str(req.version),
    }
}

fn version_str(v: request::Version) -> &'static str {
    match v {
        request::Version::Http10 => "HTTP/1.0",
        request::Version::Http11 => "HTTP/1.1",
    }
}

/// Nonblocking read; `Err` for EOF-like failures, `Ok(0)` on EOF.
fn read(sock: &OwnedFd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        match rustix::io::read(sock, &mut *buf) {
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => return Err(Errno::AGAIN),
            other => return other,
        }
    }
}

/// Nonblocking send of as much of `buf` as the socket takes.
fn send_all(sock: &OwnedFd, buf: &[u8], flags: SendFlags) -> Result<usize, Errno> {
    let mut sent = 0;
    while sent < buf.len() {
        match rustix::net::send(sock, &buf[sent..], flags | SendFlags::NOSIGNAL) {
            Ok(n) => sent += n,
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

/// Stages an error page (no body for HEAD). Returns the page's length
/// (the custom 404 page's, if one is set).
fn error_reply(
    out: &mut Vec<u8>,
    status: Status,
    head_only: bool,
    persist: Persist,
    pre: &Preamble,
) -> u64 {
    let (page, ctype): (&[u8], &[u8]) = match &pre.not_found {
        Some(custom) if status == Status::NotFound => {
            (&custom.body, custom.content_type.as_bytes())
        }
        _ => (status.page(), b"text/html; charset=utf-8"),
    };
    let mut head = HeadWriter::new(out, status, pre);
    if status == Status::MethodNotAllowed {
        head.field(b"Allow", ALLOW);
    }
    head.field(b"Content-Type", ctype)
        .content_length(page.len() as u64);
    head.finish(persist);
    if !head_only {
        out.extend_from_slice(page);
    }
    page.len() as u64
}
