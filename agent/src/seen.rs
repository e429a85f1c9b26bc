//! Which relay events were delivered already, so an event the relay resends (after a
//! reconnect or a restart) is acknowledged without being delivered twice.
//!
//! The capture store is the record of what was delivered; this only keeps the store off the
//! path of new events. The relay sends a source's events in sequence order, so an event above
//! the highest sequence taken so far is new and needs no lookup. Only an event at or below it
//! (a resend) is looked up: first among the recent ids, which may not be stored yet, then in
//! the store. Memory stays the same however many events a session sees.

use crate::capture::CaptureStore;
use crate::recorder::UNSTORED_MAX;
use shared::EventId;
use std::collections::HashSet;

/// Ids per generation of recent ids. Two generations always hold at least the last
/// [`UNSTORED_MAX`] ids taken, which covers every delivered event the recorder has not
/// stored yet.
const GENERATION: usize = UNSTORED_MAX;

/// The delivery record of one source for one listener.
pub(crate) struct Seen {
    /// Highest sequence taken for delivery (or delivered before a restart).
    highest: u64,
    /// Ids taken most recently; `older` is the generation before.
    recent: HashSet<EventId>,
    older: HashSet<EventId>,
}

impl Seen {
    /// Starts above what the store says was delivered past the saved cursor (events that
    /// finished out of order, or whose ack was lost, before a restart); the relay resends
    /// nothing at or below the cursor.
    pub(crate) fn load(store: &CaptureStore, cursor_key: &str, source: &str) -> Seen {
        let cursor = store.cursor(cursor_key, source).ok().flatten().unwrap_or(0);
        let highest = store.highest_delivered(source, cursor).unwrap_or_else(|e| {
            tracing::warn!(error = %format!("{e:#}"), "reading delivered events failed");
            cursor
        });
        Seen {
            highest,
            recent: HashSet::new(),
            older: HashSet::new(),
        }
    }

    /// Whether event `id` with sequence `seq` was taken for delivery by this listener or
    /// delivered by an earlier one.
    pub(crate) fn delivered(&self, store: &CaptureStore, id: EventId, seq: u64) -> bool {
        if seq > self.highest {
            return false;
        }
        if self.recent.contains(&id) || self.older.contains(&id) {
            return true;
        }
        store.is_delivered(id).unwrap_or_else(|e| {
            // Unknown is treated as new: delivering twice is better than losing an event.
            tracing::warn!(error = %format!("{e:#}"), "looking up a resent event failed");
            false
        })
    }

    /// Notes an event taken for delivery.
    pub(crate) fn insert(&mut self, id: EventId, seq: u64) {
        self.highest = self.highest.max(seq);
        if self.recent.len() >= GENERATION {
            self.older = std::mem::take(&mut self.recent);
        }
        self.recent.insert(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Record;
    use crate::capture_builder::{answer, CaptureBuilder};
    use crate::model::Capture;

    fn delivered(seq: u64) -> Capture {
        CaptureBuilder::event(seq)
            .received_at(1)
            .delivered_at(2)
            .body("{}")
            .target("http://127.0.0.1:1/x")
            .outcome(answer(200, "ok", 1))
            .build()
    }

    fn cursor(seq: u64) -> Record {
        Record::Cursor {
            relay: "r".into(),
            source: "okta".into(),
            seq,
        }
    }

    #[test]
    fn events_taken_this_session_are_known_until_stored_and_after() {
        let store = CaptureStore::open_in_memory().expect("store");
        let mut seen = Seen::load(&store, "r", "okta");
        let ids: Vec<EventId> = (0..2 * GENERATION + 10).map(|_| EventId::new()).collect();
        let seq = |i: usize| i as u64 + 1;
        for (i, id) in ids.iter().enumerate() {
            assert!(!seen.delivered(&store, *id, seq(i)), "new event {i}");
            seen.insert(*id, seq(i));
        }
        // The last UNSTORED_MAX are known without the store.
        for (i, id) in ids.iter().enumerate().rev().take(UNSTORED_MAX) {
            assert!(seen.delivered(&store, *id, seq(i)), "recent event {i}");
        }
        // The first were forgotten in memory and are not in this store: delivered again.
        assert!(!seen.delivered(&store, ids[0], 1));
        // Once stored, the store answers.
        let first = CaptureBuilder::event(1)
            .id(ids[0])
            .body("{}")
            .outcome(answer(200, "ok", 1))
            .build();
        store
            .record_batch(&[Record::Capture(Box::new(first))])
            .expect("record");
        assert!(seen.delivered(&store, ids[0], 1));
    }

    #[test]
    fn a_restart_knows_what_was_delivered_past_the_cursor() {
        let store = CaptureStore::open_in_memory().expect("store");
        let (a, b, c) = (delivered(1), delivered(3), delivered(4));
        let mut pending = CaptureBuilder::event(5).received_at(1).body("{}").build();
        pending.outcome = None;
        store
            .record_batch(&[
                Record::Capture(Box::new(a.clone())),
                Record::Capture(Box::new(b.clone())),
                Record::Capture(Box::new(c.clone())),
                Record::Capture(Box::new(pending.clone())),
                cursor(1),
            ])
            .expect("record");
        let seen = Seen::load(&store, "r", "okta");
        assert!(seen.delivered(&store, b.id, 3));
        assert!(seen.delivered(&store, c.id, 4));
        // Seq 2 never finished and 5 was pending when the listener stopped: both are new.
        assert!(!seen.delivered(&store, EventId::new(), 2));
        assert!(!seen.delivered(&store, pending.id, 5));
        assert!(!seen.delivered(&store, EventId::new(), 6));
    }
}
