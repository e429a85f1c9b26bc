//! `map_key`: which action a key press means in the current mode.

use super::action::Action;
use super::state::{AppState, Overlay};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Keys shown in the help overlay and the status bar: (keys, what they do).
pub const HELP: &[(&str, &str)] = &[
    ("↑/↓ j/k", "move / scroll"),
    ("PgUp/PgDn", "page"),
    ("g/G", "top / newest"),
    ("Enter", "detail"),
    ("Esc", "back"),
    ("Tab", "request / response"),
    ("r", "replay"),
    ("e", "edit + replay"),
    ("/", "filter"),
    ("c", "copy as curl"),
    ("x", "export JSON"),
    ("h", "collapse header"),
    ("?", "help"),
    ("q", "quit"),
];

/// The action for a key event, or `None` to ignore it. Only presses count (not repeats or
/// releases, which some terminals report too).
pub fn map_key(state: &AppState, key: KeyEvent) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if state.filtering {
        return match key.code {
            KeyCode::Enter => Some(Action::FilterAccept),
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) if !ctrl => Some(Action::FilterChar(c)),
            _ => None,
        };
    }
    if state.overlay != Overlay::None {
        return match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Char('?') if state.overlay == Overlay::Help => Some(Action::ToggleHelp),
            _ => Some(Action::Back),
        };
    }
    let action = match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Char('b') if ctrl => Action::PageUp,
        KeyCode::Char('f') if ctrl => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Enter => Action::Open,
        KeyCode::Esc | KeyCode::Backspace => Action::Back,
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => Action::NextTab,
        KeyCode::Char('r') => Action::Replay,
        KeyCode::Char('e') => Action::EditReplay,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Char('c') => Action::CopyCurl,
        KeyCode::Char('x') => Action::Export,
        KeyCode::Char('h') => Action::ToggleHeader,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    };
    Some(action)
}
