//! Okta's one-time verification is answered by the relay itself, agent or not.

use agent::model::CaptureKind;
use hookrelay_tests::*;

#[tokio::test]
async fn verification_without_an_agent() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        relay.token("okta");
        let answer = client::challenge(&relay.hook_url("okta"), b"abc\"123").await;
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
        let mut h = Harness::builder().start().await;
        let answer = client::challenge(&h.hook_url(), b"xyz").await;
        assert_eq!(answer.text(), r#"{"verification":"xyz"}"#);
        let c = h
            .wait_for_capture(|c| c.kind == CaptureKind::Verification)
            .await;
        assert_eq!(
            c.request.header("x-okta-verification-challenge"),
            Some("xyz")
        );
        // A later real event is the first thing the target sees.
        h.post("{}").await;
        assert_eq!(h.target.next().await.method, "POST");
    })
    .await;
}
