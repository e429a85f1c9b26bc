//! `RowRing`: the bounded history of rows, with an id index and the `/` filter's matches.

use super::row::Row;
use shared::EventId;
use std::collections::{HashMap, VecDeque};

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
                evicted_visible = match &mut self.matches {
                    Some(m) if m.front() == Some(&self.first_ord) => m.pop_front().is_some(),
                    Some(_) => false,
                    None => true,
                };
                self.first_ord += 1;
            }
        }
        let ord = self.first_ord + self.rows.len() as u64;
        if let Some(m) = &mut self.matches {
            if row.matches(&self.needle) {
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
        if let Some(m) = &mut self.matches {
            let is_match = row.matches(&self.needle);
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

    /// Sets the filter (matched case-insensitively); empty shows every row. Typing one more
    /// character only re-checks the rows that matched before.
    pub fn set_filter(&mut self, needle: &str) {
        let needle = needle.to_lowercase();
        let refine = !self.needle.is_empty() && needle.starts_with(&self.needle);
        self.needle = needle;
        if self.needle.is_empty() {
            self.matches = None;
            return;
        }
        let first = self.first_ord;
        let (rows, needle) = (&self.rows, &self.needle);
        let is_match = |ord: &u64| {
            rows.get((ord - first) as usize)
                .is_some_and(|r| r.matches(needle))
        };
        self.matches = Some(match self.matches.take() {
            Some(mut m) if refine => {
                m.retain(is_match);
                m
            }
            _ => (first..first + rows.len() as u64)
                .filter(is_match)
                .collect(),
        });
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
            body_prefix: "".into(),
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
}
