//! hookrelay's shared vocabulary: the relay ⇄ agent wire protocol, the captured-exchange model
//! and Okta helpers.
//!
//! # Wire protocol
//!
//! The agent opens a websocket to `GET /agent/connect` on the relay and sends one
//! [`AgentMessage::Hello`] text frame carrying [`PROTOCOL_VERSION`], its token, the source it
//! listens on, a stable agent id and the last sequence it acknowledged. How senders are answered
//! (the [`Mode`]) is the source's setting on the relay, never the agent's choice. The
//! relay answers [`RelayMessage::Welcome`] or closes the socket with one of the typed
//! [`close`] codes. From then on the relay pushes [`RelayMessage::Event`]s in sequence order
//! (at most `window` unacknowledged at once) and the agent answers each with an
//! [`AgentMessage::Ack`] carrying the delivery outcome. Heartbeats are websocket pings.
//!
//! Control frames are JSON text frames tagged by `type`; events and acks, which carry a body, are
//! binary frames — a JSON head, then the body's raw bytes ([`frame`]). [`frame`] and [`codec`]
//! are the only places that turn frames into values and back. Bodies and header values are
//! bytes ([`Blob`]).
#![warn(missing_docs)]

pub mod blob;
pub mod codec;
pub mod event;
pub mod exchange;
pub mod fragment;
pub mod frame;
pub mod inflight;
pub mod okta;
pub mod protocol;
pub mod secret;

pub use blob::Blob;
pub use codec::{decode, encode, ProtocolError};
pub use event::Event;
pub use exchange::{DeliveryError, DeliveryOutcome, EventId, Header, HttpRequest, HttpResponse};
pub use frame::Frame;
pub use protocol::{close, AgentMessage, Hello, Mode, RelayMessage, Since, PROTOCOL_VERSION};
pub use secret::Secret;
