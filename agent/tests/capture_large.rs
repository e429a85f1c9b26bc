//! Large request bodies live in their own table, written in place: every way a capture is
//! written, replaced, completed, pruned or upgraded keeps the body it should have.

mod capture_fixtures;

use agent::capture::{CaptureStore, Record};
use agent::model::Capture;
use capture_fixtures as fx;
use shared::{Blob, EventId};
use std::path::Path;

/// Bigger than the store's large-body threshold; every byte value, so nothing is re-encoded.
fn large_body(seed: u8) -> Blob {
    Blob::from(
        (0..300_000u32)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect::<Vec<u8>>(),
    )
}

fn with_body(mut c: Capture, id: &str, body: Blob) -> Capture {
    c.id = fx::id(id);
    c.request.body = body;
    c
}

/// (request bodies kept in the captures rows' own column, rows of `large_bodies`).
fn layout(path: &Path) -> (Vec<usize>, usize) {
    let raw = rusqlite::Connection::open(path).expect("open raw");
    let inline = raw
        .prepare("SELECT length(request_body) FROM captures ORDER BY row_id")
        .expect("prepare")
        .query_map([], |r| r.get::<_, i64>(0))
        .expect("query")
        .map(|n| n.expect("row") as usize)
        .collect();
    let large: i64 = raw
        .query_row("SELECT COUNT(*) FROM large_bodies", [], |r| r.get(0))
        .expect("count");
    (inline, large as usize)
}

#[test]
fn large_bodies_round_trip_through_every_write_path() {
    let (dir, store) = fx::temp_store();
    let path = dir.path().join("captures.sqlite3");
    let single = with_body(
        fx::delivered(),
        "1a000000-0000-4000-8000-000000000001",
        large_body(1),
    );
    let many = with_body(
        fx::failed(),
        "1a000000-0000-4000-8000-000000000002",
        large_body(2),
    );
    let pending = with_body(
        fx::pending(),
        "1a000000-0000-4000-8000-000000000003",
        large_body(3),
    );
    let folded = with_body(
        fx::pending(),
        "1a000000-0000-4000-8000-000000000004",
        large_body(4),
    );
    store.insert(&single).expect("insert");
    store
        .insert_many(std::slice::from_ref(&many))
        .expect("insert many");
    let done = fx::delivered().outcome.expect("an outcome");
    store
        .record_batch(&[
            Record::Capture(Box::new(pending.clone())),
            Record::Capture(Box::new(folded.clone())),
            Record::Outcome {
                id: folded.id,
                delivered_at_ms: 5,
                answered_at_ms: 6,
                outcome: done.clone(),
            },
        ])
        .expect("batch");
    // An outcome recorded later rewrites the capture's row, not its body.
    fx::record_delivery(&store, pending.id, 7, 8, &done, ("http://relay", "okta", 3))
        .expect("delivery");

    let mut folded_done = folded.clone();
    (folded_done.delivered_at_ms, folded_done.answered_at_ms) = (Some(5), Some(6));
    folded_done.outcome = Some(done.clone());
    let mut pending_done = pending.clone();
    (pending_done.delivered_at_ms, pending_done.answered_at_ms) = (Some(7), Some(8));
    pending_done.outcome = Some(done);
    let expected = vec![single, many, pending_done, folded_done];
    for c in &expected {
        assert_eq!(store.get(c.id).expect("get").as_ref(), Some(c));
    }
    assert_eq!(store.all().expect("all"), expected);
    assert_eq!(
        layout(&path),
        (vec![0, 0, 0, 0], 4),
        "bodies out of the rows"
    );
}

#[test]
fn replacing_a_large_body_drops_the_old_one() {
    let (dir, store) = fx::temp_store();
    let path = dir.path().join("captures.sqlite3");
    let id = "1b000000-0000-4000-8000-000000000001";
    store
        .insert(&with_body(fx::delivered(), id, large_body(1)))
        .expect("large");
    let bigger = with_body(fx::delivered(), id, large_body(9));
    store.insert(&bigger).expect("another large");
    assert_eq!(store.get(bigger.id).expect("get"), Some(bigger));
    assert_eq!(layout(&path), (vec![0], 1));

    let small = with_body(fx::delivered(), id, Blob::from(&b"{\"small\":true}"[..]));
    store.insert(&small).expect("small");
    assert_eq!(store.get(small.id).expect("get"), Some(small));
    assert_eq!(layout(&path), (vec![14], 0));

    let empty = with_body(fx::delivered(), id, Blob::default());
    store
        .insert(&with_body(fx::delivered(), id, large_body(3)))
        .expect("large again");
    store.insert(&empty).expect("empty");
    assert_eq!(store.get(empty.id).expect("get"), Some(empty));
    assert_eq!(layout(&path), (vec![0], 0));
}

#[test]
fn pruning_deletes_large_bodies_with_their_captures() {
    let (dir, store) = fx::temp_store();
    let path = dir.path().join("captures.sqlite3");
    let ids: Vec<String> = (1..=4)
        .map(|i| format!("1c000000-0000-4000-8000-00000000000{i}"))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        store
            .insert(&with_body(fx::delivered(), id, large_body(i as u8)))
            .expect("insert");
    }
    assert_eq!(store.prune(1).expect("prune"), 3);
    assert_eq!(layout(&path), (vec![0], 1));
    let kept = store.get(fx::id(&ids[3])).expect("get").expect("kept");
    assert_eq!(kept.request.body, large_body(3));
    assert_eq!(store.get(EventId::new()).expect("get"), None);
}

#[test]
fn a_store_written_before_large_bodies_is_upgraded() {
    let (dir, store) = fx::temp_store();
    let path = dir.path().join("captures.sqlite3");
    store.insert_many(&fx::all()).expect("insert");
    drop(store);
    // What a version-1 store is: this schema without the large-body table.
    let raw = rusqlite::Connection::open(&path).expect("open raw");
    raw.execute_batch("DROP TABLE large_bodies; PRAGMA user_version = 1;")
        .expect("downgrade");
    drop(raw);

    let store = CaptureStore::open(&path).expect("upgrade");
    assert_eq!(store.all().expect("all"), fx::all());
    let large = with_body(
        fx::pending(),
        "1d000000-0000-4000-8000-000000000001",
        large_body(7),
    );
    store.insert(&large).expect("insert large");
    assert_eq!(store.get(large.id).expect("get"), Some(large));
}
