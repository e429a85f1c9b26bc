//! `agent trigger`: send realistic Okta event hooks and inline hooks through the relay.

use crate::deliver::{DeliverOptions, Deliverer};
use crate::okta_kit::{self, InlineKind, TriggerOptions};
use anyhow::bail;
use shared::okta::check_inline_response;
use shared::DeliveryOutcome;
use std::time::Duration;

use super::support::*;
use super::RelayCli;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct TriggerCli {
    /// Event types (or unique fragments), e.g. user.lifecycle.create.
    pub event_types: Vec<String>,
    /// Print the supported event types, one per line.
    #[arg(long)]
    pub list: bool,
    /// Send an inline hook instead: token, saml, registration, password-import, user-import, telephony.
    #[arg(long)]
    pub inline: Option<crate::okta_kit::InlineKind>,
    /// Number of deliveries (default: enough to send each named type once).
    #[arg(long)]
    pub count: Option<u32>,
    /// Events per delivery.
    #[arg(long, default_value_t = 1)]
    pub batch: u32,
    /// Send to this URL instead of the source's public URL.
    #[arg(long)]
    pub to: Option<String>,
    #[command(flatten)]
    pub relay: RelayCli,
}

/// Runs `agent trigger`.
pub(crate) async fn run(data: &Option<PathBuf>, t: TriggerCli) -> anyhow::Result<()> {
    init_logs();
    if t.list {
        for ty in crate::okta_kit::event_types() {
            println!("{ty}");
        }
        return Ok(());
    }
    if t.inline.is_none() && t.event_types.is_empty() {
        anyhow::bail!(
            "name at least one event type (e.g. user.lifecycle.create), --inline KIND or --list"
        );
    }
    let url = t.to.clone().unwrap_or_else(|| source_url(&t.relay, data));
    let args = TriggerArgs {
        event_types: t.event_types.clone(),
        count: t
            .count
            .unwrap_or_else(|| (t.event_types.len().max(1) as u32).div_ceil(t.batch.max(1))),
        batch: t.batch,
        url: url.clone(),
        auth: auth_of(&t.relay)?,
        inline: t.inline,
        insecure: t.relay.insecure,
    };
    let mut failed = 0;
    trigger(&args, |s| {
        let result = match &s.outcome {
            DeliveryOutcome::Answered {
                response,
                duration_us,
            } => format!(
                "{} in {:.1} ms",
                response.status,
                *duration_us as f64 / 1000.0
            ),
            DeliveryOutcome::Failed { error, .. } => {
                failed += 1;
                format!("failed: {error}")
            }
        };
        println!("POST {url}  {}  → {result}", s.types.join(", "));
        if let Some(r) = s.outcome.response() {
            if !(200..300).contains(&r.status) {
                failed += 1;
            }
            if t.inline.is_some() && !r.body.is_empty() {
                println!("{}", r.body.to_string_lossy());
            }
        }
        for w in &s.warnings {
            eprintln!("warning: {w}");
        }
    })
    .await?;
    if failed > 0 {
        anyhow::bail!("{failed} delivery(ies) failed");
    }
    Ok(())
}

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
