//! The state the PostgreSQL store's tasks share: its connections (reading, listening), the
//! heads sessions watch, cursors waiting for the next commit, and what other instances said.

use super::target::Target;
use crate::store::{StoreError, StoreResult};
use shared::DeliveryOutcome;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, watch};
use tokio_postgres::Client;

pub(super) type Cursors = HashMap<(String, String), u64>;

/// What the store's tasks share.
pub(crate) struct Shared {
    pub(super) target: Target,
    /// This instance's id in `presence`.
    pub(super) instance: String,
    /// Reads and metadata writes (pipelined: one connection serves every caller).
    pub(super) reader: Mutex<Option<Arc<Client>>>,
    /// The listening connection, which also carries answers and presence.
    pub(super) bus: Mutex<Option<Arc<Client>>>,
    pub(super) heads: Mutex<HashMap<String, watch::Sender<u64>>>,
    /// The newest events this instance committed, per source (globally capped): sessions
    /// that keep up send them without reading them back.
    pub(super) tails: crate::store::log::Tails,
    /// Acknowledgements not committed yet (they ride with the next group commit).
    pub(super) cursors: Mutex<Cursors>,
    /// Proxied senders of this instance waiting for an answer from another, by event id.
    pub(super) waiting: Mutex<HashMap<String, oneshot::Sender<DeliveryOutcome>>>,
    /// Agents per source on other live instances.
    pub(super) elsewhere: Mutex<HashMap<String, usize>>,
    /// Agents per source on this instance, as last published.
    pub(super) local_agents: Mutex<Vec<(String, usize)>>,
    pub(super) presence_changed: tokio::sync::Notify,
    /// Some instance revoked a token: sessions are checked now, not at the next poll.
    pub(super) revoked: Arc<tokio::sync::Notify>,
    pub(super) listening: AtomicBool,
    /// When a query last tried to reopen the reading connection.
    pub(super) last_attempt: Mutex<Option<std::time::Instant>>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section leaves the data whole (single inserts and removes).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(super) fn unreachable(&self) -> StoreError {
        StoreError::Backend(format!("{} is unreachable", self.target.describe()))
    }

    pub(super) fn reader(&self) -> StoreResult<Arc<Client>> {
        lock(&self.reader)
            .as_ref()
            .filter(|c| !c.is_closed())
            .cloned()
            .ok_or_else(|| self.unreachable())
    }

    pub(super) fn bus(&self) -> StoreResult<Arc<Client>> {
        lock(&self.bus)
            .as_ref()
            .filter(|c| !c.is_closed())
            .cloned()
            .ok_or_else(|| self.unreachable())
    }

    pub(super) fn lock_bus(&self) -> std::sync::MutexGuard<'_, Option<Arc<Client>>> {
        lock(&self.bus)
    }

    pub(super) fn lock_waiting(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<DeliveryOutcome>>> {
        lock(&self.waiting)
    }

    pub(super) fn lock_elsewhere(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        lock(&self.elsewhere)
    }

    pub(super) fn lock_local_agents(&self) -> std::sync::MutexGuard<'_, Vec<(String, usize)>> {
        lock(&self.local_agents)
    }

    /// Moves a source's head forward (never back: notifications may arrive out of order).
    pub(super) fn raise_head(&self, source: &str, seq: u64) {
        let mut map = lock(&self.heads);
        let tx = match map.get(source) {
            Some(tx) => tx,
            None => map
                .entry(source.to_string())
                .or_insert_with(|| watch::channel(0).0),
        };
        tx.send_if_modified(|cur| {
            let moved = seq > *cur;
            *cur = (*cur).max(seq);
            moved
        });
    }

    /// The highest head heard of for `source` (0 when none yet).
    pub(super) fn known_head(&self, source: &str) -> u64 {
        lock(&self.heads).get(source).map_or(0, |tx| *tx.borrow())
    }

    pub(super) fn watched_sources(&self) -> Vec<String> {
        lock(&self.heads).keys().cloned().collect()
    }

    pub(super) fn pending_cursors_empty(&self) -> bool {
        lock(&self.cursors).is_empty()
    }

    /// The cursors to commit. They stay pending (visible to `cursor`) until
    /// [`Shared::committed_cursors`] removes them.
    pub(super) fn pending_cursors(&self) -> Cursors {
        lock(&self.cursors).clone()
    }

    /// Forgets cursors now committed (unless newer ones came meanwhile).
    pub(super) fn committed_cursors(&self, cursors: &Cursors) {
        let mut pending = lock(&self.cursors);
        for (key, seq) in cursors {
            if pending.get(key) == Some(seq) {
                pending.remove(key);
            }
        }
    }

    pub(super) fn pending_cursor(&self, agent_id: &str, source: &str) -> Option<u64> {
        lock(&self.cursors)
            .get(&(agent_id.to_string(), source.to_string()))
            .copied()
    }

    pub(super) fn pending_max_cursor(&self, source: &str) -> Option<u64> {
        lock(&self.cursors)
            .iter()
            .filter(|((_, s), _)| s == source)
            .map(|(_, seq)| *seq)
            .max()
    }
}
