//! The PostgreSQL store (`relay serve --database-url`): every instance on one database is one
//! relay. Sources and their settings, tokens (hashed), cursors and the event log with its
//! per-source sequences all live in the database ([`schema`]); appends are group-committed
//! ([`writer`]); instances wake each other through `LISTEN`/`NOTIFY` ([`bus`]).
//!
//! The [`Store`] trait is synchronous except for `append`, and the relay runs a current-thread
//! runtime by default, so blocking on the database inside the relay's runtime would stall or
//! deadlock it. The store therefore owns its own runtime on a dedicated thread (`relay-pg`),
//! which drives every connection: `append` sends its job to the writer task and awaits the
//! answer like any future; the synchronous methods spawn their query on the store's runtime
//! and wait for it on a plain channel (a few hundred microseconds on a nearby database, the
//! same order as the embedded store's SQLite reads). Nothing on the store's runtime ever
//! calls those methods, so it never waits for itself. While the database is unreachable the
//! methods fail at once (no connection to wait on) and a background task reconnects.

mod append;
mod bus;
mod queries;
mod schema;
mod state;
mod target;
mod writer;

pub use schema::SCHEMA_VERSION;
pub use target::Target;

use super::log::Tails;
use super::*;
use bus::PgPeers;
use state::lock;
pub(crate) use state::Shared;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

/// The longest a synchronous query may take before it counts as failed.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest work on a connection of its own may take (see `query_alone`).
const LONG_QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a lost reading connection is re-established.
const RECONNECT_EVERY: Duration = Duration::from_millis(250);

/// The relay's store in a PostgreSQL database, shared by any number of instances.
pub struct PostgresStore {
    shared: Arc<Shared>,
    peers: Arc<PgPeers>,
    rt: tokio::runtime::Handle,
    jobs: Option<mpsc::Sender<writer::AppendJob>>,
    /// Cancelling it stops the store's runtime (after the writer drained).
    stop: CancellationToken,
}

impl PostgresStore {
    /// Connects to the database at `url`, creating or upgrading the schema. Errors name the
    /// host, port, database and user, never the password.
    pub fn open(url: &shared::Secret) -> anyhow::Result<Self> {
        use anyhow::Context;
        let target = Target::parse(url)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the database runtime")?;
        let handle = rt.handle().clone();
        let stop = CancellationToken::new();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let (jobs_tx, jobs_rx) = mpsc::channel(writer::MAX_QUEUED);
        let thread_stop = stop.clone();
        let thread_target = target.clone();
        std::thread::Builder::new()
            .name("relay-pg".into())
            .spawn(move || {
                rt.block_on(async move {
                    let shared = match start(thread_target).await {
                        Ok(shared) => shared,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let writer = tokio::spawn(writer::run(shared.clone(), jobs_rx));
                    tokio::spawn(bus::listen(shared.clone()));
                    tokio::spawn(bus::upkeep(shared.clone()));
                    tokio::spawn(keep_reader(shared.clone()));
                    let _ = ready_tx.send(Ok(shared.clone()));
                    thread_stop.cancelled().await;
                    // The writer ends once every job sender is gone, with the last cursors.
                    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
                    if let Ok(c) = shared.reader() {
                        let _ = c
                            .execute(
                                "DELETE FROM presence WHERE instance = $1",
                                &[&shared.instance],
                            )
                            .await;
                    }
                });
            })
            .context("starting the database thread")?;
        let shared = ready_rx
            .recv()
            .context("the database thread stopped while starting")??;
        Ok(PostgresStore {
            peers: Arc::new(PgPeers {
                shared: shared.clone(),
                rt: handle.clone(),
            }),
            shared,
            rt: handle,
            jobs: Some(jobs_tx),
            stop,
        })
    }

    /// What errors say about the database (never the password).
    pub fn describe(&self) -> &str {
        self.shared.target.describe()
    }

    /// Runs `f` with the reading connection on the store's runtime and waits for it.
    fn query<T, F, Fut>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Client>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = StoreResult<T>> + Send,
    {
        let shared = self.shared.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt.spawn(async move {
            let result = match reader_now(&shared).await {
                Ok(client) => tokio::time::timeout(QUERY_TIMEOUT, f(client))
                    .await
                    .unwrap_or_else(|_| {
                        Err(StoreError::Backend("a database query timed out".into()))
                    }),
                Err(e) => Err(e),
            };
            let _ = tx.send(result);
        });
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a connection of its own, opened for it: for work long enough (retention
    /// reads every retained frame's length) that the queries queued behind it on the reading
    /// connection — some on the relay's own thread — would wait for it.
    fn query_alone<T, F, Fut>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = StoreResult<T>> + Send,
    {
        let shared = self.shared.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt.spawn(async move {
            let result = match shared.target.connect(None).await {
                Ok(client) => tokio::time::timeout(LONG_QUERY_TIMEOUT, f(client))
                    .await
                    .unwrap_or_else(|_| {
                        Err(StoreError::Backend("a database query timed out".into()))
                    }),
                Err(e) => Err(StoreError::Backend(e)),
            };
            let _ = tx.send(result);
        });
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    fn head(&self, source: &str) -> StoreResult<u64> {
        Ok(*self.watch_head(source)?.borrow())
    }
}

/// Connects, migrates, and opens the reading connection.
async fn start(target: Target) -> anyhow::Result<Arc<Shared>> {
    let mut admin = target.connect(None).await.map_err(anyhow::Error::msg)?;
    schema::migrate(&mut admin, target.describe()).await?;
    drop(admin);
    let reader = target.connect(None).await.map_err(anyhow::Error::msg)?;
    Ok(Arc::new(Shared {
        target,
        instance: uuid::Uuid::new_v4().simple().to_string(),
        reader: Mutex::new(Some(Arc::new(reader))),
        bus: Mutex::new(None),
        heads: Mutex::default(),
        tails: Tails::default(),
        cursors: Mutex::default(),
        waiting: Mutex::default(),
        elsewhere: Mutex::default(),
        local_agents: Mutex::default(),
        presence_changed: tokio::sync::Notify::new(),
        revoked: Arc::default(),
        listening: AtomicBool::new(false),
        last_attempt: Mutex::new(None),
    }))
}

/// The reading connection; when it is lost, one attempt to open it again right away (so the
/// first query after the database comes back does not fail), at most every
/// [`RECONNECT_EVERY`] so an outage does not turn every query into a connection attempt.
async fn reader_now(shared: &Shared) -> StoreResult<Arc<Client>> {
    if let Ok(client) = shared.reader() {
        return Ok(client);
    }
    {
        let mut last = lock(&shared.last_attempt);
        if last.is_some_and(|at| at.elapsed() < RECONNECT_EVERY) {
            return Err(shared.unreachable());
        }
        *last = Some(std::time::Instant::now());
    }
    let client = tokio::time::timeout(RECONNECT_EVERY, shared.target.connect(None))
        .await
        .map_err(|_| shared.unreachable())?
        .map_err(StoreError::Backend)?;
    let client = Arc::new(client);
    *lock(&shared.reader) = Some(client.clone());
    Ok(client)
}

/// Re-establishes the reading connection whenever it is lost.
async fn keep_reader(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(RECONNECT_EVERY).await;
        if shared.reader().is_ok() {
            continue;
        }
        if let Ok(client) = shared.target.connect(None).await {
            *lock(&shared.reader) = Some(Arc::new(client));
        }
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.jobs = None;
        self.stop.cancel();
    }
}

impl Store for PostgresStore {
    fn append(&self, source: &str, event: NewEvent) -> BoxFuture<StoreResult<Appended>> {
        let jobs = self.jobs.clone();
        let source = source.to_string();
        Box::pin(async move {
            let jobs = jobs.ok_or(StoreError::Closed)?;
            let (reply, rx) = oneshot::channel();
            jobs.send(writer::AppendJob {
                source,
                event,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
            rx.await.map_err(|_| StoreError::Closed)?
        })
    }

    fn read_after(
        &self,
        source: &str,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<Arc<StoredEvent>>> {
        // What this instance committed is in memory. The tail ends at this instance's last
        // commit, which another instance's commits may have passed: the rest comes from the
        // database, so an answer short of `limit` still reaches the head.
        let mut events = self
            .shared
            .tails
            .read_after(source, after, limit)
            .unwrap_or_default();
        let last = events.last().map_or(after, |e| e.seq);
        if events.len() == limit || (!events.is_empty() && last >= self.shared.known_head(source)) {
            return Ok(events);
        }
        let (name, more) = (source.to_string(), limit - events.len());
        let rest =
            self.query(move |c| async move { queries::read_after(&c, &name, last, more).await })?;
        events.extend(rest);
        Ok(events)
    }

    fn watch_head(&self, source: &str) -> StoreResult<watch::Receiver<u64>> {
        if let Some(tx) = lock(&self.shared.heads).get(source) {
            return Ok(tx.subscribe());
        }
        let name = source.to_string();
        let head = self.query(move |c| async move { queries::head(&c, &name).await })?;
        self.shared.raise_head(source, head);
        let map = lock(&self.shared.heads);
        map.get(source)
            .map(watch::Sender::subscribe)
            .ok_or(StoreError::Closed)
    }

    fn first_seq_since(&self, source: &str, ms: u64) -> StoreResult<u64> {
        let head = self.head(source)?;
        let name = source.to_string();
        let found =
            self.query(move |c| async move { queries::first_seq_since(&c, &name, ms).await })?;
        Ok(found.unwrap_or(head + 1))
    }

    fn oldest_seq(&self, source: &str) -> StoreResult<u64> {
        let head = self.head(source)?;
        let name = source.to_string();
        let found = self.query(move |c| async move { queries::oldest_seq(&c, &name).await })?;
        Ok(found.unwrap_or(head + 1))
    }

    fn cursor(&self, agent_id: &str, source: &str) -> StoreResult<Option<u64>> {
        let (agent, name) = (agent_id.to_string(), source.to_string());
        let stored =
            self.query(move |c| async move { queries::cursor(&c, &agent, &name).await })?;
        Ok(stored.max(self.shared.pending_cursor(agent_id, source)))
    }

    fn max_cursor(&self, source: &str) -> StoreResult<Option<u64>> {
        let name = source.to_string();
        let stored = self.query(move |c| async move { queries::max_cursor(&c, &name).await })?;
        Ok(stored.max(self.shared.pending_max_cursor(source)))
    }

    fn set_cursor(&self, agent_id: &str, source: &str, seq: u64) -> StoreResult<()> {
        // Committed with the next group commit (or within 250 ms): a session never waits for
        // it, and an unreachable database does not end the session.
        let mut pending = lock(&self.shared.cursors);
        let slot = pending
            .entry((agent_id.to_string(), source.to_string()))
            .or_insert(seq);
        *slot = (*slot).max(seq);
        Ok(())
    }

    fn source(&self, name: &str) -> StoreResult<Option<SourceInfo>> {
        let name = name.to_string();
        self.query(move |c| async move { queries::source(&c, &name).await })
    }

    fn sources(&self) -> StoreResult<Vec<SourceInfo>> {
        self.query(|c| async move { queries::sources(&c).await })
    }

    fn ensure_source(&self, name: &str) -> StoreResult<()> {
        let name = name.to_string();
        self.query(move |c| async move { queries::ensure_source(&c, &name).await })
    }

    fn set_settings(&self, name: &str, settings: &SourceSettings) -> StoreResult<()> {
        let (name, settings) = (name.to_string(), settings.clone());
        self.query(move |c| async move { queries::set_settings(&c, &name, &settings).await })
    }

    fn size_bytes(&self) -> StoreResult<u64> {
        self.query(|c| async move { queries::size_bytes(&c).await })
    }

    fn add_token(&self, info: &TokenInfo, secret_hash: &[u8]) -> StoreResult<()> {
        let (info, hash) = (info.clone(), secret_hash.to_vec());
        self.query(move |c| async move { queries::add_token(&c, &info, &hash).await })
    }

    fn token_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<TokenInfo>> {
        let hash = secret_hash.to_vec();
        self.query(move |c| async move { queries::token_by_hash(&c, &hash).await })
    }

    fn tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        self.query(|c| async move { queries::tokens(&c).await })
    }

    fn revoke_token(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.query(move |c| async move { queries::revoke_token(&c, &id).await })
    }

    fn prune(&self, now_ms: u64, default: Retention) -> StoreResult<PruneReport> {
        let report =
            self.query_alone(move |c| async move { queries::prune(&c, now_ms, default).await })?;
        for (source, _) in &report.removed {
            self.shared.tails.forget(source);
        }
        Ok(report)
    }

    fn stats(&self, source: &str) -> StoreResult<(u64, u64)> {
        let name = source.to_string();
        self.query(move |c| async move { queries::stats(&c, &name).await })
    }

    fn peers(&self) -> Option<Arc<dyn crate::peers::Peers>> {
        Some(self.peers.clone())
    }
}
