//! The TUI's detail view shows the event's page in the web inspector when one is running.

mod capture_fixtures;

use agent::tui::state::{AppState, Detail};
use capture_fixtures::CaptureBuilder;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use shared::{EventId, Mode};

fn screen(inspect_url: Option<&str>) -> (String, EventId) {
    let c = CaptureBuilder::event(1)
        .received_at(1_700_000_000_000)
        .target("http://127.0.0.1:1337/x")
        .build();
    let id = c.id;
    let mut state = AppState::new(
        "http://relay/h/okta",
        "http://127.0.0.1:1337/x",
        "okta",
        Mode::Ack,
    );
    state.size = (200, 20);
    state.inspect_url = inspect_url.map(str::to_string);
    state.detail = Some(Detail {
        id,
        capture: Some(Box::new(c)),
        ..Detail::default()
    });
    let mut terminal = Terminal::new(TestBackend::new(200, 20)).expect("terminal");
    terminal
        .draw(|f| agent::tui::view::render(&state, f))
        .expect("draw");
    let text: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|cell| cell.symbol())
        .collect();
    (text, id)
}

#[test]
fn the_detail_view_links_to_the_inspector() {
    let (text, id) = screen(Some("http://127.0.0.1:4040"));
    assert!(
        text.contains(&format!("http://127.0.0.1:4040/events/{id}")),
        "{text}"
    );
    let (text, _) = screen(None);
    assert!(!text.contains("/events/"), "{text}");
}
