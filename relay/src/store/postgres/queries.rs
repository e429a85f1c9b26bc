//! The read and metadata queries: plain async functions over a client, so the store decides
//! which connection runs them.
//!
//! Queries on a source's events name it as `source_id = (SELECT id FROM sources WHERE name =
//! $1)`, never by joining `sources`: with the join the planner, not knowing the id, scanned
//! every event of the table (`read_after` 222 ms, `MIN(seq)` 38 ms at 117,000 events; with the
//! sub-select, an index scan: 0.8 and 0.3 ms).

use crate::store::{
    PruneReport, Retention, SenderAuth, SourceInfo, SourceSettings, StoreError, StoreResult,
    StoredEvent, TokenInfo,
};
use std::sync::Arc;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Row};

/// A driver error as a store error (never the password: see `target::redact`).
pub fn backend(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(super::target::redact(&e))
}

fn unsigned(v: Option<i64>) -> Option<u64> {
    v.map(|v| v.max(0) as u64)
}

fn signed(v: Option<u64>) -> Option<i64> {
    v.map(|v| v.min(i64::MAX as u64) as i64)
}

/// Milliseconds since the epoch as PostgreSQL stores them.
pub fn now_ms() -> i64 {
    crate::clock::now_ms() as i64
}

const SOURCE_COLUMNS: &str =
    "name, mode, auth_name, auth_value, proxy_deadline_ms, retention_days, retention_events";

fn row_to_source(r: &Row) -> SourceInfo {
    let auth_name: Option<String> = r.get(2);
    let auth_value: Option<String> = r.get(3);
    SourceInfo {
        name: r.get(0),
        settings: SourceSettings {
            mode: r.get::<_, String>(1).parse().unwrap_or_default(),
            sender_auth: match (auth_name, auth_value) {
                (Some(name), Some(value)) => Some(SenderAuth {
                    name,
                    value: value.into(),
                }),
                _ => None,
            },
            proxy_deadline_ms: unsigned(r.get(4)),
            retention_days: unsigned(r.get(5)),
            retention_events: unsigned(r.get(6)),
        },
    }
}

pub async fn source(c: &Client, name: &str) -> StoreResult<Option<SourceInfo>> {
    let sql = format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE name = $1");
    let row = c.query_opt(&sql, &[&name]).await.map_err(backend)?;
    Ok(row.as_ref().map(row_to_source))
}

pub async fn sources(c: &Client) -> StoreResult<Vec<SourceInfo>> {
    let sql = format!("SELECT {SOURCE_COLUMNS} FROM sources ORDER BY name");
    let rows = c.query(&sql, &[]).await.map_err(backend)?;
    Ok(rows.iter().map(row_to_source).collect())
}

pub async fn ensure_source(c: &Client, name: &str) -> StoreResult<()> {
    c.execute(
        "INSERT INTO sources(name, created_ms) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        &[&name, &now_ms()],
    )
    .await
    .map_err(backend)?;
    Ok(())
}

pub async fn set_settings(c: &Client, name: &str, s: &SourceSettings) -> StoreResult<()> {
    let auth = s.sender_auth.as_ref();
    c.execute(
        "INSERT INTO sources(name, created_ms, mode, auth_name, auth_value, proxy_deadline_ms,
            retention_days, retention_events) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT(name) DO UPDATE SET mode = excluded.mode, auth_name = excluded.auth_name,
            auth_value = excluded.auth_value, proxy_deadline_ms = excluded.proxy_deadline_ms,
            retention_days = excluded.retention_days, retention_events = excluded.retention_events",
        &[
            &name,
            &now_ms(),
            &s.mode.to_string(),
            &auth.map(|a| a.name.as_str()),
            &auth.map(|a| a.value.expose()),
            &signed(s.proxy_deadline_ms),
            &signed(s.retention_days),
            &signed(s.retention_events),
        ],
    )
    .await
    .map_err(backend)?;
    Ok(())
}

/// A source's head (0 when it does not exist).
pub async fn head(c: &Client, source: &str) -> StoreResult<u64> {
    let row = c
        .query_opt("SELECT head FROM sources WHERE name = $1", &[&source])
        .await
        .map_err(backend)?;
    Ok(row.map_or(0, |r| r.get::<_, i64>(0).max(0) as u64))
}

/// The heads of `names`.
pub async fn heads(c: &Client, names: &[String]) -> StoreResult<Vec<(String, u64)>> {
    let rows = c
        .query(
            "SELECT name, head FROM sources WHERE name = ANY($1)",
            &[&names],
        )
        .await
        .map_err(backend)?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64))
        .collect())
}

pub async fn read_after(
    c: &Client,
    source: &str,
    after: u64,
    limit: usize,
) -> StoreResult<Vec<Arc<StoredEvent>>> {
    // Typed parameters: one round trip, no statement to prepare and close.
    let rows = c
        .query_typed(
            "SELECT frame FROM events WHERE source_id = (SELECT id FROM sources WHERE name = $1)
             AND seq > $2 ORDER BY seq LIMIT $3",
            &[
                (&source, Type::TEXT),
                (&(after.min(i64::MAX as u64) as i64), Type::INT8),
                (&(limit as i64), Type::INT8),
            ],
        )
        .await
        .map_err(backend)?;
    rows.iter()
        .map(|r| {
            let frame = bytes::Bytes::from(r.get::<_, Vec<u8>>(0));
            match shared::frame::decode_relay_binary(frame.clone(), usize::MAX) {
                Ok(shared::RelayMessage::Event(ev)) => {
                    Ok(Arc::new(StoredEvent::with_frame(ev, frame)))
                }
                _ => Err(StoreError::Backend(
                    "a stored event frame does not decode".into(),
                )),
            }
        })
        .collect()
}

/// The first sequence received at or after `ms`, if any.
pub async fn first_seq_since(c: &Client, source: &str, ms: u64) -> StoreResult<Option<u64>> {
    let row = c
        .query_one(
            "SELECT MIN(seq) FROM events
             WHERE source_id = (SELECT id FROM sources WHERE name = $1) AND received_ms >= $2",
            &[&source, &(ms.min(i64::MAX as u64) as i64)],
        )
        .await
        .map_err(backend)?;
    Ok(unsigned(row.get(0)))
}

/// The oldest retained sequence, if any.
pub async fn oldest_seq(c: &Client, source: &str) -> StoreResult<Option<u64>> {
    let row = c
        .query_one(
            "SELECT MIN(seq) FROM events WHERE source_id = (SELECT id FROM sources WHERE name = $1)",
            &[&source],
        )
        .await
        .map_err(backend)?;
    Ok(unsigned(row.get(0)))
}

pub async fn cursor(c: &Client, agent_id: &str, source: &str) -> StoreResult<Option<u64>> {
    let row = c
        .query_opt(
            "SELECT seq FROM cursors WHERE agent_id = $1 AND source = $2",
            &[&agent_id, &source],
        )
        .await
        .map_err(backend)?;
    Ok(row.map(|r| r.get::<_, i64>(0).max(0) as u64))
}

pub async fn max_cursor(c: &Client, source: &str) -> StoreResult<Option<u64>> {
    let row = c
        .query_one("SELECT MAX(seq) FROM cursors WHERE source = $1", &[&source])
        .await
        .map_err(backend)?;
    Ok(unsigned(row.get(0)))
}

pub async fn add_token(c: &Client, info: &TokenInfo, hash: &[u8]) -> StoreResult<()> {
    // The token's sources exist from now on (a scope names one, several, or `*`: none).
    for name in crate::token_scope::TokenScope::stored(&info.source).names() {
        ensure_source(c, name).await?;
    }
    c.execute(
        "INSERT INTO tokens(id, name, source, hash, created_ms) VALUES ($1, $2, $3, $4, $5)",
        &[
            &info.id,
            &info.name,
            &info.source,
            &hash,
            &(info.created_ms as i64),
        ],
    )
    .await
    .map_err(backend)?;
    Ok(())
}

fn row_to_token(r: &Row) -> TokenInfo {
    TokenInfo {
        id: r.get(0),
        name: r.get(1),
        source: r.get(2),
        created_ms: r.get::<_, i64>(3).max(0) as u64,
        last_used_ms: unsigned(r.get(4)),
    }
}

pub async fn token_by_hash(c: &Client, hash: &[u8]) -> StoreResult<Option<TokenInfo>> {
    let row = c
        .query_opt(
            "SELECT id, name, source, created_ms, last_used_ms, hash FROM tokens WHERE hash = $1",
            &[&hash],
        )
        .await
        .map_err(backend)?;
    let Some(row) = row else { return Ok(None) };
    // The index lookup matched; the constant-time comparison keeps the final decision free of
    // early exits on the secret's bytes.
    let stored: Vec<u8> = row.get(5);
    if !crate::tokens::constant_time_eq(&stored, hash) {
        return Ok(None);
    }
    let info = row_to_token(&row);
    c.execute(
        "UPDATE tokens SET last_used_ms = $2 WHERE id = $1",
        &[&info.id, &now_ms()],
    )
    .await
    .map_err(backend)?;
    Ok(Some(info))
}

pub async fn tokens(c: &Client) -> StoreResult<Vec<TokenInfo>> {
    let rows = c
        .query(
            "SELECT id, name, source, created_ms, last_used_ms FROM tokens ORDER BY created_ms",
            &[],
        )
        .await
        .map_err(backend)?;
    Ok(rows.iter().map(row_to_token).collect())
}

pub async fn revoke_token(c: &Client, id: &str) -> StoreResult<bool> {
    // Every instance hears of it at once and closes the token's sessions (see `bus`).
    let rows = c
        .query_typed(
            &format!(
                "WITH gone AS (DELETE FROM tokens WHERE id = $1 RETURNING id)
                 SELECT pg_notify('{}', id) FROM gone",
                super::bus::TOKEN_CHANNEL
            ),
            &[(&id, Type::TEXT)],
        )
        .await
        .map_err(backend)?;
    Ok(!rows.is_empty())
}

pub async fn stats(c: &Client, source: &str) -> StoreResult<(u64, u64)> {
    let row = c
        .query_one(
            "SELECT COUNT(*), COALESCE(SUM(length(frame)), 0)::BIGINT
             FROM events WHERE source_id = (SELECT id FROM sources WHERE name = $1)",
            &[&source],
        )
        .await
        .map_err(backend)?;
    Ok((
        row.get::<_, i64>(0).max(0) as u64,
        row.get::<_, i64>(1).max(0) as u64,
    ))
}

pub async fn size_bytes(c: &Client) -> StoreResult<u64> {
    let row = c
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await
        .map_err(backend)?;
    Ok(row.get::<_, i64>(0).max(0) as u64)
}

/// Applies retention to every source: by age, by count and by bytes, as the embedded store.
pub async fn prune(c: &Client, now: u64, default: Retention) -> StoreResult<PruneReport> {
    let mut report = PruneReport::default();
    for info in sources(c).await? {
        let r = info.settings.retention(default);
        let row = c
            .query_one(
                "SELECT id, head FROM sources WHERE name = $1",
                &[&info.name],
            )
            .await
            .map_err(backend)?;
        let (id, head): (i32, i64) = (row.get(0), row.get(1));
        let by_age = now.saturating_sub(r.max_age_ms).min(i64::MAX as u64) as i64;
        let by_count = head.saturating_sub(r.max_events.min(i64::MAX as u64) as i64) + 1;
        // The newest events whose frames together exceed the byte budget: everything up to
        // the first of them goes.
        let by_bytes: Option<i64> = c
            .query_one(
                "SELECT MAX(seq) FROM (SELECT seq, SUM(length(frame)) OVER (ORDER BY seq DESC)
                 AS total FROM events WHERE source_id = $1) t WHERE total > $2",
                &[&id, &(r.max_bytes.min(i64::MAX as u64) as i64)],
            )
            .await
            .map_err(backend)?
            .get(0);
        let removed = c
            .execute(
                "DELETE FROM events WHERE source_id = $1
                 AND (received_ms < $2 OR seq < $3 OR seq <= $4)",
                &[&id, &by_age, &by_count, &by_bytes.unwrap_or(0)],
            )
            .await
            .map_err(backend)?;
        if removed > 0 {
            c.execute(
                "DELETE FROM okta_keys WHERE source_id = $1
                 AND seq < (SELECT COALESCE(MIN(seq), $2::BIGINT + 1) FROM events WHERE source_id = $1)",
                &[&id, &head],
            )
            .await
            .map_err(backend)?;
            report.removed.push((info.name.clone(), removed));
        }
    }
    Ok(report)
}
