//! End-to-end harness: a relay, an agent and a recording local target, all on ephemeral ports.

pub mod auth;
pub mod browser;
pub mod client;
pub mod harness;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod target;

use agent::capture::CaptureStore;
use agent::connection::LinkOptions;
use agent::deliver::DeliverOptions;
use agent::events::{AgentEvent, ConnState};
use agent::listen::ListenOptions;
use relay::store::EmbeddedStore;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use harness::{Harness, HarnessBuilder};
pub use target::{spawn_target, Recorded, Reply, TestTarget};

/// Every async test's budget.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `fut` or panics after [`TEST_TIMEOUT`].
pub async fn with_timeout<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, fut)
        .await
        .expect("test timed out")
}

/// A relay running in this process on 127.0.0.1:0.
pub struct TestRelay {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The relay.
    pub handle: relay::RelayHandle,
    /// Cancels it.
    pub shutdown: CancellationToken,
    /// Its data directory.
    pub dir: Arc<tempfile::TempDir>,
}

impl TestRelay {
    /// A token for `source`.
    pub fn token(&self, source: &str) -> String {
        relay::tokens::create(self.handle.state.store.as_ref(), source, "test")
            .expect("create token")
            .1
    }

    /// Creates `source` if it does not exist yet (senders get 404 until it does).
    pub fn ensure_source(&self, source: &str) {
        self.handle
            .state
            .store
            .ensure_source(source)
            .expect("ensure source");
    }

    /// Changes `source`'s settings (creating it if needed), in force for the next request.
    pub fn configure(&self, source: &str, edit: impl FnOnce(&mut relay::store::SourceSettings)) {
        let store = self.handle.state.store.as_ref();
        let mut settings = store
            .source(source)
            .expect("read source")
            .map(|s| s.settings)
            .unwrap_or_default();
        edit(&mut settings);
        self.handle
            .state
            .set_settings(source, &settings)
            .expect("set settings");
    }

    /// Sets how the relay answers `source`'s senders.
    pub fn set_mode(&self, source: &str, mode: shared::Mode) {
        self.configure(source, |s| s.mode = mode);
    }

    /// How many events the relay holds for `source`.
    pub fn stored(&self, source: &str) -> u64 {
        self.handle.state.store.stats(source).expect("stats").0
    }

    /// Connects over plain TCP and writes `bytes`: a request, possibly cut short.
    pub async fn raw_request(&self, bytes: &[u8]) -> tokio::net::TcpStream {
        use tokio::io::AsyncWriteExt;
        let mut stream = tokio::net::TcpStream::connect(self.handle.addr)
            .await
            .expect("connect");
        stream.write_all(bytes).await.expect("write");
        stream
    }

    /// `{url}/h/{source}`.
    pub fn hook_url(&self, source: &str) -> String {
        format!("{}/h/{source}", self.url)
    }

    /// Stops it and waits until it has shut down.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.handle.join.await;
    }
}

/// A relay with test-friendly timings.
pub fn test_config() -> relay::Config {
    relay::Config {
        heartbeat_interval: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_millis(1000),
        // Generous, so a loaded CI machine running debug builds never turns a slow but correct
        // proxy round trip into a 504; the deadline test sets its own.
        proxy_deadline: Duration::from_secs(20),
        ..relay::Config::default()
    }
}

/// Starts a relay on a fresh data directory.
pub async fn spawn_relay(config: relay::Config) -> TestRelay {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    spawn_relay_in(dir, config).await
}

/// Starts a relay on a fresh data directory with `source` created, for tests without agents.
pub async fn spawn_relay_with_source(config: relay::Config, source: &str) -> TestRelay {
    let relay = spawn_relay(config).await;
    relay.ensure_source(source);
    relay
}

/// Starts a relay on an existing data directory.
pub async fn spawn_relay_in(dir: Arc<tempfile::TempDir>, config: relay::Config) -> TestRelay {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind relay");
    let store = EmbeddedStore::open_dir(dir.path()).expect("open store");
    let shutdown = CancellationToken::new();
    let handle =
        relay::spawn(listener, Arc::new(store), config, shutdown.clone()).expect("spawn relay");
    TestRelay {
        url: format!("http://{}", handle.addr),
        handle,
        shutdown,
        dir,
    }
}

/// An agent running `listen` in this process.
pub struct TestAgent {
    /// What it reports.
    pub events: mpsc::Receiver<AgentEvent>,
    /// Its capture store.
    pub store: CaptureStore,
    /// Stops it.
    pub shutdown: CancellationToken,
    /// Ends with `listen`'s result.
    pub join: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Its data directory (kept so a restarted agent can reuse it).
    pub dir: Arc<tempfile::TempDir>,
}

impl TestAgent {
    /// Waits for the next event matching `pred`, returning it.
    pub async fn wait_for(&mut self, mut pred: impl FnMut(&AgentEvent) -> bool) -> AgentEvent {
        loop {
            let ev = self.events.recv().await.expect("agent stopped reporting");
            if pred(&ev) {
                return ev;
            }
        }
    }

    /// Waits until the relay accepted the agent.
    pub async fn connected(&mut self) {
        self.wait_for(|e| matches!(e, AgentEvent::State(ConnState::Connected { .. })))
            .await;
    }

    /// Stops the agent and waits for it.
    pub async fn stop(self) -> Arc<tempfile::TempDir> {
        self.shutdown.cancel();
        let _ = self.join.await;
        self.dir
    }
}

/// Options for a test agent on source `okta` of `relay` with `token`, delivering to `target`.
/// How senders are answered is the relay source's setting ([`TestRelay::set_mode`]).
pub fn agent_options(relay_url: &str, token: &str, target_url: &str) -> ListenOptions {
    ListenOptions {
        link: LinkOptions {
            relay_url: relay_url.to_string(),
            heartbeat_interval: Duration::from_millis(200),
            heartbeat_timeout: Duration::from_millis(1000),
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(500),
            ..LinkOptions::default()
        },
        token: token.into(),
        sources: shared::SourceList::one("okta"),
        target: target_for(target_url),
        deliver: DeliverOptions {
            timeout: Duration::from_secs(20),
            insecure: false,
        },
        window: 64,
        concurrency: None,
        since: None,
        drop_duplicates: false,
        relay_key: relay_url.to_string(),
        on_down: agent::hold::OnDown::Hold,
        okta_retry: false,
        routes: Vec::new(),
        filters: Vec::new(),
    }
}

/// Where an agent delivers for `url` (the path Okta's examples use appended).
pub fn target_for(url: &str) -> agent::target::Target {
    agent::target::Target::parse(url, "/okta-webhooks-endpoint").expect("target")
}

/// `http://127.0.0.1:PORT` of a port nothing listens on: bound, read, closed.
pub async fn closed_port_url() -> String {
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    format!("http://{}", dead.local_addr().expect("addr"))
}

/// Starts an agent with a fresh data directory.
pub fn spawn_agent(opts: ListenOptions) -> TestAgent {
    spawn_agent_in(Arc::new(tempfile::tempdir().expect("tempdir")), opts)
}

/// Starts an agent on an existing data directory (a restart).
pub fn spawn_agent_in(dir: Arc<tempfile::TempDir>, opts: ListenOptions) -> TestAgent {
    let store = CaptureStore::open(&dir.path().join("captures.sqlite3")).expect("capture store");
    let (tx, rx) = mpsc::channel(100_000);
    let shutdown = CancellationToken::new();
    let join = tokio::spawn(agent::listen::listen(
        opts,
        store.clone(),
        tx,
        shutdown.clone(),
    ));
    TestAgent {
        events: rx,
        store,
        shutdown,
        join,
        dir,
    }
}

/// Path of a workspace binary (`relay`, `agent`) next to the test executable's directory.
pub fn bin_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built; run the tests with `cargo nextest run --workspace` (or `cargo build --workspace` first)",
        path.display()
    );
    path
}

/// An event to append to a store directly: a JSON `POST /x?a=1` with `body`, optionally
/// carrying Okta's `eventId`.
pub fn new_event(body: &str, okta_event_id: Option<&str>) -> relay::store::NewEvent {
    relay::store::NewEvent {
        event: shared::Event {
            seq: 0,
            id: shared::EventId::new(),
            received_at_ms: relay::now_ms(),
            duplicate: false,
            proxied: false,
            request: shared::HttpRequest {
                method: "POST".into(),
                path: "/x".into(),
                query: Some("a=1".into()),
                headers: vec![shared::Header::new("content-type", "application/json")],
                body: shared::Blob::from(body.as_bytes()),
            },
        },
        okta_event_id: okta_event_id.map(str::to_string),
        okta_uuids: Vec::new(),
        needs_disk: true,
    }
}

/// Waits for `appends` and returns the sequences they got, sorted.
pub async fn sorted_seqs(
    appends: Vec<relay::store::BoxFuture<relay::store::StoreResult<relay::store::Appended>>>,
) -> Vec<u64> {
    let mut seqs: Vec<u64> = futures_util::future::join_all(appends)
        .await
        .into_iter()
        .map(|r| r.expect("append").seq)
        .collect();
    seqs.sort_unstable();
    seqs
}
