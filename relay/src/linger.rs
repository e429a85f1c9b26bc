//! Lingering close: after refusing a request it has not read (`431`, `413`, hyper's own `4xx`),
//! the relay reads and discards what the sender is still sending, for a bounded while, before
//! closing.
//!
//! Closing a socket with unread input makes the kernel send a reset instead of a FIN, and a
//! reset makes the sender's TCP stack drop the answer it has not read yet: a client that writes
//! its whole oversized request before reading would see "connection reset" and never the `431`.
//! nginx does the same (`lingering_close`, `lingering_time`, `lingering_timeout`); the bounds in
//! time and bytes keep a slow or endless sender from holding the connection.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Longest a refused connection is drained (nginx's `lingering_time`, shorter).
pub const LINGER_TIME: Duration = Duration::from_secs(2);
/// Silence from the sender that ends the drain early (nginx's `lingering_timeout`).
pub const LINGER_IDLE: Duration = Duration::from_secs(1);
/// Most bytes discarded: above the default body limit, so a refused 10 MiB body still drains.
pub const LINGER_BYTES: u64 = 16 << 20;

/// Whether a response refuses a request whose rest the sender may still be sending.
pub fn refuses_unread(status: http::StatusCode) -> bool {
    status == http::StatusCode::PAYLOAD_TOO_LARGE
        || status == http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
}

/// Where a connection's stream goes when hyper drops it, and whether its last answer refused
/// the request, so the connection task can drain it once hyper is done with it.
pub struct Slot<I> {
    io: Mutex<Option<I>>,
    refused: AtomicBool,
}

impl<I> Slot<I> {
    /// An empty slot.
    pub fn new() -> Arc<Self> {
        Arc::new(Slot {
            io: Mutex::new(None),
            refused: AtomicBool::new(false),
        })
    }

    /// Records whether the connection's latest answer refused an unread request.
    pub fn set_refused(&self, refused: bool) {
        self.refused.store(refused, Ordering::Relaxed);
    }

    /// Whether the latest answer refused an unread request.
    pub fn refused(&self) -> bool {
        self.refused.load(Ordering::Relaxed)
    }

    /// The stream, once hyper has dropped it (`None` while in use, or after an upgrade that
    /// still owns it).
    pub fn take(&self) -> Option<I> {
        self.io.lock().ok()?.take()
    }
}

/// A stream that hands itself back to its [`Slot`] when dropped instead of closing.
pub struct Tracked<I> {
    io: Option<I>,
    slot: Arc<Slot<I>>,
}

impl<I> Tracked<I> {
    /// Wraps `io`; it returns to `slot` on drop.
    pub fn new(io: I, slot: Arc<Slot<I>>) -> Self {
        Tracked { io: Some(io), slot }
    }

    fn io(&mut self) -> Pin<&mut I>
    where
        I: Unpin,
    {
        Pin::new(self.io.as_mut().expect("the stream is only taken on drop"))
    }
}

impl<I> Drop for Tracked<I> {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.slot.io.lock() {
            *slot = self.io.take();
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().io().poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.as_ref().is_some_and(AsyncWrite::is_write_vectored)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io().poll_shutdown(cx)
    }
}

/// Finishes the answer (FIN), then reads and discards input until the sender closes, falls
/// silent for [`LINGER_IDLE`], [`LINGER_TIME`] passes, [`LINGER_BYTES`] arrive, or `shutdown`.
/// Returns the bytes discarded.
pub async fn drain<I>(mut io: I, shutdown: &CancellationToken) -> u64
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = Instant::now() + LINGER_TIME;
    // hyper has usually shut the write side already; a second shutdown is harmless, and one
    // is needed when it has not, or the sender keeps waiting for the rest of the answer.
    if tokio::time::timeout_at(deadline, io.shutdown())
        .await
        .is_err()
    {
        return 0;
    }
    let mut buf = vec![0; 16 * 1024];
    let mut total = 0u64;
    while total < LINGER_BYTES {
        let until = deadline.min(Instant::now() + LINGER_IDLE);
        let read = tokio::select! {
            _ = shutdown.cancelled() => break,
            read = tokio::time::timeout_at(until, io.read(&mut buf)) => read,
        };
        match read {
            Ok(Ok(n)) if n > 0 => total += n as u64,
            _ => break,
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_reads_until_the_sender_closes_and_shuts_the_write_side() {
        tokio::time::timeout(Duration::from_secs(10), async {
            let (mut sender, relay) = tokio::io::duplex(1024);
            let writer = tokio::spawn(async move {
                sender.write_all(&[7; 100_000]).await.expect("write");
                let mut rest = Vec::new();
                // The relay's shutdown reaches the sender as end of stream.
                sender.read_to_end(&mut rest).await.expect("read");
                rest.len()
            });
            let shutdown = CancellationToken::new();
            let (drained, seen) = tokio::join!(drain(relay, &shutdown), writer);
            assert_eq!(drained, 100_000);
            assert_eq!(seen.expect("writer"), 0);
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_sender_is_dropped_after_the_idle_bound() {
        let (_sender, relay) = tokio::io::duplex(1024);
        let started = Instant::now();
        let drained = drain(relay, &CancellationToken::new()).await;
        assert_eq!(drained, 0);
        assert_eq!(started.elapsed(), LINGER_IDLE);
    }

    #[tokio::test(start_paused = true)]
    async fn an_endless_sender_is_dropped_after_the_time_bound() {
        let (mut sender, relay) = tokio::io::duplex(64);
        let slowloris = tokio::spawn(async move {
            // One byte every 100 ms: never idle long enough, never done.
            while sender.write_all(b"x").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let started = Instant::now();
        let drained = drain(relay, &CancellationToken::new()).await;
        let took = started.elapsed();
        assert!(
            took >= LINGER_TIME && took < LINGER_TIME + Duration::from_millis(200),
            "{took:?}"
        );
        assert!((19..=21).contains(&drained), "{drained}");
        slowloris.abort();
    }
}
