//! A capture's request as a curl command that reproduces it byte for byte.

use crate::model::Capture;

/// Headers curl sets itself (or that describe one hop); left out of the command.
const SKIP: &[&str] = &["host", "content-length", "connection", "transfer-encoding"];

/// `curl -X METHOD 'url' -H '…' --data-binary '…'`; a binary body is piped in from `printf`.
pub fn command(c: &Capture) -> String {
    let body = c.request.body.as_bytes();
    let text_body = std::str::from_utf8(body).ok();
    let mut out = String::new();
    if !body.is_empty() && text_body.is_none() {
        out.push_str(&format!("printf '{}' | ", printf_escape(body)));
    }
    out.push_str(&format!(
        "curl -X {} {}",
        quote(&c.request.method),
        quote(&c.target_url)
    ));
    for h in &c.request.headers {
        if SKIP.iter().any(|s| h.name().eq_ignore_ascii_case(s)) {
            continue;
        }
        let line = format!("{}: {}", h.name(), h.1.to_string_lossy());
        out.push_str(&format!(" \\\n  -H {}", quote(&line)));
    }
    match text_body {
        _ if body.is_empty() => {}
        Some(t) => out.push_str(&format!(" \\\n  --data-binary {}", quote(t))),
        None => out.push_str(" \\\n  --data-binary @-"),
    }
    out
}

/// Single-quotes `s` for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Bytes as a `printf` format: printable ASCII as is, everything else as `\ooo` octal.
fn printf_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        match b {
            b'%' => out.push_str("%%"),
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\047"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture_builder::CaptureBuilder;
    use crate::model::CaptureKind;
    use shared::EventId;

    fn capture(body: &[u8]) -> Capture {
        CaptureBuilder::new(CaptureKind::Event)
            .id(EventId(uuid::Uuid::nil()))
            .header("content-type", "application/json")
            .header("host", "x")
            .header("x-q", "it's")
            .body(body)
            .target("http://127.0.0.1:1337/hook")
            .build()
    }

    #[test]
    fn text_and_binary_bodies() {
        assert_eq!(
            command(&capture(br#"{"a":"b'c"}"#)),
            "curl -X 'POST' 'http://127.0.0.1:1337/hook' \\\n  -H 'content-type: application/json' \\\n  -H 'x-q: it'\\''s' \\\n  --data-binary '{\"a\":\"b'\\''c\"}'"
        );
        let bin = command(&capture(&[0xff, b'%', 0, b'A']));
        assert!(bin.starts_with(r"printf '\377%%\000A' | curl"), "{bin}");
        assert!(bin.ends_with("--data-binary @-"), "{bin}");
    }
}
