//! Appends by group commit: one task owns the writing connection; every append waiting when
//! it finishes a commit goes into the next transaction, so under load one `COMMIT` (one WAL
//! flush) answers many senders. Agents' cursors ride along in the same transactions.
//!
//! Sequence order is commit order. Each source's row in `sources` holds its head, and an
//! append transaction takes that row with `SELECT … FOR NO KEY UPDATE` before numbering its
//! events ([`append`](super::append) runs the transaction). A second instance appending to the same source waits on the row lock until the
//! first commits, then reads the head that commit wrote: sequences of a source are handed out
//! one transaction at a time, in the order those transactions commit. PostgreSQL makes a
//! transaction visible before it releases its locks, so when n + 1 is visible n already is,
//! and a reader following the head never skips an event that commits late. (A sequence object
//! would not do: it hands out numbers at insert time, and transactions may commit out of
//! that order.) Sources do not contend with each other.

use super::append::{Committed, Writer};
use super::queries::backend;
use super::Shared;
use crate::store::{Appended, NewEvent, StoreError, StoreResult};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Most appends folded into one transaction.
const MAX_BATCH: usize = 1024;
/// Most appends waiting for the writer; further appenders wait for room (backpressure).
pub const MAX_QUEUED: usize = MAX_BATCH * 8;
/// How often cursors are written when no append comes to carry them.
const CURSOR_EVERY: Duration = Duration::from_millis(250);

/// One append waiting for its commit.
pub struct AppendJob {
    pub source: String,
    pub event: NewEvent,
    pub reply: oneshot::Sender<StoreResult<Appended>>,
}

/// The writer task: commits until every sender of jobs is gone.
pub async fn run(shared: Arc<Shared>, mut jobs: mpsc::Receiver<AppendJob>) {
    let mut client: Option<Writer> = None;
    let mut tick = tokio::time::interval(CURSOR_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut batch = Vec::new();
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => batch.push(job),
                None => {
                    // Closing: the last cursors still go in.
                    let _ = commit(&shared, &mut client, Vec::new()).await;
                    return;
                }
            },
            _ = tick.tick() => {
                if shared.pending_cursors_empty() {
                    continue;
                }
            }
        }
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = commit(&shared, &mut client, batch).await {
            tracing::error!(error = %e, "committing events failed");
        }
    }
}

/// Commits one batch with the pending cursors, then publishes the new heads and answers.
async fn commit(
    shared: &Shared,
    client: &mut Option<Writer>,
    batch: Vec<AppendJob>,
) -> Result<(), String> {
    let cursors = shared.pending_cursors();
    if batch.is_empty() && cursors.is_empty() {
        return Ok(());
    }
    let result = match connected(shared, client).await {
        Ok(w) => {
            let jobs: Vec<(&str, &NewEvent)> = batch
                .iter()
                .map(|j| (j.source.as_str(), &j.event))
                .collect();
            w.write(&jobs, &cursors)
                .await
                .map_err(|e| backend(e).to_string())
        }
        Err(e) => Err(e),
    };
    // A failed transaction may have lost its connection: a new one is opened next time.
    if result.is_err() && client.as_ref().is_some_and(|w| w.client.is_closed()) {
        *client = None;
    }
    match result {
        Ok(Committed { sources, appended }) => {
            shared.committed_cursors(&cursors);
            // The tail first: a session woken by the new head finds the events in memory.
            for (source, head, events) in &sources {
                shared.tails.push(source, events);
                shared.raise_head(source, *head);
            }
            for (job, appended) in batch.into_iter().zip(appended) {
                let _ = job.reply.send(Ok::<Appended, StoreError>(appended));
            }
            Ok(())
        }
        Err(e) => {
            // Nothing of the transaction is visible: every sender gets its 503, and the
            // cursors (still pending) wait for the next commit.
            for job in batch {
                let _ = job.reply.send(Err(StoreError::Backend(e.clone())));
            }
            Err(e)
        }
    }
}

async fn connected<'a>(
    shared: &Shared,
    client: &'a mut Option<Writer>,
) -> Result<&'a Writer, String> {
    if client.as_ref().is_some_and(|w| w.client.is_closed()) {
        *client = None;
    }
    if client.is_none() {
        let c = shared.target.connect(None).await?;
        *client = Some(
            Writer::prepare(c)
                .await
                .map_err(|e| backend(e).to_string())?,
        );
    }
    client
        .as_ref()
        .ok_or_else(|| "no database connection".to_string())
}
