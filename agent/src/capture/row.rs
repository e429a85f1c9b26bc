//! Mapping a [`Capture`] to the `captures` table's columns and back.

use crate::model::{Capture, CaptureKind};
use anyhow::{anyhow, Context};
use rusqlite::blob::ZeroBlob;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{params, params_from_iter, Connection, Row, MAIN_DB};
use shared::exchange::Headers;
use shared::{DeliveryError, DeliveryOutcome, EventId, HttpRequest, HttpResponse};

/// The columns [`from_row`] reads, in order.
pub(super) const COLUMNS: &str = "id, seq, source, kind, received_at_ms, delivered_at_ms, \
    answered_at_ms, method, path, query, request_headers, \
    coalesce((SELECT body FROM large_bodies WHERE capture = captures.row_id), request_body), \
    target_url, status, response_headers, response_body, error, duration_us, duplicate, replay_of";

/// Request bodies from this size on are kept in `large_bodies`, written into place with
/// SQLite's incremental blob I/O. Bound as a parameter, a body is copied by SQLite and copied
/// again into the row's record (three bodies in memory with the caller's); and an outcome
/// recorded later rewrites the whole row, body included. Small bodies stay in the row: one
/// statement is cheaper than three.
pub(super) const LARGE_BODY: usize = 64 * 1024;

/// Inserts a capture, or overwrites every column of the one with the same id while keeping its
/// place in the history.
pub(super) const UPSERT: &str = "INSERT INTO captures (id, seq, source, kind, received_at_ms, \
    delivered_at_ms, answered_at_ms, method, path, query, request_headers, request_body, \
    target_url, status, response_headers, response_body, error, duration_us, duplicate, replay_of) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) \
    ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, source = excluded.source, \
    kind = excluded.kind, received_at_ms = excluded.received_at_ms, \
    delivered_at_ms = excluded.delivered_at_ms, answered_at_ms = excluded.answered_at_ms, \
    method = excluded.method, path = excluded.path, query = excluded.query, \
    request_headers = excluded.request_headers, request_body = excluded.request_body, \
    target_url = excluded.target_url, status = excluded.status, \
    response_headers = excluded.response_headers, response_body = excluded.response_body, \
    error = excluded.error, duration_us = excluded.duration_us, \
    duplicate = excluded.duplicate, replay_of = excluded.replay_of";

/// Records an outcome on an existing capture.
pub(super) const UPDATE_OUTCOME: &str = "UPDATE captures SET delivered_at_ms = ?2, \
    answered_at_ms = ?3, status = ?4, response_headers = ?5, response_body = ?6, error = ?7, \
    duration_us = ?8 WHERE id = ?1";

/// One bound parameter; bodies are borrowed, so storing a capture copies its body only into
/// SQLite itself.
pub(super) type Param<'a> = ToSqlOutput<'a>;

fn owned<'a>(v: Value) -> Param<'a> {
    ToSqlOutput::Owned(v)
}

fn blob(bytes: &[u8]) -> Param<'_> {
    ToSqlOutput::Borrowed(ValueRef::Blob(bytes))
}

/// Inserts or replaces `c` with [`UPSERT`] and `values` (its parameters), putting a large
/// request body in `large_bodies`.
pub(super) fn store(
    conn: &Connection,
    c: &Capture,
    mut values: [Param<'_>; 20],
) -> rusqlite::Result<()> {
    let body = c.request.body.as_bytes();
    if body.len() < LARGE_BODY {
        let last = conn.last_insert_rowid();
        conn.prepare_cached(UPSERT)?
            .execute(params_from_iter(values))?;
        // An insert gets a new row_id (AUTOINCREMENT never reuses one); an unchanged one
        // means the capture replaced an existing one, whose large body must not outlive it.
        if conn.last_insert_rowid() == last {
            conn.prepare_cached(
                "DELETE FROM large_bodies WHERE capture = (SELECT row_id FROM captures WHERE id = ?1)",
            )?
            .execute(params![c.id.to_string()])?;
        }
        return Ok(());
    }
    let len = i32::try_from(body.len()).map_err(|_| rusqlite::Error::BlobSizeError)?;
    values[REQUEST_BODY] = blob(&[]);
    conn.prepare_cached(UPSERT)?
        .execute(params_from_iter(values))?;
    let row_id: i64 = conn
        .prepare_cached("SELECT row_id FROM captures WHERE id = ?1")?
        .query_row(params![c.id.to_string()], |r| r.get(0))?;
    conn.prepare_cached("INSERT OR REPLACE INTO large_bodies (capture, body) VALUES (?1, ?2)")?
        .execute(params![row_id, ZeroBlob(len)])?;
    conn.blob_open(MAIN_DB, c"large_bodies", c"body", row_id, false)?
        .write_at(body, 0)
}

/// Where the request body is in [`UPSERT`]'s parameters.
const REQUEST_BODY: usize = 11;

/// The parameters of [`UPSERT`], in order.
pub(super) fn upsert_params(c: &Capture) -> anyhow::Result<[Param<'_>; 20]> {
    upsert_params_with(c, c.delivered_at_ms, c.answered_at_ms, c.outcome.as_ref())
}

/// The parameters of [`UPSERT`] for `c` with another delivery time, answer time and outcome.
pub(super) fn upsert_params_with<'a>(
    c: &'a Capture,
    delivered_at_ms: Option<u64>,
    answered_at_ms: Option<u64>,
    outcome: Option<&'a DeliveryOutcome>,
) -> anyhow::Result<[Param<'a>; 20]> {
    let [status, response_headers, response_body, error, duration_us] = outcome_values(outcome)?;
    Ok([
        owned(Value::Text(c.id.to_string())),
        owned(opt_int(c.seq())?),
        ToSqlOutput::Borrowed(ValueRef::Text(c.source.as_bytes())),
        ToSqlOutput::Borrowed(ValueRef::Text(kind_name(c.kind).as_bytes())),
        owned(int(c.received_at_ms)?),
        owned(opt_int(delivered_at_ms)?),
        owned(opt_int(answered_at_ms)?),
        ToSqlOutput::Borrowed(ValueRef::Text(c.request.method.as_bytes())),
        ToSqlOutput::Borrowed(ValueRef::Text(c.request.path.as_bytes())),
        c.request.query.as_deref().map_or(owned(Value::Null), |q| {
            ToSqlOutput::Borrowed(ValueRef::Text(q.as_bytes()))
        }),
        owned(Value::Text(headers_json(&c.request.headers)?)),
        blob(c.request.body.as_bytes()),
        ToSqlOutput::Borrowed(ValueRef::Text(c.target_url.as_bytes())),
        status,
        response_headers,
        response_body,
        error,
        duration_us,
        owned(Value::Integer(i64::from(c.duplicate))),
        owned(
            c.replay_of
                .map_or(Value::Null, |id| Value::Text(id.to_string())),
        ),
    ])
}

/// The parameters of [`UPDATE_OUTCOME`], in order.
pub(super) fn outcome_params(
    id: EventId,
    delivered_at_ms: u64,
    answered_at_ms: u64,
    outcome: &DeliveryOutcome,
) -> anyhow::Result<[Param<'_>; 8]> {
    let [status, response_headers, response_body, error, duration_us] =
        outcome_values(Some(outcome))?;
    Ok([
        owned(Value::Text(id.to_string())),
        owned(int(delivered_at_ms)?),
        owned(int(answered_at_ms)?),
        status,
        response_headers,
        response_body,
        error,
        duration_us,
    ])
}

/// status, response_headers, response_body, error, duration_us. A capture has an outcome exactly
/// when `duration_us` is not NULL, and a response exactly when `status` is not NULL.
fn outcome_values(outcome: Option<&DeliveryOutcome>) -> anyhow::Result<[Param<'_>; 5]> {
    let null = || owned(Value::Null);
    let Some(o) = outcome else {
        return Ok([null(), null(), null(), null(), null()]);
    };
    let (status, headers, body) = match o.response() {
        Some(r) => (
            owned(Value::Integer(i64::from(r.status))),
            owned(Value::Text(headers_json(&r.headers)?)),
            blob(r.body.as_bytes()),
        ),
        None => (null(), null(), null()),
    };
    let error = match o.error() {
        Some(e) => owned(Value::Text(
            serde_json::to_string(e).context("encoding the delivery error")?,
        )),
        None => null(),
    };
    Ok([status, headers, body, error, owned(int(o.duration_us())?)])
}

/// Reads a capture from a row selected with [`COLUMNS`].
pub(super) fn from_row(row: &Row<'_>) -> anyhow::Result<Capture> {
    let id: String = row.get(0)?;
    let id = parse_id(&id)?;
    let decode = || -> anyhow::Result<Capture> {
        let kind: String = row.get(3)?;
        let replay_of: Option<String> = row.get(19)?;
        let duration_us: Option<u64> = row.get(17)?;
        let outcome = match duration_us {
            None => None,
            Some(duration_us) => {
                let status: Option<u16> = row.get(13)?;
                let response = match status {
                    None => None,
                    Some(status) => Some(HttpResponse {
                        status,
                        headers: parse_headers(row.get::<_, Option<String>>(14)?.as_deref())?,
                        body: row
                            .get::<_, Option<Vec<u8>>>(15)?
                            .unwrap_or_default()
                            .into(),
                    }),
                };
                let error: Option<String> = row.get(16)?;
                let error = error
                    .map(|e| serde_json::from_str::<DeliveryError>(&e))
                    .transpose()
                    .context("decoding the delivery error")?;
                Some(match (response, error) {
                    (Some(response), _) => DeliveryOutcome::answered(response, duration_us),
                    (None, error) => DeliveryOutcome::failed(
                        error.unwrap_or_else(|| DeliveryError::Other("no answer recorded".into())),
                        duration_us,
                    ),
                })
            }
        };
        Ok(Capture {
            event: shared::Event {
                seq: row.get::<_, Option<u64>>(1)?.unwrap_or(0),
                id,
                received_at_ms: row.get(4)?,
                duplicate: row.get::<_, i64>(18)? != 0,
                proxied: false,
                request: HttpRequest {
                    method: row.get(7)?,
                    path: row.get(8)?,
                    query: row.get(9)?,
                    headers: parse_headers(Some(&row.get::<_, String>(10)?))?,
                    body: row.get::<_, Vec<u8>>(11)?.into(),
                },
            },
            source: row.get(2)?,
            kind: parse_kind(&kind)?,
            delivered_at_ms: row.get(5)?,
            answered_at_ms: row.get(6)?,
            target_url: row.get(12)?,
            outcome,
            replay_of: replay_of.as_deref().map(parse_id).transpose()?,
        })
    };
    decode().with_context(|| format!("reading capture {id} from the store"))
}

/// The name a kind is stored under (its serde name).
pub(super) fn kind_name(kind: CaptureKind) -> &'static str {
    match kind {
        CaptureKind::Event => "event",
        CaptureKind::Replay => "replay",
        CaptureKind::Verification => "verification",
        CaptureKind::Imported => "imported",
    }
}

fn parse_kind(name: &str) -> anyhow::Result<CaptureKind> {
    Ok(match name {
        "event" => CaptureKind::Event,
        "replay" => CaptureKind::Replay,
        "verification" => CaptureKind::Verification,
        "imported" => CaptureKind::Imported,
        other => return Err(anyhow!("unknown capture kind {other:?}")),
    })
}

fn parse_id(text: &str) -> anyhow::Result<EventId> {
    text.parse()
        .with_context(|| format!("invalid capture id {text:?} in the store"))
}

fn headers_json(headers: &Headers) -> anyhow::Result<String> {
    serde_json::to_string(headers).context("encoding headers")
}

fn parse_headers(json: Option<&str>) -> anyhow::Result<Headers> {
    match json {
        None => Ok(Headers::new()),
        Some(json) => serde_json::from_str(json).context("decoding headers"),
    }
}

fn int(v: u64) -> anyhow::Result<Value> {
    i64::try_from(v)
        .map(Value::Integer)
        .map_err(|_| anyhow!("{v} is too large to store"))
}

fn opt_int(v: Option<u64>) -> anyhow::Result<Value> {
    v.map_or(Ok(Value::Null), int)
}
