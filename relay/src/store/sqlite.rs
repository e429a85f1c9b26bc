//! SQLite event log: WAL, `synchronous=FULL`, one writer thread that group-commits appends.

use super::*;
use rusqlite::{params, Connection, OptionalExtension};
use shared::Header;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Most appends folded into one transaction.
const MAX_BATCH: usize = 1024;

struct AppendJob {
    source: String,
    event: NewEvent,
    reply: oneshot::Sender<StoreResult<Appended>>,
}

type Heads = Arc<Mutex<HashMap<String, watch::Sender<u64>>>>;

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    writer: mpsc::Sender<AppendJob>,
    heads: Heads,
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/relay.sqlite3`.
    pub fn open_dir(dir: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        Self::open(&dir.join("relay.sqlite3"))
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

    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let ctx = || format!("opening relay store {}", path.display());
        let conn = connect(path).with_context(ctx)?;
        migrate(&conn).with_context(ctx)?;
        let writer_conn = connect(path).with_context(ctx)?;
        let heads: Heads = Arc::default();
        let mut initial = HashMap::new();
        {
            let mut stmt = conn
                .prepare("SELECT source, seq FROM heads")
                .with_context(ctx)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .with_context(ctx)?;
            for row in rows {
                let (source, seq) = row.with_context(ctx)?;
                initial.insert(source, seq as u64);
            }
        }
        {
            let mut map = heads.lock().expect("heads lock");
            for (source, seq) in &initial {
                map.insert(source.clone(), watch::channel(*seq).0);
            }
        }
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let writer_heads = heads.clone();
        std::thread::Builder::new()
            .name("relay-store-writer".into())
            .spawn(move || write_loop(writer_conn, rx, initial, writer_heads))
            .context("starting the store writer thread")?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            writer: tx,
            heads,
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
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // The bundled SQLite has STAT4, which re-prepares a statement whenever a value bound in a
    // range (`seq > ?2` in `read_after`) changes: one SQL parse per session read. The plans here
    // never depend on bound values, so pin them.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS sources(
            name TEXT PRIMARY KEY, mode TEXT NOT NULL DEFAULT 'ack', created_ms INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS events(
            source TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
            received_at_ms INTEGER NOT NULL, duplicate INTEGER NOT NULL,
            method TEXT NOT NULL, path TEXT NOT NULL, query TEXT,
            headers TEXT NOT NULL, body BLOB NOT NULL);
         CREATE UNIQUE INDEX IF NOT EXISTS events_seq ON events(source, seq);
         CREATE INDEX IF NOT EXISTS events_time ON events(source, received_at_ms);
         CREATE TABLE IF NOT EXISTS heads(source TEXT PRIMARY KEY, seq INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS dedup(source TEXT NOT NULL, key TEXT NOT NULL,
            PRIMARY KEY(source, key)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS cursors(agent_id TEXT NOT NULL, source TEXT NOT NULL,
            seq INTEGER NOT NULL, PRIMARY KEY(agent_id, source)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS tokens(id TEXT PRIMARY KEY, name TEXT NOT NULL,
            source TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, created_ms INTEGER NOT NULL,
            last_used_ms INTEGER);",
    )?;
    let has_auth: bool = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('sources') WHERE name = 'auth_name'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has_auth {
        conn.execute_batch(
            "ALTER TABLE sources ADD COLUMN auth_name TEXT;
             ALTER TABLE sources ADD COLUMN auth_value TEXT;",
        )?;
    }
    Ok(())
}

const SOURCE_COLUMNS: &str = "name, mode, auth_name, auth_value";

fn row_to_source(r: &rusqlite::Row<'_>) -> rusqlite::Result<SourceInfo> {
    let auth_name: Option<String> = r.get(2)?;
    let auth_value: Option<String> = r.get(3)?;
    Ok(SourceInfo {
        name: r.get(0)?,
        mode: r.get::<_, String>(1)?.parse().unwrap_or_default(),
        sender_auth: match (auth_name, auth_value) {
            (Some(name), Some(value)) => Some(SenderAuth { name, value }),
            _ => None,
        },
    })
}

fn write_loop(
    mut conn: Connection,
    mut rx: mpsc::Receiver<AppendJob>,
    mut heads: HashMap<String, u64>,
    watchers: Heads,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut next = heads.clone();
        match commit_batch(&mut conn, &batch, &mut next) {
            Ok(results) => {
                heads = next;
                let mut map = watchers.lock().unwrap_or_else(|p| p.into_inner());
                for (source, seq) in &heads {
                    let tx = map
                        .entry(source.clone())
                        .or_insert_with(|| watch::channel(0).0);
                    tx.send_if_modified(|cur| {
                        let changed = *cur != *seq;
                        *cur = *seq;
                        changed
                    });
                }
                drop(map);
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "committing events failed");
                for job in batch {
                    let _ = job.reply.send(Err(StoreError::Backend(e.to_string())));
                }
            }
        }
    }
}

fn commit_batch(
    conn: &mut Connection,
    batch: &[AppendJob],
    heads: &mut HashMap<String, u64>,
) -> rusqlite::Result<Vec<Appended>> {
    let tx = conn.transaction()?;
    let mut out = Vec::with_capacity(batch.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO events(source, seq, id, received_at_ms, duplicate, method, path, query,
                                headers, body) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
        )?;
        let mut dedup =
            tx.prepare_cached("INSERT OR IGNORE INTO dedup(source, key) VALUES (?1,?2)")?;
        let mut head = tx.prepare_cached(
            "INSERT INTO heads(source, seq) VALUES (?1, ?2)
             ON CONFLICT(source) DO UPDATE SET seq = excluded.seq",
        )?;
        for job in batch {
            let ev = &job.event;
            let seq = heads.get(&job.source).copied().unwrap_or(0) + 1;
            heads.insert(job.source.clone(), seq);
            let mut duplicate = false;
            if let Some(eid) = &ev.okta_event_id {
                duplicate |= dedup.execute(params![job.source, format!("eid:{eid}")])? == 0;
            }
            if !ev.okta_uuids.is_empty() {
                let mut all_seen = true;
                for u in &ev.okta_uuids {
                    all_seen &= dedup.execute(params![job.source, format!("uuid:{u}")])? == 0;
                }
                duplicate |= all_seen;
            }
            let headers =
                serde_json::to_string(&ev.request.headers).expect("headers always serialize");
            insert.execute(params![
                job.source,
                seq as i64,
                ev.id.to_string(),
                ev.received_at_ms as i64,
                duplicate,
                ev.request.method,
                ev.request.path,
                ev.request.query,
                headers,
                ev.request.body.as_bytes(),
            ])?;
            head.execute(params![job.source, seq as i64])?;
            out.push(Appended { seq, duplicate });
        }
    }
    tx.commit()?;
    Ok(out)
}

fn row_to_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    let id: String = r.get(1)?;
    let headers: String = r.get(7)?;
    let body: Vec<u8> = r.get(8)?;
    let bad = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    Ok(StoredEvent {
        seq: r.get::<_, i64>(0)? as u64,
        id: id.parse().map_err(|e: uuid::Error| bad(1, e.to_string()))?,
        received_at_ms: r.get::<_, i64>(2)? as u64,
        duplicate: r.get(3)?,
        request: HttpRequest {
            method: r.get(4)?,
            path: r.get(5)?,
            query: r.get(6)?,
            headers: serde_json::from_str::<Vec<Header>>(&headers)
                .map_err(|e| bad(7, e.to_string()))?,
            body: body.into(),
        },
    })
}

impl Store for SqliteStore {
    fn append(&self, source: &str, event: NewEvent) -> BoxFuture<StoreResult<Appended>> {
        let writer = self.writer.clone();
        let source = source.to_string();
        Box::pin(async move {
            let (reply, rx) = oneshot::channel();
            writer
                .send(AppendJob {
                    source,
                    event,
                    reply,
                })
                .await
                .map_err(|_| StoreError::Closed)?;
            rx.await.map_err(|_| StoreError::Closed)?
        })
    }

    fn read_after(&self, source: &str, after: u64, limit: usize) -> StoreResult<Vec<StoredEvent>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, id, received_at_ms, duplicate, method, path, query, headers, body
             FROM events WHERE source = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![source, after as i64, limit as i64], row_to_event)?;
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
        let seq: Option<i64> = self.conn().query_row(
            "SELECT MIN(seq) FROM events WHERE source = ?1 AND received_at_ms >= ?2",
            params![source, ms as i64],
            |r| r.get(0),
        )?;
        Ok(seq.map(|s| s as u64).unwrap_or(head + 1))
    }

    fn oldest_seq(&self, source: &str) -> StoreResult<u64> {
        let head = *self.watch_head(source)?.borrow();
        let seq: Option<i64> = self.conn().query_row(
            "SELECT MIN(seq) FROM events WHERE source = ?1",
            params![source],
            |r| r.get(0),
        )?;
        Ok(seq.map(|s| s as u64).unwrap_or(head + 1))
    }

    fn cursor(&self, agent_id: &str, source: &str) -> StoreResult<Option<u64>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT seq FROM cursors WHERE agent_id = ?1 AND source = ?2",
                params![agent_id, source],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|s| s as u64))
    }

    fn max_cursor(&self, source: &str) -> StoreResult<Option<u64>> {
        let seq: Option<i64> = self.conn().query_row(
            "SELECT MAX(seq) FROM cursors WHERE source = ?1",
            params![source],
            |r| r.get(0),
        )?;
        Ok(seq.map(|s| s.max(0) as u64))
    }

    fn set_cursor(&self, agent_id: &str, source: &str, seq: u64) -> StoreResult<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO cursors(agent_id, source, seq) VALUES (?1, ?2, ?3)
                 ON CONFLICT(agent_id, source) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            )?
            .execute(params![agent_id, source, seq as i64])?;
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
            let conn = self.conn();
            let cutoff = now_ms.saturating_sub(retention.max_age_ms) as i64;
            let mut removed = conn.execute(
                "DELETE FROM events WHERE source = ?1 AND received_at_ms < ?2",
                params![source.name, cutoff],
            )? as u64;
            removed += conn.execute(
                "DELETE FROM events WHERE source = ?1 AND seq <= (
                    SELECT seq FROM events WHERE source = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                params![source.name, retention.max_events as i64],
            )? as u64;
            // Byte cap: drop the oldest until the total fits.
            loop {
                let (count, bytes): (i64, i64) = conn.query_row(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM events WHERE source = ?1",
                    params![source.name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                if bytes as u64 <= retention.max_bytes || count == 0 {
                    break;
                }
                let drop_n = (count / 10).max(1);
                removed += conn.execute(
                    "DELETE FROM events WHERE source = ?1 AND seq IN (
                        SELECT seq FROM events WHERE source = ?1 ORDER BY seq LIMIT ?2)",
                    params![source.name, drop_n],
                )? as u64;
            }
            if removed > 0 {
                report.removed.push((source.name.clone(), removed));
            }
        }
        Ok(report)
    }

    fn stats(&self, source: &str) -> StoreResult<(u64, u64)> {
        let (count, bytes): (i64, i64) = self.conn().query_row(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM events WHERE source = ?1",
            params![source],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((count as u64, bytes as u64))
    }
}
