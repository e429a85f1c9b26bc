//! The hookrelay agent: connects to a relay, delivers each webhook to the local service,
//! records every exchange and shows it.

pub mod capture;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connection;
pub mod deliver;
pub mod dial;
pub mod embedded;
pub mod events;
pub mod export;
pub mod inspect;
pub mod listen;
pub mod model;
pub mod okta_kit;
pub mod output;
pub mod recorder;
pub mod replay;
pub mod target;
pub mod tls;
pub mod tui;
