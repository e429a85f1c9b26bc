//! The reducer: `update(&mut AppState, Action) -> Option<Effect>`. Pure; no I/O, no clock.

use super::action::{Action, Effect};
use super::detail::{request_lines, response_lines};
use super::ring::Upsert;
use super::row::Row;
use super::state::{AppState, Detail, Overlay, Tab};
use crate::events::AgentEvent;
use crate::model::Capture;

/// Applies one action; returns the side effect it asks for, if any.
pub fn update(state: &mut AppState, action: Action) -> Option<Effect> {
    let effect = reduce(state, action);
    state.list_offset = state.visible_offset();
    effect
}

fn reduce(state: &mut AppState, action: Action) -> Option<Effect> {
    match action {
        Action::Net(ev) => return on_net(state, ev),
        Action::Tick(now) => state.now_ms = now,
        Action::Resize(w, h) => state.size = (w, h),
        Action::HistoryLoaded(rows) => {
            for row in rows {
                add_row(state, row);
            }
        }
        Action::Up => move_by(state, -1),
        Action::Down => move_by(state, 1),
        Action::PageUp => move_by(state, -(state.page_rows() as i64)),
        Action::PageDown => move_by(state, state.page_rows() as i64),
        Action::Top => move_by(state, i64::MIN),
        Action::Bottom => move_by(state, i64::MAX),
        Action::Open => {
            if state.detail.is_none() {
                let id = state.selected_row()?.id;
                state.detail = Some(Detail {
                    id,
                    ..Detail::default()
                });
                return Some(Effect::LoadDetail(id));
            }
        }
        Action::Back => back(state),
        Action::NextTab => {
            if let Some(d) = &mut state.detail {
                d.tab = match d.tab {
                    Tab::Request => Tab::Response,
                    Tab::Response => Tab::Request,
                };
                d.scroll = 0;
            }
        }
        Action::Replay => return current_id(state).map(Effect::Replay),
        Action::EditReplay => return current_id(state).map(Effect::EditReplay),
        Action::CopyCurl => return current_id(state).map(Effect::CopyCurl),
        Action::Export => return current_id(state).map(Effect::Export),
        Action::StartFilter => {
            state.filtering = true;
            state.overlay = Overlay::None;
        }
        Action::FilterChar(c) => {
            state.filter_input.push(c);
            apply_filter(state);
        }
        Action::FilterBackspace => {
            state.filter_input.pop();
            apply_filter(state);
        }
        Action::FilterAccept => {
            state.filtering = false;
            return body_search(state);
        }
        Action::ToggleHelp => {
            state.overlay = match state.overlay {
                Overlay::Help => Overlay::None,
                _ => Overlay::Help,
            }
        }
        Action::ToggleHeader => state.header_collapsed = !state.header_collapsed,
        Action::Quit => state.quit = true,
        Action::DetailLoaded(c) => show_detail(state, c),
        Action::BodyMatches { needle, ids } => {
            refilter(state, |rows| {
                rows.set_body_matches(&needle, ids);
            });
        }
        Action::Notice(text) => state.notice = Some(text),
        Action::Popup { title, text } => state.overlay = Overlay::Popup { title, text },
    }
    None
}

fn on_net(state: &mut AppState, ev: AgentEvent) -> Option<Effect> {
    match ev {
        AgentEvent::Started { target, source } => {
            state.target = target;
            state.set_source(source);
        }
        AgentEvent::State(conn) => {
            state.conn = conn;
            state.conn_changed_ms = state.now_ms;
        }
        AgentEvent::Welcome {
            source,
            backlog,
            public_url,
            mode,
            ..
        } => {
            state.mode = mode;
            if state.tagged {
                state.welcomed(source, public_url, backlog);
            } else {
                state.backlog = Some(backlog);
                state.public_url = public_url;
            }
        }
        AgentEvent::Captured(c) => {
            let reload = state.detail.as_ref().is_some_and(|d| d.id == c.id);
            note_body(state, c.id, c.request.body.as_bytes());
            if let Some(r) = c.outcome.as_ref().and_then(|o| o.response()) {
                note_body(state, c.id, r.body.as_bytes());
            }
            add_row(state, Row::from_capture(&c));
            if reload {
                show_detail(state, c);
            }
        }
        AgentEvent::Delivered {
            id,
            delivered_at_ms,
            answered_at_ms,
            outcome,
        } => {
            if let Some(r) = outcome.response() {
                note_body(state, id, r.body.as_bytes());
            }
            let mut finished = None;
            state.rows.update(id, |r| {
                let was_pending = r.pending;
                r.apply_outcome(&outcome);
                if was_pending {
                    finished = Some(r.clone());
                }
            });
            if let Some(row) = finished {
                state.counters.count_outcome(&row);
            }
            let mut reload = None;
            if let Some(d) = &mut state.detail {
                if let Some(c) = d.capture.as_deref_mut().filter(|c| c.id == id) {
                    c.complete(delivered_at_ms, answered_at_ms, outcome);
                    reload = Some(Box::new(c.clone()));
                }
            }
            if let Some(c) = reload {
                show_detail(state, c);
            }
        }
        AgentEvent::Notice(text) => state.notice = Some(text),
        AgentEvent::LocalDown {
            source,
            waiting,
            next_in_ms,
            ..
        } => {
            state.local_down = Some((waiting, next_in_ms, state.now_ms));
            state.down_source = Some(source).filter(|_| state.tagged);
        }
        AgentEvent::LocalBack { source, .. } => {
            // With several sources, another source's recovery leaves this one's hold shown.
            if state.down_source.as_ref().is_none_or(|s| *s == source) {
                state.local_down = None;
                state.down_source = None;
            }
        }
    }
    None
}

fn add_row(state: &mut AppState, row: Row) {
    let finished = !row.pending;
    let counted = row.clone();
    match state.rows.upsert(row) {
        Upsert::Added { evicted_visible } => {
            state.counters.total += 1;
            if finished {
                state.counters.count_outcome(&counted);
            }
            if evicted_visible {
                state.list_offset = state.list_offset.saturating_sub(1);
                if !state.follow {
                    state.selected = state.selected.saturating_sub(1);
                }
            }
        }
        Upsert::Replaced => {}
    }
    if state.follow {
        state.selected = state.rows.visible_len().saturating_sub(1);
    }
}

fn move_by(state: &mut AppState, delta: i64) {
    if let Some(d) = &mut state.detail {
        let max = d.max_lines().saturating_sub(1) as i64;
        d.scroll = (d.scroll as i64).saturating_add(delta).clamp(0, max) as usize;
        return;
    }
    let len = state.rows.visible_len();
    if len == 0 {
        state.follow = true;
        return;
    }
    let last = (len - 1) as i64;
    state.selected = (state.selected as i64).saturating_add(delta).clamp(0, last) as usize;
    state.follow = state.selected as i64 == last && delta > 0;
}

fn back(state: &mut AppState) {
    if state.overlay != Overlay::None {
        state.overlay = Overlay::None;
    } else if state.filtering || (!state.filter_input.is_empty() && state.detail.is_none()) {
        state.filtering = false;
        state.filter_input.clear();
        apply_filter(state);
    } else if state.detail.is_some() {
        state.detail = None;
    } else {
        state.notice = None;
    }
}

/// Bodies are searched in the capture store when the user presses Enter on a filter (not on
/// every keystroke: a scan of 100,000 bodies takes a noticeable fraction of a second and holds
/// the store). Until then, and after any change to the filter, rows match on their own fields.
fn body_search(state: &AppState) -> Option<Effect> {
    let needle = state.rows.filter();
    (!needle.is_empty() && !state.rows.has_body_matches())
        .then(|| Effect::SearchBodies(needle.to_string()))
}

/// While body matches for the active filter are known, a new capture whose body contains the
/// filter joins them (the reducer holds the whole capture at that moment; rows keep no body).
fn note_body(state: &mut AppState, id: shared::EventId, body: &[u8]) {
    let needle = state.rows.filter();
    if state.rows.has_body_matches() && super::row::contains_ignore_case(body, needle) {
        state.rows.note_body_match(id);
    }
}

fn apply_filter(state: &mut AppState) {
    let input = state.filter_input.clone();
    refilter(state, |rows| rows.set_filter(&input));
}

/// Changes the visible rows with `f`, keeping the selection on the same row when not following.
fn refilter(state: &mut AppState, f: impl FnOnce(&mut super::ring::RowRing)) {
    let selected = state.selected_row().map(|r| r.id);
    f(&mut state.rows);
    let len = state.rows.visible_len();
    state.selected = match selected.filter(|_| !state.follow) {
        Some(id) => (0..len)
            .find(|&i| state.rows.visible(i).is_some_and(|r| r.id == id))
            .unwrap_or(len.saturating_sub(1)),
        None => len.saturating_sub(1),
    };
}

fn current_id(state: &AppState) -> Option<shared::EventId> {
    match &state.detail {
        Some(d) => Some(d.id),
        None => state.selected_row().map(|r| r.id),
    }
}

fn show_detail(state: &mut AppState, c: Box<Capture>) {
    let Some(d) = &mut state.detail else {
        return;
    };
    if d.id != c.id {
        return;
    }
    d.request = request_lines(&c);
    d.response = response_lines(&c);
    d.scroll = d.scroll.min(d.max_lines().saturating_sub(1));
    d.capture = Some(c);
}
