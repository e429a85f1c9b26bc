//! The newest committed events of each source, kept in memory, so a session that keeps up
//! sends what was just committed without reading it back from SQLite.

use crate::store::StoredEvent;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Most events kept per source.
const MAX_EVENTS: usize = 4096;
/// Most bytes (bodies and header values) kept per source.
const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Events larger than this are never kept: a session reads them from the log.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Per-source tails. Each holds a contiguous run of sequences ending at the source's head.
#[derive(Default)]
pub(crate) struct Tails {
    map: Mutex<HashMap<String, Tail>>,
}

#[derive(Default)]
struct Tail {
    events: VecDeque<Arc<StoredEvent>>,
    bytes: usize,
}

fn size_of(ev: &StoredEvent) -> usize {
    let headers: usize = ev
        .request
        .headers
        .iter()
        .map(|h| h.0.len() + h.1.len())
        .sum();
    ev.request.body.len() + headers + 256
}

impl Tails {
    /// Appends freshly committed events of one source, in sequence order.
    pub(crate) fn push(&self, source: &str, committed: &[Arc<StoredEvent>]) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let tail = match map.get_mut(source) {
            Some(t) => t,
            None => map.entry(source.to_string()).or_default(),
        };
        for ev in committed {
            let size = size_of(ev);
            let contiguous = tail.events.back().is_none_or(|last| last.seq + 1 == ev.seq);
            if size > MAX_EVENT_BYTES || !contiguous {
                // A gap would make the tail lie about what follows; start over after it.
                tail.events.clear();
                tail.bytes = 0;
                if size > MAX_EVENT_BYTES {
                    continue;
                }
            }
            tail.events.push_back(ev.clone());
            tail.bytes += size;
            while tail.events.len() > MAX_EVENTS || tail.bytes > MAX_BYTES {
                match tail.events.pop_front() {
                    Some(old) => tail.bytes -= size_of(&old),
                    None => break,
                }
            }
        }
    }

    /// Up to `limit` events with sequence > `after`, or `None` when the tail does not reach
    /// back that far (the caller reads the log instead).
    pub(crate) fn read_after(
        &self,
        source: &str,
        after: u64,
        limit: usize,
    ) -> Option<Vec<Arc<StoredEvent>>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let tail = map.get(source)?;
        let first = tail.events.front()?.seq;
        let last = tail.events.back()?.seq;
        if after + 1 < first {
            return None;
        }
        if after >= last {
            return Some(Vec::new());
        }
        let skip = (after + 1 - first) as usize;
        Some(tail.events.iter().skip(skip).take(limit).cloned().collect())
    }

    /// Forgets a source's tail (its log changed under it, e.g. retention removed events).
    pub(crate) fn forget(&self, source: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{Blob, Event, EventId, HttpRequest};

    fn ev(seq: u64, body_len: usize) -> Arc<StoredEvent> {
        Arc::new(StoredEvent::new(Event {
            seq,
            proxied: false,
            id: EventId::new(),
            received_at_ms: 0,
            duplicate: false,
            request: HttpRequest {
                method: "POST".into(),
                path: String::new(),
                query: None,
                headers: Vec::new(),
                body: Blob::from(vec![b'x'; body_len]),
            },
        }))
    }

    fn seqs(v: Option<Vec<Arc<StoredEvent>>>) -> Option<Vec<u64>> {
        v.map(|v| v.iter().map(|e| e.seq).collect())
    }

    #[test]
    fn serves_what_it_holds_and_declines_what_it_does_not() {
        let t = Tails::default();
        assert_eq!(seqs(t.read_after("s", 0, 10)), None);
        t.push("s", &[ev(5, 1), ev(6, 1), ev(7, 1)]);
        assert_eq!(seqs(t.read_after("s", 4, 10)), Some(vec![5, 6, 7]));
        assert_eq!(seqs(t.read_after("s", 5, 1)), Some(vec![6]));
        assert_eq!(seqs(t.read_after("s", 7, 10)), Some(vec![]));
        assert_eq!(seqs(t.read_after("s", 3, 10)), None, "seq 4 is not held");
        assert_eq!(seqs(t.read_after("other", 0, 10)), None);
    }

    #[test]
    fn a_gap_or_a_huge_event_restarts_the_tail() {
        let t = Tails::default();
        t.push("s", &[ev(1, 1), ev(2, 1)]);
        t.push("s", &[ev(4, 1)]);
        assert_eq!(seqs(t.read_after("s", 0, 10)), None);
        assert_eq!(seqs(t.read_after("s", 3, 10)), Some(vec![4]));
        t.push("s", &[ev(5, MAX_EVENT_BYTES + 1)]);
        assert_eq!(
            seqs(t.read_after("s", 4, 10)),
            None,
            "5 must come from the log"
        );
        t.push("s", &[ev(6, 1)]);
        assert_eq!(seqs(t.read_after("s", 5, 10)), Some(vec![6]));
    }

    #[test]
    fn stays_within_its_bounds() {
        let t = Tails::default();
        let batch: Vec<_> = (1..=(MAX_EVENTS as u64 + 10)).map(|s| ev(s, 1)).collect();
        t.push("s", &batch);
        assert_eq!(seqs(t.read_after("s", 10, 1)), Some(vec![11]));
        assert_eq!(seqs(t.read_after("s", 9, 1)), None);
        let big: Vec<_> = (1..=20).map(|s| ev(s, MAX_EVENT_BYTES - 512)).collect();
        let t = Tails::default();
        t.push("s", &big);
        let held = seqs(t.read_after("s", 20 - 8, 100)).expect("the newest are held");
        assert_eq!(held.last(), Some(&20));
        assert!(seqs(t.read_after("s", 0, 100)).is_none());
    }
}
