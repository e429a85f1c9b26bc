//! A captured exchange as the agent records, shows, replays and exports it.

use serde::{Deserialize, Serialize};
use shared::{DeliveryOutcome, Event, EventId};

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

/// One exchange: the event as the relay logged it, where it went, and what came back. The
/// event is the relay's own type ([`Event`]: id, sequence, receive time, duplicate mark,
/// request), so a capture reads as its event (`capture.request`, `capture.id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    /// For relay events, the event as the relay sent it. For replays and imports a fresh id
    /// and the time it was made, sequence 0; the request's path is the suffix after
    /// `/h/{source}`.
    #[serde(flatten)]
    pub event: Event,
    /// The relay source it came from.
    pub source: String,
    /// What produced it.
    pub kind: CaptureKind,
    /// When the agent started delivering it to the local service.
    pub delivered_at_ms: Option<u64>,
    /// When the local service's answer (or the failure) was recorded.
    pub answered_at_ms: Option<u64>,
    /// The full URL it was (or will be) delivered to.
    pub target_url: String,
    /// What happened; `None` while the local service has not answered yet.
    pub outcome: Option<DeliveryOutcome>,
    /// For replays: the capture this one replays.
    pub replay_of: Option<EventId>,
}

/// A capture reads as its event: `capture.request`, `capture.id`, `capture.duplicate`.
impl std::ops::Deref for Capture {
    type Target = Event;
    fn deref(&self) -> &Event {
        &self.event
    }
}

impl std::ops::DerefMut for Capture {
    fn deref_mut(&mut self) -> &mut Event {
        &mut self.event
    }
}

impl Capture {
    /// The relay's sequence number, for relay events.
    pub fn seq(&self) -> Option<u64> {
        self.event.logged_seq()
    }

    /// True until the local service answered or the delivery failed.
    pub fn is_pending(&self) -> bool {
        self.outcome.is_none() && self.kind != CaptureKind::Verification
    }

    /// Records what the delivery that started at `delivered_at_ms` came to.
    pub fn complete(
        &mut self,
        delivered_at_ms: u64,
        answered_at_ms: u64,
        outcome: DeliveryOutcome,
    ) {
        self.delivered_at_ms = Some(delivered_at_ms);
        self.answered_at_ms = Some(answered_at_ms);
        self.outcome = Some(outcome);
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
