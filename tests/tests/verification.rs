//! Okta's one-time verification is answered by the relay itself, agent or not.

use agent::events::AgentEvent;
use agent::model::CaptureKind;
use hookrelay_tests::*;
use shared::Mode;

#[tokio::test]
async fn verification_without_an_agent() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        relay.token("okta");
        let answer = client::send(
            "GET",
            &relay.hook_url("okta"),
            &[("x-okta-verification-challenge", b"abc\"123")],
            "",
        )
        .await
        .expect("send");
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("content-type").as_deref(),
            Some("application/json")
        );
        assert_eq!(answer.text(), r#"{"verification":"abc\"123"}"#);
    })
    .await;
}

#[tokio::test]
async fn verification_with_an_agent_is_shown_and_not_delivered() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        let token = relay.token("okta");
        let mut target = spawn_target(Reply::default()).await;
        let mut agent = spawn_agent(agent_options(&relay.url, &token, &target.url(), Mode::Ack));
        agent.connected().await;
        let answer = client::send(
            "GET",
            &relay.hook_url("okta"),
            &[("x-okta-verification-challenge", b"xyz")],
            "",
        )
        .await
        .expect("send");
        assert_eq!(answer.text(), r#"{"verification":"xyz"}"#);
        let ev = agent
            .wait_for(
                |e| matches!(e, AgentEvent::Captured(c) if c.kind == CaptureKind::Verification),
            )
            .await;
        let AgentEvent::Captured(c) = ev else {
            unreachable!()
        };
        assert_eq!(
            c.request.header("x-okta-verification-challenge"),
            Some("xyz")
        );
        // A later real event is the first thing the target sees.
        client::post_json(&relay.hook_url("okta"), "{}")
            .await
            .expect("post");
        assert_eq!(target.next().await.method, "POST");
    })
    .await;
}
