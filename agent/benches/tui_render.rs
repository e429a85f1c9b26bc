//! Benchmark (issue 4 figures): 100,000 captures of realistic ~3 KB Okta event hook bodies go
//! into a real on-disk capture store and, as `Captured` + `Delivered` actions, into the
//! dashboard state, as the listener would feed them. Reports the frame render time (median and
//! p99, 100×30 and 200×60), the process RSS (VmRSS, VmHWM) after loading, and the `/` filter's
//! costs (typing, and the store's body search Enter starts).
//!
//! Plain `main` (`harness = false`):
//! `nice -n 10 cargo bench -p agent --bench tui_render`. Targets: ≤ 16 ms median frame,
//! ≤ 150 MB RSS.

use agent::capture::CaptureStore;
use agent::events::AgentEvent;
use agent::model::{Capture, CaptureKind};
use agent::okta_kit::{build_trigger_request, event_hook_body, okta_headers, TriggerOptions};
use agent::tui::action::{Action, Effect};
use agent::tui::state::{AppState, ROW_CAPACITY};
use agent::tui::update::update;
use agent::tui::view::render;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use shared::{DeliveryOutcome, EventId, Header, HttpResponse, Mode};
use std::time::{Duration, Instant};

const ROWS: usize = 100_000;
const FRAMES: usize = 500;
/// Captures written to the store per transaction while loading.
const BATCH: usize = 1_000;
/// The body size the issue asks for.
const BODY_BYTES: usize = 3_072;
const T0: u64 = 1_700_000_000_000;

/// A `user.lifecycle.deactivate` event hook delivery (fresh ids and people each time) of about
/// [`BODY_BYTES`]: the generated body is ~2.2 KB, so its event's `debugContext.debugData`
/// gets a `behaviors` string (a real Okta field) long enough to make up the difference.
fn okta_body() -> serde_json::Value {
    let mut body = event_hook_body(&["user.lifecycle.deactivate"], &TriggerOptions::default());
    let short = serde_json::to_vec(&body)
        .expect("a JSON value serialises")
        .len();
    let pad = BODY_BYTES.saturating_sub(short + r#","behaviors":"""#.len());
    let behaviors: String = "{New Geo-Location=NEGATIVE, New Device=NEGATIVE, Velocity=NEGATIVE} "
        .chars()
        .cycle()
        .take(pad)
        .collect();
    if let Some(debug) = body
        .pointer_mut("/data/events/0/debugContext/debugData")
        .and_then(|d| d.as_object_mut())
    {
        debug.insert("behaviors".into(), behaviors.into());
    }
    body
}

/// The capture as the listener first reports it (pending), and its outcome.
fn capture(n: usize) -> (Capture, DeliveryOutcome) {
    let request = build_trigger_request(
        &okta_body(),
        okta_headers("who8hookrelayKit01d7", Some(("authorization", "secret"))),
    );
    let received = T0 + n as u64 * 10;
    let capture = Capture {
        event: shared::Event {
            seq: n as u64,
            id: EventId::new(),
            received_at_ms: received,
            duplicate: n.is_multiple_of(97),
            proxied: false,
            request,
        },
        source: "okta".into(),
        kind: CaptureKind::Event,
        delivered_at_ms: None,
        answered_at_ms: None,
        target_url: "http://127.0.0.1:1337/okta-webhooks-endpoint".into(),
        outcome: None,
        replay_of: None,
    };
    let outcome = DeliveryOutcome::answered(
        HttpResponse {
            status: [200, 204, 404, 500][n % 4],
            headers: vec![Header::new("content-type", "application/json")],
            body: r#"{"ok":true}"#.into(),
        },
        1_000 + n as u64 % 5_000,
    );
    (capture, outcome)
}

/// `VmRSS` and `VmHWM` (peak) of this process, in kB.
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Median and p99 of drawing `state` on a `w`×`h` terminal.
fn frame_times(state: &AppState, w: u16, h: u16) -> (Duration, Duration) {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    let mut times = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        let start = Instant::now();
        terminal.draw(|f| render(state, f)).expect("draw");
        times.push(start.elapsed());
    }
    times.sort();
    (times[FRAMES / 2], times[FRAMES * 99 / 100])
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Fills the store and the state; returns the total request body bytes.
fn load(store: &CaptureStore, state: &mut AppState) -> usize {
    let mut body_bytes = 0;
    let mut batch = Vec::with_capacity(BATCH);
    for n in 0..ROWS {
        let (c, outcome) = capture(n);
        body_bytes += c.request.body.as_bytes().len();
        let id = c.id;
        update(
            state,
            Action::Net(AgentEvent::Captured(Box::new(c.clone()))),
        );
        let answered = c.received_at_ms + 2;
        update(
            state,
            Action::Net(AgentEvent::Delivered {
                id,
                delivered_at_ms: c.received_at_ms + 1,
                answered_at_ms: answered,
                outcome: outcome.clone(),
            }),
        );
        let mut stored = c;
        stored.delivered_at_ms = Some(stored.received_at_ms + 1);
        stored.answered_at_ms = Some(answered);
        stored.outcome = Some(outcome);
        batch.push(stored);
        if batch.len() == BATCH {
            store.insert_many(&batch).expect("storing captures");
            batch.clear();
        }
    }
    store.insert_many(&batch).expect("storing captures");
    body_bytes
}

fn main() {
    let (rss0, _) = memory_kb();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = CaptureStore::open(&dir.path().join("captures.sqlite3")).expect("open store");
    let mut state = AppState::new(
        "https://relay.example.com/h/okta",
        "http://127.0.0.1:1337/okta-webhooks-endpoint",
        "okta",
        Mode::Ack,
    );
    let started = Instant::now();
    let body_bytes = load(&store, &mut state);
    let (rss, hwm) = memory_kb();
    println!(
        "loaded {} rows ({} captures in the store, mean request body {} B) in {:.1} s",
        state.rows.len(),
        store.count().expect("count"),
        body_bytes / ROWS,
        started.elapsed().as_secs_f64()
    );
    println!(
        "memory after loading: VmRSS {} MB, VmHWM {} MB (at start: VmRSS {} MB) — target ≤ 150 MB",
        rss / 1024,
        hwm / 1024,
        rss0 / 1024
    );
    for (w, h) in [(100, 30), (200, 60)] {
        update(&mut state, Action::Resize(w, h));
        update(&mut state, Action::Bottom);
        let (follow_med, follow_p99) = frame_times(&state, w, h);
        update(&mut state, Action::Top);
        let (top_med, top_p99) = frame_times(&state, w, h);
        println!(
            "{w}x{h}: following newest median {} p99 {}; at the top median {} p99 {} \
             (target ≤ 16 ms median)",
            ms(follow_med),
            ms(follow_p99),
            ms(top_med),
            ms(top_p99)
        );
    }
    let typing = Instant::now();
    update(&mut state, Action::StartFilter);
    for c in "deactivate".chars() {
        update(&mut state, Action::FilterChar(c));
    }
    println!(
        "typing a 10-char filter over {ROWS} rows: {} in all; {} rows match on their fields",
        ms(typing.elapsed()),
        state.rows.visible_len()
    );
    let Some(Effect::SearchBodies(needle)) = update(&mut state, Action::FilterAccept) else {
        panic!("Enter on a filter asks for a body search");
    };
    for (what, needle) in [("common", needle.as_str()), ("absent", "no-such-text")] {
        let search = Instant::now();
        let ids = store
            .ids_with_body_containing(needle, ROW_CAPACITY)
            .expect("body search");
        println!(
            "store body search for {what} {needle:?}: {} ({} ids)",
            ms(search.elapsed()),
            ids.len()
        );
        if what == "common" {
            let apply = Instant::now();
            update(
                &mut state,
                Action::BodyMatches {
                    needle: needle.to_string(),
                    ids,
                },
            );
            println!(
                "applying the body matches: {}; {} rows shown",
                ms(apply.elapsed()),
                state.rows.visible_len()
            );
        }
    }
    let (med, p99) = frame_times(&state, 200, 60);
    println!("200x60 filtered: median {} p99 {}", ms(med), ms(p99));
    let (rss, hwm) = memory_kb();
    println!(
        "memory at the end: VmRSS {} MB, VmHWM {} MB",
        rss / 1024,
        hwm / 1024
    );
}
