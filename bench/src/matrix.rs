//! The main matrix: every system × {keep-alive, new connection} × {saturation, paced}, in
//! interleaved rounds, each cell measured from the sender, the target and /proc.

use crate::clock::now_us;
use crate::loadgen::{self, LoadSpec, Payload};
use crate::procs::Proc;
use crate::stats::{median, percentile_ms};
use crate::systems::{self, Bins, Running, System};
use crate::target::Target;
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How a cell loads the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Cell {
    /// Reuse connections (else one new connection per webhook).
    pub keep_alive: bool,
    /// Paced at the configured rate (else saturation).
    pub paced: bool,
}

impl Cell {
    /// Connection label.
    pub fn conn(self) -> &'static str {
        if self.keep_alive {
            "keep-alive"
        } else {
            "new conn"
        }
    }

    /// Load label.
    pub fn load(self) -> &'static str {
        if self.paced {
            "paced"
        } else {
            "max"
        }
    }
}

/// Every cell, in the order they run.
pub const CELLS: [Cell; 4] = [
    Cell {
        keep_alive: true,
        paced: false,
    },
    Cell {
        keep_alive: false,
        paced: false,
    },
    Cell {
        keep_alive: true,
        paced: true,
    },
    Cell {
        keep_alive: false,
        paced: true,
    },
];

/// Load settings shared by every cell.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Concurrent sender connections.
    pub conns: usize,
    /// Seconds per saturation cell.
    pub max_secs: f64,
    /// Seconds per paced cell.
    pub paced_secs: f64,
    /// Paced request rate (req/s).
    pub rate: f64,
    /// Interleaved rounds.
    pub rounds: usize,
}

/// One cell's figures (one round, or the median of all rounds).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Measure {
    /// Sender-side successful requests per second (ack mode: acknowledged events/s).
    pub rps: f64,
    /// Successful requests.
    pub ok: f64,
    /// Failed requests.
    pub errors: f64,
    /// Sender latency percentiles, ms.
    pub p50_ms: f64,
    /// p99, ms.
    pub p99_ms: f64,
    /// p99.9, ms.
    pub p999_ms: f64,
    /// Requests the target received per second, from the first send to the last arrival.
    pub delivered_per_s: f64,
    /// Share of successful requests that reached the target.
    pub delivered_share: f64,
    /// Sender-to-target lag percentiles, ms.
    pub lag_p50_ms: f64,
    /// p99, ms.
    pub lag_p99_ms: f64,
    /// p99.9, ms.
    pub lag_p999_ms: f64,
    /// Relay (or bore server) CPU per successful request, µs.
    pub server_cpu_us: f64,
    /// Agent (or bore local) CPU per successful request, µs.
    pub client_cpu_us: f64,
    /// Relay (or bore server) peak RSS during the cell, KiB.
    pub server_peak_kib: f64,
    /// Agent (or bore local) peak RSS during the cell, KiB.
    pub client_peak_kib: f64,
}

/// One cell of one round.
#[derive(Clone, Debug, Serialize)]
pub struct CellRun {
    /// System.
    pub system: System,
    /// Cell.
    pub cell: Cell,
    /// Round (0-based).
    pub round: usize,
    /// Figures.
    pub measure: Measure,
    /// First error the sender saw, if any.
    pub first_error: Option<String>,
}

/// Runs every round of every system; returns every cell run.
pub async fn run(
    systems: &[System],
    bins: &Bins,
    target: &Target,
    settings: &Settings,
    payload: &Payload,
) -> anyhow::Result<Vec<CellRun>> {
    let mut out = Vec::new();
    for round in 0..settings.rounds {
        for &system in systems {
            let running = systems::start(system, bins, target).await?;
            for cell in CELLS {
                let (measure, first_error) =
                    run_cell(&running, target, cell, settings, payload).await;
                eprintln!(
                    "round {} {:>6} {:>10} {:>5}: {:>9.0} req/s p50 {:.2} ms p99 {:.2} ms errors {}",
                    round + 1,
                    system.name(),
                    cell.conn(),
                    cell.load(),
                    measure.rps,
                    measure.p50_ms,
                    measure.p99_ms,
                    measure.errors
                );
                out.push(CellRun {
                    system,
                    cell,
                    round,
                    measure,
                    first_error,
                });
            }
        }
    }
    Ok(out)
}

fn procs(r: &Running) -> [Option<&Proc>; 2] {
    [r.server.as_ref(), r.client.as_ref()]
}

async fn run_cell(
    r: &Running,
    target: &Target,
    cell: Cell,
    s: &Settings,
    payload: &Payload,
) -> (Measure, Option<String>) {
    let secs = if cell.paced { s.paced_secs } else { s.max_secs };
    let spec = LoadSpec {
        addr: r.addr,
        path: r.path.clone(),
        conns: s.conns,
        keep_alive: cell.keep_alive,
        max_requests: if cell.paced {
            (s.rate * secs).ceil() as u64
        } else {
            5_000_000
        },
        duration: Duration::from_secs_f64(secs),
        rate: cell.paced.then_some(s.rate),
        request_timeout: Duration::from_secs(5),
        payload: payload.clone(),
    };
    target.stats.reset();
    let cpu0 = procs(r).map(|p| p.map_or(0, Proc::cpu_us));
    for p in procs(r).into_iter().flatten() {
        p.reset_peak();
    }
    let t0 = now_us();
    let load = loadgen::run(spec).await;
    let delivered = drain(target, load.ok).await;
    let cpu1 = procs(r).map(|p| p.map_or(0, Proc::cpu_us));
    let peaks = procs(r).map(|p| p.map_or(0, Proc::peak_kib));
    let lags = target.stats.take_lags();
    let last = target.stats.last_us.load(Ordering::SeqCst);
    let span_s = last.saturating_sub(t0) as f64 / 1e6;
    let ok = load.ok.max(1) as f64;
    let m = Measure {
        rps: load.rps(),
        ok: load.ok as f64,
        errors: load.errors as f64,
        p50_ms: percentile_ms(&load.latencies_us, 50.0),
        p99_ms: percentile_ms(&load.latencies_us, 99.0),
        p999_ms: percentile_ms(&load.latencies_us, 99.9),
        delivered_per_s: if span_s > 0.0 {
            delivered as f64 / span_s
        } else {
            0.0
        },
        delivered_share: delivered as f64 / ok,
        lag_p50_ms: percentile_ms(&lags, 50.0),
        lag_p99_ms: percentile_ms(&lags, 99.0),
        lag_p999_ms: percentile_ms(&lags, 99.9),
        server_cpu_us: cpu1[0].saturating_sub(cpu0[0]) as f64 / ok,
        client_cpu_us: cpu1[1].saturating_sub(cpu0[1]) as f64 / ok,
        server_peak_kib: peaks[0] as f64,
        client_peak_kib: peaks[1] as f64,
    };
    (m, load.first_error)
}

/// Waits until the target has seen `expected` requests, or saw none new for 5 s (at most 120 s);
/// returns how many it saw.
pub async fn drain(target: &Target, expected: u64) -> u64 {
    let start = Instant::now();
    let mut last_count = 0;
    let mut last_change = Instant::now();
    loop {
        let n = target.stats.count.load(Ordering::SeqCst);
        if n >= expected || start.elapsed() > Duration::from_secs(120) {
            return n;
        }
        if n != last_count {
            last_count = n;
            last_change = Instant::now();
        } else if last_change.elapsed() > Duration::from_secs(5) {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The median of every figure over `runs`.
pub fn aggregate(runs: &[&Measure]) -> Measure {
    let m = |f: fn(&Measure) -> f64| median(&runs.iter().map(|r| f(r)).collect::<Vec<_>>());
    Measure {
        rps: m(|r| r.rps),
        ok: m(|r| r.ok),
        errors: m(|r| r.errors),
        p50_ms: m(|r| r.p50_ms),
        p99_ms: m(|r| r.p99_ms),
        p999_ms: m(|r| r.p999_ms),
        delivered_per_s: m(|r| r.delivered_per_s),
        delivered_share: m(|r| r.delivered_share),
        lag_p50_ms: m(|r| r.lag_p50_ms),
        lag_p99_ms: m(|r| r.lag_p99_ms),
        lag_p999_ms: m(|r| r.lag_p999_ms),
        server_cpu_us: m(|r| r.server_cpu_us),
        client_cpu_us: m(|r| r.client_cpu_us),
        server_peak_kib: m(|r| r.server_peak_kib),
        client_peak_kib: m(|r| r.client_peak_kib),
    }
}
