//! Webhook → relay → agent → local target → back, byte for byte.

use hookrelay_tests::*;

const OKTA_BODY: &str = include_str!("../fixtures/okta-event-hook.json");

#[tokio::test]
async fn ack_mode_answers_200_and_delivers_byte_for_byte() {
    with_timeout(async {
        let mut h = Harness::builder().start().await;
        assert!(OKTA_BODY.len() >= 3000, "fixture is a 3 KB Okta body");
        let answer = client::send(
            "POST",
            &format!("{}/extra/path?x=1&y=%20z", h.hook_url()),
            &[
                ("content-type", b"application/json"),
                ("authorization", b"Basic YWRtaW46c3VwZXJzZWNyZXQ="),
                ("x-dup", b"one"),
                ("x-dup", b"two"),
                ("x-latin1", b"caf\xe9"),
                ("connection", b"keep-alive"),
            ],
            OKTA_BODY,
        )
        .await
        .expect("send");
        assert_eq!(answer.status, 200);
        assert!(
            answer.body.is_empty(),
            "ack mode answers with an empty body"
        );
        let got = h.target.next().await;
        assert_eq!(got.method, "POST");
        assert_eq!(got.uri, "/okta-webhooks-endpoint/extra/path?x=1&y=%20z");
        assert_eq!(got.body.as_ref(), OKTA_BODY.as_bytes());
        assert_eq!(got.header_values("x-dup"), vec![&b"one"[..], &b"two"[..]]);
        assert_eq!(got.header_values("x-latin1"), vec![&b"caf\xe9"[..]]);
        assert_eq!(
            got.header_values("authorization"),
            vec![&b"Basic YWRtaW46c3VwZXJzZWNyZXQ="[..]]
        );
        assert_eq!(
            got.header_values("host"),
            vec![h.target.addr.to_string().as_bytes()]
        );
        // The agent recorded the exchange with the local answer.
        assert_eq!(h.wait_for_outcome().await.status(), Some(200));
    })
    .await;
}

#[tokio::test]
async fn proxy_mode_returns_the_local_answer() {
    with_timeout(async {
        let reply = Reply {
            status: 201,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-local".into(), "yes".into()),
            ],
            body: bytes::Bytes::from_static(br#"{"commands":[]}"#),
            ..Reply::default()
        };
        let mut h = Harness::proxy().reply(reply).start().await;
        let answer = h.post(r#"{"data":{}}"#).await;
        assert_eq!(answer.status, 201);
        assert_eq!(answer.header("x-local").as_deref(), Some("yes"));
        assert_eq!(answer.text(), r#"{"commands":[]}"#);
        assert_eq!(h.target.next().await.body.as_ref(), br#"{"data":{}}"#);
    })
    .await;
}

#[tokio::test]
async fn five_megabyte_binary_body_passes_untouched() {
    with_timeout(async {
        let mut h = Harness::proxy().start().await;
        let body: Vec<u8> = (0..5 * 1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let answer = client::send(
            "PUT",
            &h.hook_url(),
            &[("content-type", b"application/octet-stream")],
            body.clone(),
        )
        .await
        .expect("send");
        assert_eq!(answer.status, 200);
        let got = h.target.next().await;
        assert_eq!(got.method, "PUT");
        assert_eq!(got.body.len(), body.len());
        assert!(
            got.body.as_ref() == body.as_slice(),
            "binary body changed in transit"
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_proxy_requests_get_their_own_answers() {
    with_timeout(async {
        let h = Harness::proxy().start().await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let url = format!("{}/n/{i}", h.hook_url());
            tasks.push(tokio::spawn(async move {
                (i, client::post_json(&url, format!("{{\"i\":{i}}}")).await)
            }));
        }
        for t in tasks {
            let (_, answer) = t.await.expect("task");
            assert_eq!(answer.expect("send").status, 200);
        }
    })
    .await;
}
