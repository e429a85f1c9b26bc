//! `agent export` and `agent import`.

use crate::capture::CaptureStore;
use crate::export::{export, import, ExportFormat};
use crate::model::Capture;
use anyhow::Context;
use std::path::Path;

/// Captures to export: the given ids (or prefixes), else everything since `since_ms`, else all.
pub fn select(
    store: &CaptureStore,
    ids: &[String],
    since_ms: Option<u64>,
) -> anyhow::Result<Vec<Capture>> {
    if !ids.is_empty() {
        return ids.iter().map(|id| store.resolve(id)).collect();
    }
    match since_ms {
        Some(ms) => store.list_since(ms),
        None => store.all(),
    }
}

/// Serialises `captures` in `format`.
pub fn render(captures: &[Capture], format: ExportFormat) -> anyhow::Result<Vec<u8>> {
    export(captures, format)
}

/// Loads a HAR, JSON or NDJSON file into the store; returns how many captures it held.
pub fn import_file(store: &CaptureStore, path: &Path) -> anyhow::Result<usize> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let captures = import(&bytes).with_context(|| format!("importing {}", path.display()))?;
    store.insert_many(&captures)?;
    Ok(captures.len())
}
