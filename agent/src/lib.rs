//! The hookrelay agent: connects to a relay, delivers each webhook to the local service,
//! records every exchange and shows it.

pub mod capture;
/// The capture builder the unit tests share with the integration tests.
#[cfg(test)]
#[path = "../tests/capture_fixtures/builder.rs"]
pub(crate) mod capture_builder;
pub mod cli;
pub mod config;
pub mod connection;
pub mod deliver;
pub mod delivery;
pub mod dial;
pub(crate) mod dispatch;
pub mod editor;
pub mod embedded;
pub mod events;
pub mod export;
pub mod hold;
pub mod inspect;
pub mod listen;
pub mod model;
pub mod okta_kit;
pub mod output;
pub mod recorder;
pub mod replay;
pub mod rules;
pub(crate) mod seen;
pub mod target;
pub mod tls;
pub mod tui;
pub mod wire;
pub(crate) mod worker;
