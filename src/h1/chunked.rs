//! Chunked transfer coding (RFC 9112 §7.1): finds where a chunked request
//! body ends so it can be discarded and the next request found.

/// Why a chunked body was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// Bad chunk size, missing CRLF, oversized line: 400 and close.
    Malformed,
    /// More data than `--max-body`: 413 and close.
    TooLarge,
}

/// Longest chunk-size line (size + extensions) or trailer section accepted.
const MAX_CHUNK_LINE: usize = 4096;
/// Framing bytes (size lines, extensions, trailers) allowed on top of
/// `--max-body` for a chunked body.
const FRAMING_ALLOWANCE: u64 = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Size { digits: u8 },
    Extension,
    SizeLf,
    Data { left: u64 },
    DataCr,
    DataLf,
    TrailerLineStart,
    TrailerLine,
    TrailerLf,
    EndLf,
    Done,
}

/// Incremental decoder for a chunked body whose content is discarded. It
/// only finds where the body ends; strictly CRLF-delimited, because lenient
/// line endings in chunk framing are a known smuggling vector.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: ChunkState,
    size: u64,
    line: usize,
    trailer: usize,
    total: u64,
    /// All bytes seen, framing included: extensions and trailers count
    /// against the limit too.
    wire: u64,
    max_body: u64,
}

impl ChunkedDecoder {
    pub fn new(max_body: u64) -> Self {
        ChunkedDecoder {
            state: ChunkState::Size { digits: 0 },
            size: 0,
            line: 0,
            trailer: 0,
            total: 0,
            wire: 0,
            max_body,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Consumes body bytes from `input`; returns how many it used. Stops at
    /// the end of the body (then [`is_done`](Self::is_done)).
    pub fn feed(&mut self, input: &[u8]) -> Result<usize, ChunkError> {
        use ChunkState::*;
        let mut i = 0;
        while i < input.len() && self.state != Done {
            let b = input[i];
            match self.state {
                Data { left } => {
                    let take = (input.len() - i).min(usize::try_from(left).unwrap_or(usize::MAX));
                    i += take;
                    let left = left - take as u64;
                    self.state = if left == 0 { DataCr } else { Data { left } };
                    continue;
                }
                Size { digits } => {
                    self.line += 1;
                    if let Some(d) = (b as char).to_digit(16) {
                        if digits >= 16 {
                            return Err(ChunkError::Malformed);
                        }
                        self.size = (self.size << 4) | u64::from(d);
                        self.state = Size { digits: digits + 1 };
                    } else if digits == 0 {
                        return Err(ChunkError::Malformed);
                    } else if b == b';' || b == b' ' || b == b'\t' {
                        self.state = Extension;
                    } else if b == b'\r' {
                        self.state = SizeLf;
                    } else {
                        return Err(ChunkError::Malformed);
                    }
                }
                Extension => {
                    self.line += 1;
                    if b == b'\r' {
                        self.state = SizeLf;
                    } else if b == b'\n' || (b < 0x20 && b != b'\t') || b == 0x7f {
                        return Err(ChunkError::Malformed);
                    }
                }
                SizeLf => {
                    if b != b'\n' {
                        return Err(ChunkError::Malformed);
                    }
                    self.line = 0;
                    if self.size == 0 {
                        self.state = TrailerLineStart;
                    } else {
                        self.total = self.total.saturating_add(self.size);
                        if self.total > self.max_body {
                            return Err(ChunkError::TooLarge);
                        }
                        self.state = Data { left: self.size };
                        self.size = 0;
                    }
                }
                DataCr => {
                    if b != b'\r' {
                        return Err(ChunkError::Malformed);
                    }
                    self.state = DataLf;
                }
                DataLf => {
                    if b != b'\n' {
                        return Err(ChunkError::Malformed);
                    }
                    self.state = Size { digits: 0 };
                }
                TrailerLineStart => {
                    if b == b'\r' {
                        self.state = EndLf;
                    } else if b == b'\n' {
                        return Err(ChunkError::Malformed);
                    } else {
                        self.trailer += 1;
                        self.state = TrailerLine;
                    }
                }
                TrailerLine => {
                    self.trailer += 1;
                    if b == b'\r' {
                        self.state = TrailerLf;
                    } else if b == b'\n' || b == 0 {
                        return Err(ChunkError::Malformed);
                    }
                }
                TrailerLf => {
                    if b != b'\n' {
                        return Err(ChunkError::Malformed);
                    }
                    self.state = TrailerLineStart;
                }
                EndLf => {
                    if b != b'\n' {
                        return Err(ChunkError::Malformed);
                    }
                    self.state = Done;
                }
                Done => unreachable!("loop condition excludes Done"),
            }
            if self.line > MAX_CHUNK_LINE || self.trailer > 16 * MAX_CHUNK_LINE {
                return Err(ChunkError::Malformed);
            }
            i += 1;
        }
        self.wire += i as u64;
        if self.wire > self.max_body.saturating_add(FRAMING_ALLOWANCE) {
            return Err(ChunkError::TooLarge);
        }
        Ok(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(body: &[u8]) -> Result<(usize, bool), ChunkError> {
        let mut d = ChunkedDecoder::new(1 << 20);
        let n = d.feed(body)?;
        Ok((n, d.is_done()))
    }

    #[test]
    fn chunked_decoder_finds_the_end_with_extensions_and_trailers() {
        let body = b"5;name=value\r\nhello\r\n0\r\nX-Trailer: yes\r\n\r\nGET / HTTP/1.1";
        assert_eq!(decode_all(body), Ok((body.len() - 14, true)));
        let simple = b"3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(decode_all(simple), Ok((simple.len(), true)));
    }

    #[test]
    fn chunked_decoder_works_one_byte_at_a_time() {
        let body = b"a\r\n0123456789\r\n00\r\n\r\n";
        let mut d = ChunkedDecoder::new(100);
        for b in body.iter() {
            assert_eq!(d.feed(std::slice::from_ref(b)), Ok(1));
        }
        assert!(d.is_done());
    }

    #[test]
    fn chunked_decoder_rejects_bad_sizes_and_line_endings() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"-1\r\n",
            b"5\nhello\r\n",
            b"3\r\nabcX\r\n",
            b"11111111111111111\r\n",
            b"0\r\nbad\nline\r\n\r\n",
        ] {
            assert_eq!(
                decode_all(bad).map(|r| r.1),
                Err(ChunkError::Malformed),
                "{bad:?}"
            );
        }
        let mut d = ChunkedDecoder::new(4);
        assert_eq!(d.feed(b"5\r\n"), Err(ChunkError::TooLarge));
    }
}
