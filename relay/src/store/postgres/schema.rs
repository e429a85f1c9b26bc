//! The PostgreSQL schema, created and upgraded by the relay itself. Its version is a row in
//! `hookrelay_schema`; instances starting together take an advisory lock, so one migrates and
//! the others then find it done. An instance refuses a schema newer than it knows, so an old
//! instance left running during an upgrade never writes to tables it does not understand.

use super::target::redact;
use tokio_postgres::Client;

/// The schema version this relay writes.
pub const SCHEMA_VERSION: i32 = 2;

/// Key of the advisory lock held while migrating ("hookrelay" in ASCII, as a number).
const MIGRATION_LOCK: i64 = 0x686f_6f6b_7265_6c61;

/// Each version's statements; index `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // Version 1. A source's row holds its head: appends lock it (see `writer`), so sequences
    // are handed out in commit order. Events keep their wire frame, as the embedded log does.
    "CREATE TABLE sources(
        id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_ms BIGINT NOT NULL,
        mode TEXT NOT NULL DEFAULT 'auto', auth_name TEXT, auth_value TEXT,
        proxy_deadline_ms BIGINT, retention_days BIGINT, retention_events BIGINT,
        head BIGINT NOT NULL DEFAULT 0);
     CREATE TABLE events(
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        seq BIGINT NOT NULL, received_ms BIGINT NOT NULL, frame BYTEA NOT NULL,
        PRIMARY KEY(source_id, seq));
     CREATE INDEX events_by_time ON events(source_id, received_ms);
     CREATE TABLE okta_keys(
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        key TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY(source_id, key));
     CREATE TABLE cursors(agent_id TEXT NOT NULL, source TEXT NOT NULL, seq BIGINT NOT NULL,
        PRIMARY KEY(agent_id, source));
     CREATE TABLE tokens(id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL,
        hash BYTEA NOT NULL UNIQUE, created_ms BIGINT NOT NULL, last_used_ms BIGINT);
     CREATE TABLE answers(id TEXT PRIMARY KEY, created_ms BIGINT NOT NULL, frame BYTEA NOT NULL);
     CREATE TABLE presence(instance TEXT NOT NULL, source TEXT NOT NULL,
        agents INTEGER NOT NULL, seen_ms BIGINT NOT NULL, PRIMARY KEY(instance, source));",
    // Version 2. An event row over ~2 kB was compressed on insert (pglz), which cost more than
    // the rest of the insert: a 3 kB Okta event took ~75 µs of the database's CPU. Rows up to
    // ~8 kB now stay in the table as they are; larger ones are still compressed and moved out
    // of line. (Only the table's storage parameter changes: existing rows stay valid.)
    "ALTER TABLE events SET (toast_tuple_target = 8160);",
];

/// Creates or upgrades the schema; refuses one written by a newer relay.
pub async fn migrate(client: &mut Client, described: &str) -> anyhow::Result<()> {
    let fail = |what: &str, e: tokio_postgres::Error| {
        anyhow::anyhow!("{what} in {described}: {}", redact(&e))
    };
    let tx = client
        .transaction()
        .await
        .map_err(|e| fail("starting the migration", e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| fail("locking the schema", e))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS hookrelay_schema(version INTEGER NOT NULL)")
        .await
        .map_err(|e| fail("creating the schema table", e))?;
    let version: i32 = tx
        .query_opt("SELECT version FROM hookrelay_schema", &[])
        .await
        .map_err(|e| fail("reading the schema version", e))?
        .map_or(0, |r| r.get(0));
    if version > SCHEMA_VERSION {
        anyhow::bail!(
            "{described} holds a hookrelay schema of version {version}, written by a newer \
             relay; this relay knows versions up to {SCHEMA_VERSION}: upgrade this relay"
        );
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| fail(&format!("migrating the schema to version {}", from + 1), e))?;
    }
    if version < SCHEMA_VERSION {
        tx.execute("DELETE FROM hookrelay_schema", &[])
            .await
            .map_err(|e| fail("recording the schema version", e))?;
        tx.execute(
            "INSERT INTO hookrelay_schema(version) VALUES ($1)",
            &[&SCHEMA_VERSION],
        )
        .await
        .map_err(|e| fail("recording the schema version", e))?;
    }
    tx.commit()
        .await
        .map_err(|e| fail("committing the migration", e))?;
    Ok(())
}
