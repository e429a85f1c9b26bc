//! Edit-and-replay: a request as an editable text file, `$EDITOR`, and the text parsed back.

use anyhow::{bail, Context};
use shared::{Header, HttpRequest};

const PREAMBLE: &str =
    "# Edit the request, save and quit to replay it. Empty the file to cancel.\n\
# Request line, headers, a blank line, then the body. Lines starting with # up here are ignored.\n";

/// The request as text to edit; `None` when its body is not UTF-8 (binary bodies can't be edited).
pub fn to_text(req: &HttpRequest) -> Option<String> {
    let body = req.body.as_str()?;
    let mut out = String::from(PREAMBLE);
    let path = req.path_and_query();
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    out.push_str(&format!("{} {}\n", req.method, path));
    for h in &req.headers {
        out.push_str(&format!("{}: {}\n", h.name(), h.1.to_string_lossy()));
    }
    out.push('\n');
    out.push_str(body);
    Some(out)
}

/// Parses edited text back into a request; `Ok(None)` when the file was emptied (cancel).
/// One newline an editor adds at the end is dropped when `original` had none.
pub fn from_text(text: &str, original: &HttpRequest) -> anyhow::Result<Option<HttpRequest>> {
    let mut rest = text;
    while rest.starts_with('#') {
        rest = rest.split_once('\n').map_or("", |(_, r)| r);
    }
    if rest.trim().is_empty() {
        return Ok(None);
    }
    let (head, body) = match rest.split_once("\n\n") {
        Some((h, b)) => (h, b),
        None => (rest.trim_end_matches('\n'), ""),
    };
    let mut lines = head.lines();
    let request_line = lines.next().context("the request line is missing")?;
    let Some((method, target)) = request_line.trim().split_once(' ') else {
        bail!("the request line must be `METHOD /path`, not {request_line:?}");
    };
    let target = target.trim();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (target, None),
    };
    let path = if path == "/" && original.path.is_empty() {
        ""
    } else {
        path
    };
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            bail!("header line {line:?} has no `:`");
        };
        headers.push(Header::new(name.trim(), value.trim_start()));
    }
    let ends_nl = original.body.as_bytes().ends_with(b"\n");
    let body = match body.strip_suffix('\n') {
        Some(b) if !ends_nl => b,
        _ => body,
    };
    Ok(Some(HttpRequest {
        method: method.to_string(),
        path: path.to_string(),
        query,
        headers,
        body: body.into(),
    }))
}

/// Opens `text` in `$VISUAL`/`$EDITOR` (default `vi`) and returns the saved text. Blocking.
pub fn edit(text: &str) -> anyhow::Result<String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_string());
    let mut words = editor.split_whitespace();
    let program = words.next().context("$EDITOR is empty")?;
    let path = std::env::temp_dir().join(format!("hookrelay-edit-{}.http", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    let status = std::process::Command::new(program)
        .args(words)
        .arg(&path)
        .status()
        .with_context(|| format!("starting the editor {editor:?}"));
    let edited =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()));
    let _ = std::fs::remove_file(&path);
    let status = status?;
    if !status.success() {
        bail!("the editor {editor:?} exited with {status}; not replaying");
    }
    edited
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path: "/a".into(),
            query: Some("x=1".into()),
            headers: vec![Header::new("content-type", "application/json")],
            body: body.into(),
        }
    }

    #[test]
    fn round_trips_and_drops_the_editor_newline() {
        let r = req("{\"a\":1}");
        let text = to_text(&r).expect("text body");
        assert_eq!(from_text(&text, &r).expect("parse"), Some(r.clone()));
        let edited = format!("{}\n", text.replace("\"a\":1", "\"a\":2"));
        let back = from_text(&edited, &r)
            .expect("parse")
            .expect("not cancelled");
        assert_eq!(back.body.as_str(), Some("{\"a\":2}"));
        assert_eq!(back.query.as_deref(), Some("x=1"));
    }

    #[test]
    fn cancel_bad_lines_and_binary() {
        let r = req("");
        assert_eq!(from_text("# only comments\n\n", &r).expect("parse"), None);
        assert!(from_text("POST\n", &r).is_err());
        assert!(from_text("POST /x\nno colon\n\n", &r).is_err());
        let mut bin = req("");
        bin.body = vec![0xff].into();
        assert!(to_text(&bin).is_none());
    }
}
