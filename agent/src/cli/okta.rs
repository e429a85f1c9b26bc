//! `agent trigger`.

use super::support::*;
use super::TriggerCli;
use std::path::PathBuf;

pub(crate) async fn run_trigger(data: &Option<PathBuf>, t: TriggerCli) -> anyhow::Result<()> {
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
    let args = crate::commands::trigger::TriggerArgs {
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
    crate::commands::trigger::trigger(&args, |s| {
        let result = match (s.outcome.response(), s.outcome.error()) {
            (Some(r), _) => format!(
                "{} in {:.1} ms",
                r.status,
                s.outcome.duration_us() as f64 / 1000.0
            ),
            (None, Some(e)) => {
                failed += 1;
                format!("failed: {e}")
            }
            (None, None) => "no answer".into(),
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
