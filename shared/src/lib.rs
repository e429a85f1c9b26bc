//! hookrelay's shared vocabulary: the relay ⇄ agent wire protocol, the captured-exchange model
//! and Okta helpers.
//!
//! # Wire protocol
//!
//! The agent opens a websocket to `GET /agent/connect` on the relay and sends one
//! [`AgentMessage::Hello`] text frame carrying [`PROTOCOL_VERSION`], its token, the sources it
//! listens on (names or `*`), a stable agent id and the last sequence it acknowledged on each.
//! How senders are answered (the [`Mode`]) is the source's setting on the relay, never the
//! agent's choice. The relay answers one [`RelayMessage::Welcome`] per source or closes the
//! socket with one of the typed [`close`] codes. From then on the relay pushes
//! [`RelayMessage::Event`]s, each source's in its sequence order, a [`RelayMessage::Lane`]
//! frame naming the source before each run of one source's events (at most `window`
//! unacknowledged at once, shared fairly between the sources), and the agent answers each with
//! an [`AgentMessage::Ack`] naming the source and carrying the delivery outcome. Heartbeats are
//! websocket pings.
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
pub mod sources;

pub use blob::Blob;
pub use codec::{decode, encode, ProtocolError};
pub use event::Event;
pub use exchange::{DeliveryError, DeliveryOutcome, EventId, Header, HttpRequest, HttpResponse};
pub use frame::Frame;
pub use protocol::{close, AgentMessage, Hello, Mode, RelayMessage, Since, PROTOCOL_VERSION};
pub use secret::Secret;
pub use sources::{SourceError, SourceList};
