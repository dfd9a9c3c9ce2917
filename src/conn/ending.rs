//! How a connection ends: the close (with its log lines), the lingering
//! close after a last response, the best-effort last word (408, 500) and
//! the refusal of a TLS handshake; also the live-reload stream's writes.

use super::*;

impl Conn {
    /// The worker drops the connection: a response it had not finished
    /// sending is logged now, with the bytes that went out, as aborted.
    pub fn close(&mut self, cx: &mut Ctx) {
        cx.log.abandon(&mut self.unlogged, self.output.sent());
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
    pub(super) fn last_word(&mut self, status: Status, line: ReqLine<'_>, cx: &mut Ctx) {
        let head_only = match &self.state {
            State::Body(d) | State::Await(d) => d.head_only,
            _ => self.answering_head || h1::is_head(self.reader.buffered()),
        };
        let reply = cx.site.error(status);
        self.stage_reply(reply, Persist::Close, head_only, line, cx);
        self.output.send_once(&self.sock, &mut cx.out);
        cx.log.settle(&mut self.unlogged, self.output.sent());
    }

    /// A TLS client on this plain-HTTP port: any HTTP answer would be
    /// garbage to it, so it gets none: our side closes (lingering, so it
    /// sees the close, not a reset), and stderr says which URL to use,
    /// once per client address per `--debug-tls-hint-every` (a minute).
    pub(super) fn refuse_tls(&mut self, cx: &mut Ctx) -> Flow {
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

    /// Sends `bytes` on the event stream; a client that does not take
    /// them at once (or has gone) is closed.
    pub(super) fn stream(&mut self, bytes: &[u8], cx: &mut Ctx) -> Flow {
        if !self.output.is_empty() {
            return Flow::Close;
        }
        cx.out.extend_from_slice(bytes);
        match self.write_out(cx) {
            Sent::Done => Flow::Wait(Interest::Read),
            _ => Flow::Close,
        }
    }

    /// Shut our side, then read and drop what the client still sends until
    /// it closes or the linger deadline passes, so a client with more in
    /// flight reads our last response instead of a reset.
    pub(super) fn start_linger(&mut self, cx: &Ctx) -> Flow {
        self.reader.stop();
        if rustix::net::shutdown(&self.sock, Shutdown::Write).is_err() {
            return Flow::Close;
        }
        self.enter(State::Linger, cx);
        Flow::Wait(Interest::Read)
    }

    pub(super) fn drain_linger(&mut self, cx: &mut Ctx) -> Flow {
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
