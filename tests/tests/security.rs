//! Self-hosting safety: sender authentication, request limits, agents per source and token
//! revocation — each with another source served throughout.

use hookrelay_tests::*;
use relay::limits::RateLimit;
use relay::store::SenderAuth;
use std::time::Duration;
use tokio::io::AsyncReadExt;

use hookrelay_tests::auth::*;

#[tokio::test]
async fn missing_or_wrong_sender_header_is_401_and_nothing_is_forwarded() {
    with_timeout(async {
        let mut h = Harness::builder().start().await;
        require(&h.relay, "okta", Some(SECRET));
        // Another source without a header requirement keeps working.
        h.relay.ensure_source("other");

        let url = h.hook_url();
        let missing = post_auth(&url, None, "missing").await;
        assert_eq!(missing.status, 401, "{}", missing.text());
        assert!(
            missing.text().contains("authentication"),
            "{}",
            missing.text()
        );
        assert!(!missing.text().contains(SECRET));
        let wrong = post_auth(&url, Some("okta-shared-s3cret-valuX"), "wrong").await;
        assert_eq!(wrong.status, 401);
        let prefix = post_auth(&url, Some("okta-shared"), "prefix").await;
        assert_eq!(prefix.status, 401);
        // The verification GET is checked the same way.
        let verify = client::challenge(&url, b"abc").await;
        assert_eq!(verify.status, 401);
        let verify = client::send(
            "GET",
            &url,
            &[
                ("x-okta-verification-challenge", b"abc"),
                ("authorization", SECRET.as_bytes()),
            ],
            "",
        )
        .await
        .expect("verify");
        assert_eq!(verify.status, 200);
        assert!(verify.text().contains("abc"));
        let other = post_auth(&h.relay.hook_url("other"), None, "other").await;
        assert_eq!(other.status, 200);

        let ok = post_auth(&url, Some(SECRET), "first valid").await;
        assert_eq!(ok.status, 200);
        assert_eq!(h.target.next().await.body.as_ref(), b"first valid");
        // Refused requests were counted and never stored.
        assert_eq!(h.relay.handle.state.metrics.requests("okta", 401), 4);
        assert_eq!(h.relay.stored("okta"), 1);
    })
    .await;
}

/// Polls (the relay caches settings for up to half a second) until `url` answers `want`.
async fn status_within_a_second(url: &str, auth: Option<&str>, want: u16) -> u16 {
    let start = std::time::Instant::now();
    loop {
        let got = post_auth(url, auth, "probe").await.status;
        if got == want || start.elapsed() > Duration::from_secs(1) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sender_header_changes_take_effect_on_a_running_relay() {
    with_timeout(async {
        let relay = spawn_relay_with_source(test_config(), "okta").await;
        let url = relay.hook_url("okta");
        assert_eq!(post_auth(&url, None, "a").await.status, 200);
        // Written through a second store handle, as `relay source set` does.
        let other = relay::store::EmbeddedStore::open_dir(relay.dir.path()).expect("open");
        use relay::store::Store;
        let auth = SenderAuth {
            name: "Authorization".into(),
            value: SECRET.into(),
        };
        let settings = |auth| relay::store::SourceSettings {
            mode: shared::Mode::Ack,
            sender_auth: auth,
            ..Default::default()
        };
        other
            .set_settings("okta", &settings(Some(auth)))
            .expect("set auth");
        let changed = std::time::Instant::now();
        assert_eq!(status_within_a_second(&url, None, 401).await, 401);
        assert!(changed.elapsed() < Duration::from_secs(1));
        assert_eq!(post_auth(&url, Some(SECRET), "c").await.status, 200);
        other
            .set_settings("okta", &settings(None))
            .expect("clear auth");
        let changed = std::time::Instant::now();
        assert_eq!(status_within_a_second(&url, None, 200).await, 200);
        assert!(changed.elapsed() < Duration::from_secs(1));
    })
    .await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_spares_other_sources() {
    with_timeout(async {
        let config = relay::Config {
            rate_limit: Some(RateLimit {
                per_sec: 0.5,
                burst: 2,
            }),
            ..test_config()
        };
        let relay = spawn_relay(config).await;
        for s in ["okta", "other"] {
            relay.ensure_source(s);
        }
        let url = relay.hook_url("okta");
        assert_eq!(post_auth(&url, None, "1").await.status, 200);
        assert_eq!(post_auth(&url, None, "2").await.status, 200);
        let limited = post_auth(&url, None, "3").await;
        assert_eq!(limited.status, 429, "{}", limited.text());
        let retry: u64 = limited
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=2).contains(&retry), "retry after {retry}");
        assert!(limited.text().contains("rate limit"), "{}", limited.text());
        assert_eq!(
            post_auth(&relay.hook_url("other"), None, "x").await.status,
            200
        );
        assert_eq!(relay.stored("okta"), 2);
    })
    .await;
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_431() {
    with_timeout(async {
        let config = relay::Config {
            max_headers: 20,
            max_header_bytes: 2048,
            ..test_config()
        };
        let relay = spawn_relay_with_source(config, "okta").await;
        let url = relay.hook_url("okta");
        let names: Vec<String> = (0..30).map(|i| format!("x-h{i}")).collect();
        let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"v"[..])).collect();
        let answer = client::send("POST", &url, &many, "x").await.expect("send");
        assert_eq!(answer.status, 431, "{}", answer.text());
        assert!(answer.text().contains("headers"), "{}", answer.text());
        let big = vec![b'a'; 4096];
        let answer = client::send("POST", &url, &[("x-big", &big)], "x")
            .await
            .expect("send");
        assert_eq!(answer.status, 431);
        assert_eq!(post_auth(&url, None, "fine").await.status, 200);
        assert_eq!(relay.stored("okta"), 1);
    })
    .await;
}

/// Starts a relay serving `okta` with `config`, sends `partial` (a request cut short) on a
/// connection of its own, checks that a whole request is served meanwhile, then reads the slow
/// connection to its end: (the relay, the read's result, what was read, how long reading took).
async fn cut_short(
    config: relay::Config,
    partial: &[u8],
) -> (TestRelay, std::io::Result<usize>, String, Duration) {
    let relay = spawn_relay_with_source(config, "okta").await;
    let mut slow = relay.raw_request(partial).await;
    // Served meanwhile.
    assert_eq!(
        post_auth(&relay.hook_url("okta"), None, "fast")
            .await
            .status,
        200
    );
    let mut buf = Vec::new();
    let started = std::time::Instant::now();
    let read = slow.read_to_end(&mut buf).await;
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&buf).into_owned();
    (relay, read, text, took)
}

#[tokio::test]
async fn slow_body_gets_408_while_other_requests_are_served() {
    with_timeout(async {
        let config = relay::Config {
            body_read_timeout: Duration::from_millis(300),
            ..test_config()
        };
        let partial = b"POST /h/okta HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly ten b";
        let (relay, read, text, _) = cut_short(config, partial).await;
        read.expect("read");
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("not received within"), "{text}");
        assert_eq!(relay.stored("okta"), 1);
    })
    .await;
}

#[tokio::test]
async fn full_queue_answers_503_with_retry_after() {
    with_timeout(async {
        let config = relay::Config {
            max_queued_events: Some(3),
            ..test_config()
        };
        let relay = spawn_relay_with_source(config, "okta").await;
        let url = relay.hook_url("okta");
        for i in 0..3 {
            assert_eq!(post_auth(&url, None, &i.to_string()).await.status, 200);
        }
        let full = post_auth(&url, None, "4").await;
        assert_eq!(full.status, 503, "{}", full.text());
        assert!(full.header("retry-after").is_some());
        assert!(full.text().contains("queued"), "{}", full.text());
    })
    .await;
}

#[tokio::test]
async fn agents_per_source_are_limited_with_close_code_4006() {
    with_timeout(async {
        let mut h = Harness::builder()
            .relay(|c| c.max_agents_per_source = 1)
            .start()
            .await;
        assert_eq!(
            close_code_for(&h.relay.url, &hello(&h.token, "second")).await,
            Some(shared::close::TOO_MANY_AGENTS)
        );
        h.assert_delivers("still served").await;
    })
    .await;
}

#[tokio::test]
async fn oversized_frame_closes_only_that_session() {
    with_timeout(async {
        let mut h = Harness::builder()
            .relay(|c| c.max_frame_bytes = 4096)
            .start()
            .await;
        let mut huge = hello_value(&"t".repeat(10_000), "x");
        huge["version"] = 1.into();
        let code = close_code_for(&h.relay.url, &huge.to_string()).await;
        assert!(
            code.is_none()
                || code == Some(shared::close::TOO_BIG)
                || code == Some(shared::close::BAD_FRAME),
            "{code:?}"
        );
        h.assert_delivers("after big frame").await;
    })
    .await;
}

#[tokio::test]
async fn revoked_token_closes_the_live_session_and_listen_fails_saying_why() {
    use agent::events::{AgentEvent, ConnState};
    with_timeout(async {
        let mut h = Harness::builder().start().await;
        let relay = &h.relay;
        let keep = relay.token("other");
        // Another source's agent keeps working throughout.
        let mut other_target = spawn_target(Reply::default()).await;
        let mut other = h.spawn_extra_agent(|o| {
            o.token = keep.into();
            o.sources = shared::SourceList::one("other");
            o.target = target_for(&other_target.url());
        });
        other.connected().await;

        let id = relay
            .handle
            .state
            .store
            .tokens()
            .expect("tokens")
            .into_iter()
            .find(|t| t.source == "okta")
            .expect("okta token")
            .id;
        // As `relay token revoke` does: through a second handle on the data directory.
        let second = relay::store::EmbeddedStore::open_dir(relay.dir.path()).expect("open");
        use relay::store::Store;
        assert!(second.revoke_token(&id).expect("revoke"));
        let ev = h
            .wait_for(|e| matches!(e, AgentEvent::State(ConnState::Failed { .. })))
            .await;
        let AgentEvent::State(ConnState::Failed { reason }) = ev else {
            unreachable!()
        };
        assert!(
            reason.contains("4005") || reason.contains("revoked"),
            "{reason}"
        );
        let result = (&mut h.agent().join).await.expect("join");
        let err = result.expect_err("listen ends with an error");
        assert!(format!("{err:#}").contains("revoked"), "{err:#}");

        client::post_json(&h.relay.hook_url("other"), "still served")
            .await
            .expect("send");
        assert_eq!(other_target.next().await.body.as_ref(), b"still served");
    })
    .await;
}

#[tokio::test]
async fn slow_request_head_is_cut_off() {
    with_timeout(async {
        let config = relay::Config {
            header_read_timeout: Duration::from_millis(300),
            ..test_config()
        };
        let (_, _, text, took) = cut_short(config, b"POST /h/okta HTTP/1.1\r\nhost: x\r\n").await;
        assert!(took < Duration::from_secs(5));
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    })
    .await;
}
