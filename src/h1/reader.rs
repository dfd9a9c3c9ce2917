//! The request side of a connection, sans-IO: bytes in, events out. It owns
//! every rule about how input becomes requests — when a partial head is
//! worth parsing again, `HTTP/1.x` (x > 1) served as 1.1, body framing and
//! discarding, and the step to the next pipelined head — so the server and
//! the fuzz targets run the same code.
//!
//! ```text
//! let mut input = reader.begin(&bytes_just_read);
//! loop {
//!     match reader.next(&mut input) {
//!         Event::Head(req) => …,          // a request; its body (if any) follows
//!         Event::BodyDone => …,           // that body ended: answer now
//!         Event::Reject(status, req) => …, // answer status, then close
//!         Event::NeedMore => break,
//!     }
//! }
//! reader.end(input);                      // keeps what is left for the next read
//! ```
//!
//! Input is parsed where it lies (the worker's read buffer); only bytes that
//! must wait for more — a partial head, or requests behind a response that
//! could not be written yet — are kept, and that buffer is freed once
//! drained, so an idle connection owns none.

use super::chunked::{ChunkError, ChunkedDecoder};
use super::parse::{self, BodyFraming, Limits, Request, RequestError};
use crate::http::{Method, Status};

/// What the reader found next in the input.
#[derive(Debug)]
pub enum Event<'i> {
    /// A complete request head. A body, if framed, follows and is
    /// discarded by the reader; [`Event::BodyDone`] says where it ends.
    Head(Request<'i>),
    /// The body of the last head has been read.
    BodyDone,
    /// Everything usable is consumed; what is left waits for more bytes.
    NeedMore,
    /// The input can't be read on: answer and close.
    Reject(Rejection<'i>),
}

/// Why the reader stopped, and what is known of the request.
#[derive(Debug)]
pub struct Rejection<'i> {
    pub status: Status,
    /// The request, when its head was parsed (413 for a body over the
    /// limit).
    pub request: Option<Request<'i>>,
    /// The request is a HEAD (as far as its first bytes tell), so the
    /// answer has no body: a response to HEAD ends at the blank line.
    pub head_only: bool,
}

/// Where the reader is between two reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Between requests, nothing buffered.
    Idle,
    /// Part of a head has arrived.
    Head,
    /// Reading (and discarding) a request body.
    Body,
    /// Rejected or told to stop: nothing more is looked at.
    Stopped,
}

enum BodyLeft {
    Length(u64),
    Chunked(ChunkedDecoder),
}

enum State {
    Idle,
    Head,
    Body(BodyLeft),
    Stopped,
}

/// One connection's request reader.
pub struct RequestReader {
    limits: Limits,
    max_body: u64,
    state: State,
    /// Unconsumed input kept between reads.
    buf: Vec<u8>,
    /// The request whose body is being read is a HEAD.
    body_of_head: bool,
    /// Request-body bytes read over the connection's life (for rates).
    body_read: u64,
}

/// The bytes of one processing round: fresh from a read, or kept ones
/// with the fresh appended.
pub struct Input<'a> {
    bytes: Bytes<'a>,
    at: usize,
    /// The partial-head rule: a head can only complete on a line feed, so
    /// when the fresh bytes have none only the limits are checked. A client
    /// sending a byte at a time is not re-parsed on every byte.
    limits_only: bool,
    /// A copy of an `HTTP/1.x` (x > 1) head with the minor digit set to 1.
    patched: Vec<u8>,
}

enum Bytes<'a> {
    Fresh(&'a [u8]),
    Kept(Vec<u8>),
}

impl Input<'_> {
    /// Bytes consumed so far.
    pub fn consumed(&self) -> usize {
        self.at
    }

    fn all(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Fresh(b) => b,
            Bytes::Kept(v) => v,
        }
    }

    /// Whether unconsumed bytes remain.
    pub fn has_more(&self) -> bool {
        self.at < self.all().len()
    }
}

impl RequestReader {
    /// `max_body`: the largest request body read (and discarded).
    pub fn new(limits: Limits, max_body: u64) -> RequestReader {
        RequestReader {
            limits,
            max_body,
            state: State::Idle,
            buf: Vec::new(),
            body_of_head: false,
            body_read: 0,
        }
    }

    /// Request-body bytes read so far, over all requests.
    pub fn body_read(&self) -> u64 {
        self.body_read
    }

    pub fn phase(&self) -> Phase {
        match self.state {
            State::Idle if self.buf.is_empty() => Phase::Idle,
            State::Idle | State::Head => Phase::Head,
            State::Body(_) => Phase::Body,
            State::Stopped => Phase::Stopped,
        }
    }

    /// Whether input is kept (a partial head, or pipelined requests).
    pub fn has_buffered(&self) -> bool {
        !self.buf.is_empty()
    }

    /// The input kept between rounds.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Starts a round with the bytes of one read.
    pub fn begin<'a>(&mut self, fresh: &'a [u8]) -> Input<'a> {
        if self.buf.is_empty() {
            return Input {
                bytes: Bytes::Fresh(fresh),
                at: 0,
                limits_only: false,
                patched: Vec::new(),
            };
        }
        let limits_only = matches!(self.state, State::Head) && !fresh.contains(&b'\n');
        let mut kept = std::mem::take(&mut self.buf);
        kept.extend_from_slice(fresh);
        Input {
            bytes: Bytes::Kept(kept),
            at: 0,
            limits_only,
            patched: Vec::new(),
        }
    }

    /// Starts a round with the kept bytes only (requests that waited
    /// behind a response that could not be written at once).
    pub fn resume(&mut self) -> Input<'static> {
        Input {
            bytes: Bytes::Kept(std::mem::take(&mut self.buf)),
            at: 0,
            limits_only: false,
            patched: Vec::new(),
        }
    }

    /// Ends a round: unconsumed bytes are kept for the next, unless the
    /// reader stopped. Returns whether bytes were dropped so (the client
    /// sent more after the request that closes the connection).
    pub fn end(&mut self, input: Input<'_>) -> bool {
        let Input { bytes, at, .. } = input;
        if matches!(self.state, State::Stopped) {
            self.buf = Vec::new();
            let len = match &bytes {
                Bytes::Fresh(b) => b.len(),
                Bytes::Kept(v) => v.len(),
            };
            return at < len;
        }
        match bytes {
            Bytes::Fresh(b) => self.buf.extend_from_slice(&b[at..]),
            Bytes::Kept(v) if at >= v.len() => self.buf = Vec::new(),
            Bytes::Kept(mut v) => {
                v.drain(..at);
                self.buf = v;
            }
        }
        false
    }

    /// Nothing after this point is read: the connection is closing after
    /// its current response.
    pub fn stop(&mut self) {
        self.state = State::Stopped;
        self.buf = Vec::new();
    }

    /// The next event from the input.
    pub fn next<'i>(&mut self, input: &'i mut Input<'_>) -> Event<'i> {
        let Input {
            bytes,
            at,
            limits_only,
            patched,
        } = input;
        let bytes: &'i Bytes<'_> = bytes;
        let all: &'i [u8] = match bytes {
            Bytes::Fresh(b) => b,
            Bytes::Kept(v) => v,
        };
        let data = &all[*at..];
        if data.is_empty() {
            return Event::NeedMore;
        }
        match &mut self.state {
            State::Stopped => {
                *at = all.len();
                Event::NeedMore
            }
            State::Idle | State::Head => {
                self.state = State::Head;
                if *limits_only {
                    return match parse::check_partial(data, &self.limits) {
                        Ok(()) => Event::NeedMore,
                        Err(e) => self.reject(e.status(), None, is_head(data)),
                    };
                }
                let parsed = match parse::parse(data, &self.limits) {
                    Err(RequestError::NewerMinorVersion { at: minor }) => {
                        // Rare: re-parse a copy (at most a head's worth)
                        // with the minor digit read as 1 (RFC 9110 §6.2).
                        // `minor` < max_head, else parse says 431.
                        patched.clear();
                        patched.extend_from_slice(&data[..data.len().min(self.limits.max_head)]);
                        match patched.get_mut(minor) {
                            Some(digit) => *digit = b'1',
                            None => {
                                return self.reject(
                                    Status::HeaderFieldsTooLarge,
                                    None,
                                    is_head(data),
                                );
                            }
                        }
                        let patched: &'i Vec<u8> = patched;
                        parse::parse(patched, &self.limits)
                    }
                    other => other,
                };
                match parsed {
                    Ok(None) => Event::NeedMore,
                    Err(e) => self.reject(e.status(), None, is_head(data)),
                    Ok(Some((req, n))) => {
                        *at += n;
                        self.body_of_head = req.method == Method::Head;
                        match req.body {
                            BodyFraming::None => self.state = State::Idle,
                            BodyFraming::Length(len) if len > self.max_body => {
                                let head = self.body_of_head;
                                return self.reject(Status::ContentTooLarge, Some(req), head);
                            }
                            BodyFraming::Length(len) => {
                                self.state = State::Body(BodyLeft::Length(len));
                            }
                            BodyFraming::Chunked => {
                                let dec = ChunkedDecoder::new(self.max_body);
                                self.state = State::Body(BodyLeft::Chunked(dec));
                            }
                        }
                        Event::Head(req)
                    }
                }
            }
            State::Body(left) => {
                let (used, done) = match left {
                    BodyLeft::Length(left) => {
                        let take = (*left).min(data.len() as u64);
                        *left -= take;
                        (take as usize, *left == 0)
                    }
                    BodyLeft::Chunked(dec) => match dec.feed(data) {
                        Ok(n) => (n, dec.is_done()),
                        Err(e) => {
                            let status = match e {
                                ChunkError::Malformed => Status::BadRequest,
                                ChunkError::TooLarge => Status::ContentTooLarge,
                            };
                            return self.reject(status, None, self.body_of_head);
                        }
                    },
                };
                *at += used;
                self.body_read += used as u64;
                if done {
                    self.state = State::Idle;
                    Event::BodyDone
                } else {
                    Event::NeedMore
                }
            }
        }
    }

    fn reject<'i>(
        &mut self,
        status: Status,
        request: Option<Request<'i>>,
        head_only: bool,
    ) -> Event<'i> {
        self.state = State::Stopped;
        Event::Reject(Rejection {
            status,
            request,
            head_only,
        })
    }
}

/// Whether a head, complete or not, is a HEAD request: its request line
/// (after the empty lines RFC 9112 §2.2 lets a server skip) starts with
/// `HEAD `. Methods are case-sensitive.
pub fn is_head(head: &[u8]) -> bool {
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(head.len());
    head[start..].starts_with(b"HEAD ")
}

/// Whether a connection's first bytes are a TLS handshake record (a
/// ClientHello: content type 22, then version 3.0 to 3.4) instead of
/// HTTP. No request starts with the control byte 0x16; a first read cut
/// short counts as far as it goes.
pub fn is_tls_handshake(first: &[u8]) -> bool {
    match first {
        [0x16] | [0x16, 0x03] => true,
        [0x16, 0x03, minor, ..] => *minor <= 0x04,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_hello_is_a_tls_handshake_and_requests_are_not() {
        for hello in [
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
            b"\x16\x03\x03\x00\x40\x01",
            b"\x16\x03\x00",
            b"\x16\x03",
            b"\x16",
        ] {
            assert!(is_tls_handshake(hello), "{hello:?}");
        }
        for other in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"\x16\x03\x05",
            b"\x16\x02\x00",
            b"\x17\x03\x03",
            b"",
        ] {
            assert!(!is_tls_handshake(other), "{other:?}");
        }
    }

    /// Feeds `reads` one at a time; returns a line per event.
    fn run(reads: &[&[u8]], max_body: u64) -> Vec<String> {
        let mut r = RequestReader::new(Limits::default(), max_body);
        let mut out = Vec::new();
        for read in reads {
            let mut input = r.begin(read);
            loop {
                match r.next(&mut input) {
                    Event::Head(req) => out.push(format!("head {} {}", req.method_str, req.path)),
                    Event::BodyDone => out.push("body done".into()),
                    Event::Reject(r) => out.push(format!("reject {}", r.status.code())),
                    Event::NeedMore => break,
                }
            }
            r.end(input);
        }
        out
    }

    #[test]
    fn pipelined_heads_and_bodies_come_out_in_order() {
        let raw: &[u8] = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
        let want = ["head POST /a", "body done", "head GET /b"];
        assert_eq!(run(&[raw], 100), want);
        // The same however the bytes are split.
        let reads: Vec<&[u8]> = raw.chunks(5).collect();
        assert_eq!(run(&reads, 100), want);
    }

    #[test]
    fn newer_minor_versions_are_served_as_1_1() {
        assert_eq!(
            run(&[b"GET /x HTTP/1.7\r\nHost: h\r\n\r\n"], 0),
            ["head GET /x"]
        );
    }

    #[test]
    fn a_body_over_the_limit_is_413_and_stops_the_reader() {
        let raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        assert_eq!(run(&[raw], 10), ["reject 413"]);
    }

    #[test]
    fn a_partial_head_is_kept_and_freed_once_complete() {
        let mut r = RequestReader::new(Limits::default(), 0);
        let mut input = r.begin(b"GET / HT");
        assert!(matches!(r.next(&mut input), Event::NeedMore));
        r.end(input);
        assert_eq!(r.phase(), Phase::Head);
        let mut input = r.begin(b"TP/1.1\r\nHost: h\r\n\r\n");
        assert!(matches!(r.next(&mut input), Event::Head(_)));
        assert!(matches!(r.next(&mut input), Event::NeedMore));
        r.end(input);
        assert_eq!(r.phase(), Phase::Idle);
        assert_eq!(r.buf.capacity(), 0, "an idle connection owns no buffer");
    }
}
