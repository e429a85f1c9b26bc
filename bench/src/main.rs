//! `hookrelay-bench`: one command measuring direct, hookrelay proxy and ack, and bore (when on
//! PATH) against the same local target, plus idle agents and large bodies.

mod clock;
mod idle;
mod large;
mod loadgen;
mod matrix;
mod procs;
mod report;
mod stats;
mod systems;
mod target;

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use loadgen::Payload;
use std::path::PathBuf;
use std::time::Duration;
use systems::{Bins, System};

#[derive(Parser)]
#[command(
    name = "hookrelay-bench",
    about = "Benchmark hookrelay (proxy and ack mode) against direct delivery and bore, on loopback"
)]
struct Cli {
    /// Interleaved rounds; figures are medians over them.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// About one minute: one round, short cells, 1,000 idle agents, fewer large bodies.
    #[arg(long)]
    quick: bool,
    /// Concurrent sender connections.
    #[arg(long, default_value_t = 16)]
    conns: usize,
    /// Seconds per unpaced (saturation) cell.
    #[arg(long, default_value_t = 3.0)]
    secs: f64,
    /// Seconds per paced cell.
    #[arg(long, default_value_t = 3.0)]
    paced_secs: f64,
    /// Paced rate, requests per second.
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Idle agent counts to measure (ascending).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    idle_agents: Vec<usize>,
    /// Seconds of idle CPU measurement per idle-agent count.
    #[arg(long, default_value_t = 5.0)]
    idle_secs: f64,
    /// Skip the idle-agent measurement.
    #[arg(long)]
    no_idle: bool,
    /// Skip the large-body measurement.
    #[arg(long)]
    no_large: bool,
    /// Systems to run (direct always runs: it is the baseline).
    #[arg(long, value_delimiter = ',', default_value = "proxy,ack,bore")]
    systems: Vec<String>,
    /// Directory holding the release `relay` and `agent` binaries (default: next to this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench-results.json")]
    json: PathBuf,
}

/// The Okta body and the offset of its `eventId` value.
fn okta_payload() -> anyhow::Result<Payload> {
    let body = agent::okta_kit::event_hook_body(
        &["user.session.start"],
        &agent::okta_kit::TriggerOptions::default(),
    );
    let id = body["eventId"]
        .as_str()
        .context("body has an eventId")?
        .to_string();
    let bytes = serde_json::to_vec(&body)?;
    let needle = format!("\"eventId\":\"{id}\"");
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .context("eventId in the serialized body")?
        + needle.len()
        - 37;
    Ok(Payload::Okta {
        template: Bytes::from(bytes),
        id_at: at,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut cli = Cli::parse();
    if cli.quick {
        cli.rounds = 1;
        cli.secs = cli.secs.min(1.5);
        cli.paced_secs = cli.paced_secs.min(1.5);
        cli.idle_agents = vec![1000];
        cli.idle_secs = cli.idle_secs.min(2.0);
    }
    clock::now_us();
    let mut notes = Vec::new();
    let nofile = procs::raise_nofile();
    let bins = Bins {
        dir: procs::bin_dir(cli.bin_dir.clone())?,
        bore: procs::find_on_path("bore"),
    };
    let mut systems = vec![System::Direct];
    for s in &cli.systems {
        match s.as_str() {
            "proxy" => systems.push(System::Proxy),
            "ack" => systems.push(System::Ack),
            "bore" if bins.bore.is_some() => systems.push(System::Bore),
            "bore" => notes.push(
                "bore skipped: not on PATH (`cargo install bore-cli`); × bore columns are empty"
                    .to_string(),
            ),
            "direct" => {}
            other => anyhow::bail!("unknown system {other:?} (proxy, ack, bore)"),
        }
    }
    let payload = okta_payload()?;
    let settings = matrix::Settings {
        conns: cli.conns,
        max_secs: cli.secs,
        paced_secs: cli.paced_secs,
        rate: cli.rate,
        rounds: cli.rounds.max(1),
    };
    let target = target::spawn(0).await?;
    let runs = matrix::run(&systems, &bins, &target, &settings, &payload).await?;
    for r in runs.iter().filter(|r| r.first_error.is_some()) {
        notes.push(format!(
            "round {} {} {} {}: first error: {}",
            r.round + 1,
            r.system.name(),
            r.cell.conn(),
            r.cell.load(),
            r.first_error.as_deref().unwrap_or("")
        ));
    }
    let large = if cli.no_large {
        Vec::new()
    } else {
        let sizes: &[(usize, u64)] = if cli.quick {
            &[(1_000_000, 5), (10_000_000, 2)]
        } else {
            &[(1_000_000, 20), (10_000_000, 5)]
        };
        large::run(&systems, &bins, &target, sizes).await?
    };
    let idle = if cli.no_idle {
        Vec::new()
    } else {
        let max = cli.idle_agents.iter().copied().max().unwrap_or(0) as u64;
        if nofile < max + 1000 {
            notes.push(format!(
                "open-files limit {nofile} is below the {max} idle agents asked for; some may fail"
            ));
        }
        idle::run(
            &bins.dir,
            &cli.idle_agents,
            Duration::from_secs_f64(cli.idle_secs),
        )
        .await?
    };
    let report = report::Report {
        summary: report::summarise(&systems, &runs),
        settings,
        body_bytes: payload.len(),
        runs,
        idle,
        large,
        notes,
    };
    if let Some(dir) = cli.json.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&cli.json, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", cli.json.display()))?;
    print!("{}", report::markdown(&report));
    eprintln!("JSON written to {}", cli.json.display());
    Ok(())
}
