//! The status bar: the filter being typed, the last notice, and as many key hints as fit.

use crate::tui::state::AppState;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Always shown, at the end.
const ALWAYS: &[(&str, &str)] = &[("?", "help"), ("q", "quit")];
/// Shown while they fit, in this order.
const LIST_KEYS: &[(&str, &str)] = &[
    ("⏎", "detail"),
    ("r", "replay"),
    ("/", "filter"),
    ("e", "edit"),
    ("c", "curl"),
    ("x", "export"),
    ("↑↓", "move"),
    ("g/G", "ends"),
    ("h", "header"),
];
const DETAIL_KEYS: &[(&str, &str)] = &[
    ("Esc", "back"),
    ("Tab", "req/resp"),
    ("r", "replay"),
    ("e", "edit"),
    ("c", "curl"),
    ("x", "export"),
    ("↑↓", "scroll"),
];

/// Draws the status bar.
pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    if state.filtering {
        let line = Line::from(vec![
            Span::styled("/", Style::new().fg(Color::Cyan)),
            Span::raw(state.filter_input.clone()),
            Span::styled("█", Style::new().fg(Color::Cyan)),
            Span::styled(
                "  ⏎ keep + search bodies · Esc clear",
                Style::new().fg(Color::DarkGray),
            ),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let width = area.width as usize;
    let mut spans = Vec::new();
    let mut used = 0;
    if let Some(n) = &state.notice {
        let max = width / 2;
        let text: String = n.chars().take(max).collect();
        used += text.chars().count() + 2;
        spans.push(Span::styled(text, Style::new().fg(Color::Yellow)));
        spans.push(Span::raw("  "));
    }
    let keys = if state.detail.is_some() {
        DETAIL_KEYS
    } else {
        LIST_KEYS
    };
    used += ALWAYS.iter().map(|(k, w)| cost(k, w)).sum::<usize>();
    let fitting = keys.iter().scan(used, |used, &(k, w)| {
        *used += cost(k, w);
        (*used <= width).then_some((k, w))
    });
    for (k, what) in fitting.chain(ALWAYS.iter().copied()) {
        spans.push(Span::styled(k.to_string(), Style::new().fg(Color::Cyan)));
        spans.push(Span::styled(
            format!(" {what}  "),
            Style::new().fg(Color::DarkGray),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn cost(key: &str, what: &str) -> usize {
    key.chars().count() + what.chars().count() + 3
}
