//! bore server memory and CPU with many idle control connections, for comparison with idle
//! agents: raw clients that send bore's `Hello`, read its answer and then discard heartbeats.
//!
//! bore (0.6) frames JSON messages with a NUL delimiter on its control port 7835. A client
//! sends `{"Hello":0}\0` (serde's externally tagged `ClientMessage::Hello(u16)`; port 0 = any
//! free port in the server's range); the server binds a tunnel listener, answers
//! `{"Hello":PORT}\0` and then sends `"Heartbeat"\0` every 500 ms (while waiting up to 500 ms
//! for a visitor on the tunnel port) until the connection drops.

use crate::idle::{idle_cpu, IdleResult, CONNECT_CONCURRENCY};
use crate::stats::ratio;
use crate::systems::{start_bore_server, BORE_CONTROL_PORT};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// Tunnel ports bore may give the idle clients: 22,768 ports below Linux's default ephemeral
/// range (32768–60999), so the tunnel listeners do not compete with the harness's own client
/// sockets for source ports, and above the usual fixed service ports.
const TUNNEL_PORTS: (u16, u16) = (10_000, 32_767);

/// Longest bore frame (bore's `MAX_FRAME_LENGTH`).
const MAX_FRAME: usize = 256;

/// bore's `ClientMessage`, as far as the harness sends it.
#[derive(Debug, Serialize)]
enum BoreClientMessage {
    /// Asks for a tunnel on this port (0: any free port in the server's range).
    Hello(u16),
}

/// bore's `ServerMessage` (uuids kept as strings).
#[derive(Debug, Deserialize, PartialEq)]
enum BoreServerMessage {
    /// Authentication challenge (only with `--secret`).
    Challenge(String),
    /// The tunnel port the server bound.
    Hello(u16),
    /// Liveness no-op, every 500 ms.
    Heartbeat,
    /// A visitor arrived on the tunnel port.
    Connection(String),
    /// The server gave up on this connection.
    Error(String),
}

/// bore server cost at one number of idle control connections.
#[derive(Clone, Debug, Serialize)]
pub struct BoreIdleResult {
    /// Connections asked for (the idle-agent count this compares with).
    pub connections: usize,
    /// Connections that got a `Hello` (a tunnel port); fewer than asked when the open-files
    /// limit (two per connection in bore) did not allow them all.
    pub connected: usize,
    /// bore server RSS before any connection, KiB.
    pub base_rss_kib: u64,
    /// bore server RSS with the connections idle, KiB.
    pub rss_kib: u64,
    /// (rss − base) / connected, KiB.
    pub per_conn_kib: f64,
    /// bore server CPU while idle, percent of one core.
    pub idle_cpu_pct: f64,
    /// The same per 1,000 connections.
    pub idle_cpu_pct_per_1000: f64,
    /// Heartbeats each connection received per second during the window (bore sends 2).
    pub heartbeats_per_s: f64,
    /// Seconds it took to connect them.
    pub connect_secs: f64,
}

/// Open files bore server holds besides its connections (stdio, epoll, listener, …), with room.
pub const BORE_BASE_FILES: u64 = 64;

/// Opens up to each count in `counts` (ascending), but never more than `max_conns`, idle control
/// connections to one `bore server` and measures it over `window`.
pub async fn run(
    bore: &Path,
    counts: &[usize],
    max_conns: usize,
    window: Duration,
) -> anyhow::Result<Vec<BoreIdleResult>> {
    let dir = tempfile::tempdir()?;
    let (min, max) = (TUNNEL_PORTS.0.to_string(), TUNNEL_PORTS.1.to_string());
    let mut server =
        start_bore_server(bore, dir.path(), &["--min-port", &min, "--max-port", &max]).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = server.rss_kib();
    let stop = CancellationToken::new();
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let beats = Arc::new(AtomicU64::new(0));
    let mut connected = 0usize;
    let mut asked = 0usize;
    let mut out = Vec::new();
    let result = async {
        for &count in counts {
            let start = Instant::now();
            let mut readies = Vec::new();
            while asked < count.min(max_conns) {
                let (tx, rx) = oneshot::channel();
                let permit = gate.clone().acquire_owned().await?;
                tokio::spawn(client(tx, permit, stop.clone(), beats.clone()));
                readies.push(rx);
                asked += 1;
            }
            for r in readies {
                if tokio::time::timeout(Duration::from_secs(60), r).await == Ok(Ok(true)) {
                    connected += 1;
                }
            }
            let connect_secs = start.elapsed().as_secs_f64();
            server.check_alive()?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let rss = server.rss_kib();
            let b0 = beats.load(Ordering::Relaxed);
            let t0 = Instant::now();
            let (idle_cpu_pct, _) = idle_cpu(&server, window).await;
            let beat_secs = t0.elapsed().as_secs_f64();
            let b1 = beats.load(Ordering::Relaxed);
            let r = BoreIdleResult {
                connections: count,
                connected,
                base_rss_kib: base,
                rss_kib: rss,
                per_conn_kib: rss.saturating_sub(base) as f64 / connected.max(1) as f64,
                idle_cpu_pct,
                idle_cpu_pct_per_1000: idle_cpu_pct * 1000.0 / connected.max(1) as f64,
                heartbeats_per_s: b1.saturating_sub(b0) as f64
                    / beat_secs.max(1e-3)
                    / connected.max(1) as f64,
                connect_secs,
            };
            eprintln!(
                "idle bore connections {}: {} connected, bore server RSS {} KiB ({:.1} KiB/conn), \
                 idle CPU {:.2}%, {:.2} heartbeats/s each",
                count, connected, rss, r.per_conn_kib, idle_cpu_pct, r.heartbeats_per_s
            );
            out.push(r);
        }
        anyhow::Ok(())
    }
    .await;
    drop(server);
    stop.cancel();
    result.map(|()| out)
}

/// Fills the × bore columns of `relay` from `bore` results at the same count.
pub fn compare(relay: &mut [IdleResult], bore: &[BoreIdleResult]) {
    for r in relay {
        if let Some(b) = bore.iter().find(|b| b.connections == r.agents) {
            r.x_bore_kib = ratio(r.per_agent_kib, b.per_conn_kib);
            r.x_bore_cpu = ratio(r.idle_cpu_pct_per_1000, b.idle_cpu_pct_per_1000);
        }
    }
}

/// The frame the client sends first: `{"Hello":0}` and the NUL delimiter.
fn hello_frame() -> Vec<u8> {
    let mut v = serde_json::to_vec(&BoreClientMessage::Hello(0))
        .expect("a tuple variant of a u16 serializes");
    v.push(0);
    v
}

/// Connects, says hello, reports whether bore answered with a tunnel port, then reads and
/// counts heartbeats until `stop`.
async fn client(
    ready: oneshot::Sender<bool>,
    permit: OwnedSemaphorePermit,
    stop: CancellationToken,
    beats: Arc<AtomicU64>,
) {
    let Some((mut stream, mut buf, mut len)) = handshake().await else {
        drop(permit);
        let _ = ready.send(false);
        return;
    };
    drop(permit);
    let _ = ready.send(true);
    loop {
        // Count the complete frames in hand; keep a partial one.
        let frames = buf[..len].iter().filter(|&&b| b == 0).count();
        beats.fetch_add(frames as u64, Ordering::Relaxed);
        let tail = buf[..len]
            .iter()
            .rposition(|&b| b == 0)
            .map_or(0, |i| i + 1);
        buf.copy_within(tail..len, 0);
        len -= tail;
        if len == buf.len() {
            return; // a frame longer than bore ever sends
        }
        tokio::select! {
            n = stream.read(&mut buf[len..]) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => len += n,
            },
            _ = stop.cancelled() => return,
        }
    }
}

/// Connect (10 s at most), send the hello and read bore's answer (10 s at most): the stream and
/// the bytes read past the answer (in `buf[..len]`), or `None` unless bore sent `Hello(port)`.
async fn handshake() -> Option<(TcpStream, [u8; MAX_FRAME], usize)> {
    let limit = Duration::from_secs(10);
    let connect = TcpStream::connect(("127.0.0.1", BORE_CONTROL_PORT));
    let mut stream = tokio::time::timeout(limit, connect).await.ok()?.ok()?;
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; MAX_FRAME];
    let mut len = 0;
    let answer = async {
        stream.write_all(&hello_frame()).await.ok()?;
        loop {
            if let Some(end) = buf[..len].iter().position(|&b| b == 0) {
                return Some(end);
            }
            if len == buf.len() {
                return None;
            }
            match stream.read(&mut buf[len..]).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => len += n,
            }
        }
    };
    let end = tokio::time::timeout(limit, answer).await.ok()??;
    let msg: BoreServerMessage = serde_json::from_slice(&buf[..end]).ok()?;
    if !matches!(msg, BoreServerMessage::Hello(_)) {
        return None;
    }
    buf.copy_within(end + 1..len, 0);
    len -= end + 1;
    Some((stream, buf, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_match_bores_serde_shapes() {
        assert_eq!(hello_frame(), b"{\"Hello\":0}\0");
        let parse = |s: &str| serde_json::from_str::<BoreServerMessage>(s).expect("parses");
        assert_eq!(parse("{\"Hello\":12345}"), BoreServerMessage::Hello(12345));
        assert_eq!(parse("\"Heartbeat\""), BoreServerMessage::Heartbeat);
        assert_eq!(
            parse("{\"Error\":\"port already in use\"}"),
            BoreServerMessage::Error("port already in use".into())
        );
    }
}
