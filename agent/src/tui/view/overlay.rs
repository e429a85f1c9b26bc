//! What is drawn on top: the key help and message popups.

use crate::tui::keys::HELP;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// The key help, centred; in two columns when the terminal is too short for one.
pub fn help(frame: &mut Frame) {
    let outer = frame.area();
    let entry = |(k, what): &(&str, &str), pad: usize| {
        Line::from(vec![
            Span::styled(format!("{k:>pad$}  "), Style::new().fg(Color::Cyan)),
            Span::raw(what.to_string()),
        ])
    };
    let one_column = outer.height as usize >= HELP.len() + 2;
    if one_column {
        let lines: Vec<Line> = HELP.iter().map(|e| entry(e, 10)).collect();
        let area = centred(outer, 40, lines.len() as u16 + 2);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(lines).block(block(" keys · Esc closes ")),
            area,
        );
        return;
    }
    let half = HELP.len().div_ceil(2);
    let area = centred(outer, 72, half as u16 + 2);
    frame.render_widget(Clear, area);
    let inner = block(" keys · Esc closes ");
    let [left, right] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(inner.inner(area));
    frame.render_widget(inner, area);
    let column =
        |part: &[(&str, &str)]| -> Vec<Line> { part.iter().map(|e| entry(e, 9)).collect() };
    frame.render_widget(Paragraph::new(column(&HELP[..half])), left);
    frame.render_widget(Paragraph::new(column(&HELP[half..])), right);
}

/// A message with a title, centred, wrapped.
pub fn popup(frame: &mut Frame, title: &str, text: &str) {
    let outer = frame.area();
    let width = outer.width.saturating_sub(4).min(100);
    let inner_w = width.saturating_sub(2).max(1) as usize;
    let rows: usize = text
        .lines()
        .map(|l| l.chars().count().div_ceil(inner_w).max(1))
        .sum();
    let area = centred(outer, width, rows as u16 + 2);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(text.to_string())
            .wrap(Wrap { trim: false })
            .block(block(&format!(" {title} · Esc closes "))),
        area,
    );
}

fn block(title: &str) -> Block<'static> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(Color::Cyan))
        .title(Span::styled(
            title.to_string(),
            Style::new().add_modifier(Modifier::BOLD),
        ))
}

fn centred(outer: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(outer.height))])
        .flex(Flex::Center)
        .areas(outer);
    let [area] = Layout::horizontal([Constraint::Length(width.min(outer.width))])
        .flex(Flex::Center)
        .areas(row);
    area
}
