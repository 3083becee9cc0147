//! A streamed upload's bytes, handed from the request's task to the import job's blocking reader: [`Feed`] passes
//! the body's chunks into a bounded channel (so a slow import slows the upload, and memory stays bounded), and
//! [`BodyReader`] reads them as a [`std::io::Read`].

use std::io::{self, Read};

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

/// Chunks passed on and not yet read: at most this many (hyper's chunks are up to some tens of KiB).
const CHUNKS: usize = 32;

/// A chunk, or why the upload ended before its announced size.
type Chunk = Result<Bytes, String>;

/// A channel for an upload of `bytes` bytes.
pub(super) fn channel(bytes: u64) -> (Feed, BodyReader) {
    let (tx, rx) = mpsc::channel(CHUNKS);
    let feed = Feed { tx: Some(tx), ended: false, cut: None };
    (feed, BodyReader { rx, chunk: Bytes::new(), expected: bytes, received: 0 })
}

/// The sending side, on the request's task.
pub(super) struct Feed {
    /// `None` once the upload ended or the reader is gone.
    tx: Option<mpsc::Sender<Chunk>>,
    ended: bool,
    cut: Option<String>,
}

impl Feed {
    /// Whether the upload has been read to its end (or its cut).
    pub(super) fn closed(&self) -> bool {
        self.ended
    }

    /// Why the upload was cut off, if it was.
    pub(super) fn cut(&self) -> Option<&str> {
        self.cut.as_deref()
    }

    /// Reads the upload's next chunk and passes it on (drops it once the reader is gone: the import stopped);
    /// returns whether there may be more. Cancel-safe: a chunk is taken from the upload only once there is room
    /// for it, and then passed on at once.
    pub(super) async fn pass<S, E>(&mut self, upload: &mut S) -> bool
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        if self.ended {
            return false;
        }
        let permit = match &self.tx {
            Some(tx) => tx.clone().reserve_owned().await.ok(),
            None => None,
        };
        if permit.is_none() {
            self.tx = None;
        }
        match upload.next().await {
            Some(Ok(chunk)) => {
                if let Some(permit) = permit {
                    permit.send(Ok(chunk));
                }
                true
            }
            Some(Err(e)) => {
                let why = e.to_string();
                if let Some(permit) = permit {
                    permit.send(Err(why.clone()));
                }
                (self.cut, self.tx, self.ended) = (Some(why), None, true);
                false
            }
            None => {
                (self.tx, self.ended) = (None, true);
                false
            }
        }
    }
}

/// The reading side, on the import's blocking thread: the chunks in order, then end of file if exactly the
/// announced bytes arrived, else an error (a cut-off upload is never taken for a whole, shorter file).
pub(super) struct BodyReader {
    rx: mpsc::Receiver<Chunk>,
    chunk: Bytes,
    expected: u64,
    received: u64,
}

impl Read for BodyReader {
    /// Blocks until a chunk arrives; must not run on an async task.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.received += chunk.len() as u64;
                    self.chunk = chunk;
                }
                Some(Err(why)) => return Err(io::Error::other(format!("the upload was cut off: {why}"))),
                None if self.received == self.expected => return Ok(0),
                None => {
                    let (got, of) = (self.received, self.expected);
                    return Err(io::Error::other(format!("the upload ended after {got} of its {of} bytes")));
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.split_off(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: Vec<Result<&'static [u8], &'static str>>) -> impl Stream<Item = Result<Bytes, String>> + Unpin {
        futures_util::stream::iter(parts.into_iter().map(|p| p.map(Bytes::from_static).map_err(str::to_string)))
    }

    async fn read_all(parts: Vec<Result<&'static [u8], &'static str>>, bytes: u64) -> (io::Result<Vec<u8>>, bool) {
        let (mut feed, mut reader) = channel(bytes);
        let read = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            reader.read_to_end(&mut out).map(|_| out)
        });
        let mut upload = chunks(parts);
        while feed.pass(&mut upload).await {}
        (read.await.expect("reader"), feed.cut().is_some())
    }

    #[tokio::test]
    async fn the_chunks_in_order_then_the_end() {
        let (read, cut) = read_all(vec![Ok(b"ab"), Ok(b""), Ok(b"cde")], 5).await;
        assert_eq!((read.expect("read"), cut), (b"abcde".to_vec(), false));
    }

    #[tokio::test]
    async fn a_short_or_cut_upload_is_an_error_not_an_end() {
        let (read, cut) = read_all(vec![Ok(b"ab")], 5).await;
        let e = read.expect_err("short");
        assert!(e.to_string().contains("after 2 of its 5 bytes"), "{e}");
        assert!(!cut);
        let (read, cut) = read_all(vec![Ok(b"ab"), Err("reset")], 5).await;
        assert!(read.expect_err("cut").to_string().contains("cut off: reset"));
        assert!(cut);
    }

    #[tokio::test]
    async fn a_gone_reader_leaves_the_upload_drained() {
        let (mut feed, reader) = channel(4);
        drop(reader);
        let mut upload = chunks(vec![Ok(b"ab"), Ok(b"cd")]);
        let mut passes = 0;
        while feed.pass(&mut upload).await {
            passes += 1;
        }
        assert_eq!((passes, feed.closed()), (2, true));
    }
}
