//! The end-to-end setup the tests share, in one builder: a relay, a token for the source, a
//! recording target and an agent the relay accepted, plus the steps tests take on them.
//!
//! ```ignore
//! let mut h = Harness::proxy().relay(|c| c.max_body_bytes = 1024).start().await;
//! let answer = h.post("{}").await;
//! ```

use crate::{agent_options, client, spawn_agent_in, spawn_relay, spawn_target};
use crate::{test_config, Reply, TestAgent, TestRelay, TestTarget};
use agent::events::AgentEvent;
use agent::listen::ListenOptions;
use agent::model::Capture;
use shared::{DeliveryOutcome, Mode};
use std::sync::Arc;

/// Whether [`HarnessBuilder::start`] starts the agent, and waits for the relay to accept it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AgentStart {
    Connected,
    Spawned,
    Later,
}

type Edit = Box<dyn FnOnce(&mut ListenOptions)>;

/// Describes a [`Harness`]; every setting has the default most tests want.
pub struct HarnessBuilder {
    config: relay::Config,
    source: String,
    mode: Mode,
    reply: Reply,
    edits: Vec<Edit>,
    start: AgentStart,
}

impl HarnessBuilder {
    /// Changes the relay's configuration (default: [`test_config`]).
    pub fn relay(mut self, edit: impl FnOnce(&mut relay::Config)) -> Self {
        edit(&mut self.config);
        self
    }

    /// The source the token, the agent and [`Harness::post`] use (default `okta`).
    pub fn source(mut self, source: &str) -> Self {
        self.source = source.to_string();
        self
    }

    /// How the relay answers senders (default ack).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// How the target answers (default `200 ok`).
    pub fn reply(mut self, reply: Reply) -> Self {
        self.reply = reply;
        self
    }

    /// Changes the agent's options before it starts; called in order.
    pub fn agent(mut self, edit: impl FnOnce(&mut ListenOptions) + 'static) -> Self {
        self.edits.push(Box::new(edit));
        self
    }

    /// Starts the agent without waiting for the relay's answer (for refusals and welcomes).
    pub fn spawn_only(mut self) -> Self {
        self.start = AgentStart::Spawned;
        self
    }

    /// Leaves the agent to [`Harness::start_agent`], so a test can act on the relay first.
    pub fn no_agent(mut self) -> Self {
        self.start = AgentStart::Later;
        self
    }

    /// Starts everything; by default returns once the relay accepted the agent.
    pub async fn start(self) -> Harness {
        let relay = spawn_relay(self.config).await;
        let token = relay.token(&self.source);
        let target = spawn_target(self.reply).await;
        let mut options = agent_options(&relay.url, &token, &target.url());
        options.sources = shared::SourceList::one(&self.source);
        relay.set_mode(&self.source, self.mode);
        for edit in self.edits {
            edit(&mut options);
        }
        let mut h = Harness {
            relay,
            target,
            token,
            source: self.source,
            options,
            agent: None,
            agent_dir: Arc::new(tempfile::tempdir().expect("tempdir")),
        };
        match self.start {
            AgentStart::Connected => h.connect_agent().await,
            AgentStart::Spawned => {
                h.start_agent();
            }
            AgentStart::Later => {}
        }
        h
    }
}

/// A relay, a target and an agent wired together, all on ephemeral ports.
pub struct Harness {
    /// The relay.
    pub relay: TestRelay,
    /// The local service the agent delivers to.
    pub target: TestTarget,
    /// The agent token for [`Harness::source`].
    pub token: String,
    /// The source senders post to.
    pub source: String,
    /// What the next [`Harness::start_agent`] runs with.
    pub options: ListenOptions,
    agent: Option<TestAgent>,
    agent_dir: Arc<tempfile::TempDir>,
}

impl Harness {
    /// Settings for a harness.
    pub fn builder() -> HarnessBuilder {
        HarnessBuilder {
            config: test_config(),
            source: "okta".into(),
            mode: Mode::Ack,
            reply: Reply::default(),
            edits: Vec::new(),
            start: AgentStart::Connected,
        }
    }

    /// [`Harness::builder`] for a test of ack mode.
    pub fn ack() -> HarnessBuilder {
        Self::builder().mode(Mode::Ack)
    }

    /// [`Harness::builder`] for a test of proxy mode.
    pub fn proxy() -> HarnessBuilder {
        Self::builder().mode(Mode::Proxy)
    }

    /// The running (or last stopped) agent.
    pub fn agent(&mut self) -> &mut TestAgent {
        self.agent
            .as_mut()
            .expect("no agent started in this harness")
    }

    /// Starts the agent with [`Harness::options`] on its data directory (kept across restarts),
    /// without waiting for the relay's answer.
    pub fn start_agent(&mut self) -> &mut TestAgent {
        let agent = spawn_agent_in(self.agent_dir.clone(), self.options.clone());
        self.agent.insert(agent)
    }

    /// Starts the agent and waits until the relay accepted it.
    pub async fn connect_agent(&mut self) {
        self.start_agent().connected().await;
    }

    /// Stops the agent and waits for it (its recorder has written everything by then).
    pub async fn stop_agent(&mut self) {
        if let Some(agent) = self.agent.take() {
            agent.stop().await;
        }
    }

    /// Stops the agent and starts it again on the same data directory.
    pub async fn restart_agent(&mut self) {
        self.stop_agent().await;
        self.start_agent();
    }

    /// Another agent for the source on a fresh data directory, with `edit` applied to a copy
    /// of [`Harness::options`]; not awaited.
    pub fn spawn_extra_agent(&self, edit: impl FnOnce(&mut ListenOptions)) -> TestAgent {
        let mut options = self.options.clone();
        edit(&mut options);
        crate::spawn_agent(options)
    }

    /// Stops the relay and puts a fresh one (empty data directory) in its place, with a new
    /// token that [`Harness::options`] now uses.
    pub async fn replace_relay(&mut self, config: relay::Config) {
        let fresh = spawn_relay(config).await;
        std::mem::replace(&mut self.relay, fresh).stop().await;
        self.token = self.relay.token(&self.source);
        self.options.link.relay_url.clone_from(&self.relay.url);
        self.options.token = self.token.as_str().into();
    }

    /// `{relay}/h/{source}`.
    pub fn hook_url(&self) -> String {
        self.relay.hook_url(&self.source)
    }

    /// POSTs `body` as JSON to the source.
    pub async fn post(&self, body: impl Into<bytes::Bytes>) -> client::Answer {
        client::post_json(&self.hook_url(), body)
            .await
            .expect("send")
    }

    /// POSTs `body` as JSON to the source and checks the relay answered 200.
    pub async fn post_ok(&self, body: impl Into<bytes::Bytes>) {
        let answer = self.post(body).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }

    /// POSTs `body` and checks it is the next request the target receives: the relay and the
    /// agent are still serving.
    pub async fn assert_delivers(&mut self, body: &str) {
        self.post(body.to_string()).await;
        assert_eq!(self.target.next().await.body.as_ref(), body.as_bytes());
    }

    /// Waits for the agent's next event matching `pred`.
    pub async fn wait_for(&mut self, pred: impl FnMut(&AgentEvent) -> bool) -> AgentEvent {
        self.agent().wait_for(pred).await
    }

    /// Waits for the next capture the agent reports that matches `pred`.
    pub async fn wait_for_capture(&mut self, mut pred: impl FnMut(&Capture) -> bool) -> Capture {
        let ev = self
            .wait_for(|e| matches!(e, AgentEvent::Captured(c) if pred(c)))
            .await;
        let AgentEvent::Captured(c) = ev else {
            unreachable!("wait_for returned another event")
        };
        *c
    }

    /// Waits for the next delivery outcome the agent reports.
    pub async fn wait_for_outcome(&mut self) -> DeliveryOutcome {
        let ev = self
            .wait_for(|e| matches!(e, AgentEvent::Delivered { .. }))
            .await;
        let AgentEvent::Delivered { outcome, .. } = ev else {
            unreachable!("wait_for returned another event")
        };
        outcome
    }

    /// Waits for the next notice the agent reports.
    pub async fn wait_for_notice(&mut self) -> String {
        let ev = self.wait_for(|e| matches!(e, AgentEvent::Notice(_))).await;
        let AgentEvent::Notice(text) = ev else {
            unreachable!("wait_for returned another event")
        };
        text
    }
}
