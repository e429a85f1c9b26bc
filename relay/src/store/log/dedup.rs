//! Okta redelivery detection: the dedup keys of each source's recent events, in memory. Okta
//! retries once within seconds and may re-batch an event minutes later, so a window of the
//! newest keys is enough; it is rebuilt from the log's `okta_keys` column on start. Kept out of
//! SQLite because the keys are random: an index of them costs a page write per event.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;

/// Keys remembered per source (an `eventId` and each event `uuid` are one key each).
pub(crate) const WINDOW: usize = 50_000;

/// Recent keys of every source, each remembered as a 64-bit keyed hash rather than its text:
/// a full window is then ~1 MB instead of ~9 MB of strings (twice: set and order). Two keys
/// share a hash with odds of about 50,000 / 2^64 per event, and the hash key is random per
/// process, so a sender cannot aim for a collision; a collision would only flag an event as
/// a redelivery (it is logged and delivered all the same).
#[derive(Default)]
pub(crate) struct Dedup {
    sources: HashMap<String, Window>,
    hasher: RandomState,
}

#[derive(Default)]
struct Window {
    keys: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Window {
    /// Remembers the key hashed to `key`; true when it was already known.
    fn seen(&mut self, key: u64) -> bool {
        if self.keys.contains(&key) {
            return true;
        }
        if self.order.len() >= WINDOW {
            if let Some(old) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
        self.keys.insert(key);
        self.order.push_back(key);
        false
    }
}

/// The keys of one event as stored in the log: `eid:<eventId>` and `uuid:<uuid>` lines.
pub(crate) fn keys_of(event_id: Option<&str>, uuids: &[String]) -> Option<String> {
    if event_id.is_none() && uuids.is_empty() {
        return None;
    }
    let mut out = String::new();
    if let Some(eid) = event_id {
        out.push_str("eid:");
        out.push_str(eid);
    }
    for u in uuids {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("uuid:");
        out.push_str(u);
    }
    Some(out)
}

impl Dedup {
    /// Records an event's stored keys (see [`keys_of`]); true when Okta redelivered it: the
    /// same `eventId`, or every `uuid` of a batch seen before. Keys it had not seen are added
    /// to `added`, so a failed commit can [`undo`](Self::undo) them.
    pub(crate) fn check(
        &mut self,
        source: &str,
        keys: &str,
        added: &mut Vec<(String, u64)>,
    ) -> bool {
        let window = match self.sources.get_mut(source) {
            Some(w) => w,
            None => self.sources.entry(source.to_string()).or_default(),
        };
        let (mut eid_seen, mut uuids, mut uuids_seen) = (false, 0, 0);
        for key in keys.lines() {
            let hash = self.hasher.hash_one(key);
            let seen = window.seen(hash);
            if !seen {
                added.push((source.to_string(), hash));
            }
            if key.starts_with("eid:") {
                eid_seen |= seen;
            } else {
                uuids += 1;
                uuids_seen += usize::from(seen);
            }
        }
        eid_seen || (uuids > 0 && uuids_seen == uuids)
    }

    /// Forgets keys added by events whose commit failed: they were never stored.
    pub(crate) fn undo(&mut self, added: &[(String, u64)]) {
        for (source, key) in added {
            if let Some(w) = self.sources.get_mut(source) {
                w.keys.remove(key);
            }
        }
    }

    /// Seeds a source with keys of older events, oldest first (no verdicts).
    pub(crate) fn remember(&mut self, source: &str, keys: &str) {
        let window = self.sources.entry(source.to_string()).or_default();
        for key in keys.lines() {
            window.seen(self.hasher.hash_one(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(eid: Option<&str>, uuids: &[&str]) -> String {
        let uuids: Vec<String> = uuids.iter().map(|u| u.to_string()).collect();
        keys_of(eid, &uuids).expect("some keys")
    }

    #[test]
    fn the_same_event_id_or_all_uuids_again_is_a_redelivery() {
        let mut d = Dedup::default();
        let mut added = Vec::new();
        assert!(!d.check("s", &keys(Some("e1"), &["u1", "u2"]), &mut added));
        assert!(
            d.check("s", &keys(Some("e1"), &["u9"]), &mut added),
            "same eventId"
        );
        assert!(
            d.check("s", &keys(Some("e2"), &["u1", "u2"]), &mut added),
            "re-batched"
        );
        assert!(
            !d.check("s", &keys(Some("e3"), &["u1", "u3"]), &mut added),
            "u3 is new"
        );
        assert!(
            !d.check("other", &keys(Some("e1"), &[]), &mut added),
            "per source"
        );
        assert_eq!(keys_of(None, &[]), None);
    }

    #[test]
    fn keys_of_a_failed_commit_are_forgotten() {
        let mut d = Dedup::default();
        let mut added = Vec::new();
        assert!(!d.check("s", &keys(Some("e1"), &["u1"]), &mut added));
        assert_eq!(added.len(), 2);
        d.undo(&added);
        assert!(!d.check("s", &keys(Some("e1"), &["u1"]), &mut Vec::new()));
    }

    #[test]
    fn the_window_forgets_the_oldest_keys() {
        let mut d = Dedup::default();
        d.remember("s", &keys(Some("old"), &[]));
        for i in 0..WINDOW {
            d.remember("s", &keys(Some(&i.to_string()), &[]));
        }
        assert!(!d.check("s", &keys(Some("old"), &[]), &mut Vec::new()));
        let newest = keys(Some(&(WINDOW - 1).to_string()), &[]);
        assert!(d.check("s", &newest, &mut Vec::new()));
    }
}
