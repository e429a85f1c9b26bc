//! The event log on its own: append and read back, recovery after a torn write, damage,
//! retention and segment files.

use super::*;
use shared::{Blob, Event, EventId, Header, HttpRequest};

fn event(seq: u64, body: Vec<u8>) -> StoredEvent {
    StoredEvent::new(Event {
        seq,
        proxied: false,
        id: EventId::new(),
        received_at_ms: 1_000 + seq,
        duplicate: false,
        request: HttpRequest {
            method: "POST".into(),
            path: "/p".into(),
            query: None,
            headers: vec![Header::new("content-type", "application/json")],
            body: Blob::from(body),
        },
    })
}

fn append(log: &EventLog, id: i64, events: &[StoredEvent]) {
    let refs: Vec<_> = events.iter().map(|e| (e, Some("eid:k"))).collect();
    let parts = log.append(id, &refs, false).expect("append");
    for ((frame, body), ev) in parts.iter().zip(events) {
        assert_eq!(body.as_ref(), ev.request.body.as_bytes());
        assert_eq!(frame, &ev.frame(), "the logged frame is the wire frame");
    }
}

fn seqs(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

fn open(dir: &Path) -> (EventLog, HashMap<i64, Recovered>) {
    EventLog::open(dir, &HashMap::new(), 10).expect("open")
}

#[test]
fn events_read_back_exactly_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written: Vec<StoredEvent> = (1..=5).map(|s| event(s, vec![s as u8; 100])).collect();
    {
        let (log, _) = open(dir.path());
        append(&log, 7, &written[..2]);
        append(&log, 7, &written[2..]);
        assert_eq!(log.read_after(7, 0, 100).expect("read"), written);
        assert_eq!(seqs(&log.read_after(7, 3, 1).expect("read")), vec![4]);
        assert_eq!(log.stats(7), (5, 500));
    }
    let (log, recovered) = open(dir.path());
    assert_eq!(recovered[&7].head, 5);
    assert_eq!(recovered[&7].keys.len(), 5);
    assert_eq!(log.read_after(7, 0, 100).expect("read"), written);
    append(&log, 7, &[event(6, b"more".to_vec())]);
    assert_eq!(seqs(&log.read_after(7, 4, 100).expect("read")), vec![5, 6]);
    assert_eq!(log.first_at_or_after(7, 1_003), Some(3));
    assert_eq!(log.oldest(7), Some(1));
    assert!(log.read_after(8, 0, 10).expect("other").is_empty());
}

#[test]
fn a_torn_last_record_is_cut_off_and_appends_continue() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (log, _) = open(dir.path());
        append(
            &log,
            1,
            &[event(1, b"one".to_vec()), event(2, b"two".to_vec())],
        );
    }
    let seg = dir.path().join("1").join(segments::segment_name(1));
    let full = std::fs::metadata(&seg).expect("segment").len();
    // A crash in the middle of writing record 2, and zeros a power loss may leave.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .expect("open");
    f.set_len(full - 3).expect("cut");
    f.set_len(full + 64).expect("zeros");
    drop(f);
    let (log, recovered) = open(dir.path());
    assert_eq!(recovered[&1].head, 1);
    assert_eq!(seqs(&log.read_after(1, 0, 10).expect("read")), vec![1]);
    append(&log, 1, &[event(2, b"again".to_vec())]);
    drop(log);
    let (log, _) = open(dir.path());
    let back = log.read_after(1, 0, 10).expect("read");
    assert_eq!(seqs(&back), vec![1, 2]);
    assert_eq!(back[1].request.body.as_bytes(), b"again");
}

#[test]
fn damage_before_the_newest_segment_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (log, _) = open(dir.path());
        // Two segments: the first grows past its size limit.
        let big = vec![b'x'; (segments::SEGMENT_BYTES / 2 + 1) as usize];
        append(&log, 1, &[event(1, big.clone()), event(2, big)]);
        append(&log, 1, &[event(3, b"next".to_vec())]);
    }
    let first = dir.path().join("1").join(segments::segment_name(1));
    assert!(dir
        .path()
        .join("1")
        .join(segments::segment_name(3))
        .exists());
    let mut bytes = std::fs::read(&first).expect("read");
    bytes[40] ^= 0xff;
    std::fs::write(&first, bytes).expect("damage");
    let err = EventLog::open(dir.path(), &HashMap::new(), 0)
        .err()
        .expect("damage is an error");
    assert!(
        format!("{err:#}").contains(&first.display().to_string()),
        "{err:#}"
    );
}

#[test]
fn retention_drops_events_and_whole_segments_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = open(dir.path());
    let big = vec![b'x'; (segments::SEGMENT_BYTES / 2 + 1) as usize];
    append(&log, 1, &[event(1, big.clone()), event(2, big)]);
    append(&log, 1, &[event(3, b"a".to_vec()), event(4, b"b".to_vec())]);
    let segment = |s| dir.path().join("1").join(segments::segment_name(s));
    assert!(segment(1).exists() && segment(3).exists());
    assert_eq!(log.floor_for_bytes(1, 10), Some(3));
    assert_eq!(log.drop_below(1, 2).expect("drop"), 1);
    assert!(
        segment(1).exists(),
        "seq 2 still lives in the first segment"
    );
    assert_eq!(log.drop_below(1, 4).expect("drop"), 2);
    assert!(!segment(1).exists());
    assert_eq!(seqs(&log.read_after(1, 0, 10).expect("read")), vec![4]);
    assert_eq!(log.stats(1), (1, 1));
    drop(log);
    // A restart with the floor recorded does not bring dropped events back.
    let floors = HashMap::from([(1, 4)]);
    let (log, recovered) = EventLog::open(dir.path(), &floors, 0).expect("open");
    assert_eq!(recovered[&1].head, 4);
    assert_eq!(seqs(&log.read_after(1, 0, 10).expect("read")), vec![4]);
}

#[test]
fn reads_span_segments_before_and_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = |s: u64| event(s, vec![s as u8; (segments::SEGMENT_BYTES / 2 + 1) as usize]);
    let written = vec![
        big(1),
        big(2),
        event(3, b"c".to_vec()),
        big(4),
        big(5),
        event(6, b"f".to_vec()),
    ];
    let segment = |s| dir.path().join("2").join(segments::segment_name(s));
    {
        let (log, _) = open(dir.path());
        for ev in &written {
            append(&log, 2, std::slice::from_ref(ev));
        }
        assert!(segment(1).exists() && segment(3).exists() && segment(6).exists());
        assert_eq!(log.read_after(2, 0, 10).expect("read"), written);
        assert_eq!(log.read_after(2, 2, 2).expect("read"), written[2..4]);
    }
    let (log, _) = open(dir.path());
    assert_eq!(log.read_after(2, 0, 10).expect("read"), written);
    assert_eq!(log.read_after(2, 5, 10).expect("read"), written[5..]);
    assert_eq!(log.drop_below(2, 4).expect("drop"), 3);
    assert!(!segment(1).exists() && segment(3).exists());
    assert_eq!(log.read_after(2, 0, 10).expect("read"), written[3..]);
    assert_eq!(log.first_at_or_after(2, 1_005), Some(5));
}
