//! Large bodies (1 MB, 10 MB) through each system: MB/s, peak RSS and how far it rose above
//! the RSS before the first body (the copies of a body held at once).

use crate::loadgen::{self, LoadSpec, Payload};
use crate::matrix::drain;
use crate::procs::Proc;
use crate::systems::{self, Bins, System};
use crate::target::Target;
use bytes::Bytes;
use serde::Serialize;
use std::time::Duration;

/// One system at one body size.
#[derive(Clone, Debug, Serialize)]
pub struct LargeResult {
    /// System.
    pub system: System,
    /// Body size, bytes.
    pub size: usize,
    /// Requests sent (one connection, one at a time).
    pub requests: u64,
    /// Requests that reached the target intact.
    pub delivered: u64,
    /// Failed requests.
    pub errors: u64,
    /// Body megabytes (10^6) per second, from the first send to the last arrival.
    pub mb_per_s: f64,
    /// Relay (or bore server) peak RSS, KiB.
    pub server_peak_kib: u64,
    /// Agent (or bore local) peak RSS, KiB.
    pub client_peak_kib: u64,
    /// Relay (or bore server) RSS just before the first body, KiB.
    pub server_base_kib: u64,
    /// Agent (or bore local) RSS just before the first body, KiB.
    pub client_base_kib: u64,
    /// First error seen.
    pub first_error: Option<String>,
}

impl LargeResult {
    /// How many bodies' worth the relay's and the agent's RSS rose above their RSS before the
    /// first body: the copies of a body each held at the same time (at most).
    pub fn growth(&self) -> (f64, f64) {
        let times = |peak: u64, base: u64| {
            peak.saturating_sub(base) as f64 * 1024.0 / self.size.max(1) as f64
        };
        (
            times(self.server_peak_kib, self.server_base_kib),
            times(self.client_peak_kib, self.client_base_kib),
        )
    }
}

/// A JSON body of exactly `size` bytes.
pub fn body(size: usize) -> Bytes {
    let head = b"{\"data\":\"";
    let tail = b"\"}";
    let mut v = Vec::with_capacity(size);
    v.extend_from_slice(head);
    v.resize(size.saturating_sub(tail.len()).max(head.len()), b'x');
    v.extend_from_slice(tail);
    Bytes::from(v)
}

/// Sends `(size, count)` bodies through each of `systems`.
pub async fn run(
    systems: &[System],
    bins: &Bins,
    target: &Target,
    sizes: &[(usize, u64)],
) -> anyhow::Result<Vec<LargeResult>> {
    let mut out = Vec::new();
    for &system in systems {
        let running = systems::start(system, bins, target).await?;
        for &(size, count) in sizes {
            let procs: [Option<&Proc>; 2] = [running.server.as_ref(), running.client.as_ref()];
            for p in procs.into_iter().flatten() {
                p.reset_peak();
            }
            let base = procs.map(|p| p.map_or(0, Proc::rss_kib));
            target.stats.reset();
            let spec = LoadSpec {
                addr: running.addr,
                path: running.path.clone(),
                conns: 1,
                keep_alive: true,
                max_requests: count,
                duration: Duration::from_secs(60),
                rate: None,
                request_timeout: Duration::from_secs(30),
                payload: Payload::Fixed(body(size)),
            };
            let t0 = crate::clock::now_us();
            let load = loadgen::run(spec).await;
            let delivered = drain(target, load.ok).await;
            let bytes = target.stats.bytes.load(std::sync::atomic::Ordering::SeqCst);
            let last = target
                .stats
                .last_us
                .load(std::sync::atomic::Ordering::SeqCst);
            let secs = last.saturating_sub(t0) as f64 / 1e6;
            let r = LargeResult {
                system,
                size,
                requests: load.ok + load.errors,
                delivered,
                errors: load.errors,
                mb_per_s: if secs > 0.0 {
                    bytes as f64 / 1e6 / secs
                } else {
                    0.0
                },
                server_peak_kib: procs[0].map_or(0, Proc::peak_kib),
                client_peak_kib: procs[1].map_or(0, Proc::peak_kib),
                server_base_kib: base[0],
                client_base_kib: base[1],
                first_error: load.first_error,
            };
            eprintln!(
                "large {:>6} {:>9} B: {:.1} MB/s, peak RSS {} / {} KiB, errors {}",
                system.name(),
                size,
                r.mb_per_s,
                r.server_peak_kib,
                r.client_peak_kib,
                r.errors
            );
            out.push(r);
        }
    }
    Ok(out)
}
