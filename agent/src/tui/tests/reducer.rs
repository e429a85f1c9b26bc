//! Reducer tests: every key action and every network action (over 400 lines: one short test
//! per action, kept together so a missing one shows).

use super::fixtures::*;
use crate::capture_builder::answer;
use crate::events::{AgentEvent, ConnState};
use crate::tui::action::{Action, Effect};
use crate::tui::state::{AppState, Overlay, Tab};
use crate::tui::update::update;
use shared::{DeliveryOutcome, Mode};

fn selected_id(s: &AppState) -> Option<shared::EventId> {
    s.selected_row().map(|r| r.id)
}

#[test]
fn started_state_welcome_and_notice_fill_the_header() {
    let mut s = state();
    update(
        &mut s,
        Action::Net(AgentEvent::Started {
            target: "http://127.0.0.1:9/p".into(),
            source: "x".into(),
        }),
    );
    assert_eq!(
        (s.target.as_str(), s.source.as_str()),
        ("http://127.0.0.1:9/p", "x")
    );
    update(&mut s, Action::Tick(T0 + 5));
    let reconnecting = ConnState::Reconnecting {
        attempt: 2,
        next_in_ms: 4000,
        reason: "reset".into(),
    };
    update(&mut s, Action::Net(AgentEvent::State(reconnecting.clone())));
    assert_eq!((s.conn.clone(), s.conn_changed_ms), (reconnecting, T0 + 5));
    update(
        &mut s,
        Action::Net(AgentEvent::Welcome {
            source: "x".into(),
            backlog: 7,
            head_seq: 9,
            public_url: "https://r/h/x".into(),
            mode: Mode::Proxy,
        }),
    );
    assert_eq!(s.backlog, Some(7));
    // The header shows the URL the relay announces, not one the agent made up.
    assert_eq!(
        (s.public_url.as_str(), s.mode),
        ("https://r/h/x", Mode::Proxy)
    );
    update(&mut s, Action::Net(AgentEvent::Notice("dropped 3".into())));
    assert_eq!(s.notice.as_deref(), Some("dropped 3"));
    update(&mut s, Action::Resize(60, 15));
    assert_eq!(s.size, (60, 15));
}

#[test]
fn captured_rows_follow_the_newest_and_delivered_counts() {
    let mut s = state();
    feed(&mut s, capture(1, b"a"));
    feed(&mut s, capture(2, b"b"));
    assert_eq!((s.rows.len(), selected_id(&s)), (2, Some(id(2))));
    assert!(s.rows.get(id(2)).is_some_and(|r| r.pending));
    let outcome = answer(503, "", 10);
    let delivered = AgentEvent::Delivered {
        id: id(2),
        delivered_at_ms: T0,
        answered_at_ms: T0 + 1,
        outcome,
    };
    update(&mut s, Action::Net(delivered.clone()));
    update(&mut s, Action::Net(delivered));
    let row = s.rows.get(id(2)).expect("row");
    assert_eq!((row.status, row.pending), (Some(503), false));
    assert_eq!(
        (s.counters.total, s.counters.http_errors, s.counters.ok),
        (2, 1, 0)
    );
    // The same capture again (e.g. redelivered after a reconnect) replaces its row.
    feed(&mut s, answered(capture(1, b"a"), 200, "", 5));
    assert_eq!((s.rows.len(), s.counters.total), (2, 2));
    assert_eq!(s.rows.get(id(1)).and_then(|r| r.status), Some(200));
    // Unknown ids are ignored.
    update(
        &mut s,
        Action::Net(AgentEvent::Delivered {
            id: id(99),
            delivered_at_ms: 0,
            answered_at_ms: 0,
            outcome: DeliveryOutcome::failed(shared::DeliveryError::Other("gone".into()), 0),
        }),
    );
    assert_eq!(s.rows.len(), 2);
}

#[test]
fn history_counts_and_mixed_counters() {
    let s = mixed_state();
    assert_eq!(s.counters.total, 7);
    assert_eq!(
        (s.counters.ok, s.counters.http_errors, s.counters.failed),
        (3, 2, 1)
    );
    let mut h = state();
    let rows = [capture(1, b""), capture(2, b"")]
        .iter()
        .map(crate::tui::row::Row::from_capture)
        .collect();
    update(&mut h, Action::HistoryLoaded(rows));
    assert_eq!((h.rows.len(), selected_id(&h)), (2, Some(id(2))));
}

#[test]
fn moving_stops_following_and_g_end_resumes() {
    let mut s = mixed_state();
    update(&mut s, Action::Up);
    assert_eq!((selected_id(&s), s.follow), (Some(id(6)), false));
    feed(&mut s, capture(8, b""));
    assert_eq!(
        selected_id(&s),
        Some(id(6)),
        "selection stays put while not following"
    );
    update(&mut s, Action::Top);
    assert_eq!(selected_id(&s), Some(id(1)));
    update(&mut s, Action::Up);
    assert_eq!(selected_id(&s), Some(id(1)));
    update(&mut s, Action::Down);
    assert_eq!(selected_id(&s), Some(id(2)));
    update(&mut s, Action::PageDown);
    assert_eq!((selected_id(&s), s.follow), (Some(id(8)), true));
    update(&mut s, Action::PageUp);
    assert_eq!((selected_id(&s), s.follow), (Some(id(1)), false));
    update(&mut s, Action::Bottom);
    assert_eq!((selected_id(&s), s.follow), (Some(id(8)), true));
    feed(&mut s, capture(9, b""));
    assert_eq!(selected_id(&s), Some(id(9)));
}

#[test]
fn page_size_follows_the_terminal() {
    let mut s = state();
    for n in 1..=50 {
        feed(&mut s, capture(n, b""));
    }
    update(&mut s, Action::Resize(100, 15));
    update(&mut s, Action::Top);
    update(&mut s, Action::PageDown);
    assert_eq!(s.selected, s.page_rows());
    assert_eq!(
        s.page_rows(),
        15 - 1 - 4,
        "short terminals collapse the header"
    );
}

#[test]
fn ring_eviction_keeps_the_selection_on_its_row() {
    let mut s = AppState::with_capacity("u", "t", "s", Mode::Ack, 3);
    for n in 1..=3 {
        feed(&mut s, capture(n, b""));
    }
    update(&mut s, Action::Up);
    assert_eq!(selected_id(&s), Some(id(2)));
    feed(&mut s, capture(4, b""));
    assert_eq!((s.rows.len(), selected_id(&s)), (3, Some(id(2))));
    feed(&mut s, capture(5, b""));
    feed(&mut s, capture(6, b""));
    assert_eq!(
        selected_id(&s),
        Some(id(4)),
        "the selected row was dropped; oldest left"
    );
}

#[test]
fn open_loads_detail_then_scrolls_tabs_and_back() {
    let mut s = mixed_state();
    update(&mut s, Action::Top);
    assert_eq!(
        update(&mut s, Action::Open),
        Some(Effect::LoadDetail(id(1)))
    );
    assert!(s.detail.as_ref().is_some_and(|d| d.capture.is_none()));
    update(
        &mut s,
        Action::DetailLoaded(Box::new(capture(2, b"ignored: other id"))),
    );
    assert!(s.detail.as_ref().is_some_and(|d| d.capture.is_none()));
    let body = okta_event_body("user.lifecycle.deactivate", "John Doe");
    let c = answered(capture(1, body.as_bytes()), 200, "{}", 5);
    update(&mut s, Action::DetailLoaded(Box::new(c)));
    let d = s.detail.as_ref().expect("detail");
    assert!(d.request.len() > 10 && d.capture.is_some());
    update(&mut s, Action::Down);
    update(&mut s, Action::PageDown);
    let scrolled = s.detail.as_ref().map(|d| d.scroll);
    assert!(scrolled > Some(1), "{scrolled:?}");
    update(&mut s, Action::Bottom);
    let d = s.detail.as_ref().expect("detail");
    assert_eq!(d.scroll, d.max_lines() - 1);
    update(&mut s, Action::Top);
    update(&mut s, Action::Up);
    assert_eq!(s.detail.as_ref().map(|d| d.scroll), Some(0));
    update(&mut s, Action::NextTab);
    assert_eq!(s.detail.as_ref().map(|d| d.tab), Some(Tab::Response));
    update(&mut s, Action::NextTab);
    assert_eq!(s.detail.as_ref().map(|d| d.tab), Some(Tab::Request));
    assert_eq!(
        selected_id(&s),
        Some(id(1)),
        "list selection untouched by detail keys"
    );
    update(&mut s, Action::Back);
    assert!(s.detail.is_none());
    let mut empty = state();
    assert_eq!(update(&mut empty, Action::Open), None);
    assert!(empty.detail.is_none());
}

#[test]
fn delivered_refreshes_an_open_pending_detail() {
    let mut s = state();
    feed(&mut s, capture(1, b"x"));
    update(&mut s, Action::Open);
    update(&mut s, Action::DetailLoaded(Box::new(capture(1, b"x"))));
    let waiting = s.detail.as_ref().map(|d| d.response[0].to_string());
    assert_eq!(waiting.as_deref(), Some("waiting for the local service…"));
    let done = answered(capture(1, b"x"), 202, "ok", 1_000);
    update(
        &mut s,
        Action::Net(AgentEvent::Delivered {
            id: id(1),
            delivered_at_ms: T0,
            answered_at_ms: T0 + 1,
            outcome: done.outcome.clone().expect("outcome"),
        }),
    );
    let first = s.detail.as_ref().map(|d| d.response[0].to_string());
    assert_eq!(first.as_deref(), Some("202 Accepted  in 1ms"));
}

#[test]
fn replay_edit_copy_export_target_the_selected_or_open_capture() {
    let mut s = mixed_state();
    assert_eq!(update(&mut s, Action::Replay), Some(Effect::Replay(id(7))));
    update(&mut s, Action::Top);
    assert_eq!(
        update(&mut s, Action::EditReplay),
        Some(Effect::EditReplay(id(1)))
    );
    assert_eq!(
        update(&mut s, Action::CopyCurl),
        Some(Effect::CopyCurl(id(1)))
    );
    assert_eq!(update(&mut s, Action::Export), Some(Effect::Export(id(1))));
    update(&mut s, Action::Down);
    update(&mut s, Action::Open);
    update(&mut s, Action::Up);
    assert_eq!(update(&mut s, Action::Replay), Some(Effect::Replay(id(2))));
    let mut empty = state();
    for a in [
        Action::Replay,
        Action::EditReplay,
        Action::CopyCurl,
        Action::Export,
    ] {
        assert_eq!(update(&mut empty, a), None);
    }
}

#[test]
fn filter_typing_backspace_accept_and_clear() {
    let mut s = mixed_state();
    update(&mut s, Action::StartFilter);
    assert!(s.filtering);
    for c in "MISS".chars() {
        update(&mut s, Action::FilterChar(c));
    }
    assert_eq!((s.rows.visible_len(), selected_id(&s)), (1, Some(id(2))));
    update(&mut s, Action::FilterBackspace);
    assert_eq!(s.filter_input, "MIS");
    update(&mut s, Action::FilterAccept);
    assert!(!s.filtering);
    assert_eq!(s.rows.visible_len(), 1);
    // Status substrings match too.
    s.filter_input.clear();
    "500".chars().for_each(|c| {
        update(&mut s, Action::FilterChar(c));
    });
    assert_eq!(selected_id(&s), Some(id(3)));
    // Body substrings match once the store answered the search Enter starts.
    s.filter_input.clear();
    "World".chars().for_each(|c| {
        update(&mut s, Action::FilterChar(c));
    });
    assert_eq!(s.rows.visible_len(), 0);
    assert_eq!(
        update(&mut s, Action::FilterAccept),
        Some(Effect::SearchBodies("world".into()))
    );
    let ids = (1..=6).rev().map(id).collect();
    update(
        &mut s,
        Action::BodyMatches {
            needle: "world".into(),
            ids,
        },
    );
    assert_eq!(s.rows.visible_len(), 6);
    update(&mut s, Action::Back);
    assert_eq!((s.filter_input.as_str(), s.rows.visible_len()), ("", 7));
}

#[test]
fn help_header_popup_notice_and_quit() {
    let mut s = state();
    update(&mut s, Action::ToggleHelp);
    assert_eq!(s.overlay, Overlay::Help);
    update(&mut s, Action::ToggleHelp);
    assert_eq!(s.overlay, Overlay::None);
    update(&mut s, Action::ToggleHelp);
    update(&mut s, Action::Back);
    assert_eq!(s.overlay, Overlay::None);
    update(&mut s, Action::ToggleHeader);
    assert_eq!((s.header_collapsed, s.header_height()), (true, 1));
    update(&mut s, Action::ToggleHeader);
    assert!(!s.header_collapsed);
    let popup = Action::Popup {
        title: "curl".into(),
        text: "curl x".into(),
    };
    update(&mut s, popup);
    assert!(matches!(&s.overlay, Overlay::Popup { text, .. } if text == "curl x"));
    update(&mut s, Action::Back);
    assert_eq!(s.overlay, Overlay::None);
    update(&mut s, Action::Notice("hi".into()));
    assert_eq!(s.notice.as_deref(), Some("hi"));
    update(&mut s, Action::Back);
    assert_eq!(s.notice, None);
    update(&mut s, Action::Tick(T0 + 123));
    assert_eq!(s.now_ms, T0 + 123);
    assert!(!s.quit);
    update(&mut s, Action::Quit);
    assert!(s.quit);
}

#[test]
fn enter_searches_bodies_once_per_filter() {
    let mut s = mixed_state();
    assert_eq!(
        update(&mut s, Action::FilterAccept),
        None,
        "no filter, no search"
    );
    update(&mut s, Action::StartFilter);
    update(&mut s, Action::FilterChar('h'));
    assert_eq!(
        update(&mut s, Action::FilterAccept),
        Some(Effect::SearchBodies("h".into()))
    );
    let found = Action::BodyMatches {
        needle: "h".into(),
        ids: vec![id(1)],
    };
    update(&mut s, found);
    assert_eq!(
        update(&mut s, Action::FilterAccept),
        None,
        "already searched"
    );
    update(&mut s, Action::StartFilter);
    update(&mut s, Action::FilterChar('e'));
    assert_eq!(
        update(&mut s, Action::FilterAccept),
        Some(Effect::SearchBodies("he".into())),
        "a changed filter searches again"
    );
}

#[test]
fn stale_body_matches_are_ignored_and_the_selection_stays() {
    let mut s = mixed_state();
    update(&mut s, Action::StartFilter);
    for c in "hello".chars() {
        update(&mut s, Action::FilterChar(c));
    }
    update(&mut s, Action::FilterAccept);
    // The answer for an older prefix arrives late: ignored.
    let stale = Action::BodyMatches {
        needle: "hell".into(),
        ids: vec![id(1)],
    };
    assert_eq!(update(&mut s, stale), None);
    assert_eq!(s.rows.visible_len(), 0);
    let found = Action::BodyMatches {
        needle: "hello".into(),
        ids: vec![id(5), id(2), id(1)],
    };
    update(&mut s, found);
    assert_eq!((s.rows.visible_len(), selected_id(&s)), (3, Some(id(5))));
    update(&mut s, Action::Up);
    let again = Action::BodyMatches {
        needle: "hello".into(),
        ids: vec![id(5), id(2), id(1), id(3)],
    };
    update(&mut s, again);
    assert_eq!((s.rows.visible_len(), selected_id(&s)), (4, Some(id(2))));
}

#[test]
fn new_captures_join_known_body_matches_by_request_or_response_body() {
    let mut s = mixed_state();
    update(&mut s, Action::StartFilter);
    for c in "needle".chars() {
        update(&mut s, Action::FilterChar(c));
    }
    update(&mut s, Action::FilterAccept);
    feed(&mut s, capture(8, b"a NEEDLE in the request"));
    assert_eq!(s.rows.visible_len(), 0, "before the store answered");
    let found = Action::BodyMatches {
        needle: "needle".into(),
        ids: vec![id(8)],
    };
    update(&mut s, found);
    assert_eq!(s.rows.visible_len(), 1);
    feed(&mut s, capture(9, b"hay"));
    feed(&mut s, capture(10, b"a needle too"));
    assert_eq!(s.rows.visible_len(), 2);
    let reply = answered(capture(9, b"hay"), 200, r#"{"found":"Needle"}"#, 1_000);
    update(
        &mut s,
        Action::Net(AgentEvent::Delivered {
            id: id(9),
            delivered_at_ms: T0,
            answered_at_ms: T0 + 1,
            outcome: reply.outcome.expect("answered"),
        }),
    );
    let shown: Vec<_> = (0..s.rows.visible_len())
        .filter_map(|i| s.rows.visible(i).map(|r| r.id))
        .collect();
    assert_eq!(shown, [id(8), id(9), id(10)]);
}
