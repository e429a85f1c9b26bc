//! Opening a capture-store connection: pragmas and the `user_version` schema migrations.

use anyhow::{bail, Context};
use rusqlite::Connection;
use std::time::Duration;

/// The schema version this build writes; older files are migrated up to it on open.
pub(super) const SCHEMA_VERSION: i64 = 3;

/// Each entry upgrades the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema.
    "CREATE TABLE captures (
        row_id INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        seq INTEGER,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        received_at_ms INTEGER NOT NULL,
        delivered_at_ms INTEGER,
        answered_at_ms INTEGER,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        query TEXT,
        request_headers TEXT NOT NULL,
        request_body BLOB NOT NULL,
        target_url TEXT NOT NULL,
        status INTEGER,
        response_headers TEXT,
        response_body BLOB,
        error TEXT,
        duration_us INTEGER,
        duplicate INTEGER NOT NULL DEFAULT 0,
        replay_of TEXT
    );
    CREATE INDEX captures_received_at ON captures(received_at_ms);
    CREATE TABLE cursors (
        relay TEXT NOT NULL,
        source TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (relay, source)
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    // 1 -> 2: large request bodies in their own table (see `row::LARGE_BODY`), keyed by their
    // capture's row_id. No triggers keep them in step: an update trigger on `captures` would
    // make every insert keep a statement journal. Writes and pruning do it themselves.
    "CREATE TABLE large_bodies (
        capture INTEGER PRIMARY KEY,
        body BLOB NOT NULL
    );",
    // 2 -> 3: the inspector lists an event's replays on its page. Partial, so the listener's
    // inserts (never replays) do not pay for it.
    "CREATE INDEX IF NOT EXISTS captures_replay_of ON captures(replay_of) WHERE replay_of IS NOT NULL;",
];

/// Sets the pragmas every connection needs. `file_backed` turns on WAL, which an in-memory
/// database does not support.
pub(super) fn configure(
    conn: &Connection,
    busy_timeout: Duration,
    file_backed: bool,
) -> anyhow::Result<()> {
    conn.busy_timeout(busy_timeout)
        .context("setting busy_timeout")?;
    // A capture (request and answer of a ~2-3 KB webhook) fills most of a 4 KiB page on its
    // own; 8 KiB pages hold three. Takes effect only on a new file (before WAL is on).
    conn.pragma_update(None, "page_size", 8192)
        .context("setting page_size")?;
    if file_backed {
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .context("enabling WAL")?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!("could not enable WAL (journal_mode is {mode})");
        }
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .context("setting synchronous=NORMAL")?;
    // SQLite's default checkpoint size, written out: a checkpoint runs inside the commit that
    // fills the WAL, so the listener's recorder waits for it, and once its bytes are full so do
    // deliveries. With 8 KiB pages 1,000 pages (8 MB) is a stall of a few milliseconds; 5,000
    // stalled for tens (p99 61 ms at saturation against 14) and saved no CPU we could measure.
    conn.pragma_update(None, "wal_autocheckpoint", 1000)
        .context("setting wal_autocheckpoint")?;
    // SQLite's default page cache is 2 MB per connection, a tenth of the agent's memory. The
    // listener appends (row ids and v7 ids rise with time, so inserts touch the newest pages)
    // and readers fetch a few rows by key, so 1 MiB does; the OS caches the file besides.
    conn.pragma_update(None, "cache_size", -1024)
        .context("setting cache_size")?;
    conn.set_prepared_statement_cache_capacity(32);
    super::filter::register(conn).context("adding the body search function")?;
    Ok(())
}

/// Brings the schema up to [`SCHEMA_VERSION`] in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .context("starting the schema migration")?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .context("reading the schema version")?;
    if version > SCHEMA_VERSION {
        bail!(
            "schema version {version} is newer than this agent understands ({SCHEMA_VERSION}); \
             upgrade hookrelay"
        );
    }
    if version < 0 {
        bail!("invalid schema version {version}");
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)
            .with_context(|| format!("migrating the schema from version {from}"))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .context("recording the schema version")?;
    tx.commit().context("committing the schema migration")?;
    Ok(())
}
