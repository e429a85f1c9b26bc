//! Large bodies go into their row in pieces: the row is written with a placeholder of the
//! right length (a zeroblob, which SQLite never holds in memory), then the bytes are copied in
//! through SQLite's incremental blob I/O. Binding a 10 MB body directly makes SQLite build two
//! 10 MB copies of it first.

use super::row::Param;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, MAIN_DB};
use shared::EventId;
use std::io::Write;

/// Bodies larger than this are written in pieces.
pub(super) const STREAM_ABOVE: usize = 64 * 1024;

/// The parameter for a body column: the bytes, or a placeholder to [`fill`] afterwards.
pub(super) fn param(bytes: &[u8]) -> Param<'_> {
    match i32::try_from(bytes.len()) {
        Ok(len) if bytes.len() > STREAM_ABOVE => ToSqlOutput::ZeroBlob(len),
        _ => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
    }
}

/// Copies the large bodies of capture `id` into the placeholders [`param`] left.
pub(super) fn fill(
    conn: &Connection,
    id: EventId,
    request_body: &[u8],
    response_body: Option<&[u8]>,
) -> rusqlite::Result<()> {
    let large = |b: &&[u8]| b.len() > STREAM_ABOVE && i32::try_from(b.len()).is_ok();
    let columns = [
        (c"request_body", Some(request_body).filter(large)),
        (c"response_body", response_body.filter(large)),
    ];
    if columns.iter().all(|(_, b)| b.is_none()) {
        return Ok(());
    }
    let row_id: i64 = conn
        .prepare_cached("SELECT row_id FROM captures WHERE id = ?1")?
        .query_row(params![id.to_string()], |r| r.get(0))?;
    for (column, bytes) in columns {
        let Some(bytes) = bytes else { continue };
        let mut blob = conn.blob_open(MAIN_DB, c"captures", column, row_id, false)?;
        blob.write_all(bytes)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    }
    Ok(())
}
