//! Rows gathered for the live list between two sends to the open pages.
//!
//! Under load the listener reports thousands of captures a second; building every row's JSON
//! for the pages would cost the delivery path itself. The batch keeps one entry per capture in
//! arrival order (a pending row completed before it was sent is sent once, complete), and a
//! send takes only the newest rows a page can show; the page reloads its list for the rest.

use crate::capture::CaptureStore;
use crate::events::AgentEvent;
use crate::model::Capture;
use shared::EventId;
use std::collections::{HashMap, HashSet};

/// Captures sent as pending, remembered to complete their row when the outcome comes.
const PENDING_LIMIT: usize = 4096;

/// The rows waiting for the next send, and what earlier sends left open.
#[derive(Default)]
pub(super) struct RowBatch {
    /// Rows to send, oldest first, one per capture.
    rows: Vec<Capture>,
    /// Position of each capture in `rows`.
    index: HashMap<EventId, usize>,
    /// Captures taken by a send while pending, by id: their outcome completes them.
    pending: HashMap<EventId, Capture>,
    /// Captures the last send took complete: the outcome the recorder reports right after
    /// storing a complete capture needs no second row.
    taken_complete: HashSet<EventId>,
}

/// What one send takes from the batch.
pub(super) struct Taken {
    /// The newest rows, oldest first.
    pub rows: Vec<Capture>,
    /// Rows left out because the send was full: the pages must reload to see them.
    pub skipped: usize,
}

impl RowBatch {
    /// Whether a send would have anything to say.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Forgets everything (nobody is watching).
    pub fn clear(&mut self) {
        self.rows.clear();
        self.index.clear();
        self.pending.clear();
        self.taken_complete.clear();
    }

    /// Takes a listener event into the batch. An outcome for a capture the batch never saw
    /// (the page opened after it was captured) is completed from `store`.
    pub fn note(&mut self, ev: &AgentEvent, store: &CaptureStore) {
        match ev {
            AgentEvent::Captured(c) => self.upsert((**c).clone()),
            AgentEvent::Delivered {
                id,
                delivered_at_ms,
                answered_at_ms,
                outcome,
            } => {
                let complete = |c: &mut Capture| {
                    c.complete(*delivered_at_ms, *answered_at_ms, outcome.clone())
                };
                if let Some(&i) = self.index.get(id) {
                    complete(&mut self.rows[i]);
                    self.pending.remove(id);
                    return;
                }
                if self.taken_complete.contains(id) {
                    return;
                }
                let known = self
                    .pending
                    .remove(id)
                    .or_else(|| store.get(*id).ok().flatten());
                if let Some(mut c) = known {
                    complete(&mut c);
                    self.upsert(c);
                }
            }
            _ => {}
        }
    }

    fn upsert(&mut self, c: Capture) {
        match self.index.get(&c.id) {
            Some(&i) => self.rows[i] = c,
            None => {
                self.index.insert(c.id, self.rows.len());
                self.rows.push(c);
            }
        }
    }

    /// Takes at most `limit` of the newest rows for a send; the batch is empty afterwards.
    pub fn take(&mut self, limit: usize) -> Taken {
        let all = std::mem::take(&mut self.rows);
        self.index.clear();
        self.taken_complete.clear();
        let skipped = all.len().saturating_sub(limit);
        let mut rows = Vec::with_capacity(all.len() - skipped);
        // Rows left out are remembered as well: completing them must not read the store.
        for (i, c) in all.into_iter().enumerate() {
            let sent = i >= skipped;
            if c.is_pending() {
                if self.pending.len() >= PENDING_LIMIT {
                    self.pending.clear();
                }
                if sent {
                    self.pending.insert(c.id, c.clone());
                    rows.push(c);
                } else {
                    self.pending.insert(c.id, c);
                }
            } else {
                self.taken_complete.insert(c.id);
                if sent {
                    rows.push(c);
                }
            }
        }
        Taken { rows, skipped }
    }
}
