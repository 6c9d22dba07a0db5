//! Raw quotes in request URLs. Entra's validator and some IdPs send
//! `GET /Users?filter=userName eq "a@b.c"` with `"` (and sometimes spaces) unencoded; the HTTP
//! parser refuses such a request line before any handler runs. This wrapper of every accepted
//! connection rewrites each request line on the way in, percent-encoding in the request target
//! exactly the bytes the parser would refuse, and leaves everything else alone. It follows
//! HTTP/1 framing (headers, `Content-Length` bodies) to find the next request line of a
//! keep-alive connection, and stops rewriting for good on anything it does not fully understand
//! (chunked bodies, oversized lines).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest request line or header line examined; longer ones pass through untouched.
const MAX_LINE: usize = 16 * 1024;

/// A connection whose incoming request lines are made acceptable to the URI parser.
#[derive(Debug)]
pub struct LenientStream<S> {
    inner: S,
    rewriter: Rewriter,
    /// Rewritten bytes not yet handed to the reader.
    out: Vec<u8>,
    out_position: usize,
    /// Raw bytes read from the socket; kept, so a read does not clear 8 KiB of stack each time.
    scratch: Box<[u8]>,
}

impl<S> LenientStream<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            rewriter: Rewriter::default(),
            out: Vec::new(),
            out_position: 0,
            scratch: vec![0; 8 * 1024].into_boxed_slice(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for LenientStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.out_position < this.out.len() {
                let count = buf.remaining().min(this.out.len() - this.out_position);
                buf.put_slice(&this.out[this.out_position..this.out_position + count]);
                this.out_position += count;
                if this.out_position == this.out.len() {
                    this.out.clear();
                    this.out_position = 0;
                }
                return Poll::Ready(Ok(()));
            }
            let mut raw = ReadBuf::new(&mut this.scratch);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut raw))?;
            if raw.filled().is_empty() {
                // End of stream: hand over a request line cut short, as it was.
                this.rewriter.finish(&mut this.out);
                if this.out.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            this.rewriter.feed(raw.filled(), &mut this.out);
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for LenientStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Where in the HTTP/1 byte stream the rewriter is.
#[derive(Debug, Default)]
enum State {
    /// Collecting a request line.
    #[default]
    RequestLine,
    /// Collecting header lines; what they say about the body so far.
    Headers { content_length: u64, chunked: bool },
    /// Passing this many body bytes through.
    Body(u64),
    /// Not following the framing any more: everything passes through.
    PassThrough,
}

/// The byte-level state machine: feed it what arrives, it appends what the parser should see.
#[derive(Debug, Default)]
pub(crate) struct Rewriter {
    state: State,
    line: Vec<u8>,
}

impl Rewriter {
    pub(crate) fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            match &mut self.state {
                State::PassThrough => {
                    out.extend_from_slice(input);
                    return;
                }
                State::Body(remaining) => {
                    let take = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    out.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    *remaining -= take as u64;
                    if *remaining == 0 {
                        self.state = State::RequestLine;
                    }
                }
                State::RequestLine | State::Headers { .. } => {
                    let newline = input.iter().position(|&byte| byte == b'\n');
                    let before_newline = newline.unwrap_or(input.len());
                    if self.line.len() + before_newline > MAX_LINE {
                        out.append(&mut self.line);
                        out.extend_from_slice(input);
                        self.state = State::PassThrough;
                        return;
                    }
                    let Some(newline) = newline else {
                        self.line.extend_from_slice(input);
                        return;
                    };
                    let (line, rest) = input.split_at(newline + 1);
                    input = rest;
                    if self.line.is_empty() {
                        // The usual case: the whole line arrived in this read.
                        self.end_of_line(line, out);
                    } else {
                        let mut whole = std::mem::take(&mut self.line);
                        whole.extend_from_slice(line);
                        self.end_of_line(&whole, out);
                        whole.clear();
                        self.line = whole;
                    }
                }
            }
        }
    }

    /// Hands over a partial line when the connection ends.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.line);
    }

    fn end_of_line(&mut self, line: &[u8], out: &mut Vec<u8>) {
        match &mut self.state {
            State::RequestLine => {
                // Empty lines before a request are allowed (RFC 9112 §2.2).
                if line != b"\r\n" && line != b"\n" {
                    self.state = State::Headers {
                        content_length: 0,
                        chunked: false,
                    };
                    encode_request_target(line, out);
                    return;
                }
                out.extend_from_slice(line);
            }
            State::Headers {
                content_length,
                chunked,
            } => {
                out.extend_from_slice(line);
                if line == b"\r\n" || line == b"\n" {
                    self.state = match (*chunked, *content_length) {
                        (true, _) => State::PassThrough,
                        (false, 0) => State::RequestLine,
                        (false, length) => State::Body(length),
                    };
                    return;
                }
                let Some(colon) = line.iter().position(|&byte| byte == b':') else {
                    return;
                };
                let (name, value) = (line[..colon].trim_ascii(), line[colon + 1..].trim_ascii());
                if name.eq_ignore_ascii_case(b"content-length") {
                    match std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                        Some(length) => *content_length = length,
                        // The parser will refuse this request; stop following the framing.
                        None => self.state = State::PassThrough,
                    }
                } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                    *chunked = true;
                }
            }
            State::Body(_) | State::PassThrough => out.extend_from_slice(line),
        }
    }
}

/// Appends `METHOD SP target SP HTTP/x.y CRLF` with the target's refused bytes percent-encoded.
/// The target runs from the first space to the last one, so unencoded spaces inside it are
/// recovered too. A line of any other shape is appended unchanged for the parser to judge.
fn encode_request_target(line: &[u8], out: &mut Vec<u8>) {
    let refused = |byte: &u8| matches!(byte, b' ' | b'"' | b'#' | b'<' | b'>');
    let body_end = line.len() - if line.ends_with(b"\r\n") { 2 } else { 1 };
    let content = &line[..body_end];
    let (Some(first), Some(last)) = (
        content.iter().position(|b| *b == b' '),
        content.iter().rposition(|b| *b == b' '),
    ) else {
        out.extend_from_slice(line);
        return;
    };
    let well_formed = |target: &[u8]| !target.iter().any(refused);
    if first == last
        || !content[last + 1..].starts_with(b"HTTP/")
        || well_formed(&content[first + 1..last])
    {
        out.extend_from_slice(line);
        return;
    }
    let target = &content[first + 1..last];
    out.extend_from_slice(&content[..=first]);
    for byte in target {
        if refused(byte) {
            out.extend_from_slice(format!("%{byte:02X}").as_bytes());
        } else {
            out.push(*byte);
        }
    }
    out.extend_from_slice(&content[last..]);
    out.extend_from_slice(&line[body_end..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite_in_pieces(input: &[u8], piece: usize) -> Vec<u8> {
        let mut rewriter = Rewriter::default();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            rewriter.feed(chunk, &mut out);
        }
        rewriter.finish(&mut out);
        out
    }

    fn rewritten(input: &[u8]) -> Vec<u8> {
        let whole = rewrite_in_pieces(input, input.len().max(1));
        for piece in 1..input.len().min(40) {
            assert_eq!(
                rewrite_in_pieces(input, piece),
                whole,
                "split every {piece} bytes"
            );
        }
        whole
    }

    #[test]
    fn raw_quotes_and_spaces_in_the_target_are_encoded() {
        let input = b"GET /scim/v2/Users?filter=userName eq \"a@b.c\" HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            rewritten(input),
            b"GET /scim/v2/Users?filter=userName%20eq%20%22a@b.c%22 HTTP/1.1\r\nHost: x\r\n\r\n"
                .to_vec()
        );
    }

    #[test]
    fn well_formed_requests_pass_unchanged() {
        let input =
            b"GET /scim/v2/Users?filter=userName+eq+%22a%40b.c%22 HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(rewritten(input), input.to_vec());
    }

    #[test]
    fn bodies_are_skipped_and_the_next_request_line_is_found() {
        let body = "{\"userName\":\"a \\\"b\\\" c@d.e\"}\r\n";
        let input = format!(
            "POST /Users HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}GET /Users?filter=x eq \"y\" HTTP/1.1\r\n\r\n",
            body.len()
        );
        let expected = format!(
            "POST /Users HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}GET /Users?filter=x%20eq%20%22y%22 HTTP/1.1\r\n\r\n",
            body.len()
        );
        assert_eq!(rewritten(input.as_bytes()), expected.into_bytes());
    }

    #[test]
    fn chunked_bodies_and_oversized_lines_switch_to_pass_through() {
        let input = b"POST /Users HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /a\"b HTTP/1.1\r\n\r\n";
        assert_eq!(rewritten(input), input.to_vec());
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "\"".repeat(MAX_LINE + 10));
        assert_eq!(rewrite_in_pieces(long.as_bytes(), 4096), long.into_bytes());
    }

    #[test]
    fn odd_lines_are_left_for_the_parser_to_judge() {
        for input in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET /x\"y\r\n",
            b"\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            b"GET /\"partial",
            b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\nGET /\" HTTP/1.1\r\n",
        ] {
            assert_eq!(
                rewritten(input),
                input.to_vec(),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
