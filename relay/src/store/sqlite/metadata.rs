//! The metadata queries: sources and their settings, tokens, cursors and retention floors.
//! Plain functions over a connection, so whichever store holds the connection decides how it
//! is shared.

use crate::store::{SenderAuth, SourceInfo, SourceSettings, TokenInfo};
use rusqlite::{params, Connection, OptionalExtension, Result};

/// The rowid of `source` (its directory in the event log), if it exists.
pub(crate) fn source_id(conn: &Connection, source: &str) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT rowid FROM sources WHERE name = ?1")?
        .query_row(params![source], |r| r.get(0))
        .optional()
}

/// A source and its settings.
pub(crate) fn source(conn: &Connection, name: &str) -> Result<Option<SourceInfo>> {
    // Cached: the relay reads a source's settings often.
    conn.prepare_cached(&format!(
        "SELECT {SOURCE_COLUMNS} FROM sources WHERE name = ?1"
    ))?
    .query_row(params![name], row_to_source)
    .optional()
}

/// Every source, by name.
pub(crate) fn sources(conn: &Connection) -> Result<Vec<SourceInfo>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SOURCE_COLUMNS} FROM sources ORDER BY name"
    ))?;
    let rows = stmt.query_map([], row_to_source)?;
    rows.collect()
}

/// Creates `name` with default settings unless it exists.
pub(crate) fn ensure_source(conn: &Connection, name: &str) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO sources(name, created_ms) VALUES (?1, ?2)",
        params![name, crate::clock::now_ms() as i64],
    )?;
    Ok(())
}

/// The last sequence `agent_id` acknowledged on `source`, as stored.
pub(crate) fn cursor(conn: &Connection, agent_id: &str, source: &str) -> Result<Option<u64>> {
    Ok(conn
        .query_row(
            "SELECT seq FROM cursors WHERE agent_id = ?1 AND source = ?2",
            params![agent_id, source],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .map(|s| s.max(0) as u64))
}

/// The furthest stored acknowledgement on `source`.
pub(crate) fn max_cursor(conn: &Connection, source: &str) -> Result<Option<u64>> {
    let seq: Option<i64> = conn.query_row(
        "SELECT MAX(seq) FROM cursors WHERE source = ?1",
        params![source],
        |r| r.get(0),
    )?;
    Ok(seq.map(|s| s.max(0) as u64))
}

/// Records that retention dropped `source`'s events below `floor`, with its head: after a
/// crash the dropped events stay dropped, and an emptied log does not restart at 1.
pub(crate) fn raise_floor(
    conn: &Connection,
    source_id: i64,
    source: &str,
    floor: u64,
    head: u64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO log_floors(source_id, seq) VALUES (?1, ?2)
         ON CONFLICT(source_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
    )?
    .execute(params![source_id, floor as i64])?;
    conn.prepare_cached(
        "INSERT INTO heads(source, seq) VALUES (?1, ?2)
         ON CONFLICT(source) DO UPDATE SET seq = MAX(seq, excluded.seq)",
    )?
    .execute(params![source, head as i64])?;
    Ok(())
}

/// Stores a token by the hash of its secret (creating its source if needed).
pub(crate) fn add_token(conn: &Connection, info: &TokenInfo, secret_hash: &[u8]) -> Result<()> {
    // The token's sources exist from now on (a scope names one, several, or `*`: none).
    for name in crate::token_scope::TokenScope::stored(&info.source).names() {
        ensure_source(conn, name)?;
    }
    conn.execute(
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

fn row_to_token(r: &rusqlite::Row<'_>) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        source: r.get(2)?,
        created_ms: r.get::<_, i64>(3)? as u64,
        last_used_ms: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
    })
}

/// The token whose secret hashes to `secret_hash`, marked as used now.
pub(crate) fn token_by_hash(conn: &Connection, secret_hash: &[u8]) -> Result<Option<TokenInfo>> {
    let found = conn
        .query_row(
            "SELECT id, name, source, created_ms, last_used_ms, hash FROM tokens WHERE hash = ?1",
            params![secret_hash],
            |r| Ok((row_to_token(r)?, r.get::<_, Vec<u8>>(5)?)),
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

/// Every token, oldest first.
pub(crate) fn tokens(conn: &Connection) -> Result<Vec<TokenInfo>> {
    let mut stmt = conn.prepare(
        "SELECT id, name, source, created_ms, last_used_ms FROM tokens ORDER BY created_ms",
    )?;
    let rows = stmt.query_map([], row_to_token)?;
    rows.collect()
}

/// Deletes a token; false when it did not exist.
pub(crate) fn revoke_token(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM tokens WHERE id = ?1", params![id])? > 0)
}

/// The columns [`row_to_source`] reads, in order.
const SOURCE_COLUMNS: &str =
    "name, mode, auth_name, auth_value, proxy_deadline_ms, retention_days, retention_events";

fn row_to_source(r: &rusqlite::Row<'_>) -> Result<SourceInfo> {
    let auth_name: Option<String> = r.get(2)?;
    let auth_value: Option<String> = r.get(3)?;
    let unsigned = |i: usize| -> Result<Option<u64>> {
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
pub(crate) fn write_settings(
    conn: &Connection,
    name: &str,
    settings: &SourceSettings,
) -> Result<()> {
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
