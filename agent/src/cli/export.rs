//! `agent export` and `agent import`: captured exchanges as HAR, JSON or NDJSON files.

use super::support::*;
use crate::capture::CaptureStore;
use crate::export::{export, import, ExportFormat};
use crate::model::Capture;
use anyhow::Context;
use shared::Since;
use std::path::{Path, PathBuf};

/// Write captured exchanges as HAR, JSON or NDJSON.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Format.
    #[arg(long, default_value = "har")]
    format: ExportFormat,
    /// Only captures newer than this (30m, 2h, 1d).
    #[arg(long)]
    since: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Capture ids (or unique prefixes); default: all.
    ids: Vec<String>,
}

/// Runs `agent export`.
pub(crate) async fn run(data: &Option<PathBuf>, args: ExportArgs) -> anyhow::Result<()> {
    let ExportArgs {
        format,
        since,
        output,
        ids,
    } = args;
    init_logs();
    let store = open_store(data)?;
    let since_ms = since
        .as_deref()
        .map(|s| match parse_since(s)? {
            Since::AgoMs(ms) => Ok(crate::model::now_ms().saturating_sub(ms)),
            _ => anyhow::bail!("--since takes a duration such as 30m, 2h or 1d"),
        })
        .transpose()?;
    let captures = select(&store, &ids, since_ms)?;
    let bytes = render(&captures, format)?;
    match output {
        Some(path) => {
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} capture(s) to {}", captures.len(), path.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}

/// Load exchanges from a HAR, JSON or NDJSON file (e.g. a teammate's export).
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The file.
    file: PathBuf,
}

/// Runs `agent import`.
pub(crate) async fn run_import(data: &Option<PathBuf>, args: ImportArgs) -> anyhow::Result<()> {
    let ImportArgs { file } = args;
    init_logs();
    let store = open_store(data)?;
    let n = import_file(&store, &file)?;
    eprintln!(
        "imported {n} capture(s) from {}; replay one with `agent replay ID`",
        file.display()
    );
    Ok(())
}

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
