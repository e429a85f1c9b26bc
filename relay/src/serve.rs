//! The accept loop: plain TCP or TLS, HTTP/1.1 with upgrades (websockets), header limits and
//! timeouts, the peer address for every request, a lingering close after a refusal, and
//! graceful shutdown.

use crate::linger;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How connections are served.
#[derive(Clone)]
pub struct ServeOptions {
    /// TLS, when set; plain HTTP otherwise.
    pub tls: Option<TlsAcceptor>,
    /// Time for the TLS handshake and for the request line and headers.
    pub header_read_timeout: Duration,
    /// Most headers hyper parses (the app answers 431 with a JSON error below this).
    pub max_headers: usize,
    /// Hyper's read buffer limit (bounds the request head).
    pub max_buf_size: usize,
    /// Time in-flight requests get to finish after shutdown starts.
    pub drain_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets in-flight requests
/// finish (up to `drain_timeout`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    opts: ServeOptions,
    shutdown: CancellationToken,
) {
    let conns = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(err) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let opts = opts.clone();
        let shutdown = shutdown.clone();
        conns.spawn(async move {
            match opts.tls.clone() {
                None => serve_conn(stream, peer, router, &opts, shutdown).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(opts.header_read_timeout, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(tls)) => {
                            // A TLS-ALPN-01 validator only needs the handshake.
                            if tls.get_ref().1.alpn_protocol() == Some(crate::tls::ACME_TLS_ALPN) {
                                return;
                            }
                            serve_conn(tls, peer, router, &opts, shutdown).await
                        }
                        Ok(Err(err)) => tracing::debug!(%peer, %err, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    conns.close();
    if tokio::time::timeout(opts.drain_timeout, conns.wait())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish in time");
    }
}

async fn serve_conn<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    opts: &ServeOptions,
    shutdown: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let slot = linger::Slot::new();
    let svc = TowerToHyperService::new(router);
    let answered = slot.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let call = hyper::service::Service::call(&svc, req);
        let answered = answered.clone();
        async move {
            let resp = call.await?;
            answered.set_refused(linger::refuses_unread(resp.status()));
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .max_headers(opts.max_headers)
        .max_buf_size(opts.max_buf_size.max(8192));
    let result = {
        let io = linger::Tracked::new(io, slot.clone());
        let conn = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => r,
            _ = shutdown.cancelled() => {
                conn.as_mut().graceful_shutdown();
                conn.as_mut().await
            }
        }
        // Dropping `conn` here hands the stream back to `slot`, unless an upgrade owns it.
    };
    // hyper answers a head it cannot parse (431 when over `max_buf_size`) by itself.
    let refused_head = result.as_ref().is_err_and(hyper::Error::is_parse);
    if let Err(err) = result {
        tracing::debug!(%peer, %err, "connection ended with an error");
    }
    if refused_head || slot.refused() {
        // Boxed, and the stream never bound here: held inline across the await, the drain
        // and its stream would enlarge every connection's task, refused or not (a TLS stream
        // is over a kilobyte, and tokio copies a task's future several times when spawning).
        if let Some(drain) = slot.take().map(|io| Box::pin(linger::drain(io, &shutdown))) {
            let drained = drain.await;
            tracing::debug!(%peer, drained, "lingering close after a refusal");
        }
    }
}
