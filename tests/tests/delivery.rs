//! Delivery semantics: several agents, Okta redeliveries, retention, `--since`, store failures.

use agent::events::AgentEvent;
use hookrelay_tests::*;
use relay::store::EmbeddedStore;
use relay::store::*;
use shared::Since;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn every_agent_on_a_source_receives_every_event() {
    with_timeout(async {
        let mut h = Harness::builder().start().await;
        let mut t2 = spawn_target(Reply::default()).await;
        let mut a2 = h.spawn_extra_agent(|o| o.target = target_for(&t2.url()));
        a2.connected().await;
        for i in 0..10 {
            h.post(format!("{i}")).await;
        }
        for t in [&mut h.target, &mut t2] {
            for i in 0..10 {
                assert_eq!(t.next().await.body, i.to_string());
            }
        }
    })
    .await;
}

#[tokio::test]
async fn okta_redeliveries_are_marked_and_can_be_dropped() {
    with_timeout(async {
        let mut h = Harness::builder()
            .agent(|o| o.drop_duplicates = true)
            .start()
            .await;
        let body = r#"{"eventType":"com.okta.event_hook","eventId":"evt-1","data":{"events":[{"uuid":"u-1","eventType":"user.session.start"}]}}"#;
        let retry = r#"{"eventType":"com.okta.event_hook","eventId":"evt-2","data":{"events":[{"uuid":"u-1","eventType":"user.session.start"}]}}"#;
        for b in [body, body, retry, "after"] {
            let a = h.post(b).await;
            assert_eq!(a.status, 200, "a redelivery is still accepted");
        }
        let mut dup_flags = Vec::new();
        while dup_flags.len() < 4 {
            dup_flags.push(h.wait_for_capture(|_| true).await.duplicate);
        }
        assert_eq!(dup_flags, vec![false, true, true, false]);
        // Only the original and the unrelated event reached the target.
        assert_eq!(h.target.next().await.body.as_ref(), body.as_bytes());
        assert_eq!(h.target.next().await.body.as_ref(), b"after");
    })
    .await;
}

#[tokio::test]
async fn retention_drops_the_oldest_and_the_agent_is_told() {
    with_timeout(async {
        let mut h = Harness::builder()
            .relay(|c| {
                c.prune_interval = Duration::from_millis(50);
                c.retention.max_events = 5;
            })
            .start()
            .await;
        h.stop_agent().await;
        for i in 1..=10 {
            h.post(format!("{i}")).await;
        }
        // Wait (bounded) for the background pruning pass.
        let store = h.relay.handle.state.store.clone();
        for _ in 0..200 {
            if store.stats("okta").expect("stats").0 <= 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(store.stats("okta").expect("stats").0, 5);
        h.start_agent();
        let text = h.wait_for_notice().await;
        assert!(text.contains("5 event(s) were removed"), "{text}");
        for i in 6..=10 {
            assert_eq!(h.target.next().await.body, i.to_string());
        }
    })
    .await;
}

#[tokio::test]
async fn a_new_agent_can_start_from_an_earlier_sequence() {
    with_timeout(async {
        let mut h = Harness::builder()
            .agent(|o| o.since = Some(Since::Seq(3)))
            .no_agent()
            .start()
            .await;
        for i in 1..=5 {
            h.post(format!("{i}")).await;
        }
        h.start_agent();
        let welcome = h
            .wait_for(|e| matches!(e, AgentEvent::Welcome { .. }))
            .await;
        assert!(
            matches!(
                welcome,
                AgentEvent::Welcome {
                    backlog: 3,
                    head_seq: 5,
                    ..
                }
            ),
            "{welcome:?}"
        );
        for i in 3..=5 {
            assert_eq!(h.target.next().await.body, i.to_string());
        }
    })
    .await;
}

/// A store whose appends fail, as on a full disk.
struct FullDisk(EmbeddedStore);

impl Store for FullDisk {
    fn append(&self, _: &str, _: NewEvent) -> BoxFuture<StoreResult<Appended>> {
        Box::pin(async { Err(StoreError::Backend("database or disk is full".into())) })
    }
    fn read_after(&self, s: &str, a: u64, l: usize) -> StoreResult<Vec<Arc<StoredEvent>>> {
        self.0.read_after(s, a, l)
    }
    fn watch_head(&self, s: &str) -> StoreResult<tokio::sync::watch::Receiver<u64>> {
        self.0.watch_head(s)
    }
    fn first_seq_since(&self, s: &str, ms: u64) -> StoreResult<u64> {
        self.0.first_seq_since(s, ms)
    }
    fn oldest_seq(&self, s: &str) -> StoreResult<u64> {
        self.0.oldest_seq(s)
    }
    fn cursor(&self, a: &str, s: &str) -> StoreResult<Option<u64>> {
        self.0.cursor(a, s)
    }
    fn set_cursor(&self, a: &str, s: &str, q: u64) -> StoreResult<()> {
        self.0.set_cursor(a, s, q)
    }
    fn source(&self, n: &str) -> StoreResult<Option<SourceInfo>> {
        self.0.source(n)
    }
    fn sources(&self) -> StoreResult<Vec<SourceInfo>> {
        self.0.sources()
    }
    fn ensure_source(&self, n: &str) -> StoreResult<()> {
        self.0.ensure_source(n)
    }
    fn add_token(&self, i: &TokenInfo, h: &[u8]) -> StoreResult<()> {
        self.0.add_token(i, h)
    }
    fn token_by_hash(&self, h: &[u8]) -> StoreResult<Option<TokenInfo>> {
        self.0.token_by_hash(h)
    }
    fn tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        self.0.tokens()
    }
    fn revoke_token(&self, id: &str) -> StoreResult<bool> {
        self.0.revoke_token(id)
    }
    fn prune(&self, now: u64, r: Retention) -> StoreResult<PruneReport> {
        self.0.prune(now, r)
    }
    fn stats(&self, s: &str) -> StoreResult<(u64, u64)> {
        self.0.stats(s)
    }
    fn max_cursor(&self, s: &str) -> StoreResult<Option<u64>> {
        self.0.max_cursor(s)
    }
    fn set_settings(&self, n: &str, settings: &SourceSettings) -> StoreResult<()> {
        self.0.set_settings(n, settings)
    }
    fn size_bytes(&self) -> StoreResult<u64> {
        self.0.size_bytes()
    }
}

#[tokio::test]
async fn a_failed_commit_is_503_never_2xx_and_the_relay_keeps_serving() {
    with_timeout(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let inner = EmbeddedStore::open_dir(dir.path()).expect("store");
        inner.ensure_source("okta").expect("source");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let handle = relay::spawn(
            listener,
            Arc::new(FullDisk(inner)),
            test_config(),
            shutdown.clone(),
        )
        .expect("spawn");
        let url = format!("http://{}/h/okta", handle.addr);
        for _ in 0..3 {
            let a = client::post_json(&url, "{}").await.expect("send");
            assert_eq!(a.status, 503);
            assert!(a.text().contains("could not be stored"), "{}", a.text());
        }
        let v = client::challenge(&url, b"still").await;
        assert_eq!(v.status, 200, "the relay keeps serving");
        shutdown.cancel();
    })
    .await;
}

#[tokio::test]
async fn delivered_events_do_not_count_against_the_queue_limit() {
    with_timeout(async {
        let mut h = Harness::builder()
            .relay(|c| c.max_queued_events = Some(3))
            .start()
            .await;
        for i in 0..10 {
            let a = h.post(format!("{i}")).await;
            assert_eq!(a.status, 200, "event {i}: {}", a.text());
            assert_eq!(h.target.next().await.body, i.to_string());
            // Wait until the relay recorded the ack, so the event no longer counts as queued.
            let store = h.relay.handle.state.store.clone();
            for _ in 0..200 {
                if store.max_cursor("okta").expect("cursor") >= Some(i + 1) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    })
    .await;
}
