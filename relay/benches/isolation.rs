//! Figures for issue 7 (a benchmark, not a test): the relay binary's RSS when idle, and how
//! much of its unloaded throughput a calm source keeps while another source is flooded past
//! its rate limit. Run with `cargo bench -p relay --bench isolation`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use relay::limits::RateLimit;
use relay::store::EmbeddedStore;
use relay::store::Store;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

const MEASURE: Duration = Duration::from_secs(3);
/// The calm source's offered load, well under the limit.
const CALM_RATE: u64 = 100;

fn idle_rss_kib() -> anyhow::Result<u64> {
    let dir = tempfile::tempdir()?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_secs(2));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()));
    let _ = child.kill();
    let _ = child.wait();
    let status = status?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc status"))?;
    let kib = line
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("bad VmRSS line"))?
        .parse()?;
    Ok(kib)
}

async fn post(client: &HttpClient, url: &str) -> Option<u16> {
    let req = http::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{\"eventType\":\"bench\"}")))
        .ok()?;
    let resp = client.request(req).await.ok()?;
    let status = resp.status().as_u16();
    let _ = resp.into_body().collect().await;
    Some(status)
}

/// Calm source offering [`CALM_RATE`] requests a second (open loop) for [`MEASURE`]:
/// (accepted per second, p99 latency).
async fn calm(client: &HttpClient, url: &str) -> (f64, Duration) {
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / CALM_RATE));
    let start = Instant::now();
    let mut tasks = Vec::new();
    while start.elapsed() < MEASURE {
        tick.tick().await;
        let (client, url) = (client.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = post(&client, &url).await == Some(200);
            (ok, t.elapsed())
        }));
    }
    let mut ok = 0u64;
    let mut lat = Vec::new();
    for t in tasks {
        if let Ok((accepted, l)) = t.await {
            ok += u64::from(accepted);
            lat.push(l);
        }
    }
    lat.sort();
    let p99 = lat
        .get(lat.len().saturating_mul(99) / 100)
        .copied()
        .unwrap_or_default();
    (ok as f64 / MEASURE.as_secs_f64(), p99)
}

async fn isolation() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(EmbeddedStore::open_dir(dir.path())?);
    for s in ["calm", "flood"] {
        store.ensure_source(s)?;
    }
    let config = relay::Config {
        rate_limit: Some(RateLimit {
            per_sec: 200.0,
            burst: 200,
        }),
        ..relay::Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let shutdown = CancellationToken::new();
    let handle = relay::spawn(listener, store, config, shutdown.clone())?;
    let base = format!("http://{}", handle.addr);
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let calm_url = format!("{base}/h/calm");

    let (alone, alone_p99) = calm(&client, &calm_url).await;

    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));
    let mut flooders = Vec::new();
    for _ in 0..8 {
        let (client, stop, refused) = (client.clone(), stop.clone(), refused.clone());
        let url = format!("{base}/h/flood");
        flooders.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if post(&client, &url).await == Some(429) {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (loaded, loaded_p99) = calm(&client, &calm_url).await;
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        let _ = f.await;
    }
    shutdown.cancel();
    let _ = handle.join.await;

    let flood_rate = refused.load(Ordering::Relaxed) as f64 / (MEASURE.as_secs_f64() + 0.5);
    println!("calm source alone:   {alone:.1} accepted/s, p99 {alone_p99:?}");
    println!("calm source flooded: {loaded:.1} accepted/s, p99 {loaded_p99:?}");
    println!("flood source:        {flood_rate:.0} refused (429)/s");
    println!(
        "isolation ratio (flooded / alone): {:.3} (target >= 0.90)",
        loaded / alone.max(f64::MIN_POSITIVE)
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match idle_rss_kib() {
        Ok(kib) => println!(
            "relay idle RSS: {:.1} MB (target <= 15 MB)",
            kib as f64 / 1024.0
        ),
        Err(err) => println!("relay idle RSS: unavailable ({err:#})"),
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(isolation())
}
