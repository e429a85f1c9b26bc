//! Fixed captures and states for the TUI tests.

use crate::capture_builder::CaptureBuilder;
use crate::events::AgentEvent;
use crate::model::{Capture, CaptureKind};
use crate::tui::action::Action;
use crate::tui::state::AppState;
use crate::tui::update::update;
use shared::{DeliveryError, EventId, Header, Mode};

/// 2023-11-14 22:13:20 UTC.
pub const T0: u64 = 1_700_000_000_000;

pub fn id(n: u128) -> EventId {
    EventId(uuid::Uuid::from_u128((0xa0 + n) << 120 | n))
}

pub fn state() -> AppState {
    let mut s = AppState::new(
        "https://relay.example.com/h/okta",
        "http://127.0.0.1:1337/okta-webhooks-endpoint",
        "okta",
        Mode::Ack,
    );
    s.size = (100, 30);
    s.now_ms = T0 + 60_000;
    s.conn = crate::events::ConnState::Connected { since_ms: T0 };
    s
}

pub fn okta_event_body(event_type: &str, name: &str) -> String {
    format!(
        r#"{{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","source":"https://dev-1.okta.com/api/v1/eventHooks/who","eventId":"evt-{name}","data":{{"events":[{{"uuid":"u-{name}","eventType":"{event_type}","displayMessage":"Deactivate Okta user","target":[{{"id":"00u1","type":"User","displayName":"{name}"}}]}}]}}}}"#
    )
}

pub fn inline_body() -> String {
    r#"{"eventType":"com.okta.oauth2.tokens.transform","eventId":"inl-1","data":{"context":{"user":{"profile":{"login":"a@b.c"}}}}}"#.to_string()
}

pub fn capture(n: u128, body: &[u8]) -> Capture {
    CaptureBuilder::event(n as u64)
        .id(id(n))
        .received_at(T0 + n as u64 * 1_000)
        .header("content-type", "application/json")
        .header("authorization", "secret-token")
        .header("user-agent", "Okta Google Web Hook")
        .body(body)
        .build()
}

pub fn answered(c: Capture, status: u16, body: &str, duration_us: u64) -> Capture {
    let delivered = c.received_at_ms + 3;
    CaptureBuilder::from(c)
        .delivered_at(delivered)
        .answered_at(delivered + duration_us / 1000)
        .answered(status, body, duration_us)
        .response_header("content-type", "application/json")
        .build()
}

pub fn refused(c: Capture) -> Capture {
    let delivered = c.received_at_ms + 1;
    CaptureBuilder::from(c)
        .delivered_at(delivered)
        .answered_at(delivered + 1)
        .failed(DeliveryError::Refused("127.0.0.1:1337".into()), 800)
        .build()
}

pub fn feed(state: &mut AppState, c: Capture) {
    update(state, Action::Net(AgentEvent::Captured(Box::new(c))));
}

/// A list with every kind of row: 2xx, 4xx, 5xx, failed, pending, duplicate, replay.
pub fn mixed_state() -> AppState {
    let mut s = state();
    s.backlog = Some(3);
    let body = br#"{"hello":"world"}"#;
    feed(&mut s, answered(capture(1, body), 200, "{}", 12_000));
    let mut c = answered(capture(2, body), 404, "not found", 3_000);
    c.request.path = "/missing".into();
    feed(&mut s, c);
    feed(&mut s, answered(capture(3, body), 500, "boom", 45_000));
    feed(&mut s, refused(capture(4, body)));
    let mut dup = answered(capture(5, body), 200, "{}", 9_000);
    dup.duplicate = true;
    feed(&mut s, dup);
    let mut rep = answered(capture(6, body), 201, "{}", 7_000);
    rep.kind = CaptureKind::Replay;
    rep.replay_of = Some(id(1));
    feed(&mut s, rep);
    let mut get = capture(7, b"");
    get.request.method = "GET".into();
    get.request.path = "/status".into();
    get.request.query = Some("verbose=1".into());
    feed(&mut s, get);
    s
}

/// Okta event hooks, inline hooks within and over budget, and a verification.
pub fn okta_state() -> AppState {
    let mut s = state();
    let mut v = capture(1, b"");
    v.kind = CaptureKind::Verification;
    v.request.method = "GET".into();
    v.request.headers = vec![Header::new("x-okta-verification-challenge", "abc")];
    feed(&mut s, v);
    let deact = okta_event_body("user.lifecycle.deactivate", "John Doe");
    feed(
        &mut s,
        answered(capture(2, deact.as_bytes()), 200, "", 15_000),
    );
    let create = okta_event_body("user.lifecycle.create", "Jane Roe");
    feed(
        &mut s,
        answered(capture(3, create.as_bytes()), 204, "", 4_000),
    );
    let inline = inline_body();
    feed(
        &mut s,
        answered(
            capture(4, inline.as_bytes()),
            200,
            "{\"commands\":[]}",
            400_000,
        ),
    );
    feed(
        &mut s,
        answered(
            capture(5, inline.as_bytes()),
            200,
            "{\"commands\":[]}",
            1_500_000,
        ),
    );
    feed(
        &mut s,
        answered(
            capture(6, inline.as_bytes()),
            200,
            "{\"commands\":[]}",
            2_800_000,
        ),
    );
    s
}
