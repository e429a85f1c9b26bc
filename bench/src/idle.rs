//! Relay memory and CPU with many idle agents: raw websocket clients that send a hello, read the
//! welcome and then only answer pings.

use crate::procs::Proc;
use crate::systems::start_relay;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use shared::{AgentMessage, Hello, PROTOCOL_VERSION};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Connections opened at once.
pub const CONNECT_CONCURRENCY: usize = 128;

/// Relay cost at one number of idle agents.
#[derive(Clone, Debug, Serialize)]
pub struct IdleResult {
    /// Agents asked for.
    pub agents: usize,
    /// Agents that got a welcome.
    pub connected: usize,
    /// Relay RSS before any agent, KiB.
    pub base_rss_kib: u64,
    /// Relay RSS with the agents idle, KiB.
    pub rss_kib: u64,
    /// (rss − base) / connected, KiB.
    pub per_agent_kib: f64,
    /// Relay CPU while idle, percent of one core.
    pub idle_cpu_pct: f64,
    /// The same per 1,000 agents.
    pub idle_cpu_pct_per_1000: f64,
    /// Seconds it took to connect them.
    pub connect_secs: f64,
    /// `per_agent_kib` ÷ bore's KiB per idle control connection at the same count (NaN without
    /// bore).
    pub x_bore_kib: f64,
    /// `idle_cpu_pct_per_1000` ÷ bore's at the same count (NaN without bore).
    pub x_bore_cpu: f64,
}

/// Connects up to each count in `counts` (ascending) to one relay and measures it.
pub async fn run(
    bin_dir: &Path,
    counts: &[usize],
    window: Duration,
) -> anyhow::Result<Vec<IdleResult>> {
    let dir = tempfile::tempdir()?;
    let (relay, port, token) = start_relay(bin_dir, dir.path(), &[]).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = relay.rss_kib();
    let stop = CancellationToken::new();
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let url = format!("ws://127.0.0.1:{port}/agent/connect");
    let mut connected = 0usize;
    let mut asked = 0usize;
    let mut out = Vec::new();
    for &count in counts {
        let start = Instant::now();
        let mut readies = Vec::new();
        while asked < count {
            let (tx, rx) = oneshot::channel();
            let permit = gate.clone().acquire_owned().await?;
            let hello = hello(&token, asked);
            tokio::spawn(client(url.clone(), hello, tx, permit, stop.clone()));
            readies.push(rx);
            asked += 1;
        }
        for r in readies {
            if tokio::time::timeout(Duration::from_secs(60), r).await == Ok(Ok(true)) {
                connected += 1;
            }
        }
        let connect_secs = start.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss = relay.rss_kib();
        let (idle_cpu_pct, _) = idle_cpu(&relay, window).await;
        let r = IdleResult {
            agents: count,
            connected,
            base_rss_kib: base,
            rss_kib: rss,
            per_agent_kib: rss.saturating_sub(base) as f64 / connected.max(1) as f64,
            idle_cpu_pct,
            idle_cpu_pct_per_1000: idle_cpu_pct * 1000.0 / connected.max(1) as f64,
            connect_secs,
            x_bore_kib: f64::NAN,
            x_bore_cpu: f64::NAN,
        };
        eprintln!(
            "idle agents {}: {} connected, relay RSS {} KiB ({:.1} KiB/agent), idle CPU {:.2}%",
            count, connected, rss, r.per_agent_kib, idle_cpu_pct
        );
        out.push(r);
    }
    stop.cancel();
    drop(relay);
    Ok(out)
}

/// CPU `p` used over `window`, as a percentage of one core, and in µs.
pub async fn idle_cpu(p: &Proc, window: Duration) -> (f64, u64) {
    let c0 = p.cpu_us();
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let used = p.cpu_us().saturating_sub(c0);
    (
        used as f64 / t0.elapsed().as_micros().max(1) as f64 * 100.0,
        used,
    )
}

fn hello(token: &str, i: usize) -> String {
    shared::encode(&AgentMessage::Hello(Hello {
        version: PROTOCOL_VERSION,
        token: token.into(),
        sources: vec!["okta".into()],
        agent_id: format!("bench-idle-{i}"),
        cursors: Default::default(),
        since: None,
        window: 16,
    }))
}

async fn client(
    url: String,
    hello: String,
    ready: oneshot::Sender<bool>,
    permit: tokio::sync::OwnedSemaphorePermit,
    stop: CancellationToken,
) {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let connected = tokio::time::timeout(
        Duration::from_secs(30),
        tokio_tungstenite::connect_async_with_config(url, Some(config), true),
    )
    .await;
    let Ok(Ok((ws, _))) = connected else {
        let _ = ready.send(false);
        return;
    };
    let (mut sink, mut stream) = ws.split();
    if sink.send(Message::Text(hello.into())).await.is_err() {
        let _ = ready.send(false);
        return;
    }
    let welcomed = matches!(
        tokio::time::timeout(Duration::from_secs(30), stream.next()).await,
        Ok(Some(Ok(Message::Text(t)))) if t.contains("\"welcome\"")
    );
    drop(permit);
    let _ = ready.send(welcomed);
    if !welcomed {
        return;
    }
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Ping(p))) => {
                    if sink.send(Message::Pong(p)).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            _ = stop.cancelled() => return,
        }
    }
}
