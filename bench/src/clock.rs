//! One process-wide monotonic epoch, so the load generator and the target can compare stamps.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The header carrying the sender's stamp, read back by the target to measure delivery lag.
pub const SENT_HEADER: &str = "x-bench-sent-us";

/// Microseconds since the process epoch (set on first call).
pub fn now_us() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}
