//! The header: where webhooks come in and go out, the relay link, and the totals.

use crate::events::ConnState;
use crate::tui::state::AppState;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

const DIM: Style = Style::new().fg(Color::DarkGray);

/// Draws the header (one line when collapsed or when the terminal is short).
pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let conn = conn_span(state);
    if state.header_height() == 1 {
        let mut spans = vec![conn, Span::raw("  ")];
        spans.extend(local_down(state));
        spans.extend(counters(state));
        spans.push(Span::raw("  "));
        spans.extend(route(state));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let mut state_line = vec![conn];
    if let Some(b) = state.backlog {
        state_line.push(Span::styled(" · waiting at the relay on connect: ", DIM));
        state_line.push(Span::raw(b.to_string()));
    }
    state_line.extend(local_down(state));
    let mut totals = vec![Span::raw(" ")];
    totals.extend(counters(state));
    totals.push(Span::raw(" "));
    let title = Line::from(vec![
        Span::styled(" hookrelay ", Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(
            format!("· source {} · {} mode ", state.source, state.mode),
            DIM,
        ),
    ]);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(DIM)
        .title(title)
        .title_bottom(Line::from(totals).right_aligned());
    let lines = vec![Line::from(route(state)), Line::from(state_line)];
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn route(state: &AppState) -> Vec<Span<'static>> {
    vec![
        Span::styled(state.public_url.clone(), Style::new().fg(Color::Cyan)),
        Span::styled(" → ", DIM),
        Span::styled(state.target.clone(), Style::new().fg(Color::Cyan)),
    ]
}

fn conn_span(state: &AppState) -> Span<'static> {
    match &state.conn {
        ConnState::Connecting => Span::styled("◌ Connecting…", Style::new().fg(Color::Yellow)),
        ConnState::Connected { .. } => Span::styled("● Connected", Style::new().fg(Color::Green)),
        ConnState::Reconnecting {
            attempt,
            next_in_ms,
            reason,
        } => {
            let elapsed = state.now_ms.saturating_sub(state.conn_changed_ms);
            let left_s = next_in_ms.saturating_sub(elapsed).div_ceil(1000);
            Span::styled(
                format!("↻ Reconnecting {attempt}, next in {left_s}s ({reason})"),
                Style::new().fg(Color::Yellow),
            )
        }
        ConnState::Failed { reason } => {
            Span::styled(format!("✗ Failed: {reason}"), Style::new().fg(Color::Red))
        }
    }
}

/// "local service down · 12 waiting · next try in 2 s", counting down between reports.
fn local_down(state: &AppState) -> Vec<Span<'static>> {
    let Some((waiting, next_in_ms, at_ms)) = state.local_down else {
        return Vec::new();
    };
    let left_ms = next_in_ms.saturating_sub(state.now_ms.saturating_sub(at_ms));
    let of = state
        .down_source
        .as_ref()
        .map_or(String::new(), |s| format!(" ({s})"));
    vec![
        Span::styled(" · ", DIM),
        Span::styled(
            format!(
                "local service down{of} · {waiting} waiting · next try in {} s ",
                left_ms.div_ceil(1000)
            ),
            Style::new().fg(Color::Red),
        ),
    ]
}

fn counters(state: &AppState) -> Vec<Span<'static>> {
    let c = state.counters;
    vec![
        Span::raw(format!("{} total", c.total)),
        Span::styled(" · ", DIM),
        Span::styled(format!("{} 2xx", c.ok), Style::new().fg(Color::Green)),
        Span::styled(" · ", DIM),
        Span::styled(
            format!("{} 4xx/5xx", c.http_errors),
            Style::new().fg(Color::Yellow),
        ),
        Span::styled(" · ", DIM),
        Span::styled(format!("{} failed", c.failed), Style::new().fg(Color::Red)),
    ]
}
