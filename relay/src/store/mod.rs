//! The relay's durable state behind one trait ([`Store`]): the event log, cursors, sources and
//! their settings, tokens. [`embedded`] is the zero-setup store in a data directory: the event
//! log's segment files ([`log`]: segments, the in-memory tail, Okta dedup) and the metadata in
//! SQLite ([`sqlite`]). [`postgres`] keeps the same state in a PostgreSQL database shared
//! by several relay instances.

pub mod embedded;
pub mod log;
pub mod postgres;
pub mod sqlite;

pub use embedded::EmbeddedStore;
pub use postgres::PostgresStore;

use shared::{Event, Mode};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::watch;

/// A store failure. Ingress turns it into `503`, sessions into a relay-error close.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite (or another backend) failed.
    #[error("store: {0}")]
    Backend(String),
    /// The store's writer is gone (shutting down or crashed).
    #[error("store is closed")]
    Closed,
    /// A named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// An event to append, with what the store needs to know about it beyond the event itself.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// The event; its `seq` and `duplicate` are decided by the store on append.
    pub event: Event,
    /// Okta's `eventId`, when the body is an Okta hook.
    pub okta_event_id: Option<String>,
    /// Okta's `data.events[].uuid`s.
    pub okta_uuids: Vec<String>,
    /// Its sender's `2xx` promises a later delivery (acknowledged, not proxied), so under
    /// `--sync full` it is on disk first. A proxied event's answer comes from the delivery
    /// itself and waits only for the log write.
    pub needs_disk: bool,
}

/// Where an appended event landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Its sequence in the source's log.
    pub seq: u64,
    /// An earlier event of the source carried the same Okta ids.
    pub duplicate: bool,
}

/// An event read back from the log, with its wire frame.
#[derive(Debug)]
pub struct StoredEvent {
    /// The event.
    pub event: Event,
    /// Its wire frame, once encoded (the log keeps events as frames, so reading one back or
    /// logging it encodes it already): sent to every agent without another copy.
    frame: std::sync::OnceLock<bytes::Bytes>,
}

impl StoredEvent {
    /// An event whose frame is not encoded yet.
    pub fn new(event: Event) -> Self {
        StoredEvent {
            event,
            frame: std::sync::OnceLock::new(),
        }
    }

    /// An event together with its already encoded frame.
    pub fn with_frame(event: Event, frame: bytes::Bytes) -> Self {
        StoredEvent {
            event,
            frame: std::sync::OnceLock::from(frame),
        }
    }

    /// The event's binary wire frame, encoded at most once.
    pub fn frame(&self) -> bytes::Bytes {
        self.frame
            .get_or_init(|| shared::frame::encode_event(&self.event).into())
            .clone()
    }
}

/// A stored event reads as its event (its frame is a cache of it).
impl std::ops::Deref for StoredEvent {
    type Target = Event;
    fn deref(&self) -> &Event {
        &self.event
    }
}

/// Events are equal when what they say is; a cached frame does not count.
impl PartialEq for StoredEvent {
    fn eq(&self, other: &Self) -> bool {
        self.event == other.event
    }
}

impl Eq for StoredEvent {}

/// A source: a named webhook endpoint `/h/{name}`, and its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// Its name.
    pub name: String,
    /// How it behaves.
    pub settings: SourceSettings,
}

/// A source's settings. They live in the store, are read through
/// [`crate::state::RelayState::source_info`] and change only through `relay source set` (and
/// the embedded relay's start-up): never through an agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceSettings {
    /// How senders are answered.
    pub mode: Mode,
    /// How long a proxied sender waits for the local answer; `None`: the relay's
    /// `--proxy-deadline-ms`.
    pub proxy_deadline_ms: Option<u64>,
    /// The header every sender must present, if any.
    pub sender_auth: Option<SenderAuth>,
    /// Days delivered events are kept; `None`: the relay's `--retention-days`.
    pub retention_days: Option<u64>,
    /// Events kept at most; `None`: the relay's `--retention-events`.
    pub retention_events: Option<u64>,
}

/// Proxy deadlines a source may set, in milliseconds: long enough for a round trip over a slow
/// link, short enough to fit Okta's 3 s and any sender's patience.
pub const PROXY_DEADLINE_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=30_000;

impl SourceSettings {
    /// The proxy deadline in force, given the relay's default.
    pub fn proxy_deadline(&self, default: std::time::Duration) -> std::time::Duration {
        self.proxy_deadline_ms
            .map_or(default, std::time::Duration::from_millis)
    }

    /// The retention in force, given the relay's defaults.
    pub fn retention(&self, default: Retention) -> Retention {
        Retention {
            max_age_ms: self
                .retention_days
                .map_or(default.max_age_ms, |d| d.saturating_mul(24 * 3600 * 1000)),
            max_events: self.retention_events.unwrap_or(default.max_events),
            max_bytes: default.max_bytes,
        }
    }
}

/// A header a sender must present verbatim (Okta's *Authentication field* and *secret*).
/// `Debug` never shows the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderAuth {
    /// Header name, e.g. `Authorization` (matched case-insensitively).
    pub name: String,
    /// The exact value (a shared secret; compared in constant time).
    pub value: shared::Secret,
}

/// An agent token's public record (the secret is never stored, only its hash).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// Short public id, used to revoke.
    pub id: String,
    /// Free-form label.
    pub name: String,
    /// The sources this token may listen on, as text: a name, a comma list or `*` (read it
    /// with [`crate::token_scope::TokenScope`]).
    pub source: String,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: u64,
    /// Last successful use, ms since the Unix epoch.
    pub last_used_ms: Option<u64>,
}

/// What pruning removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// (source, events removed).
    pub removed: Vec<(String, u64)>,
}

/// Retention rules applied by pruning.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    /// Events older than this are removed.
    pub max_age_ms: u64,
    /// At most this many events per source.
    pub max_events: u64,
    /// At most this many body bytes per source.
    pub max_bytes: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age_ms: 7 * 24 * 3600 * 1000,
            max_events: 100_000,
            max_bytes: 1 << 30,
        }
    }
}

/// When a stored event counts as durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// Every event has reached the operating system before its sender gets an answer: a crash
    /// or `kill -9` of the relay loses nothing; the background flush (every second) puts it on
    /// disk. SQLite's `synchronous=NORMAL` in WAL mode.
    Normal,
    /// As `Normal`, and an ack-mode event is also on disk (`fsync`, one per group commit)
    /// before its sender gets `2xx`, since that `2xx` promises a later delivery: a power cut
    /// loses no acknowledged event. A proxy-mode answer comes from the delivery itself, so
    /// proxy-mode events wait only for the write. SQLite's `synchronous=FULL`.
    #[default]
    Full,
}

impl std::str::FromStr for SyncMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "normal" => Ok(SyncMode::Normal),
            "full" => Ok(SyncMode::Full),
            other => Err(format!(
                "unknown sync mode {other:?} (expected normal or full)"
            )),
        }
    }
}

/// A boxed future, for the one async operation (group-committed appends).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The relay's persistent state.
pub trait Store: Send + Sync + 'static {
    /// Appends an event to `source`'s log and resolves once it is durably committed.
    /// Concurrent appends share one commit.
    fn append(&self, source: &str, event: NewEvent) -> BoxFuture<StoreResult<Appended>>;
    /// Up to `limit` events of `source` with sequence > `after`, in order.
    fn read_after(
        &self,
        source: &str,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<Arc<StoredEvent>>>;
    /// The newest sequence of `source` (0 when empty); follows every commit.
    fn watch_head(&self, source: &str) -> StoreResult<watch::Receiver<u64>>;
    /// The first sequence received at or after `ms` (head + 1 when none).
    fn first_seq_since(&self, source: &str, ms: u64) -> StoreResult<u64>;
    /// The oldest sequence still retained (head + 1 when empty).
    fn oldest_seq(&self, source: &str) -> StoreResult<u64>;
    /// The last sequence `agent_id` acknowledged on `source`.
    fn cursor(&self, agent_id: &str, source: &str) -> StoreResult<Option<u64>>;
    /// The furthest acknowledgement of any agent on `source`.
    fn max_cursor(&self, source: &str) -> StoreResult<Option<u64>>;
    /// Records acknowledgements (only moves forward).
    fn set_cursor(&self, agent_id: &str, source: &str, seq: u64) -> StoreResult<()>;
    /// A source, if it exists.
    fn source(&self, name: &str) -> StoreResult<Option<SourceInfo>>;
    /// All sources.
    fn sources(&self) -> StoreResult<Vec<SourceInfo>>;
    /// Creates the source with default settings if it does not exist.
    fn ensure_source(&self, name: &str) -> StoreResult<()>;
    /// Creates the source if needed and replaces its settings.
    fn set_settings(&self, name: &str, settings: &SourceSettings) -> StoreResult<()>;
    /// Bytes the store occupies on disk (approximately).
    fn size_bytes(&self) -> StoreResult<u64>;
    /// Stores a token by the hash of its secret.
    fn add_token(&self, info: &TokenInfo, secret_hash: &[u8]) -> StoreResult<()>;
    /// The token whose secret hashes to `secret_hash`, marking it used.
    fn token_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<TokenInfo>>;
    /// All tokens.
    fn tokens(&self) -> StoreResult<Vec<TokenInfo>>;
    /// Deletes a token; false when it did not exist.
    fn revoke_token(&self, id: &str) -> StoreResult<bool>;
    /// Applies retention (`default`, or a source's own settings); returns what it removed.
    fn prune(&self, now_ms: u64, default: Retention) -> StoreResult<PruneReport>;
    /// Event count and body bytes of a source.
    fn stats(&self, source: &str) -> StoreResult<(u64, u64)>;
    /// The other relay instances sharing this store, if it can be shared.
    fn peers(&self) -> Option<Arc<dyn crate::peers::Peers>> {
        None
    }
}
