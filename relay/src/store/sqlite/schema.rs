//! The SQLite side of the relay's store (sources and their settings, tokens, cursors, heads,
//! retention floors): opening a connection, the versioned schema, and source rows.

use crate::store::SyncMode;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::Path;

/// Opens a connection with the pragmas every connection needs.
pub(crate) fn connect(path: &Path, sync: SyncMode) -> rusqlite::Result<Connection> {
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

/// The schema version this relay writes (SQLite's `user_version`).
const SCHEMA_VERSION: i64 = 1;

/// Creates or upgrades the schema; refuses one written by a newer relay.
pub(crate) fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        anyhow::bail!(
            "this store was written by a newer relay (schema version {version}; this relay \
             knows up to {SCHEMA_VERSION}): upgrade the relay"
        );
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS sources(
            name TEXT PRIMARY KEY, mode TEXT NOT NULL DEFAULT 'auto', created_ms INTEGER NOT NULL,
            auth_name TEXT, auth_value TEXT);
         CREATE TABLE IF NOT EXISTS heads(source TEXT PRIMARY KEY, seq INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS log_floors(source_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS cursors(agent_id TEXT NOT NULL, source TEXT NOT NULL,
            seq INTEGER NOT NULL, PRIMARY KEY(agent_id, source)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS tokens(id TEXT PRIMARY KEY, name TEXT NOT NULL,
            source TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, created_ms INTEGER NOT NULL,
            last_used_ms INTEGER);",
    )?;
    if version < 1 {
        // Version 1: a source's settings are the operator's (`relay source set`). The mode
        // stored before was whichever agent connected last, so it starts again from `auto`.
        conn.execute_batch(
            "BEGIN;
             ALTER TABLE sources ADD COLUMN proxy_deadline_ms INTEGER;
             ALTER TABLE sources ADD COLUMN retention_days INTEGER;
             ALTER TABLE sources ADD COLUMN retention_events INTEGER;
             UPDATE sources SET mode = 'auto';
             PRAGMA user_version = 1;
             COMMIT;",
        )?;
    }
    Ok(())
}

/// Every source's name and rowid (the name of its directory in the event log).
pub(crate) fn source_ids(conn: &Connection) -> rusqlite::Result<HashMap<String, i64>> {
    let mut stmt = conn.prepare("SELECT name, rowid FROM sources")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Heads recorded before retention emptied a log, by source name.
pub(crate) fn recorded_heads(conn: &Connection) -> rusqlite::Result<HashMap<String, u64>> {
    let mut stmt = conn.prepare("SELECT source, seq FROM heads")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    rows.collect()
}

/// The lowest retained sequence of each source's log, by source rowid.
pub(crate) fn floors(conn: &Connection) -> rusqlite::Result<HashMap<i64, u64>> {
    let mut stmt = conn.prepare("SELECT source_id, seq FROM log_floors")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    rows.collect()
}
