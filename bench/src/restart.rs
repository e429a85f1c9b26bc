//! Restarting a relay on a data directory that holds many retained events, against one that
//! holds none, in the same run: how long until it accepts connections, and its RSS then.
//! The goal (issue 18): with 100,000 retained events, started within 1 s and at most twice the
//! RSS of the empty one.

use crate::loadgen::{self, LoadSpec, Payload};
use crate::procs::{free_port, wait_port, Proc};
use crate::systems::start_relay_on;
use anyhow::{bail, Context};
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// Longest a restart may take before the cell gives up.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long the filling load may run at most.
const FILL_LIMIT: Duration = Duration::from_secs(180);
/// Pause after the port opens before reading the RSS, so start-up work has settled.
const SETTLE: Duration = Duration::from_millis(500);

/// One restart.
#[derive(Clone, Debug, Serialize)]
pub struct Restart {
    pub round: usize,
    /// Events retained in the data directory.
    pub events: u64,
    /// From spawning the process to its port accepting a connection.
    pub start_ms: f64,
    /// VmRSS after [`SETTLE`], KiB.
    pub rss_kib: u64,
    /// VmHWM then, KiB (start-up's peak).
    pub peak_kib: u64,
}

/// Fills one data directory with `events` Okta event hooks (ack mode, `--sync normal`, no
/// agent, so each is only logged), keeps another empty, then restarts a relay on each in turn,
/// `rounds` times.
pub async fn run(
    bin_dir: &Path,
    events: u64,
    rounds: usize,
    payload: &Payload,
) -> anyhow::Result<Vec<Restart>> {
    let empty = tempfile::tempdir()?;
    let full = tempfile::tempdir()?;
    drop(
        start_relay_on(bin_dir, empty.path(), &[], None, "ack")
            .await?
            .0,
    );
    // No agent reads these events, so the backlog limit (50,000 by default) is lifted: the
    // cell measures a relay restarting on a full retention, 100,000 events by default.
    let filling = ["--sync", "normal", "--max-queued-events", "0"];
    let (relay, port, _token) = start_relay_on(bin_dir, full.path(), &filling, None, "ack").await?;
    eprintln!("restart: logging {events} events");
    let filled = loadgen::run(LoadSpec {
        addr: ([127, 0, 0, 1], port).into(),
        path: "/h/okta".into(),
        conns: 16,
        keep_alive: true,
        max_requests: events,
        duration: FILL_LIMIT,
        rate: None,
        request_timeout: Duration::from_secs(5),
        payload: payload.clone(),
    })
    .await;
    if filled.ok != events {
        bail!(
            "filling the log: {} of {events} accepted ({} errors; first: {})",
            filled.ok,
            filled.errors,
            filled.first_error.as_deref().unwrap_or("none")
        );
    }
    // A clean stop, as a restart after an upgrade would be.
    stop(relay)?;
    let mut out = Vec::new();
    for round in 0..rounds {
        for (dir, n) in [(empty.path(), 0), (full.path(), events)] {
            let r = restart(bin_dir, dir, round, n).await?;
            eprintln!(
                "restart: round {} {n} events: {:.0} ms, {} KiB",
                round + 1,
                r.start_ms,
                r.rss_kib
            );
            out.push(r);
        }
    }
    Ok(out)
}

async fn restart(bin_dir: &Path, dir: &Path, round: usize, events: u64) -> anyhow::Result<Restart> {
    let port = free_port()?;
    let args: Vec<String> = vec![
        "serve".into(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--data".into(),
        dir.join("relay").display().to_string(),
    ];
    let began = Instant::now();
    let mut relay = Proc::spawn(
        "relay",
        &bin_dir.join("relay"),
        &args,
        &dir.join("restart.log"),
    )?;
    wait_port(port, START_LIMIT)
        .await
        .with_context(|| format!("restarting on {events} events"))?;
    let start_ms = began.elapsed().as_secs_f64() * 1e3;
    tokio::time::sleep(SETTLE).await;
    relay.check_alive()?;
    let r = Restart {
        round,
        events,
        start_ms,
        rss_kib: relay.rss_kib(),
        peak_kib: relay.peak_kib(),
    };
    stop(relay)?;
    Ok(r)
}

/// Stops the relay with SIGTERM (by its pid) and waits for it, at most 10 s.
fn stop(mut relay: Proc) -> anyhow::Result<()> {
    let pid = relay.pid().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .context("kill -TERM")?;
    let began = Instant::now();
    while relay.check_alive().is_ok() && began.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Medians per event count, as a Markdown table.
pub fn markdown(runs: &[Restart]) -> String {
    let median = |mut v: Vec<f64>| -> f64 {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let of = |events: u64, f: fn(&Restart) -> f64| -> f64 {
        median(runs.iter().filter(|r| r.events == events).map(f).collect())
    };
    let mut counts: Vec<u64> = runs.iter().map(|r| r.events).collect();
    counts.sort_unstable();
    counts.dedup();
    let empty_rss = of(0, |r| r.rss_kib as f64);
    let mut s = String::from(
        "## Relay restart\n\n| retained events | start (spawn → port open) | RSS after start | × empty | start-up peak RSS |\n|---:|---:|---:|---:|---:|\n",
    );
    for n in counts {
        let rss = of(n, |r| r.rss_kib as f64);
        s.push_str(&format!(
            "| {n} | {:.0} ms | {:.1} MB | {:.2}× | {:.1} MB |\n",
            of(n, |r| r.start_ms),
            rss / 1024.0,
            if empty_rss > 0.0 {
                rss / empty_rss
            } else {
                0.0
            },
            of(n, |r| r.peak_kib as f64) / 1024.0
        ));
    }
    s
}
