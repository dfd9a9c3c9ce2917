//! Every state's deadline, set in one place ([`Conn::enter`]), and the
//! minimum-rate windows of request bodies and responses.

use super::*;

impl Conn {
    /// When the worker must call [`Conn::on_deadline`].
    pub fn deadline(&self) -> Instant {
        match self.window {
            Some((end, _)) => end.min(self.deadline),
            None => self.deadline,
        }
    }

    /// At the start of the drain: a connection accepted within `grace`
    /// that has sent nothing yet is most likely a client about to send its
    /// first request (a new connection per request): it gets until
    /// `grace` after its accept to send it, and an answer. One in the
    /// middle of a request head gets `grace` from now to finish it.
    /// Returns whether it is kept.
    pub fn hold_for_request(&mut self, now: Instant, grace: Duration) -> bool {
        let until = match self.state {
            _ if self.unused => self.started + grace,
            State::Head if self.output.is_empty() => now + grace,
            _ => return false,
        };
        if now >= until {
            return false;
        }
        self.owed_answer = true;
        self.deadline = self.deadline.min(until);
        true
    }

    /// Enters `state` with its deadline; Body and Write start a rate
    /// window too.
    pub(super) fn enter(&mut self, state: State, cx: &Ctx) {
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
    pub(super) fn rate_window(&self, cx: &Ctx) -> Option<(Duration, u64, u64)> {
        let (window, rate, moved) = match self.state {
            State::Body(_) => (cx.timeouts.body, cx.min_body_rate, self.reader.body_read()),
            State::Write(_) => (cx.timeouts.write, cx.min_send_rate, self.output.sent_late()),
            _ => return None,
        };
        (rate > 0).then(|| (window, required(rate, window), moved))
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
}

/// Bytes a window of `window` must move at `rate` bytes per second.
fn required(rate: u64, window: Duration) -> u64 {
    (u128::from(rate) * window.as_millis() / 1000) as u64
}
