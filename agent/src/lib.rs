//! The hookrelay agent: connects to a relay, delivers each webhook to the local service,
//! records every exchange and shows it.

pub mod capture;
pub mod deliver;
pub mod events;
pub mod model;
pub mod replay;
pub mod target;
pub mod tls;
pub mod tui;
