//! One suite, both stores: the embedded store (segments + SQLite) and the PostgreSQL store
//! must behave the same behind the `Store` trait. Each case runs against each store; the
//! PostgreSQL cases get a fresh database on this process's throwaway cluster.

use hookrelay_tests::new_event as event;
use hookrelay_tests::postgres;
use relay::store::{EmbeddedStore, Retention, SourceSettings, Store, TokenInfo};
use shared::Mode;
use std::sync::Arc;
use std::time::Duration;

/// A store under test, with whatever keeps it alive.
struct Subject {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

fn embedded() -> Subject {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open_dir(dir.path()).expect("open embedded store");
    Subject {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

async fn pg() -> Subject {
    let url = postgres::database().await;
    Subject {
        store: postgres::open_store(&url),
        _dir: None,
    }
}

/// Defines `$name` twice, as `embedded::$name` and `postgres::$name`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod embedded_store {
            $(#[tokio::test]
            async fn $name() {
                hookrelay_tests::with_timeout(super::$name(super::embedded())).await;
            })*
        }
        mod postgres_store {
            $(#[tokio::test]
            async fn $name() {
                hookrelay_tests::with_timeout(async { super::$name(super::pg().await).await }).await;
            })*
        }
    };
}

conformance!(
    appends_are_numbered_in_order_and_read_back_whole,
    concurrent_appends_get_distinct_contiguous_sequences,
    the_head_follows_every_commit,
    an_okta_redelivery_is_marked_duplicate,
    cursors_only_move_forward,
    settings_round_trip,
    tokens_are_found_by_hash_and_revoked,
    a_scoped_token_keeps_its_scope_and_creates_its_sources,
    an_empty_log_reports_head_plus_one,
    retention_by_count_keeps_the_newest,
);

async fn appends_are_numbered_in_order_and_read_back_whole(s: Subject) {
    let store = s.store;
    store.ensure_source("a").expect("ensure");
    let mut ids = Vec::new();
    for i in 1..=5u64 {
        let ev = event(&format!("body {i}"), None);
        ids.push(ev.event.id);
        let got = store.append("a", ev).await.expect("append");
        assert_eq!(got.seq, i);
        assert!(!got.duplicate);
    }
    let all = store.read_after("a", 0, 100).expect("read");
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    assert_eq!(all[2].request.body.as_bytes(), b"body 3");
    assert_eq!(all[2].request.query.as_deref(), Some("a=1"));
    assert_eq!(
        all[2].request.header("content-type"),
        Some("application/json")
    );
    // The frame is the event's wire frame.
    let decoded = shared::frame::decode_relay_binary(all[0].frame(), usize::MAX).expect("frame");
    assert!(matches!(decoded, shared::RelayMessage::Event(e) if e.seq == 1));
    let page = store.read_after("a", 2, 2).expect("read page");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(store.stats("a").expect("stats").0, 5);
}

async fn concurrent_appends_get_distinct_contiguous_sequences(s: Subject) {
    let store = s.store;
    store.ensure_source("c").expect("ensure");
    let appends: Vec<_> = (0..200)
        .map(|i| store.append("c", event(&i.to_string(), None)))
        .collect();
    let seqs = hookrelay_tests::sorted_seqs(appends).await;
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    let read = store.read_after("c", 0, 1000).expect("read");
    assert_eq!(read.len(), 200);
    assert!(read.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
}

async fn the_head_follows_every_commit(s: Subject) {
    let store = s.store;
    store.ensure_source("h").expect("ensure");
    let mut head = store.watch_head("h").expect("watch");
    assert_eq!(*head.borrow_and_update(), 0);
    store.append("h", event("x", None)).await.expect("append");
    tokio::time::timeout(Duration::from_secs(5), head.wait_for(|h| *h == 1))
        .await
        .expect("head moved in time")
        .expect("watch open");
}

async fn an_okta_redelivery_is_marked_duplicate(s: Subject) {
    let store = s.store;
    store.ensure_source("o").expect("ensure");
    let first = store
        .append("o", event("{}", Some("evt-1")))
        .await
        .expect("first");
    let again = store
        .append("o", event("{}", Some("evt-1")))
        .await
        .expect("again");
    let other = store
        .append("o", event("{}", Some("evt-2")))
        .await
        .expect("other");
    assert!(!first.duplicate);
    assert!(again.duplicate);
    assert!(!other.duplicate);
    let read = store.read_after("o", 0, 10).expect("read");
    assert_eq!(
        read.iter().map(|e| e.duplicate).collect::<Vec<_>>(),
        vec![false, true, false]
    );
}

async fn cursors_only_move_forward(s: Subject) {
    let store = s.store;
    store.ensure_source("k").expect("ensure");
    assert_eq!(store.cursor("agent-1", "k").expect("cursor"), None);
    store.set_cursor("agent-1", "k", 7).expect("set");
    store.set_cursor("agent-1", "k", 3).expect("set back");
    store.set_cursor("agent-2", "k", 9).expect("set other");
    assert_eq!(store.cursor("agent-1", "k").expect("cursor"), Some(7));
    assert_eq!(store.max_cursor("k").expect("max"), Some(9));
    // Still true once the cursors are committed (both stores write them in the background).
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(store.cursor("agent-1", "k").expect("cursor"), Some(7));
    assert_eq!(store.max_cursor("k").expect("max"), Some(9));
}

async fn settings_round_trip(s: Subject) {
    let store = s.store;
    assert_eq!(store.source("nope").expect("source"), None);
    let settings = SourceSettings {
        mode: Mode::Proxy,
        proxy_deadline_ms: Some(1500),
        sender_auth: Some(relay::store::SenderAuth {
            name: "Authorization".into(),
            value: "s3cret".into(),
        }),
        retention_days: Some(2),
        retention_events: Some(10),
    };
    store.set_settings("s", &settings).expect("set");
    store.ensure_source("s").expect("ensure keeps settings");
    let got = store.source("s").expect("source").expect("exists");
    assert_eq!(got.settings, settings);
    store.ensure_source("t").expect("ensure");
    let names: Vec<String> = store
        .sources()
        .expect("sources")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, vec!["s".to_string(), "t".to_string()]);
    assert_eq!(
        store.source("t").expect("t").expect("t").settings,
        SourceSettings::default()
    );
}

async fn tokens_are_found_by_hash_and_revoked(s: Subject) {
    let store = s.store;
    let info = TokenInfo {
        id: "tok1".into(),
        name: "ci".into(),
        source: "okta".into(),
        created_ms: 1,
        last_used_ms: None,
    };
    store.add_token(&info, b"hash-1").expect("add");
    assert_eq!(store.token_by_hash(b"hash-2").expect("lookup"), None);
    let found = store
        .token_by_hash(b"hash-1")
        .expect("lookup")
        .expect("found");
    assert_eq!(found.id, "tok1");
    let listed = store.tokens().expect("tokens");
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].last_used_ms.is_some(),
        "a lookup marks the token used"
    );
    assert!(
        store.source("okta").expect("source").is_some(),
        "its source exists"
    );
    assert!(store.revoke_token("tok1").expect("revoke"));
    assert!(!store.revoke_token("tok1").expect("revoke again"));
    assert_eq!(store.token_by_hash(b"hash-1").expect("lookup"), None);
}

async fn a_scoped_token_keeps_its_scope_and_creates_its_sources(s: Subject) {
    let store = s.store;
    for (id, scope) in [("tok2", "okta,github"), ("tok3", "*")] {
        let info = TokenInfo {
            id: id.into(),
            name: "multi".into(),
            source: scope.into(),
            created_ms: 1,
            last_used_ms: None,
        };
        store.add_token(&info, id.as_bytes()).expect("add");
        let found = store
            .token_by_hash(id.as_bytes())
            .expect("lookup")
            .expect("found");
        assert_eq!(found.source, scope, "the scope reads back as written");
        let scope = relay::token_scope::TokenScope::stored(&found.source);
        assert!(scope.allows("github") && scope.allows("okta"));
    }
    let mut names: Vec<String> = store
        .sources()
        .expect("sources")
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["github", "okta"],
        "each named source exists, none is named after a scope's text"
    );
}

async fn an_empty_log_reports_head_plus_one(s: Subject) {
    let store = s.store;
    store.ensure_source("e").expect("ensure");
    assert_eq!(store.oldest_seq("e").expect("oldest"), 1);
    assert_eq!(store.first_seq_since("e", 0).expect("since"), 1);
    store.append("e", event("1", None)).await.expect("append");
    store.append("e", event("2", None)).await.expect("append");
    assert_eq!(store.oldest_seq("e").expect("oldest"), 1);
    assert_eq!(store.first_seq_since("e", 0).expect("since"), 1);
    assert_eq!(store.first_seq_since("e", u64::MAX / 2).expect("since"), 3);
}

async fn retention_by_count_keeps_the_newest(s: Subject) {
    let store = s.store;
    store.ensure_source("r").expect("ensure");
    for i in 0..10 {
        store
            .append("r", event(&i.to_string(), None))
            .await
            .expect("append");
    }
    let rules = Retention {
        max_events: 3,
        ..Retention::default()
    };
    let report = store.prune(relay::now_ms(), rules).expect("prune");
    assert_eq!(report.removed, vec![("r".to_string(), 7)]);
    assert_eq!(store.oldest_seq("r").expect("oldest"), 8);
    let left = store.read_after("r", 0, 100).expect("read");
    assert_eq!(
        left.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![8, 9, 10]
    );
    // Numbering continues after pruning.
    let next = store.append("r", event("10", None)).await.expect("append");
    assert_eq!(next.seq, 11);
}
