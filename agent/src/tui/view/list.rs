//! The event list: only the rows on screen are built, so 100,000 rows cost what 30 do.

use crate::model::CaptureKind;
use crate::tui::fmt::{budget_style, clock, duration, short_id, status_style};
use crate::tui::row::Row;
use crate::tui::state::AppState;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Table, TableState};
use ratatui::Frame;

const DIM: Style = Style::new().fg(Color::DarkGray);
/// Below this width, path and summary share one column and times drop milliseconds.
const WIDE: u16 = 100;

/// Draws the list of events.
pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let len = state.rows.visible_len();
    let title = if state.rows.filter().is_empty() {
        format!(" events {len} ")
    } else {
        format!(
            " events {len}/{} matching “{}” ",
            state.rows.len(),
            state.filter_input
        )
    };
    let follow = if state.follow { " following " } else { "" };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(DIM)
        .title(title)
        .title(Line::styled(follow, DIM).right_aligned());
    if len == 0 {
        let text = if state.rows.is_empty() {
            "No events yet. Send a webhook to the public URL above."
        } else {
            "No events match the filter. Esc clears it."
        };
        frame.render_widget(Paragraph::new(Line::styled(text, DIM)).block(block), area);
        return;
    }
    let wide = area.width >= WIDE;
    let offset = state.visible_offset();
    let end = (offset + state.page_rows()).min(len);
    let rows: Vec<TableRow> = (offset..end)
        .filter_map(|i| state.rows.visible(i))
        .map(|r| table_row(r, state.now_ms, wide, state.tagged))
        .collect();
    let (mut header, mut widths) = if wide {
        (
            vec!["time", "method", "path", "event", "status", "took", ""],
            vec![
                Constraint::Length(12),
                Constraint::Length(7),
                Constraint::Fill(2),
                Constraint::Fill(3),
                Constraint::Length(6),
                Constraint::Length(10),
                Constraint::Length(2),
            ],
        )
    } else {
        (
            vec!["time", "method", "event", "status", "took", ""],
            vec![
                Constraint::Length(8),
                Constraint::Length(6),
                Constraint::Fill(1),
                Constraint::Length(6),
                Constraint::Length(10),
                Constraint::Length(2),
            ],
        )
    };
    if state.tagged {
        header.insert(1, "source");
        widths.insert(1, Constraint::Length(if wide { 12 } else { 8 }));
    }
    let table = Table::new(rows, widths)
        .header(TableRow::new(header).style(DIM.add_modifier(Modifier::BOLD)))
        .block(block)
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("▌");
    let mut ts = TableState::default().with_selected(Some(state.selected.saturating_sub(offset)));
    frame.render_stateful_widget(table, area, &mut ts);
}

fn table_row(r: &Row, now_ms: u64, wide: bool, tagged: bool) -> TableRow<'static> {
    let time = clock(r.received_at_ms);
    let time = if wide { time } else { time[..8].to_string() };
    let mut cells = vec![Cell::from(Span::styled(time, DIM))];
    if tagged {
        cells.push(Cell::from(Span::styled(
            r.source.clone(),
            super::detail::SOURCE,
        )));
    }
    cells.push(Cell::from(r.method.clone()));
    let event = event_line(r);
    if wide {
        cells.push(Cell::from(path(r)));
        cells.push(Cell::from(event));
    } else if r.summary.is_some() || r.error.is_some() || r.replay_of.is_some() {
        cells.push(Cell::from(event));
    } else {
        cells.push(Cell::from(path(r)));
    }
    cells.push(status_cell(r));
    cells.push(took_cell(r, now_ms));
    let mut marks = Vec::new();
    if r.duplicate {
        marks.push(Span::styled("⧉", Style::new().fg(Color::Yellow)));
    }
    if r.kind == CaptureKind::Replay {
        marks.push(Span::styled("↻", Style::new().fg(Color::Magenta)));
    }
    cells.push(Cell::from(Line::from(marks)));
    TableRow::new(cells)
}

fn path(r: &Row) -> String {
    if r.path.is_empty() {
        "/".into()
    } else {
        r.path.clone()
    }
}

fn event_line(r: &Row) -> Line<'static> {
    let mut spans = Vec::new();
    if let Some(orig) = r.replay_of {
        spans.push(Span::styled(
            format!("↻{} ", short_id(orig)),
            Style::new().fg(Color::Magenta),
        ));
    }
    if r.filtered() {
        spans.push(Span::styled(r.error.clone().unwrap_or_default(), DIM));
    } else if let Some(err) = &r.error {
        spans.push(Span::styled(err.clone(), Style::new().fg(Color::Red)));
    } else if let Some(s) = &r.summary {
        spans.push(Span::raw(s.clone()));
    }
    Line::from(spans)
}

fn status_cell(r: &Row) -> Cell<'static> {
    match (r.status, r.pending) {
        (Some(s), _) => Cell::from(Span::styled(s.to_string(), status_style(s))),
        (None, true) => Cell::from(Span::styled("…", Style::new().fg(Color::Blue))),
        (None, false) if r.filtered() => Cell::from(Span::styled("⊘", DIM)),
        (None, false) if r.error.is_some() => {
            Cell::from(Span::styled("✗", Style::new().fg(Color::Red)))
        }
        (None, false) => Cell::from(Span::styled("—", DIM)),
    }
}

fn took_cell(r: &Row, now_ms: u64) -> Cell<'static> {
    if r.pending {
        let waited = now_ms.saturating_sub(r.received_at_ms);
        return Cell::from(Span::styled(
            format!("{}…", duration(waited * 1000)),
            Style::new().fg(Color::Blue),
        ));
    }
    let Some(us) = r.duration_us else {
        return Cell::from("");
    };
    if r.inline {
        let pct = us / 30_000;
        Cell::from(Span::styled(
            format!("{} {pct}%", duration(us)),
            budget_style(us),
        ))
    } else {
        Cell::from(Span::styled(duration(us), DIM))
    }
}
