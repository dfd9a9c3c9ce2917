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
//!
//! The state machine is here; its deadlines and rate windows are in
//! `deadline`, staging and writing responses in `respond`, and the ways a
//! connection ends (close, linger, last word, TLS refusal) in `ending`.

pub mod admission;
mod ctx;
mod deadline;
mod ending;
pub mod output;
mod respond;

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
    /// The last read took everything the socket held at that moment, held
    /// nothing after a closing request, and no time has passed since (a
    /// blocked write or a reply being made clears it): closing then needs
    /// no look for more input.
    drained: bool,
    /// Accepted during the drain (it was queued before the listeners
    /// closed), or just before it: its first request is waited for and
    /// answered, not cut.
    owed_answer: bool,
    /// No byte has arrived on it yet (then `started` is when it was
    /// accepted).
    unused: bool,
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

    /// Whether the connection may simply be dropped at shutdown: no
    /// response in flight that a client is waiting on. Lingering ones are
    /// not idle: dropping one early could reset away the response the
    /// client is still reading.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle | State::Head | State::Stream { .. })
            && self.output.is_empty()
            && !self.owed_answer
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
        if self.reader.end(input) {
            // Bytes after the request that closes the connection: the
            // client may still be sending, so the close lingers.
            self.drained = false;
        }
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
}
