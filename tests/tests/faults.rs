//! Bad input and broken parts: clear errors, nothing accepted lost, nothing crashes.

use agent::events::{AgentEvent, ConnState};
use hookrelay_tests::*;
use shared::{DeliveryError, Mode};
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
        let health = client::send("GET", &format!("{}/healthz", relay.url), &[], "")
            .await
            .expect("health");
        assert_eq!(health.status, 200);
    })
    .await;
}

#[tokio::test]
async fn oversized_body_is_413_and_not_forwarded() {
    with_timeout(async {
        let config = relay::Config {
            max_body_bytes: 1024,
            ..test_config()
        };
        let relay = spawn_relay(config).await;
        let token = relay.token("okta");
        let mut target = spawn_target(Reply::default()).await;
        let mut agent = spawn_agent(agent_options(&relay.url, &token, &target.url(), Mode::Ack));
        agent.connected().await;
        let answer = client::post_json(&relay.hook_url("okta"), vec![b'x'; 2048])
            .await
            .expect("send");
        assert_eq!(answer.status, 413);
        assert!(answer.text().contains("limit"), "{}", answer.text());
        // The next, valid event is the first the target sees.
        client::post_json(&relay.hook_url("okta"), "small")
            .await
            .expect("send");
        assert_eq!(target.next().await.body.as_ref(), b"small");
    })
    .await;
}

#[tokio::test]
async fn local_target_down_is_a_recorded_failure() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        let token = relay.token("okta");
        // A port nothing listens on: bind, read the port, close.
        let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
        drop(dead);
        let mut agent = spawn_agent(agent_options(&relay.url, &token, &dead_url, Mode::Proxy));
        agent.connected().await;
        let answer = client::post_json(&relay.hook_url("okta"), "{}")
            .await
            .expect("send");
        assert_eq!(answer.status, 502);
        assert!(answer.text().contains("refused"), "{}", answer.text());
        let ev = agent
            .wait_for(|e| matches!(e, AgentEvent::Delivered { .. }))
            .await;
        let AgentEvent::Delivered { outcome, .. } = ev else {
            unreachable!()
        };
        assert!(
            matches!(outcome.error, Some(DeliveryError::Refused(_))),
            "{outcome:?}"
        );
        // The agent is still alive and delivers the next one once a target is there.
        assert!(!agent.join.is_finished());
    })
    .await;
}

#[tokio::test]
async fn slow_local_target_times_out_in_proxy_mode_with_504() {
    with_timeout(async {
        let config = relay::Config {
            proxy_deadline: Duration::from_millis(300),
            ..test_config()
        };
        let relay = spawn_relay(config).await;
        let token = relay.token("okta");
        let target = spawn_target(Reply {
            delay: Duration::from_secs(2),
            ..Reply::default()
        })
        .await;
        let mut agent = spawn_agent(agent_options(
            &relay.url,
            &token,
            &target.url(),
            Mode::Proxy,
        ));
        agent.connected().await;
        let answer = client::post_json(&relay.hook_url("okta"), "{}")
            .await
            .expect("send");
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
        let relay = spawn_relay(test_config()).await;
        let token = relay.token("okta");
        let target = spawn_target(Reply::default()).await;
        // An agent in proxy mode sets the mode, then leaves.
        let mut agent = spawn_agent(agent_options(
            &relay.url,
            &token,
            &target.url(),
            Mode::Proxy,
        ));
        agent.connected().await;
        agent.stop().await;
        let mut status = 0;
        // The relay notices the agent left when its session ends; poll the answer, bounded.
        for _ in 0..100 {
            status = client::post_json(&relay.hook_url("okta"), "{}")
                .await
                .expect("send")
                .status;
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
        let relay = spawn_relay(test_config()).await;
        relay.token("okta");
        let mut agent = spawn_agent(agent_options(
            &relay.url,
            "hr_wrong",
            "http://127.0.0.1:9",
            Mode::Ack,
        ));
        let ev = agent
            .wait_for(|e| matches!(e, AgentEvent::State(ConnState::Failed { .. })))
            .await;
        let AgentEvent::State(ConnState::Failed { reason }) = ev else {
            unreachable!()
        };
        assert!(reason.contains("4001"), "{reason}");
        let result = agent.join.await.expect("join");
        assert!(result.is_err(), "a wrong token ends listen with an error");
    })
    .await;
}

#[tokio::test]
async fn token_of_another_source_is_refused() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        let other = relay.token("github");
        relay.token("okta");
        let mut agent = spawn_agent(agent_options(
            &relay.url,
            &other,
            "http://127.0.0.1:9",
            Mode::Ack,
        ));
        let ev = agent
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
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        let token = relay.token("okta");
        let mut target = spawn_target(Reply::default()).await;
        let mut agent = spawn_agent(agent_options(&relay.url, &token, &target.url(), Mode::Ack));
        agent.connected().await;
        let url = agent::connection::connect_url(&relay.url);
        for bad in [
            Message::Text("not json".into()),
            Message::Text(r#"{"type":"launch_missiles"}"#.into()),
            Message::Binary(vec![0u8, 1, 2].into()),
        ] {
            let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.expect("connect");
            ws.send(bad).await.expect("send");
            let mut code = None;
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Close(Some(f)) = msg {
                    code = Some(u16::from(f.code));
                    break;
                }
            }
            assert_eq!(code, Some(shared::close::BAD_FRAME));
        }
        // Version mismatch gets its own code.
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.expect("connect");
        let hello = format!(
            r#"{{"type":"hello","version":999,"token":"{token}","source":"okta","mode":"ack","agent_id":"x","window":1}}"#
        );
        ws.send(Message::Text(hello.into())).await.expect("send");
        let mut code = None;
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Close(Some(f)) = msg {
                code = Some(u16::from(f.code));
                break;
            }
        }
        assert_eq!(code, Some(shared::close::VERSION_MISMATCH));
        // The real agent kept working throughout.
        client::post_json(&relay.hook_url("okta"), "still here").await.expect("send");
        assert_eq!(target.next().await.body.as_ref(), b"still here");
    })
    .await;
}

#[tokio::test]
async fn a_plain_request_to_the_agent_endpoint_is_a_clear_4xx() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        let url = format!("{}/agent/connect", relay.url);
        let plain = client::send("GET", &url, &[], "").await.expect("send");
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
        let url = agent::connection::connect_url(&relay.url);
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.expect("connect");
        let hello = format!(
            r#"{{"type":"hello","version":{},"token":"{token}","source":"okta","mode":"ack","agent_id":"x","window":1}}"#,
            shared::PROTOCOL_VERSION
        );
        ws.send(Message::Text(hello.into())).await.expect("hello");
        let welcome = ws.next().await.expect("welcome").expect("frame");
        assert!(welcome.to_text().expect("text").contains("welcome"));
        // An ack whose head claims more bytes than the frame has.
        let bad = vec![shared::frame::ACK, 0, 0, 1, 0, b'{'];
        ws.send(Message::Binary(bad.into())).await.expect("send");
        let mut code = None;
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Close(Some(f)) = msg {
                code = Some(u16::from(f.code));
                break;
            }
        }
        assert_eq!(code, Some(shared::close::BAD_FRAME));
    })
    .await;
}
