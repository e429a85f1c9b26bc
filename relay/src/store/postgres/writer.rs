//! Appends by group commit: one task owns the writing connection; every append waiting when
//! it finishes a commit goes into the next transaction, so under load one `COMMIT` (one WAL
//! flush) answers many senders. Agents' cursors ride along in the same transactions.
//!
//! Sequence order is commit order. Each source's row in `sources` holds its head, and an
//! append transaction takes that row with `SELECT … FOR NO KEY UPDATE` before numbering its
//! events. A second instance appending to the same source waits on the row lock until the
//! first commits, then reads the head that commit wrote: sequences of a source are handed out
//! one transaction at a time, in the order those transactions commit. PostgreSQL makes a
//! transaction visible before it releases its locks, so when n + 1 is visible n already is,
//! and a reader following the head never skips an event that commits late. (A sequence object
//! would not do: it hands out numbers at insert time, and transactions may commit out of
//! that order.) Sources do not contend with each other.

use super::queries::backend;
use super::Shared;
use crate::store::log::dedup::{keys_of, Dedup};
use crate::store::{Appended, NewEvent, StoreError, StoreResult};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::Client;

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
    let mut client: Option<Client> = None;
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
    client: &mut Option<Client>,
    batch: Vec<AppendJob>,
) -> Result<(), String> {
    let cursors = shared.pending_cursors();
    if batch.is_empty() && cursors.is_empty() {
        return Ok(());
    }
    let result = match connected(shared, client).await {
        Ok(c) => write(c, &batch, &cursors).await,
        Err(e) => Err(e),
    };
    // A failed transaction may have lost its connection: a new one is opened next time.
    if result.is_err() && client.as_ref().is_some_and(Client::is_closed) {
        *client = None;
    }
    match result {
        Ok(heads) => {
            shared.committed_cursors(&cursors);
            for (source, head) in &heads.heads {
                shared.raise_head(source, *head);
            }
            for (job, appended) in batch.into_iter().zip(heads.appended) {
                let _ = job.reply.send(Ok(appended));
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
    client: &'a mut Option<Client>,
) -> Result<&'a mut Client, String> {
    if client.as_ref().is_some_and(Client::is_closed) {
        *client = None;
    }
    if client.is_none() {
        *client = Some(shared.target.connect(None).await?);
    }
    client
        .as_mut()
        .ok_or_else(|| "no database connection".to_string())
}

/// What a committed batch did.
struct Committed {
    /// The new head of each source written to.
    heads: Vec<(String, u64)>,
    /// Each job's result, in batch order.
    appended: Vec<Appended>,
}

type Cursors = HashMap<(String, String), u64>;

async fn write(
    client: &mut Client,
    batch: &[AppendJob],
    cursors: &Cursors,
) -> Result<Committed, String> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| backend(e).to_string())?;
    let mut appended = vec![
        Appended {
            seq: 0,
            duplicate: false
        };
        batch.len()
    ];
    let mut heads = Vec::new();
    // One pass per source, in the order sources first appear: each takes its own row lock.
    let mut order: Vec<&str> = Vec::new();
    for job in batch {
        if !order.contains(&job.source.as_str()) {
            order.push(&job.source);
        }
    }
    for source in order {
        let idx: Vec<usize> = (0..batch.len())
            .filter(|i| batch[*i].source == source)
            .collect();
        let head = append_source(&tx, source, batch, &idx, &mut appended)
            .await
            .map_err(|e| backend(e).to_string())?;
        heads.push((source.to_string(), head));
    }
    if !cursors.is_empty() {
        let (agents, sources, seqs): (Vec<&str>, Vec<&str>, Vec<i64>) = cursors
            .iter()
            .map(|((a, s), seq)| (a.as_str(), s.as_str(), (*seq).min(i64::MAX as u64) as i64))
            .fold((vec![], vec![], vec![]), |mut acc, (a, s, q)| {
                acc.0.push(a);
                acc.1.push(s);
                acc.2.push(q);
                acc
            });
        tx.execute(
            "INSERT INTO cursors(agent_id, source, seq)
             SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::BIGINT[])
             ON CONFLICT (agent_id, source) DO UPDATE SET seq = GREATEST(cursors.seq, excluded.seq)",
            &[&agents, &sources, &seqs],
        )
        .await
        .map_err(|e| backend(e).to_string())?;
    }
    tx.commit().await.map_err(|e| backend(e).to_string())?;
    Ok(Committed { heads, appended })
}

/// Numbers and inserts one source's events under its row lock; returns its new head.
async fn append_source(
    tx: &tokio_postgres::Transaction<'_>,
    source: &str,
    batch: &[AppendJob],
    idx: &[usize],
    appended: &mut [Appended],
) -> Result<u64, tokio_postgres::Error> {
    let lock = "SELECT id, head FROM sources WHERE name = $1 FOR NO KEY UPDATE";
    let row = match tx.query_opt(lock, &[&source]).await? {
        Some(row) => row,
        None => {
            tx.execute(
                "INSERT INTO sources(name, created_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&source, &super::queries::now_ms()],
            )
            .await?;
            tx.query_one(lock, &[&source]).await?
        }
    };
    let (id, old_head): (i32, i64) = (row.get(0), row.get(1));
    // Okta redeliveries: the keys this source already stored, then the embedded store's
    // verdict (same event id, or every uuid again) event by event.
    let keys: Vec<Option<String>> = idx
        .iter()
        .map(|i| {
            let ev = &batch[*i].event;
            keys_of(ev.okta_event_id.as_deref(), &ev.okta_uuids)
        })
        .collect();
    let all_keys: Vec<&str> = keys.iter().flatten().flat_map(|k| k.lines()).collect();
    let mut dedup = Dedup::default();
    if !all_keys.is_empty() {
        let known = tx
            .query(
                "SELECT key FROM okta_keys WHERE source_id = $1 AND key = ANY($2)",
                &[&id, &all_keys],
            )
            .await?;
        for row in known {
            dedup.remember(source, row.get::<_, &str>(0));
        }
    }
    let mut seqs = Vec::with_capacity(idx.len());
    let mut times = Vec::with_capacity(idx.len());
    let mut frames = Vec::with_capacity(idx.len());
    let (mut key_rows, mut key_seqs): (Vec<&str>, Vec<i64>) = (Vec::new(), Vec::new());
    for (n, (i, keys)) in idx.iter().zip(&keys).enumerate() {
        let seq = old_head + 1 + n as i64;
        let mut event = batch[*i].event.event.clone();
        event.seq = seq as u64;
        event.duplicate = keys
            .as_deref()
            .is_some_and(|k| dedup.check(source, k, &mut Vec::new()));
        for key in keys.iter().flat_map(|k| k.lines()) {
            key_rows.push(key);
            key_seqs.push(seq);
        }
        appended[*i] = Appended {
            seq: event.seq,
            duplicate: event.duplicate,
        };
        seqs.push(seq);
        times.push(event.received_at_ms.min(i64::MAX as u64) as i64);
        frames.push(shared::frame::encode_event(&event));
    }
    tx.execute(
        "INSERT INTO events(source_id, seq, received_ms, frame)
         SELECT $1, * FROM unnest($2::BIGINT[], $3::BIGINT[], $4::BYTEA[])",
        &[&id, &seqs, &times, &frames],
    )
    .await?;
    if !key_rows.is_empty() {
        tx.execute(
            "INSERT INTO okta_keys(source_id, key, seq)
             SELECT $1, * FROM unnest($2::TEXT[], $3::BIGINT[]) ON CONFLICT DO NOTHING",
            &[&id, &key_rows, &key_seqs],
        )
        .await?;
    }
    let head = old_head + idx.len() as i64;
    // The notification goes out when the transaction commits, never before: a listener that
    // hears it reads the events it announces.
    tx.execute(
        "WITH moved AS (UPDATE sources SET head = $2 WHERE id = $1)
         SELECT pg_notify($3, $4)",
        &[
            &id,
            &head,
            &super::bus::HEAD_CHANNEL,
            &format!("{head}:{source}"),
        ],
    )
    .await?;
    Ok(head.max(0) as u64)
}
