//! The PostgreSQL store alone: what the embedded store cannot do (several stores on one
//! database), a schema from a newer relay, an unreachable database, and recovery.

use hookrelay_tests::postgres;
use hookrelay_tests::{new_event as event, with_timeout};
use relay::store::{Store, StoreError};
use std::time::Duration;

#[tokio::test]
async fn two_postgres_stores_on_one_database_number_one_log() {
    with_timeout(async {
        let url = postgres::database().await;
        let (a, b) = (postgres::open_store(&url), postgres::open_store(&url));
        a.ensure_source("m").expect("ensure");
        let mut b_head = b.watch_head("m").expect("watch");
        let appends: Vec<_> = (0..100)
            .map(|i| {
                let store: &dyn Store = if i % 2 == 0 { a.as_ref() } else { b.as_ref() };
                store.append("m", event(&i.to_string(), None))
            })
            .collect();
        let seqs = hookrelay_tests::sorted_seqs(appends).await;
        assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
        // B's head follows A's commits too (NOTIFY), and both read one log.
        b_head
            .wait_for(|h| *h == 100)
            .await
            .expect("b's head reaches 100");
        let from_a = a.read_after("m", 0, 1000).expect("read a");
        let from_b = b.read_after("m", 0, 1000).expect("read b");
        assert_eq!(from_a, from_b);
        assert_eq!(from_a.len(), 100);
    })
    .await;
}

#[tokio::test]
async fn a_schema_from_a_newer_relay_is_refused_with_both_versions() {
    with_timeout(async {
        let url = postgres::database().await;
        drop(postgres::open_store(&url));
        let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
            .await
            .expect("connect");
        let conn = tokio::spawn(conn);
        client
            .batch_execute("UPDATE hookrelay_schema SET version = 99")
            .await
            .expect("bump the version");
        drop(client);
        let _ = conn.await;
        let err = relay::store::PostgresStore::open(&url)
            .err()
            .expect("a newer schema is refused");
        let msg = format!("{err:#}");
        assert!(msg.contains("version 99"), "{msg}");
        assert!(
            msg.contains(&format!("up to {}", relay::store::postgres::SCHEMA_VERSION)),
            "{msg}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_database_is_named_without_its_password() {
    with_timeout(async {
        let port = hookrelay_tests::closed_port_url().await;
        let port = port.rsplit(':').next().expect("port").to_string();
        let url = shared::Secret::new(format!(
            "postgres://alice:hunter2-secret@127.0.0.1:{port}/relaydb"
        ));
        let err = relay::store::PostgresStore::open(&url)
            .err()
            .expect("nothing listens there");
        let msg = format!("{err:#}");
        assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
        assert!(msg.contains("relaydb") && msg.contains("alice"), "{msg}");
        assert!(!msg.contains("hunter2"), "the password leaked: {msg}");
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_database_fails_fast_and_recovers() {
    with_timeout(async {
        // Its own cluster: stopping it must not disturb the other tests of this process.
        let cluster = postgres::Cluster::start();
        let url = cluster.database().await;
        let store = postgres::open_store(&url);
        store.ensure_source("d").expect("ensure");
        store
            .append("d", event("before", None))
            .await
            .expect("append");
        cluster.stop_server();
        let err = store.append("d", event("during", None)).await;
        assert!(matches!(err, Err(StoreError::Backend(_))), "{err:?}");
        cluster.restart_server();
        // It reconnects by itself.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let seq = loop {
            match store.append("d", event("after", None)).await {
                Ok(a) => break a.seq,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!("no recovery: {e}"),
            }
        };
        assert_eq!(seq, 2, "the failed append left nothing behind");
        let bodies: Vec<Vec<u8>> = loop {
            if let Ok(read) = store.read_after("d", 0, 10) {
                break read
                    .iter()
                    .map(|e| e.request.body.as_bytes().to_vec())
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(bodies, vec![b"before".to_vec(), b"after".to_vec()]);
    })
    .await;
}

#[tokio::test]
async fn a_version_1_schema_is_upgraded_in_place_keeping_its_events() {
    with_timeout(async {
        let url = postgres::database().await;
        {
            let store = postgres::open_store(&url);
            store
                .append("m", event("kept", None))
                .await
                .expect("append");
        }
        // What version 1 looked like: the same tables without version 2's storage parameter.
        let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
            .await
            .expect("connect");
        let conn = tokio::spawn(conn);
        client
            .batch_execute(
                "ALTER TABLE events RESET (toast_tuple_target);
                 UPDATE hookrelay_schema SET version = 1",
            )
            .await
            .expect("go back to version 1");
        let store = postgres::open_store(&url);
        let events = store.read_after("m", 0, 10).expect("read");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.request.body.as_bytes(), b"kept");
        let version: i32 = client
            .query_one("SELECT version FROM hookrelay_schema", &[])
            .await
            .expect("version")
            .get(0);
        assert_eq!(version, relay::store::postgres::SCHEMA_VERSION);
        let options: Option<Vec<String>> = client
            .query_one(
                "SELECT reloptions FROM pg_class WHERE relname = 'events'",
                &[],
            )
            .await
            .expect("reloptions")
            .get(0);
        assert_eq!(options, Some(vec!["toast_tuple_target=8160".to_string()]));
        drop(client);
        let _ = conn.await;
    })
    .await;
}
