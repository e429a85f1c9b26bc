//! The detail view's text for one capture: request and response as lines, built once when the
//! capture is loaded.

use super::body::body_lines;
use super::fmt::{duration, reason, short_id, status_style};
use crate::model::{Capture, CaptureKind};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use shared::Header;

const DIM: Style = Style::new().fg(Color::DarkGray);

/// Request line, target, headers and body.
pub fn request_lines(c: &Capture) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                c.request.method.clone(),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(" "),
            Span::raw(display_path(&c.request.path_and_query())),
        ]),
        Line::from(vec![
            Span::styled("→ ", DIM),
            Span::raw(c.target_url.clone()),
        ]),
    ];
    if let Some(orig) = c.replay_of {
        lines.push(Line::styled(
            format!("↻ replay of {}", short_id(orig)),
            Style::new().fg(Color::Magenta),
        ));
    }
    if c.duplicate {
        lines.push(Line::styled(
            "⧉ duplicate: Okta redelivered an event already seen",
            Style::new().fg(Color::Yellow),
        ));
    }
    lines.push(Line::raw(""));
    lines.extend(header_lines(&c.request.headers));
    lines.push(Line::raw(""));
    lines.extend(body_lines(c.request.body.as_bytes()));
    lines
}

/// Status, headers and body of the answer, or why there is none.
pub fn response_lines(c: &Capture) -> Vec<Line<'static>> {
    let Some(outcome) = &c.outcome else {
        let text = if c.kind == CaptureKind::Verification {
            "verification answered by the relay; not delivered locally"
        } else {
            "waiting for the local service…"
        };
        return vec![Line::styled(text, DIM)];
    };
    let took = Span::styled(format!("  in {}", duration(outcome.duration_us())), DIM);
    let Some(resp) = outcome.response() else {
        let err = outcome
            .error()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no answer".into());
        return vec![Line::from(vec![
            Span::styled(format!("✗ {err}"), Style::new().fg(Color::Red)),
            took,
        ])];
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{} {}", resp.status, reason(resp.status)),
            status_style(resp.status).add_modifier(Modifier::BOLD),
        ),
        took,
    ])];
    lines.push(Line::raw(""));
    lines.extend(header_lines(&resp.headers));
    lines.push(Line::raw(""));
    lines.extend(body_lines(resp.body.as_bytes()));
    lines
}

fn header_lines(headers: &[Header]) -> Vec<Line<'static>> {
    if headers.is_empty() {
        return vec![Line::styled("(no headers)", DIM)];
    }
    headers
        .iter()
        .map(|h| {
            Line::from(vec![
                Span::styled(h.name().to_string(), Style::new().fg(Color::Cyan)),
                Span::styled(": ", DIM),
                Span::raw(h.1.to_string_lossy()),
            ])
        })
        .collect()
}

fn display_path(p: &str) -> String {
    if p.is_empty() {
        "/".into()
    } else {
        p.into()
    }
}
