//! A screen in front of actix's HTTP/1 parser, so that a request head it would refuse still gets a problem+json
//! answer.
//!
//! actix answers a request target it cannot parse (longer than 65,534 bytes, or bytes a URI cannot hold) with a
//! bare 400 and a head that is too large with a bare 431, before any application code runs. The screen reads each
//! request head first, with the same parser actix uses (`httparse`), and when the head is one actix would refuse it
//! hands actix a small stand-in request for [`REFUSED_PATH`] instead, whose handler answers with the right status
//! and a problem document; the connection then closes. Good requests pass through byte for byte.
//!
//! To know where each head starts on a kept-alive connection, the screen follows the body framing
//! (`Content-Length`, `Transfer-Encoding: chunked`). Where the framing is anything it does not follow with
//! certainty, it steps aside for the rest of the connection and leaves everything to actix.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The path of the stand-in request; its handler answers with the status named after it.
pub const REFUSED_PATH: &str = "/__refused";

/// The longest request target the URI type can hold.
pub const MAX_TARGET: usize = 65_534;
/// The largest request head screened; a larger one is answered 431.
pub const MAX_HEAD: usize = 64 * 1024;
/// Headers a request may have (actix's own limit).
const MAX_HEADERS: usize = 96;
/// The longest chunk-size line followed before the screen steps aside.
const MAX_CHUNK_LINE: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading a chunk-size line, of which this many bytes have come.
    Size(usize),
    Data(u64),
    /// The CRLF after a chunk's data: this many bytes of it still to come.
    DataEnd(u8),
    /// Reading trailer lines; whether the current line has any byte but CR yet.
    Trailer(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Waiting for (the rest of) a request head.
    Head,
    /// This many body bytes still to pass.
    Body(u64),
    Chunked(Chunk),
    /// Not following the framing any more: everything passes.
    Aside,
    /// A refused head was replaced: nothing more is read from this connection.
    Closed,
}

/// An I/O stream whose request heads are screened on the way in.
pub struct Screened<T> {
    inner: T,
    framing: Framing,
    /// The head read so far (in `Head`).
    head: BytesMut,
    /// What the parser may have next.
    ready: BytesMut,
    /// The chunk-size line read so far.
    line: Vec<u8>,
}

impl<T> Screened<T> {
    pub fn new(inner: T) -> Self {
        Screened {
            inner,
            framing: Framing::Head,
            head: BytesMut::new(),
            ready: BytesMut::new(),
            line: Vec::new(),
        }
    }

    /// Takes bytes from the wire, moving what may pass to `ready`.
    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.framing {
                Framing::Aside => {
                    self.ready.extend_from_slice(data);
                    return;
                }
                Framing::Closed => return,
                Framing::Body(left) => {
                    let n = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.ready.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    self.framing = if left == n as u64 {
                        Framing::Head
                    } else {
                        Framing::Body(left - n as u64)
                    };
                }
                Framing::Chunked(Chunk::Data(left)) => {
                    let n = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.ready.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    self.framing = Framing::Chunked(if left == n as u64 {
                        Chunk::DataEnd(2)
                    } else {
                        Chunk::Data(left - n as u64)
                    });
                }
                Framing::Chunked(chunk) => {
                    let byte = data[0];
                    self.ready.extend_from_slice(&data[..1]);
                    data = &data[1..];
                    self.framing = self.chunk_byte(chunk, byte);
                }
                Framing::Head => {
                    // A head is kept whole until it can be judged; pipelined heads are judged one after another.
                    self.head.extend_from_slice(data);
                    data = &[];
                    loop {
                        let held = self.head.len();
                        self.judge_head();
                        match self.framing {
                            // A bodiless request passed: what follows it is the next head.
                            Framing::Head if self.head.len() < held && !self.head.is_empty() => {}
                            Framing::Head => break,
                            _ => {
                                let rest = std::mem::take(&mut self.head);
                                self.feed(&rest);
                                break;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Follows one byte of a chunked body.
    fn chunk_byte(&mut self, chunk: Chunk, byte: u8) -> Framing {
        match chunk {
            Chunk::Size(_) if byte == b'\n' => {
                let line = std::mem::take(&mut self.line);
                let text = String::from_utf8_lossy(&line);
                let size = text.trim_end_matches('\r').split(';').next().unwrap_or_default().trim();
                match u64::from_str_radix(size, 16) {
                    Ok(0) => Framing::Chunked(Chunk::Trailer(false)),
                    Ok(n) => Framing::Chunked(Chunk::Data(n)),
                    Err(_) => Framing::Aside,
                }
            }
            Chunk::Size(seen) if seen >= MAX_CHUNK_LINE => Framing::Aside,
            Chunk::Size(seen) => {
                self.line.push(byte);
                Framing::Chunked(Chunk::Size(seen + 1))
            }
            Chunk::DataEnd(1) => Framing::Chunked(Chunk::Size(0)),
            Chunk::DataEnd(left) => Framing::Chunked(Chunk::DataEnd(left - 1)),
            Chunk::Trailer(filled) if byte == b'\n' => {
                if filled {
                    Framing::Chunked(Chunk::Trailer(false))
                } else {
                    Framing::Head
                }
            }
            Chunk::Trailer(filled) => Framing::Chunked(Chunk::Trailer(filled || byte != b'\r')),
            Chunk::Data(left) if left > 1 => Framing::Chunked(Chunk::Data(left - 1)),
            Chunk::Data(_) => Framing::Chunked(Chunk::DataEnd(2)),
        }
    }

    /// Judges the head read so far: passes a good one on and sets the framing of its body, replaces one that the
    /// parser would refuse, or waits for more.
    fn judge_head(&mut self) {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS + 1];
        let mut request = httparse::Request::new(&mut headers);
        let verdict = match request.parse(&self.head) {
            // Too large before its end: the request line alone, or the headers after it.
            Ok(httparse::Status::Partial) if self.head.len() > MAX_HEAD => {
                Verdict::Refuse(if self.head.contains(&b'\n') { 431 } else { 414 })
            }
            Ok(httparse::Status::Partial) => Verdict::Wait,
            Err(httparse::Error::TooManyHeaders) => Verdict::Refuse(431),
            Err(_) => Verdict::Refuse(400),
            Ok(httparse::Status::Complete(length)) => {
                let target = request.path.unwrap_or_default();
                if target.len() > MAX_TARGET {
                    Verdict::Refuse(414)
                } else if request.headers.len() > MAX_HEADERS || length > MAX_HEAD {
                    Verdict::Refuse(431)
                } else if actix_web::http::Uri::try_from(target).is_err() {
                    Verdict::Refuse(400)
                } else {
                    Verdict::Pass(length, body_framing(request.headers))
                }
            }
        };
        match verdict {
            Verdict::Wait => {}
            Verdict::Pass(length, framing) => {
                let head = self.head.split_to(length);
                self.ready.extend_from_slice(&head);
                self.framing = framing;
            }
            Verdict::Refuse(status) => {
                self.head.clear();
                self.ready.extend_from_slice(
                    format!("GET {REFUSED_PATH}/{status} HTTP/1.1\r\nhost: refused\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                );
                self.framing = Framing::Closed;
            }
        }
    }
}

enum Verdict {
    Wait,
    Pass(usize, Framing),
    Refuse(u16),
}

/// How the body after a head is framed. Anything but one clear `Content-Length` or a `chunked` coding alone
/// (both at once, differing lengths, other codings) is left to actix, which refuses what it must.
fn body_framing(headers: &[httparse::Header<'_>]) -> Framing {
    let mut length: Option<u64> = None;
    let mut chunked = false;
    for header in headers {
        if header.name.eq_ignore_ascii_case("content-length") {
            let Some(n) = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
            else {
                return Framing::Aside;
            };
            if length.is_some_and(|l| l != n) {
                return Framing::Aside;
            }
            length = Some(n);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if chunked || !header.value.eq_ignore_ascii_case(b"chunked") {
                return Framing::Aside;
            }
            chunked = true;
        }
    }
    match (length, chunked) {
        (Some(_), true) => Framing::Aside,
        (None, true) => Framing::Chunked(Chunk::Size(0)),
        (Some(0) | None, false) => Framing::Head,
        (Some(n), false) => Framing::Body(n),
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Screened<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.ready.is_empty() {
                let n = this.ready.len().min(buf.remaining());
                buf.put_slice(&this.ready[..n]);
                this.ready.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.framing == Framing::Closed {
                // The stand-in request asked for the connection to close; actix closes it after answering.
                return Poll::Pending;
            }
            let mut scratch = [0u8; 8 * 1024];
            let mut read = ReadBuf::new(&mut scratch);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // End of stream: an unfinished head goes to actix as it is, which answers it or not.
                if this.head.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                let head = std::mem::take(&mut this.head);
                this.ready.extend_from_slice(&head);
                this.framing = Framing::Aside;
                continue;
            }
            this.feed(read.filled());
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Screened<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the parser is handed for `input` arriving in pieces of `piece` bytes.
    fn screened(input: &[u8], piece: usize) -> Vec<u8> {
        let mut screen = Screened::new(());
        for part in input.chunks(piece) {
            screen.feed(part);
        }
        screen.ready.to_vec()
    }

    fn stand_in(status: u16) -> Vec<u8> {
        format!("GET {REFUSED_PATH}/{status} HTTP/1.1\r\nhost: refused\r\nconnection: close\r\n\r\n").into_bytes()
    }

    #[test]
    fn good_requests_pass_byte_for_byte_in_any_pieces() {
        let traffic = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{\"a\"}\
            POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n\
            GET /c?q=Thanh%20S%C6%A1n HTTP/1.1\r\nHost: x\r\n\r\n";
        for piece in [1, 2, 7, 64, traffic.len()] {
            assert_eq!(screened(traffic, piece), traffic.to_vec(), "pieces of {piece}");
        }
    }

    #[test]
    fn pipelined_requests_without_bodies_all_pass_and_a_bad_one_among_them_is_replaced() {
        let two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(screened(two, two.len()), two.to_vec());
        let three = b"POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
        assert_eq!(screened(three, three.len()), three.to_vec());
        let good = b"GET /a HTTP/1.1\r\n\r\n".to_vec();
        let traffic = [good.clone(), b"GET /\xff HTTP/1.1\r\n\r\n".to_vec()].concat();
        assert_eq!(screened(&traffic, traffic.len()), [good, stand_in(400)].concat());
    }

    #[test]
    fn a_body_that_looks_like_a_bad_head_is_not_judged() {
        let traffic = b"POST /a HTTP/1.1\r\nContent-Length: 14\r\n\r\nGET /\xff HTTP/1.1GET / HTTP/1.1\r\n\r\n";
        assert_eq!(screened(traffic, 3), traffic.to_vec());
    }

    #[test]
    fn heads_the_parser_refuses_are_replaced() {
        let long = format!("GET /?q={} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(MAX_TARGET));
        assert_eq!(screened(long.as_bytes(), 4096), stand_in(414));
        assert_eq!(screened(long.as_bytes(), long.len()), stand_in(414));
        assert_eq!(screened(b"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", 5), stand_in(400));
        assert_eq!(screened(b"GET /\xff HTTP/1.1\r\n\r\n", 5), stand_in(400));
        let many: String = (0..100).map(|i| format!("X-{i}: 1\r\n")).collect();
        assert_eq!(
            screened(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes(), 100),
            stand_in(431)
        );
        let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(screened(huge.as_bytes(), 1000), stand_in(431));
        // After a good request, the bad one that follows is replaced and nothing more passes.
        let mut traffic = b"GET / HTTP/1.1\r\n\r\n".to_vec();
        let good = traffic.clone();
        traffic.extend_from_slice(b"GET /\xff HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        assert_eq!(screened(&traffic, 9), [good, stand_in(400)].concat());
    }

    #[test]
    fn framing_it_does_not_follow_is_left_to_actix() {
        let both =
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nGET /\xff HTTP/1.1\r\n\r\n";
        assert_eq!(screened(both, 4), both.to_vec());
        let gzip = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\nxyz";
        assert_eq!(screened(gzip, 4), gzip.to_vec());
    }
}
