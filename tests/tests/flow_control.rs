//! The relay bounds the bytes an agent has in flight, not only the number of events: a backlog
//! of large bodies goes out a few megabytes at a time, the next as soon as one is acknowledged.

use futures_util::{SinkExt, StreamExt};
use hookrelay_tests::auth::{connect_with_hello, hello_value};
use hookrelay_tests::*;
use shared::frame::{decode_relay_binary, encode_source_ack};
use shared::{DeliveryOutcome, HttpResponse, RelayMessage};
use tokio_tungstenite::tungstenite::Message;

const BODY: usize = 3 * 1024 * 1024;

#[tokio::test]
async fn large_events_wait_for_acks_instead_of_filling_the_window() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        let token = relay.token("okta");
        let hook = relay.hook_url("okta");
        // Ack mode needs no agent: three 3 MB events are logged before anyone listens.
        for fill in [b'a', b'b', b'c'] {
            let answer = client::send("POST", &hook, &[], vec![fill; BODY])
                .await
                .expect("send");
            assert_eq!(answer.status, 200);
        }
        let mut hello = hello_value(&token, "flow");
        hello["since"] = serde_json::json!({"from": "seq", "value": 1});
        hello["window"] = 256.into();
        let mut ws = connect_with_hello(&relay.url, &hello.to_string()).await;

        // Everything one fill of the window sends comes before the session's first heartbeat:
        // two events (6 MB, past the 4 MiB bound), not all three.
        let mut events = Vec::new();
        while let Some(msg) = ws.next().await {
            match msg.expect("frame") {
                Message::Binary(frame) => {
                    match decode_relay_binary(frame, usize::MAX).expect("event") {
                        RelayMessage::Event(ev) => {
                            events.push((ev.seq, ev.id, ev.request.body.0[0]))
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
                Message::Ping(_) => break,
                _ => {}
            }
        }
        let seqs: Vec<u64> = events.iter().map(|e| e.0).collect();
        assert_eq!(
            seqs,
            [1, 2],
            "only what fits in the byte bound is in flight"
        );

        // Acknowledging the first lets the third go.
        let (seq, id, first) = events[0];
        assert_eq!(first, b'a');
        let outcome = DeliveryOutcome::answered(
            HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: Default::default(),
            },
            1,
        );
        ws.send(Message::Binary(
            encode_source_ack("okta", seq, id, &outcome).into(),
        ))
        .await
        .expect("ack");
        let third = loop {
            if let Message::Binary(frame) = ws.next().await.expect("open").expect("frame") {
                break decode_relay_binary(frame, usize::MAX).expect("event");
            }
        };
        match third {
            RelayMessage::Event(ev) => {
                assert_eq!(ev.seq, 3);
                assert_eq!(ev.request.body.0.len(), BODY);
                assert!(ev.request.body.0.iter().all(|b| *b == b'c'));
            }
            other => panic!("unexpected {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn each_source_of_a_session_gets_its_share_of_the_window() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        let token = relay.token("okta,github");
        for source in ["okta", "github"] {
            relay.set_mode(source, shared::Mode::Ack);
        }
        // A backlog on okta, one event on github, logged before anyone listens.
        for i in 1..=5 {
            let answer = client::post_json(&relay.hook_url("okta"), format!("okta-{i}"))
                .await
                .expect("send");
            assert_eq!(answer.status, 200);
        }
        let answer = client::post_json(&relay.hook_url("github"), "github-1")
            .await
            .expect("send");
        assert_eq!(answer.status, 200);
        let mut hello = hello_value(&token, "shares");
        hello["sources"] = serde_json::json!(["okta", "github"]);
        hello["since"] = serde_json::json!({"from": "seq", "value": 1});
        hello["window"] = 2.into();
        let mut ws = connect_with_hello(&relay.url, &hello.to_string()).await;

        // Until something is acknowledged, the okta backlog may take only its half of the
        // window: github's event is not stuck behind it.
        let mut lane = String::new();
        let mut got = Vec::new();
        while let Some(msg) = ws.next().await {
            match msg.expect("frame") {
                Message::Text(text) => {
                    if let Ok(RelayMessage::Lane { source }) = shared::decode(&text, usize::MAX) {
                        lane = source;
                    }
                }
                Message::Binary(frame) => match decode_relay_binary(frame, usize::MAX) {
                    Ok(RelayMessage::Event(ev)) => got.push((lane.clone(), ev.seq)),
                    other => panic!("unexpected {other:?}"),
                },
                Message::Ping(_) => break,
                _ => {}
            }
        }
        got.sort();
        assert_eq!(got, [("github".to_string(), 1), ("okta".to_string(), 1)]);
    })
    .await;
}
