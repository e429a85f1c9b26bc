//! `auto`, every source's default mode: an Okta inline hook is proxied (its sender gets the
//! local answer, or a clear 502 when no agent can give it), everything else is acknowledged
//! once stored and delivered afterwards. What a sender gets is the source's setting alone,
//! never the choice of whichever agent connected last.

use hookrelay_tests::auth::{connect_with_hello, hello_value};
use hookrelay_tests::*;
use shared::Mode;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// An Okta registration inline hook, as Okta posts it.
const REGISTRATION: &str = r#"{"eventType":"com.okta.user.pre-registration","eventTypeVersion":"1.0","cloudEventVersion":"0.1","source":"https://dev-1.okta.com/api/v1/inlineHooks/cal1","eventId":"GOsk2G_ERyKmZdn1MQe5cg","eventTime":"2026-12-03T10:00:00.000Z","contentType":"application/json","data":{"context":{"request":{"method":"POST"}},"userProfile":{"firstName":"Jane","lastName":"Doe","email":"jane@example.com","login":"jane@example.com"},"action":"ALLOW"}}"#;

/// An Okta event hook delivery.
const EVENT_HOOK: &str = r#"{"eventType":"com.okta.event_hook","eventId":"b1","data":{"events":[{"uuid":"u-1","eventType":"user.lifecycle.deactivate","target":[{"type":"User","displayName":"John Doe"}]}]}}"#;

/// The local service's answer to an inline hook: a command, with a header and odd bytes.
fn command_reply() -> Reply {
    Reply {
        status: 200,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-handler".into(), "registration".into()),
        ],
        body: bytes::Bytes::from_static(
            br#"{"commands":[{"type":"com.okta.action.update","value":{"registration":"DENY"}}]}"#,
        ),
        delay: Duration::ZERO,
    }
}

/// A source in `mode` whose local service answers `reply`, with its agent connected.
async fn service(mode: Mode, reply: Reply) -> Harness {
    Harness::builder().mode(mode).reply(reply).start().await
}

/// An auto-mode source whose local service takes `hold` to answer.
async fn slow_service(hold: Duration) -> Harness {
    let reply = Reply {
        delay: hold,
        ..command_reply()
    };
    service(Mode::Auto, reply).await
}

/// Posts the registration hook and checks its sender got the local answer, byte for byte.
async fn assert_proxied(h: &mut Harness) {
    let answer = h.post(REGISTRATION).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        command_reply().body,
        "the local answer, byte for byte"
    );
    assert_eq!(h.target.next().await.body, REGISTRATION.as_bytes());
}

#[tokio::test]
async fn an_inline_hook_with_no_agent_is_502_never_an_empty_200() {
    with_timeout(async {
        let h = Harness::builder().mode(Mode::Auto).no_agent().start().await;
        let answer = h.post(REGISTRATION).await;
        assert_eq!(answer.status, 502, "{}", answer.text());
        let body: serde_json::Value = serde_json::from_slice(&answer.body).expect("json body");
        let message = body["error"].as_str().expect("error message");
        assert!(message.contains("no agent is connected"), "{message}");
        assert!(message.contains("agent listen"), "{message}");
        assert_eq!(
            h.relay.stored("okta"),
            0,
            "nobody could answer it, so it is not kept"
        );
    })
    .await;
}

#[tokio::test]
async fn an_inline_hook_gets_the_local_answer_byte_for_byte() {
    with_timeout(async {
        let mut h = service(Mode::Auto, command_reply()).await;
        let answer = h.post(REGISTRATION).await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.body,
            command_reply().body,
            "the local answer, byte for byte"
        );
        assert_eq!(answer.header("x-handler").as_deref(), Some("registration"));
        assert_eq!(h.target.next().await.body, REGISTRATION.as_bytes());
    })
    .await;
}

#[tokio::test]
async fn an_event_hook_is_acknowledged_at_once_and_delivered_later() {
    with_timeout(async {
        let hold = Duration::from_secs(3);
        let mut h = slow_service(hold).await;
        let started = std::time::Instant::now();
        let answer = h.post(EVENT_HOOK).await;
        assert_eq!(answer.status, 200);
        assert!(
            answer.body.is_empty(),
            "an acknowledgement, not the local answer"
        );
        assert!(
            started.elapsed() < hold,
            "the sender did not wait for the slow local service"
        );
        assert_eq!(h.target.next().await.body, EVENT_HOOK.as_bytes());
    })
    .await;
}

#[tokio::test]
async fn an_inline_hook_is_not_held_behind_acknowledged_events() {
    with_timeout(async {
        let hold = Duration::from_secs(3);
        let mut h = slow_service(hold).await;
        h.post_ok(r#"{"n":1}"#).await;
        h.post_ok(r#"{"n":2}"#).await;
        let first = h.target.next().await;
        assert_eq!(first.text(), r#"{"n":1}"#);
        let url = h.hook_url();
        let sender = tokio::spawn(async move { client::post_json(&url, REGISTRATION).await });
        // Acknowledged events go one at a time, in order; the waiting sender's hook goes now.
        let next = tokio::time::timeout(hold / 2, h.target.next())
            .await
            .expect("the inline hook reached the service while the first event was running");
        assert_eq!(next.body, REGISTRATION.as_bytes());
        let answer = sender.await.expect("sender").expect("answer");
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, command_reply().body);
        assert_eq!(h.target.next().await.text(), r#"{"n":2}"#);
    })
    .await;
}

#[tokio::test]
async fn an_agent_asking_for_another_mode_changes_nothing_for_senders() {
    with_timeout(async {
        let mut h = service(Mode::Auto, command_reply()).await;
        // A second agent whose hello still carries the old per-agent mode and deadline.
        let mut hello = hello_value(&h.token, "teammate");
        hello["mode"] = "ack".into();
        hello["proxy_deadline_ms"] = 100.into();
        let mut ws = connect_with_hello(&h.relay.url, &hello.to_string()).await;
        let welcome = loop {
            if let Some(Ok(Message::Text(text))) = futures_util::StreamExt::next(&mut ws).await {
                break text;
            }
        };
        assert!(welcome.contains(r#""mode":"auto""#), "{welcome}");
        // The teammate never acknowledges anything; the inline hook still gets its answer
        // from the agent that does.
        assert_proxied(&mut h).await;
        // And an event hook is still only acknowledged.
        let answer = h.post(EVENT_HOOK).await;
        assert_eq!((answer.status, answer.body.len()), (200, 0));
    })
    .await;
}

#[tokio::test]
async fn a_source_set_to_ack_acknowledges_even_inline_hooks() {
    with_timeout(async {
        let mut h = service(Mode::Ack, command_reply()).await;
        let answer = h.post(REGISTRATION).await;
        assert_eq!((answer.status, answer.body.len()), (200, 0));
        assert_eq!(h.target.next().await.body, REGISTRATION.as_bytes());
    })
    .await;
}
