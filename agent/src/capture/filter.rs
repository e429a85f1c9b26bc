//! Filtered, newest-first pages of captures: what the web inspector's list and search read.

use super::{row, CaptureStore};
use crate::model::Capture;
use anyhow::Context;
use memchr::memmem;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, params_from_iter, Connection};
use shared::EventId;

/// The SQL function [`register`] adds: `hr_contains(haystack, needle)`.
const CONTAINS: &str = "hr_contains";

/// Adds `hr_contains(haystack, needle)` to `conn`: true when the text or blob `haystack`
/// contains `needle`, ignoring ASCII case, over all its bytes (a binary body is searched too).
///
/// Searching a day of history scans every body. SQLite's `LIKE` decodes UTF-8 a character at a
/// time (and `CAST(.. AS TEXT)` stops at a NUL byte); here each body is lower-cased into a
/// reused buffer and searched with memchr's SIMD substring search, which costs the same
/// whatever the needle (an Aho-Corasick searcher was slower for needles of common bytes).
pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        CONTAINS,
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let finder = ctx.get_or_create_aux(1, |needle| {
                Ok::<_, std::convert::Infallible>(
                    memmem::Finder::new(&bytes_of(needle).to_ascii_lowercase()).into_owned(),
                )
            })?;
            Ok(contains_ignoring_case(bytes_of(ctx.get_raw(0)), &finder))
        },
    )
}

thread_local! {
    static LOWERED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn contains_ignoring_case(haystack: &[u8], finder: &memmem::Finder<'static>) -> bool {
    if finder.needle().len() > haystack.len() {
        return false;
    }
    LOWERED.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        buf.extend(haystack.iter().map(u8::to_ascii_lowercase));
        finder.find(&buf).is_some()
    })
}

fn bytes_of(v: ValueRef<'_>) -> &[u8] {
    match v {
        ValueRef::Text(b) | ValueRef::Blob(b) => b,
        _ => b"",
    }
}

/// A status class to filter on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// Answered with a status in `n00..=n99` (n = 1 to 5).
    Answered(u16),
    /// No answer: refused, timed out, skipped...
    Failed,
    /// Not answered yet.
    Pending,
}

impl std::str::FromStr for StatusClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "failed" | "error" => Ok(StatusClass::Failed),
            "pending" => Ok(StatusClass::Pending),
            c if c.len() == 3 && c.ends_with("xx") => match &c[..1] {
                d @ ("1" | "2" | "3" | "4" | "5") => Ok(StatusClass::Answered(
                    d.parse::<u16>().map_err(|e| e.to_string())? * 100,
                )),
                _ => Err(format!("unknown status class {s:?}")),
            },
            _ => Err(format!(
                "unknown status class {s:?} (expected 1xx..5xx, failed or pending)"
            )),
        }
    }
}

/// What a page of captures must match; every part given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these status classes (any of them); empty: all.
    pub status: Vec<StatusClass>,
    /// Only captures whose body mentions this text, ignoring ASCII case. The caller checks the
    /// exact event type on what comes back (see [`CaptureStore::page_matching`]'s `keep`).
    pub body_mentions: Option<String>,
    /// Free text: path, status code or body text contains it (ASCII case ignored).
    pub search: Option<String>,
}

impl CaptureStore {
    /// Up to `limit` captures matching `filter` and `keep`, newest first, recorded before the
    /// capture `before` (the previous page's last id) or from the newest when `None`. Returns
    /// the page and whether older matches may follow.
    ///
    /// SQL narrows by `filter`; `keep` then checks what SQL cannot say cheaply (an Okta event
    /// type inside the JSON body). Rows are read in chunks until the page is full.
    pub fn page_matching(
        &self,
        filter: &Filter,
        before: Option<EventId>,
        limit: usize,
        keep: impl Fn(&Capture) -> bool,
    ) -> anyhow::Result<(Vec<Capture>, bool)> {
        let limit = limit.max(1);
        let (sql, mut values) = select(filter);
        let cursor_at = values.len() + 1;
        let chunk = (limit * 2).clamp(16, 500);
        values.push(Value::Null);
        values.push(Value::Integer(i64::try_from(chunk + 1).unwrap_or(i64::MAX)));
        let mut bound = match before {
            None => i64::MAX,
            Some(id) => match self.row_id(id)? {
                Some(r) => r,
                None => return Ok((Vec::new(), false)),
            },
        };
        let sql = format!(
            "SELECT {}, row_id FROM captures WHERE row_id < ?{cursor_at} {sql} \
             ORDER BY row_id DESC LIMIT ?{}",
            row::COLUMNS,
            cursor_at + 1
        );
        let mut out = Vec::with_capacity(limit);
        loop {
            values[cursor_at - 1] = Value::Integer(bound);
            let conn = self.lock();
            let rows = collect_with_row_id(&conn, &sql, &values)
                .context("reading a filtered page of captures")?;
            drop(conn);
            let more = rows.len() > chunk;
            for (c, row_id) in rows.into_iter().take(chunk) {
                bound = row_id;
                if keep(&c) {
                    if out.len() == limit {
                        return Ok((out, true));
                    }
                    out.push(c);
                }
            }
            if !more {
                return Ok((out, false));
            }
        }
    }

    /// Ids of the captures that replay `id`, oldest first.
    pub fn replays_of(&self, id: EventId) -> anyhow::Result<Vec<EventId>> {
        let conn = self.lock();
        let run = || -> anyhow::Result<Vec<EventId>> {
            let mut stmt = conn
                .prepare_cached("SELECT id FROM captures WHERE replay_of = ?1 ORDER BY row_id")?;
            let ids = stmt.query_map(params![id.to_string()], |r| r.get::<_, String>(0))?;
            ids.map(|i| Ok(i?.parse::<EventId>()?)).collect()
        };
        run().with_context(|| format!("listing the replays of {id}"))
    }

    fn row_id(&self, id: EventId) -> anyhow::Result<Option<i64>> {
        use rusqlite::OptionalExtension;
        let conn = self.lock();
        conn.prepare_cached("SELECT row_id FROM captures WHERE id = ?1")
            .and_then(|mut s| {
                s.query_row(params![id.to_string()], |r| r.get(0))
                    .optional()
            })
            .with_context(|| format!("looking up capture {id}"))
    }
}

/// The `AND ...` conditions for `filter`, with their values (numbered from `?1`).
fn select(filter: &Filter) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    if !filter.status.is_empty() {
        let parts: Vec<String> = filter
            .status
            .iter()
            .map(|class| match class {
                StatusClass::Answered(base) => {
                    format!("(status >= {base} AND status < {})", base + 100)
                }
                StatusClass::Failed => "(status IS NULL AND duration_us IS NOT NULL)".into(),
                StatusClass::Pending => "(duration_us IS NULL AND kind != 'verification')".into(),
            })
            .collect();
        sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
    }
    if let Some(text) = filter.body_mentions.as_deref().filter(|t| !t.is_empty()) {
        values.push(Value::Text(text.to_string()));
        sql.push_str(&format!(" AND {}", body_contains(values.len())));
    }
    if let Some(text) = filter.search.as_deref().filter(|t| !t.is_empty()) {
        values.push(Value::Text(text.to_string()));
        let n = values.len();
        let mut any = format!("{CONTAINS}(path, ?{n}) OR {CONTAINS}(query, ?{n})");
        if let Ok(code) = text.trim().parse::<u16>() {
            any.push_str(&format!(" OR status = {code}"));
        }
        any.push_str(" OR ");
        any.push_str(&body_contains(n));
        sql.push_str(&format!(" AND ({any})"));
    }
    (sql, values)
}

/// The request body (in the row or in `large_bodies`) or the response body contains `?n`.
/// Large bodies are searched once, as a set, rather than probed for every row.
fn body_contains(n: usize) -> String {
    format!(
        "({CONTAINS}(request_body, ?{n}) OR {CONTAINS}(response_body, ?{n}) \
          OR row_id IN (SELECT capture FROM large_bodies WHERE {CONTAINS}(body, ?{n})))"
    )
}

fn collect_with_row_id(
    conn: &rusqlite::Connection,
    sql: &str,
    values: &[Value],
) -> anyhow::Result<Vec<(Capture, i64)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(values.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let row_id: i64 = r.get(20)?;
        out.push((row::from_row(r)?, row_id));
    }
    Ok(out)
}
