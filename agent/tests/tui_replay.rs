//! End-to-end-ish: the real TUI loop on a TestBackend, a real capture store and deliverer, and
//! a recording axum target. Pressing `r` replays the selected event byte for byte and shows a
//! new row linked to the original.

mod capture_fixtures;

use agent::capture::CaptureStore;
use agent::deliver::{DeliverOptions, Deliverer};
use agent::events::AgentEvent;
use agent::model::{Capture, CaptureKind};
use agent::target::Target;
use agent::tui::{run, TuiContext};
use axum::body::Bytes;
use axum::extract::Request;
use capture_fixtures::{answer, CaptureBuilder};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use http_body_util::BodyExt;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use shared::{EventId, Header, Mode};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What the target saw: method, path and query, headers in order, body.
#[derive(Debug)]
struct Seen {
    method: String,
    uri: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Bytes,
}

async fn spawn_target() -> (u16, mpsc::Receiver<Seen>) {
    let (tx, rx) = mpsc::channel(8);
    let app = axum::Router::new().fallback(move |req: Request| {
        let tx = tx.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body.collect().await.expect("request body").to_bytes();
            let headers = parts
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
                .collect();
            let _ = tx
                .send(Seen {
                    method: parts.method.to_string(),
                    uri: parts.uri.to_string(),
                    headers,
                    body,
                })
                .await;
            "recorded"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind target");
    let port = listener.local_addr().expect("target addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, rx)
}

fn key(c: char) -> std::io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

fn original(target: &Target) -> Capture {
    let c = CaptureBuilder::event(1)
        .received_at(1_700_000_000_000)
        .post("/extra/path")
        .query("a=1&b")
        .header("content-type", "application/json")
        .header("x-dup", "one")
        .header("x-dup", "two")
        .header("authorization", "Bearer s3cret")
        .body(br#"{"eventType":"com.okta.event_hook","eventId":"e1","data":{"events":[{"uuid":"u1","eventType":"user.lifecycle.deactivate","target":[{"displayName":"John Doe"}]}]}}"#.as_slice())
        .build();
    let url = target.url_for(&c.request);
    CaptureBuilder::from(c).target(&url).build()
}

fn real_store() -> Option<CaptureStore> {
    Some(CaptureStore::open_in_memory().expect("in-memory capture store"))
}

type Ui = tokio::task::JoinHandle<anyhow::Result<Terminal<TestBackend>>>;

/// The loop running on a TestBackend with one captured, answered event selected.
struct Harness {
    store: CaptureStore,
    orig: Capture,
    seen_rx: mpsc::Receiver<Seen>,
    events_tx: mpsc::Sender<AgentEvent>,
    replay_rx: mpsc::Receiver<AgentEvent>,
    key_tx: mpsc::Sender<std::io::Result<Event>>,
    ui: Ui,
}

async fn start(store: CaptureStore) -> Harness {
    let (port, seen_rx) = spawn_target().await;
    let target = Target::parse(&port.to_string(), "/okta-webhooks-endpoint").expect("target");
    let orig = original(&target);
    let outcome = answer(200, "ok", 1_000);
    store.insert(&orig).expect("insert original");
    store
        .record_outcome(
            orig.id,
            orig.received_at_ms,
            orig.received_at_ms + 1,
            &outcome,
        )
        .expect("record original outcome");

    // Replays report to `replay_tx`; the test forwards to the loop's `events_rx` so it can
    // watch them go by.
    let (replay_tx, replay_rx) = mpsc::channel::<AgentEvent>(16);
    let (events_tx, events_rx) = mpsc::channel::<AgentEvent>(16);
    let (key_tx, mut key_rx) = mpsc::channel::<std::io::Result<Event>>(16);
    let input = futures_util::stream::poll_fn(move |cx| key_rx.poll_recv(cx));
    let ctx = TuiContext {
        store: store.clone(),
        deliverer: Deliverer::new(&DeliverOptions::default()),
        target: target.clone(),
        source: "okta".into(),
    };
    let shutdown = CancellationToken::new();
    let ui = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(140, 30)).expect("test terminal");
        run(&mut terminal, ctx, events_rx, replay_tx, input, shutdown)
            .await
            .map(|()| terminal)
    });
    events_tx
        .send(AgentEvent::Captured(Box::new(orig.clone())))
        .await
        .expect("send captured");
    events_tx
        .send(AgentEvent::Delivered {
            id: orig.id,
            delivered_at_ms: orig.received_at_ms,
            answered_at_ms: orig.received_at_ms + 1,
            outcome,
        })
        .await
        .expect("send delivered");
    Harness {
        store,
        orig,
        seen_rx,
        events_tx,
        replay_rx,
        key_tx,
        ui,
    }
}

impl Harness {
    async fn press(&self, c: char) {
        self.key_tx.send(key(c)).await.expect("key press");
    }

    /// Passes the replay's reports on to the loop; returns the replay's id once delivered.
    async fn forward_replay_reports(&mut self) -> EventId {
        let mut replay_id = None;
        loop {
            let ev = self.replay_rx.recv().await.expect("replay reports");
            let done = match &ev {
                AgentEvent::Captured(c) => {
                    assert_eq!(
                        (c.kind, c.replay_of),
                        (CaptureKind::Replay, Some(self.orig.id))
                    );
                    replay_id = Some(c.id);
                    false
                }
                AgentEvent::Delivered { id, outcome, .. } => {
                    assert_eq!(Some(*id), replay_id);
                    assert_eq!(outcome.status(), Some(200));
                    true
                }
                other => panic!("unexpected report {other:?}"),
            };
            self.events_tx.send(ev).await.expect("forward report");
            if done {
                return replay_id.expect("captured before delivered");
            }
        }
    }

    /// Quits and returns the last frame.
    async fn quit(self) -> String {
        self.press('q').await;
        let terminal = self.ui.await.expect("ui task").expect("ui loop");
        terminal.backend().to_string()
    }
}

fn header_pairs(headers: &[Header]) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_vec()))
        .collect()
}

/// The headers the target saw, limited to those named in `sent` (the HTTP stack adds `host`
/// and `content-length`).
fn received_pairs(seen: &Seen, sent: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    seen.headers
        .iter()
        .filter(|(n, _)| sent.iter().any(|(s, _)| s == n))
        .cloned()
        .collect()
}

#[tokio::test]
async fn r_replays_the_selected_event_byte_for_byte_and_adds_a_linked_row() {
    let Some(store) = real_store() else { return };
    tokio::time::timeout(Duration::from_secs(20), replay_scenario(store))
        .await
        .expect("test timed out");
}

async fn replay_scenario(store: CaptureStore) {
    let mut h = start(store).await;
    h.press('r').await;
    let seen = h
        .seen_rx
        .recv()
        .await
        .expect("the replay reaches the target");
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.uri, "/okta-webhooks-endpoint/extra/path?a=1&b");
    let sent = header_pairs(&h.orig.request.headers);
    assert_eq!(
        received_pairs(&seen, &sent),
        sent,
        "headers in order, duplicates kept"
    );
    assert_eq!(&seen.body[..], h.orig.request.body.as_bytes());

    let replay_id = h.forward_replay_reports().await;
    let stored = h
        .store
        .get(replay_id)
        .expect("store")
        .expect("replay stored");
    assert_eq!(stored.replay_of, Some(h.orig.id));
    assert_eq!(stored.status(), Some(200));

    let short = h.orig.id.0.simple().to_string()[..8].to_string();
    let screen = h.quit().await;
    let replay_line = screen
        .lines()
        .find(|l| l.contains(&format!("↻{short}")))
        .unwrap_or_else(|| panic!("no replay row linked to {short}:\n{screen}"));
    assert!(replay_line.contains("200"), "{replay_line}");
    assert!(
        screen.contains("user.lifecycle.deactivate · John Doe"),
        "{screen}"
    );
}

#[tokio::test]
async fn e_sends_the_request_as_edited_in_the_editor() {
    let Some(store) = real_store() else { return };
    // A non-interactive "editor". Nothing else in this test binary reads VISUAL.
    std::env::set_var("VISUAL", "sed -i -e s/s3cret/edited/ -e s/John/Jane/");
    tokio::time::timeout(Duration::from_secs(20), edit_scenario(store))
        .await
        .expect("test timed out");
}

async fn edit_scenario(store: CaptureStore) {
    let mut h = start(store).await;
    h.press('e').await;
    let seen = h
        .seen_rx
        .recv()
        .await
        .expect("the edited replay reaches the target");
    assert_eq!(seen.uri, "/okta-webhooks-endpoint/extra/path?a=1&b");
    let mut want = h.orig.request.clone();
    want.headers[3] = Header::new("authorization", "Bearer edited");
    let body = h
        .orig
        .request
        .body
        .to_string_lossy()
        .replace("John", "Jane");
    let sent = header_pairs(&want.headers);
    assert_eq!(received_pairs(&seen, &sent), sent);
    assert_eq!(
        &seen.body[..],
        body.as_bytes(),
        "no newline added by the edit"
    );

    let replay_id = h.forward_replay_reports().await;
    let stored = h
        .store
        .get(replay_id)
        .expect("store")
        .expect("replay stored");
    assert_eq!(stored.request.body.as_bytes(), body.as_bytes());
    let screen = h.quit().await;
    assert!(
        screen.contains("user.lifecycle.deactivate · Jane Doe"),
        "{screen}"
    );
}

#[tokio::test]
async fn opens_with_history_and_stops_on_shutdown() {
    let Some(store) = real_store() else { return };
    tokio::time::timeout(Duration::from_secs(20), async {
        let target = Target::parse("1", "/okta-webhooks-endpoint").expect("target");
        let orig = original(&target);
        store.insert(&orig).expect("insert");
        let (events_tx, events_rx) = mpsc::channel::<AgentEvent>(4);
        let input = futures_util::stream::pending::<std::io::Result<Event>>();
        let ctx = TuiContext {
            store,
            deliverer: Deliverer::new(&DeliverOptions::default()),
            target,
            source: "okta".into(),
        };
        events_tx
            .send(AgentEvent::Welcome {
                source: "okta".into(),
                backlog: 0,
                head_seq: 0,
                public_url: "https://relay.example.com/h/okta".into(),
                mode: Mode::Proxy,
            })
            .await
            .expect("send welcome");
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        let mut terminal = Terminal::new(TestBackend::new(100, 20)).expect("test terminal");
        run(&mut terminal, ctx, events_rx, events_tx, input, shutdown)
            .await
            .expect("loop ends cleanly on shutdown");
        let screen = terminal.backend().to_string();
        assert!(screen.contains("proxy mode"), "{screen}");
        assert!(screen.contains("user.lifecycle.deactivate"), "{screen}");
        assert!(screen.contains("/extra/path?a=1&b"), "{screen}");
    })
    .await
    .expect("test timed out");
}
