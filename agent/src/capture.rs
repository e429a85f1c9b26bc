//! The agent's local SQLite store of captured exchanges: history, replay, export.
//! (API skeleton; the implementation lands with the capture-store work.)

use crate::model::Capture;
use shared::{DeliveryOutcome, EventId};
use std::path::{Path, PathBuf};

/// The capture store. Cheap to clone; safe to share between threads.
#[derive(Clone)]
pub struct CaptureStore {}

impl CaptureStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(_path: &Path) -> anyhow::Result<Self> {
        unimplemented!()
    }
    /// A store that lives only in memory.
    pub fn open_in_memory() -> anyhow::Result<Self> {
        unimplemented!()
    }
    /// `<platform data dir>/hookrelay/captures.sqlite3`.
    pub fn default_path() -> PathBuf {
        unimplemented!()
    }
    /// Inserts or replaces a capture by id.
    pub fn insert(&self, _c: &Capture) -> anyhow::Result<()> {
        unimplemented!()
    }
    /// Records the outcome of a capture's delivery.
    pub fn record_outcome(
        &self,
        _id: EventId,
        _delivered_at_ms: u64,
        _answered_at_ms: u64,
        _outcome: &DeliveryOutcome,
    ) -> anyhow::Result<()> {
        unimplemented!()
    }
    /// One capture.
    pub fn get(&self, _id: EventId) -> anyhow::Result<Option<Capture>> {
        unimplemented!()
    }
    /// A capture by full id or unique prefix.
    pub fn resolve(&self, _id_or_prefix: &str) -> anyhow::Result<Capture> {
        unimplemented!()
    }
    /// The newest `limit` captures, oldest first.
    pub fn recent(&self, _limit: usize) -> anyhow::Result<Vec<Capture>> {
        unimplemented!()
    }
    /// True when the capture exists and has an outcome.
    pub fn is_delivered(&self, _id: EventId) -> anyhow::Result<bool> {
        unimplemented!()
    }
    /// The last sequence acked to `relay` on `source`.
    pub fn cursor(&self, _relay: &str, _source: &str) -> anyhow::Result<Option<u64>> {
        unimplemented!()
    }
    /// Remembers the last sequence acked.
    pub fn set_cursor(&self, _relay: &str, _source: &str, _seq: u64) -> anyhow::Result<()> {
        unimplemented!()
    }
    /// This installation's stable agent id, created on first use.
    pub fn agent_id(&self) -> anyhow::Result<String> {
        unimplemented!()
    }
}
