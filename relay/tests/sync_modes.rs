//! `--sync full` (the default) puts an ack-mode event on disk before its `2xx`; a proxy-mode
//! event, whose answer is the delivery itself, and every event under `--sync normal` wait
//! only for the write.

use relay::store::EmbeddedStore;
use relay::store::{NewEvent, Store, SyncMode};
use shared::{Blob, Event, EventId, HttpRequest};
use std::time::Duration;

fn event(needs_disk: bool) -> NewEvent {
    NewEvent {
        event: Event {
            seq: 0,
            id: EventId::new(),
            received_at_ms: 1,
            duplicate: false,
            proxied: !needs_disk,
            request: HttpRequest {
                method: "POST".into(),
                path: String::new(),
                query: None,
                headers: Vec::new(),
                body: Blob::from("{}"),
            },
        },
        okta_event_id: None,
        okta_uuids: Vec::new(),
        needs_disk,
    }
}

async fn durable_appends_after(sync: SyncMode, events: &[bool]) -> (u64, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open_dir_with(dir.path(), sync).expect("open");
    store.ensure_source("okta").expect("source");
    let mut last = 0;
    for needs_disk in events {
        let appended = tokio::time::timeout(
            Duration::from_secs(10),
            store.append("okta", event(*needs_disk)),
        )
        .await
        .expect("append in time")
        .expect("append");
        last = appended.seq;
    }
    (store.durable_appends(), last)
}

#[tokio::test]
async fn sync_full_waits_for_the_disk_only_for_ack_mode_events() {
    assert_eq!(SyncMode::default(), SyncMode::Full);
    let (proxy_only, seq) = durable_appends_after(SyncMode::Full, &[false, false]).await;
    assert_eq!(
        (proxy_only, seq),
        (0, 2),
        "proxy-mode events are not fsynced"
    );
    let (mixed, seq) = durable_appends_after(SyncMode::Full, &[false, true, true]).await;
    assert_eq!(
        (mixed, seq),
        (2, 3),
        "each ack-mode append was on disk first"
    );
}

#[tokio::test]
async fn sync_normal_never_waits_for_the_disk() {
    let (n, seq) = durable_appends_after(SyncMode::Normal, &[true, true, false]).await;
    assert_eq!((n, seq), (0, 3));
}
