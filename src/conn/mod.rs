//! One client connection: the state machine only. Bytes go to the
//! [`RequestReader`], requests to the site, replies to [`Output`].
//!
//! ```text
//! Idle ──byte──▶ Head ──request──▶ (Body: discard) ──▶ respond ──▶ Idle
//!                  │ limit/garbage/timeout     │ listing     │ socket full
//!                  ▼                           ▼             ▼
//!        error reply ──▶ Linger          Await (job) ──▶ Write ──done──▶ Idle
//! ```
//! Each state carries its payload, and [`Conn::enter`] sets the state's
//! deadline, so every state has one. A connection never blocks its worker:
//! sockets are nonblocking, a short write parks the rest of the response
//! until epoll reports the socket writable, a reply made on the job thread
//! (a listing) parks the connection until it arrives, and a client
//! pipelining many requests is answered [`MAX_REQUESTS_PER_WAKE`] at a time
//! before the others get their turn.
//!
//! Whether the connection ends is decided in one field, [`End`].

pub mod admission;
mod ctx;
pub mod output;

use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::Shutdown;

use crate::h1::{self, Event, Input, Phase, Rejection, Request, RequestReader};
use crate::http::{Method, Persist, Status};
use crate::log::{OwnedReqLine, ReqLine, Unlogged};
use crate::site::Reply;
use crate::site::jobs::Done;
use crate::site::live::Subscription;

pub use admission::{Admission, Admit, Ticket};
pub use ctx::Ctx;
use output::{Output, Sent};

/// Staged output beyond which pipelined requests wait until it is written.
const OUT_HIGH_WATER: usize = 128 * 1024;
/// Requests answered for one connection per wake-up of its worker (all the
/// calls of one wake-up together); then the worker's other connections get
/// their turn, and it is resumed after the next `epoll_wait`.
pub const MAX_REQUESTS_PER_WAKE: usize = 32;

/// What the worker should do with the connection after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep it; `interest` says what to wait for.
    Wait(Interest),
    /// Keep it and call [`Conn::resume`] soon: it has more requests
    /// buffered but used up this wake-up's budget.
    Yield,
    /// Close it now.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    Read,
    Write,
}

enum State {
    /// Between requests (keep-alive idle).
    Idle,
    /// Some of a head has arrived.
    Head,
    /// Discarding a request body; the reply waits until it ends.
    Body(Box<Deferred>),
    /// Waiting for the job thread to make the reply (a listing).
    Await(Box<Deferred>),
    /// Blocked writing; then back to discarding a body, if one was.
    Write(Option<Box<Deferred>>),
    /// Last response out, write side shut: draining input until EOF.
    Linger,
    /// A live-reload event stream: events and heartbeats go out until the
    /// client leaves (or shutdown).
    Stream { _subscription: Subscription },
}

/// How the connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// More requests may follow.
    Open,
    /// The staged response is the last: after it, linger and close.
    AfterResponse,
    /// Nothing more can be sent (a write failed): close at once.
    Now,
}

/// A reply decided before the request body was read, or a request whose
/// reply is being made.
struct Deferred {
    reply: Reply,
    head_only: bool,
    persist: Persist,
    /// For the access log, once the request's bytes are gone.
    line: OwnedReqLine,
}

pub struct Conn {
    /// The slot held against `--max-connections`. First, so it is given
    /// back before the socket closes (fields drop in order): a client that
    /// sees this connection end and connects again at once finds the slot
    /// free, whichever worker accepts it.
    ticket: Ticket,
    sock: OwnedFd,
    peer: SocketAddr,
    /// The worker's name for it (finished jobs are addressed by it).
    token: u64,
    state: State,
    reader: RequestReader,
    output: Output,
    end: End,
    /// The last request asked for the close (`Connection: close`, HTTP/1.0).
    client_closes: bool,
    /// The last read took everything the socket held at that moment.
    drained: bool,
    /// Accepted during the drain (it was queued before the listeners
    /// closed), or just before it: its first request is waited for and
    /// answered, not cut.
    owed_answer: bool,
    /// No byte has arrived on it yet.
    unused: bool,
    accepted: Instant,
    /// The request being answered is a HEAD (from its parsed head until the
    /// next head begins), so a 500 after a panic while answering it has no
    /// body either.
    answering_head: bool,
    /// When the state times out: in Body and Write, the time since the
    /// last progress.
    deadline: Instant,
    /// In Body and Write with a minimum rate: when the rate window ends,
    /// and the bytes moved (body read, or late bytes sent) when it began.
    window: Option<(Instant, u64)>,
    /// When the current request's first byte arrived.
    started: Instant,
    /// Responses staged in the worker's wake-up `wake`: the budget of
    /// [`MAX_REQUESTS_PER_WAKE`] spans every call of the wake-up (reading,
    /// writing, a job's result, a resume), not each call.
    answered: usize,
    wake: u64,
    /// Responses staged and not logged yet: each is logged when its last
    /// byte is sent, or, cut short, when the connection ends.
    unlogged: Unlogged,
}

impl Conn {
    pub fn new(sock: OwnedFd, peer: SocketAddr, token: u64, ticket: Ticket, cx: &Ctx) -> Conn {
        Conn {
            sock,
            peer,
            token,
            ticket,
            state: State::Idle,
            reader: RequestReader::new(cx.limits, cx.max_body),
            output: Output::default(),
            end: End::Open,
            client_closes: false,
            drained: false,
            owed_answer: cx.draining,
            unused: true,
            accepted: cx.now,
            answering_head: false,
            deadline: cx.now + cx.timeouts.keepalive,
            window: None,
            started: cx.now,
            answered: 0,
            wake: cx.wake,
            unlogged: Unlogged::default(),
        }
    }

    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// When the worker must call [`Conn::on_deadline`].
    pub fn deadline(&self) -> Instant {
        match self.window {
            Some((end, _)) => end.min(self.deadline),
            None => self.deadline,
        }
    }

    /// Whether the connection may simply be dropped at shutdown: no
    /// response in flight that a client is waiting on. Lingering ones are
    /// not idle: dropping one early could reset away the response the
    /// client is still reading.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle | State::Head | State::Stream { .. })
            && self.output.is_empty()
            && !self.owed_answer
    }

    /// At the start of the drain: a connection accepted within `grace`
    /// that has sent nothing yet is most likely a client about to send its
    /// first request (a new connection per request): it gets until
    /// `grace` after its accept to send it, and an answer. Returns whether
    /// it is kept.
    pub fn hold_for_first_request(&mut self, now: Instant, grace: Duration) -> bool {
        let until = self.accepted + grace;
        if !self.unused || now >= until {
            return false;
        }
        self.owed_answer = true;
        self.deadline = self.deadline.min(until);
        true
    }

    /// Enters `state` with its deadline; Body and Write start a rate
    /// window too.
    fn enter(&mut self, state: State, cx: &Ctx) {
        let t = &cx.timeouts;
        self.deadline = cx.now
            + match state {
                State::Idle => t.keepalive,
                State::Head => t.header,
                State::Body(_) => t.body,
                State::Await(_) | State::Write(_) => t.write,
                State::Linger => t.linger,
                State::Stream { .. } => t.heartbeat,
            };
        self.state = state;
        self.window = self
            .rate_window(cx)
            .map(|(window, _, moved)| (cx.now + window, moved));
    }

    /// For a state with a minimum rate: its window, the bytes the window
    /// must move, and the bytes moved so far.
    fn rate_window(&self, cx: &Ctx) -> Option<(Duration, u64, u64)> {
        let (window, rate, moved) = match self.state {
            State::Body(_) => (cx.timeouts.body, cx.min_body_rate, self.reader.body_read()),
            State::Write(_) => (cx.timeouts.write, cx.min_send_rate, self.output.sent_late()),
            _ => return None,
        };
        (rate > 0).then(|| (window, required(rate, window), moved))
    }

    /// A new connection: read at once (its request is usually there
    /// already), or beyond the limit answered 503.
    pub fn start(&mut self, cx: &mut Ctx) -> Flow {
        if !self.ticket.is_rejected() {
            return self.on_readable(cx);
        }
        self.end = End::AfterResponse;
        self.reader.stop();
        let line = ReqLine::UNPARSED;
        self.stage_reply(Reply::Overloaded, Persist::Close, false, line, cx);
        self.flush(cx)
    }

    /// The worker drops the connection: a response it had not finished
    /// sending is logged now, with the bytes that went out, as aborted.
    pub fn close(&mut self, cx: &mut Ctx) {
        cx.log.abandon(&mut self.unlogged, self.output.sent());
    }

    /// A deadline passed. At a rate window's end, a request body or a
    /// response that kept up the minimum rate gets a new window; anything
    /// else is closed, a client that started a request and stalled (or
    /// sent its body too slowly) with a best-effort 408 first.
    pub fn on_deadline(&mut self, cx: &mut Ctx) -> Flow {
        if let State::Stream { .. } = self.state {
            // A heartbeat finds clients that are gone.
            self.deadline = cx.now + cx.timeouts.heartbeat;
            return self.stream(b": ferry\n\n", cx);
        }
        if let (Some((end, mark)), Some((window, need, moved))) =
            (self.window, self.rate_window(cx))
            && cx.now < self.deadline
            && cx.now >= end
            && moved - mark >= need
        {
            self.window = Some((cx.now + window, moved));
            return Flow::Wait(match self.state {
                State::Write(_) => Interest::Write,
                _ => Interest::Read,
            });
        }
        if matches!(self.state, State::Head | State::Body(_)) && self.output.is_empty() {
            let line = match &self.state {
                State::Body(d) => Some(d.line.clone()),
                _ => None,
            };
            let line = line
                .as_ref()
                .map_or(ReqLine::UNPARSED, OwnedReqLine::as_line);
            self.last_word(Status::RequestTimeout, line, cx);
        }
        Flow::Close
    }

    /// After a panic while handling this connection: a best-effort 500
    /// behind whatever complete responses were already staged.
    pub fn on_panic(&mut self, cx: &mut Ctx) {
        // What was staged and not sent is gone: those responses end here.
        cx.log.abandon(&mut self.unlogged, self.output.sent());
        if !self.output.is_empty() || matches!(self.state, State::Write(_) | State::Linger) {
            cx.out.clear();
            return;
        }
        self.last_word(Status::InternalServerError, ReqLine::UNPARSED, cx);
    }

    /// A closing error page behind whatever is staged, in one nonblocking
    /// send, just before the close (no body for a HEAD: the one being
    /// answered, or a partial head that starts like one).
    fn last_word(&mut self, status: Status, line: ReqLine<'_>, cx: &mut Ctx) {
        let head_only = match &self.state {
            State::Body(d) | State::Await(d) => d.head_only,
            _ => self.answering_head || h1::is_head(self.reader.buffered()),
        };
        let reply = cx.site.error(status);
        self.stage_reply(reply, Persist::Close, head_only, line, cx);
        self.output.send_once(&self.sock, &mut cx.out);
        cx.log.settle(&mut self.unlogged, self.output.sent());
    }

    pub fn on_event(&mut self, cx: &mut Ctx) -> Flow {
        match self.state {
            State::Write(_) => self.flush(cx),
            State::Linger | State::Stream { .. } => self.drain_linger(cx),
            // Input waits in the socket until the reply is made.
            State::Await(_) => Flow::Wait(Interest::Read),
            State::Idle | State::Head | State::Body(_) => self.on_readable(cx),
        }
    }

    /// Carries on with buffered requests after yielding.
    pub fn resume(&mut self, cx: &mut Ctx) -> Flow {
        match self.state {
            State::Idle | State::Head | State::Body(_) => {
                let input = self.reader.resume();
                self.process(input, cx)
            }
            State::Write(_) => Flow::Wait(Interest::Write),
            State::Await(_) | State::Linger | State::Stream { .. } => Flow::Wait(Interest::Read),
        }
    }

    /// A job this connection waited for is done: answer, then carry on
    /// with what the client pipelined meanwhile.
    pub fn on_done(&mut self, done: Done, cx: &mut Ctx) -> Flow {
        if let Done::Live(event) = done {
            return match self.state {
                State::Stream { .. } => self.stream(&event.to_bytes(), cx),
                _ => Flow::Wait(Interest::Read),
            };
        }
        let State::Await(d) = std::mem::replace(&mut self.state, State::Idle) else {
            unreachable!("a job result for a connection that did not wait for one")
        };
        let Reply::Pending(weights) = &d.reply else {
            unreachable!("a connection waits only with a pending reply")
        };
        let reply = cx.site.finish(done, weights);
        self.respond(reply, d.head_only, d.persist, d.line.as_line(), cx);
        let input = self.reader.resume();
        self.process(input, cx)
    }

    /// Sends `bytes` on the event stream; a client that does not take
    /// them at once (or has gone) is closed.
    fn stream(&mut self, bytes: &[u8], cx: &mut Ctx) -> Flow {
        if !self.output.is_empty() {
            return Flow::Close;
        }
        cx.out.extend_from_slice(bytes);
        match self.write_out(cx) {
            Sent::Done => Flow::Wait(Interest::Read),
            _ => Flow::Close,
        }
    }

    fn on_readable(&mut self, cx: &mut Ctx) -> Flow {
        // Every read lands in the worker's scratch buffer; the reader keeps
        // only what must wait for more.
        let mut buf = std::mem::take(&mut cx.scratch);
        let flow = match output::read(&self.sock, &mut buf[..]) {
            Err(Errno::AGAIN) => Flow::Wait(Interest::Read),
            Ok(0) | Err(_) => Flow::Close,
            Ok(n) if self.unused && h1::is_tls_handshake(&buf[..n]) => {
                self.unused = false;
                self.refuse_tls(cx)
            }
            Ok(n) => {
                self.unused = false;
                // A read that did not fill the buffer took all the socket
                // held then.
                self.drained = n < buf.len();
                let input = self.reader.begin(&buf[..n]);
                self.process(input, cx)
            }
        };
        cx.scratch = buf;
        flow
    }

    /// A TLS client on this plain-HTTP port: any HTTP answer would be
    /// garbage to it, so it gets none: our side closes (lingering, so it
    /// sees the close, not a reset), and stderr says which URL to use,
    /// once per client address per `--debug-tls-hint-every` (a minute).
    fn refuse_tls(&mut self, cx: &mut Ctx) -> Flow {
        let ip = self.peer.ip().to_canonical();
        if cx.tls_hints.allow(ip, cx.now) {
            let local = rustix::net::getsockname(&self.sock)
                .ok()
                .and_then(|a| SocketAddr::try_from(a).ok())
                .map(|a| SocketAddr::new(a.ip().to_canonical(), a.port()));
            match local {
                Some(local) => crate::log::note(format_args!(
                    "{ip} sent a TLS handshake: this is an HTTP port; use http://{local}/"
                )),
                None => crate::log::note(format_args!(
                    "{ip} sent a TLS handshake: this is an HTTP port; use http://, not https://"
                )),
            }
        }
        self.end = End::AfterResponse;
        self.start_linger(cx)
    }

    /// Answers as many requests as the input holds, up to what is left of
    /// the per-wake-up budget, then writes. Stops early when a write blocks
    /// or a reply is being made.
    fn process(&mut self, mut input: Input<'_>, cx: &mut Ctx) -> Flow {
        self.count_from(cx);
        let mut yielded = false;
        let body_before = self.reader.body_read();
        while self.end == End::Open
            && !matches!(
                self.state,
                State::Write(_) | State::Await(_) | State::Linger
            )
        {
            if matches!(self.state, State::Idle) {
                if !input.has_more() {
                    break;
                }
                if self.answered >= MAX_REQUESTS_PER_WAKE {
                    yielded = true;
                    break;
                }
                self.started = cx.now;
                self.answering_head = false;
                self.enter(State::Head, cx);
            }
            match self.reader.next(&mut input) {
                Event::NeedMore => break,
                Event::Head(req) => self.on_request(req, cx),
                Event::BodyDone => {
                    if let State::Body(d) = std::mem::replace(&mut self.state, State::Idle) {
                        self.respond(d.reply, d.head_only, d.persist, d.line.as_line(), cx);
                    }
                }
                Event::Reject(r) => self.fail(r, cx),
            }
            // A client pipelining without reading must not make us stage
            // unbounded output: write now; a full socket stops the parsing.
            if cx.out.len() >= OUT_HIGH_WATER && self.end == End::Open {
                self.send(cx);
            }
        }
        self.reader.end(input);
        if matches!(self.state, State::Body(_)) && self.reader.body_read() > body_before {
            // The body made progress.
            self.deadline = cx.now + cx.timeouts.body;
        }
        let flow = match self.state {
            _ if self.end == End::Now => Flow::Close,
            State::Write(_) => Flow::Wait(Interest::Write),
            State::Linger | State::Await(_) => Flow::Wait(Interest::Read),
            _ => self.flush(cx),
        };
        if yielded && flow == Flow::Wait(Interest::Read) {
            return Flow::Yield;
        }
        flow
    }

    /// A new wake-up of the worker: its budget of answers starts afresh.
    fn count_from(&mut self, cx: &Ctx) {
        if self.wake != cx.wake {
            self.wake = cx.wake;
            self.answered = 0;
        }
    }

    fn on_request(&mut self, req: Request<'_>, cx: &mut Ctx) {
        self.owed_answer = false;
        let head_only = req.method == Method::Head;
        self.answering_head = head_only;
        let persist = if cx.draining {
            Persist::Close
        } else {
            req.persist
        };
        // The client itself ends the connection: it sends nothing after this.
        self.client_closes = req.persist == Persist::Close;
        let reply = cx.site.respond(&req, cx.now, self.token);
        if self.reader.phase() != Phase::Body {
            self.respond(reply, head_only, persist, ReqLine::of(&req), cx);
            return;
        }
        // Read (and drop) the body before answering, so a bad chunk still
        // gets its 400 and the next request is parsed where it starts.
        if req.expect_continue {
            cx.out.extend_from_slice(h1::CONTINUE);
        }
        let deferred = Deferred {
            reply,
            head_only,
            persist,
            line: ReqLine::of(&req).to_owned(),
        };
        self.enter(State::Body(Box::new(deferred)), cx);
    }

    /// An error that ends the connection: reply with `Connection: close`
    /// (no body for a HEAD).
    fn fail(&mut self, r: Rejection<'_>, cx: &mut Ctx) {
        let reply = cx.site.error(r.status);
        let head_only = r.head_only;
        match (r.request, std::mem::replace(&mut self.state, State::Idle)) {
            (Some(req), _) => {
                self.respond(reply, head_only, Persist::Close, ReqLine::of(&req), cx);
            }
            (None, State::Body(d)) => {
                self.respond(reply, head_only, Persist::Close, d.line.as_line(), cx);
            }
            (None, _) => self.respond(reply, head_only, Persist::Close, ReqLine::UNPARSED, cx),
        }
    }

    /// Stages the reply (head, and the body unless HEAD), logs it, and
    /// goes back to waiting for the next request; a file body goes out
    /// now, before any later pipelined response is staged behind it. A
    /// reply still being made parks the connection until it is.
    fn respond(
        &mut self,
        reply: Reply,
        head_only: bool,
        persist: Persist,
        line: ReqLine<'_>,
        cx: &mut Ctx,
    ) {
        if let Reply::EventStream { page } = &reply {
            let Some(sub) = cx.site.subscribe(page.clone(), self.token) else {
                return;
            };
            // Nothing else is read on this connection; the stream is
            // close-delimited.
            self.reader.stop();
            cx.site
                .encode_head(&reply, Persist::Close, &cx.date, &mut cx.out);
            // Logged when it ends, with its length then.
            let body_start = self.output.staged_end(&cx.out);
            let status = reply.status();
            cx.log.stage(
                &mut self.unlogged,
                &self.peer,
                line,
                status,
                body_start,
                None,
                self.started,
            );
            self.output.stage(reply.into_body(), &mut cx.out);
            self.enter(State::Stream { _subscription: sub }, cx);
            if self.write_out(cx) != Sent::Done {
                self.end = End::Now;
            }
            return;
        }
        if let Reply::Pending(_) = reply {
            // What earlier pipelined requests staged goes out now: the
            // staging buffer is the worker's, and the next connection it
            // serves must not find (and send) this one's responses there.
            // What the socket does not take waits behind, and goes before,
            // the reply being made.
            if !cx.out.is_empty() && self.write_out(cx) == Sent::Failed {
                self.end = End::Now;
            }
            let deferred = Deferred {
                reply,
                head_only,
                persist,
                line: line.to_owned(),
            };
            self.enter(State::Await(Box::new(deferred)), cx);
            return;
        }
        if !persist.keeps_alive() {
            // Nothing after a closing response is looked at.
            self.end = End::AfterResponse;
            self.reader.stop();
        }
        self.count_from(cx);
        self.answered += 1;
        self.stage_reply(reply, persist, head_only, line, cx);
        self.enter(State::Idle, cx);
        if self.output.has_file() {
            self.send(cx);
        }
    }

    /// Stages `reply` behind what is staged (its head, and its body unless
    /// `head_only`) and records it for the access log.
    fn stage_reply(
        &mut self,
        reply: Reply,
        persist: Persist,
        head_only: bool,
        line: ReqLine<'_>,
        cx: &mut Ctx,
    ) {
        let status = reply.status();
        cx.site.encode_head(&reply, persist, &cx.date, &mut cx.out);
        let body_start = self.output.staged_end(&cx.out);
        let body = reply.into_body();
        let len = if head_only { 0 } else { body.len() };
        if !head_only {
            self.output.stage(body, &mut cx.out);
        }
        cx.log.stage(
            &mut self.unlogged,
            &self.peer,
            line,
            status,
            body_start,
            Some(len),
            self.started,
        );
    }

    /// Writes what is staged, then logs the responses now wholly sent.
    fn write_out(&mut self, cx: &mut Ctx) -> Sent {
        let sent = self.output.flush(&self.sock, &mut cx.out);
        cx.log.settle(&mut self.unlogged, self.output.sent());
        sent
    }

    /// Writes what is staged; a full socket moves to the write state.
    fn send(&mut self, cx: &mut Ctx) -> Sent {
        let before = self.output.sent_late();
        let sent = self.write_out(cx);
        match sent {
            Sent::Done => {}
            Sent::Failed => self.end = End::Now,
            Sent::Blocked | Sent::Yield => match std::mem::replace(&mut self.state, State::Idle) {
                State::Write(after) => {
                    self.state = State::Write(after);
                    if self.output.sent_late() > before {
                        // The response made progress.
                        self.deadline = cx.now + cx.timeouts.write;
                    }
                }
                State::Body(d) => self.enter(State::Write(Some(d)), cx),
                _ => self.enter(State::Write(None), cx),
            },
        }
        sent
    }

    /// Writes staged output; once all is out, closes or carries on with
    /// buffered input.
    fn flush(&mut self, cx: &mut Ctx) -> Flow {
        match self.send(cx) {
            Sent::Failed => Flow::Close,
            // Level-triggered EPOLLOUT brings a yielded connection back.
            Sent::Blocked | Sent::Yield => Flow::Wait(Interest::Write),
            Sent::Done => self.response_done(cx),
        }
    }

    /// Everything staged is out.
    fn response_done(&mut self, cx: &mut Ctx) -> Flow {
        if self.end == End::AfterResponse {
            // A client that asked for the close and had sent nothing more
            // can't be reset by our close: skip the lingering. Our last
            // read took all the socket held and nothing is left over, so
            // no syscall is needed to know; else peek.
            if self.client_closes
                && ((self.drained && !self.reader.has_buffered())
                    || !output::input_waiting(&self.sock))
            {
                return Flow::Close;
            }
            return self.start_linger(cx);
        }
        if matches!(self.state, State::Write(_)) {
            match std::mem::replace(&mut self.state, State::Idle) {
                State::Write(Some(d)) => self.enter(State::Body(d), cx),
                _ => self.enter(State::Idle, cx),
            }
            if self.reader.has_buffered() {
                // Pipelined requests waited behind the blocked write.
                let input = self.reader.resume();
                return self.process(input, cx);
            }
        }
        if cx.draining && matches!(self.state, State::Idle) && !self.reader.has_buffered() {
            return Flow::Close;
        }
        Flow::Wait(Interest::Read)
    }

    /// Shut our side, then read and drop what the client still sends until
    /// it closes or the linger deadline passes, so a client with more in
    /// flight reads our last response instead of a reset.
    fn start_linger(&mut self, cx: &Ctx) -> Flow {
        self.reader.stop();
        if rustix::net::shutdown(&self.sock, Shutdown::Write).is_err() {
            return Flow::Close;
        }
        self.enter(State::Linger, cx);
        Flow::Wait(Interest::Read)
    }

    fn drain_linger(&mut self, cx: &mut Ctx) -> Flow {
        for _ in 0..16 {
            match output::read(&self.sock, &mut cx.scratch[..]) {
                Err(Errno::AGAIN) => return Flow::Wait(Interest::Read),
                Ok(0) | Err(_) => return Flow::Close,
                Ok(n) if n < cx.scratch.len() => return Flow::Wait(Interest::Read),
                Ok(_) => {}
            }
        }
        Flow::Wait(Interest::Read)
    }
}

/// Bytes a window of `window` must move at `rate` bytes per second.
fn required(rate: u64, window: Duration) -> u64 {
    (u128::from(rate) * window.as_millis() / 1000) as u64
}
