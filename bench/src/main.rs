//! `hookrelay-bench`: one command measuring direct, hookrelay proxy, ack and ack-normal, and bore
//! (when on PATH) against the same local target, plus idle connections, large bodies and goals.

mod clock;
mod goals;
mod idle;
mod idle_bore;
mod instances;
mod large;
mod loadgen;
mod matrix;
mod procs;
mod report;
mod restart;
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
    /// About one minute: one round, short cells, 1,000 idle agents (unless --idle-agents),
    /// fewer large bodies.
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
    /// Idle agent (and idle bore connection) counts to measure [default: 1000,10000; 1000 with
    /// --quick].
    #[arg(long, value_delimiter = ',')]
    idle_agents: Option<Vec<usize>>,
    /// Seconds of idle CPU measurement per idle count.
    #[arg(long, default_value_t = 5.0)]
    idle_secs: f64,
    /// Skip the idle-agent and idle-bore measurement.
    #[arg(long)]
    no_idle: bool,
    /// Skip the large-body measurement.
    #[arg(long)]
    no_large: bool,
    /// Systems to run (direct always runs: it is the baseline).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "proxy,ack,ack-normal,bore"
    )]
    systems: Vec<String>,
    /// PostgreSQL database for the `ack-pg` and `proxy-pg` systems (never printed).
    #[arg(long, env = "HOOKRELAY_BENCH_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Directory holding the release `relay` and `agent` binaries (default: next to this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Deliveries at once for the ack-mode agents (`agent listen --concurrency`); by default
    /// the agent's own default: one at a time, in order.
    #[arg(long)]
    ack_concurrency: Option<usize>,
    /// Measure only relay restarts: on a data directory holding `--restart-events` retained
    /// events against an empty one, `--rounds` times, alternating (start time and RSS).
    #[arg(long)]
    restart: bool,
    /// Retained events for `--restart`.
    #[arg(long, default_value_t = 100_000)]
    restart_events: u64,
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
        cli.idle_agents.get_or_insert_with(|| vec![1000]);
        cli.idle_secs = cli.idle_secs.min(2.0);
    }
    if cli.restart {
        let dir = procs::bin_dir(cli.bin_dir.clone())?;
        let runs = restart::run(
            &dir,
            cli.restart_events,
            cli.rounds.max(1),
            &okta_payload()?,
        )
        .await?;
        if let Some(parent) = cli.json.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&cli.json, serde_json::to_vec_pretty(&runs)?)
            .with_context(|| format!("writing {}", cli.json.display()))?;
        print!("{}", restart::markdown(&runs));
        return Ok(());
    }
    let mut idle_counts = cli
        .idle_agents
        .clone()
        .unwrap_or_else(|| vec![1000, 10_000]);
    idle_counts.sort_unstable();
    idle_counts.dedup();
    let max_idle = idle_counts.last().copied().unwrap_or(0) as u64;
    clock::now_us();
    let mut notes = Vec::new();
    let mut skipped = goals::Skipped::default();
    // The most any one process holds: bore server, a control socket and a tunnel listener per
    // idle connection.
    let nofile = procs::raise_nofile(2 * max_idle + 1000);
    let bins = Bins {
        dir: procs::bin_dir(cli.bin_dir.clone())?,
        bore: procs::find_on_path("bore"),
        ack_concurrency: cli.ack_concurrency,
        database_url: cli.database_url.clone(),
    };
    let mut systems = vec![System::Direct];
    let mut pair = false;
    for s in &cli.systems {
        match s.as_str() {
            "instances-pg" => pair = true,
            "proxy" => systems.push(System::Proxy),
            "ack" => systems.push(System::Ack),
            "ack-normal" => systems.push(System::AckNormal),
            "ack-pg" => systems.push(System::AckPg),
            "proxy-pg" => systems.push(System::ProxyPg),
            "bore" if bins.bore.is_some() => systems.push(System::Bore),
            "bore" => {
                notes.push(
                    "bore skipped: not on PATH (`cargo install bore-cli`); × bore columns are empty"
                        .to_string(),
                );
                skipped.bore = Some("bore not on PATH".into());
            }
            "direct" => {}
            other => anyhow::bail!(
                "unknown system {other:?} (proxy, ack, ack-normal, bore, ack-pg, proxy-pg, \
                 instances-pg)"
            ),
        }
    }
    let mut seen = std::collections::HashSet::new();
    systems.retain(|s| seen.insert(*s));
    if skipped.bore.is_none() && !systems.contains(&System::Bore) {
        skipped.bore = Some("bore not in --systems".into());
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
    let instances = if pair {
        Some(instances::run(&bins, &target, &settings, &payload).await?)
    } else {
        None
    };
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
        skipped.large = Some("large bodies skipped (--no-large)".into());
        Vec::new()
    } else {
        let sizes: &[(usize, u64)] = if cli.quick {
            &[(1_000_000, 5), (10_000_000, 2)]
        } else {
            &[(1_000_000, 20), (10_000_000, 5)]
        };
        large::run(&systems, &bins, &target, sizes).await?
    };
    let (mut idle, mut idle_bore) = (Vec::new(), Vec::new());
    if cli.no_idle {
        skipped.idle = Some("idle measurement skipped (--no-idle)".into());
    } else {
        let bore_idle = bins
            .bore
            .as_deref()
            .filter(|_| systems.contains(&System::Bore));
        if nofile < max_idle + 1000 {
            notes.push(format!(
                "open-files limit {nofile} is below the {max_idle} idle agents asked for; some may \
                 fail"
            ));
        }
        // bore server holds a control socket and a tunnel listener per connection.
        let bore_cap = (nofile.saturating_sub(idle_bore::BORE_BASE_FILES) / 2) as usize;
        if bore_idle.is_some() && max_idle as usize > bore_cap {
            notes.push(format!(
                "bore server needs two open files per idle connection; the open-files limit \
                 {nofile} (raising the hard limit needs CAP_SYS_RESOURCE) allows {bore_cap}, \
                 so larger idle counts opened only {bore_cap} bore connections (its figures are \
                 per connected connection)"
            ));
        }
        let window = Duration::from_secs_f64(cli.idle_secs);
        idle = idle::run(&bins.dir, &idle_counts, window).await?;
        if let Some(bore) = bore_idle {
            match idle_bore::run(bore, &idle_counts, bore_cap, window).await {
                Ok(b) => idle_bore = b,
                Err(e) => {
                    notes.push(format!("idle bore connections failed: {e:#}"));
                    skipped.idle_bore = Some(format!("idle bore measurement failed: {e:#}"));
                }
            }
            idle_bore::compare(&mut idle, &idle_bore);
        }
    }
    let mut report = report::Report {
        goals: Vec::new(),
        summary: report::summarise(&systems, &runs),
        settings,
        body_bytes: payload.len(),
        runs,
        idle,
        idle_bore,
        large,
        instances,
        notes,
    };
    report.goals = goals::evaluate(&report, &skipped);
    if let Some(dir) = cli.json.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&cli.json, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", cli.json.display()))?;
    print!("{}", report::markdown(&report));
    eprintln!("JSON written to {}", cli.json.display());
    Ok(())
}
