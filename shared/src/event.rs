//! One webhook as the relay logged it: the single type that travels from the relay's log, over
//! the wire, into the agent's delivery and its capture store.

use crate::exchange::{EventId, HttpRequest};
use serde::{Deserialize, Serialize};

/// One logged webhook request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the source's log, strictly increasing; assigned by the store on append
    /// (0 before).
    pub seq: u64,
    /// The event's id, assigned at ingress.
    pub id: EventId,
    /// When the relay received it, in milliseconds since the Unix epoch.
    pub received_at_ms: u64,
    /// True when Okta redelivered an event already logged (same `eventId` or `uuid`s);
    /// decided by the store on append.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
    /// A sender waits for the local service's answer (proxy mode, or an Okta inline hook in
    /// auto mode): the agent delivers it at once, beside events delivered in order, and sends
    /// the whole answer back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub proxied: bool,
    /// The request as the sender sent it.
    pub request: HttpRequest,
}
