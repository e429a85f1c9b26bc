//! Messages between relay and agent, one enum per direction, named after the sender.

use crate::event::Event;
use crate::exchange::{DeliveryOutcome, EventId};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped on any incompatible change; the relay closes a mismatching hello with
/// [`close::VERSION_MISMATCH`].
pub const PROTOCOL_VERSION: u32 = 4;

/// Largest webhook body the relay accepts by default.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Largest frame either side accepts by default: a maximal body in base64 plus headers.
pub const DEFAULT_MAX_FRAME_BYTES: usize = DEFAULT_MAX_BODY_BYTES * 4 / 3 + 1024 * 1024;

/// Default number of events in flight to one agent without an ack.
pub const DEFAULT_WINDOW: u32 = 256;

/// Typed websocket close codes (4000–4999 is the application range).
pub mod close {
    /// The token is unknown or malformed.
    pub const UNAUTHORIZED: u16 = 4001;
    /// The agent speaks another protocol version.
    pub const VERSION_MISMATCH: u16 = 4002;
    /// The token may not listen on a source the hello asked for (the reason names it).
    pub const FORBIDDEN_SOURCE: u16 = 4003;
    /// The source does not exist on this relay.
    pub const UNKNOWN_SOURCE: u16 = 4004;
    /// The token was revoked while the session was live.
    pub const TOKEN_REVOKED: u16 = 4005;
    /// The source already has as many agents as the relay allows.
    pub const TOO_MANY_AGENTS: u16 = 4006;
    /// A frame could not be decoded or broke the protocol.
    pub const BAD_FRAME: u16 = 4400;
    /// The relay failed on its side (e.g. its store); reconnecting may help.
    pub const RELAY_ERROR: u16 = 4500;
    /// Standard "going away": the relay is shutting down; reconnect later.
    pub const GOING_AWAY: u16 = 1001;
    /// Standard "message too big".
    pub const TOO_BIG: u16 = 1009;

    /// True for codes after which reconnecting cannot help and the agent should stop.
    pub fn is_fatal(code: u16) -> bool {
        matches!(
            code,
            UNAUTHORIZED | VERSION_MISMATCH | FORBIDDEN_SOURCE | UNKNOWN_SOURCE | TOKEN_REVOKED
        )
    }

    /// A short human name for a close code.
    pub fn describe(code: u16) -> &'static str {
        match code {
            UNAUTHORIZED => "unauthorized: the token is not valid on this relay",
            VERSION_MISMATCH => "protocol version mismatch: upgrade the agent or the relay",
            FORBIDDEN_SOURCE => "forbidden: the token may not listen on that source",
            UNKNOWN_SOURCE => "unknown source",
            TOKEN_REVOKED => "the token was revoked",
            TOO_MANY_AGENTS => "too many agents on this source",
            BAD_FRAME => "the relay could not understand a frame",
            RELAY_ERROR => "the relay had an internal error",
            GOING_AWAY => "the relay is shutting down",
            TOO_BIG => "a frame was too large",
            _ => "closed",
        }
    }
}

/// How the relay answers a source's senders: a setting of the source on the relay
/// (`relay source set NAME --mode …`), never chosen by an agent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Okta inline hooks (`com.okta.*` other than `com.okta.event_hook`) are proxied, since
    /// Okta waits for their answer; everything else is acknowledged once stored.
    #[default]
    Auto,
    /// Answer `200` as soon as the event is stored; deliver afterwards (Okta event hooks).
    Ack,
    /// Wait for the local service's answer and pass it back (Okta inline hooks, any sender
    /// that needs the real answer).
    Proxy,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Auto => "auto",
            Mode::Ack => "ack",
            Mode::Proxy => "proxy",
        })
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Mode::Auto),
            "ack" => Ok(Mode::Ack),
            "proxy" => Ok(Mode::Proxy),
            other => Err(format!(
                "unknown mode {other:?} (expected auto, ack or proxy)"
            )),
        }
    }
}

/// Where an agent new to a source starts reading the event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", content = "value", rename_all = "snake_case")]
pub enum Since {
    /// Only events that arrive from now on (the default).
    Now,
    /// Every retained event with a sequence greater than or equal to this one.
    Seq(u64),
    /// Every retained event received in the last this many milliseconds.
    AgoMs(u64),
}

/// The agent's first frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Must equal [`PROTOCOL_VERSION`].
    pub version: u32,
    /// The agent token, as `relay token create` printed it.
    pub token: Secret,
    /// The sources to listen on, one or more names, or `["*"]`: every source the token may
    /// listen on that exists on the relay when the agent joins.
    pub sources: Vec<String>,
    /// A stable id for this agent installation; its cursors are kept under it.
    pub agent_id: String,
    /// The last sequence this agent acknowledged, per source it remembers one for; the relay
    /// then resends everything after it. For a source missing here the relay uses its own
    /// record of the cursor, or `since` for an agent new to the source.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cursors: BTreeMap<String, u64>,
    /// Where the agent starts on a source new to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Since>,
    /// How many unacknowledged events the relay may have in flight to this agent, all sources
    /// together (each source gets a fair share).
    pub window: u32,
}

/// Frames the agent sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMessage {
    /// Sent once, first, right after the websocket opens.
    Hello(Hello),
    /// Sent after the agent delivered an event (or recorded that delivery failed); advances the
    /// agent's cursor and, in proxy mode, carries the answer back to the waiting sender.
    Ack {
        /// The event's source (sequences count per source).
        source: String,
        /// The event's sequence.
        seq: u64,
        /// The event's id.
        id: EventId,
        /// What the local service did.
        outcome: DeliveryOutcome,
    },
}

/// Frames the relay sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RelayMessage {
    /// Sent after a valid hello, once per source, before any event.
    Welcome {
        /// The source.
        source: String,
        /// The source's mode (its setting on the relay).
        mode: Mode,
        /// The URL senders post to, e.g. `https://relay.example.com/h/okta`.
        public_url: String,
        /// The newest sequence in the source's log.
        head_seq: u64,
        /// How many events are waiting for this agent (logged after its cursor).
        backlog: u64,
        /// The sequence the relay resumes from (first event it will send).
        resume_from: u64,
    },
    /// The events that follow, up to the next `Lane`, belong to this source. Sent before an
    /// event whose source differs from the previous event's: events travel as their log's
    /// cached frames, shared by every agent, so the source is said once per run of events
    /// instead of being written into each one.
    Lane {
        /// The source.
        source: String,
    },
    /// One webhook request of the current [`RelayMessage::Lane`], each source's in sequence
    /// order.
    Event(Event),
    /// The relay answered an Okta verification challenge for a source itself.
    Verification {
        /// The source the challenge came to.
        #[serde(default)]
        source: String,
        /// When, in milliseconds since the Unix epoch.
        at_ms: u64,
        /// The challenge value Okta sent (it is not a secret: Okta sends it in the clear).
        challenge: String,
    },
    /// Something the developer should see, e.g. retention dropped old events.
    Notice {
        /// The message.
        message: String,
    },
}
