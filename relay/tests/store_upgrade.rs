//! A data directory written by an earlier relay (events in SQLite tables) opens with its events
//! moved into the event log: same sequences, same bytes, and new events continue the sequence.

use relay::store::sqlite::SqliteStore;
use relay::store::{NewEvent, Store};
use rusqlite::params;
use shared::{Blob, EventId, Header, HttpRequest};

fn old_schema(path: &std::path::Path, events: &[(u64, &[u8])]) {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.execute_batch(
        "CREATE TABLE sources(name TEXT PRIMARY KEY, mode TEXT NOT NULL DEFAULT 'ack',
            created_ms INTEGER NOT NULL, auth_name TEXT, auth_value TEXT);
         CREATE TABLE events(source TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
            received_at_ms INTEGER NOT NULL, duplicate INTEGER NOT NULL,
            method TEXT NOT NULL, path TEXT NOT NULL, query TEXT,
            headers TEXT NOT NULL, body BLOB NOT NULL);
         CREATE UNIQUE INDEX events_seq ON events(source, seq);
         CREATE TABLE heads(source TEXT PRIMARY KEY, seq INTEGER NOT NULL);
         CREATE TABLE dedup(source TEXT NOT NULL, key TEXT NOT NULL,
            PRIMARY KEY(source, key)) WITHOUT ROWID;
         INSERT INTO sources(name, created_ms) VALUES ('okta', 1);",
    )
    .expect("old schema");
    for (seq, body) in events {
        conn.execute(
            "INSERT INTO events VALUES ('okta', ?1, ?2, ?3, 0, 'POST', '/x', 'a=1', ?4, ?5)",
            params![
                *seq as i64,
                EventId::new().to_string(),
                1_000 + *seq as i64,
                r#"[["content-type","application/json"],["x-bin",{"b64":"/w=="}]]"#,
                body
            ],
        )
        .expect("old event");
    }
    conn.execute(
        "INSERT INTO heads VALUES ('okta', ?1)",
        params![events.len() as i64],
    )
    .expect("head");
}

#[tokio::test]
async fn events_of_an_earlier_relay_are_moved_into_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("relay.sqlite3");
    old_schema(
        &path,
        &[(1, b"{\"one\":1}"), (2, &[0, 255, 7]), (3, b"three")],
    );
    {
        let store = SqliteStore::open(&path).expect("open the old store");
        let events = store.read_after("okta", 0, 10).expect("read");
        let bodies: Vec<&[u8]> = events.iter().map(|e| e.request.body.as_bytes()).collect();
        assert_eq!(bodies, vec![&b"{\"one\":1}"[..], &[0, 255, 7], b"three"]);
        assert_eq!(events[1].seq, 2);
        assert_eq!(events[1].request.query.as_deref(), Some("a=1"));
        assert_eq!(
            events[1].request.headers[1],
            Header("x-bin".into(), Blob::from(&b"\xff"[..]))
        );
        assert_eq!(*store.watch_head("okta").expect("head").borrow(), 3);
        let appended = store
            .append(
                "okta",
                NewEvent {
                    id: EventId::new(),
                    received_at_ms: 2_000,
                    request: HttpRequest {
                        method: "POST".into(),
                        path: String::new(),
                        query: None,
                        headers: Vec::new(),
                        body: Blob::from("four"),
                    },
                    okta_event_id: None,
                    okta_uuids: Vec::new(),
                    needs_disk: true,
                },
            )
            .await
            .expect("append");
        assert_eq!(appended.seq, 4);
    }
    let conn = rusqlite::Connection::open(&path).expect("open");
    let old_tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('events', 'dedup')",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(old_tables, 0, "the old tables are gone");
    drop(conn);
    let store = SqliteStore::open(&path).expect("reopen");
    let seqs: Vec<u64> = store
        .read_after("okta", 0, 10)
        .expect("read")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
}
