//! One group commit in two round trips, on the writer's connection with its statements
//! prepared once.
//!
//! tokio-postgres writes a request when its future is first polled and the server answers in
//! order, so requests polled together travel back to back (pipelining). The first round trip
//! opens the transaction, takes the row lock of every source in the batch (in id order, so two
//! instances locking the same sources never deadlock) and reads which of the batch's Okta keys
//! those sources already stored: the server runs that read after the locks are granted, so it
//! sees every key a previous holder committed. The second inserts the events and keys, moves
//! the heads with one notification per source, writes the pending cursors and commits. If any
//! statement fails the server refuses the rest of the transaction, so a `COMMIT` that comes
//! back without error means every statement before it succeeded.

use crate::store::log::dedup::{keys_of, Dedup};
use crate::store::{Appended, NewEvent, StoredEvent};
use futures_util::future::{maybe_done, MaybeDone};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Error, Row, Statement};

/// The writer's connection and its prepared statements.
pub struct Writer {
    pub client: Client,
    begin: Statement,
    lock: Statement,
    create: Statement,
    known_keys: Statement,
    events: Statement,
    keys: Statement,
    heads: Statement,
    cursors: Statement,
    commit: Statement,
}

const LOCK: &str = "SELECT id, name, head FROM sources WHERE name = ANY($1::TEXT[])
    ORDER BY id FOR NO KEY UPDATE";
const CREATE: &str = "INSERT INTO sources(name, created_ms)
    SELECT unnest($1::TEXT[]), $2::BIGINT ON CONFLICT (name) DO NOTHING";
const KNOWN_KEYS: &str =
    "SELECT s.name, k.key FROM okta_keys k JOIN sources s ON s.id = k.source_id
    WHERE s.name = ANY($1::TEXT[]) AND k.key = ANY($2::TEXT[])";
const EVENTS: &str = "INSERT INTO events(source_id, seq, received_ms, frame)
    SELECT * FROM unnest($1::INT[], $2::BIGINT[], $3::BIGINT[], $4::BYTEA[])";
const KEYS: &str = "INSERT INTO okta_keys(source_id, key, seq)
    SELECT * FROM unnest($1::INT[], $2::TEXT[], $3::BIGINT[]) ON CONFLICT DO NOTHING";
// The notifications go out when the transaction commits, never before: a listener that hears
// one reads the events it announces.
const HEADS: &str = "WITH moved AS (UPDATE sources SET head = u.head
        FROM unnest($1::INT[], $2::BIGINT[]) AS u(id, head) WHERE sources.id = u.id)
    SELECT pg_notify($3::TEXT, n) FROM unnest($4::TEXT[]) AS n";
const CURSORS: &str = "INSERT INTO cursors(agent_id, source, seq)
    SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::BIGINT[])
    ON CONFLICT (agent_id, source) DO UPDATE SET seq = GREATEST(cursors.seq, excluded.seq)";

type Query<'a> = Pin<Box<dyn Future<Output = Result<Vec<Row>, Error>> + Send + 'a>>;

/// Sends every request before awaiting any answer (each future sends its request when first
/// polled, and they are polled in order); their results, in order.
async fn pipelined<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<MaybeDone<F>>>> = futures
        .into_iter()
        .map(|f| Box::pin(maybe_done(f)))
        .collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for f in &mut pending {
            done &= f.as_mut().poll(cx).is_ready();
        }
        if done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    pending
        .iter_mut()
        .filter_map(|f| f.as_mut().take_output())
        .collect()
}

/// Every result, or the first error.
fn all_ok(results: Vec<Result<Vec<Row>, Error>>) -> Result<Vec<Vec<Row>>, Error> {
    results.into_iter().collect()
}

/// What a committed batch did.
pub struct Committed {
    /// Each source written to: its new head and its new events, in sequence order.
    pub sources: Vec<(String, u64, Vec<Arc<StoredEvent>>)>,
    /// Each job's result, in batch order.
    pub appended: Vec<Appended>,
}

/// One source's share of a batch.
struct Share<'b> {
    name: &'b str,
    id: i32,
    head: i64,
    /// Indexes into the batch, in batch order.
    jobs: Vec<usize>,
}

impl Writer {
    /// Prepares the statements on `client` (one round trip).
    pub async fn prepare(client: Client) -> Result<Writer, Error> {
        let sql = [
            "BEGIN", LOCK, CREATE, KNOWN_KEYS, EVENTS, KEYS, HEADS, CURSORS, "COMMIT",
        ];
        let prepared = pipelined(sql.iter().map(|s| client.prepare(s))).await;
        let mut s = prepared
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        let mut next = || s.next().expect("one statement per SQL text");
        Ok(Writer {
            begin: next(),
            lock: next(),
            create: next(),
            known_keys: next(),
            events: next(),
            keys: next(),
            heads: next(),
            cursors: next(),
            commit: next(),
            client,
        })
    }

    /// Appends `batch` (source, event) and upserts `cursors` in one transaction.
    pub async fn write(
        &self,
        batch: &[(&str, &NewEvent)],
        cursors: &HashMap<(String, String), u64>,
    ) -> Result<Committed, Error> {
        let result = self.transaction(batch, cursors).await;
        if result.is_err() && !self.client.is_closed() {
            // Leaves the connection usable for the next batch (nothing was committed).
            let _ = self.client.batch_execute("ROLLBACK").await;
        }
        result
    }

    async fn transaction(
        &self,
        batch: &[(&str, &NewEvent)],
        cursors: &HashMap<(String, String), u64>,
    ) -> Result<Committed, Error> {
        let mut names: Vec<&str> = batch.iter().map(|(s, _)| *s).collect();
        names.sort_unstable();
        names.dedup();
        let keys: Vec<Option<String>> = batch
            .iter()
            .map(|(_, ev)| keys_of(ev.okta_event_id.as_deref(), &ev.okta_uuids))
            .collect();
        let all_keys: Vec<&str> = keys.iter().flatten().flat_map(|k| k.lines()).collect();

        // Round trip 1: open, lock, read the keys already known.
        let c = &self.client;
        let lock_params: [&(dyn ToSql + Sync); 1] = [&names];
        let keys_params: [&(dyn ToSql + Sync); 2] = [&names, &all_keys];
        let mut first: Vec<Query> = vec![
            Box::pin(c.query(&self.begin, &[])),
            Box::pin(c.query(&self.lock, &lock_params)),
        ];
        if !all_keys.is_empty() {
            first.push(Box::pin(c.query(&self.known_keys, &keys_params)));
        }
        let mut rows = all_ok(pipelined(first).await)?.into_iter();
        let mut locked = rows.nth(1).unwrap_or_default();
        let known = rows.next().unwrap_or_default();
        if locked.len() < names.len() {
            // A source appended to before anything created it (rare: once per source).
            let now = super::queries::now_ms();
            c.query(&self.create, &[&names, &now]).await?;
            locked = c.query(&self.lock, &[&names]).await?;
        }
        let mut shares: Vec<Share> = locked
            .iter()
            .filter_map(|r| {
                let name: &str = r.get(1);
                Some(Share {
                    name: names.iter().copied().find(|n| *n == name)?,
                    id: r.get(0),
                    head: r.get(2),
                    jobs: Vec::new(),
                })
            })
            .collect();
        for (i, (source, _)) in batch.iter().enumerate() {
            if let Some(share) = shares.iter_mut().find(|s| s.name == *source) {
                share.jobs.push(i);
            }
        }
        let mut dedup = Dedup::default();
        for row in &known {
            dedup.remember(row.get(0), row.get(1));
        }

        // Number the events, decide duplicates (the embedded store's verdict, event by event).
        let mut appended = vec![
            Appended {
                seq: 0,
                duplicate: false
            };
            batch.len()
        ];
        let (mut ev_ids, mut ev_seqs, mut ev_times) = (Vec::new(), Vec::new(), Vec::new());
        let mut frames: Vec<bytes::Bytes> = Vec::with_capacity(batch.len());
        let (mut key_ids, mut key_rows, mut key_seqs) = (Vec::new(), Vec::new(), Vec::new());
        let mut committed = Vec::with_capacity(shares.len());
        for share in &shares {
            let mut events = Vec::with_capacity(share.jobs.len());
            for (n, &i) in share.jobs.iter().enumerate() {
                let seq = share.head + 1 + n as i64;
                let mut event = batch[i].1.event.clone();
                event.seq = seq as u64;
                event.duplicate = keys[i]
                    .as_deref()
                    .is_some_and(|k| dedup.check(share.name, k, &mut Vec::new()));
                for key in keys[i].iter().flat_map(|k| k.lines()) {
                    key_ids.push(share.id);
                    key_rows.push(key);
                    key_seqs.push(seq);
                }
                appended[i] = Appended {
                    seq: event.seq,
                    duplicate: event.duplicate,
                };
                ev_ids.push(share.id);
                ev_seqs.push(seq);
                ev_times.push(event.received_at_ms.min(i64::MAX as u64) as i64);
                let frame = bytes::Bytes::from(shared::frame::encode_event(&event));
                frames.push(frame.clone());
                events.push(Arc::new(StoredEvent::with_frame(event, frame)));
            }
            let head = share.head + share.jobs.len() as i64;
            committed.push((share.name.to_string(), head.max(0) as u64, events));
        }
        let frame_refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
        let head_ids: Vec<i32> = shares.iter().map(|s| s.id).collect();
        let heads: Vec<i64> = committed.iter().map(|(_, h, _)| *h as i64).collect();
        let notes: Vec<String> = committed
            .iter()
            .map(|(name, head, _)| format!("{head}:{name}"))
            .collect();
        let (agents, cursor_sources, cursor_seqs) = unzip_cursors(cursors);

        // Round trip 2: write everything and commit.
        let channel = super::bus::HEAD_CHANNEL;
        let events_params: [&(dyn ToSql + Sync); 4] = [&ev_ids, &ev_seqs, &ev_times, &frame_refs];
        let heads_params: [&(dyn ToSql + Sync); 4] = [&head_ids, &heads, &channel, &notes];
        let keys_params: [&(dyn ToSql + Sync); 3] = [&key_ids, &key_rows, &key_seqs];
        let cursors_params: [&(dyn ToSql + Sync); 3] = [&agents, &cursor_sources, &cursor_seqs];
        let mut second: Vec<Query> = Vec::with_capacity(5);
        if !ev_ids.is_empty() {
            second.push(Box::pin(c.query(&self.events, &events_params)));
            second.push(Box::pin(c.query(&self.heads, &heads_params)));
        }
        if !key_rows.is_empty() {
            second.push(Box::pin(c.query(&self.keys, &keys_params)));
        }
        if !agents.is_empty() {
            second.push(Box::pin(c.query(&self.cursors, &cursors_params)));
        }
        second.push(Box::pin(c.query(&self.commit, &[])));
        all_ok(pipelined(second).await)?;
        Ok(Committed {
            sources: committed,
            appended,
        })
    }
}

fn unzip_cursors(cursors: &HashMap<(String, String), u64>) -> (Vec<&str>, Vec<&str>, Vec<i64>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for ((agent, source), seq) in cursors {
        out.0.push(agent.as_str());
        out.1.push(source.as_str());
        out.2.push((*seq).min(i64::MAX as u64) as i64);
    }
    out
}
