//! The key map as a table, per mode.

use super::fixtures::state;
use crate::tui::action::Action;
use crate::tui::keys::map_key;
use crate::tui::state::Overlay;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn list_keys() {
    let s = state();
    let table = [
        (KeyCode::Up, Some(Action::Up)),
        (KeyCode::Char('k'), Some(Action::Up)),
        (KeyCode::Down, Some(Action::Down)),
        (KeyCode::Char('j'), Some(Action::Down)),
        (KeyCode::PageUp, Some(Action::PageUp)),
        (KeyCode::PageDown, Some(Action::PageDown)),
        (KeyCode::Char('g'), Some(Action::Top)),
        (KeyCode::Char('G'), Some(Action::Bottom)),
        (KeyCode::Enter, Some(Action::Open)),
        (KeyCode::Esc, Some(Action::Back)),
        (KeyCode::Tab, Some(Action::NextTab)),
        (KeyCode::Char('r'), Some(Action::Replay)),
        (KeyCode::Char('e'), Some(Action::EditReplay)),
        (KeyCode::Char('/'), Some(Action::StartFilter)),
        (KeyCode::Char('c'), Some(Action::CopyCurl)),
        (KeyCode::Char('x'), Some(Action::Export)),
        (KeyCode::Char('h'), Some(Action::ToggleHeader)),
        (KeyCode::Char('?'), Some(Action::ToggleHelp)),
        (KeyCode::Char('q'), Some(Action::Quit)),
        (KeyCode::Char('z'), None),
        (KeyCode::F(5), None),
    ];
    for (code, want) in table {
        assert_eq!(map_key(&s, press(code)), want, "{code:?}");
    }
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(map_key(&s, ctrl_c), Some(Action::Quit));
}

#[test]
fn only_presses_count() {
    let s = state();
    for kind in [KeyEventKind::Release, KeyEventKind::Repeat] {
        let mut k = press(KeyCode::Char('q'));
        k.kind = kind;
        assert_eq!(map_key(&s, k), None, "{kind:?}");
    }
}

#[test]
fn filter_mode_types_text() {
    let mut s = state();
    s.filtering = true;
    let table = [
        (KeyCode::Char('q'), Some(Action::FilterChar('q'))),
        (KeyCode::Char('/'), Some(Action::FilterChar('/'))),
        (KeyCode::Backspace, Some(Action::FilterBackspace)),
        (KeyCode::Enter, Some(Action::FilterAccept)),
        (KeyCode::Esc, Some(Action::Back)),
        (KeyCode::Up, None),
    ];
    for (code, want) in table {
        assert_eq!(map_key(&s, press(code)), want, "{code:?}");
    }
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(map_key(&s, ctrl_c), Some(Action::Quit));
}

#[test]
fn overlays_close_on_any_key() {
    let mut s = state();
    s.overlay = Overlay::Help;
    assert_eq!(
        map_key(&s, press(KeyCode::Char('?'))),
        Some(Action::ToggleHelp)
    );
    assert_eq!(map_key(&s, press(KeyCode::Char('r'))), Some(Action::Back));
    assert_eq!(map_key(&s, press(KeyCode::Char('q'))), Some(Action::Quit));
    s.overlay = Overlay::Popup {
        title: "t".into(),
        text: "x".into(),
    };
    assert_eq!(map_key(&s, press(KeyCode::Enter)), Some(Action::Back));
}
