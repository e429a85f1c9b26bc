//! `agent trigger`: send realistic Okta event hooks and inline hooks through the relay.

use crate::deliver::{DeliverOptions, Deliverer};
use crate::okta_kit::{self, InlineKind, TriggerOptions};
use anyhow::bail;
use shared::okta::check_inline_response;
use shared::DeliveryOutcome;
use std::time::Duration;

/// What to send.
#[derive(Clone, Debug)]
pub struct TriggerArgs {
    /// Event types (or unique fragments of them).
    pub event_types: Vec<String>,
    /// Deliveries to send.
    pub count: u32,
    /// Events per delivery.
    pub batch: u32,
    /// Full URL to post to.
    pub url: String,
    /// Auth header sent verbatim, as Okta does.
    pub auth: Option<(String, String)>,
    /// Inline hook instead of an event hook.
    pub inline: Option<InlineKind>,
    /// Accept any certificate.
    pub insecure: bool,
}

/// One sent delivery.
#[derive(Debug)]
pub struct Sent {
    /// Event types in it.
    pub types: Vec<String>,
    /// What came back.
    pub outcome: DeliveryOutcome,
    /// Readable warnings about an inline hook reply.
    pub warnings: Vec<String>,
}

/// Expands fragments into event types; errors list what matched when ambiguous.
pub fn resolve_types(queries: &[String]) -> anyhow::Result<Vec<&'static str>> {
    let mut out = Vec::new();
    for q in queries {
        let found = okta_kit::find_event_types(q);
        match found.as_slice() {
            [] => bail!("unknown Okta event type {q:?} (see `agent trigger --list`)"),
            [one] => out.push(*one),
            many if many.iter().any(|t| t == q) => out.push(q_static(many, q)),
            many => bail!(
                "{q:?} matches {} event types, e.g. {}; be more specific",
                many.len(),
                many.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ),
        }
    }
    Ok(out)
}

fn q_static(many: &[&'static str], q: &str) -> &'static str {
    many.iter().find(|t| **t == q).copied().unwrap_or(many[0])
}

/// Sends the deliveries one after another and reports each.
pub async fn trigger(
    args: &TriggerArgs,
    mut report: impl FnMut(&Sent),
) -> anyhow::Result<Vec<Sent>> {
    let deliverer = Deliverer::new(&DeliverOptions {
        timeout: Duration::from_secs(10),
        insecure: args.insecure,
    });
    let opts = TriggerOptions::default();
    let auth = args.auth.as_ref().map(|(n, v)| (n.as_str(), v.as_str()));
    let types = if args.inline.is_none() {
        resolve_types(&args.event_types)?
    } else {
        Vec::new()
    };
    let mut sent = Vec::new();
    for i in 0..args.count.max(1) {
        let (request, names) = match args.inline {
            Some(kind) => {
                let body = okta_kit::inline_hook_body_with(kind, &opts);
                let req = okta_kit::build_trigger_request(
                    &body,
                    okta_kit::inline_headers(&opts.hook_id, auth),
                );
                (req, vec![kind.event_type().to_string()])
            }
            None => {
                // A batch cycles through the requested types, as Okta batches close-by events.
                let batch: Vec<&str> = (0..args.batch.max(1) as usize)
                    .map(|j| types[(i as usize * args.batch.max(1) as usize + j) % types.len()])
                    .collect();
                let body = okta_kit::event_hook_body(&batch, &opts);
                let req = okta_kit::build_trigger_request(
                    &body,
                    okta_kit::okta_headers(&opts.hook_id, auth),
                );
                (req, batch.iter().map(|s| s.to_string()).collect())
            }
        };
        let outcome = deliverer.deliver(&args.url, &request).await;
        let warnings = match (&args.inline, outcome.response()) {
            (Some(_), Some(resp)) => {
                let mut w = check_inline_response(resp.body.as_bytes());
                if resp.body.is_empty() && resp.status == 200 {
                    w.push(
                        "the reply was empty: an inline hook needs the local answer; the source's \
                         mode is ack (`relay source set NAME --mode auto` proxies inline hooks)"
                            .into(),
                    );
                }
                if outcome.duration_us() > 1_000_000 {
                    w.push(format!(
                        "the round trip took {} ms: Okta allows 3,000 ms for the whole inline hook",
                        outcome.duration_us() / 1000
                    ));
                }
                w
            }
            _ => Vec::new(),
        };
        let s = Sent {
            types: names,
            outcome,
            warnings,
        };
        report(&s);
        sent.push(s);
    }
    Ok(sent)
}
