//! `RowRing`: the bounded history of rows, with an id index and the `/` filter's matches.
//!
//! Rows carry no bodies. A row matches the filter when its own fields do ([`Row::matches`]) or
//! when its id is among the body matches the capture store found for the same filter
//! ([`RowRing::set_body_matches`]).

use super::row::Row;
use shared::EventId;
use std::collections::{HashMap, HashSet, VecDeque};

/// Rows in arrival order, at most `capacity`; the oldest is dropped first.
///
/// Every row gets an ordinal (`ord`) that grows forever, so the filter's match list and the id
/// index stay valid when old rows are dropped from the front.
#[derive(Clone, Debug)]
pub struct RowRing {
    capacity: usize,
    rows: VecDeque<Row>,
    first_ord: u64,
    index: HashMap<EventId, u64>,
    needle: String,
    matches: Option<VecDeque<u64>>,
    /// Ids whose request or response body contains `needle`, once the store has answered for it.
    body_hits: Option<HashSet<EventId>>,
}

/// What [`RowRing::upsert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upsert {
    /// A new row was appended; `evicted_visible` says whether a visible row was dropped for it.
    Added {
        /// A row that the list showed was dropped from the front.
        evicted_visible: bool,
    },
    /// A row with the same id was replaced in place.
    Replaced,
}

impl RowRing {
    /// An empty ring holding at most `capacity` rows (at least 1).
    pub fn new(capacity: usize) -> Self {
        RowRing {
            capacity: capacity.max(1),
            rows: VecDeque::new(),
            first_ord: 0,
            index: HashMap::new(),
            needle: String::new(),
            matches: None,
            body_hits: None,
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The active filter (lower-case), empty when none.
    pub fn filter(&self) -> &str {
        &self.needle
    }

    /// A row by id.
    pub fn get(&self, id: EventId) -> Option<&Row> {
        let ord = *self.index.get(&id)?;
        self.rows.get((ord - self.first_ord) as usize)
    }

    /// Adds a row, or replaces the row with the same id.
    pub fn upsert(&mut self, row: Row) -> Upsert {
        if let Some(&ord) = self.index.get(&row.id) {
            self.replace(ord, row);
            return Upsert::Replaced;
        }
        let mut evicted_visible = false;
        if self.rows.len() >= self.capacity {
            if let Some(old) = self.rows.pop_front() {
                self.index.remove(&old.id);
                if let Some(hits) = &mut self.body_hits {
                    hits.remove(&old.id);
                }
                evicted_visible = match &mut self.matches {
                    Some(m) if m.front() == Some(&self.first_ord) => m.pop_front().is_some(),
                    Some(_) => false,
                    None => true,
                };
                self.first_ord += 1;
            }
        }
        let ord = self.first_ord + self.rows.len() as u64;
        if self.matches.is_some() && self.is_match(&row) {
            if let Some(m) = &mut self.matches {
                m.push_back(ord);
            }
        }
        self.index.insert(row.id, ord);
        self.rows.push_back(row);
        Upsert::Added { evicted_visible }
    }

    /// Changes the row with `id`; false when it is not held.
    pub fn update(&mut self, id: EventId, f: impl FnOnce(&mut Row)) -> bool {
        let Some(&ord) = self.index.get(&id) else {
            return false;
        };
        let Some(mut row) = self.rows.get((ord - self.first_ord) as usize).cloned() else {
            return false;
        };
        f(&mut row);
        self.replace(ord, row);
        true
    }

    fn replace(&mut self, ord: u64, row: Row) {
        let pos = (ord - self.first_ord) as usize;
        let is_match = self.matches.is_some() && self.is_match(&row);
        if let Some(m) = &mut self.matches {
            match (m.binary_search(&ord), is_match) {
                (Err(at), true) => m.insert(at, ord),
                (Ok(at), false) => {
                    m.remove(at);
                }
                _ => {}
            }
        }
        if let Some(slot) = self.rows.get_mut(pos) {
            *slot = row;
        }
    }

    fn is_match(&self, row: &Row) -> bool {
        row.matches(&self.needle) || self.body_hits.as_ref().is_some_and(|h| h.contains(&row.id))
    }

    /// Sets the filter (matched case-insensitively); empty shows every row. Typing one more
    /// character only re-checks the rows that matched before. A changed filter forgets the body
    /// matches found for the old one.
    pub fn set_filter(&mut self, needle: &str) {
        let needle = needle.to_lowercase();
        if needle == self.needle {
            return;
        }
        let refine = !self.needle.is_empty() && needle.starts_with(&self.needle);
        self.needle = needle;
        self.body_hits = None;
        if self.needle.is_empty() {
            self.matches = None;
            return;
        }
        self.rematch(refine);
    }

    /// Takes the ids whose body contains `needle`, as found by the capture store, and shows
    /// their rows too. Ignored (false) when `needle` is not the active filter any more.
    pub fn set_body_matches(
        &mut self,
        needle: &str,
        ids: impl IntoIterator<Item = EventId>,
    ) -> bool {
        if needle.is_empty() || needle.to_lowercase() != self.needle {
            return false;
        }
        self.body_hits = Some(ids.into_iter().collect());
        self.rematch(false);
        true
    }

    /// True when the body matches for the active filter have arrived.
    pub fn has_body_matches(&self) -> bool {
        self.body_hits.is_some()
    }

    /// Records that the body of `id` (a row about to be added or updated) contains the active
    /// filter, so that rows arriving after the store search match by body too. Only once the
    /// store has answered for this filter; before that the search will find it.
    pub fn note_body_match(&mut self, id: EventId) {
        if let Some(hits) = &mut self.body_hits {
            hits.insert(id);
        }
    }

    /// Recomputes the match list: only among the current matches when `refine`, else all rows.
    fn rematch(&mut self, refine: bool) {
        let first = self.first_ord;
        let this = &*self;
        let is_match = |ord: &u64| {
            this.rows
                .get((ord - first) as usize)
                .is_some_and(|r| this.is_match(r))
        };
        let matches = match &self.matches {
            Some(m) if refine => m.iter().copied().filter(is_match).collect(),
            _ => (first..first + self.rows.len() as u64)
                .filter(is_match)
                .collect(),
        };
        self.matches = Some(matches);
    }

    /// Rows the list shows (all, or those matching the filter).
    pub fn visible_len(&self) -> usize {
        match &self.matches {
            Some(m) => m.len(),
            None => self.rows.len(),
        }
    }

    /// The `i`-th row the list shows.
    pub fn visible(&self, i: usize) -> Option<&Row> {
        let pos = match &self.matches {
            Some(m) => (*m.get(i)? - self.first_ord) as usize,
            None => i,
        };
        self.rows.get(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CaptureKind;

    fn row(n: u8, path: &str) -> Row {
        Row {
            id: EventId(uuid::Uuid::from_bytes([n; 16])),
            kind: CaptureKind::Event,
            source: "okta".into(),
            received_at_ms: n as u64,
            method: "POST".into(),
            path: path.into(),
            summary: None,
            inline: false,
            status: None,
            duration_us: None,
            error: None,
            duplicate: false,
            replay_of: None,
            pending: true,
        }
    }

    #[test]
    fn drops_oldest_and_keeps_index_and_filter_consistent() {
        let mut ring = RowRing::new(3);
        ring.set_filter("KEEP");
        for (n, p) in [(1, "/keep"), (2, "/x"), (3, "/keep2"), (4, "/keep3")] {
            ring.upsert(row(n, p));
        }
        assert_eq!(ring.len(), 3);
        assert!(ring.get(row(1, "").id).is_none());
        assert_eq!(ring.visible_len(), 2);
        assert_eq!(ring.visible(0).map(|r| r.path.as_str()), Some("/keep2"));
        assert!(ring.update(row(2, "").id, |r| r.path = "/keep-now".into()));
        assert_eq!(ring.visible(0).map(|r| r.path.as_str()), Some("/keep-now"));
        assert_eq!(ring.visible_len(), 3);
        ring.set_filter("");
        assert_eq!(ring.visible_len(), 3);
        assert_eq!(ring.upsert(row(3, "/again")), Upsert::Replaced);
        assert_eq!(ring.len(), 3);
    }

    #[test]
    fn body_matches_apply_to_their_filter_only_and_follow_new_rows() {
        let mut ring = RowRing::new(3);
        for n in 1..=3 {
            ring.upsert(row(n, "/x"));
        }
        ring.set_filter("Secret");
        assert_eq!(ring.visible_len(), 0);
        assert!(!ring.set_body_matches("other", [row(1, "").id]));
        ring.note_body_match(row(2, "").id);
        assert_eq!(
            ring.visible_len(),
            0,
            "no hits are noted before the store answered"
        );
        assert!(ring.set_body_matches("SECRET", [row(1, "").id, row(3, "").id]));
        assert!(ring.has_body_matches());
        let shown: Vec<_> = (0..ring.visible_len())
            .filter_map(|i| ring.visible(i).map(|r| r.received_at_ms))
            .collect();
        assert_eq!(shown, [1, 3]);
        ring.note_body_match(row(4, "").id);
        ring.upsert(row(4, "/y"));
        assert_eq!(ring.visible_len(), 2, "row 1 dropped, row 4 added");
        assert_eq!(ring.visible(1).map(|r| r.received_at_ms), Some(4));
        ring.set_filter("secrets");
        assert!(!ring.has_body_matches());
        assert_eq!(ring.visible_len(), 0);
    }
}
