//! The listener's recorder: a thread that writes captures, outcomes and cursors to the capture
//! store in batches (one transaction for whatever piled up while the last one committed), off
//! the delivery path, and reports each change to the output once it is stored.

use crate::capture::{CaptureStore, Record};
use crate::events::AgentEvent;
use crate::model::CaptureKind;
use tokio::sync::mpsc;

/// Most records written in one transaction.
const MAX_BATCH: usize = 1024;
/// Records waiting for the thread before senders wait for room.
const QUEUE: usize = 8192;

/// Hands records to the recorder thread.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Record>,
}

/// The recorder thread; [`RecorderThread::finish`] waits until everything queued is stored.
pub struct RecorderThread(std::thread::JoinHandle<()>);

impl Recorder {
    /// Starts the thread. Stored captures and outcomes are reported on `events` as
    /// [`AgentEvent::Captured`] and [`AgentEvent::Delivered`], so whatever an output shows is
    /// already in the store.
    pub fn start(
        store: CaptureStore,
        events: mpsc::Sender<AgentEvent>,
    ) -> anyhow::Result<(Recorder, RecorderThread)> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("agent-recorder".into())
            .spawn(move || run(store, rx, events))?;
        Ok((Recorder { tx }, RecorderThread(thread)))
    }

    /// Queues a record (waits while the queue is full).
    pub async fn record(&self, record: Record) {
        if self.tx.send(record).await.is_err() {
            tracing::warn!("the recorder has stopped; a capture was not stored");
        }
    }
}

impl RecorderThread {
    /// Waits for the thread to store what is queued; every [`Recorder`] must be dropped first.
    pub async fn finish(self) {
        let _ = tokio::task::spawn_blocking(move || self.0.join()).await;
    }
}

fn run(store: CaptureStore, mut rx: mpsc::Receiver<Record>, events: mpsc::Sender<AgentEvent>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        if let Err(e) = store.record_batch(&batch) {
            tracing::warn!(error = %format!("{e:#}"), records = batch.len(), "recording captures failed");
        }
        for record in batch.drain(..) {
            for event in report(record) {
                // The output may be gone (shutting down); storing is what matters.
                let _ = events.blocking_send(event);
            }
        }
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
