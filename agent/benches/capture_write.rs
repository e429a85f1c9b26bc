//! What storing a capture costs the listener: `CaptureStore::record_batch` with captures of the
//! benchmark's 2.1 KB Okta body, in batches of the sizes the recorder forms, on a real file.
//! Reports CPU µs per capture (this thread's user+system time) and store bytes per capture,
//! on a store already holding `PREFILL` (50,000) captures.
//! Run: `cargo bench -p agent --bench capture_write`.

use agent::capture::{CaptureStore, Record};
use agent::model::{Capture, CaptureKind};
use shared::{Blob, DeliveryOutcome, EventId, Header, HttpRequest, HttpResponse};
use std::time::Instant;

fn thread_cpu_us() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name).
    (ticks(11) + ticks(12)) * 1e6 / 100.0
}

fn capture(seq: u64, body: &Blob) -> Capture {
    Capture {
        event: shared::Event {
            seq,
            id: EventId::new(),
            received_at_ms: 1_700_000_000_000 + seq,
            duplicate: false,
            proxied: false,
            request: HttpRequest {
                method: "POST".into(),
                path: String::new(),
                query: None,
                headers: vec![
                    Header::new("host", "relay.example.com"),
                    Header::new("content-type", "application/json"),
                    Header::new("user-agent", "Okta Hook Service v1.0.0"),
                    Header::new("content-length", body.len().to_string()),
                ],
                body: body.clone(),
            },
        },
        source: "okta".into(),
        kind: CaptureKind::Event,
        delivered_at_ms: Some(1_700_000_000_001 + seq),
        answered_at_ms: Some(1_700_000_000_002 + seq),
        target_url: "http://127.0.0.1:1337/okta-webhooks-endpoint".into(),
        outcome: Some(DeliveryOutcome::answered(
            HttpResponse {
                status: 200,
                headers: vec![Header::new("content-length", "2")],
                body: Blob::from("ok"),
            },
            80,
        )),
        replay_of: None,
    }
}

fn main() {
    let body = Blob::from(
        serde_json::to_vec(&agent::okta_kit::event_hook_body(
            &["user.session.start"],
            &agent::okta_kit::TriggerOptions::default(),
        ))
        .expect("body"),
    );
    println!("body {} bytes", body.len());
    // The listener's store is usually far from empty: its history keeps the last 100,000.
    let prefill = std::env::var("PREFILL")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(50_000);
    for batch in [1usize, 10, 50, 300] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("captures.sqlite3");
        let store = CaptureStore::open(&path).expect("store");
        for start in (0..prefill).step_by(1000) {
            let records: Vec<Record> = (start..start + 1000)
                .map(|i| Record::Capture(Box::new(capture(i, &body))))
                .collect();
            store.record_batch(&records).expect("prefill");
        }
        let total = 20_000u64;
        let (cpu0, t0) = (thread_cpu_us(), Instant::now());
        let mut seq = prefill;
        while seq < prefill + total {
            let records: Vec<Record> = (0..batch as u64)
                .map(|i| Record::Capture(Box::new(capture(seq + i, &body))))
                .collect();
            seq += batch as u64;
            store.record_batch(&records).expect("write");
        }
        let cpu = thread_cpu_us() - cpu0;
        let wall = t0.elapsed().as_secs_f64();
        drop(store);
        // Closing the last connection checkpoints the WAL into the database file.
        let bytes =
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) / (prefill + total) * total;
        println!(
            "batch {batch:>4}: {:>6.1} µs CPU/capture, {:>6.1} µs wall/capture, {:>6} database bytes/capture",
            cpu / total as f64,
            wall * 1e6 / total as f64,
            bytes / total
        );
    }
}
