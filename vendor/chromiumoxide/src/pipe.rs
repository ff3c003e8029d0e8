//! The transport of `--remote-debugging-pipe`: Chromium reads commands from its fd 3 and
//! writes responses and events to its fd 4, each message a JSON text followed by a NUL
//! byte (Chromium's `DevToolsPipeHandler`, ASCIIZ mode; `--remote-debugging-pipe=cbor`
//! would switch it to length-prefixed CBOR, which this transport does not speak).
//!
//! No port is opened: only the holder of the other ends of these fds can talk to the
//! browser.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read from the browser at a time.
const READ_CHUNK: usize = 64 * 1024;

/// NUL-delimited JSON over a byte stream pair: a `Stream` of the browser's messages and a
/// `Sink` for ours.
pub struct PipeTransport {
    reader: Pin<Box<dyn AsyncRead + Send>>,
    writer: Pin<Box<dyn AsyncWrite + Send>>,
    /// Bytes read and not yet handed out; `scanned` of them hold no NUL.
    read_buf: Vec<u8>,
    scanned: usize,
    /// Serialized messages (each with its NUL) not yet written; `written` of them are.
    write_buf: Vec<u8>,
    written: usize,
    eof: bool,
}

impl PipeTransport {
    /// `reader` is connected to the browser's fd 4, `writer` to its fd 3.
    pub fn new(
        reader: impl AsyncRead + Send + 'static,
        writer: impl AsyncWrite + Send + 'static,
    ) -> Self {
        PipeTransport {
            reader: Box::pin(reader),
            writer: Box::pin(writer),
            read_buf: Vec::new(),
            scanned: 0,
            write_buf: Vec::new(),
            written: 0,
            eof: false,
        }
    }

    /// Over one socket of a `socketpair(2)` whose other end is the browser's fd 3 and fd 4.
    #[cfg(unix)]
    pub fn from_unix_stream(stream: tokio::net::UnixStream) -> Self {
        let (r, w) = stream.into_split();
        Self::new(r, w)
    }

    /// Writes out what is buffered.
    fn poll_write_buffered(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.write_buf.len() {
            let n = match self
                .writer
                .as_mut()
                .poll_write(cx, &self.write_buf[self.written..])
            {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.write_buf.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for PipeTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeTransport")
            .field("buffered_in", &self.read_buf.len())
            .field("buffered_out", &(self.write_buf.len() - self.written))
            .field("eof", &self.eof)
            .finish()
    }
}

impl Stream for PipeTransport {
    type Item = io::Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(i) = this.read_buf[this.scanned..].iter().position(|b| *b == 0) {
                let end = this.scanned + i;
                let rest = this.read_buf.split_off(end + 1);
                let mut msg = std::mem::replace(&mut this.read_buf, rest);
                msg.truncate(end);
                this.scanned = 0;
                return Poll::Ready(Some(
                    String::from_utf8(msg)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
                ));
            }
            this.scanned = this.read_buf.len();
            if this.eof {
                return Poll::Ready(None);
            }
            let len = this.read_buf.len();
            this.read_buf.resize(len + READ_CHUNK, 0);
            let mut buf = ReadBuf::new(&mut this.read_buf[len..]);
            let polled = this.reader.as_mut().poll_read(cx, &mut buf);
            let n = buf.filled().len();
            this.read_buf.truncate(len + n);
            match polled {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Ok(())) if n == 0 => {
                    // The browser closed its end: it exited. This is reported as an error,
                    // once, then the stream ends: chromiumoxide's `Handler` takes the end
                    // of its connection for "nothing to read" and would wait forever (a
                    // WebSocket that drops yields a tungstenite error instead).
                    this.eof = true;
                    let len = this.read_buf.len();
                    this.read_buf.clear();
                    this.scanned = 0;
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        if len == 0 {
                            "the browser closed the CDP pipe".to_string()
                        } else {
                            format!("the browser closed the CDP pipe amid a message ({len} bytes)")
                        },
                    ))));
                }
                Poll::Ready(Ok(())) => {}
            }
        }
    }
}

impl Sink<String> for PipeTransport {
    type Error = io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_write_buffered(cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: String) -> io::Result<()> {
        let this = self.get_mut();
        this.write_buf.extend_from_slice(msg.as_bytes());
        this.write_buf.push(0);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_write_buffered(cx) {
            Poll::Ready(Ok(())) => this.writer.as_mut().poll_flush(cx),
            other => other,
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_write_buffered(cx) {
            Poll::Ready(Ok(())) => this.writer.as_mut().poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn splits_on_nul_across_reads_and_frames_writes() {
        let (ours, mut theirs) = tokio::net::UnixStream::pair().unwrap();
        let mut t = PipeTransport::from_unix_stream(ours);
        theirs.write_all(b"{\"a\":1}\0{\"b\"").await.unwrap();
        assert_eq!(t.next().await.unwrap().unwrap(), "{\"a\":1}");
        theirs.write_all(b":2}\0").await.unwrap();
        assert_eq!(t.next().await.unwrap().unwrap(), "{\"b\":2}");
        t.send("{\"id\":0}".to_string()).await.unwrap();
        let mut got = [0u8; 9];
        theirs.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"{\"id\":0}\0");
        drop(theirs);
        let eof = t.next().await.unwrap().unwrap_err();
        assert_eq!(eof.kind(), io::ErrorKind::UnexpectedEof);
        assert!(t.next().await.is_none());
    }
}
