//! Captures covering every awkward case, and the store calls only tests make, shared by the
//! capture-store, export and TUI replay tests.

#![allow(dead_code, unused_imports)]

mod builder;

use agent::capture::{CaptureStore, Record};
use agent::model;
use model::Capture;
use shared::{Blob, DeliveryError, DeliveryOutcome, EventId};

pub use builder::{answer, failure, CaptureBuilder, DEFAULT_TARGET};

/// A file-backed store in a fresh temporary directory (`captures.sqlite3` in it).
pub fn temp_store() -> (tempfile::TempDir, CaptureStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = CaptureStore::open(&dir.path().join("captures.sqlite3")).expect("open store");
    (dir, store)
}

/// An id with a chosen prefix, so tests can make prefixes collide.
pub fn id(text: &str) -> EventId {
    text.parse().expect("test ids are valid uuids")
}

/// A delivered event with a binary request body, a non-UTF-8 header value, duplicate headers
/// in a deliberate order, a query string and a binary response.
pub fn delivered() -> Capture {
    CaptureBuilder::event(41)
        .id(id("0a1b2c3d-0000-4000-8000-000000000001"))
        .received_at(1_764_000_000_123)
        .delivered_at(1_764_000_000_130)
        .answered_at(1_764_000_000_150)
        .post("/extra/path")
        .query("a=1&b=x%20y&a=2&flag")
        .header("content-type", "application/octet-stream")
        .header("x-dup", "first")
        .header("x-raw", vec![0xff, 0xfe, b'a', 0x80])
        .header("x-dup", "second")
        .header("X-Case", "Kept")
        .body((0..=255u8).chain(0..=255u8).collect::<Vec<u8>>())
        .target("http://127.0.0.1:1337/okta-webhooks-endpoint/extra/path?a=1&b=x%20y&a=2&flag")
        .answered(200, vec![0u8, 159, 146, 150, b'{', b'}'], 20_345)
        .response_header("content-type", "application/json")
        .response_header("set-cookie", "a=1")
        .response_header("set-cookie", "b=2")
        .response_header("x-bin", vec![0xc3, 0x28])
        .build()
}

/// A delivery that failed: nothing listened on the port.
pub fn failed() -> Capture {
    CaptureBuilder::event(42)
        .id(id("0a1b2c3d-0000-4000-8000-000000000002"))
        .received_at(1_764_000_001_000)
        .delivered_at(1_764_000_001_001)
        .answered_at(1_764_000_001_002)
        .json(r#"{"eventType":"user.session.start","name":"Zoë"}"#)
        .failed(DeliveryError::Refused("127.0.0.1:1337".into()), 850)
        .duplicate()
        .build()
}

/// A capture the local service has not answered yet.
pub fn pending() -> Capture {
    CaptureBuilder::replay_of(id("0a1b2c3d-0000-4000-8000-000000000001"))
        .id(id("9f000000-0000-4000-8000-000000000003"))
        .source("github")
        .received_at(1_764_000_002_000)
        .delivered_at(1_764_000_002_000)
        .method("PUT")
        .path("/p")
        .query("")
        .target("http://localhost:9/x/p?")
        .build()
}

/// An Okta verification challenge the relay answered itself.
pub fn verification() -> Capture {
    CaptureBuilder::verification(7, "abc")
        .id(id("9f000000-0000-4000-8000-000000000004"))
        .received_at(1_764_000_003_000)
        .build()
}

/// Every fixture, in order.
pub fn all() -> Vec<Capture> {
    vec![delivered(), failed(), pending(), verification()]
}

/// A plain delivered capture with a fresh id and a body of `body_len` bytes.
pub fn simple(received_at_ms: u64, body_len: usize) -> Capture {
    let mut c = failed();
    c.id = EventId::new();
    c.received_at_ms = received_at_ms;
    c.request.body = Blob::from(vec![b'x'; body_len]);
    c
}

/// Every capture's id, oldest first.
pub fn all_ids(store: &CaptureStore) -> anyhow::Result<Vec<EventId>> {
    Ok(store.all()?.iter().map(|c| c.id).collect())
}

/// True when the capture exists and has an outcome (a response or an error).
pub fn is_delivered(store: &CaptureStore, id: EventId) -> anyhow::Result<bool> {
    Ok(store.get(id)?.is_some_and(|c| c.outcome.is_some()))
}

/// Advances the cursor of `relay` on `source` as the listener's recorder does (never backwards).
pub fn set_cursor(store: &CaptureStore, relay: &str, source: &str, seq: u64) -> anyhow::Result<()> {
    store.record_batch(&[Record::Cursor {
        relay: relay.into(),
        source: source.into(),
        seq,
    }])
}

/// Records a delivery's outcome, then advances the cursor; fails, moving no cursor, if no
/// capture has that id.
pub fn record_delivery(
    store: &CaptureStore,
    id: EventId,
    delivered_at_ms: u64,
    answered_at_ms: u64,
    outcome: &DeliveryOutcome,
    cursor: (&str, &str, u64),
) -> anyhow::Result<()> {
    store.record_outcome(id, delivered_at_ms, answered_at_ms, outcome)?;
    let (relay, source, seq) = cursor;
    set_cursor(store, relay, source, seq)
}
