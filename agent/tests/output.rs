//! Plain outputs show Okta summaries, duplicates, replays and inline-hook budget warnings.

mod capture_fixtures;

use agent::model::Capture;
use agent::output::{capture_json, compact_line};
use capture_fixtures::CaptureBuilder;
use shared::EventId;

fn capture(body: &str, reply: &str, duration_us: u64) -> Capture {
    CaptureBuilder::event(7)
        .received_at(3_723_004)
        .delivered_at(3_723_005)
        .answered_at(3_723_010)
        .post("/x")
        .json(body)
        .target("http://127.0.0.1:1337/okta-webhooks-endpoint/x")
        .answered(200, reply, duration_us)
        .build()
}

#[test]
fn event_hook_line_has_the_okta_summary_and_markers() {
    let body = r#"{"eventType":"com.okta.event_hook","eventId":"e","data":{"events":[{"eventType":"user.lifecycle.deactivate","target":[{"type":"User","displayName":"John Doe"}]}]}}"#;
    let mut c = capture(body, "", 1500);
    c.duplicate = true;
    c.replay_of = Some(EventId::new());
    let line = compact_line(&c);
    assert!(
        line.starts_with("01:02:03.004 POST /x → 200 1.5ms"),
        "{line}"
    );
    assert!(
        line.contains("user.lifecycle.deactivate · John Doe"),
        "{line}"
    );
    assert!(
        line.contains("[duplicate]") && line.contains("[replay]"),
        "{line}"
    );
    let json = capture_json(&c);
    assert_eq!(json["status"], 200);
    assert_eq!(json["seq"], 7);
    assert_eq!(json["duplicate"], true);
    assert!(json["inline"].is_null());
}

#[test]
fn slow_inline_hook_with_a_bad_reply_is_warned_about() {
    let body =
        r#"{"eventType":"com.okta.oauth2.tokens.transform","eventId":"e","data":{"context":{}}}"#;
    let c = capture(body, r#"{"commands":"not a list"}"#, 1_800_000);
    let line = compact_line(&c);
    assert!(line.contains("[60% of Okta's 3 s]"), "{line}");
    assert!(line.contains("1800 ms"), "{line}");
    assert!(
        line.matches('⚠').count() >= 2,
        "slow and malformed reply both warned: {line}"
    );
    let json = capture_json(&c);
    assert_eq!(json["inline"]["budget_used_ms"], 1800.0);
    assert!(
        json["inline"]["warnings"]
            .as_array()
            .expect("warnings")
            .len()
            >= 2
    );
}

#[test]
fn good_fast_inline_hook_has_no_warnings() {
    let body =
        r#"{"eventType":"com.okta.oauth2.tokens.transform","eventId":"e","data":{"context":{}}}"#;
    let c = capture(
        body,
        r#"{"commands":[{"type":"com.okta.access.patch","value":[]}]}"#,
        12_000,
    );
    let json = capture_json(&c);
    assert_eq!(json["inline"]["warnings"], serde_json::json!([]));
    assert!(!compact_line(&c).contains('⚠'));
}
