//! The project's performance goals checked against one run's figures: pass, fail or n/a (with
//! the reason), for the top of the report and the JSON. One file over 400 lines: one table of
//! goals, each a few lines, reads best in one place.

use crate::report::{f, Report, Summary};
use crate::systems::System;
use serde::Serialize;
use std::fmt::Write as _;

/// The large body the memory goal looks at, bytes.
const LARGE_GOAL_BYTES: usize = 10_000_000;

/// Outcome of one goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Status {
    /// Met.
    #[serde(rename = "pass")]
    Pass,
    /// Missed.
    #[serde(rename = "fail")]
    Fail,
    /// Not measured in this run (see `measured` for why).
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl Status {
    /// The Markdown cell.
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "**fail**",
            Status::NotApplicable => "n/a",
        }
    }
}

/// One goal and how this run did.
#[derive(Clone, Debug, Serialize)]
pub struct Goal {
    /// What is wanted.
    pub goal: String,
    /// The figures measured in this run, or why there are none.
    pub measured: String,
    /// The figure compared with `limit` (NaN, i.e. null in JSON, when n/a).
    pub value: f64,
    /// The bound `value` must meet (NaN when it comes from a system that did not run).
    pub limit: f64,
    /// Outcome.
    pub status: Status,
}

/// Parts of the run that were left out, and why (goals needing them are n/a).
#[derive(Clone, Debug, Default)]
pub struct Skipped {
    /// bore (not on PATH, not in --systems).
    pub bore: Option<String>,
    /// The idle measurement (--no-idle).
    pub idle: Option<String>,
    /// The idle bore measurement (it failed).
    pub idle_bore: Option<String>,
    /// Large bodies (--no-large).
    pub large: Option<String>,
}

fn na(goal: String, why: &str) -> Goal {
    Goal {
        goal,
        measured: format!("n/a: {why}"),
        value: f64::NAN,
        limit: f64::NAN,
        status: Status::NotApplicable,
    }
}

fn judged(goal: String, measured: String, value: f64, limit: f64, pass: bool) -> Goal {
    Goal {
        goal,
        measured,
        value,
        limit,
        status: if pass { Status::Pass } else { Status::Fail },
    }
}

/// The median cell of `system`, if it ran.
fn cell(r: &Report, system: System, keep_alive: bool, paced: bool) -> Option<&Summary> {
    r.summary
        .iter()
        .find(|x| x.system == system && x.cell.keep_alive == keep_alive && x.cell.paced == paced)
}

/// Median paced p50 minus direct's, same connection mode.
fn added_p50(r: &Report, system: System, keep_alive: bool) -> Option<f64> {
    let d = cell(r, System::Direct, keep_alive, true)?;
    Some(cell(r, system, keep_alive, true)?.median.p50_ms - d.median.p50_ms)
}

fn conn_label(keep_alive: bool) -> &'static str {
    if keep_alive {
        "keep-alive"
    } else {
        "new connection per webhook"
    }
}

/// Every goal, in report order.
pub fn evaluate(r: &Report, skipped: &Skipped) -> Vec<Goal> {
    let bore_why = skipped.bore.as_deref().unwrap_or("bore not run");
    let mut out = Vec::new();

    let goal = "proxy, keep-alive, saturation: req/s ≥ 1.0× bore's".to_string();
    out.push(
        match (
            cell(r, System::Proxy, true, false),
            cell(r, System::Bore, true, false),
        ) {
            (None, _) => na(goal, "proxy not run"),
            (_, None) => na(goal, bore_why),
            (Some(p), Some(b)) => judged(
                goal,
                format!(
                    "{}× bore ({} vs {} req/s)",
                    f(p.x_bore, 2),
                    f(p.median.rps, 0),
                    f(b.median.rps, 0)
                ),
                p.x_bore,
                1.0,
                p.x_bore >= 1.0,
            ),
        },
    );

    let goal = "proxy, new connection per webhook, saturation: req/s ≥ 0.5× direct".to_string();
    out.push(
        match (
            cell(r, System::Proxy, false, false),
            cell(r, System::Direct, false, false),
        ) {
            (Some(p), Some(d)) => judged(
                goal,
                format!(
                    "{}× direct ({} vs {} req/s)",
                    f(p.x_direct, 2),
                    f(p.median.rps, 0),
                    f(d.median.rps, 0)
                ),
                p.x_direct,
                0.5,
                p.x_direct >= 0.5,
            ),
            _ => na(goal, "proxy not run"),
        },
    );

    for keep_alive in [true, false] {
        let goal = format!(
            "proxy, {}, paced {} req/s: added p50 ≤ bore's",
            conn_label(keep_alive),
            r.settings.rate
        );
        out.push(
            match (
                added_p50(r, System::Proxy, keep_alive),
                added_p50(r, System::Bore, keep_alive),
            ) {
                (None, _) => na(goal, "proxy not run"),
                (_, None) => na(goal, bore_why),
                (Some(p), Some(b)) => judged(
                    goal,
                    format!("+{} ms vs bore +{} ms", f(p, 2), f(b, 2)),
                    p,
                    b,
                    p <= b,
                ),
            },
        );
    }

    let goal = "ack, keep-alive, saturation: ≥ 30,000 acknowledged events/s and 100 % delivered"
        .to_string();
    out.push(match cell(r, System::Ack, true, false) {
        None => na(goal, "ack not run"),
        Some(a) => {
            let m = &a.median;
            judged(
                goal,
                format!(
                    "{} acked/s; delivered {} % at {}/s; lag p50 {} ms",
                    f(m.rps, 0),
                    f(m.delivered_share * 100.0, 1),
                    f(m.delivered_per_s, 0),
                    f(m.lag_p50_ms, 2)
                ),
                m.rps,
                30_000.0,
                m.rps >= 30_000.0 && m.delivered_share >= 1.0,
            )
        }
    });

    let goal = format!(
        "ack, keep-alive, paced {} req/s: p99 ≤ 2 ms",
        r.settings.rate
    );
    out.push(match cell(r, System::Ack, true, true) {
        None => na(goal, "ack not run"),
        Some(a) => judged(
            goal,
            format!("p99 {} ms", f(a.median.p99_ms, 2)),
            a.median.p99_ms,
            2.0,
            a.median.p99_ms <= 2.0,
        ),
    });

    idle_goals(r, skipped, bore_why, &mut out);
    large_goals(r, skipped, &mut out);
    out
}

/// Relay RSS and idle CPU per idle agent against bore's per idle control connection, at the
/// largest count both measured.
fn idle_goals(r: &Report, skipped: &Skipped, bore_why: &str, out: &mut Vec<Goal>) {
    let pair = r
        .idle
        .iter()
        .rev()
        .find_map(|i| Some((i, r.idle_bore.iter().find(|b| b.connections == i.agents)?)));
    let why = skipped
        .idle
        .as_deref()
        .or(skipped.bore.as_deref())
        .or(skipped.idle_bore.as_deref())
        .unwrap_or(if r.idle_bore.is_empty() {
            bore_why
        } else {
            "no idle count measured for both"
        });
    let goal = |n: Option<usize>, what: &str| match n {
        Some(n) => format!("{what} (at {n} idle)"),
        None => what.to_string(),
    };
    let n = pair.map(|(i, _)| i.agents);
    let kib_goal = goal(n, "relay RSS per idle agent ≤ 1.5× bore's per connection");
    let cpu_goal = goal(
        n,
        "relay idle CPU per 1,000 agents ≤ bore's per 1,000 connections",
    );
    let Some((i, b)) = pair else {
        out.push(na(kib_goal, why));
        out.push(na(cpu_goal, why));
        return;
    };
    out.push(judged(
        kib_goal,
        format!(
            "{} KiB vs bore {} KiB = {}×",
            f(i.per_agent_kib, 1),
            f(b.per_conn_kib, 1),
            f(i.x_bore_kib, 2)
        ),
        i.x_bore_kib,
        1.5,
        i.x_bore_kib <= 1.5,
    ));
    out.push(judged(
        cpu_goal,
        format!(
            "{} % vs bore {} % of a core = {}×",
            f(i.idle_cpu_pct_per_1000, 3),
            f(b.idle_cpu_pct_per_1000, 3),
            f(i.x_bore_cpu, 2)
        ),
        i.idle_cpu_pct_per_1000,
        b.idle_cpu_pct_per_1000,
        i.idle_cpu_pct_per_1000 <= b.idle_cpu_pct_per_1000,
    ));
}

/// How far relay and agent RSS rose with 10 MB bodies, in bodies: fewer than five copies.
fn large_goals(r: &Report, skipped: &Skipped, out: &mut Vec<Goal>) {
    for system in [System::Proxy, System::Ack] {
        let goal = format!(
            "{}, {} MB body: relay and agent RSS rise by < 5 bodies (not copied five times)",
            system.name(),
            LARGE_GOAL_BYTES / 1_000_000
        );
        let found = r
            .large
            .iter()
            .find(|l| l.system == system && l.size == LARGE_GOAL_BYTES);
        let Some(l) = found else {
            let why = skipped.large.clone().unwrap_or_else(|| {
                format!(
                    "{} did not run with {LARGE_GOAL_BYTES}-byte bodies",
                    system.name()
                )
            });
            out.push(na(goal, &why));
            continue;
        };
        let (relay, agent) = l.growth();
        let worst = relay.max(agent);
        out.push(judged(
            goal,
            format!(
                "relay +{}× body (peak {} MiB), agent +{}× body (peak {} MiB)",
                f(relay, 1),
                f(l.server_peak_kib as f64 / 1024.0, 1),
                f(agent, 1),
                f(l.client_peak_kib as f64 / 1024.0, 1)
            ),
            worst,
            5.0,
            worst < 5.0,
        ));
    }
}

/// The Goals table.
pub fn markdown(s: &mut String, goals: &[Goal]) {
    s.push_str("### Goals\n\n| goal | measured in this run | result |\n|---|---|---|\n");
    for g in goals {
        let _ = writeln!(s, "| {} | {} | {} |", g.goal, g.measured, g.status.label());
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::{Cell, Measure, Settings};

    fn summary(system: System, keep_alive: bool, paced: bool, rps: f64, p50: f64) -> Summary {
        Summary {
            system,
            cell: Cell { keep_alive, paced },
            median: Measure {
                rps,
                p50_ms: p50,
                p99_ms: 1.0,
                delivered_share: 1.0,
                ..Measure::default()
            },
            x_direct: rps / 1000.0,
            x_bore: rps / 500.0,
        }
    }

    fn report(summary: Vec<Summary>) -> Report {
        Report {
            goals: Vec::new(),
            settings: Settings {
                conns: 1,
                max_secs: 1.0,
                paced_secs: 1.0,
                rate: 500.0,
                rounds: 1,
            },
            body_bytes: 0,
            summary,
            runs: Vec::new(),
            idle: Vec::new(),
            idle_bore: Vec::new(),
            large: Vec::new(),
            instances: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn bore_goals_are_na_without_bore_and_judged_with_it() {
        let without = report(vec![
            summary(System::Direct, true, true, 500.0, 0.1),
            summary(System::Proxy, true, false, 600.0, 1.0),
            summary(System::Proxy, true, true, 500.0, 0.3),
        ]);
        let skipped = Skipped {
            bore: Some("bore not on PATH".into()),
            ..Skipped::default()
        };
        let g = evaluate(&without, &skipped);
        assert_eq!(g[0].status, Status::NotApplicable);
        assert!(g[0].measured.contains("not on PATH"));
        assert_eq!(g[2].status, Status::NotApplicable);
        assert!(g.iter().all(|g| g.status == Status::NotApplicable));

        let with = report(vec![
            summary(System::Direct, true, true, 500.0, 0.1),
            summary(System::Proxy, true, false, 600.0, 1.0),
            summary(System::Proxy, true, true, 500.0, 0.3),
            summary(System::Bore, true, false, 500.0, 1.0),
            summary(System::Bore, true, true, 500.0, 0.5),
        ]);
        let g = evaluate(&with, &Skipped::default());
        assert_eq!(g[0].status, Status::Pass, "{:?}", g[0]);
        assert_eq!(g[2].status, Status::Pass, "{:?}", g[2]);
        assert!((g[2].value - 0.2).abs() < 1e-9);
        assert_eq!(g[3].status, Status::NotApplicable);
    }
}
