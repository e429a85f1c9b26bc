//! The local target every scenario delivers to: a minimal hyper server answering 200, counting
//! requests and recording how long after the sender's stamp each one arrived.

use crate::clock::{now_us, SENT_HEADER};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Header marking readiness probes, which are counted apart from the load.
pub const PROBE_HEADER: &str = "x-bench-probe";

/// What the target saw.
#[derive(Default)]
pub struct TargetStats {
    /// Load requests received.
    pub count: AtomicU64,
    /// Probe requests received.
    pub probes: AtomicU64,
    /// Body bytes received.
    pub bytes: AtomicU64,
    /// When the last load request arrived (microseconds since the process epoch).
    pub last_us: AtomicU64,
    lags: Mutex<Vec<u32>>,
}

impl TargetStats {
    /// Clears everything before a new measurement.
    pub fn reset(&self) {
        self.count.store(0, Ordering::SeqCst);
        self.bytes.store(0, Ordering::SeqCst);
        self.last_us.store(0, Ordering::SeqCst);
        self.lock().clear();
    }

    /// The sender-to-target lags seen since the last reset, sorted, in microseconds.
    pub fn take_lags(&self) -> Vec<u32> {
        let mut v = std::mem::take(&mut *self.lock());
        v.sort_unstable();
        v
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u32>> {
        self.lags.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running target.
pub struct Target {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it saw.
    pub stats: Arc<TargetStats>,
    stop: CancellationToken,
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts the target on 127.0.0.1 (port 0 for an ephemeral one).
pub async fn spawn(port: u16) -> anyhow::Result<Target> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let stats = Arc::new(TargetStats::default());
    let stop = CancellationToken::new();
    let (s, c) = (stats.clone(), stop.clone());
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = c.cancelled() => return,
            };
            let Ok((tcp, _)) = accepted else { continue };
            let _ = tcp.set_nodelay(true);
            let stats = s.clone();
            let stop = c.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| handle(stats.clone(), req));
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc);
                tokio::select! {
                    _ = conn => {}
                    _ = stop.cancelled() => {}
                }
            });
        }
    });
    Ok(Target { addr, stats, stop })
}

async fn handle(
    stats: Arc<TargetStats>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let probe = req.headers().contains_key(PROBE_HEADER);
    let sent: Option<u64> = req
        .headers()
        .get(SENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let len = match req.into_body().collect().await {
        Ok(b) => b.to_bytes().len(),
        Err(_) => 0,
    };
    if probe {
        stats.probes.fetch_add(1, Ordering::SeqCst);
    } else {
        let now = now_us();
        stats.count.fetch_add(1, Ordering::SeqCst);
        stats.bytes.fetch_add(len as u64, Ordering::Relaxed);
        stats.last_us.fetch_max(now, Ordering::Relaxed);
        if let Some(sent) = sent {
            let lag = now.saturating_sub(sent).min(u64::from(u32::MAX)) as u32;
            stats.lock().push(lag);
        }
    }
    Ok(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
}
