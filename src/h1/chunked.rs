//! Chunked transfer coding (RFC 9112 §7.1): finds where a chunked request
//! body ends so it can be discarded and the next request found.
//!
//! The grammar is followed exactly, because a framing that two parsers
//! read differently is how requests are smuggled:
//!
//! ```text
//! chunk      = 1*HEXDIG *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ) CRLF
//!              chunk-data CRLF
//! last-chunk = 1*"0" [ chunk-ext ] CRLF
//! trailer    = *( field-name ":" OWS field-value OWS CRLF ) CRLF
//! ```
//! Whitespace is allowed only before a `;` and around an `=`: a chunk line
//! ending in spaces or tabs (`3 `, `3;e=v\t`) is malformed. Line ends are
//! CRLF only; quoted strings are ASCII; trailer lines follow the rules of
//! header lines (a token name, no space before the colon, no folding, no
//! control characters in the value).

use crate::http::syntax::is_tchar;

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
    Size {
        digits: u8,
    },
    /// Whitespace after the size or a value: more whitespace or `;` next
    /// (never CR: whitespace may not end the line).
    ExtBeforeSemi,
    /// After `;`: whitespace, then an extension name.
    ExtNameStart,
    ExtName,
    /// Whitespace after a name: more whitespace, `=` or `;` next.
    ExtAfterName,
    /// After `=`: whitespace, then a token or a quoted string.
    ExtValueStart,
    ExtToken,
    ExtQuoted,
    /// After a backslash inside a quoted string.
    ExtQuotedPair,
    /// Right after a quoted string's closing quote.
    ExtQuotedEnd,
    SizeLf,
    Data {
        left: u64,
    },
    DataCr,
    DataLf,
    TrailerLineStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    EndLf,
    Done,
}

impl ChunkState {
    /// Within a chunk-size line (size and extensions), whose length is capped.
    fn in_size_line(self) -> bool {
        use ChunkState::*;
        matches!(
            self,
            Size { .. }
                | ExtBeforeSemi
                | ExtNameStart
                | ExtName
                | ExtAfterName
                | ExtValueStart
                | ExtToken
                | ExtQuoted
                | ExtQuotedPair
                | ExtQuotedEnd
        )
    }
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
            if self.state.in_size_line() {
                self.line += 1;
            }
            match self.state {
                Data { left } => {
                    let take = (input.len() - i).min(usize::try_from(left).unwrap_or(usize::MAX));
                    i += take;
                    let left = left - take as u64;
                    self.state = if left == 0 { DataCr } else { Data { left } };
                    continue;
                }
                Size { digits } => {
                    if let Some(d) = (b as char).to_digit(16) {
                        if digits >= 16 {
                            return Err(ChunkError::Malformed);
                        }
                        self.size = (self.size << 4) | u64::from(d);
                        self.state = Size { digits: digits + 1 };
                    } else if digits == 0 {
                        return Err(ChunkError::Malformed);
                    } else {
                        self.state = after_value(b)?;
                    }
                }
                ExtBeforeSemi => {
                    self.state = match b {
                        b' ' | b'\t' => ExtBeforeSemi,
                        b';' => ExtNameStart,
                        _ => return Err(ChunkError::Malformed),
                    }
                }
                ExtNameStart if is_ws(b) => {}
                ExtNameStart if is_tchar(b) => self.state = ExtName,
                ExtName if is_tchar(b) => {}
                ExtName | ExtAfterName => {
                    self.state = match b {
                        b' ' | b'\t' => ExtAfterName,
                        b'=' => ExtValueStart,
                        b';' => ExtNameStart,
                        b'\r' if self.state == ExtName => SizeLf,
                        _ => return Err(ChunkError::Malformed),
                    }
                }
                ExtValueStart if is_ws(b) => {}
                ExtValueStart if b == b'"' => self.state = ExtQuoted,
                ExtValueStart if is_tchar(b) => self.state = ExtToken,
                ExtToken if is_tchar(b) => {}
                ExtToken | ExtQuotedEnd => self.state = after_value(b)?,
                ExtQuoted => {
                    self.state = match b {
                        b'"' => ExtQuotedEnd,
                        b'\\' => ExtQuotedPair,
                        // qdtext, ASCII only.
                        b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e => ExtQuoted,
                        _ => return Err(ChunkError::Malformed),
                    }
                }
                ExtQuotedPair => {
                    self.state = match b {
                        b'\t' | b' ' | 0x21..=0x7e => ExtQuoted,
                        _ => return Err(ChunkError::Malformed),
                    }
                }
                ExtNameStart | ExtValueStart => return Err(ChunkError::Malformed),
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
                    self.trailer += 1;
                    if b == b'\r' {
                        self.state = EndLf;
                    } else if is_tchar(b) {
                        self.state = TrailerName;
                    } else {
                        // Folding (a line starting with whitespace), a bare
                        // LF, or no field name.
                        return Err(ChunkError::Malformed);
                    }
                }
                TrailerName => {
                    self.trailer += 1;
                    if b == b':' {
                        self.state = TrailerValue;
                    } else if !is_tchar(b) {
                        // Whitespace before the colon, or no colon at all.
                        return Err(ChunkError::Malformed);
                    }
                }
                TrailerValue => {
                    self.trailer += 1;
                    match b {
                        b'\r' => self.state = TrailerLf,
                        b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => {}
                        _ => return Err(ChunkError::Malformed),
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

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Right after a chunk size, an extension name or value: whitespace, `;`
/// or CR.
fn after_value(b: u8) -> Result<ChunkState, ChunkError> {
    match b {
        b' ' | b'\t' => Ok(ChunkState::ExtBeforeSemi),
        b';' => Ok(ChunkState::ExtNameStart),
        b'\r' => Ok(ChunkState::SizeLf),
        _ => Err(ChunkError::Malformed),
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
    fn extensions_and_trailers_follow_the_grammar() {
        for good in [
            &b"3;a\r\nabc\r\n0\r\n\r\n"[..],
            b"3 ; a = b ; c\r\nabc\r\n0\r\n\r\n",
            b"3;a=\"q \\\" ;\"\r\nabc\r\n0;last\r\n\r\n",
            b"3\t;a=b\t;c\r\nabc\r\n0\r\n\r\n",
            b"3;a=\"v\"\r\nabc\r\n0;a=\"v\" ;b\r\n\r\n",
            b"0\r\nX-T: v\r\nY:\r\nZ: caf\xc3\xa9 \r\n\r\n",
        ] {
            assert_eq!(decode_all(good), Ok((good.len(), true)), "{good:?}");
        }
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
            // RFC 9112 §7.1.1: an extension is `;` token [`=` value].
            b"3 zzz\r\nabc\r\n0\r\n\r\n",
            b"3;\r\nabc\r\n0\r\n\r\n",
            b"3;=v\r\nabc\r\n0\r\n\r\n",
            b"3;a=\r\nabc\r\n0\r\n\r\n",
            b"3;a=\"open\r\nabc\r\n0\r\n\r\n",
            b"3;a=\"caf\xc3\xa9\"\r\nabc\r\n0\r\n\r\n",
            b"3;a\xc3\xa9\r\nabc\r\n0\r\n\r\n",
            b"3;a=b c\r\nabc\r\n0\r\n\r\n",
            // §7.1.1: whitespace only before `;` and around `=`, never
            // ending the line.
            b"3 \r\nabc\r\n0\r\n\r\n",
            b"3\t\r\nabc\r\n0\r\n\r\n",
            b"3\r\nabc\r\n0 \r\n\r\n",
            b"3;e \r\nabc\r\n0\r\n\r\n",
            b"3;e=v \r\nabc\r\n0\r\n\r\n",
            b"3;e=\"v\"\t\r\nabc\r\n0\r\n\r\n",
            b"3;e= \r\nabc\r\n0\r\n\r\n",
            // Trailers are field lines.
            b"0\r\nGET /x HTTP/1.1\r\n\r\n",
            b"0\r\nX : y\r\n\r\n",
            b"0\r\nX: y\r\n folded\r\n\r\n",
            b"0\r\n: y\r\n\r\n",
            b"0\r\nX: a\x00b\r\n\r\n",
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
