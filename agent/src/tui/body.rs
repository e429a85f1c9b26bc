//! Bodies as lines to show: JSON pretty-printed with colours (key order and numbers kept as
//! sent), text as text, anything else as a hex dump.

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

/// Bodies longer than this are shown up to here, then a note with how much is left out.
pub const MAX_SHOWN_BYTES: usize = 256 * 1024;

/// The body as lines for the detail view.
pub fn body_lines(body: &[u8]) -> Vec<Line<'static>> {
    if body.is_empty() {
        return vec![Line::styled(
            "(empty body)",
            Style::new().fg(Color::DarkGray),
        )];
    }
    let shown = &body[..body.len().min(MAX_SHOWN_BYTES)];
    let mut lines = if body.len() <= MAX_SHOWN_BYTES && is_json(body) {
        json_lines(body)
    } else if let Some(text) = text_prefix(shown) {
        text.lines()
            .map(|l| Line::raw(l.replace('\t', "    ")))
            .collect()
    } else {
        hex_lines(shown)
    };
    if body.len() > MAX_SHOWN_BYTES {
        lines.push(Line::styled(
            format!("… {} more bytes not shown", body.len() - MAX_SHOWN_BYTES),
            Style::new().fg(Color::DarkGray),
        ));
    }
    lines
}

/// The bytes as text, if they are UTF-8 (allowing a character cut off at the end).
fn text_prefix(bytes: &[u8]) -> Option<&str> {
    match std::str::from_utf8(bytes) {
        Ok(t) => Some(t),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok(),
        Err(_) => None,
    }
}

fn is_json(body: &[u8]) -> bool {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    matches!(first, Some(b'{' | b'['))
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// A classic hex dump: offset, 16 bytes in hex, printable ASCII.
pub fn hex_lines(bytes: &[u8]) -> Vec<Line<'static>> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let mut hex = String::with_capacity(49);
            for (j, b) in chunk.iter().enumerate() {
                if j == 8 {
                    hex.push(' ');
                }
                hex.push_str(&format!("{b:02x} "));
            }
            let ascii: String = chunk
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            Line::from(vec![
                Span::styled(
                    format!("{:08x}  ", i * 16),
                    Style::new().fg(Color::DarkGray),
                ),
                Span::raw(format!("{hex:<49} ")),
                Span::styled(format!("|{ascii}|"), Style::new().fg(Color::Cyan)),
            ])
        })
        .collect()
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Open(u8),
    Close(u8),
    Comma,
    Colon,
    Str(&'a str),
    Lit(&'a str),
}

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c @ (b'{' | b'[') => out.push(Token::Open(c)),
            c @ (b'}' | b']') => out.push(Token::Close(c)),
            b',' => out.push(Token::Comma),
            b':' => out.push(Token::Colon),
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let end = (i + 1).min(b.len());
                out.push(Token::Str(&text[start..end]));
            }
            c if c.is_ascii_whitespace() => {}
            _ => {
                let start = i;
                while i + 1 < b.len() && !b"{}[],:\" \t\r\n".contains(&b[i + 1]) {
                    i += 1;
                }
                out.push(Token::Lit(&text[start..=i]));
            }
        }
        i += 1;
    }
    out
}

const KEY: Style = Style::new().fg(Color::Cyan);
const STRING: Style = Style::new().fg(Color::Green);
const NUMBER: Style = Style::new().fg(Color::Yellow);
const KEYWORD: Style = Style::new().fg(Color::Magenta);
const PUNCT: Style = Style::new().fg(Color::DarkGray);

/// Valid JSON re-indented by two spaces, keys, strings, numbers and keywords coloured.
fn json_lines(body: &[u8]) -> Vec<Line<'static>> {
    let text = String::from_utf8_lossy(body);
    let tokens = tokenize(&text);
    let mut lines = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut depth = 0usize;
    let indent = |d: usize| Span::raw("  ".repeat(d));
    let mut k = 0;
    while k < tokens.len() {
        match &tokens[k] {
            Token::Open(c) => {
                let close = if *c == b'{' { b'}' } else { b']' };
                if tokens.get(k + 1) == Some(&Token::Close(close)) {
                    cur.push(Span::styled(
                        format!("{}{}", *c as char, close as char),
                        PUNCT,
                    ));
                    k += 1;
                } else {
                    cur.push(Span::styled((*c as char).to_string(), PUNCT));
                    lines.push(Line::from(std::mem::take(&mut cur)));
                    depth += 1;
                    cur.push(indent(depth));
                }
            }
            Token::Close(c) => {
                lines.push(Line::from(std::mem::take(&mut cur)));
                depth = depth.saturating_sub(1);
                cur.push(indent(depth));
                cur.push(Span::styled((*c as char).to_string(), PUNCT));
            }
            Token::Comma => {
                cur.push(Span::styled(",", PUNCT));
                lines.push(Line::from(std::mem::take(&mut cur)));
                cur.push(indent(depth));
            }
            Token::Colon => cur.push(Span::styled(": ", PUNCT)),
            Token::Str(s) => {
                let style = if tokens.get(k + 1) == Some(&Token::Colon) {
                    KEY
                } else {
                    STRING
                };
                cur.push(Span::styled(s.to_string(), style));
            }
            Token::Lit(s) => {
                let style = if matches!(*s, "true" | "false" | "null") {
                    KEYWORD
                } else {
                    NUMBER
                };
                cur.push(Span::styled(s.to_string(), style));
            }
        }
        k += 1;
    }
    if !cur.is_empty() {
        lines.push(Line::from(cur));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn json_is_reindented_in_original_key_order() {
        let lines = body_lines(br#"{"z":1,"a":[true,null,"x\"y"],"e":{},"n":-1.5e3}"#);
        assert_eq!(
            plain(&lines),
            [
                "{",
                "  \"z\": 1,",
                "  \"a\": [",
                "    true,",
                "    null,",
                "    \"x\\\"y\"",
                "  ],",
                "  \"e\": {},",
                "  \"n\": -1.5e3",
                "}",
            ]
        );
        assert_eq!(lines[1].spans[1].style, KEY);
    }

    #[test]
    fn text_binary_and_empty() {
        assert_eq!(plain(&body_lines(b"a=1\nb=2")), ["a=1", "b=2"]);
        assert_eq!(plain(&body_lines(b"{not json")), ["{not json"]);
        assert_eq!(plain(&body_lines(b"")), ["(empty body)"]);
        let hex = plain(&body_lines(&[0xff, 0x00, b'A']));
        assert_eq!(hex.len(), 1);
        assert!(hex[0].starts_with("00000000  ff 00 41"), "{hex:?}");
        assert!(hex[0].ends_with("|..A|"), "{hex:?}");
    }

    #[test]
    fn huge_bodies_are_cut() {
        let body = vec![b'x'; MAX_SHOWN_BYTES + 10];
        let lines = plain(&body_lines(&body));
        assert_eq!(
            lines.last().map(String::as_str),
            Some("… 10 more bytes not shown")
        );
    }
}
