//! What the dashboard reacts to (`Action`) and what it asks the loop to do (`Effect`).

use super::row::Row;
use crate::events::AgentEvent;
use crate::model::Capture;
use shared::EventId;

/// Everything that changes [`super::state::AppState`]: network reports, keys, effect results.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A report from the listening agent.
    Net(AgentEvent),
    /// The clock, in ms since the Unix epoch; the only source of "now" for rendering.
    Tick(u64),
    /// The terminal's size in cells (width, height).
    Resize(u16, u16),
    /// Recent history from the capture store, oldest first.
    HistoryLoaded(Vec<Row>),
    /// Select the row above.
    Up,
    /// Select the row below.
    Down,
    /// One page up.
    PageUp,
    /// One page down.
    PageDown,
    /// First row (or top of the detail view).
    Top,
    /// Last row, following new events again (or bottom of the detail view).
    Bottom,
    /// Open the detail view of the selected row.
    Open,
    /// Leave the detail view, an overlay or the filter.
    Back,
    /// Switch between request and response in the detail view.
    NextTab,
    /// Replay the selected event to the local service.
    Replay,
    /// Edit the selected request in `$EDITOR`, then replay it.
    EditReplay,
    /// Copy the selected request as a curl command.
    CopyCurl,
    /// Export the selected capture to `hookrelay-<id>.json`.
    Export,
    /// Start typing a filter.
    StartFilter,
    /// A character typed into the filter.
    FilterChar(char),
    /// Backspace in the filter.
    FilterBackspace,
    /// Keep the typed filter and return to the list.
    FilterAccept,
    /// Show or hide the key help.
    ToggleHelp,
    /// Collapse or expand the header.
    ToggleHeader,
    /// Leave the dashboard.
    Quit,
    /// The full capture for the detail view, loaded from the store.
    DetailLoaded(Box<Capture>),
    /// The ids of captures whose request or response body contains `needle` (the answer to
    /// [`Effect::SearchBodies`]); ignored when the filter has changed since.
    BodyMatches {
        /// The filter searched for.
        needle: String,
        /// Matching ids, newest first.
        ids: Vec<EventId>,
    },
    /// A short message for the status bar.
    Notice(String),
    /// A message in a popup (e.g. a curl command to copy by hand).
    Popup {
        /// The popup's title.
        title: String,
        /// Its text.
        text: String,
    },
}

/// Work the reducer asks the loop to do; results come back as [`Action`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Read one capture from the store and answer [`Action::DetailLoaded`].
    LoadDetail(EventId),
    /// Replay a capture as it was captured.
    Replay(EventId),
    /// Open a capture's request in `$EDITOR` and replay the edited request.
    EditReplay(EventId),
    /// Copy a capture's request as a curl command.
    CopyCurl(EventId),
    /// Write a capture as JSON to `hookrelay-<id>.json` in the current directory.
    Export(EventId),
    /// Search the capture store's request and response bodies for this (lower-case) filter and
    /// answer [`Action::BodyMatches`].
    SearchBodies(String),
}
