//! The background flush: SQLite's WAL checkpointed and the event log's new records put on
//! disk, every second.

use crate::store::log::EventLog;
use rusqlite::Connection;
use std::sync::Arc;
use std::time::Duration;

/// How often the background thread checkpoints SQLite's WAL and flushes the event log's files
/// to disk (the events nobody waited for the disk for: all of them with `--sync normal`).
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Every [`FLUSH_EVERY`]: checkpoints SQLite's WAL into its database file, and puts the event
/// log's new records on disk (ack-mode events under `--sync full` are there already).
pub(super) fn run(conn: Connection, log: Arc<EventLog>, stop: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(FLUSH_EVERY) {
        if let Err(err) = log.flush() {
            tracing::error!(%err, "flushing the event log to disk failed");
        }
        if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(%err, "checkpointing the relay store failed");
        }
    }
    let _ = log.flush();
}
