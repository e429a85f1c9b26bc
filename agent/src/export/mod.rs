//! Exporting captures to HAR 1.2, a JSON array or NDJSON, and importing any of them back.

mod har;
mod har_model;
mod query;

use crate::model::Capture;
use anyhow::{bail, Context};
use std::fmt;
use std::str::FromStr;

/// A file format captures are exported to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// HAR 1.2, loadable by browsers' devtools; `_hookrelay` fields keep it lossless.
    Har,
    /// A pretty-printed JSON array of captures.
    Json,
    /// One capture per line, as compact JSON.
    Ndjson,
}

impl ExportFormat {
    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Har => "har",
            ExportFormat::Json => "json",
            ExportFormat::Ndjson => "ndjson",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for ExportFormat {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "har" => Ok(ExportFormat::Har),
            "json" => Ok(ExportFormat::Json),
            "ndjson" | "jsonl" => Ok(ExportFormat::Ndjson),
            _ => bail!("unknown export format {s:?} (expected har, json or ndjson)"),
        }
    }
}

/// `captures`, in their order, as a file in `format`.
pub fn export(captures: &[Capture], format: ExportFormat) -> anyhow::Result<Vec<u8>> {
    match format {
        ExportFormat::Har => har::to_har(captures),
        ExportFormat::Json => {
            let mut out = serde_json::to_vec_pretty(captures).context("writing JSON")?;
            out.push(b'\n');
            Ok(out)
        }
        ExportFormat::Ndjson => {
            let mut out = Vec::new();
            for c in captures {
                serde_json::to_writer(&mut out, c)
                    .with_context(|| format!("writing capture {}", c.id))?;
                out.push(b'\n');
            }
            Ok(out)
        }
    }
}

/// The captures in a HAR file, a JSON array of captures or NDJSON (one capture per line),
/// whichever `bytes` holds. Captures keep their ids and kinds; empty input holds none.
pub fn import(bytes: &[u8]) -> anyhow::Result<Vec<Capture>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        bail!("not a capture file: the input is not UTF-8 text (expected HAR, JSON or NDJSON)");
    };
    let trimmed = text.trim_start();
    match trimmed.chars().next() {
        None => Ok(Vec::new()),
        Some('[') => serde_json::from_str::<Vec<Capture>>(trimmed)
            .context("reading a JSON array of captures"),
        Some('{') => match serde_json::from_str::<serde_json::Value>(trimmed) {
            Ok(doc) if doc.get("log").is_some() => har::from_har(doc).context("reading HAR"),
            // A single object that is not HAR: a one-line NDJSON file.
            _ => import_ndjson(text),
        },
        Some(_) => bail!(
            "not a capture file: expected HAR, a JSON array or NDJSON, found {:?}",
            trimmed.chars().take(20).collect::<String>()
        ),
    }
}

fn import_ndjson(text: &str) -> anyhow::Result<Vec<Capture>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str::<Capture>(line)
                .with_context(|| format!("reading NDJSON line {}", i + 1))
        })
        .collect()
}
