//! `AppState`: everything the dashboard shows, as plain data (no channels, terminal or clock).

use super::ring::RowRing;
use super::row::Row;
use crate::events::ConnState;
use crate::model::Capture;
use ratatui::text::Line;
use shared::{EventId, Mode};

/// Most rows the event list keeps; older rows stay in the capture store.
pub const ROW_CAPACITY: usize = 100_000;

/// Which half of an exchange the detail view shows (when not side by side).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tab {
    /// The request as sent.
    #[default]
    Request,
    /// The local service's answer.
    Response,
}

/// The detail view of one capture.
#[derive(Clone, Debug, Default)]
pub struct Detail {
    /// The capture shown.
    pub id: EventId,
    /// The full capture, once loaded from the store.
    pub capture: Option<Box<Capture>>,
    /// Pre-rendered request text (request line, headers, body).
    pub request: Vec<Line<'static>>,
    /// Pre-rendered response text (status, headers, body, or the failure).
    pub response: Vec<Line<'static>>,
    /// The tab shown on narrow terminals.
    pub tab: Tab,
    /// First line shown.
    pub scroll: usize,
}

impl Detail {
    /// Lines of the longer pane: how far scrolling can go.
    pub fn max_lines(&self) -> usize {
        self.request.len().max(self.response.len())
    }
}

/// What is drawn over the screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Overlay {
    /// Nothing.
    #[default]
    None,
    /// The key help.
    Help,
    /// A message, e.g. a curl command to copy by hand.
    Popup {
        /// Title.
        title: String,
        /// Text.
        text: String,
    },
}

/// Totals shown in the header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Rows seen.
    pub total: u64,
    /// Answered 2xx.
    pub ok: u64,
    /// Answered 4xx or 5xx.
    pub http_errors: u64,
    /// No answer (refused, timeout...).
    pub failed: u64,
}

impl Counters {
    /// Counts one finished row.
    pub fn count_outcome(&mut self, row: &Row) {
        match row.status {
            Some(200..=299) => self.ok += 1,
            Some(400..=599) => self.http_errors += 1,
            Some(_) => {}
            None if row.failed() => self.failed += 1,
            None => {}
        }
    }
}

/// The whole dashboard state.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The URL senders post to.
    pub public_url: String,
    /// The local target URL.
    pub target: String,
    /// The relay sources, as given (`okta`, `okta,github` or `*`).
    pub source: String,
    /// Listening on several sources: the list and the detail view name each event's source.
    pub tagged: bool,
    /// With several sources: each welcomed source's public URL and backlog, by source.
    pub welcomes: std::collections::BTreeMap<String, (String, u64)>,
    /// Delivery mode.
    pub mode: Mode,
    /// The link to the relay.
    pub conn: ConnState,
    /// When `conn` last changed (from the tick clock), for "next in s".
    pub conn_changed_ms: u64,
    /// Events that were waiting at the relay when the agent last connected.
    pub backlog: Option<u64>,
    /// The local service is down: (events waiting, next try in ms, when that was reported).
    pub local_down: Option<(usize, u64, u64)>,
    /// With several sources: the source whose service is down.
    pub down_source: Option<String>,
    /// Header totals.
    pub counters: Counters,
    /// The event list.
    pub rows: RowRing,
    /// Index into the visible rows.
    pub selected: usize,
    /// First visible row of the list (kept so the view scrolls only when the selection leaves it).
    pub list_offset: usize,
    /// Keep the newest row selected as events arrive.
    pub follow: bool,
    /// The open detail view.
    pub detail: Option<Detail>,
    /// What is drawn on top.
    pub overlay: Overlay,
    /// Typing a filter.
    pub filtering: bool,
    /// The filter as typed.
    pub filter_input: String,
    /// The header shows one line instead of its full box.
    pub header_collapsed: bool,
    /// Last short message for the status bar.
    pub notice: Option<String>,
    /// Now, from the last tick (ms since the Unix epoch).
    pub now_ms: u64,
    /// Terminal size (width, height).
    pub size: (u16, u16),
    /// The user asked to quit.
    pub quit: bool,
    /// The web inspector's base URL, for each event's link in the detail view.
    pub inspect_url: Option<String>,
}

impl AppState {
    /// A fresh dashboard for `source`.
    pub fn new(public_url: &str, target: &str, source: &str, mode: Mode) -> Self {
        Self::with_capacity(public_url, target, source, mode, ROW_CAPACITY)
    }

    /// Like [`AppState::new`] with a smaller row ring (tests).
    pub fn with_capacity(
        public_url: &str,
        target: &str,
        source: &str,
        mode: Mode,
        capacity: usize,
    ) -> Self {
        AppState {
            public_url: public_url.to_string(),
            target: target.to_string(),
            source: source.to_string(),
            tagged: tags_sources(source),
            welcomes: Default::default(),
            mode,
            conn: ConnState::Connecting,
            conn_changed_ms: 0,
            backlog: None,
            local_down: None,
            down_source: None,
            counters: Counters::default(),
            rows: RowRing::new(capacity),
            selected: 0,
            list_offset: 0,
            follow: true,
            detail: None,
            overlay: Overlay::None,
            filtering: false,
            filter_input: String::new(),
            header_collapsed: false,
            notice: None,
            now_ms: 0,
            size: (80, 24),
            quit: false,
            inspect_url: None,
        }
    }

    /// Sets the sources listened on (and so whether events are tagged with theirs).
    pub fn set_source(&mut self, source: String) {
        self.tagged = tags_sources(&source);
        self.source = source;
    }

    /// The relay welcomed the agent on one of several sources: the header shows every
    /// source's URL at once (`https://relay/h/{github,okta}`) and the backlogs summed.
    pub fn welcomed(&mut self, source: String, public_url: String, backlog: u64) {
        self.welcomes.insert(source, (public_url, backlog));
        self.backlog = Some(self.welcomes.values().map(|(_, b)| b).sum());
        let urls: Vec<&str> = self.welcomes.values().map(|(u, _)| u.as_str()).collect();
        let prefix = |u: &str| u.rfind("/h/").map(|i| u[..i + 3].to_string());
        let shared = prefix(urls[0]).filter(|p| urls.iter().all(|u| u.starts_with(p.as_str())));
        self.public_url = match shared {
            Some(p) if urls.len() > 1 => {
                let names: Vec<&str> = urls.iter().map(|u| &u[p.len()..]).collect();
                format!("{p}{{{}}}", names.join(","))
            }
            _ => urls.join(" "),
        };
    }

    /// The selected row, if any.
    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.visible(self.selected)
    }

    /// Lines the header takes (one when collapsed or on terminals under 20 lines).
    pub fn header_height(&self) -> u16 {
        if self.header_collapsed || self.size.1 < 20 {
            1
        } else {
            4
        }
    }

    /// The first visible row such that the selection is on screen.
    pub fn visible_offset(&self) -> usize {
        let page = self.page_rows();
        let len = self.rows.visible_len();
        let mut off = self.list_offset.min(len.saturating_sub(page));
        if self.selected < off {
            off = self.selected;
        } else if self.selected >= off + page {
            off = self.selected + 1 - page;
        }
        off
    }

    /// Rows of the event list that fit on screen.
    pub fn page_rows(&self) -> usize {
        // header, table title/border and column header, status bar
        (self.size.1.saturating_sub(self.header_height() + 4) as usize).max(1)
    }
}

/// True for `okta,github` or `*`: more than one source may send events.
fn tags_sources(source: &str) -> bool {
    shared::SourceList::parse(source).is_ok_and(|s| s.is_several())
}
