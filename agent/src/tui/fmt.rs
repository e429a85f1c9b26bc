//! Small formatting helpers shared by the views and effects.

use ratatui::style::{Color, Style};
use shared::EventId;

/// `HH:MM:SS.mmm` (UTC) of a time in ms since the Unix epoch.
pub fn clock(ms: u64) -> String {
    let secs = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
        ms % 1000
    )
}

/// A duration in µs as `850µs`, `12ms`, `1.25s`, `2m05s`, `3h07m`, `4d02h`.
pub fn duration(us: u64) -> String {
    let s = us / 1_000_000;
    match us {
        0..1_000 => format!("{us}µs"),
        1_000..1_000_000 => format!("{}ms", us / 1_000),
        1_000_000..60_000_000 => format!("{:.2}s", us as f64 / 1_000_000.0),
        _ if s < 3_600 => format!("{}m{:02}s", s / 60, s % 60),
        _ if s < 86_400 => format!("{}h{:02}m", s / 3_600, s / 60 % 60),
        _ => format!("{}d{:02}h", s / 86_400, s / 3_600 % 24),
    }
}

/// The first 8 hex digits of an id.
pub fn short_id(id: EventId) -> String {
    id.0.simple().to_string()[..8].to_string()
}

/// The colour of a status class.
pub fn status_style(status: u16) -> Style {
    match status {
        200..=299 => Style::new().fg(Color::Green),
        300..=399 => Style::new().fg(Color::Cyan),
        400..=499 => Style::new().fg(Color::Yellow),
        _ => Style::new().fg(Color::Red),
    }
}

/// Okta gives inline hooks 3 s: green up to 1 s, yellow above, red from 2.5 s.
pub fn budget_style(us: u64) -> Style {
    match us {
        0..=1_000_000 => Style::new().fg(Color::Green),
        1_000_001..=2_499_999 => Style::new().fg(Color::Yellow),
        _ => Style::new().fg(Color::Red),
    }
}

/// The reason phrase of common status codes.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(clock(1_700_000_123_456), "22:15:23.456");
        assert_eq!(duration(999), "999µs");
        assert_eq!(duration(12_345), "12ms");
        assert_eq!(duration(1_250_000), "1.25s");
        assert_eq!(duration(125_000_000), "2m05s");
        assert_eq!(duration(11_220_000_000), "3h07m");
        assert_eq!(duration(353_000_000_000), "4d02h");
        assert_eq!(
            short_id(EventId(uuid::Uuid::from_bytes([0xab; 16]))),
            "abababab"
        );
    }
}
