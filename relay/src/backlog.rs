//! How many events a source holds that no agent has acknowledged yet, for the
//! `--max-queued-events` limit, without asking the store on every webhook.
//!
//! The count is `head - max(acked, oldest - 1)`. The oldest retained sequence and the furthest
//! acknowledgement only rise (retention prunes from the front, cursors only advance), so values
//! read a moment ago give an upper bound on the backlog: far below the limit that settles it.
//! On a shared store both are database queries, and a webhook that waited on them would hold
//! the relay's thread for a round trip each. They are read again when the bound reaches the
//! limit, and at least every [`REFRESH`] so a stale bound never decides for long.

use crate::store::{Store, StoreResult};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest a source's figures are used without reading them again.
const REFRESH: Duration = Duration::from_secs(1);

/// The last figures read per source.
#[derive(Default)]
pub struct Backlog {
    read: Mutex<HashMap<String, Floors>>,
}

/// What the store said, and when.
#[derive(Clone, Copy)]
struct Floors {
    oldest: u64,
    acked: u64,
    at: Instant,
}

impl Floors {
    fn queued(&self, head: u64) -> u64 {
        head.saturating_sub(self.acked.max(self.oldest.saturating_sub(1)))
    }
}

impl Backlog {
    /// Events of `source` not yet acknowledged by any agent: exact when near `max`, an upper
    /// bound below it.
    pub fn queued(&self, store: &dyn Store, source: &str, max: u64) -> StoreResult<u64> {
        let head = *store.watch_head(source)?.borrow();
        let known = self.lock().get(source).copied();
        if let Some(floors) = known.filter(|f| f.at.elapsed() < REFRESH) {
            if floors.queued(head) < max {
                return Ok(0);
            }
        }
        let oldest = store.oldest_seq(source)?;
        // Everything retained fits under the limit: no need to know who acknowledged what.
        let acked = if (head + 1).saturating_sub(oldest) < max {
            known.map_or(0, |f| f.acked)
        } else {
            store.max_cursor(source)?.unwrap_or(0)
        };
        let floors = Floors {
            oldest,
            acked,
            at: Instant::now(),
        };
        self.lock().insert(source.to_string(), floors);
        Ok(floors.queued(head))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Floors>> {
        // Single inserts and reads: the map is whole even after a panic elsewhere.
        self.read.lock().unwrap_or_else(|p| p.into_inner())
    }
}
