//! The relay's own store: sources, tokens, cursors and retention floors in SQLite (WAL); the
//! events themselves in the segment files of [`crate::store::log`], appended by group commit
//! ([`writer`]), the newest of each source also kept in memory ([`tail`]).

mod dedup;
mod schema;
mod tail;
mod writer;

use super::log::EventLog;
use super::*;
use rusqlite::{params, Connection, OptionalExtension};
use schema::{row_to_source, SOURCE_COLUMNS};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tail::Tails;
use tokio::sync::oneshot;
use writer::{AppendJob, Heads, Writer};

/// How often the background thread checkpoints SQLite's WAL and flushes the event log's files
/// to disk (the events nobody waited for the disk for: all of them with `--sync normal`).
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The relay's store in one data directory: `relay.sqlite3` and the event log `relay.events/`.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    log: Arc<EventLog>,
    writer: Arc<Writer>,
    heads: Heads,
    tails: Arc<Tails>,
    /// Each source's rowid (its directory in the event log).
    source_ids: Mutex<HashMap<String, i64>>,
    /// Dropping it stops the background flusher.
    _flusher: std::sync::mpsc::Sender<()>,
}

impl SqliteStore {
    /// How many group commits of events waited for the disk before answering (ack-mode
    /// events under `--sync full`).
    pub fn durable_appends(&self) -> u64 {
        self.log.durable_appends()
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.writer.close();
    }
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/relay.sqlite3` with the default [`SyncMode`].
    pub fn open_dir(dir: &Path) -> anyhow::Result<Self> {
        Self::open_dir_with(dir, SyncMode::default())
    }

    /// Opens (creating if needed) `dir/relay.sqlite3`.
    pub fn open_dir_with(dir: &Path, sync: SyncMode) -> anyhow::Result<Self> {
        use anyhow::Context;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        Self::open_with(&dir.join("relay.sqlite3"), sync)
    }

    /// Takes the data directory's exclusive lock, so two relays never append to one log (token
    /// and source commands do not take it and work beside a running relay). Held until the
    /// returned file is dropped.
    pub fn lock_dir(dir: &Path) -> anyhow::Result<std::fs::File> {
        use anyhow::Context;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let path = dir.join("relay.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "the relay store in {} is in use by another relay process ({} is locked)",
                dir.display(),
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(anyhow::Error::from(e).context(format!("locking {}", path.display())))
            }
        }
    }

    /// Opens (creating if needed) the database file at `path` with the default [`SyncMode`].
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with(path, SyncMode::default())
    }

    /// Opens (creating if needed) the database file at `path` and the event log beside it.
    pub fn open_with(path: &Path, sync: SyncMode) -> anyhow::Result<Self> {
        use anyhow::Context;
        let ctx = || format!("opening relay store {}", path.display());
        let conn = schema::connect(path, sync).with_context(ctx)?;
        schema::migrate(&conn).with_context(ctx)?;
        let writer_conn = schema::connect(path, sync).with_context(ctx)?;
        let flush_conn = schema::connect(path, sync).with_context(ctx)?;
        let floors = schema::floors(&conn).with_context(ctx)?;
        let (log, recovered) =
            EventLog::open(&path.with_extension("events"), &floors, dedup::WINDOW)?;
        let ids = schema::source_ids(&conn).with_context(ctx)?;
        let recorded = schema::recorded_heads(&conn).with_context(ctx)?;
        let mut initial = HashMap::new();
        let mut dedup = dedup::Dedup::default();
        for (source, id) in &ids {
            let found = recovered.get(id);
            for keys in found.map_or(&[][..], |f| &f.keys[..]) {
                dedup.remember(source, keys);
            }
            let logged = log.newest(*id).unwrap_or(0);
            let head = logged
                .max(found.map_or(0, |f| f.head))
                .max(recorded.get(source).copied().unwrap_or(0));
            initial.insert(source.clone(), head);
        }
        let heads: Heads = Arc::default();
        {
            let mut map = heads.lock().unwrap_or_else(|p| p.into_inner());
            for (source, seq) in &initial {
                map.insert(source.clone(), watch::channel(*seq).0);
            }
        }
        let log = Arc::new(log);
        let tails = Arc::new(Tails::default());
        let engine = writer::Engine {
            conn: writer_conn,
            log: log.clone(),
            durable: sync == SyncMode::Full,
            state: writer::State {
                heads: initial,
                source_ids: ids.clone(),
                dedup,
            },
            watchers: heads.clone(),
            tails: tails.clone(),
        };
        let writer = Arc::new(Writer::new(engine, sync == SyncMode::Full));
        let thread_writer = writer.clone();
        std::thread::Builder::new()
            .name("relay-store-writer".into())
            .spawn(move || thread_writer.run_thread())
            .context("starting the store writer thread")?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let flush_log = log.clone();
        std::thread::Builder::new()
            .name("relay-store-flush".into())
            .spawn(move || flush_loop(flush_conn, flush_log, stopped))
            .context("starting the store flush thread")?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            log,
            writer,
            heads,
            tails,
            source_ids: Mutex::new(ids),
            _flusher: stop,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rowid of `source` (its directory in the event log), if it exists.
    fn source_id(&self, source: &str) -> StoreResult<Option<i64>> {
        let cached = self
            .source_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(source)
            .copied();
        if cached.is_some() {
            return Ok(cached);
        }
        let id: Option<i64> = self
            .conn()
            .prepare_cached("SELECT rowid FROM sources WHERE name = ?1")?
            .query_row(params![source], |r| r.get(0))
            .optional()?;
        if let Some(id) = id {
            self.source_ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(source.to_string(), id);
        }
        Ok(id)
    }

    fn head(&self, source: &str) -> StoreResult<u64> {
        Ok(*self.watch_head(source)?.borrow())
    }
}

/// Every [`FLUSH_EVERY`]: checkpoints SQLite's WAL into its database file, and puts the event
/// log's new records on disk (ack-mode events under `--sync full` are there already).
fn flush_loop(conn: Connection, log: Arc<EventLog>, stop: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(FLUSH_EVERY) {
        if let Err(err) = log.flush() {
            tracing::error!(%err, "flushing the event log to disk failed");
        }
        if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(%err, "checkpointing the relay store failed");
        }
    }
    let _ = log.flush();
}

impl Store for SqliteStore {
    fn append(&self, source: &str, event: NewEvent) -> BoxFuture<StoreResult<Appended>> {
        let writer = self.writer.clone();
        let source = source.to_string();
        Box::pin(async move {
            let permit = writer
                .room
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| StoreError::Closed)?;
            let (reply, rx) = oneshot::channel();
            let to_disk = writer.enqueue(AppendJob {
                source,
                event,
                reply,
                _permit: permit,
            })?;
            if !to_disk && writer.worth_gathering() {
                // Let the other webhooks that arrived in this turn of the runtime queue theirs
                // first: whoever commits then writes them all to the log in one write.
                tokio::task::yield_now().await;
            }
            writer.commit_now(to_disk);
            rx.await.map_err(|_| StoreError::Closed)?
        })
    }

    fn read_after(
        &self,
        source: &str,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<Arc<StoredEvent>>> {
        if let Some(events) = self.tails.read_after(source, after, limit) {
            return Ok(events);
        }
        let Some(id) = self.source_id(source)? else {
            return Ok(Vec::new());
        };
        let events = self
            .log
            .read_after(id, after, limit)
            .map_err(|e| StoreError::Backend(format!("reading the event log: {e}")))?;
        Ok(events.into_iter().map(Arc::new).collect())
    }

    fn watch_head(&self, source: &str) -> StoreResult<watch::Receiver<u64>> {
        let mut map = self.heads.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map
            .entry(source.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe())
    }

    fn first_seq_since(&self, source: &str, ms: u64) -> StoreResult<u64> {
        let head = self.head(source)?;
        let found = self
            .source_id(source)?
            .and_then(|id| self.log.first_at_or_after(id, ms));
        Ok(found.unwrap_or(head + 1))
    }

    fn oldest_seq(&self, source: &str) -> StoreResult<u64> {
        let head = self.head(source)?;
        let found = self.source_id(source)?.and_then(|id| self.log.oldest(id));
        Ok(found.unwrap_or(head + 1))
    }

    fn cursor(&self, agent_id: &str, source: &str) -> StoreResult<Option<u64>> {
        let stored = self
            .conn()
            .query_row(
                "SELECT seq FROM cursors WHERE agent_id = ?1 AND source = ?2",
                params![agent_id, source],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|s| s as u64);
        let pending = self.writer.pending_cursor(agent_id, source);
        Ok(stored.max(pending))
    }

    fn max_cursor(&self, source: &str) -> StoreResult<Option<u64>> {
        let seq: Option<i64> = self.conn().query_row(
            "SELECT MAX(seq) FROM cursors WHERE source = ?1",
            params![source],
            |r| r.get(0),
        )?;
        let stored = seq.map(|s| s.max(0) as u64);
        Ok(stored.max(self.writer.pending_max_cursor(source)))
    }

    fn set_cursor(&self, agent_id: &str, source: &str, seq: u64) -> StoreResult<()> {
        // Through the writer: one connection writes, so a session never waits on the write lock.
        self.writer.push_cursor(agent_id, source, seq);
        Ok(())
    }

    fn source(&self, name: &str) -> StoreResult<Option<SourceInfo>> {
        Ok(self
            .conn()
            // Cached: ingress looks the source up on every webhook.
            .prepare_cached(&format!(
                "SELECT {SOURCE_COLUMNS} FROM sources WHERE name = ?1"
            ))?
            .query_row(params![name], row_to_source)
            .optional()?)
    }

    fn sources(&self) -> StoreResult<Vec<SourceInfo>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {SOURCE_COLUMNS} FROM sources ORDER BY name"
        ))?;
        let rows = stmt.query_map([], row_to_source)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_settings(&self, name: &str, settings: &SourceSettings) -> StoreResult<()> {
        schema::write_settings(&self.conn(), name, settings)?;
        Ok(())
    }

    fn size_bytes(&self) -> StoreResult<u64> {
        let conn = self.conn();
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let wal = std::fs::metadata(self.path.with_extension("sqlite3-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
        Ok((pages.max(0) as u64) * (size.max(0) as u64) + wal + self.log.disk_bytes())
    }

    fn ensure_source(&self, name: &str) -> StoreResult<()> {
        self.conn().execute(
            "INSERT OR IGNORE INTO sources(name, created_ms) VALUES (?1, ?2)",
            params![name, crate::clock::now_ms() as i64],
        )?;
        Ok(())
    }

    fn add_token(&self, info: &TokenInfo, secret_hash: &[u8]) -> StoreResult<()> {
        self.ensure_source(&info.source)?;
        self.conn().execute(
            "INSERT INTO tokens(id, name, source, hash, created_ms) VALUES (?1,?2,?3,?4,?5)",
            params![
                info.id,
                info.name,
                info.source,
                secret_hash,
                info.created_ms as i64
            ],
        )?;
        Ok(())
    }

    fn token_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<TokenInfo>> {
        let conn = self.conn();
        let found = conn
            .query_row(
                "SELECT id, name, source, created_ms, last_used_ms, hash FROM tokens WHERE hash = ?1",
                params![secret_hash],
                |r| {
                    Ok((
                        TokenInfo {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            source: r.get(2)?,
                            created_ms: r.get::<_, i64>(3)? as u64,
                            last_used_ms: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                        },
                        r.get::<_, Vec<u8>>(5)?,
                    ))
                },
            )
            .optional()?;
        // The index lookup already matched; the constant-time comparison keeps the final
        // decision free of early exits on the secret's bytes.
        let Some((info, stored)) = found else {
            return Ok(None);
        };
        if !crate::tokens::constant_time_eq(&stored, secret_hash) {
            return Ok(None);
        }
        conn.execute(
            "UPDATE tokens SET last_used_ms = ?2 WHERE id = ?1",
            params![info.id, crate::clock::now_ms() as i64],
        )?;
        Ok(Some(info))
    }

    fn tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, name, source, created_ms, last_used_ms FROM tokens ORDER BY created_ms",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(TokenInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                source: r.get(2)?,
                created_ms: r.get::<_, i64>(3)? as u64,
                last_used_ms: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_token(&self, id: &str) -> StoreResult<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM tokens WHERE id = ?1", params![id])?
            > 0)
    }

    fn prune(&self, now_ms: u64, default: Retention) -> StoreResult<PruneReport> {
        let mut report = PruneReport::default();
        for source in self.sources()? {
            let retention = source.settings.retention(default);
            let Some(id) = self.source_id(&source.name)? else {
                continue;
            };
            let head = self.head(&source.name)?;
            let by_age = self
                .log
                .first_at_or_after(id, now_ms.saturating_sub(retention.max_age_ms))
                .unwrap_or(head + 1);
            let by_count = head.saturating_sub(retention.max_events) + 1;
            let by_bytes = self
                .log
                .floor_for_bytes(id, retention.max_bytes)
                .unwrap_or(0);
            let floor = by_age.max(by_count).max(by_bytes);
            if self.log.oldest(id).is_none_or(|oldest| oldest >= floor) {
                continue;
            }
            // Floor and head first: after a crash the dropped events stay dropped, and an
            // emptied log does not restart its sequence at 1.
            {
                let conn = self.conn();
                conn.prepare_cached(
                    "INSERT INTO log_floors(source_id, seq) VALUES (?1, ?2)
                     ON CONFLICT(source_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                )?
                .execute(params![id, floor as i64])?;
                conn.prepare_cached(
                    "INSERT INTO heads(source, seq) VALUES (?1, ?2)
                     ON CONFLICT(source) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                )?
                .execute(params![source.name, head as i64])?;
            }
            let removed = self
                .log
                .drop_below(id, floor)
                .map_err(|e| StoreError::Backend(format!("pruning the event log: {e}")))?;
            if removed > 0 {
                self.tails.forget(&source.name);
                report.removed.push((source.name.clone(), removed));
            }
        }
        Ok(report)
    }

    fn stats(&self, source: &str) -> StoreResult<(u64, u64)> {
        Ok(self
            .source_id(source)?
            .map_or((0, 0), |id| self.log.stats(id)))
    }
}
