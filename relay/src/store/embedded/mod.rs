//! The embedded store, the zero-setup default: one data directory holding the event log's
//! segment files ([`crate::store::log`]) and the metadata in SQLite ([`crate::store::sqlite`]:
//! sources and their settings, tokens, cursors, retention floors), appended to by group commit
//! ([`writer`]).

mod flush;
mod writer;

use super::log::{dedup, EventLog, Tails};
use super::sqlite::{metadata, schema};
use super::*;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use writer::{AppendJob, Heads, Writer};

/// The relay's store in one data directory: `relay.sqlite3` and the event log `relay.events/`.
pub struct EmbeddedStore {
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

impl EmbeddedStore {
    /// How many group commits of events waited for the disk before answering (ack-mode
    /// events under `--sync full`).
    pub fn durable_appends(&self) -> u64 {
        self.log.durable_appends()
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        self.writer.close();
    }
}

impl EmbeddedStore {
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
            .spawn(move || flush::run(flush_conn, flush_log, stopped))
            .context("starting the store flush thread")?;
        Ok(EmbeddedStore {
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
        let id = metadata::source_id(&self.conn(), source)?;
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

impl Store for EmbeddedStore {
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
        let stored = metadata::cursor(&self.conn(), agent_id, source)?;
        let pending = self.writer.pending_cursor(agent_id, source);
        Ok(stored.max(pending))
    }

    fn max_cursor(&self, source: &str) -> StoreResult<Option<u64>> {
        let stored = metadata::max_cursor(&self.conn(), source)?;
        Ok(stored.max(self.writer.pending_max_cursor(source)))
    }

    fn set_cursor(&self, agent_id: &str, source: &str, seq: u64) -> StoreResult<()> {
        // Through the writer: one connection writes, so a session never waits on the write lock.
        self.writer.push_cursor(agent_id, source, seq);
        Ok(())
    }

    fn source(&self, name: &str) -> StoreResult<Option<SourceInfo>> {
        Ok(metadata::source(&self.conn(), name)?)
    }

    fn sources(&self) -> StoreResult<Vec<SourceInfo>> {
        Ok(metadata::sources(&self.conn())?)
    }

    fn set_settings(&self, name: &str, settings: &SourceSettings) -> StoreResult<()> {
        metadata::write_settings(&self.conn(), name, settings)?;
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
        Ok(metadata::ensure_source(&self.conn(), name)?)
    }

    fn add_token(&self, info: &TokenInfo, secret_hash: &[u8]) -> StoreResult<()> {
        Ok(metadata::add_token(&self.conn(), info, secret_hash)?)
    }

    fn token_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<TokenInfo>> {
        Ok(metadata::token_by_hash(&self.conn(), secret_hash)?)
    }

    fn tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        Ok(metadata::tokens(&self.conn())?)
    }

    fn revoke_token(&self, id: &str) -> StoreResult<bool> {
        Ok(metadata::revoke_token(&self.conn(), id)?)
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
            metadata::raise_floor(&self.conn(), id, &source.name, floor, head)?;
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
