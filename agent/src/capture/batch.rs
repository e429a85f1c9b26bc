//! Many changes in one transaction: what the listener's recorder writes while events flow.

use super::{row, CaptureStore, SET_CURSOR};
use crate::model::Capture;
use anyhow::{anyhow, Context};
use rusqlite::{params, params_from_iter};
use shared::{DeliveryOutcome, EventId};

/// One change to the store.
#[derive(Clone, Debug)]
pub enum Record {
    /// A capture to insert (or replace): about to be delivered, or complete already.
    Capture(Box<Capture>),
    /// The outcome of a capture's delivery.
    Outcome {
        /// The capture.
        id: EventId,
        /// When delivery started.
        delivered_at_ms: u64,
        /// When the outcome was recorded.
        answered_at_ms: u64,
        /// What happened.
        outcome: DeliveryOutcome,
    },
    /// A cursor advance (never moves it backwards).
    Cursor {
        /// The relay the cursor belongs to.
        relay: String,
        /// The source.
        source: String,
        /// The last sequence acked.
        seq: u64,
    },
}

impl Record {
    /// The bytes of the bodies it carries (the request's and the answer's).
    pub fn body_bytes(&self) -> usize {
        let answer = |outcome: Option<&DeliveryOutcome>| match outcome {
            Some(DeliveryOutcome::Answered { response, .. }) => response.body.len(),
            _ => 0,
        };
        match self {
            Record::Capture(c) => c.request.body.len() + answer(c.outcome.as_ref()),
            Record::Outcome { outcome, .. } => answer(Some(outcome)),
            Record::Cursor { .. } => 0,
        }
    }
}

impl CaptureStore {
    /// Writes `records` in one transaction, in order. An outcome whose capture is in the same
    /// batch is folded into that capture's row, so a quick delivery costs one row write.
    pub fn record_batch(&self, records: &[Record]) -> anyhow::Result<()> {
        // (capture, the outcome folded into it: delivered, answered, outcome).
        type Folded<'a> = (&'a Capture, Option<(u64, u64, &'a DeliveryOutcome)>);
        let mut captures: Vec<Folded<'_>> = Vec::new();
        let mut outcomes: Vec<(EventId, u64, u64, &DeliveryOutcome)> = Vec::new();
        let mut cursors: Vec<(&str, &str, u64)> = Vec::new();
        for r in records {
            match r {
                Record::Capture(c) => captures.push((c, None)),
                Record::Outcome {
                    id,
                    delivered_at_ms,
                    answered_at_ms,
                    outcome,
                } => {
                    let folded = (*delivered_at_ms, *answered_at_ms, outcome);
                    match captures.iter_mut().rev().find(|(c, _)| c.id == *id) {
                        Some((_, slot)) => *slot = Some(folded),
                        None => outcomes.push((*id, folded.0, folded.1, outcome)),
                    }
                }
                Record::Cursor { relay, source, seq } => {
                    match cursors
                        .iter_mut()
                        .find(|(r, s, _)| r == relay && s == source)
                    {
                        Some(c) => c.2 = c.2.max(*seq),
                        None => cursors.push((relay, source, *seq)),
                    }
                }
            }
        }
        let mut conn = self.lock();
        let tx = conn.transaction().context("starting a transaction")?;
        for (c, folded) in &captures {
            let values = match folded {
                None => row::upsert_params(c)?,
                Some((delivered, answered, outcome)) => {
                    row::upsert_params_with(c, Some(*delivered), Some(*answered), Some(outcome))?
                }
            };
            row::store(&tx, c, values).with_context(|| format!("storing capture {}", c.id))?;
        }
        for (id, delivered_at_ms, answered_at_ms, outcome) in outcomes {
            let values = row::outcome_params(id, delivered_at_ms, answered_at_ms, outcome)?;
            tx.prepare_cached(row::UPDATE_OUTCOME)
                .and_then(|mut s| s.execute(params_from_iter(values)))
                .with_context(|| format!("recording the outcome of capture {id}"))?;
        }
        for (relay, source, seq) in cursors {
            let seq = i64::try_from(seq).map_err(|_| anyhow!("sequence {seq} is too large"))?;
            tx.prepare_cached(SET_CURSOR)
                .and_then(|mut s| s.execute(params![relay, source, seq]))
                .with_context(|| format!("saving the cursor for {relay} source {source}"))?;
        }
        tx.commit().context("committing captures")
    }

    /// The highest sequence of `source` after `after` whose capture already has an outcome
    /// (delivered out of order, or its ack lost, before a restart); `after` when there is none.
    pub fn highest_delivered(&self, source: &str, after: u64) -> anyhow::Result<u64> {
        let floor = i64::try_from(after).unwrap_or(i64::MAX);
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT MAX(seq) FROM captures WHERE source = ?1 AND seq > ?2 \
             AND duration_us IS NOT NULL AND kind = 'event'",
        )?;
        let highest: Option<i64> = stmt.query_row(params![source, floor], |r| r.get(0))?;
        Ok(highest.and_then(|h| u64::try_from(h).ok()).unwrap_or(after))
    }

    /// Whether the capture of relay event `id` is stored with an outcome: delivered already.
    pub fn is_delivered(&self, id: EventId) -> anyhow::Result<bool> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM captures WHERE id = ?1 AND duration_us IS NOT NULL)",
        )?;
        let delivered = stmt.query_row(params![id.to_string()], |r| r.get(0))?;
        Ok(delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture_builder::{answer, CaptureBuilder};
    use shared::Blob;

    fn capture(seq: u64) -> Capture {
        CaptureBuilder::event(seq)
            .received_at(1)
            .delivered_at(2)
            .body("{}")
            .target("http://127.0.0.1:1/x")
            .build()
    }

    fn answered() -> DeliveryOutcome {
        answer(201, "ok", 5)
    }

    #[test]
    fn body_bytes_counts_the_request_and_the_answer() {
        let mut c = capture(1);
        assert_eq!(Record::Capture(Box::new(c.clone())).body_bytes(), 2);
        c.outcome = Some(answered());
        assert_eq!(Record::Capture(Box::new(c.clone())).body_bytes(), 4);
        assert_eq!(outcome(c.id).body_bytes(), 2);
        let cursor = Record::Cursor {
            relay: "r".into(),
            source: "okta".into(),
            seq: 1,
        };
        assert_eq!(cursor.body_bytes(), 0);
    }

    fn outcome(id: EventId) -> Record {
        Record::Outcome {
            id,
            delivered_at_ms: 2,
            answered_at_ms: 3,
            outcome: answered(),
        }
    }

    #[test]
    fn a_batch_folds_outcomes_into_their_captures_and_keeps_the_furthest_cursor() {
        let store = CaptureStore::open_in_memory().expect("store");
        let (a, b, c) = (capture(1), capture(2), capture(3));
        store
            .record_batch(&[Record::Capture(Box::new(c.clone()))])
            .expect("first batch");
        let cursor = |seq| Record::Cursor {
            relay: "r".into(),
            source: "okta".into(),
            seq,
        };
        store
            .record_batch(&[
                Record::Capture(Box::new(a.clone())),
                Record::Capture(Box::new(b.clone())),
                outcome(b.id),
                cursor(2),
                outcome(c.id),
                cursor(1),
            ])
            .expect("second batch");
        assert!(store.get(a.id).expect("get").expect("a").is_pending());
        for id in [b.id, c.id] {
            let got = store.get(id).expect("get").expect("stored");
            assert_eq!(got.status(), Some(201));
            assert_eq!(got.answered_at_ms, Some(3));
        }
        assert_eq!(store.cursor("r", "okta").expect("cursor"), Some(2));
        assert_eq!(store.highest_delivered("okta", 1).expect("highest"), 3);
        assert_eq!(store.highest_delivered("okta", 3).expect("none above"), 3);
        assert_eq!(store.highest_delivered("other", 7).expect("other"), 7);
        assert!(!store.is_delivered(a.id).expect("pending a"));
        assert!(store.is_delivered(b.id).expect("delivered b"));
        assert!(!store.is_delivered(EventId::new()).expect("unknown"));
    }

    #[test]
    fn large_bodies_are_stored_whole_in_every_path() {
        let store = CaptureStore::open_in_memory().expect("store");
        let big = |n: usize, seed: u8| -> Vec<u8> { (0..n).map(|i| (i as u8) ^ seed).collect() };
        let answer = |body: Vec<u8>| answer(200, body, 1);
        // Capture and outcome in one batch (folded), and an outcome in a later batch.
        let (mut a, mut b) = (capture(1), capture(2));
        a.request.body = Blob::from(big(300_000, 1));
        b.request.body = Blob::from(big(70_000, 2));
        store
            .record_batch(&[
                Record::Capture(Box::new(a.clone())),
                Record::Outcome {
                    id: a.id,
                    delivered_at_ms: 2,
                    answered_at_ms: 3,
                    outcome: answer(big(200_000, 3)),
                },
                Record::Capture(Box::new(b.clone())),
            ])
            .expect("first batch");
        store
            .record_batch(&[Record::Outcome {
                id: b.id,
                delivered_at_ms: 2,
                answered_at_ms: 3,
                outcome: answer(big(100_000, 4)),
            }])
            .expect("second batch");
        let got_a = store.get(a.id).expect("get").expect("a");
        assert_eq!(got_a.request.body.as_bytes(), &big(300_000, 1)[..]);
        assert_eq!(
            got_a
                .outcome
                .and_then(|o| o.response().cloned())
                .expect("answer")
                .body
                .as_bytes(),
            &big(200_000, 3)[..]
        );
        let got_b = store.get(b.id).expect("get").expect("b");
        assert_eq!(got_b.request.body.as_bytes(), &big(70_000, 2)[..]);
        assert_eq!(
            got_b
                .outcome
                .and_then(|o| o.response().cloned())
                .expect("answer")
                .body
                .as_bytes(),
            &big(100_000, 4)[..]
        );
        // The single-capture path too.
        let mut c = capture(3);
        c.request.body = Blob::from(big(500_000, 5));
        store.insert(&c).expect("insert");
        assert_eq!(
            store
                .get(c.id)
                .expect("get")
                .expect("c")
                .request
                .body
                .as_bytes(),
            &big(500_000, 5)[..]
        );
    }
}
