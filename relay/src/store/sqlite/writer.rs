//! Writing the event log: every append and cursor update waiting at that moment goes into one
//! transaction (group commit); the committed events are then published to the in-memory
//! tails and the head watchers before the appenders get their answer.

use super::dedup::{keys_of, Dedup};
use super::schema;
use super::tail::Tails;
use crate::store::{Appended, NewEvent, StoreError, StoreResult, StoredEvent};
use rusqlite::{params, Connection};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use tokio::sync::{oneshot, watch, OwnedSemaphorePermit, Semaphore};

/// Most appends folded into one transaction.
const MAX_BATCH: usize = 1024;
/// Most appends waiting for the writer; further appenders wait for room.
pub(super) const MAX_QUEUED: usize = MAX_BATCH * 8;

/// Head watchers per source.
pub(super) type Heads = Arc<Mutex<HashMap<String, watch::Sender<u64>>>>;

pub(super) struct AppendJob {
    pub source: String,
    pub event: NewEvent,
    pub reply: oneshot::Sender<StoreResult<Appended>>,
    /// Room in the queue, given back once the job is answered.
    pub _permit: OwnedSemaphorePermit,
}

/// Newest acknowledged sequence per (agent id, source).
type Cursors = HashMap<(String, String), u64>;

#[derive(Default)]
struct Queue {
    appends: Vec<AppendJob>,
    /// Newest acknowledged sequence per (agent id, source), coalesced until the next commit.
    cursors: Cursors,
    /// The writer thread should look at the queue.
    thread_wanted: bool,
    closed: bool,
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.appends.is_empty() && self.cursors.is_empty()
    }
}

/// What the writer keeps between batches.
pub(super) struct State {
    /// Each source's newest sequence.
    pub heads: HashMap<String, u64>,
    /// Each source's rowid (the high part of its log keys).
    pub source_ids: HashMap<String, i64>,
    /// Recent Okta dedup keys.
    pub dedup: Dedup,
}

/// The connection that writes, and everything a commit updates.
pub(super) struct Engine {
    pub conn: Connection,
    pub state: State,
    pub watchers: Heads,
    pub tails: Arc<Tails>,
}

/// Group commit. Whoever finds the engine free commits everything queued at that moment:
/// with `synchronous=NORMAL` a commit takes tens of microseconds, so an appender commits its
/// own batch on the spot (no thread hand-off per webhook). When more arrived meanwhile, or a
/// commit must wait for the disk (`synchronous=FULL`), the writer thread takes over.
pub(super) struct Writer {
    queue: Mutex<Queue>,
    wake: Condvar,
    engine: Mutex<Engine>,
    /// Appenders may commit themselves (false: only the writer thread commits).
    inline: bool,
    /// Bounds the appends waiting, so a stalled disk pushes back on ingress.
    pub room: Arc<Semaphore>,
}

impl Writer {
    pub(super) fn new(engine: Engine, inline: bool) -> Self {
        Writer {
            queue: Mutex::default(),
            wake: Condvar::new(),
            engine: Mutex::new(engine),
            inline,
            room: Arc::new(Semaphore::new(MAX_QUEUED)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an append and sees that it is committed; the answer comes on `job.reply`.
    pub(super) fn push_append(&self, job: AppendJob) -> Result<(), StoreError> {
        {
            let mut q = self.lock();
            if q.closed {
                return Err(StoreError::Closed);
            }
            q.appends.push(job);
        }
        if !self.inline || !self.commit_queued(1) {
            self.want_thread();
        }
        Ok(())
    }

    /// Queues a cursor update (kept only if it moves the cursor forward); the writer thread
    /// commits it, so a session never waits for it.
    pub(super) fn push_cursor(&self, agent_id: &str, source: &str, seq: u64) {
        {
            let mut q = self.lock();
            let slot = q
                .cursors
                .entry((agent_id.to_string(), source.to_string()))
                .or_insert(seq);
            *slot = (*slot).max(seq);
        }
        self.want_thread();
    }

    /// A cursor update not committed yet, if any.
    pub(super) fn pending_cursor(&self, agent_id: &str, source: &str) -> Option<u64> {
        self.lock()
            .cursors
            .get(&(agent_id.to_string(), source.to_string()))
            .copied()
    }

    /// The furthest cursor update not committed yet for `source`, if any.
    pub(super) fn pending_max_cursor(&self, source: &str) -> Option<u64> {
        self.lock()
            .cursors
            .iter()
            .filter(|((_, s), _)| s == source)
            .map(|(_, seq)| *seq)
            .max()
    }

    /// Lets the writer thread finish what is queued, then stop.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_all();
    }

    fn want_thread(&self) {
        self.lock().thread_wanted = true;
        self.wake.notify_one();
    }

    /// Commits up to `max_batches` batches if the engine is free. False when work is left
    /// that nobody else is sure to pick up (the caller then wakes the writer thread). When the
    /// engine is busy, its holder looks at the queue after it lets go, so nothing is left.
    fn commit_queued(&self, max_batches: usize) -> bool {
        let mut engine = match self.engine.try_lock() {
            Ok(e) => e,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return true,
        };
        for _ in 0..max_batches {
            let (batch, cursors) = {
                let mut q = self.lock();
                if q.is_empty() {
                    break;
                }
                let appends = if q.appends.len() <= MAX_BATCH {
                    std::mem::take(&mut q.appends)
                } else {
                    q.appends.drain(..MAX_BATCH).collect()
                };
                (appends, std::mem::take(&mut q.cursors))
            };
            engine.commit_and_publish(batch, cursors);
        }
        drop(engine);
        // Whatever was queued while this caller held the engine is still there.
        self.lock().is_empty()
    }

    /// The writer thread: commits whenever asked, until closed and drained.
    pub(super) fn run_thread(&self) {
        loop {
            {
                let mut q = self.lock();
                while !q.thread_wanted && !q.closed {
                    q = self.wake.wait(q).unwrap_or_else(|p| p.into_inner());
                }
                if q.closed && q.is_empty() {
                    return;
                }
                q.thread_wanted = false;
            }
            if !self.commit_queued(usize::MAX) {
                self.lock().thread_wanted = true;
            }
        }
    }
}

impl Engine {
    fn commit_and_publish(&mut self, batch: Vec<AppendJob>, cursors: Cursors) {
        let mut undo = Undo::default();
        let result = commit(&mut self.conn, &batch, &cursors, &mut self.state, &mut undo);
        match result {
            Ok(results) => {
                publish(
                    batch,
                    results,
                    &self.state.heads,
                    &self.watchers,
                    &self.tails,
                );
            }
            Err(e) => {
                undo.apply(&mut self.state);
                tracing::error!(error = %e, events = batch.len(), "committing events failed");
                for job in batch {
                    let _ = job.reply.send(Err(StoreError::Backend(e.to_string())));
                }
            }
        }
    }
}

/// What a failed commit must take back from the writer's memory.
#[derive(Default)]
struct Undo {
    /// Dedup keys the batch added: (source, key).
    keys: Vec<(String, String)>,
    /// Heads the batch moved, with their value before it (`None`: the source was new).
    heads: Vec<(String, Option<u64>)>,
}

impl Undo {
    fn apply(self, state: &mut State) {
        state.dedup.undo(&self.keys);
        for (source, old) in self.heads {
            match old {
                Some(seq) => state.heads.insert(source, seq),
                None => state.heads.remove(&source),
            };
        }
        // A source created by the failed transaction was rolled back with it.
        state.source_ids.clear();
    }
}

fn commit(
    conn: &mut Connection,
    batch: &[AppendJob],
    cursors: &Cursors,
    state: &mut State,
    undo: &mut Undo,
) -> rusqlite::Result<Vec<Appended>> {
    let tx = conn.transaction()?;
    let mut out = Vec::with_capacity(batch.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO event_log(key, id, received_at_ms, duplicate, method, path, query,
                                   headers, body, okta_keys) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
        )?;
        for job in batch {
            let source_id = match state.source_ids.get(&job.source) {
                Some(id) => *id,
                None => {
                    let id = source_id(&tx, &job.source)?;
                    state.source_ids.insert(job.source.clone(), id);
                    id
                }
            };
            let ev = &job.event;
            let old = state.heads.get(&job.source).copied();
            if !undo.heads.iter().any(|(s, _)| *s == job.source) {
                undo.heads.push((job.source.clone(), old));
            }
            let seq = old.unwrap_or(0) + 1;
            state.heads.insert(job.source.clone(), seq);
            let keys = keys_of(ev.okta_event_id.as_deref(), &ev.okta_uuids);
            let duplicate = keys
                .as_deref()
                .is_some_and(|k| state.dedup.check(&job.source, k, &mut undo.keys));
            let headers =
                serde_json::to_string(&ev.request.headers).expect("headers always serialize");
            let mut id = uuid::Uuid::encode_buffer();
            insert.execute(params![
                schema::log_key(source_id, seq),
                &*ev.id.0.hyphenated().encode_lower(&mut id),
                ev.received_at_ms as i64,
                duplicate,
                ev.request.method,
                ev.request.path,
                ev.request.query,
                headers,
                ev.request.body.as_bytes(),
                keys,
            ])?;
            out.push(Appended { seq, duplicate });
        }
        let mut cursor = tx.prepare_cached(
            "INSERT INTO cursors(agent_id, source, seq) VALUES (?1, ?2, ?3)
             ON CONFLICT(agent_id, source) DO UPDATE SET seq = MAX(seq, excluded.seq)",
        )?;
        for ((agent, source), seq) in cursors {
            cursor.execute(params![agent, source, *seq as i64])?;
        }
    }
    tx.commit()?;
    Ok(out)
}

/// The rowid of `source`, created if it does not exist yet.
fn source_id(tx: &rusqlite::Transaction<'_>, source: &str) -> rusqlite::Result<i64> {
    tx.prepare_cached("INSERT OR IGNORE INTO sources(name, created_ms) VALUES (?1, ?2)")?
        .execute(params![source, crate::now_ms() as i64])?;
    tx.prepare_cached("SELECT rowid FROM sources WHERE name = ?1")?
        .query_row(params![source], |r| r.get(0))
}

/// Hands committed events to the tails and head watchers, then answers the appenders.
fn publish(
    batch: Vec<AppendJob>,
    results: Vec<Appended>,
    heads: &HashMap<String, u64>,
    watchers: &Heads,
    tails: &Tails,
) {
    let mut by_source: Vec<(String, Vec<Arc<StoredEvent>>)> = Vec::new();
    let mut replies = Vec::with_capacity(batch.len());
    for (job, appended) in batch.into_iter().zip(results) {
        let stored = Arc::new(StoredEvent {
            seq: appended.seq,
            id: job.event.id,
            received_at_ms: job.event.received_at_ms,
            duplicate: appended.duplicate,
            request: job.event.request,
        });
        match by_source.iter_mut().find(|(s, _)| *s == job.source) {
            Some((_, v)) => v.push(stored),
            None => by_source.push((job.source, vec![stored])),
        }
        replies.push((job.reply, appended, job._permit));
    }
    for (source, events) in &by_source {
        tails.push(source, events);
    }
    {
        let mut map = watchers.lock().unwrap_or_else(|p| p.into_inner());
        for (source, _) in &by_source {
            let seq = heads[source];
            let tx = match map.get(source) {
                Some(tx) => tx,
                None => map
                    .entry(source.clone())
                    .or_insert_with(|| watch::channel(0).0),
            };
            tx.send_if_modified(|cur| {
                let changed = *cur != seq;
                *cur = seq;
                changed
            });
        }
    }
    for (reply, appended, permit) in replies {
        let _ = reply.send(Ok(appended));
        drop(permit);
    }
}
