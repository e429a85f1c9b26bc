//! The web inspector: a page and a JSON API on loopback over the capture store, with a live
//! list fed by the listener's events, replay and edit-and-replay.
//!
//! `server` binds and serves, `security` keeps other web pages out (Host, token, Origin),
//! `api` answers `/api`, `live` streams new rows (gathered by `batch`), `json` shapes captures for the page,
//! `edit` checks an edited request, `assets` holds the page itself.

mod api;
mod assets;
mod batch;
mod edit;
mod json;
mod live;
mod security;
mod server;

pub use live::{tee, Hub};
pub use server::{bind, serve, Inspector, InspectorOptions, DEFAULT_ADDR};

use shared::EventId;

/// The page of one event: `{base}/events/{id}`.
pub fn event_link(base: &str, id: EventId) -> String {
    format!("{}/events/{id}", base.trim_end_matches('/'))
}
