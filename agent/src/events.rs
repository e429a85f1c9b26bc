//! What the listening agent reports to its output (TUI, compact lines or JSON lines).

use crate::model::Capture;
use shared::{DeliveryOutcome, EventId, Mode};

/// The agent's link to the relay, as every output shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Dialling the relay for the first time.
    Connecting,
    /// The relay accepted the hello.
    Connected {
        /// When, in ms since the Unix epoch.
        since_ms: u64,
    },
    /// The link dropped; the next attempt is scheduled.
    Reconnecting {
        /// 1 for the first retry.
        attempt: u32,
        /// Delay before the next attempt, in ms.
        next_in_ms: u64,
        /// Why the last attempt or link failed.
        reason: String,
    },
    /// The relay refused the agent for good (bad token, version mismatch, revoked token...).
    Failed {
        /// Why.
        reason: String,
    },
}

/// Reported by the listening agent, in order, over a channel.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentEvent {
    /// Sent once before connecting: where events come out.
    Started {
        /// The local target URL (path included).
        target: String,
        /// The sources, as given (`okta`, `okta,github` or `*`).
        source: String,
    },
    /// The link to the relay changed.
    State(ConnState),
    /// The relay accepted the hello: one per source.
    Welcome {
        /// The source.
        source: String,
        /// Events waiting at the relay for this agent when it (re)connected.
        backlog: u64,
        /// The newest sequence in the source's log.
        head_seq: u64,
        /// The URL senders post to, as the relay announces it (its `--public-url`).
        public_url: String,
        /// The source's mode on the relay.
        mode: Mode,
    },
    /// A request is about to be delivered (or a verification was answered): a new row.
    Captured(Box<Capture>),
    /// The local service answered (or delivery failed) for an earlier `Captured`.
    Delivered {
        /// The capture's id.
        id: EventId,
        /// When delivery started.
        delivered_at_ms: u64,
        /// When the outcome was recorded.
        answered_at_ms: u64,
        /// What happened.
        outcome: DeliveryOutcome,
    },
    /// The local service refused (or could not be reached): acknowledged events wait for it,
    /// unacknowledged, and are delivered in order once it answers.
    LocalDown {
        /// The source whose events wait (each source is held on its own).
        source: String,
        /// Events waiting for the service.
        waiting: usize,
        /// Delay before the next try, in ms.
        next_in_ms: u64,
        /// Why the last try failed.
        reason: String,
    },
    /// The local service answered again; the held events go out now.
    LocalBack {
        /// The source whose events go out again.
        source: String,
        /// Events still to deliver.
        waiting: usize,
    },
    /// Something to show the developer (e.g. the relay dropped old events).
    Notice(String),
}

/// `1.5 s` or `2 s`: a delay as every output shows it.
pub fn secs(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}
