//! The newest committed events of each source, kept in memory, so a session that keeps up
//! sends what was just committed without reading it back from SQLite.

use crate::store::StoredEvent;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Most events kept per source. A session that keeps up is at most its in-flight window
/// behind the head and reads the log for anything older, so a longer tail only holds memory
/// (measured: 4,096 Okta event hooks, ~13 MB capped at 8 MiB, were half the relay's heap).
const MAX_EVENTS: usize = 1024;
/// Most bytes (bodies and header values) kept per source.
const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Events larger than this are never kept: a session reads them from the log.
const MAX_EVENT_BYTES: usize = 1024 * 1024;
/// Most bytes kept by all sources' tails together: memory stays bounded whatever the number
/// of sources. Past it, other sources' tails are dropped whole (their sessions read the log,
/// as for any event the tail no longer holds) until a quarter of the budget is free again.
pub(crate) const MAX_TOTAL_BYTES: usize = 64 * 1024 * 1024;

/// Per-source tails. Each holds a contiguous run of sequences ending at the source's head.
#[derive(Default)]
pub(crate) struct Tails {
    map: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    tails: HashMap<String, Tail>,
    /// Sum of every tail's `bytes`.
    total: usize,
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
        let mut inner = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let Inner { tails: map, total } = &mut *inner;
        let tail = match map.get_mut(source) {
            Some(t) => t,
            None => map.entry(source.to_string()).or_default(),
        };
        let before = tail.bytes;
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
        *total = (*total + tail.bytes).saturating_sub(before);
        if *total > MAX_TOTAL_BYTES {
            let goal = MAX_TOTAL_BYTES / 4 * 3;
            let victims: Vec<String> = map.keys().filter(|k| *k != source).cloned().collect();
            for name in victims {
                if *total <= goal {
                    break;
                }
                if let Some(gone) = map.remove(&name) {
                    *total = total.saturating_sub(gone.bytes);
                }
            }
            if let Some(tail) = map.get_mut(source) {
                while *total > goal && tail.events.len() > 1 {
                    match tail.events.pop_front() {
                        Some(old) => {
                            let size = size_of(&old);
                            tail.bytes -= size;
                            *total = total.saturating_sub(size);
                        }
                        None => break,
                    }
                }
            }
        }
    }

    /// Bytes held by all tails together.
    #[cfg(test)]
    fn total(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).total
    }

    /// Up to `limit` events with sequence > `after`, or `None` when the tail does not reach
    /// back that far (the caller reads the log instead).
    pub(crate) fn read_after(
        &self,
        source: &str,
        after: u64,
        limit: usize,
    ) -> Option<Vec<Arc<StoredEvent>>> {
        let inner = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let tail = inner.tails.get(source)?;
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
        let mut inner = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(gone) = inner.tails.remove(source) {
            inner.total = inner.total.saturating_sub(gone.bytes);
        }
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

    #[test]
    fn all_sources_together_stay_within_the_global_bound() {
        let t = Tails::default();
        // Each source stays under its own bound; together they would hold far more.
        let per_source = MAX_BYTES / (MAX_EVENT_BYTES / 2) - 1;
        let sources = 2 * MAX_TOTAL_BYTES / MAX_BYTES;
        for s in 0..sources {
            let batch: Vec<_> = (1..=per_source as u64)
                .map(|q| ev(q, MAX_EVENT_BYTES / 2))
                .collect();
            t.push(&format!("s{s}"), &batch);
            assert!(
                t.total() <= MAX_TOTAL_BYTES,
                "{} after source {s}",
                t.total()
            );
        }
        // The newest source's tail is served; dropped ones fall back to the log.
        let newest = format!("s{}", sources - 1);
        assert_eq!(
            seqs(t.read_after(&newest, per_source as u64 - 1, 10)),
            Some(vec![per_source as u64])
        );
        let dropped = (0..sources - 1)
            .filter(|s| t.read_after(&format!("s{s}"), 0, 10).is_none())
            .count();
        assert!(dropped >= sources / 2, "only {dropped} tails dropped");
    }
}
