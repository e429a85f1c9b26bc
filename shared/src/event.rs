//! One webhook as the relay logged it: the single type that travels from the relay's log, over
//! the wire, into the agent's delivery and its capture store.

use crate::exchange::{EventId, HttpRequest};
use serde::{Deserialize, Serialize};

/// One logged webhook request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the source's log, strictly increasing from 1; assigned by the store on
    /// append. 0 before that, and for the agent's captures that never were in a log (replays,
    /// imports, verifications); see [`Event::logged_seq`].
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "null_as_zero"
    )]
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

impl Event {
    /// The sequence in the relay's log, if the event came from one.
    pub fn logged_seq(&self) -> Option<u64> {
        (self.seq != 0).then_some(self.seq)
    }
}

fn is_zero(seq: &u64) -> bool {
    *seq == 0
}

/// Reads a missing or `null` sequence (as files exported before this type was shared wrote
/// for replays) as 0.
fn null_as_zero<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(Option::<u64>::deserialize(d)?.unwrap_or(0))
}
