//! A connection's output: response heads and small bodies staged in the
//! worker's buffer and sent in one `send`, what a full socket did not take,
//! and file bodies by `sendfile` (the head goes with `MSG_MORE` so head and
//! first bytes share a packet), with multipart part heads between ranges.
//! Also the socket helpers the state machine uses: read and send.

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;

use rustix::io::Errno;
use rustix::net::SendFlags;

use crate::fs::CachedFile;
use crate::fs::compress::{Form, FormData};
use crate::http::range::ByteRange;
use crate::site::Body;

/// Most bytes one `sendfile` call is asked for, and most sent for one
/// connection per wake-up, so one fast reader of a huge file cannot hog
/// its worker.
const SENDFILE_CHUNK: usize = 1 << 20;
const SENDFILE_BUDGET: u64 = 4 << 20;

/// How a flush ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Everything staged is out.
    Done,
    /// The socket is full: wait for EPOLLOUT.
    Blocked,
    /// This wake-up's budget is spent: come back on the next EPOLLOUT.
    Yield,
    /// The send failed, or the file shrank: end the connection.
    Failed,
}

/// Shared bytes longer than this are sent from where they are (a
/// compressed form), not copied behind the head.
const COPY_MAX: usize = 64 * 1024;

/// A body still to go out after the head: file ranges by sendfile (with
/// the part heads of a multipart response between them), or shared bytes.
struct FileBody {
    file: Option<Source>,
    segments: VecDeque<Segment>,
}

/// The file a body's file segments are sent from.
enum Source {
    Cached(Rc<CachedFile>),
    Form(Arc<Form>),
}

impl Source {
    fn file(&self) -> Option<&File> {
        match self {
            Source::Cached(c) => Some(&c.file),
            Source::Form(f) => match &f.data {
                FormData::File(file, _) => Some(file),
                FormData::Bytes(_) => None,
            },
        }
    }
}

enum Segment {
    Bytes {
        data: Vec<u8>,
        pos: usize,
    },
    Shared {
        data: Arc<[u8]>,
        pos: usize,
    },
    /// `pos..end` of the file.
    File {
        pos: u64,
        end: u64,
    },
}

/// What is not yet written.
#[derive(Default)]
pub struct Output {
    /// Unsent bytes, when a write would have blocked.
    pending: Vec<u8>,
    pending_pos: usize,
    file: Option<FileBody>,
    /// Bytes that had to wait (pending or file bodies) and went out since,
    /// over the connection's life (for the minimum send rate).
    sent_late: u64,
    /// Every byte handed to the kernel, over the connection's life.
    sent: u64,
    /// Every byte staged over the connection's life, except what is in
    /// the worker's buffer now: with it, where the output staged so far
    /// ends (the access log's positions).
    queued: u64,
}

impl Output {
    /// Nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.file.is_none()
    }

    /// A file body waits for sendfile.
    pub fn has_file(&self) -> bool {
        self.file.is_some()
    }

    /// Where the output staged so far ends, counting from the
    /// connection's first byte; `out` is the worker's staging buffer.
    pub fn staged_end(&self, out: &[u8]) -> u64 {
        self.queued + out.len() as u64
    }

    /// Bytes handed to the kernel over the connection's life.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Long shared bytes are sent from where they are.
    fn stage_shared(&mut self, data: Arc<[u8]>) {
        self.queued += data.len() as u64;
        let segments = VecDeque::from([Segment::Shared { data, pos: 0 }]);
        self.file = Some(FileBody {
            file: None,
            segments,
        });
    }

    /// Stages a body behind its head in `out`: bytes (and files held in
    /// memory) are copied there; a file on disk becomes sendfile segments.
    pub fn stage(&mut self, body: Body, out: &mut Vec<u8>) {
        match body {
            Body::Empty => {}
            Body::Static(b) => out.extend_from_slice(b),
            Body::Bytes(b) => out.extend_from_slice(&b),
            Body::Shared(b) if b.len() <= COPY_MAX => out.extend_from_slice(&b),
            Body::Shared(data) => self.stage_shared(data),
            Body::Form(form) => match &form.data {
                FormData::Bytes(b) if b.len() <= COPY_MAX => out.extend_from_slice(b),
                FormData::Bytes(b) => self.stage_shared(Arc::clone(b)),
                FormData::File(..) => {
                    self.queued += form.len;
                    let segments = VecDeque::from([Segment::File {
                        pos: 0,
                        end: form.len,
                    }]);
                    self.file = Some(FileBody {
                        file: Some(Source::Form(form)),
                        segments,
                    });
                }
            },
            Body::File { file, range } => match &file.bytes {
                Some(bytes) => out.extend_from_slice(slice(bytes, range)),
                None => {
                    self.queued += range.length();
                    let segments = VecDeque::from([Segment::file(range)]);
                    self.file = Some(FileBody {
                        file: Some(Source::Cached(file)),
                        segments,
                    });
                }
            },
            Body::Multipart {
                file,
                parts,
                closing,
            } => match &file.bytes {
                Some(bytes) => {
                    for (head, range) in &parts {
                        out.extend_from_slice(head);
                        out.extend_from_slice(slice(bytes, *range));
                    }
                    out.extend_from_slice(&closing);
                }
                None => {
                    let mut segments = VecDeque::with_capacity(parts.len() * 2 + 1);
                    for (head, range) in parts {
                        segments.push_back(Segment::Bytes { data: head, pos: 0 });
                        segments.push_back(Segment::file(range));
                    }
                    segments.push_back(Segment::Bytes {
                        data: closing,
                        pos: 0,
                    });
                    self.queued += segments.iter().map(Segment::len).sum::<u64>();
                    self.file = Some(FileBody {
                        file: Some(Source::Cached(file)),
                        segments,
                    });
                }
            },
        }
    }

    /// Bytes that had to wait and went out since, over the connection's life.
    pub fn sent_late(&self) -> u64 {
        self.sent_late
    }

    /// Writes what is staged in `out` (taking it), then what is pending,
    /// then the file body. `last`: the connection's FIN (a close or a
    /// shutdown) follows at once once all is out, so every send is marked
    /// `MSG_MORE`: the kernel holds the tail of the response and sends it
    /// with the FIN in one packet, which saves a packet and the client's
    /// ACK of it on every connection that ends after its response.
    pub fn flush(&mut self, sock: &OwnedFd, out: &mut Vec<u8>, last: bool) -> Sent {
        if !out.is_empty() {
            self.queued += out.len() as u64;
            if self.pending.is_empty() {
                let sent = send_all(sock, out, more_flag(last || self.file.is_some()));
                if let Ok(n) = sent {
                    self.sent += n as u64;
                }
                match sent {
                    Ok(n) if n == out.len() => out.clear(),
                    Ok(n) => {
                        self.pending.extend_from_slice(&out[n..]);
                        out.clear();
                        return Sent::Blocked;
                    }
                    Err(_) => {
                        out.clear();
                        return Sent::Failed;
                    }
                }
            } else {
                // Anything newly staged queues behind what is pending.
                self.pending.extend_from_slice(out);
                out.clear();
            }
        }
        if !self.pending.is_empty() {
            let more = more_flag(last || self.file.is_some());
            match send_all(sock, &self.pending[self.pending_pos..], more) {
                Ok(n) => {
                    self.pending_pos += n;
                    self.sent_late += n as u64;
                    self.sent += n as u64;
                    if self.pending_pos < self.pending.len() {
                        return Sent::Blocked;
                    }
                    self.pending = Vec::new();
                    self.pending_pos = 0;
                }
                Err(_) => return Sent::Failed,
            }
        }
        match self.send_file(sock, last) {
            Sent::Done => {
                self.file = None;
                Sent::Done
            }
            other => other,
        }
    }

    /// Sends the body segments in order, until done or told to stop.
    fn send_file(&mut self, sock: &OwnedFd, last: bool) -> Sent {
        let mut budget = SENDFILE_BUDGET;
        let Some(body) = self.file.as_mut() else {
            return Sent::Done;
        };
        loop {
            let more = more_flag(last || body.segments.len() > 1);
            let Some(segment) = body.segments.front_mut() else {
                break;
            };
            match segment {
                Segment::Bytes { data, pos } => {
                    let Ok(n) = send_all(sock, &data[*pos..], more) else {
                        return Sent::Failed;
                    };
                    *pos += n;
                    self.sent_late += n as u64;
                    self.sent += n as u64;
                    if *pos < data.len() {
                        return Sent::Blocked;
                    }
                }
                Segment::Shared { data, pos } => {
                    let Ok(n) = send_all(sock, &data[*pos..], more) else {
                        return Sent::Failed;
                    };
                    *pos += n;
                    self.sent_late += n as u64;
                    self.sent += n as u64;
                    budget = budget.saturating_sub(n as u64);
                    if *pos < data.len() {
                        return if n > 0 && budget == 0 {
                            Sent::Yield
                        } else {
                            Sent::Blocked
                        };
                    }
                }
                Segment::File { pos, end } => {
                    let Some(file) = body.file.as_ref().and_then(Source::file) else {
                        return Sent::Failed;
                    };
                    while *pos < *end {
                        let want = (*end - *pos).min(SENDFILE_CHUNK as u64) as usize;
                        let mut offset = *pos;
                        match rustix::fs::sendfile(sock, file, Some(&mut offset), want) {
                            // The file shrank under us: the promised length
                            // can't be met, so the connection has to end.
                            Ok(0) => return Sent::Failed,
                            Ok(n) => {
                                *pos += n as u64;
                                self.sent_late += n as u64;
                                self.sent += n as u64;
                                budget = budget.saturating_sub(n as u64);
                                if budget == 0 && *pos < *end {
                                    return Sent::Yield;
                                }
                            }
                            Err(Errno::AGAIN) => return Sent::Blocked,
                            Err(Errno::INTR) => {}
                            Err(_) => return Sent::Failed,
                        }
                    }
                }
            }
            body.segments.pop_front();
        }
        Sent::Done
    }
}

impl Segment {
    fn file(range: ByteRange) -> Segment {
        Segment::File {
            pos: range.first,
            end: range.last + 1,
        }
    }

    /// Bytes left to send.
    fn len(&self) -> u64 {
        match self {
            Segment::Bytes { data, pos } => (data.len() - pos) as u64,
            Segment::Shared { data, pos } => (data.len() - pos) as u64,
            Segment::File { pos, end } => end - pos,
        }
    }
}

fn slice(bytes: &[u8], r: ByteRange) -> &[u8] {
    &bytes[r.first as usize..=r.last as usize]
}

fn more_flag(file_follows: bool) -> SendFlags {
    if file_follows {
        SendFlags::MORE
    } else {
        SendFlags::empty()
    }
}

/// Nonblocking read; `Ok(0)` on EOF, `Err(AGAIN)` when nothing is there.
pub fn read(sock: &OwnedFd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        match rustix::io::read(sock, &mut *buf) {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// Nonblocking send of as much of `buf` as the socket takes.
pub fn send_all(sock: &OwnedFd, buf: &[u8], flags: SendFlags) -> Result<usize, Errno> {
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

impl Output {
    /// One best-effort nonblocking send of what is staged (taking it),
    /// for a last word before a close.
    pub fn send_once(&mut self, sock: &OwnedFd, out: &mut Vec<u8>) {
        self.queued += out.len() as u64;
        let flags = SendFlags::NOSIGNAL | SendFlags::DONTWAIT;
        if let Ok(n) = rustix::net::send(sock, out, flags) {
            self.sent += n as u64;
        }
        out.clear();
    }
}
