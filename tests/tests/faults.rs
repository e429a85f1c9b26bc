//! Bad input and broken parts: clear errors, nothing accepted lost, nothing crashes.

use agent::events::{AgentEvent, ConnState};
use hookrelay_tests::auth::{close_code, connect_with_hello, connect_ws, hello, hello_value};
use hookrelay_tests::*;
use shared::DeliveryError;
use std::time::Duration;

#[tokio::test]
async fn unknown_source_is_404_with_json() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        let answer = client::post_json(&relay.hook_url("nope"), "{}")
            .await
            .expect("send");
        assert_eq!(answer.status, 404);
        assert_eq!(
            answer.header("content-type").as_deref(),
            Some("application/json")
        );
        assert!(
            answer.text().contains("unknown source"),
            "{}",
            answer.text()
        );
        let health = client::get(&format!("{}/healthz", relay.url)).await;
        assert_eq!(health.status, 200);
    })
    .await;
}

#[tokio::test]
async fn oversized_body_is_413_and_not_forwarded() {
    with_timeout(async {
        let mut h = Harness::builder()
            .relay(|c| c.max_body_bytes = 1024)
            .start()
            .await;
        let answer = h.post(vec![b'x'; 2048]).await;
        assert_eq!(answer.status, 413);
        assert!(answer.text().contains("limit"), "{}", answer.text());
        // The next, valid event is the first the target sees.
        h.assert_delivers("small").await;
    })
    .await;
}

#[tokio::test]
async fn local_target_down_is_a_recorded_failure() {
    with_timeout(async {
        let dead = target_for(&closed_port_url().await);
        let mut h = Harness::proxy().agent(|o| o.target = dead).start().await;
        let answer = h.post("{}").await;
        assert_eq!(answer.status, 502);
        assert!(answer.text().contains("refused"), "{}", answer.text());
        let outcome = h.wait_for_outcome().await;
        assert!(
            matches!(outcome.error(), Some(DeliveryError::Refused(_))),
            "{outcome:?}"
        );
        // The agent is still alive and delivers the next one once a target is there.
        assert!(!h.agent().join.is_finished());
    })
    .await;
}

#[tokio::test]
async fn slow_local_target_times_out_in_proxy_mode_with_504() {
    with_timeout(async {
        let reply = Reply {
            delay: Duration::from_secs(2),
            ..Reply::default()
        };
        let h = Harness::proxy()
            .relay(|c| c.proxy_deadline = Duration::from_millis(300))
            .reply(reply)
            .start()
            .await;
        let answer = h.post("{}").await;
        assert_eq!(answer.status, 504);
        assert!(
            answer.text().contains("did not answer"),
            "{}",
            answer.text()
        );
    })
    .await;
}

#[tokio::test]
async fn proxy_mode_without_agent_is_502() {
    with_timeout(async {
        // An agent in proxy mode sets the mode, then leaves.
        let mut h = Harness::proxy().start().await;
        h.stop_agent().await;
        let mut status = 0;
        // The relay notices the agent left when its session ends; poll the answer, bounded.
        for _ in 0..100 {
            status = h.post("{}").await.status;
            if status == 502 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(status, 502);
    })
    .await;
}

#[tokio::test]
async fn wrong_token_fails_fast_with_a_reason() {
    with_timeout(async {
        let mut h = Harness::builder()
            .agent(|o| {
                o.token = "hr_wrong".into();
                o.target = target_for("http://127.0.0.1:9");
            })
            .spawn_only()
            .start()
            .await;
        let ev = h
            .wait_for(|e| matches!(e, AgentEvent::State(ConnState::Failed { .. })))
            .await;
        let AgentEvent::State(ConnState::Failed { reason }) = ev else {
            unreachable!()
        };
        assert!(reason.contains("4001"), "{reason}");
        let result = (&mut h.agent().join).await.expect("join");
        assert!(result.is_err(), "a wrong token ends listen with an error");
    })
    .await;
}

#[tokio::test]
async fn token_of_another_source_is_refused() {
    with_timeout(async {
        let mut h = Harness::builder().no_agent().start().await;
        h.options.token = h.relay.token("github").into();
        h.options.target = target_for("http://127.0.0.1:9");
        let ev = h
            .start_agent()
            .wait_for(|e| matches!(e, AgentEvent::State(ConnState::Failed { .. })))
            .await;
        let AgentEvent::State(ConnState::Failed { reason }) = ev else {
            unreachable!()
        };
        assert!(reason.contains("4003"), "{reason}");
    })
    .await;
}

#[tokio::test]
async fn malformed_frames_close_only_that_session() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    with_timeout(async {
        let mut h = Harness::builder().start().await;
        for bad in [
            Message::Text("not json".into()),
            Message::Text(r#"{"type":"launch_missiles"}"#.into()),
            Message::Binary(vec![0u8, 1, 2].into()),
        ] {
            let mut ws = connect_ws(&h.relay.url).await;
            ws.send(bad).await.expect("send");
            assert_eq!(close_code(&mut ws).await, Some(shared::close::BAD_FRAME));
        }
        // Version mismatch gets its own code.
        let mut hello = hello_value(&h.token, "x");
        hello["version"] = 999.into();
        let mut ws = connect_with_hello(&h.relay.url, &hello.to_string()).await;
        assert_eq!(
            close_code(&mut ws).await,
            Some(shared::close::VERSION_MISMATCH)
        );
        // The real agent kept working throughout.
        h.assert_delivers("still here").await;
    })
    .await;
}

#[tokio::test]
async fn a_plain_request_to_the_agent_endpoint_is_a_clear_4xx() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        let url = format!("{}/agent/connect", relay.url);
        let plain = client::get(&url).await;
        assert_eq!(plain.status, 400);
        assert!(
            plain.text().contains("websocket upgrade"),
            "{}",
            plain.text()
        );
        let old = client::send(
            "GET",
            &url,
            &[
                ("connection", b"Upgrade"),
                ("upgrade", b"websocket"),
                ("sec-websocket-version", b"8"),
                ("sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
            ],
            "",
        )
        .await
        .expect("send");
        assert_eq!(old.status, 426);
        assert_eq!(old.header("sec-websocket-version").as_deref(), Some("13"));
    })
    .await;
}

#[tokio::test]
async fn a_damaged_binary_ack_closes_the_session_with_bad_frame() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        let token = relay.token("okta");
        let mut ws = connect_with_hello(&relay.url, &hello(&token, "x")).await;
        let welcome = ws.next().await.expect("welcome").expect("frame");
        assert!(welcome.to_text().expect("text").contains("welcome"));
        // An ack whose head claims more bytes than the frame has.
        let bad = vec![shared::frame::ACK, 0, 0, 1, 0, b'{'];
        ws.send(Message::Binary(bad.into())).await.expect("send");
        assert_eq!(close_code(&mut ws).await, Some(shared::close::BAD_FRAME));
    })
    .await;
}
