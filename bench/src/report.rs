//! The report: goals, medians per cell, ratios, Markdown on stdout, everything as JSON.

use crate::goals::{self, Goal};
use crate::idle::IdleResult;
use crate::idle_bore::BoreIdleResult;
use crate::large::LargeResult;
use crate::matrix::{aggregate, Cell, CellRun, Measure, Settings, CELLS};
use crate::stats::ratio;
use crate::systems::System;
use serde::Serialize;
use std::fmt::Write as _;

/// One cell's medians and ratios.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// System.
    pub system: System,
    /// Cell.
    pub cell: Cell,
    /// Medians over rounds.
    pub median: Measure,
    /// req/s relative to direct in the same cell.
    pub x_direct: f64,
    /// req/s relative to bore in the same cell (NaN without bore).
    pub x_bore: f64,
}

/// Everything one run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Each goal with this run's figure and pass/fail/n-a.
    pub goals: Vec<Goal>,
    /// Load settings.
    pub settings: Settings,
    /// Okta body size, bytes.
    pub body_bytes: usize,
    /// Medians per cell.
    pub summary: Vec<Summary>,
    /// Every round of every cell.
    pub runs: Vec<CellRun>,
    /// Idle agents.
    pub idle: Vec<IdleResult>,
    /// Idle bore control connections (empty without bore).
    pub idle_bore: Vec<BoreIdleResult>,
    /// Large bodies.
    pub large: Vec<LargeResult>,
    /// Two relay instances on one PostgreSQL database (`instances-pg`).
    pub instances: Option<crate::instances::PairResult>,
    /// Remarks (skipped parts and why).
    pub notes: Vec<String>,
}

/// Medians per (system, cell) plus ratios.
pub fn summarise(systems: &[System], runs: &[CellRun]) -> Vec<Summary> {
    let med = |s: System, c: Cell| {
        let v: Vec<&Measure> = runs
            .iter()
            .filter(|r| r.system == s && r.cell == c)
            .map(|r| &r.measure)
            .collect();
        (!v.is_empty()).then(|| aggregate(&v))
    };
    let mut out = Vec::new();
    for &system in systems {
        for cell in CELLS {
            let Some(m) = med(system, cell) else { continue };
            let direct = med(System::Direct, cell).map_or(f64::NAN, |d| d.rps);
            let bore = med(System::Bore, cell).map_or(f64::NAN, |d| d.rps);
            out.push(Summary {
                system,
                cell,
                x_direct: ratio(m.rps, direct),
                x_bore: ratio(m.rps, bore),
                median: m,
            });
        }
    }
    out
}

/// `x` with `digits` decimals, or "–" when not finite.
pub fn f(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "–".into()
    }
}

/// The report as Markdown.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let st = &r.settings;
    s.push_str("## hookrelay benchmark\n\n");
    goals::markdown(&mut s, &r.goals);
    let _ = writeln!(
        s,
        "### Throughput and latency\n\n{}-byte Okta event hook body, {} sender connections, max = {} s \
         unpaced, paced = {} req/s for {} s; medians of {} interleaved round(s). CPU is µs per \
         successful request (server = relay or bore server, client = agent or bore local); peak \
         RSS is VmHWM during the cell.\n",
        r.body_bytes, st.conns, st.max_secs, st.rate, st.paced_secs, st.rounds
    );
    s.push_str("| system | connection | load | req/s | × direct | × bore | p50 ms | p99 ms | p99.9 ms | server CPU µs | client CPU µs | server peak MiB | client peak MiB | errors |\n");
    s.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for x in &r.summary {
        let m = &x.median;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            x.system.name(),
            x.cell.conn(),
            x.cell.load(),
            f(m.rps, 0),
            f(x.x_direct, 2),
            f(x.x_bore, 2),
            f(m.p50_ms, 2),
            f(m.p99_ms, 2),
            f(m.p999_ms, 2),
            f(m.server_cpu_us, 1),
            f(m.client_cpu_us, 1),
            f(m.server_peak_kib / 1024.0, 1),
            f(m.client_peak_kib / 1024.0, 1),
            f(m.errors, 0),
        );
    }
    s.push_str("\n### Delivery to the target (events/s from first send to last arrival; lag = sender stamp → target)\n\n");
    s.push_str("| system | connection | load | sender req/s | delivered/s | delivered % | lag p50 ms | lag p99 ms | lag p99.9 ms |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n");
    for x in &r.summary {
        let m = &x.median;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            x.system.name(),
            x.cell.conn(),
            x.cell.load(),
            f(m.rps, 0),
            f(m.delivered_per_s, 0),
            f(m.delivered_share * 100.0, 1),
            f(m.lag_p50_ms, 2),
            f(m.lag_p99_ms, 2),
            f(m.lag_p999_ms, 2),
        );
    }
    added_latency(&mut s, r);
    if let Some(pair) = &r.instances {
        crate::instances::markdown(&mut s, pair);
    }
    idle_tables(&mut s, r);
    if !r.large.is_empty() {
        s.push_str("\n### Large bodies (one connection, sequential)\n\nGrowth is how far peak RSS rose above the RSS before the first body, in bodies: the copies of one body a process held at once.\n\n| system | body | sent | delivered | MB/s | server peak MiB | client peak MiB | server growth × body | client growth × body | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for l in &r.large {
            let (server, client) = l.growth();
            let _ = writeln!(
                s,
                "| {} | {} MB | {} | {} | {} | {} | {} | {} | {} | {} |",
                l.system.name(),
                l.size / 1_000_000,
                l.requests,
                l.delivered,
                f(l.mb_per_s, 1),
                f(l.server_peak_kib as f64 / 1024.0, 1),
                f(l.client_peak_kib as f64 / 1024.0, 1),
                f(server, 1),
                f(client, 1),
                l.errors
            );
        }
    }
    if !r.notes.is_empty() {
        s.push_str("\nNotes:\n");
        for n in &r.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s
}

fn added_latency(s: &mut String, r: &Report) {
    let find = |sys: System, keep_alive: bool| {
        r.summary
            .iter()
            .find(|x| x.system == sys && x.cell.paced && x.cell.keep_alive == keep_alive)
    };
    s.push_str("\n### Added latency at the paced rate (median p50/p99 minus direct's)\n\n| system | connection | added p50 ms | added p99 ms |\n|---|---|---:|---:|\n");
    for x in r
        .summary
        .iter()
        .filter(|x| x.cell.paced && x.system != System::Direct)
    {
        let Some(d) = find(System::Direct, x.cell.keep_alive) else {
            continue;
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            x.system.name(),
            x.cell.conn(),
            f(x.median.p50_ms - d.median.p50_ms, 2),
            f(x.median.p99_ms - d.median.p99_ms, 2)
        );
    }
}

fn idle_tables(s: &mut String, r: &Report) {
    if !r.idle.is_empty() {
        s.push_str("\n### Idle agents on one relay (× bore = relay figure ÷ bore's per idle control connection at the same count)\n\n| agents | connected | relay RSS MiB | KiB per agent | idle CPU % | idle CPU % per 1,000 | connect s | KiB × bore | idle CPU × bore |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for i in &r.idle {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                i.agents,
                i.connected,
                f(i.rss_kib as f64 / 1024.0, 1),
                f(i.per_agent_kib, 1),
                f(i.idle_cpu_pct, 2),
                f(i.idle_cpu_pct_per_1000, 3),
                f(i.connect_secs, 1),
                f(i.x_bore_kib, 2),
                f(i.x_bore_cpu, 2),
            );
        }
    }
    if !r.idle_bore.is_empty() {
        s.push_str("\n### Idle bore control connections (raw clients: hello, then heartbeats every 500 ms)\n\n| connections | connected | bore server RSS MiB | KiB per connection | idle CPU % | idle CPU % per 1,000 | heartbeats/s each | connect s |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for b in &r.idle_bore {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                b.connections,
                b.connected,
                f(b.rss_kib as f64 / 1024.0, 1),
                f(b.per_conn_kib, 1),
                f(b.idle_cpu_pct, 2),
                f(b.idle_cpu_pct_per_1000, 3),
                f(b.heartbeats_per_s, 2),
                f(b.connect_secs, 1),
            );
        }
    }
}
