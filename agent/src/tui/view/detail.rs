//! The detail view: timings, then request and response side by side (wide) or as tabs.

use crate::model::Capture;
use crate::tui::fmt::{budget_style, clock, duration, short_id};
use crate::tui::state::{Detail, Tab};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Tabs, Wrap};
use ratatui::Frame;

const DIM: Style = Style::new().fg(Color::DarkGray);
/// How an event's source is shown.
pub(super) const SOURCE: Style = Style::new().fg(Color::Green);
/// From this width request and response are shown side by side.
const SIDE_BY_SIDE: u16 = 160;

/// Draws the detail view of one capture.
/// `tagged`: the agent listens on several sources, so the line names the event's.
pub fn render(d: &Detail, inspect_url: Option<&str>, tagged: bool, frame: &mut Frame, area: Rect) {
    let [top, rest] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let Some(c) = &d.capture else {
        frame.render_widget(
            Paragraph::new(Line::styled(format!("loading {}…", short_id(d.id)), DIM)),
            top,
        );
        return;
    };
    let mut line = timings(c);
    if tagged {
        line.spans
            .insert(1, Span::styled(format!(" [{}]", c.source), SOURCE));
    }
    if let Some(base) = inspect_url {
        line.spans.push(Span::styled("  ", DIM));
        line.spans.push(Span::styled(
            crate::inspect::event_link(base, c.id),
            Style::new()
                .fg(Color::Blue)
                .add_modifier(Modifier::UNDERLINED),
        ));
    }
    frame.render_widget(Paragraph::new(line), top);
    if area.width >= SIDE_BY_SIDE {
        let [left, right] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(rest);
        pane(frame, left, " Request ", &d.request, d.scroll);
        pane(frame, right, " Response ", &d.response, d.scroll);
        return;
    }
    let [tabs_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(rest);
    let selected = match d.tab {
        Tab::Request => 0,
        Tab::Response => 1,
    };
    frame.render_widget(
        Tabs::new(["Request", "Response"])
            .select(selected)
            .style(DIM)
            .highlight_style(Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)),
        tabs_area,
    );
    let lines = match d.tab {
        Tab::Request => &d.request,
        Tab::Response => &d.response,
    };
    pane(frame, body, "", lines, d.scroll);
}

fn pane(frame: &mut Frame, area: Rect, title: &str, lines: &[Line<'static>], scroll: usize) {
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(DIM)
        .title(title.to_string());
    let height = area.height as usize;
    let start = scroll.min(lines.len().saturating_sub(1));
    let end = (start + height).min(lines.len());
    let shown = lines.get(start..end).unwrap_or_default().to_vec();
    frame.render_widget(
        Paragraph::new(shown)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn timings(c: &Capture) -> Line<'static> {
    let mut spans = vec![
        Span::styled(short_id(c.id), Style::new().fg(Color::Cyan)),
        Span::styled(format!(" {:?}", c.kind).to_lowercase(), DIM),
        Span::styled("  received ", DIM),
        Span::raw(clock(c.received_at_ms)),
    ];
    let rel = |t: u64| {
        let d = t as i64 - c.received_at_ms as i64;
        if d >= 0 {
            format!("+{d}ms")
        } else {
            format!("{d}ms")
        }
    };
    if let Some(t) = c.delivered_at_ms {
        spans.push(Span::styled("  delivered ", DIM));
        spans.push(Span::raw(rel(t)));
    }
    if let Some(t) = c.answered_at_ms {
        spans.push(Span::styled("  answered ", DIM));
        spans.push(Span::raw(rel(t)));
    }
    let inline = shared::okta::summarize(c.request.body.as_bytes()).is_some_and(|s| s.is_inline());
    if let Some(us) = c
        .outcome
        .as_ref()
        .map(|o| o.duration_us())
        .filter(|_| inline)
    {
        spans.push(Span::styled("  inline ", DIM));
        spans.push(Span::styled(
            format!("{}/3s", duration(us)),
            budget_style(us),
        ));
    }
    Line::from(spans)
}
