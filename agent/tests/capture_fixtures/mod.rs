//! Captures covering every awkward case, shared by the capture-store and export tests.

#![allow(dead_code)]

use agent::model::{Capture, CaptureKind};
use shared::{Blob, DeliveryError, DeliveryOutcome, EventId, Header, HttpRequest, HttpResponse};

/// A file-backed store in a fresh temporary directory (`captures.sqlite3` in it).
pub fn temp_store() -> (tempfile::TempDir, agent::capture::CaptureStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = agent::capture::CaptureStore::open(&dir.path().join("captures.sqlite3"))
        .expect("open store");
    (dir, store)
}

/// An id with a chosen prefix, so tests can make prefixes collide.
pub fn id(text: &str) -> EventId {
    text.parse().expect("test ids are valid uuids")
}

/// A delivered event with a binary request body, a non-UTF-8 header value, duplicate headers
/// in a deliberate order, a query string and a binary response.
pub fn delivered() -> Capture {
    Capture {
        id: id("0a1b2c3d-0000-4000-8000-000000000001"),
        seq: Some(41),
        source: "okta".into(),
        kind: CaptureKind::Event,
        received_at_ms: 1_764_000_000_123,
        delivered_at_ms: Some(1_764_000_000_130),
        answered_at_ms: Some(1_764_000_000_150),
        request: HttpRequest {
            method: "POST".into(),
            path: "/extra/path".into(),
            query: Some("a=1&b=x%20y&a=2&flag".into()),
            headers: vec![
                Header::new("content-type", "application/octet-stream"),
                Header::new("x-dup", "first"),
                Header::new("x-raw", vec![0xff, 0xfe, b'a', 0x80]),
                Header::new("x-dup", "second"),
                Header::new("X-Case", "Kept"),
            ],
            body: Blob::from((0..=255u8).chain(0..=255u8).collect::<Vec<u8>>()),
        },
        target_url: "http://127.0.0.1:1337/okta-webhooks-endpoint/extra/path?a=1&b=x%20y&a=2&flag"
            .into(),
        outcome: Some(DeliveryOutcome::answered(
            HttpResponse {
                status: 200,
                headers: vec![
                    Header::new("content-type", "application/json"),
                    Header::new("set-cookie", "a=1"),
                    Header::new("set-cookie", "b=2"),
                    Header::new("x-bin", vec![0xc3, 0x28]),
                ],
                body: Blob::from(vec![0u8, 159, 146, 150, b'{', b'}']),
            },
            20_345,
        )),
        duplicate: false,
        replay_of: None,
    }
}

/// A delivery that failed: nothing listened on the port.
pub fn failed() -> Capture {
    Capture {
        id: id("0a1b2c3d-0000-4000-8000-000000000002"),
        seq: Some(42),
        source: "okta".into(),
        kind: CaptureKind::Event,
        received_at_ms: 1_764_000_001_000,
        delivered_at_ms: Some(1_764_000_001_001),
        answered_at_ms: Some(1_764_000_001_002),
        request: HttpRequest {
            method: "POST".into(),
            path: String::new(),
            query: None,
            headers: vec![Header::new("content-type", "application/json")],
            body: Blob::from(r#"{"eventType":"user.session.start","name":"Zoë"}"#),
        },
        target_url: "http://127.0.0.1:1337/okta-webhooks-endpoint".into(),
        outcome: Some(DeliveryOutcome::failed(
            DeliveryError::Refused("127.0.0.1:1337".into()),
            850,
        )),
        duplicate: true,
        replay_of: None,
    }
}

/// A capture the local service has not answered yet.
pub fn pending() -> Capture {
    Capture {
        id: id("9f000000-0000-4000-8000-000000000003"),
        seq: None,
        source: "github".into(),
        kind: CaptureKind::Replay,
        received_at_ms: 1_764_000_002_000,
        delivered_at_ms: Some(1_764_000_002_000),
        answered_at_ms: None,
        request: HttpRequest {
            method: "PUT".into(),
            path: "/p".into(),
            query: Some(String::new()),
            headers: vec![],
            body: Blob::default(),
        },
        target_url: "http://localhost:9/x/p?".into(),
        outcome: None,
        duplicate: false,
        replay_of: Some(id("0a1b2c3d-0000-4000-8000-000000000001")),
    }
}

/// An Okta verification challenge the relay answered itself.
pub fn verification() -> Capture {
    Capture {
        id: id("9f000000-0000-4000-8000-000000000004"),
        seq: Some(7),
        source: "okta".into(),
        kind: CaptureKind::Verification,
        received_at_ms: 1_764_000_003_000,
        delivered_at_ms: None,
        answered_at_ms: None,
        request: HttpRequest {
            method: "GET".into(),
            path: String::new(),
            query: None,
            headers: vec![Header::new("x-okta-verification-challenge", "abc")],
            body: Blob::default(),
        },
        target_url: String::new(),
        outcome: None,
        duplicate: false,
        replay_of: None,
    }
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
