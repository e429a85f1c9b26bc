//! Writing the event log: every append waiting at that moment goes into one log write per
//! source, and every cursor update into one SQLite transaction (group commit); the committed
//! events are then published to the in-memory tails and the head watchers before the
//! appenders get their answer. Over 400 lines because the queue, the commit and the hand-off
//! between appenders and the thread are one protocol.

use crate::store::log::dedup::{keys_of, Dedup};
use crate::store::log::EventLog;
use crate::store::log::Tails;
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
    /// Appends that may be answered once written (any appender may commit them).
    appends: Vec<AppendJob>,
    /// Appends that wait for the disk (`--sync full`, ack mode): only the writer thread
    /// commits them, so no runtime thread ever waits for an fsync.
    disk_appends: Vec<AppendJob>,
    /// Newest acknowledged sequence per (agent id, source), coalesced until the next commit.
    cursors: Cursors,
    /// The writer thread should look at the queue.
    thread_wanted: bool,
    closed: bool,
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.appends.is_empty() && self.disk_appends.is_empty() && self.cursors.is_empty()
    }

    /// Nothing left that an appender (not the writer thread) would commit: appenders take
    /// only `appends`; cursors and disk appends are the writer thread's (under `--sync full`
    /// their SQLite commit waits for the disk too).
    fn inline_is_empty(&self) -> bool {
        self.appends.is_empty()
    }
}

/// What the writer keeps between batches.
pub(super) struct State {
    /// Each source's newest sequence.
    pub heads: HashMap<String, u64>,
    /// Each source's rowid (its directory in the event log).
    pub source_ids: HashMap<String, i64>,
    /// Recent Okta dedup keys.
    pub dedup: Dedup,
}

/// What a commit writes to, and everything it updates.
pub(super) struct Engine {
    /// Cursors (and new sources) go here.
    pub conn: Connection,
    /// Events go here.
    pub log: Arc<EventLog>,
    /// Flush appends that need it (ack mode) to disk before answering (`--sync full`).
    pub durable: bool,
    pub state: State,
    pub watchers: Heads,
    pub tails: Arc<Tails>,
}

/// Group commit. Whoever finds the engine free commits everything queued at that moment:
/// without an fsync a commit is one `write` per source to the event log, tens of
/// microseconds, so an appender commits its own batch on the spot (no thread hand-off per
/// webhook). When more arrived meanwhile, or a batch must reach the disk (`--sync full`, ack
/// mode), or cursors are queued (SQLite), the writer thread takes over.
pub(super) struct Writer {
    queue: Mutex<Queue>,
    wake: Condvar,
    engine: Mutex<Engine>,
    /// Appends marked `needs_disk` wait for an fsync (`--sync full`).
    sync_full: bool,
    /// Bounds the appends waiting, so a stalled disk pushes back on ingress.
    pub room: Arc<Semaphore>,
    /// When the writer was made, and microseconds after that of the last commit.
    started: std::time::Instant,
    last_commit_us: std::sync::atomic::AtomicU64,
}

/// Appends this soon after a commit are part of a busy period, worth gathering into one write.
const BUSY_WINDOW_US: u64 = 1000;

impl Writer {
    pub(super) fn new(engine: Engine, sync_full: bool) -> Self {
        Writer {
            queue: Mutex::default(),
            wake: Condvar::new(),
            engine: Mutex::new(engine),
            sync_full,
            room: Arc::new(Semaphore::new(MAX_QUEUED)),
            started: std::time::Instant::now(),
            last_commit_us: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an append; [`Writer::commit_now`] then sees that it is committed. The answer
    /// comes on `job.reply`. True when the append waits for the disk.
    pub(super) fn enqueue(&self, job: AppendJob) -> Result<bool, StoreError> {
        let mut q = self.lock();
        if q.closed {
            return Err(StoreError::Closed);
        }
        let to_disk = self.sync_full && job.event.needs_disk;
        if to_disk {
            q.disk_appends.push(job);
        } else {
            q.appends.push(job);
        }
        Ok(to_disk)
    }

    /// Whether an appender should first let others queue theirs: the last commit was a moment
    /// ago, so more webhooks are likely arriving. A lone webhook is committed without waiting.
    pub(super) fn worth_gathering(&self) -> bool {
        let last = self
            .last_commit_us
            .load(std::sync::atomic::Ordering::Relaxed);
        self.elapsed_us().saturating_sub(last) < BUSY_WINDOW_US
    }

    fn elapsed_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    /// Commits what is queued on the spot when the engine is free; appends that wait for the
    /// disk (`to_disk`), and whatever the engine's holder may leave, go to the writer thread.
    pub(super) fn commit_now(&self, to_disk: bool) {
        if to_disk || !self.commit_queued(1, false) {
            self.want_thread();
        }
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

    /// Commits up to `max_batches` batches. False when work is left that nobody else is sure
    /// to pick up (the caller then wakes the writer thread). An appender (`with_disk` false)
    /// commits only if the engine is free: when it is busy, its holder looks at the queue
    /// after it lets go. The writer thread (`with_disk`) waits for the engine, since an
    /// appender holding it does not look at the thread's share of the queue.
    fn commit_queued(&self, max_batches: usize, with_disk: bool) -> bool {
        let mut engine = if with_disk {
            self.engine.lock().unwrap_or_else(|p| p.into_inner())
        } else {
            match self.engine.try_lock() {
                Ok(e) => e,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return true,
            }
        };
        for _ in 0..max_batches {
            let (batch, cursors) = {
                let mut q = self.lock();
                if (with_disk && q.is_empty()) || (!with_disk && q.inline_is_empty()) {
                    break;
                }
                let mut appends = take_batch(&mut q.appends, MAX_BATCH);
                if with_disk {
                    let room = MAX_BATCH.saturating_sub(appends.len());
                    appends.extend(take_batch(&mut q.disk_appends, room));
                }
                // Cloned, not taken: until they are committed, `pending_cursor` still sees
                // them (a reader never finds a cursor older than one it was just given).
                let cursors = if with_disk {
                    q.cursors.clone()
                } else {
                    Cursors::default()
                };
                (appends, cursors)
            };
            let taken = cursors.clone();
            engine.commit_and_publish(batch, cursors);
            let mut q = self.lock();
            for (key, seq) in taken {
                if q.cursors.get(&key) == Some(&seq) {
                    q.cursors.remove(&key);
                }
            }
        }
        self.last_commit_us
            .store(self.elapsed_us(), std::sync::atomic::Ordering::Relaxed);
        drop(engine);
        // Whatever was queued while this caller held the engine is still there.
        let q = self.lock();
        if with_disk {
            q.is_empty()
        } else {
            q.inline_is_empty()
        }
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
            if !self.commit_queued(usize::MAX, true) {
                self.lock().thread_wanted = true;
            }
        }
    }
}

/// Up to `max` jobs from the front of `jobs`.
fn take_batch(jobs: &mut Vec<AppendJob>, max: usize) -> Vec<AppendJob> {
    if jobs.len() <= max {
        std::mem::take(jobs)
    } else {
        jobs.drain(..max).collect()
    }
}

impl Engine {
    /// Logs the batch (one write per source), commits the cursors, publishes and answers.
    fn commit_and_publish(&mut self, batch: Vec<AppendJob>, cursors: Cursors) {
        let mut groups: Vec<(String, Vec<AppendJob>)> = Vec::new();
        for job in batch {
            match groups.iter_mut().find(|(s, _)| *s == job.source) {
                Some((_, jobs)) => jobs.push(job),
                None => groups.push((job.source.clone(), vec![job])),
            }
        }
        for (source, jobs) in groups {
            if let Err(e) = self.append_source(&source, jobs) {
                tracing::error!(error = %e, %source, "logging events failed");
            }
        }
        if !cursors.is_empty() {
            if let Err(e) = save_cursors(&mut self.conn, &cursors) {
                tracing::error!(error = %e, "saving cursors failed");
            }
        }
    }

    /// Logs one source's jobs; on failure answers each with the error and takes back the
    /// sequences and dedup keys they were given.
    fn append_source(&mut self, source: &str, jobs: Vec<AppendJob>) -> Result<(), String> {
        let fail = |jobs: Vec<AppendJob>, e: String| {
            for job in jobs {
                let _ = job.reply.send(Err(StoreError::Backend(e.clone())));
            }
            Err(e)
        };
        // Only the writer thread commits appends that need the disk, so this fsync never
        // blocks a runtime thread.
        let durable = self.durable && jobs.iter().any(|j| j.event.needs_disk);
        let source_id = match self.state.source_ids.get(source) {
            Some(id) => *id,
            None => match source_id(&self.conn, source) {
                Ok(id) => {
                    self.state.source_ids.insert(source.to_string(), id);
                    id
                }
                Err(e) => return fail(jobs, e.to_string()),
            },
        };
        let old_head = self.state.heads.get(source).copied().unwrap_or(0);
        let mut added = Vec::new();
        let mut events = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.into_iter().enumerate() {
            let keys = keys_of(job.event.okta_event_id.as_deref(), &job.event.okta_uuids);
            let duplicate = keys
                .as_deref()
                .is_some_and(|k| self.state.dedup.check(source, k, &mut added));
            let mut event = job.event.event;
            event.seq = old_head + 1 + i as u64;
            event.duplicate = duplicate;
            let stored = StoredEvent::new(event);
            events.push((stored, keys));
            replies.push((job.reply, job._permit));
        }
        let refs: Vec<(&StoredEvent, Option<&str>)> =
            events.iter().map(|(e, k)| (e, k.as_deref())).collect();
        let parts = match self.log.append(source_id, &refs, durable) {
            Ok(parts) => parts,
            Err(e) => {
                self.state.dedup.undo(&added);
                let e = e.to_string();
                for (reply, _permit) in replies {
                    let _ = reply.send(Err(StoreError::Backend(e.clone())));
                }
                return Err(e);
            }
        };
        // From here on the event lives in the buffer that was logged: its frame is what the
        // sessions send, its body a slice of that frame; the request's own body is dropped.
        let events: Vec<(Arc<StoredEvent>, Option<String>)> = events
            .into_iter()
            .zip(parts)
            .map(|((ev, keys), (frame, body))| {
                let mut event = ev.event;
                event.request.body = shared::Blob(body);
                (Arc::new(StoredEvent::with_frame(event, frame)), keys)
            })
            .collect();
        let head = old_head + events.len() as u64;
        self.state.heads.insert(source.to_string(), head);
        let committed: Vec<Arc<StoredEvent>> = events.into_iter().map(|(e, _)| e).collect();
        self.tails.push(source, &committed);
        notify_head(&self.watchers, source, head);
        for ((reply, permit), ev) in replies.into_iter().zip(&committed) {
            let _ = reply.send(Ok(Appended {
                seq: ev.seq,
                duplicate: ev.duplicate,
            }));
            drop(permit);
        }
        Ok(())
    }
}

fn save_cursors(conn: &mut Connection, cursors: &Cursors) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO cursors(agent_id, source, seq) VALUES (?1, ?2, ?3)
             ON CONFLICT(agent_id, source) DO UPDATE SET seq = MAX(seq, excluded.seq)",
        )?;
        for ((agent, source), seq) in cursors {
            stmt.execute(params![agent, source, *seq as i64])?;
        }
    }
    tx.commit()
}

/// The rowid of `source`, created if it does not exist yet.
fn source_id(conn: &Connection, source: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT OR IGNORE INTO sources(name, created_ms) VALUES (?1, ?2)")?
        .execute(params![source, crate::clock::now_ms() as i64])?;
    conn.prepare_cached("SELECT rowid FROM sources WHERE name = ?1")?
        .query_row(params![source], |r| r.get(0))
}

/// Tells the source's sessions its head moved.
fn notify_head(watchers: &Heads, source: &str, seq: u64) {
    let mut map = watchers.lock().unwrap_or_else(|p| p.into_inner());
    let tx = match map.get(source) {
        Some(tx) => tx,
        None => map
            .entry(source.to_string())
            .or_insert_with(|| watch::channel(0).0),
    };
    tx.send_if_modified(|cur| {
        let changed = *cur != seq;
        *cur = seq;
        changed
    });
}
