//! `render(&AppState, &mut Frame)`: draws the dashboard from the state, reading nothing else.

mod detail;
mod header;
mod list;
mod overlay;
mod status;

use super::state::{AppState, Overlay};
use ratatui::layout::{Constraint, Layout};
use ratatui::Frame;

/// Draws the whole dashboard.
pub fn render(state: &AppState, frame: &mut Frame) {
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(state.header_height()),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    header::render(state, frame, head);
    match &state.detail {
        Some(d) => detail::render(d, state.inspect_url.as_deref(), state.tagged, frame, body),
        None => list::render(state, frame, body),
    }
    status::render(state, frame, foot);
    match &state.overlay {
        Overlay::None => {}
        Overlay::Help => overlay::help(frame),
        Overlay::Popup { title, text } => overlay::popup(frame, title, text),
    }
}
