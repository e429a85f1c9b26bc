//! Holding acknowledged events while the local service is down (restarting under nodemon,
//! `cargo watch`, a debugger): the refused event and those after it wait, unacknowledged, and
//! one probe retries with backoff until the service answers again.

use std::time::Duration;
use tokio::time::Instant;

/// What an acknowledged event does when the local service refuses the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OnDown {
    /// Wait for the service and deliver in order once it is back (the relay keeps the events).
    #[default]
    Hold,
    /// Record the failure, acknowledge the event and move on.
    Fail,
}

/// First retry delay; doubled per failed probe up to [`HOLD_MAX`].
const HOLD_FIRST: Duration = Duration::from_millis(250);
/// Longest wait between probes: a service back up is noticed within this.
pub const HOLD_MAX: Duration = Duration::from_secs(2);

/// The hold state of the ordered lane.
#[derive(Debug, Default)]
pub(crate) struct Hold {
    /// Failed probes in a row; 0 when the service is up.
    attempt: u32,
    /// When the next probe may start; `None` while one runs or when not held.
    next_try: Option<Instant>,
    /// The timer fired: one probe may start.
    ready: bool,
}

impl Hold {
    /// True while the service is believed down.
    pub(crate) fn is_held(&self) -> bool {
        self.attempt > 0
    }

    /// A delivery was refused: schedule the next probe; returns the delay.
    pub(crate) fn refused(&mut self) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        let delay = HOLD_FIRST
            .saturating_mul(1u32 << (self.attempt - 1).min(8))
            .min(HOLD_MAX);
        self.next_try = Some(Instant::now() + delay);
        self.ready = false;
        delay
    }

    /// A delivery got an answer (any status): the service is up. True when it was held.
    pub(crate) fn answered(&mut self) -> bool {
        let was = self.is_held();
        *self = Hold::default();
        was
    }

    /// Whether an ordered delivery may start now; a held lane lets one probe through per timer.
    pub(crate) fn take_start(&mut self, ordered_running: usize) -> bool {
        if !self.is_held() {
            return true;
        }
        if self.ready && ordered_running == 0 {
            self.ready = false;
            return true;
        }
        false
    }

    /// Completes when the next probe is due; never while not held or a probe runs.
    pub(crate) async fn due(&self) {
        match self.next_try {
            Some(at) if !self.ready => tokio::time::sleep_until(at).await,
            _ => std::future::pending().await,
        }
    }

    /// The timer fired.
    pub(crate) fn fire(&mut self) {
        self.next_try = None;
        self.ready = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn backoff_is_capped_and_one_probe_runs_per_timer() {
        let mut h = Hold::default();
        assert!(h.take_start(3), "an up service lets everything start");
        let delays: Vec<_> = (0..6).map(|_| h.refused()).collect();
        assert_eq!(delays[0], HOLD_FIRST);
        assert_eq!(delays[1], HOLD_FIRST * 2);
        assert_eq!(*delays.last().expect("delays"), HOLD_MAX);
        assert!(!h.take_start(0), "nothing starts before the timer");
        h.fire();
        assert!(!h.take_start(1), "the probe waits for the running delivery");
        assert!(h.take_start(0));
        assert!(!h.take_start(0), "only one probe per timer");
        assert!(h.answered());
        assert!(!h.is_held());
        assert!(h.take_start(5));
    }
}
