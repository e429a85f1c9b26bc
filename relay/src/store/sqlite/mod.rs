//! SQLite event log: WAL, one writer thread that group-commits appends and cursor updates,
//! a background checkpointer, and an in-memory tail of each source's newest events.

mod dedup;
mod schema;
mod tail;
mod writer;

use super::*;
use rusqlite::{params, Connection, OptionalExtension};
use schema::{
    log_key, row_to_event, row_to_source, seq_of, EVENT_COLUMNS, MAX_SEQ, SOURCE_COLUMNS,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tail::Tails;
use tokio::sync::oneshot;
use writer::{AppendJob, Heads, Writer};

/// How often the background checkpointer moves the WAL into the database file (and, with
/// `synchronous=NORMAL`, makes it safe from power loss).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    writer: Arc<Writer>,
    heads: Heads,
    tails: Arc<Tails>,
    /// Each source's rowid, the high part of its events' log keys.
    source_ids: Mutex<HashMap<String, i64>>,
    /// Dropping it stops the checkpointer.
    _checkpointer: std::sync::mpsc::Sender<()>,
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

    /// Opens (creating if needed) the database file at `path`.
    pub fn open_with(path: &Path, sync: SyncMode) -> anyhow::Result<Self> {
        use anyhow::Context;
        let ctx = || format!("opening relay store {}", path.display());
        let conn = schema::connect(path, sync).with_context(ctx)?;
        schema::migrate(&conn).with_context(ctx)?;
        let writer_conn = schema::connect(path, sync).with_context(ctx)?;
        let checkpoint_conn = schema::connect(path, sync).with_context(ctx)?;
        let heads: Heads = Arc::default();
        let mut initial = HashMap::new();
        let mut ids = HashMap::new();
        let mut dedup = dedup::Dedup::default();
        for (source, id, head) in schema::sources_and_heads(&conn).with_context(ctx)? {
            for keys in schema::recent_keys(&conn, id, dedup::WINDOW).with_context(ctx)? {
                dedup.remember(&source, &keys);
            }
            initial.insert(source.clone(), head);
            ids.insert(source, id);
        }
        {
            let mut map = heads.lock().expect("heads lock");
            for (source, seq) in &initial {
                map.insert(source.clone(), watch::channel(*seq).0);
            }
        }
        let tails = Arc::new(Tails::default());
        let engine = writer::Engine {
            conn: writer_conn,
            state: writer::State {
                heads: initial,
                source_ids: ids.clone(),
                dedup,
            },
            watchers: heads.clone(),
            tails: tails.clone(),
        };
        let writer = Arc::new(Writer::new(engine, sync == SyncMode::Normal));
        let thread_writer = writer.clone();
        std::thread::Builder::new()
            .name("relay-store-writer".into())
            .spawn(move || thread_writer.run_thread())
            .context("starting the store writer thread")?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("relay-store-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpoint_conn, stopped))
            .context("starting the store checkpoint thread")?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            writer,
            heads,
            tails,
            source_ids: Mutex::new(ids),
            _checkpointer: stop,
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

    /// The log key range `(after, last]` of `source`'s events with sequence > `after`, or
    /// `None` for a source that does not exist.
    fn key_range(
        &self,
        conn: &Connection,
        source: &str,
        after: u64,
    ) -> StoreResult<Option<(i64, i64)>> {
        let cached = self
            .source_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(source)
            .copied();
        let id = match cached {
            Some(id) => id,
            None => {
                let Some(id) = conn
                    .prepare_cached("SELECT rowid FROM sources WHERE name = ?1")?
                    .query_row(params![source], |r| r.get::<_, i64>(0))
                    .optional()?
                else {
                    return Ok(None);
                };
                self.source_ids
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(source.to_string(), id);
                id
            }
        };
        Ok(Some((log_key(id, after), log_key(id, MAX_SEQ))))
    }

    /// The first sequence after `after` whose event was received at or after `ms`: a binary
    /// search over the keys (events are logged in arrival order, so times rise with sequence).
    fn first_at_or_after(
        &self,
        conn: &Connection,
        range: (i64, i64),
        ms: u64,
    ) -> StoreResult<Option<u64>> {
        let mut at = conn.prepare_cached(
            "SELECT key, received_at_ms FROM event_log WHERE key > ?1 AND key <= ?2 ORDER BY key LIMIT 1",
        )?;
        let mut next = |after: i64| -> StoreResult<Option<(i64, u64)>> {
            Ok(at
                .query_row(params![after, range.1], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64))
                })
                .optional()?)
        };
        let Some((first, first_ms)) = next(range.0)? else {
            return Ok(None);
        };
        if first_ms >= ms {
            return Ok(Some(seq_of(first)));
        }
        let last: i64 = conn
            .prepare_cached("SELECT MAX(key) FROM event_log WHERE key > ?1 AND key <= ?2")?
            .query_row(params![range.0, range.1], |r| r.get(0))?;
        // Invariant: the event at `lo` is older than `ms`; find the first key after it that is not.
        let (mut lo, mut hi) = (first, last + 1);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            match next(mid - 1)? {
                Some((key, t)) if key < hi && t < ms => lo = key,
                Some((key, _)) if key < hi => hi = key,
                _ => hi = mid,
            }
        }
        Ok(next(lo)?.map(|(key, _)| seq_of(key)))
    }
}

/// Moves the WAL into the database file in the background, so commits never wait for it.
fn checkpoint_loop(conn: Connection, stop: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(%err, "checkpointing the relay store failed");
        }
    }
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
            writer.push_append(AppendJob {
                source,
                event,
                reply,
                _permit: permit,
            })?;
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
        let conn = self.conn();
        let Some((lo, hi)) = self.key_range(&conn, source, after)? else {
            return Ok(Vec::new());
        };
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM event_log WHERE key > ?1 AND key <= ?2 ORDER BY key LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![lo, hi, limit as i64], |r| {
            row_to_event(r).map(Arc::new)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn watch_head(&self, source: &str) -> StoreResult<watch::Receiver<u64>> {
        let mut map = self.heads.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map
            .entry(source.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe())
    }

    fn first_seq_since(&self, source: &str, ms: u64) -> StoreResult<u64> {
        let head = *self.watch_head(source)?.borrow();
        let conn = self.conn();
        let Some(range) = self.key_range(&conn, source, 0)? else {
            return Ok(head + 1);
        };
        Ok(self
            .first_at_or_after(&conn, range, ms)?
            .unwrap_or(head + 1))
    }

    fn oldest_seq(&self, source: &str) -> StoreResult<u64> {
        let head = *self.watch_head(source)?.borrow();
        let conn = self.conn();
        let Some((lo, hi)) = self.key_range(&conn, source, 0)? else {
            return Ok(head + 1);
        };
        let key: Option<i64> = conn
            .prepare_cached("SELECT MIN(key) FROM event_log WHERE key > ?1 AND key <= ?2")?
            .query_row(params![lo, hi], |r| r.get(0))?;
        Ok(key.map(seq_of).unwrap_or(head + 1))
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

    fn set_sender_auth(&self, name: &str, auth: Option<&SenderAuth>) -> StoreResult<()> {
        self.ensure_source(name)?;
        self.conn().execute(
            "UPDATE sources SET auth_name = ?2, auth_value = ?3 WHERE name = ?1",
            params![
                name,
                auth.map(|a| a.name.as_str()),
                auth.map(|a| a.value.as_str())
            ],
        )?;
        Ok(())
    }

    fn size_bytes(&self) -> StoreResult<u64> {
        let conn = self.conn();
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let wal = std::fs::metadata(self.path.with_extension("sqlite3-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
        Ok((pages.max(0) as u64) * (size.max(0) as u64) + wal)
    }

    fn ensure_source(&self, name: &str) -> StoreResult<()> {
        self.conn().execute(
            "INSERT OR IGNORE INTO sources(name, created_ms) VALUES (?1, ?2)",
            params![name, crate::now_ms() as i64],
        )?;
        Ok(())
    }

    fn set_mode(&self, name: &str, mode: Mode) -> StoreResult<()> {
        self.conn().execute(
            "UPDATE sources SET mode = ?2 WHERE name = ?1",
            params![name, mode.to_string()],
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
            params![info.id, crate::now_ms() as i64],
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

    fn prune(&self, now_ms: u64, retention: Retention) -> StoreResult<PruneReport> {
        let mut report = PruneReport::default();
        for source in self.sources()? {
            let head = *self.watch_head(&source.name)?.borrow();
            let conn = self.conn();
            let Some((lo, hi)) = self.key_range(&conn, &source.name, 0)? else {
                continue;
            };
            // Remember the head, so an emptied log does not restart its sequence at 1.
            conn.prepare_cached(
                "INSERT INTO heads(source, seq) VALUES (?1, ?2)
                 ON CONFLICT(source) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            )?
            .execute(params![source.name, head as i64])?;
            let mut delete =
                conn.prepare_cached("DELETE FROM event_log WHERE key > ?1 AND key < ?2")?;
            let cutoff = now_ms.saturating_sub(retention.max_age_ms);
            let keep_from = self
                .first_at_or_after(&conn, (lo, hi), cutoff)?
                .unwrap_or(head + 1)
                .max(head.saturating_sub(retention.max_events) + 1);
            let base = lo;
            let mut removed = delete.execute(params![lo, base + keep_from as i64])? as u64;
            // Byte cap: drop the oldest tenth until the total fits.
            loop {
                let (count, bytes): (i64, i64) = conn
                    .prepare_cached(
                        "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM event_log
                         WHERE key > ?1 AND key <= ?2",
                    )?
                    .query_row(params![lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))?;
                if bytes as u64 <= retention.max_bytes || count == 0 {
                    break;
                }
                let drop_n = (count / 10).max(1);
                let upto: i64 = conn
                    .prepare_cached(
                        "SELECT key FROM event_log WHERE key > ?1 AND key <= ?2
                         ORDER BY key LIMIT 1 OFFSET ?3",
                    )?
                    .query_row(params![lo, hi, drop_n - 1], |r| r.get(0))?;
                removed += delete.execute(params![lo, upto + 1])? as u64;
            }
            if removed > 0 {
                self.tails.forget(&source.name);
                report.removed.push((source.name.clone(), removed));
            }
        }
        Ok(report)
    }

    fn stats(&self, source: &str) -> StoreResult<(u64, u64)> {
        let conn = self.conn();
        let Some((lo, hi)) = self.key_range(&conn, source, 0)? else {
            return Ok((0, 0));
        };
        let (count, bytes): (i64, i64) = conn
            .prepare_cached(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM event_log
                 WHERE key > ?1 AND key <= ?2",
            )?
            .query_row(params![lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((count as u64, bytes as u64))
    }
}
