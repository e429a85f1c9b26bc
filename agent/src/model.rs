//! A captured exchange as the agent records, shows, replays and exports it.

use serde::{Deserialize, Serialize};
use shared::{DeliveryOutcome, EventId, HttpRequest};

/// What produced a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureKind {
    /// A webhook that came through the relay.
    Event,
    /// A replay (possibly edited) of an earlier capture, started by the developer.
    Replay,
    /// An Okta verification challenge the relay answered itself; never delivered locally.
    Verification,
    /// Loaded from a file with `agent import`.
    Imported,
}

/// One exchange: the request, where it went, and what came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    /// For relay events, the relay's event id; for replays and imports, a fresh id.
    pub id: EventId,
    /// The relay's sequence number, for relay events.
    pub seq: Option<u64>,
    /// The relay source it came from.
    pub source: String,
    /// What produced it.
    pub kind: CaptureKind,
    /// When the relay received it (ms since the Unix epoch); for replays, when it was started.
    pub received_at_ms: u64,
    /// When the agent started delivering it to the local service.
    pub delivered_at_ms: Option<u64>,
    /// When the local service's answer (or the failure) was recorded.
    pub answered_at_ms: Option<u64>,
    /// The request as the sender sent it (path is the suffix after `/h/{source}`).
    pub request: HttpRequest,
    /// The full URL it was (or will be) delivered to.
    pub target_url: String,
    /// What happened; `None` while the local service has not answered yet.
    pub outcome: Option<DeliveryOutcome>,
    /// Okta redelivered an event already seen (same `eventId` or `uuid`s).
    pub duplicate: bool,
    /// For replays: the capture this one replays.
    pub replay_of: Option<EventId>,
}

impl Capture {
    /// True until the local service answered or the delivery failed.
    pub fn is_pending(&self) -> bool {
        self.outcome.is_none() && self.kind != CaptureKind::Verification
    }

    /// The status code, if the local service answered.
    pub fn status(&self) -> Option<u16> {
        self.outcome.as_ref().and_then(|o| o.status())
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
