//! Benchmark: median time to render one dashboard frame with 100,000 rows in state, and the
//! process RSS after loading them. Plain `main` (`harness = false`); run with
//! `cargo bench -p agent --bench tui_render`. Target: ≤ 16 ms median.

use agent::events::AgentEvent;
use agent::model::{Capture, CaptureKind};
use agent::tui::action::Action;
use agent::tui::state::AppState;
use agent::tui::update::update;
use agent::tui::view::render;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use shared::{DeliveryOutcome, EventId, Header, HttpRequest, HttpResponse, Mode};
use std::time::{Duration, Instant};

const ROWS: usize = 100_000;
const FRAMES: usize = 200;

fn capture(n: usize) -> Capture {
    let body = format!(
        r#"{{"eventType":"com.okta.event_hook","eventId":"evt-{n}","data":{{"events":[{{"uuid":"u-{n}","eventType":"user.lifecycle.deactivate","displayMessage":"Deactivate Okta user","target":[{{"id":"00u{n}","type":"User","displayName":"User {n}"}}]}}]}}}}"#
    );
    Capture {
        id: EventId::new(),
        seq: Some(n as u64),
        source: "okta".into(),
        kind: CaptureKind::Event,
        received_at_ms: 1_700_000_000_000 + n as u64 * 10,
        delivered_at_ms: Some(1_700_000_000_000 + n as u64 * 10 + 1),
        answered_at_ms: Some(1_700_000_000_000 + n as u64 * 10 + 5),
        request: HttpRequest {
            method: "POST".into(),
            path: String::new(),
            query: None,
            headers: vec![Header::new("content-type", "application/json")],
            body: body.into(),
        },
        target_url: "http://127.0.0.1:1337/okta-webhooks-endpoint".into(),
        outcome: Some(DeliveryOutcome {
            response: Some(HttpResponse {
                status: [200, 204, 404, 500][n % 4],
                headers: vec![],
                body: "ok".into(),
            }),
            error: None,
            duration_us: 1_000 + n as u64 % 5_000,
        }),
        duplicate: n.is_multiple_of(97),
        replay_of: None,
    }
}

fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median_frame(state: &AppState, w: u16, h: u16) -> Duration {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    let mut times = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        let start = Instant::now();
        terminal.draw(|f| render(state, f)).expect("draw");
        times.push(start.elapsed());
    }
    times.sort();
    times[FRAMES / 2]
}

fn main() {
    let before = rss_kb();
    let mut state = AppState::new(
        "https://relay.example.com/h/okta",
        "http://127.0.0.1:1337/okta-webhooks-endpoint",
        "okta",
        Mode::Ack,
    );
    let load = Instant::now();
    for n in 0..ROWS {
        update(
            &mut state,
            Action::Net(AgentEvent::Captured(Box::new(capture(n)))),
        );
    }
    let load = load.elapsed();
    let after = rss_kb();
    println!("loaded {} rows in {load:?}", state.rows.len());
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "VmRSS: {a} kB after loading ({} kB for the rows)",
            a.saturating_sub(b)
        );
    }
    for (w, h) in [(100, 30), (200, 60)] {
        update(&mut state, Action::Resize(w, h));
        update(&mut state, Action::Bottom);
        let following = median_frame(&state, w, h);
        update(&mut state, Action::Top);
        let top = median_frame(&state, w, h);
        println!(
            "{w}x{h}: median frame {:.3} ms following newest, {:.3} ms at the top (target ≤ 16 ms)",
            following.as_secs_f64() * 1e3,
            top.as_secs_f64() * 1e3
        );
    }
    let filter = Instant::now();
    for c in "user 999".chars() {
        update(&mut state, Action::FilterChar(c));
    }
    println!(
        "typing an 8-char filter over {ROWS} rows: {:.1} ms; {} match",
        filter.elapsed().as_secs_f64() * 1e3,
        state.rows.visible_len()
    );
    let filtered = median_frame(&state, 200, 60);
    println!(
        "200x60 filtered: median frame {:.3} ms",
        filtered.as_secs_f64() * 1e3
    );
}
