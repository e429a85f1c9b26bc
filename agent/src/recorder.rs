//! The listener's recorder: writes captures, outcomes and cursors to the capture store in
//! batches — whatever arrives within [`GATHER`] of the first record goes into one transaction —
//! off the delivery path, and reports each change to the output once it is stored.

use crate::capture::{CaptureStore, Record};
use crate::events::AgentEvent;
use crate::model::CaptureKind;
use tokio::sync::mpsc;

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

/// Hands records to the recorder thread.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Record>,
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
        let task = tokio::spawn(run(store, rx, events));
        Ok((Recorder { tx }, RecorderThread(task)))
    }

    /// Queues a record (waits while the queue is full).
    pub async fn record(&self, record: Record) {
        if self.tx.send(record).await.is_err() {
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
    mut rx: mpsc::Receiver<Record>,
    events: mpsc::Sender<AgentEvent>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if batch.len() < MAX_BATCH {
            tokio::time::sleep(GATHER).await;
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
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
            continue;
        };
        for record in written.drain(..) {
            for event in report(record) {
                // The output may be gone (shutting down); storing is what matters.
                let _ = events.send(event).await;
            }
        }
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
