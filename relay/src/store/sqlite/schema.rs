//! Opening a connection to the relay's SQLite file: pragmas, the schema and row mappings.

use crate::store::{SenderAuth, SourceInfo, StoredEvent, SyncMode};
use rusqlite::Connection;
use shared::{Header, HttpRequest};
use std::path::Path;

/// WAL pages after which a committing connection checkpoints by itself. The background
/// checkpointer normally keeps the WAL far below this; it is the backstop under a long burst.
const AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// Opens a connection with the pragmas every connection needs.
pub(super) fn connect(path: &Path, sync: SyncMode) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode: a commit is in the OS before it returns (a crash or kill -9 of the
    // relay loses nothing); the WAL reaches the disk at the next checkpoint. FULL also waits
    // for the disk at every commit.
    let sync = match sync {
        SyncMode::Normal => "NORMAL",
        SyncMode::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES)?;
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    // The bundled SQLite has STAT4, which re-prepares a statement whenever a value bound in a
    // range (`seq > ?2` in `read_after`) changes: one SQL parse per session read. The plans here
    // never depend on bound values, so pin them.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

/// Bits of a log key that hold the sequence; the source's rowid sits above them.
const SEQ_BITS: u32 = 40;
/// Largest sequence a key can hold.
pub(super) const MAX_SEQ: u64 = (1 << SEQ_BITS) - 1;

/// The `event_log` key of a source's event: the table's rowid, so one source's events lie in
/// sequence order at the end of the table and an append touches no index at all.
pub(super) fn log_key(source_id: i64, seq: u64) -> i64 {
    (source_id << SEQ_BITS) | seq.min(MAX_SEQ) as i64
}

/// The sequence part of a log key.
pub(super) fn seq_of(key: i64) -> u64 {
    (key as u64) & MAX_SEQ
}

/// Creates or upgrades the schema.
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS sources(
            name TEXT PRIMARY KEY, mode TEXT NOT NULL DEFAULT 'ack', created_ms INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS event_log(
            key INTEGER PRIMARY KEY, id TEXT NOT NULL,
            received_at_ms INTEGER NOT NULL, duplicate INTEGER NOT NULL,
            method TEXT NOT NULL, path TEXT NOT NULL, query TEXT,
            headers TEXT NOT NULL, body BLOB NOT NULL, okta_keys TEXT);
         CREATE TABLE IF NOT EXISTS heads(source TEXT PRIMARY KEY, seq INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS cursors(agent_id TEXT NOT NULL, source TEXT NOT NULL,
            seq INTEGER NOT NULL, PRIMARY KEY(agent_id, source)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS tokens(id TEXT PRIMARY KEY, name TEXT NOT NULL,
            source TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, created_ms INTEGER NOT NULL,
            last_used_ms INTEGER);",
    )?;
    if !has_column(conn, "sources", "auth_name")? {
        conn.execute_batch(
            "ALTER TABLE sources ADD COLUMN auth_name TEXT;
             ALTER TABLE sources ADD COLUMN auth_value TEXT;",
        )?;
    }
    let legacy: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'events'",
        [],
        |r| r.get(0),
    )?;
    if legacy {
        // Earlier relays kept events in `events` (indexed by source and seq) and dedup keys in
        // a table of their own; move them into the keyed log in one transaction.
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;
             INSERT OR IGNORE INTO sources(name, created_ms) SELECT DISTINCT source, 0 FROM events;
             INSERT INTO event_log(key, id, received_at_ms, duplicate, method, path, query,
                                   headers, body)
                SELECT (s.rowid << {SEQ_BITS}) | e.seq, e.id, e.received_at_ms, e.duplicate,
                       e.method, e.path, e.query, e.headers, e.body
                FROM events e JOIN sources s ON s.name = e.source ORDER BY s.rowid, e.seq;
             DROP TABLE events;
             DROP TABLE IF EXISTS dedup;
             COMMIT;"
        ))?;
    }
    Ok(())
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
        [table, column],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )
}

/// Every source's rowid and head: the newest sequence in its log, or the head recorded
/// before retention emptied it, whichever is larger.
pub(super) fn sources_and_heads(conn: &Connection) -> rusqlite::Result<Vec<(String, i64, u64)>> {
    let mut stmt = conn.prepare(
        "SELECT s.name, s.rowid, COALESCE(h.seq, 0) FROM sources s LEFT JOIN heads h ON h.source = s.name",
    )?;
    let rows: Vec<(String, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut newest = conn.prepare("SELECT MAX(key) FROM event_log WHERE key > ?1 AND key <= ?2")?;
    let mut out = Vec::with_capacity(rows.len());
    for (name, id, recorded) in rows {
        let max: Option<i64> =
            newest.query_row([log_key(id, 0), log_key(id, MAX_SEQ)], |r| r.get(0))?;
        let head = max.map_or(0, seq_of).max(recorded.max(0) as u64);
        out.push((name, id, head));
    }
    Ok(out)
}

/// The dedup keys of a source's newest events, oldest first, to seed [`super::dedup`].
pub(super) fn recent_keys(
    conn: &Connection,
    source_id: i64,
    limit: usize,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT okta_keys FROM event_log WHERE key > ?1 AND key <= ?2 AND okta_keys IS NOT NULL
         ORDER BY key DESC LIMIT ?3",
    )?;
    let mut keys: Vec<String> = stmt
        .query_map(
            rusqlite::params![
                log_key(source_id, 0),
                log_key(source_id, MAX_SEQ),
                limit as i64
            ],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    keys.reverse();
    Ok(keys)
}

/// The columns [`row_to_source`] reads, in order.
pub(super) const SOURCE_COLUMNS: &str = "name, mode, auth_name, auth_value";

pub(super) fn row_to_source(r: &rusqlite::Row<'_>) -> rusqlite::Result<SourceInfo> {
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

/// The columns [`row_to_event`] reads, in order.
pub(super) const EVENT_COLUMNS: &str =
    "key, id, received_at_ms, duplicate, method, path, query, headers, body";

pub(super) fn row_to_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    let id: String = r.get(1)?;
    let headers: String = r.get(7)?;
    let body: Vec<u8> = r.get(8)?;
    let bad = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    Ok(StoredEvent {
        seq: seq_of(r.get(0)?),
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
