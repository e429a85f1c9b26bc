//! Event ids already delivered, so an event the relay resends (after a reconnect or a restart)
//! is acknowledged without being delivered twice.

use crate::capture::CaptureStore;
use shared::EventId;
use std::collections::{HashSet, VecDeque};

/// Event ids remembered in memory to drop resent events without a store lookup.
const SEEN_CAPACITY: usize = 100_000;

/// Delivered (or queued for delivery) event ids, bounded, oldest forgotten first.
pub(crate) struct Seen {
    ids: HashSet<EventId>,
    order: VecDeque<EventId>,
}

impl Seen {
    /// Starts with what the store says was delivered past the saved cursor (events that
    /// finished out of order, or whose ack was lost, before a restart).
    pub(crate) fn load(store: &CaptureStore, cursor_key: &str, source: &str) -> Seen {
        let mut seen = Seen {
            ids: HashSet::new(),
            order: VecDeque::new(),
        };
        let cursor = store.cursor(cursor_key, source).ok().flatten().unwrap_or(0);
        match store.delivered_after(source, cursor, SEEN_CAPACITY) {
            Ok(ids) => ids.into_iter().rev().for_each(|id| seen.insert(id)),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "reading delivered events failed"),
        }
        seen
    }

    pub(crate) fn contains(&self, id: &EventId) -> bool {
        self.ids.contains(id)
    }

    pub(crate) fn insert(&mut self, id: EventId) {
        if !self.ids.insert(id) {
            return;
        }
        if self.order.len() >= SEEN_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        self.order.push_back(id);
    }
}
