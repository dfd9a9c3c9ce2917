//! Staging and writing a connection's responses: the reply's head and
//! body into the worker's output buffer, the writes, and what follows a
//! response that is all out (the next pipelined request, or the close).

use super::*;

impl Conn {
    /// Stages the reply (head, and the body unless HEAD), logs it, and
    /// goes back to waiting for the next request; a file body goes out
    /// now, before any later pipelined response is staged behind it. A
    /// reply still being made parks the connection until it is.
    pub(super) fn respond(
        &mut self,
        reply: Reply,
        head_only: bool,
        persist: Persist,
        line: ReqLine<'_>,
        cx: &mut Ctx,
    ) {
        // A HEAD of the event stream: its head (close-delimited, as the
        // stream's), no subscription.
        let persist = match reply {
            Reply::EventStream { .. } if head_only => Persist::Close,
            _ => persist,
        };
        if let Reply::EventStream { page } = &reply
            && !head_only
        {
            let Some(sub) = cx.site.subscribe(page.clone(), self.token) else {
                return;
            };
            // Nothing else is read on this connection; the stream is
            // close-delimited.
            self.reader.stop();
            self.stage_reply(reply, Persist::Close, false, line, cx);
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
            // Answered in a later wake-up: what the last read saw is stale.
            self.drained = false;
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
            // A file body takes a while to send (sendfile): a client may
            // send more meanwhile, so a close after it looks first.
            self.drained = false;
            self.send(cx);
        }
    }

    /// Stages `reply` behind what is staged (its head, and its body unless
    /// `head_only`) and records it for the access log (an event stream
    /// with no length: it is logged when it ends, with its length then).
    pub(super) fn stage_reply(
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
        let open_ended = matches!(reply, Reply::EventStream { .. }) && !head_only;
        let body = reply.into_body();
        let len = (!open_ended).then_some(if head_only { 0 } else { body.len() });
        if !head_only {
            self.output.stage(body, &mut cx.out);
        }
        cx.log.stage(
            &mut self.unlogged,
            &self.peer,
            line,
            status,
            body_start,
            len,
            self.started,
        );
    }

    /// Writes what is staged, then logs the responses now wholly sent.
    pub(super) fn write_out(&mut self, cx: &mut Ctx) -> Sent {
        let last = self.end == End::AfterResponse;
        let sent = self.output.flush(&self.sock, &mut cx.out, last);
        cx.log.settle(&mut self.unlogged, self.output.sent());
        sent
    }

    /// Writes what is staged; a full socket moves to the write state.
    pub(super) fn send(&mut self, cx: &mut Ctx) -> Sent {
        let before = self.output.sent_late();
        let sent = self.write_out(cx);
        match sent {
            Sent::Done => {}
            Sent::Failed => self.end = End::Now,
            Sent::Blocked | Sent::Yield => {
                // The response ends in a later wake-up: what the last read
                // saw is stale by then.
                self.drained = false;
                self.wait_to_write(before, cx);
            }
        }
        sent
    }

    /// A response the socket did not take at once: the write state.
    fn wait_to_write(&mut self, before: u64, cx: &mut Ctx) {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Write(after) => {
                self.state = State::Write(after);
                if self.output.sent_late() > before {
                    // The response made progress.
                    self.deadline = cx.now + cx.timeouts.write;
                }
            }
            State::Body(d) => self.enter(State::Write(Some(d)), cx),
            _ => self.enter(State::Write(None), cx),
        }
    }

    /// Writes staged output; once all is out, closes or carries on with
    /// buffered input.
    pub(super) fn flush(&mut self, cx: &mut Ctx) -> Flow {
        match self.send(cx) {
            Sent::Failed => Flow::Close,
            // Level-triggered EPOLLOUT brings a yielded connection back.
            Sent::Blocked | Sent::Yield => Flow::Wait(Interest::Write),
            Sent::Done => self.response_done(cx),
        }
    }

    /// Everything staged is out.
    pub(super) fn response_done(&mut self, cx: &mut Ctx) -> Flow {
        if self.end == End::AfterResponse {
            // A client that asked for the close, sent nothing after that
            // request, and was answered at once (in the wake-up of the read
            // that took all the socket held, from memory) can't be reset by
            // our close: skip the lingering. Otherwise linger: a client
            // given time (a file body, a blocked write, a reply being made)
            // may have sent more meanwhile, and a peek would race with it
            // (its next bytes held by Nagle until our data acknowledged its
            // first, then arriving just after the peek).
            if self.client_closes && self.drained && !self.reader.has_buffered() {
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
}
