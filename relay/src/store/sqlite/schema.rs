//! The SQLite side of the relay's store (sources and their settings, tokens, cursors, heads,
//! retention floors): opening a connection, the versioned schema, and source rows.

use crate::store::{SenderAuth, SourceInfo, SourceSettings, SyncMode};
use rusqlite::{params, Connection};
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

/// The schema version this relay writes (SQLite's `user_version`).
const SCHEMA_VERSION: i64 = 1;

/// Creates or upgrades the schema; refuses one written by a newer relay.
pub(super) fn migrate(conn: &Connection) -> anyhow::Result<()> {
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

/// The columns [`row_to_source`] reads, in order.
pub(super) const SOURCE_COLUMNS: &str =
    "name, mode, auth_name, auth_value, proxy_deadline_ms, retention_days, retention_events";

pub(super) fn row_to_source(r: &rusqlite::Row<'_>) -> rusqlite::Result<SourceInfo> {
    let auth_name: Option<String> = r.get(2)?;
    let auth_value: Option<String> = r.get(3)?;
    let unsigned = |i: usize| -> rusqlite::Result<Option<u64>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(|v| v.max(0) as u64))
    };
    Ok(SourceInfo {
        name: r.get(0)?,
        settings: SourceSettings {
            mode: r.get::<_, String>(1)?.parse().unwrap_or_default(),
            sender_auth: match (auth_name, auth_value) {
                (Some(name), Some(value)) => Some(SenderAuth {
                    name,
                    value: value.into(),
                }),
                _ => None,
            },
            proxy_deadline_ms: unsigned(4)?,
            retention_days: unsigned(5)?,
            retention_events: unsigned(6)?,
        },
    })
}

/// Creates `name` if needed and writes all of its settings.
pub(super) fn write_settings(
    conn: &Connection,
    name: &str,
    settings: &SourceSettings,
) -> rusqlite::Result<()> {
    let auth = settings.sender_auth.as_ref();
    let signed = |v: Option<u64>| v.map(|v| v.min(i64::MAX as u64) as i64);
    conn.execute(
        "INSERT INTO sources(name, created_ms, mode, auth_name, auth_value, proxy_deadline_ms,
            retention_days, retention_events) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(name) DO UPDATE SET mode = excluded.mode, auth_name = excluded.auth_name,
            auth_value = excluded.auth_value, proxy_deadline_ms = excluded.proxy_deadline_ms,
            retention_days = excluded.retention_days, retention_events = excluded.retention_events",
        params![
            name,
            crate::clock::now_ms() as i64,
            settings.mode.to_string(),
            auth.map(|a| a.name.as_str()),
            auth.map(|a| a.value.expose()),
            signed(settings.proxy_deadline_ms),
            signed(settings.retention_days),
            signed(settings.retention_events),
        ],
    )?;
    Ok(())
}
