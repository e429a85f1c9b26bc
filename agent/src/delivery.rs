//! One event to the local service: deliver, record the exchange, and say what the ack needs —
//! or hand the event back when the service is down and the event is to be held.

use crate::capture::Record;
use crate::deliver::Deliverer;
use crate::hold::OnDown;
use crate::listen::ListenOptions;
use crate::model::{now_ms, Capture, CaptureKind};
use crate::recorder::Recorder;
use shared::{DeliveryError, DeliveryOutcome, Event, EventId};

/// A delivery still running after this long is shown (and stored) as pending.
const PENDING_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// How a filtered event's outcome starts (`filtered out by --filter type=user.*`).
pub const FILTERED_PREFIX: &str = "filtered out by --filter";

/// How one delivery ended.
pub(crate) enum Done {
    /// Finished (answered, failed or skipped): record done, ack it.
    Finished {
        seq: u64,
        id: EventId,
        proxied: bool,
        outcome: DeliveryOutcome,
    },
    /// The local service refused it and it is held: not recorded as done, not acked.
    Held { ev: Box<Event>, reason: String },
}

/// Delivers an event and records the exchange. A quick delivery is recorded once, complete;
/// one still running after [`PENDING_AFTER`] is recorded (and shown) as pending first, then
/// completed. A held event is not recorded as delivered, so a restart delivers it again.
pub(crate) async fn deliver_one(
    opts: &ListenOptions,
    source: &str,
    recorder: &Recorder,
    deliverer: &Deliverer,
    ev: Event,
) -> Done {
    let delivered_at = now_ms();
    let target = crate::rules::route_for(&opts.routes, source, &ev.request)
        .map(|r| &r.target)
        .unwrap_or(&opts.target);
    let filtered = crate::rules::failed_filter(&opts.filters, &ev.request);
    let mut capture = Capture {
        event: shared::Event {
            seq: ev.seq,
            id: ev.id,
            received_at_ms: ev.received_at_ms,
            duplicate: ev.duplicate,
            proxied: false,
            request: ev.request.clone(),
        },
        source: source.to_string(),
        kind: CaptureKind::Event,
        delivered_at_ms: Some(delivered_at),
        answered_at_ms: None,
        target_url: target.url_for(&ev.request),
        outcome: None,
        replay_of: None,
    };
    let mut shown_pending = false;
    let outcome = if let Some(f) = filtered {
        skipped(&format!("{FILTERED_PREFIX} {}", f.spec))
    } else if ev.duplicate && opts.drop_duplicates {
        skipped("Okta redelivery dropped (--drop-duplicates)")
    } else {
        let sending = deliverer.deliver(&capture.target_url, &capture.request);
        tokio::pin!(sending);
        tokio::select! {
            outcome = &mut sending => outcome,
            _ = tokio::time::sleep(PENDING_AFTER) => {
                recorder.record(Record::Capture(Box::new(capture.clone()))).await;
                shown_pending = true;
                sending.await
            }
        }
    };
    // Proxied events are never held: their sender is waiting for an answer now.
    if !ev.proxied && opts.on_down == OnDown::Hold {
        if let Some(DeliveryError::Refused(reason)) = outcome.error() {
            return Done::Held {
                reason: reason.clone(),
                ev: Box::new(ev),
            };
        }
    }
    let answered = now_ms();
    let record = if shown_pending {
        Record::Outcome {
            id: ev.id,
            delivered_at_ms: delivered_at,
            answered_at_ms: answered,
            outcome: outcome.clone(),
        }
    } else {
        capture.answered_at_ms = Some(answered);
        capture.outcome = Some(outcome.clone());
        Record::Capture(Box::new(capture))
    };
    recorder.record(record).await;
    if opts.okta_retry && !ev.proxied && okta_would_retry(&outcome) {
        retry_once(opts, source, recorder, deliverer, &ev).await;
    }
    Done::Finished {
        seq: ev.seq,
        id: ev.id,
        proxied: ev.proxied,
        outcome,
    }
}

/// Okta redelivers an event hook once when the answer is a 5xx or takes over 3 s.
fn okta_would_retry(outcome: &DeliveryOutcome) -> bool {
    const OKTA_DEADLINE_US: u64 = 3_000_000;
    outcome.status().is_some_and(|s| s >= 500)
        || outcome.duration_us() > OKTA_DEADLINE_US
        || matches!(outcome.error(), Some(DeliveryError::Timeout(_)))
}

/// `--okta-retry`: the same request once more, as Okta sends it, recorded as its own capture
/// marked as a redelivery of the first (`duplicate`, `replay_of`: shown `[duplicate] [replay]`). The first outcome is the
/// one acknowledged; the retry is for the developer to see how the handler copes.
async fn retry_once(
    opts: &ListenOptions,
    source: &str,
    recorder: &Recorder,
    deliverer: &Deliverer,
    ev: &Event,
) {
    let delivered_at = now_ms();
    let target_url = crate::rules::route_for(&opts.routes, source, &ev.request)
        .map(|r| &r.target)
        .unwrap_or(&opts.target)
        .url_for(&ev.request);
    let outcome = deliverer.deliver(&target_url, &ev.request).await;
    let capture = Capture {
        event: shared::Event {
            seq: 0,
            id: EventId::new(),
            received_at_ms: ev.received_at_ms,
            duplicate: true,
            proxied: false,
            request: ev.request.clone(),
        },
        source: source.to_string(),
        kind: CaptureKind::Event,
        delivered_at_ms: Some(delivered_at),
        answered_at_ms: Some(now_ms()),
        target_url,
        outcome: Some(outcome),
        replay_of: Some(ev.id),
    };
    recorder.record(Record::Capture(Box::new(capture))).await;
}

/// An outcome for an event deliberately not delivered.
pub(crate) fn skipped(why: &str) -> DeliveryOutcome {
    DeliveryOutcome::failed(DeliveryError::Skipped(why.to_string()), 0)
}
