//! A small HTTP/1.1 load generator: N connections, bounded by request count and time, keep-alive
//! or a new connection per request, optionally paced; latencies kept as sorted microseconds.

use crate::clock::{now_us, SENT_HEADER};
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// What each request carries.
#[derive(Clone, Debug)]
pub enum Payload {
    /// An Okta event hook body whose 36-character `eventId` (at `id_at`) is replaced by a fresh
    /// UUID per request, so the relay never treats it as a redelivery.
    Okta {
        /// The body.
        template: Bytes,
        /// Byte offset of the event id.
        id_at: usize,
    },
    /// The same bytes every time.
    Fixed(Bytes),
}

impl Payload {
    /// A fresh body.
    fn body(&self) -> Bytes {
        match self {
            Payload::Fixed(b) => b.clone(),
            Payload::Okta { template, id_at } => {
                let mut b = BytesMut::from(&template[..]);
                let id = uuid::Uuid::new_v4();
                let mut buf = [0u8; 36];
                let s = id.hyphenated().encode_lower(&mut buf);
                b[*id_at..*id_at + 36].copy_from_slice(s.as_bytes());
                b.freeze()
            }
        }
    }

    /// Length of one body in bytes.
    pub fn len(&self) -> usize {
        match self {
            Payload::Fixed(b) => b.len(),
            Payload::Okta { template, .. } => template.len(),
        }
    }
}

/// One load run.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// Where to connect.
    pub addr: SocketAddr,
    /// Request path (and query).
    pub path: String,
    /// Concurrent connections (workers).
    pub conns: usize,
    /// Reuse each connection (keep-alive) or open a new one per request.
    pub keep_alive: bool,
    /// Stop after this many requests in total.
    pub max_requests: u64,
    /// Stop after this long.
    pub duration: Duration,
    /// Requests per second in total, or `None` for as fast as possible.
    pub rate: Option<f64>,
    /// Give up on one request after this long.
    pub request_timeout: Duration,
    /// The body.
    pub payload: Payload,
}

/// What a load run measured.
#[derive(Clone, Debug, Default)]
pub struct LoadResult {
    /// Requests answered 2xx.
    pub ok: u64,
    /// Requests failed or answered otherwise.
    pub errors: u64,
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
    /// Latency of each successful request in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// First error seen, for the report.
    pub first_error: Option<String>,
}

impl LoadResult {
    /// Successful requests per second.
    pub fn rps(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.ok as f64 / s
        } else {
            0.0
        }
    }
}

struct Worker {
    ok: u64,
    errors: u64,
    lat: Vec<u32>,
    first_error: Option<String>,
}

/// Runs `spec` to completion (count or time, whichever first).
pub async fn run(spec: LoadSpec) -> LoadResult {
    let spec = Arc::new(spec);
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + spec.duration;
    let mut tasks = Vec::with_capacity(spec.conns);
    for i in 0..spec.conns.max(1) {
        let spec = spec.clone();
        let issued = issued.clone();
        tasks.push(tokio::spawn(async move {
            worker(&spec, i, &issued, start, deadline).await
        }));
    }
    let mut out = LoadResult::default();
    for t in tasks {
        match t.await {
            Ok(w) => {
                out.ok += w.ok;
                out.errors += w.errors;
                out.latencies_us.extend(w.lat);
                if out.first_error.is_none() {
                    out.first_error = w.first_error;
                }
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    out.elapsed = start.elapsed();
    out.latencies_us.sort_unstable();
    out
}

type Sender = http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn worker(
    spec: &LoadSpec,
    index: usize,
    issued: &AtomicU64,
    start: Instant,
    deadline: Instant,
) -> Worker {
    let mut w = Worker {
        ok: 0,
        errors: 0,
        lat: Vec::new(),
        first_error: None,
    };
    // Each worker sends every `period`, workers spread evenly over one period.
    let period = spec
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(spec.conns.max(1) as f64 / r));
    let mut next_at = period.map(|p| start + p.mul_f64(index as f64 / spec.conns.max(1) as f64));
    let mut sender: Option<Sender> = None;
    let host = spec.addr.to_string();
    loop {
        if let (Some(at), Some(p)) = (next_at, period) {
            if at >= deadline {
                break;
            }
            tokio::time::sleep_until(at.into()).await;
            next_at = Some(at + p);
        }
        if Instant::now() >= deadline || issued.fetch_add(1, Ordering::Relaxed) >= spec.max_requests
        {
            break;
        }
        let t0 = Instant::now();
        let result =
            tokio::time::timeout(spec.request_timeout, one_request(spec, &host, &mut sender))
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("request timed out")));
        match result {
            Ok(()) => {
                w.ok += 1;
                w.lat
                    .push(t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            }
            Err(e) => {
                w.errors += 1;
                sender = None;
                w.first_error.get_or_insert_with(|| format!("{e:#}"));
                // A refused or broken target: do not spin.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        if !spec.keep_alive {
            sender = None;
        }
    }
    w
}

async fn one_request(
    spec: &LoadSpec,
    host: &str,
    sender: &mut Option<Sender>,
) -> anyhow::Result<()> {
    if sender.as_ref().is_none_or(|s| s.is_closed()) {
        *sender = Some(connect(spec.addr).await?);
    }
    let s = sender.as_mut().expect("connected just above");
    s.ready().await?;
    let mut req = http::Request::post(spec.path.as_str())
        .header(http::header::HOST, host)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(SENT_HEADER, now_us().to_string());
    if !spec.keep_alive {
        req = req.header(http::header::CONNECTION, "close");
    }
    let req = req.body(Full::new(spec.payload.body()))?;
    let resp = s.send_request(req).await?;
    let status = resp.status();
    resp.into_body().collect().await?;
    if !status.is_success() {
        anyhow::bail!("status {status}");
    }
    Ok(())
}

/// One POST of `body` to `addr` `path` with extra `headers`, on a fresh connection; the status.
pub async fn post_once(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> anyhow::Result<http::StatusCode> {
    let mut sender = connect(addr).await?;
    let mut req = http::Request::post(path).header(http::header::HOST, addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender.send_request(req.body(Full::new(body))?).await?;
    let status = resp.status();
    resp.into_body().collect().await?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    fn spec(addr: SocketAddr, keep_alive: bool, payload: Payload) -> LoadSpec {
        LoadSpec {
            addr,
            path: "/x".into(),
            conns: 4,
            keep_alive,
            max_requests: 40,
            duration: Duration::from_secs(10),
            rate: None,
            request_timeout: Duration::from_secs(5),
            payload,
        }
    }

    #[tokio::test]
    async fn sends_exactly_the_requested_count_both_ways() {
        tokio::time::timeout(Duration::from_secs(30), async {
            let target = crate::target::spawn(0).await.expect("target");
            for keep_alive in [true, false] {
                target.stats.reset();
                let r = run(spec(
                    target.addr,
                    keep_alive,
                    Payload::Fixed(Bytes::from_static(b"{}")),
                ))
                .await;
                assert_eq!((r.ok, r.errors), (40, 0), "{:?}", r.first_error);
                assert_eq!(r.latencies_us.len(), 40);
                assert!(r.latencies_us.windows(2).all(|w| w[0] <= w[1]));
                assert_eq!(target.stats.count.load(Ordering::SeqCst), 40);
                assert_eq!(target.stats.take_lags().len(), 40);
            }
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn a_dead_target_counts_errors_and_stops_in_time() {
        tokio::time::timeout(Duration::from_secs(30), async {
            let port = crate::procs::free_port().expect("port");
            let mut s = spec(
                SocketAddr::from(([127, 0, 0, 1], port)),
                true,
                Payload::Fixed(Bytes::new()),
            );
            s.duration = Duration::from_millis(200);
            let r = run(s).await;
            assert_eq!(r.ok, 0);
            assert!(r.errors > 0 && r.first_error.is_some());
        })
        .await
        .expect("test timed out");
    }

    #[test]
    fn okta_payload_gets_a_fresh_event_id_each_time() {
        let template =
            Bytes::from_static(b"{\"eventId\":\"00000000-0000-0000-0000-000000000000\"}");
        let p = Payload::Okta {
            template: template.clone(),
            id_at: 12,
        };
        let (a, b) = (p.body(), p.body());
        assert_eq!(a.len(), template.len());
        assert_ne!(a, b);
        let v: serde_json::Value = serde_json::from_slice(&a).expect("still JSON");
        let id = v["eventId"].as_str().expect("id");
        assert!(uuid::Uuid::parse_str(id).is_ok() && id != "00000000-0000-0000-0000-000000000000");
    }
}
