//! Two relay instances on one PostgreSQL database (`--systems instances-pg`), each figure
//! against its one-instance baseline measured on the same processes in the same round:
//!
//! - ack mode, keep-alive, saturation: senders alternating between instances A and B (half
//!   the connections each), the agent on A, against every sender on A;
//! - proxy mode, keep-alive, paced: the sender on A and the agent on B, against the sender on
//!   B (the agent's own instance); the difference of the p50s is what crossing costs.

use crate::loadgen::{self, LoadResult, LoadSpec, Payload};
use crate::matrix::{drain, Settings};
use crate::procs::Proc;
use crate::stats::{median, percentile_ms, ratio};
use crate::systems::{spawn_agent, start_relay_on, wait_through, Bins};
use crate::target::Target;
use serde::Serialize;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

/// One round's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PairRound {
    /// Ack mode, every sender on A: acknowledged events/s.
    pub one_rps: f64,
    /// Ack mode, senders alternating between A and B.
    pub two_rps: f64,
    /// Share of the alternating cell's acknowledged events the agent (on A) received.
    pub two_delivered_share: f64,
    /// Proxy mode, sender and agent on B: p50 / p99 ms.
    pub same_p50_ms: f64,
    /// p99 of the same.
    pub same_p99_ms: f64,
    /// Proxy mode, sender on A, agent on B.
    pub cross_p50_ms: f64,
    /// p99 of the same.
    pub cross_p99_ms: f64,
    /// Failed requests over all four cells.
    pub errors: u64,
}

/// Medians over rounds, with the ratios the goals are stated in.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PairResult {
    /// Each round.
    pub rounds: Vec<PairRound>,
    /// Median of the same.
    pub median: PairRound,
    /// Two instances' throughput over one's (goal ≥ 1.5).
    pub x_one: f64,
    /// Cross-instance p50 minus same-instance p50, ms (goal ≤ 2).
    pub added_p50_ms: f64,
}

fn spec(addr: SocketAddr, conns: usize, secs: f64, rate: Option<f64>, p: &Payload) -> LoadSpec {
    LoadSpec {
        addr,
        path: "/h/okta".into(),
        conns,
        keep_alive: true,
        max_requests: rate.map_or(5_000_000, |r| (r * secs).ceil() as u64),
        duration: Duration::from_secs_f64(secs),
        rate,
        request_timeout: Duration::from_secs(5),
        payload: p.clone(),
    }
}

/// Two load runs at once, as one.
async fn both(a: LoadSpec, b: LoadSpec) -> LoadResult {
    let (a, b) = tokio::join!(loadgen::run(a), loadgen::run(b));
    let mut latencies_us = [a.latencies_us, b.latencies_us].concat();
    latencies_us.sort_unstable();
    LoadResult {
        ok: a.ok + b.ok,
        errors: a.errors + b.errors,
        elapsed: a.elapsed.max(b.elapsed),
        latencies_us,
        first_error: a.first_error.or(b.first_error),
    }
}

/// Relays A and B on `url` with source `okta` in `mode`, and an agent on `agent_on` (0 = A).
async fn start_pair(
    bins: &Bins,
    target: &Target,
    url: &str,
    mode: &str,
    agent_on: usize,
    dir: &std::path::Path,
) -> anyhow::Result<([SocketAddr; 2], Vec<Proc>)> {
    let mut procs = Vec::new();
    let mut addrs = Vec::new();
    let mut tokens = Vec::new();
    for name in ["a", "b"] {
        let sub = dir.join(name);
        std::fs::create_dir_all(&sub)?;
        let (relay, port, token) = start_relay_on(&bins.dir, &sub, &[], Some(url), mode).await?;
        procs.push(relay);
        addrs.push(SocketAddr::from(([127, 0, 0, 1], port)));
        tokens.push(token);
    }
    let agent = spawn_agent(
        bins,
        &dir.join("agent"),
        addrs[agent_on].port(),
        &tokens[agent_on],
        target,
        mode == "ack",
    )?;
    procs.push(agent);
    // Through each instance: the agent is connected and each relay reaches it.
    for addr in &addrs {
        wait_through(*addr, "/h/okta", &mut procs, target).await?;
    }
    Ok(([addrs[0], addrs[1]], procs))
}

/// Runs every round (an error without a database).
pub async fn run(
    bins: &Bins,
    target: &Target,
    s: &Settings,
    payload: &Payload,
) -> anyhow::Result<PairResult> {
    use anyhow::Context;
    let url = bins
        .database_url
        .as_deref()
        .context("instances-pg needs --database-url")?;
    let mut rounds = Vec::new();
    for round in 0..s.rounds {
        let mut r = PairRound::default();
        {
            let dir = tempfile::tempdir()?;
            let ([a, b], _procs) = start_pair(bins, target, url, "ack", 0, dir.path()).await?;
            let half = (s.conns / 2).max(1);
            // Alternate which goes first, so neither always meets a warmer database.
            for first_one in [round % 2 == 0, round % 2 != 0] {
                target.stats.reset();
                if first_one {
                    let one = loadgen::run(spec(a, 2 * half, s.max_secs, None, payload)).await;
                    drain(target, one.ok).await;
                    r.one_rps = one.rps();
                    r.errors += one.errors;
                } else {
                    let two = both(
                        spec(a, half, s.max_secs, None, payload),
                        spec(b, half, s.max_secs, None, payload),
                    )
                    .await;
                    let delivered = drain(target, two.ok).await;
                    r.two_rps = two.rps();
                    r.two_delivered_share = delivered as f64 / two.ok.max(1) as f64;
                    r.errors += two.errors;
                }
            }
        }
        {
            let dir = tempfile::tempdir()?;
            let ([a, b], _procs) = start_pair(bins, target, url, "proxy", 1, dir.path()).await?;
            for (addr, cross) in [(b, false), (a, true)] {
                let load =
                    loadgen::run(spec(addr, s.conns, s.paced_secs, Some(s.rate), payload)).await;
                let (p50, p99) = (
                    percentile_ms(&load.latencies_us, 50.0),
                    percentile_ms(&load.latencies_us, 99.0),
                );
                if cross {
                    (r.cross_p50_ms, r.cross_p99_ms) = (p50, p99);
                } else {
                    (r.same_p50_ms, r.same_p99_ms) = (p50, p99);
                }
                r.errors += load.errors;
            }
        }
        eprintln!(
            "round {} instances-pg: one {:.0} req/s, two {:.0} req/s; proxy p50 same {:.2} ms, \
             across {:.2} ms; errors {}",
            round + 1,
            r.one_rps,
            r.two_rps,
            r.same_p50_ms,
            r.cross_p50_ms,
            r.errors
        );
        rounds.push(r);
    }
    let m = |f: fn(&PairRound) -> f64| median(&rounds.iter().map(f).collect::<Vec<_>>());
    let med = PairRound {
        one_rps: m(|r| r.one_rps),
        two_rps: m(|r| r.two_rps),
        two_delivered_share: m(|r| r.two_delivered_share),
        same_p50_ms: m(|r| r.same_p50_ms),
        same_p99_ms: m(|r| r.same_p99_ms),
        cross_p50_ms: m(|r| r.cross_p50_ms),
        cross_p99_ms: m(|r| r.cross_p99_ms),
        errors: rounds.iter().map(|r| r.errors).sum(),
    };
    Ok(PairResult {
        x_one: ratio(med.two_rps, med.one_rps),
        added_p50_ms: med.cross_p50_ms - med.same_p50_ms,
        median: med,
        rounds,
    })
}

/// The Markdown section.
pub fn markdown(s: &mut String, r: &PairResult) {
    use crate::report::f;
    let m = &r.median;
    s.push_str(
        "\n### Two relay instances on one PostgreSQL database (keep-alive; medians)\n\n\
         | figure | one instance | two instances | result |\n|---|---:|---:|---:|\n",
    );
    let _ = writeln!(
        s,
        "| ack, saturation, req/s (senders alternating A/B, agent on A) | {} | {} | {}× (goal ≥ 1.5×); {} % delivered |",
        f(m.one_rps, 0),
        f(m.two_rps, 0),
        f(r.x_one, 2),
        f(m.two_delivered_share * 100.0, 1)
    );
    let _ = writeln!(
        s,
        "| proxy, paced, p50 / p99 ms (same: sender and agent on B; across: sender on A) | {} / {} | {} / {} | +{} ms p50 (goal ≤ 2 ms) |",
        f(m.same_p50_ms, 2),
        f(m.same_p99_ms, 2),
        f(m.cross_p50_ms, 2),
        f(m.cross_p99_ms, 2),
        f(r.added_p50_ms, 2)
    );
    let _ = writeln!(s, "\nFailed requests: {}.", m.errors);
}
