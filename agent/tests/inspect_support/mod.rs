//! Shared by the inspector tests: a real inspector on 127.0.0.1:0 over a temporary store, a
//! recording local target, and a small HTTP client that sets any Host and Origin it is told.

#![allow(dead_code)]

use agent::capture::CaptureStore;
use agent::deliver::{DeliverOptions, Deliverer};
use agent::events::AgentEvent;
use agent::inspect::{self, Hub, Inspector, InspectorOptions};
use agent::model::{Capture, CaptureKind};
use agent::target::Target;
use axum::body::Bytes;
use axum::extract::Request;
use http_body_util::{BodyExt, Full};
use shared::{Blob, DeliveryOutcome, EventId, Header, HttpRequest, HttpResponse};
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Every async test's budget.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `fut` or panics after [`TIMEOUT`].
pub async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, fut)
        .await
        .expect("test timed out")
}

/// What the local target received.
#[derive(Debug)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// A local service on 127.0.0.1:0 answering `201 {"ok":true}` and reporting each request.
pub async fn spawn_target() -> (u16, mpsc::Receiver<Seen>) {
    let (tx, rx) = mpsc::channel(64);
    let app = axum::Router::new().fallback(move |req: Request| {
        let tx = tx.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body.collect().await.expect("request body").to_bytes();
            let headers = parts
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                .collect();
            let _ = tx
                .send(Seen {
                    method: parts.method.to_string(),
                    uri: parts.uri.to_string(),
                    headers,
                    body,
                })
                .await;
            (axum::http::StatusCode::CREATED, "{\"ok\":true}")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind target");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("target") });
    (port, rx)
}

/// A port nothing listens on (bound, then released).
pub async fn dead_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    l.local_addr().expect("addr").port()
}

/// A running inspector and what it serves.
pub struct Running {
    pub inspector: Inspector,
    pub store: CaptureStore,
    pub hub: Hub,
    /// Feeds the inspector's live list as the listener would.
    pub events: mpsc::Sender<AgentEvent>,
    pub shutdown: CancellationToken,
    pub _dir: tempfile::TempDir,
}

impl Running {
    /// `127.0.0.1:PORT`, the Host a browser sends.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.inspector.addr.port())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// An inspector on 127.0.0.1:0 over a fresh store holding `captures`, replaying to `target`.
pub async fn start(captures: &[Capture], target: Option<Target>) -> Running {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = CaptureStore::open(&dir.path().join("captures.sqlite3")).expect("open store");
    store.insert_many(captures).expect("insert");
    let hub = Hub::default();
    let (tx, rx) = mpsc::channel(64);
    let mut out = inspect::tee(rx, hub.clone(), store.clone());
    tokio::spawn(async move { while out.recv().await.is_some() {} });
    let listener = inspect::bind("127.0.0.1:0".parse().expect("addr"), false)
        .await
        .expect("bind inspector");
    let shutdown = CancellationToken::new();
    let inspector = inspect::serve(
        listener,
        InspectorOptions {
            store: store.clone(),
            deliverer: Deliverer::new(&DeliverOptions {
                timeout: Duration::from_secs(10),
                insecure: false,
            }),
            target,
            hub: hub.clone(),
            events: tx.clone(),
        },
        shutdown.clone(),
    )
    .expect("serve");
    Running {
        inspector,
        store,
        hub,
        events: tx,
        shutdown,
        _dir: dir,
    }
}

/// An answer: status, headers (lower-case names), body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request to the inspector at `port` with exactly these headers (Host included).
pub async fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect inspector");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let mut req = http::Request::builder().method(method).uri(path);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let req = req
        .body(Full::new(Bytes::copy_from_slice(body)))
        .expect("request");
    let resp = sender.send_request(req).await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
        .collect();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

/// A GET as the inspector's own page sends it.
pub async fn get(r: &Running, path: &str) -> Answer {
    send(
        r.inspector.addr.port(),
        "GET",
        path,
        &[("host", &r.host())],
        b"",
    )
    .await
}

/// The per-run token, read the way a script would.
pub async fn token(r: &Running) -> String {
    get(r, "/api/session").await.json()["token"]
        .as_str()
        .expect("token")
        .to_string()
}

/// A POST as the inspector's own page sends it: token and Origin.
pub async fn post(r: &Running, path: &str, body: &[u8]) -> Answer {
    let token = token(r).await;
    let origin = format!("http://{}", r.host());
    send(
        r.inspector.addr.port(),
        "POST",
        path,
        &[
            ("host", &r.host()),
            ("origin", &origin),
            ("x-hookrelay-token", &token),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await
}

/// Reads the raw HTTP response of a streaming GET up to `until` (e.g. an SSE event).
pub async fn read_stream_until(
    port: u16,
    host: &str,
    path: &str,
    until: impl Fn(&str) -> bool,
    ready: Option<tokio::sync::oneshot::Sender<()>>,
) -> String {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: {host}\r\naccept: text/event-stream\r\n\r\n")
            .as_bytes(),
    )
    .await
    .expect("write");
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let mut ready = ready;
    loop {
        let n = s.read(&mut buf).await.expect("read");
        assert!(n > 0, "stream closed early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        if seen.contains("event: ready") {
            if let Some(tx) = ready.take() {
                let _ = tx.send(());
            }
        }
        if until(&seen) {
            return seen;
        }
    }
}

/// An Okta event hook about `name`, delivered and answered 200, received at `at_ms`.
pub fn okta_event(at_ms: u64, event_type: &str, name: &str, status: u16) -> Capture {
    let body = serde_json::json!({
        "eventType": "com.okta.event_hook",
        "eventId": format!("evt-{at_ms}"),
        "data": { "events": [{
            "uuid": format!("uuid-{at_ms}"),
            "eventType": event_type,
            "target": [{ "type": "User", "displayName": name }],
        }]},
    })
    .to_string();
    capture(at_ms, "/hook", body.into(), status)
}

/// A delivered capture with `body`, answered `status`.
pub fn capture(at_ms: u64, path: &str, body: Blob, status: u16) -> Capture {
    Capture {
        event: shared::Event {
            seq: at_ms,
            id: EventId::new(),
            received_at_ms: at_ms,
            duplicate: false,
            proxied: false,
            request: HttpRequest {
                method: "POST".into(),
                path: path.into(),
                query: None,
                headers: vec![
                    Header::new("content-type", "application/json"),
                    Header::new("x-dup", "one"),
                    Header::new("authorization", "Basic abc"),
                    Header::new("x-dup", "two"),
                ],
                body,
            },
        },
        source: "okta".into(),
        kind: CaptureKind::Event,
        delivered_at_ms: Some(at_ms + 1),
        answered_at_ms: Some(at_ms + 3),
        target_url: format!("http://127.0.0.1:9/okta-webhooks-endpoint{path}"),
        outcome: Some(DeliveryOutcome::answered(
            HttpResponse {
                status,
                headers: vec![Header::new("content-type", "text/plain")],
                body: "done".into(),
            },
            2_000,
        )),
        replay_of: None,
    }
}
