//! TestBackend snapshots of every screen, on fixtures with fixed ids and times.

use super::fixtures::*;
use crate::events::ConnState;
use crate::tui::action::Action;
use crate::tui::state::AppState;
use crate::tui::update::update;
use crate::tui::view::render;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn draw(state: &AppState) -> Terminal<TestBackend> {
    let (w, h) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    terminal.draw(|f| render(state, f)).expect("draw");
    terminal
}

fn sized(mut state: AppState, w: u16, h: u16) -> AppState {
    update(&mut state, Action::Resize(w, h));
    state
}

#[test]
fn empty() {
    insta::assert_snapshot!(draw(&state()).backend());
}

#[test]
fn mixed_statuses() {
    insta::assert_snapshot!(draw(&mixed_state()).backend());
}

#[test]
fn okta_summaries() {
    insta::assert_snapshot!(draw(&okta_state()).backend());
}

#[test]
fn okta_summaries_wide() {
    insta::assert_snapshot!(draw(&sized(okta_state(), 200, 14)).backend());
}

fn open_detail(mut s: AppState, c: crate::model::Capture) -> AppState {
    let n = s.rows.len();
    for _ in 0..n {
        if s.selected_row().map(|r| r.id) == Some(c.id) {
            break;
        }
        update(&mut s, Action::Up);
    }
    update(&mut s, Action::Open);
    update(&mut s, Action::DetailLoaded(Box::new(c)));
    s
}

fn json_capture() -> crate::model::Capture {
    let body = okta_event_body("user.lifecycle.deactivate", "John Doe");
    answered(
        capture(2, body.as_bytes()),
        200,
        r#"{"ok":true,"n":[1,2]}"#,
        15_000,
    )
}

#[test]
fn detail_json_body() {
    insta::assert_snapshot!(draw(&open_detail(okta_state(), json_capture())).backend());
}

#[test]
fn detail_response_tab() {
    let mut s = open_detail(okta_state(), json_capture());
    update(&mut s, Action::NextTab);
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn detail_side_by_side_wide() {
    let s = sized(open_detail(okta_state(), json_capture()), 200, 30);
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn detail_binary_body() {
    let mut s = state();
    let bytes: Vec<u8> = (0u8..=90).map(|b| b.wrapping_mul(37)).collect();
    let mut c = capture(1, &bytes);
    c.request.headers = vec![shared::Header::new(
        "content-type",
        "application/octet-stream",
    )];
    let c = answered(c, 415, "unsupported", 2_000);
    feed(&mut s, c.clone());
    insta::assert_snapshot!(draw(&open_detail(s, c)).backend());
}

#[test]
fn detail_loading_and_failed() {
    let mut s = mixed_state();
    update(&mut s, Action::Up);
    update(&mut s, Action::Up);
    update(&mut s, Action::Up);
    update(&mut s, Action::Open);
    let loading = draw(&s);
    update(
        &mut s,
        Action::DetailLoaded(Box::new(refused(capture(4, b"{}")))),
    );
    update(&mut s, Action::NextTab);
    insta::assert_snapshot!("detail_loading", loading.backend());
    insta::assert_snapshot!("detail_failed_response", draw(&s).backend());
}

#[test]
fn help_overlay() {
    let mut s = mixed_state();
    update(&mut s, Action::ToggleHelp);
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn curl_popup() {
    let mut s = mixed_state();
    let text = crate::tui::curl::command(&capture(1, br#"{"hello":"world"}"#));
    update(
        &mut s,
        Action::Popup {
            title: "curl".into(),
            text,
        },
    );
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn active_filter() {
    let mut s = okta_state();
    update(&mut s, Action::StartFilter);
    for c in "lifecycle".chars() {
        update(&mut s, Action::FilterChar(c));
    }
    insta::assert_snapshot!("filter_typing", draw(&s).backend());
    update(&mut s, Action::FilterAccept);
    insta::assert_snapshot!("filter_accepted", draw(&s).backend());
}

#[test]
fn reconnecting() {
    let mut s = mixed_state();
    update(&mut s, Action::Tick(T0 + 100_000));
    update(
        &mut s,
        Action::Net(crate::events::AgentEvent::State(ConnState::Reconnecting {
            attempt: 3,
            next_in_ms: 8_000,
            reason: "connection reset by peer".into(),
        })),
    );
    update(&mut s, Action::Tick(T0 + 102_500));
    update(&mut s, Action::Notice("relay dropped 2 old events".into()));
    insta::assert_snapshot!(draw(&s).backend());
}

#[test]
fn connecting_failed_and_collapsed_header() {
    let mut s = mixed_state();
    s.conn = ConnState::Failed {
        reason: "token revoked".into(),
    };
    update(&mut s, Action::ToggleHeader);
    insta::assert_snapshot!(draw(&sized(s, 100, 12)).backend());
}

#[test]
fn narrow_60x15() {
    insta::assert_snapshot!("narrow_list", draw(&sized(mixed_state(), 60, 15)).backend());
    let s = sized(open_detail(okta_state(), json_capture()), 60, 15);
    insta::assert_snapshot!("narrow_detail", draw(&s).backend());
    let mut s = sized(mixed_state(), 60, 15);
    update(&mut s, Action::ToggleHelp);
    insta::assert_snapshot!("narrow_help", draw(&s).backend());
}

#[test]
fn tiny_terminals_do_not_panic() {
    for (w, h) in [(1, 1), (10, 3), (20, 5), (0, 0), (300, 2)] {
        let mut s = sized(open_detail(okta_state(), json_capture()), w, h);
        draw(&s);
        update(&mut s, Action::Back);
        draw(&s);
        update(&mut s, Action::ToggleHelp);
        draw(&s);
    }
}

#[test]
fn detail_inline_hook_budget() {
    let inline = inline_body();
    let c = answered(
        capture(6, inline.as_bytes()),
        200,
        "{\"commands\":[]}",
        2_800_000,
    );
    insta::assert_snapshot!(draw(&open_detail(okta_state(), c)).backend());
}

/// Listening on two sources, the list and the detail view name each event's source.
fn two_sources_state() -> AppState {
    let mut s = state();
    update(
        &mut s,
        Action::Net(crate::events::AgentEvent::Started {
            target: "http://127.0.0.1:1337/okta-webhooks-endpoint".into(),
            source: "okta,github".into(),
        }),
    );
    for source in ["okta", "github"] {
        update(
            &mut s,
            Action::Net(crate::events::AgentEvent::Welcome {
                source: source.into(),
                backlog: 1,
                head_seq: 1,
                public_url: format!("https://relay.example.com/h/{source}"),
                mode: shared::Mode::Ack,
            }),
        );
    }
    let body = okta_event_body("user.lifecycle.deactivate", "John Doe");
    feed(
        &mut s,
        answered(capture(1, body.as_bytes()), 200, "", 15_000),
    );
    let mut push = answered(capture(2, br#"{"ref":"main"}"#), 204, "", 4_000);
    push.source = "github".into();
    push.request.path = "/push".into();
    feed(&mut s, push);
    s
}

#[test]
fn two_sources_list() {
    insta::assert_snapshot!(draw(&two_sources_state()).backend());
}

#[test]
fn two_sources_narrow_list() {
    insta::assert_snapshot!(draw(&sized(two_sources_state(), 70, 14)).backend());
}

#[test]
fn two_sources_detail() {
    let mut push = answered(capture(2, br#"{"ref":"main"}"#), 204, "", 4_000);
    push.source = "github".into();
    push.request.path = "/push".into();
    insta::assert_snapshot!(draw(&open_detail(two_sources_state(), push)).backend());
}
