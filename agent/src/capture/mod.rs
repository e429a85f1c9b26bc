//! The agent's local SQLite store of captured exchanges: history, replay, export.
//!
//! One connection behind an `Arc<Mutex<_>>`: every call is a short statement or transaction, so
//! callers (the listener, the TUI, replays) simply take turns. Async callers may call it
//! directly; a call holds the lock for a few microseconds to milliseconds, never across `.await`.

mod batch;
mod filter;
mod row;
mod schema;

pub use batch::Record;
pub use filter::{Filter, StatusClass};

use crate::model::Capture;
use anyhow::{anyhow, bail, Context};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use shared::{DeliveryOutcome, EventId};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a call waits for another process (say a second `agent`) holding the file's lock.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Advances a cursor, never backwards.
const SET_CURSOR: &str = "INSERT INTO cursors (relay, source, seq) VALUES (?1, ?2, ?3) \
     ON CONFLICT(relay, source) DO UPDATE SET seq = max(seq, excluded.seq)";

/// Shortest id prefix [`CaptureStore::resolve`] accepts.
pub const MIN_PREFIX_LEN: usize = 4;

/// The capture store. Cheap to clone (clones share one connection); safe to share between threads.
#[derive(Clone)]
pub struct CaptureStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for CaptureStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureStore").finish_non_exhaustive()
    }
}

impl CaptureStore {
    /// Opens (creating if needed) the store at `path`, creating its parent directories and
    /// migrating an older schema.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with_busy_timeout(path, DEFAULT_BUSY_TIMEOUT)
    }

    /// [`open`](Self::open), waiting at most `busy_timeout` for a lock another process holds.
    pub fn open_with_busy_timeout(path: &Path, busy_timeout: Duration) -> anyhow::Result<Self> {
        let open = || -> anyhow::Result<Connection> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating directory {}", dir.display()))?;
            }
            let mut conn = Connection::open(path)?;
            schema::configure(&conn, busy_timeout, true)?;
            schema::migrate(&mut conn)?;
            Ok(conn)
        };
        let conn = open().with_context(|| format!("opening capture store {}", path.display()))?;
        Ok(Self::wrap(conn))
    }

    /// A store that lives only in memory.
    pub fn open_in_memory() -> anyhow::Result<Self> {
        let open = || -> anyhow::Result<Connection> {
            let mut conn = Connection::open_in_memory()?;
            schema::configure(&conn, DEFAULT_BUSY_TIMEOUT, false)?;
            schema::migrate(&mut conn)?;
            Ok(conn)
        };
        Ok(Self::wrap(
            open().context("opening an in-memory capture store")?,
        ))
    }

    fn wrap(conn: Connection) -> Self {
        CaptureStore {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    /// `<platform data dir>/hookrelay/captures.sqlite3`, or `./.hookrelay/captures.sqlite3` on
    /// a platform without one.
    pub fn default_path() -> PathBuf {
        dirs::data_dir()
            .map(|d| d.join("hookrelay"))
            .unwrap_or_else(|| PathBuf::from(".hookrelay"))
            .join("captures.sqlite3")
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave the connection half-changed: SQLite rolls
        // back an unfinished transaction when its guard drops. So a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts or replaces a capture by id. A replaced capture keeps its place in the history.
    pub fn insert(&self, c: &Capture) -> anyhow::Result<()> {
        // One transaction: a large body is written by statements of its own.
        self.insert_many(std::slice::from_ref(c))
    }

    /// Inserts or replaces many captures in one transaction (e.g. an import), in order.
    pub fn insert_many(&self, captures: &[Capture]) -> anyhow::Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().context("starting a transaction")?;
        for c in captures {
            upsert(&tx, c).with_context(|| format!("storing capture {}", c.id))?;
        }
        tx.commit().context("committing captures")
    }

    /// Records the outcome of a capture's delivery. Fails if no capture has that id.
    pub fn record_outcome(
        &self,
        id: EventId,
        delivered_at_ms: u64,
        answered_at_ms: u64,
        outcome: &DeliveryOutcome,
    ) -> anyhow::Result<()> {
        let conn = self.lock();
        let run = || -> anyhow::Result<usize> {
            let values = row::outcome_params(id, delivered_at_ms, answered_at_ms, outcome)?;
            Ok(conn
                .prepare_cached(row::UPDATE_OUTCOME)?
                .execute(params_from_iter(values))?)
        };
        let changed = run().with_context(|| format!("recording the outcome of capture {id}"))?;
        if changed == 0 {
            bail!("recording the outcome of capture {id}: no such capture");
        }
        Ok(())
    }

    /// One capture.
    pub fn get(&self, id: EventId) -> anyhow::Result<Option<Capture>> {
        let conn = self.lock();
        let sql = format!("SELECT {} FROM captures WHERE id = ?1", row::COLUMNS);
        let run = || -> anyhow::Result<Option<Capture>> {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![id.to_string()])?;
            rows.next()?.map(row::from_row).transpose()
        };
        run().with_context(|| format!("reading capture {id}"))
    }

    /// A capture by full id or unique prefix of at least [`MIN_PREFIX_LEN`] characters.
    pub fn resolve(&self, id_or_prefix: &str) -> anyhow::Result<Capture> {
        let wanted = id_or_prefix.trim();
        if let Ok(id) = wanted.parse::<EventId>() {
            return self
                .get(id)?
                .ok_or_else(|| anyhow!("no capture matches {wanted}"));
        }
        let prefix = wanted.to_ascii_lowercase();
        if prefix.len() < MIN_PREFIX_LEN
            || !prefix.chars().all(|ch| ch.is_ascii_hexdigit() || ch == '-')
        {
            bail!(
                "{wanted:?} is not a capture id: give a full id or at least {MIN_PREFIX_LEN} of \
                 its leading characters"
            );
        }
        let conn = self.lock();
        // Ids are lower-case hex and dashes, all of which sort below 'z'; a range scan uses the
        // id index where `LIKE` would not.
        let upper = format!("{prefix}z");
        let run = || -> anyhow::Result<(u64, Option<String>)> {
            let count: u64 = conn
                .prepare_cached("SELECT COUNT(*) FROM captures WHERE id >= ?1 AND id < ?2")?
                .query_row(params![prefix, upper], |r| r.get(0))?;
            let first: Option<String> = conn
                .prepare_cached("SELECT id FROM captures WHERE id >= ?1 AND id < ?2 LIMIT 1")?
                .query_row(params![prefix, upper], |r| r.get(0))
                .optional()?;
            Ok((count, first))
        };
        let (count, first) = run().with_context(|| format!("looking up capture {wanted}"))?;
        match (count, first) {
            (1, Some(id)) => {
                drop(conn);
                let id: EventId = id
                    .parse()
                    .with_context(|| format!("invalid capture id {id:?} in the store"))?;
                self.get(id)?
                    .ok_or_else(|| anyhow!("no capture matches {wanted}"))
            }
            (0, _) | (_, None) => bail!("no capture matches {wanted}"),
            (n, _) => bail!("{wanted} is ambiguous ({n} captures)"),
        }
    }

    /// The newest `limit` captures, oldest first.
    pub fn recent(&self, limit: usize) -> anyhow::Result<Vec<Capture>> {
        self.page_before(None, limit)
    }

    /// The newest `limit` captures recorded before capture `before` (or before now when `None`),
    /// oldest first: scrolling back through history a page at a time. An unknown `before` gives
    /// an empty page.
    pub fn page_before(
        &self,
        before: Option<EventId>,
        limit: usize,
    ) -> anyhow::Result<Vec<Capture>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.lock();
        let mut out = match before {
            None => {
                let sql = format!(
                    "SELECT {} FROM captures ORDER BY row_id DESC LIMIT ?1",
                    row::COLUMNS
                );
                collect(&conn, &sql, params![limit])
            }
            Some(id) => {
                let sql = format!(
                    "SELECT {} FROM captures WHERE row_id < \
                     (SELECT row_id FROM captures WHERE id = ?1) ORDER BY row_id DESC LIMIT ?2",
                    row::COLUMNS
                );
                collect(&conn, &sql, params![id.to_string(), limit])
            }
        }
        .context("reading recent captures")?;
        out.reverse();
        Ok(out)
    }

    /// Every capture received at or after `since_ms` (ms since the Unix epoch), oldest first.
    pub fn list_since(&self, since_ms: u64) -> anyhow::Result<Vec<Capture>> {
        let since = i64::try_from(since_ms).unwrap_or(i64::MAX);
        let conn = self.lock();
        let sql = format!(
            "SELECT {} FROM captures WHERE received_at_ms >= ?1 ORDER BY row_id",
            row::COLUMNS
        );
        collect(&conn, &sql, params![since]).context("listing captures")
    }

    /// Every capture, oldest first.
    pub fn all(&self) -> anyhow::Result<Vec<Capture>> {
        let conn = self.lock();
        let sql = format!("SELECT {} FROM captures ORDER BY row_id", row::COLUMNS);
        collect(&conn, &sql, []).context("listing captures")
    }

    /// The ids of the newest captures (at most `limit`, newest first) whose request or response
    /// body contains `needle`, ignoring ASCII case. Bodies are read as text up to their first
    /// NUL byte. Scans bodies newest first until `limit` match (every body when fewer do).
    pub fn ids_with_body_containing(
        &self,
        needle: &str,
        limit: usize,
    ) -> anyhow::Result<Vec<EventId>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // LIKE ignores ASCII case without the lower-cased copy of each body lower() would make.
        let mut pattern = String::with_capacity(needle.len() + 2);
        pattern.push('%');
        for ch in needle.chars() {
            if matches!(ch, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(ch);
        }
        pattern.push('%');
        let conn = self.lock();
        let run = || -> anyhow::Result<Vec<EventId>> {
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM captures \
                 WHERE CAST(request_body AS TEXT) LIKE ?1 ESCAPE '\\' \
                    OR CAST(response_body AS TEXT) LIKE ?1 ESCAPE '\\' \
                 ORDER BY row_id DESC LIMIT ?2",
            )?;
            let ids = stmt.query_map(params![pattern, limit], |r| r.get::<_, String>(0))?;
            ids.map(|id| {
                let id = id?;
                id.parse()
                    .with_context(|| format!("invalid capture id {id:?} in the store"))
            })
            .collect()
        };
        run().with_context(|| format!("searching capture bodies for {needle:?}"))
    }

    /// How many captures the store holds.
    pub fn count(&self) -> anyhow::Result<u64> {
        let conn = self.lock();
        conn.prepare_cached("SELECT COUNT(*) FROM captures")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .context("counting captures")
    }

    /// Deletes all but the newest `keep` captures; returns how many it deleted.
    pub fn prune(&self, keep: usize) -> anyhow::Result<usize> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let mut conn = self.lock();
        let mut run = || -> rusqlite::Result<usize> {
            let tx = conn.transaction()?;
            let last: Option<i64> = tx
                .prepare_cached(
                    "SELECT row_id FROM captures ORDER BY row_id DESC LIMIT 1 OFFSET ?1",
                )?
                .query_row(params![keep], |r| r.get(0))
                .optional()?;
            let Some(last) = last else {
                return Ok(0);
            };
            tx.prepare_cached("DELETE FROM large_bodies WHERE capture <= ?1")?
                .execute(params![last])?;
            let n = tx
                .prepare_cached("DELETE FROM captures WHERE row_id <= ?1")?
                .execute(params![last])?;
            tx.commit()?;
            Ok(n)
        };
        run().context("pruning old captures")
    }

    /// The last sequence acked to `relay` on `source`.
    pub fn cursor(&self, relay: &str, source: &str) -> anyhow::Result<Option<u64>> {
        let conn = self.lock();
        conn.prepare_cached("SELECT seq FROM cursors WHERE relay = ?1 AND source = ?2")
            .and_then(|mut s| s.query_row(params![relay, source], |r| r.get(0)).optional())
            .with_context(|| format!("reading the cursor for {relay} source {source}"))
    }

    /// Every cursor kept for the relay `relay_key`, by source: those stored under the key
    /// `{relay_key}#{source}` (how a listener names its cursors, one per source).
    pub fn cursors_of(&self, relay_key: &str) -> anyhow::Result<Vec<(String, u64)>> {
        let conn = self.lock();
        conn.prepare_cached("SELECT source, seq FROM cursors WHERE relay = ?1 || '#' || source")
            .and_then(|mut s| {
                s.query_map(params![relay_key], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .with_context(|| format!("reading the cursors for {relay_key}"))
    }

    /// This installation's stable agent id, created on first use.
    pub fn agent_id(&self) -> anyhow::Result<String> {
        let conn = self.lock();
        let run = || -> rusqlite::Result<String> {
            conn.prepare_cached("INSERT OR IGNORE INTO meta (key, value) VALUES ('agent_id', ?1)")?
                .execute(params![uuid::Uuid::new_v4().to_string()])?;
            conn.prepare_cached("SELECT value FROM meta WHERE key = 'agent_id'")?
                .query_row([], |r| r.get(0))
        };
        run().context("reading the agent id")
    }
}

fn upsert(conn: &Connection, c: &Capture) -> anyhow::Result<()> {
    row::store(conn, c, row::upsert_params(c)?)?;
    Ok(())
}

fn collect(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> anyhow::Result<Vec<Capture>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(row::from_row(r)?);
    }
    Ok(out)
}
