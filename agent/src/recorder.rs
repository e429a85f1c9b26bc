//! The listener's recorder: writes captures, outcomes and cursors to the capture store in
//! batches — whatever arrives within [`GATHER`] of the first record goes into one transaction —
//! off the delivery path, and reports each change to the output once it is stored.

use crate::capture::{CaptureStore, Record};
use crate::events::AgentEvent;
use crate::model::CaptureKind;
use std::sync::Arc;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// Most records written in one transaction.
const MAX_BATCH: usize = 1024;
/// How long records gather before they are written: one commit per busy period instead of one
/// per event, while an output still shows a new row within a few milliseconds.
const GATHER: std::time::Duration = std::time::Duration::from_millis(20);
/// Records waiting for the thread before senders wait for room.
const QUEUE: usize = 8192;
/// Most records handed over but not yet in the store: a full queue and the batch being
/// written. A record handed over longer ago than that many records is stored.
pub(crate) const UNSTORED_MAX: usize = QUEUE + MAX_BATCH;
/// Most bytes of unstored records (bodies, and [`RECORD_OVERHEAD`] each) before senders wait
/// for room. Each capture holds its event's body until it is stored, and a write can stall for
/// tens of milliseconds (a WAL checkpoint copies and syncs megabytes): at saturation the queue
/// would otherwise fill with megabytes of bodies during every stall.
const UNSTORED_BYTES: usize = 2 * 1024 * 1024;
/// What a record costs beyond its bodies: the capture, its headers, its URL.
const RECORD_OVERHEAD: usize = 512;

/// Hands records to the recorder thread.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Queued>,
    room: Arc<Semaphore>,
}

/// A record with the share of [`UNSTORED_BYTES`] it holds until it is stored.
struct Queued {
    record: Record,
    room: OwnedSemaphorePermit,
}

/// The recorder task; [`RecorderThread::finish`] waits until everything queued is stored.
pub struct RecorderThread(tokio::task::JoinHandle<()>);

impl Recorder {
    /// Starts the recorder. Stored captures and outcomes are reported on `events` as
    /// [`AgentEvent::Captured`] and [`AgentEvent::Delivered`], so whatever an output shows is
    /// already in the store.
    pub fn start(
        store: CaptureStore,
        events: mpsc::Sender<AgentEvent>,
    ) -> anyhow::Result<(Recorder, RecorderThread)> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let room = Arc::new(Semaphore::new(UNSTORED_BYTES));
        let task = tokio::spawn(run(store, rx, events));
        Ok((Recorder { tx, room }, RecorderThread(task)))
    }

    /// Queues a record (waits while the queue or its bytes are full).
    pub async fn record(&self, record: Record) {
        // A record larger than the whole allowance waits until everything before it is stored.
        let weight = (record.body_bytes() + RECORD_OVERHEAD).min(UNSTORED_BYTES) as u32;
        let room = (self.room.clone().acquire_many_owned(weight).await)
            .expect("the recorder never closes its semaphore");
        if self.tx.send(Queued { record, room }).await.is_err() {
            tracing::warn!("the recorder has stopped; a capture was not stored");
        }
    }
}

impl RecorderThread {
    /// Waits until everything queued is stored; every [`Recorder`] must be dropped first.
    pub async fn finish(self) {
        let _ = self.0.await;
    }
}

async fn run(
    store: CaptureStore,
    mut rx: mpsc::Receiver<Queued>,
    events: mpsc::Sender<AgentEvent>,
) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut room = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut queued, MAX_BATCH).await > 0 {
        if queued.len() < MAX_BATCH {
            tokio::time::sleep(GATHER).await;
            while queued.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => queued.push(r),
                    Err(_) => break,
                }
            }
        }
        for q in queued.drain(..) {
            batch.push(q.record);
            room.push(q.room);
        }
        let writer = store.clone();
        let written = tokio::task::spawn_blocking(move || {
            if let Err(e) = writer.record_batch(&batch) {
                tracing::warn!(error = %format!("{e:#}"), records = batch.len(), "recording captures failed");
            }
            batch
        })
        .await;
        let Ok(mut written) = written else {
            tracing::warn!("the capture writer failed; some captures were not stored");
            batch = Vec::with_capacity(MAX_BATCH);
            room.clear();
            continue;
        };
        for record in written.drain(..) {
            for event in report(record) {
                // The output may be gone (shutting down); storing is what matters.
                let _ = events.send(event).await;
            }
        }
        room.clear();
        batch = written;
    }
}

/// What the output hears of a stored record: a relay event is always reported as a new row
/// and then its outcome, even when both were stored at once.
fn report(record: Record) -> Vec<AgentEvent> {
    match record {
        Record::Capture(mut c) if c.kind == CaptureKind::Event && c.outcome.is_some() => {
            let outcome = c.outcome.take().expect("checked above");
            let answered_at_ms = c.answered_at_ms.take().unwrap_or_default();
            let (id, delivered_at_ms) = (c.id, c.delivered_at_ms.unwrap_or_default());
            vec![
                AgentEvent::Captured(c),
                AgentEvent::Delivered {
                    id,
                    delivered_at_ms,
                    answered_at_ms,
                    outcome,
                },
            ]
        }
        Record::Capture(c) => vec![AgentEvent::Captured(c)],
        Record::Outcome {
            id,
            delivered_at_ms,
            answered_at_ms,
            outcome,
        } => vec![AgentEvent::Delivered {
            id,
            delivered_at_ms,
            answered_at_ms,
            outcome,
        }],
        Record::Cursor { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture_builder::{answer, CaptureBuilder};
    use std::time::Duration;

    const LIMIT: Duration = Duration::from_secs(10);

    fn capture(seq: u64, body: Vec<u8>) -> Record {
        let c = CaptureBuilder::event(seq)
            .body(body)
            .outcome(answer(200, "ok", 1))
            .build();
        Record::Capture(Box::new(c))
    }

    fn start(store: &CaptureStore) -> (Recorder, RecorderThread, mpsc::Receiver<AgentEvent>) {
        let (events, heard) = mpsc::channel(64);
        let (recorder, thread) = Recorder::start(store.clone(), events).expect("recorder");
        (recorder, thread, heard)
    }

    #[tokio::test]
    async fn a_sender_waits_while_unstored_records_hold_all_the_room() {
        tokio::time::timeout(LIMIT, async {
            let store = CaptureStore::open_in_memory().expect("store");
            let (recorder, thread, _heard) = start(&store);
            let held = recorder
                .room
                .clone()
                .acquire_many_owned(UNSTORED_BYTES as u32)
                .await
                .expect("room");
            let sender = recorder.clone();
            let sending =
                tokio::spawn(async move { sender.record(capture(1, b"{}".to_vec())).await });
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            assert!(!sending.is_finished(), "no room: the sender must wait");
            drop(held);
            sending.await.expect("sender");
            drop(recorder);
            thread.finish().await;
            assert_eq!(store.count().expect("count"), 1);
        })
        .await
        .expect("timed out");
    }

    #[tokio::test]
    async fn records_larger_than_the_room_are_stored() {
        tokio::time::timeout(LIMIT, async {
            let store = CaptureStore::open_in_memory().expect("store");
            let (recorder, thread, _heard) = start(&store);
            let big = UNSTORED_BYTES + 1;
            for seq in 1..=3 {
                recorder.record(capture(seq, vec![b'x'; big])).await;
            }
            recorder.record(capture(4, b"{}".to_vec())).await;
            drop(recorder);
            thread.finish().await;
            assert_eq!(store.count().expect("count"), 4);
        })
        .await
        .expect("timed out");
    }
}
