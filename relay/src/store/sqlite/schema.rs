//! The SQLite side of the relay's store (sources, tokens, cursors, heads, retention floors):
//! opening a connection, the schema, and moving events out of the tables earlier relays kept
//! them in.

use crate::store::log::EventLog;
use crate::store::{SenderAuth, SourceInfo, StoredEvent, SyncMode};
use rusqlite::{params, Connection};
use shared::{Header, HttpRequest};
use std::collections::HashMap;
use std::path::Path;

/// Opens a connection with the pragmas every connection needs.
pub(super) fn connect(path: &Path, sync: SyncMode) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match sync {
        SyncMode::Normal => "NORMAL",
        SyncMode::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    Ok(conn)
}

/// Creates or upgrades the schema.
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS sources(
            name TEXT PRIMARY KEY, mode TEXT NOT NULL DEFAULT 'ack', created_ms INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS heads(source TEXT PRIMARY KEY, seq INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS log_floors(source_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS cursors(agent_id TEXT NOT NULL, source TEXT NOT NULL,
            seq INTEGER NOT NULL, PRIMARY KEY(agent_id, source)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS tokens(id TEXT PRIMARY KEY, name TEXT NOT NULL,
            source TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, created_ms INTEGER NOT NULL,
            last_used_ms INTEGER);",
    )?;
    let has_auth: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('sources') WHERE name = 'auth_name'",
        [],
        |r| r.get(0),
    )?;
    if !has_auth {
        conn.execute_batch(
            "ALTER TABLE sources ADD COLUMN auth_name TEXT;
             ALTER TABLE sources ADD COLUMN auth_value TEXT;",
        )?;
    }
    Ok(())
}

/// Every source's name and rowid (the name of its directory in the event log).
pub(super) fn source_ids(conn: &Connection) -> rusqlite::Result<HashMap<String, i64>> {
    let mut stmt = conn.prepare("SELECT name, rowid FROM sources")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Heads recorded before retention emptied a log, by source name.
pub(super) fn recorded_heads(conn: &Connection) -> rusqlite::Result<HashMap<String, u64>> {
    let mut stmt = conn.prepare("SELECT source, seq FROM heads")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    rows.collect()
}

/// The lowest retained sequence of each source's log, by source rowid.
pub(super) fn floors(conn: &Connection) -> rusqlite::Result<HashMap<i64, u64>> {
    let mut stmt = conn.prepare("SELECT source_id, seq FROM log_floors")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    rows.collect()
}

/// Moves events from the `events` table of earlier relays into the event log, then drops
/// the table. Safe to repeat after a crash half-way: events the log already has are skipped.
pub(super) fn move_legacy_events(conn: &Connection, log: &EventLog) -> anyhow::Result<()> {
    let legacy: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'events'",
        [],
        |r| r.get(0),
    )?;
    if !legacy {
        return Ok(());
    }
    conn.execute(
        "INSERT OR IGNORE INTO sources(name, created_ms) SELECT DISTINCT source, 0 FROM events",
        [],
    )?;
    let mut stmt = conn.prepare(
        "SELECT seq, id, received_at_ms, duplicate, method, path, query, headers, body
         FROM events WHERE source = ?1 AND seq > ?2 ORDER BY seq",
    )?;
    for (source, id) in source_ids(conn)? {
        let after = log.newest(id).unwrap_or(0);
        let rows = stmt.query_map(params![source, after as i64], legacy_event)?;
        let mut chunk = Vec::new();
        for row in rows {
            chunk.push(row?);
            if chunk.len() == 1000 {
                append_all(log, id, &chunk)?;
                chunk.clear();
            }
        }
        append_all(log, id, &chunk)?;
    }
    log.flush()?;
    conn.execute_batch("DROP TABLE events; DROP TABLE IF EXISTS dedup;")?;
    Ok(())
}

fn append_all(log: &EventLog, source_id: i64, events: &[StoredEvent]) -> std::io::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let refs: Vec<(&StoredEvent, Option<&str>)> = events.iter().map(|e| (e, None)).collect();
    log.append(source_id, &refs, false).map(drop)
}

fn legacy_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
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
        frame: Default::default(),
    })
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
