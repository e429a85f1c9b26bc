//! One source of a session: where its delivery stands (next sequence, the log's head), its
//! share of the window, the events in flight, and the agent's cursor on it. A session has one
//! lane per source the agent listens on; each moves on its own, so a source whose agent-side
//! target is stalled fills only its own share and never holds up another.

use super::{store_err, Closing};
use crate::hub::{AgentGuard, SourceHub};
use crate::store::{SourceInfo, Store};
use shared::inflight::InFlight;
use shared::{DeliveryOutcome, EventId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often an advanced cursor is written to the store. Acks in between are safe to lose:
/// the agent's hello carries its own last acked sequences and it drops repeats by id.
pub(super) const CURSOR_FLUSH: Duration = Duration::from_millis(250);

/// Most bytes of event frames sent and not yet acknowledged on a session, shared between its
/// lanes (one event per lane is always allowed, whatever its size). The window counts events;
/// this bounds what an agent holds in memory when the events are large: a backlog of 10 MB
/// bodies goes out one at a time, not 256.
const MAX_IN_FLIGHT_BYTES: usize = 4 * 1024 * 1024;

/// One source of a session.
pub(super) struct Lane {
    /// The source.
    pub source: String,
    /// Its settings when the agent joined.
    pub info: Arc<SourceInfo>,
    /// Its live state (proxy waiters, notices).
    pub hub: Arc<SourceHub>,
    /// Keeps the agent counted on the source while the session lives.
    pub _agent: AgentGuard,
    /// The first sequence not sent yet.
    pub next: u64,
    /// The newest sequence in the log, as last seen.
    pub head: u64,
    /// Events this lane may have in flight: its fair share of the session's window.
    pub share: usize,
    /// Bytes this lane may have in flight: its share of [`MAX_IN_FLIGHT_BYTES`].
    pub byte_share: usize,
    /// Events sent and not acknowledged.
    pub in_flight: Window,
    /// The agent's acknowledged cursor.
    pub cursor: Cursor,
}

impl Lane {
    /// A lane that starts sending at `next`, with `head` the log's newest sequence.
    pub fn new(
        source: String,
        info: Arc<SourceInfo>,
        hub: Arc<SourceHub>,
        agent: AgentGuard,
        (head, next): (u64, u64),
    ) -> Self {
        Lane {
            source,
            info,
            hub,
            _agent: agent,
            next,
            head,
            share: 1,
            byte_share: MAX_IN_FLIGHT_BYTES,
            in_flight: Window::default(),
            cursor: Cursor {
                acked: None,
                flushed: None,
                last_flush: Instant::now(),
            },
        }
    }

    /// Splits a session's `window` between `lanes` lanes: each gets an equal share (at least
    /// one event), so a lane stuck on an agent-side hold cannot take another's room.
    pub fn set_share(&mut self, window: usize, lanes: usize) {
        let lanes = lanes.max(1);
        self.share = (window / lanes).max(1);
        self.byte_share = MAX_IN_FLIGHT_BYTES / lanes;
    }

    /// How many more events may go out now.
    pub fn room(&self) -> usize {
        if self.in_flight.bytes >= self.byte_share && !self.in_flight.seqs.is_empty() {
            return 0;
        }
        self.share.saturating_sub(self.in_flight.seqs.len())
    }

    /// True when the log holds events not sent yet.
    pub fn has_unsent(&self) -> bool {
        self.next <= self.head
    }

    /// True when another frame of `size` bytes would go past the byte share.
    pub fn full_of_bytes(&self) -> bool {
        self.in_flight.bytes >= self.byte_share && !self.in_flight.seqs.is_empty()
    }

    /// The agent acknowledged `seq`: the window and cursor move, and the answer goes to its
    /// waiting sender. Returns the outcome when a sender waits for it at another instance.
    pub fn acked(
        &mut self,
        seq: u64,
        id: EventId,
        outcome: DeliveryOutcome,
    ) -> Option<DeliveryOutcome> {
        let proxied = self.in_flight.proxied(seq);
        if let Some(through) = self.in_flight.acked(seq) {
            self.cursor.advance(through);
        }
        let unclaimed = self.hub.complete(id, outcome);
        unclaimed.filter(|_| proxied)
    }

    /// Writes the cursor when it moved and [`CURSOR_FLUSH`] passed (or `force`).
    pub fn flush(&mut self, store: &dyn Store, agent_id: &str, force: bool) -> Result<(), Closing> {
        let cursor = &mut self.cursor;
        if !cursor.dirty() || !(force || cursor.last_flush.elapsed() >= CURSOR_FLUSH) {
            return Ok(());
        }
        if let Some(seq) = cursor.acked {
            store
                .set_cursor(agent_id, &self.source, seq)
                .map_err(store_err)?;
        }
        cursor.flushed = cursor.acked;
        cursor.last_flush = Instant::now();
        Ok(())
    }
}

/// Events sent and not yet acknowledged: their sequences, and their frames' sizes.
#[derive(Default)]
pub(super) struct Window {
    seqs: InFlight,
    /// Frame size, and whether a sender waits for the answer, per sequence in flight.
    sizes: HashMap<u64, (usize, bool)>,
    bytes: usize,
}

impl Window {
    /// Records an event sent.
    pub fn sent(&mut self, seq: u64, size: usize, proxied: bool) {
        self.seqs.sent(seq);
        self.sizes.insert(seq, (size, proxied));
        self.bytes += size;
    }

    /// Whether the event in flight at `seq` has a sender waiting for its answer.
    fn proxied(&self, seq: u64) -> bool {
        self.sizes.get(&seq).is_some_and(|(_, p)| *p)
    }

    /// Marks `seq` acknowledged; returns the sequence all events up to which are.
    fn acked(&mut self, seq: u64) -> Option<u64> {
        if let Some((size, _)) = self.sizes.remove(&seq) {
            self.bytes -= size;
        }
        self.seqs.done(seq)
    }
}

/// The agent's acknowledged cursor on a source, written to the store at most every
/// [`CURSOR_FLUSH`].
pub(super) struct Cursor {
    acked: Option<u64>,
    flushed: Option<u64>,
    last_flush: Instant,
}

impl Cursor {
    fn advance(&mut self, through: u64) {
        self.acked = Some(self.acked.map_or(through, |a| a.max(through)));
    }

    /// True when an acknowledgement is not in the store yet.
    pub fn dirty(&self) -> bool {
        self.acked != self.flushed
    }
}
