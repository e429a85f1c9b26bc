//! Helpers the subcommands share: data directory, logs, durations, targets.

use super::RelayCli;
use crate::capture::CaptureStore;
use crate::config::AgentConfig;
use crate::target::Target;
use anyhow::Context;
use shared::Since;
use std::path::PathBuf;

pub(crate) fn data_dir(data: &Option<PathBuf>) -> PathBuf {
    match data {
        Some(dir) => dir.clone(),
        None => CaptureStore::default_path()
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".")),
    }
}

pub(crate) fn open_store(data: &Option<PathBuf>) -> anyhow::Result<CaptureStore> {
    CaptureStore::open(&data_dir(data).join("captures.sqlite3"))
}

pub(crate) fn auth_of(cli: &RelayCli) -> anyhow::Result<Option<(String, String)>> {
    cli.auth_header
        .as_deref()
        .map(crate::commands::parse_header)
        .transpose()
}

pub(crate) fn source_url(cli: &RelayCli, data: &Option<PathBuf>) -> String {
    let saved = AgentConfig::load(&AgentConfig::default_path()).unwrap_or_default();
    let relay = cli.relay.clone().or(saved.relay);
    let relay = crate::commands::resolve_relay(relay.as_deref(), &data_dir(data));
    format!("{relay}/h/{}", cli.source)
}

/// The target a capture was delivered to, minus the sender's own suffix and query.
pub(crate) fn original_target(c: &crate::model::Capture) -> anyhow::Result<Target> {
    let url = c.target_url.as_str();
    let base = url
        .strip_suffix(c.request.path_and_query().as_str())
        .unwrap_or(url);
    Target::parse(base, "").with_context(|| {
        format!(
            "capture {} has no usable target URL ({url:?}); pass --to",
            c.id
        )
    })
}

pub(crate) fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) fn init_file_logs(dir: &std::path::Path) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = std::fs::create_dir_all(dir);
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("agent.log"))
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

pub(crate) fn parse_since(s: &str) -> anyhow::Result<Since> {
    if let Ok(seq) = s.parse::<u64>() {
        return Ok(Since::Seq(seq));
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().with_context(|| {
        format!("--since {s:?}: expected a sequence number or a duration like 30m")
    })?;
    let ms = match unit {
        "ms" => n,
        "s" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => anyhow::bail!("--since {s:?}: unknown unit {unit:?} (use s, m, h or d)"),
    };
    Ok(Since::AgoMs(ms))
}
