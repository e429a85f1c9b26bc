//! Events handed out and not yet acknowledged, in sequence order. Deliveries may finish in any
//! order; a cursor ("everything up to here is done") only moves over a run with no gap.

use std::collections::VecDeque;

/// Sequences in flight, each marked done or not.
#[derive(Debug, Default)]
pub struct InFlight {
    /// (sequence, done), ascending.
    seqs: VecDeque<(u64, bool)>,
}

impl InFlight {
    /// How many are in flight (done ones behind an unfinished one included).
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// True when nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// Records that `seq` was handed out; sequences must come in ascending order (a repeat
    /// or an older one is ignored).
    pub fn sent(&mut self, seq: u64) {
        if self.seqs.back().is_none_or(|(last, _)| *last < seq) {
            self.seqs.push_back((seq, false));
        }
    }

    /// Marks `seq` done; returns the new end of the done run when it moved. Unknown and
    /// repeated sequences are ignored.
    pub fn done(&mut self, seq: u64) -> Option<u64> {
        let i = self.seqs.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        self.seqs[i].1 = true;
        let mut through = None;
        while let Some(&(s, true)) = self.seqs.front() {
            through = Some(s);
            self.seqs.pop_front();
        }
        through
    }
}

#[cfg(test)]
mod tests {
    use super::InFlight;

    #[test]
    fn the_cursor_moves_only_over_a_run_without_gaps() {
        let mut f = InFlight::default();
        for s in 5..=9 {
            f.sent(s);
        }
        f.sent(7);
        assert_eq!(f.len(), 5, "a repeat is not in flight twice");
        assert_eq!(f.done(7), None);
        assert_eq!(f.done(6), None);
        assert_eq!(f.done(5), Some(7));
        assert_eq!(f.len(), 2);
        assert_eq!(f.done(42), None, "unknown sequences are ignored");
        assert_eq!(f.done(7), None, "a repeated ack is ignored");
        assert_eq!(f.done(9), None);
        assert_eq!(f.done(8), Some(9));
        assert!(f.is_empty());
    }
}
