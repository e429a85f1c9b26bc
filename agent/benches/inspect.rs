//! The web inspector's figures (issue 16), over real HTTP on loopback:
//! 1. with 100,000 captured ~3 KB Okta events in an on-disk store: the list's first page, a
//!    body-text search (rare match, no match, common match), filters and a deep page;
//! 2. the agent's delivery throughput (embedded relay → `listen` → local target) with no
//!    inspector, with the inspector and nobody watching, and with a page's live stream open.
//!
//! Run: `cargo bench -p agent --bench inspect`.
//! Over 400 lines: one program measuring every figure the issue names, in one run.

use agent::capture::CaptureStore;
use agent::connection::LinkOptions;
use agent::deliver::{DeliverOptions, Deliverer};
use agent::events::AgentEvent;
use agent::inspect::{self, Hub, InspectorOptions};
use agent::listen::{listen, ListenOptions};
use agent::model::{Capture, CaptureKind};
use agent::okta_kit::{build_trigger_request, event_hook_body, okta_headers, TriggerOptions};
use agent::target::Target;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use shared::{DeliveryOutcome, EventId, Header, HttpResponse, Mode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const ROWS: usize = 100_000;
const BATCH: usize = 1_000;
const RUNS: usize = 15;
/// Webhooks per throughput case.
const DELIVERIES: usize = 2_000;
/// Interleaved rounds of the three throughput cases.
const ROUNDS: usize = 5;
const T0: u64 = 1_700_000_000_000;
const TYPES: [&str; 3] = [
    "user.lifecycle.deactivate",
    "user.lifecycle.create",
    "user.session.start",
];
/// The one person named in exactly one capture, in the middle of the history.
const RARE: &str = "Zebediah Quillfeather";

fn capture(n: usize) -> Capture {
    let opts = TriggerOptions {
        user: (n == ROWS / 2).then(|| RARE.to_string()),
        ..TriggerOptions::default()
    };
    let mut body = event_hook_body(&[TYPES[n % 3]], &opts);
    // Pad to ~3 KB with a real Okta field, as the TUI benchmark does.
    if let Some(debug) = body
        .pointer_mut("/data/events/0/debugContext/debugData")
        .and_then(|d| d.as_object_mut())
    {
        let behaviors: String = "{New Geo-Location=NEGATIVE, New Device=NEGATIVE} "
            .chars()
            .cycle()
            .take(900)
            .collect();
        debug.insert("behaviors".into(), behaviors.into());
    }
    let request = build_trigger_request(&body, okta_headers("who8bench", None));
    let received = T0 + n as u64 * 10;
    Capture {
        event: shared::Event {
            seq: n as u64,
            id: EventId::new(),
            received_at_ms: received,
            duplicate: false,
            proxied: false,
            request,
        },
        source: "okta".into(),
        kind: CaptureKind::Event,
        delivered_at_ms: Some(received + 1),
        answered_at_ms: Some(received + 2),
        target_url: "http://127.0.0.1:1337/okta-webhooks-endpoint".into(),
        outcome: Some(DeliveryOutcome::answered(
            HttpResponse {
                status: [200, 204, 404, 500][n % 4],
                headers: vec![Header::new("content-type", "application/json")],
                body: r#"{"ok":true}"#.into(),
            },
            1_000 + n as u64 % 5_000,
        )),
        replay_of: None,
    }
}

/// One keep-alive HTTP/1.1 connection to the inspector.
struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr) -> Client {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .expect("handshake");
        tokio::spawn(conn);
        Client {
            sender,
            host: addr.to_string(),
        }
    }

    /// GETs `path`; returns the time to the last body byte and the parsed JSON.
    async fn get(&mut self, path: &str) -> (Duration, serde_json::Value) {
        let req = http::Request::get(path)
            .header("host", &self.host)
            .body(Full::new(Bytes::new()))
            .expect("request");
        self.sender.ready().await.expect("connection ready");
        let start = Instant::now();
        let resp = self.sender.send_request(req).await.expect("send");
        assert_eq!(resp.status(), 200, "{path}");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let took = start.elapsed();
        (took, serde_json::from_slice(&body).expect("json"))
    }
}

/// This process's user + system CPU time, in µs (relay, agent, target and sender all run here).
fn process_cpu_us() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name).
    (ticks(11) + ticks(12)) * 1e6 / 100.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn measure(client: &mut Client, label: &str, path: &str) -> serde_json::Value {
    let (_, first) = client.get(path).await; // warm the page cache and the statement cache
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        times.push(client.get(path).await.0);
    }
    times.sort();
    let rows = first["events"].as_array().map_or(0, Vec::len);
    println!(
        "{label:<44} median {:>8.2} ms  p90 {:>8.2} ms  max {:>8.2} ms  ({rows} rows)",
        ms(times[RUNS / 2]),
        ms(times[RUNS * 9 / 10]),
        ms(times[RUNS - 1]),
    );
    first
}

async fn list_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = CaptureStore::open(&dir.path().join("captures.sqlite3")).expect("store");
    let started = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    let mut body_bytes = 0;
    let mut ids = Vec::with_capacity(ROWS);
    for n in 0..ROWS {
        let c = capture(n);
        body_bytes += c.request.body.len();
        ids.push(c.id);
        batch.push(c);
        if batch.len() == BATCH {
            store.insert_many(&batch).expect("insert");
            batch.clear();
        }
    }
    store.insert_many(&batch).expect("insert");
    println!(
        "store: {ROWS} captures, mean request body {} B, written in {:.1} s",
        body_bytes / ROWS,
        started.elapsed().as_secs_f64()
    );
    let (tx, _rx) = mpsc::channel(16);
    let listener = inspect::bind("127.0.0.1:0".parse().expect("addr"), false)
        .await
        .expect("bind");
    let shutdown = CancellationToken::new();
    let inspector = inspect::serve(
        listener,
        InspectorOptions {
            store: store.clone(),
            deliverer: Deliverer::new(&DeliverOptions::default()),
            target: None,
            hub: Hub::default(),
            events: tx,
        },
        shutdown.clone(),
    )
    .expect("serve");
    let mut c = Client::connect(inspector.addr).await;
    let rare = RARE.replace(' ', "%20");
    measure(&mut c, "first page (50)", "/api/events").await;
    let found = measure(
        &mut c,
        "body search, 1 match of 100k",
        &format!("/api/events?q={rare}"),
    )
    .await;
    assert_eq!(found["events"].as_array().map_or(0, Vec::len), 1);
    measure(
        &mut c,
        "body search, no match",
        "/api/events?q=no-such-text-anywhere",
    )
    .await;
    measure(
        &mut c,
        "body search, common (Okta Verify)",
        "/api/events?q=deactivate",
    )
    .await;
    measure(
        &mut c,
        "event type filter (1 in 3)",
        "/api/events?type=user.session.start",
    )
    .await;
    measure(&mut c, "status filter 5xx", "/api/events?status=5xx").await;
    measure(
        &mut c,
        "2xx-5xx + type + search, 0 matches",
        &format!("/api/events?status=2xx,4xx,5xx&type=user.lifecycle.create&q={rare}"),
    )
    .await;
    let deep = ids[ROWS / 10];
    measure(
        &mut c,
        "page at 90% depth (before=...)",
        &format!("/api/events?before={deep}"),
    )
    .await;
    measure(
        &mut c,
        "one event's detail",
        &format!("/api/events/{}", ids[ROWS / 2]),
    )
    .await;
    shutdown.cancel();
}

/// A local service answering 200 that counts requests.
async fn spawn_target(count: Arc<AtomicUsize>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().fallback(move || {
        let count = count.clone();
        async move {
            count.fetch_add(1, Ordering::Relaxed);
            "ok"
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.expect("target") });
    port
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Watch {
    NoInspector,
    NobodyWatching,
    PageWatching,
}

/// Events per second delivered to the target for [`DELIVERIES`] webhooks posted back to back,
/// and the process's CPU µs per event.
async fn throughput(watch: Watch) -> (f64, f64) {
    let shutdown = CancellationToken::new();
    let relay = agent::embedded::start(
        0,
        &shared::SourceList::one("okta"),
        &relay::store::SourceSettings {
            mode: Mode::Ack,
            ..Default::default()
        },
        relay::Config::default(),
        shutdown.clone(),
    )
    .await
    .expect("relay");
    let count = Arc::new(AtomicUsize::new(0));
    let port = spawn_target(count.clone()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = CaptureStore::open(&dir.path().join("captures.sqlite3")).expect("store");
    let (tx, rx) = mpsc::channel(4096);
    let mut rx = rx;
    let mut watcher = None;
    if watch != Watch::NoInspector {
        let hub = Hub::default();
        rx = inspect::tee(rx, hub.clone(), store.clone());
        let listener = inspect::bind("127.0.0.1:0".parse().expect("addr"), false)
            .await
            .expect("bind");
        let inspector = inspect::serve(
            listener,
            InspectorOptions {
                store: store.clone(),
                deliverer: Deliverer::new(&DeliverOptions::default()),
                target: None,
                hub: hub.clone(),
                events: tx.clone(),
            },
            shutdown.clone(),
        )
        .expect("serve");
        if watch == Watch::PageWatching {
            watcher = Some(watch_stream(inspector.addr, hub).await);
        }
    }
    let connected = Arc::new(tokio::sync::Notify::new());
    let seen_connected = connected.clone();
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if matches!(
                ev,
                AgentEvent::State(agent::events::ConnState::Connected { .. })
            ) {
                seen_connected.notify_one();
            }
        }
    });
    let opts = ListenOptions {
        link: LinkOptions {
            relay_url: relay.url.clone(),
            ..LinkOptions::default()
        },
        token: relay.token.clone(),
        sources: shared::SourceList::one("okta"),
        target: Target::parse(&port.to_string(), "/okta-webhooks-endpoint").expect("target"),
        deliver: DeliverOptions::default(),
        window: 64,
        concurrency: None,
        since: None,
        drop_duplicates: false,
        on_down: agent::hold::OnDown::Hold,
        okta_retry: false,
        routes: Vec::new(),
        filters: Vec::new(),
        relay_key: "bench".into(),
    };
    let listening = tokio::spawn(listen(opts, store, tx, shutdown.clone()));
    connected.notified().await;
    let body = serde_json::to_vec(&event_hook_body(&[TYPES[0]], &TriggerOptions::default()))
        .expect("body");
    let hook = format!("{}/h/okta", relay.url);
    let addr: std::net::SocketAddr = relay
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect relay");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let start = Instant::now();
    let cpu_start = process_cpu_us();
    for _ in 0..DELIVERIES {
        let req = http::Request::post(&hook)
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.clone())))
            .expect("request");
        sender.ready().await.expect("relay connection ready");
        let resp = sender.send_request(req).await.expect("post");
        assert_eq!(resp.status(), 200);
        let _ = resp.into_body().collect().await;
    }
    while count.load(Ordering::Relaxed) < DELIVERIES {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let rate = DELIVERIES as f64 / start.elapsed().as_secs_f64();
    let cpu = (process_cpu_us() - cpu_start) / DELIVERIES as f64;
    let rows_seen = match watcher {
        Some(w) => {
            shutdown.cancel();
            tokio::time::timeout(Duration::from_secs(5), w)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0)
        }
        None => 0,
    };
    shutdown.cancel();
    let _ = listening.await;
    if watch == Watch::PageWatching {
        println!("  (the watching page received {rows_seen} live row messages)");
    }
    (rate, cpu)
}

/// Opens `/api/stream` as a page would and counts `row` messages until it closes.
async fn watch_stream(addr: std::net::SocketAddr, hub: Hub) -> tokio::task::JoinHandle<usize> {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET /api/stream HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    while hub.watchers() == 0 {
        tokio::task::yield_now().await;
    }
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut rows = 0;
        let mut tail = Vec::new();
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return rows,
                Ok(n) => {
                    tail.extend_from_slice(&buf[..n]);
                    rows += tail.windows(10).filter(|w| w == b"event: row").count();
                    let keep = tail.len().saturating_sub(9);
                    tail.drain(..keep);
                }
            }
        }
    })
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        list_figures().await;
        println!("delivery throughput, {DELIVERIES} webhooks posted back to back (ack mode):");
        let mut results = Vec::new();
        // Interleaved rounds so drift on a shared machine hits every case alike; medians.
        for _ in 0..ROUNDS {
            for w in [
                Watch::NoInspector,
                Watch::NobodyWatching,
                Watch::PageWatching,
            ] {
                let (rate, cpu) = throughput(w).await;
                println!("  {w:?}: {rate:.0} events/s, {cpu:.0} CPU µs/event");
                results.push((w, rate, cpu));
            }
        }
        let median = |w: Watch, pick: fn(&(Watch, f64, f64)) -> f64| {
            let mut v: Vec<f64> = results.iter().filter(|r| r.0 == w).map(pick).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        for w in [
            Watch::NoInspector,
            Watch::NobodyWatching,
            Watch::PageWatching,
        ] {
            println!(
                "median {w:?}: {:.0} events/s, {:.0} CPU µs/event",
                median(w, |r| r.1),
                median(w, |r| r.2)
            );
        }
        let base = median(Watch::NoInspector, |r| r.1);
        let base_cpu = median(Watch::NoInspector, |r| r.2);
        println!(
            "throughput ratio to no inspector: nobody watching {:.3}, page watching {:.3}",
            median(Watch::NobodyWatching, |r| r.1) / base,
            median(Watch::PageWatching, |r| r.1) / base
        );
        println!(
            "CPU per event ratio to no inspector: nobody watching {:.3}, page watching {:.3}",
            median(Watch::NobodyWatching, |r| r.2) / base_cpu,
            median(Watch::PageWatching, |r| r.2) / base_cpu
        );
    });
}
