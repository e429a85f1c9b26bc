//! Plain outputs: one line per event (`compact`) or one JSON object per line (`json`).

use crate::events::{AgentEvent, ConnState};
use crate::model::Capture;
use shared::{DeliveryOutcome, EventId};
use std::collections::HashMap;
use std::io::Write;
use tokio::sync::mpsc;

/// Which plain output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plain {
    /// Human lines; state changes on stderr.
    Compact,
    /// JSON lines on stdout.
    Json,
    /// Nothing but errors.
    Quiet,
}

/// Prints events until the channel closes.
pub async fn print(kind: Plain, rx: mpsc::Receiver<AgentEvent>) {
    print_linked(kind, rx, None).await
}

/// [`print`], ending each event's line with its page in the web inspector at `inspect_url`.
pub async fn print_linked(
    kind: Plain,
    mut rx: mpsc::Receiver<AgentEvent>,
    inspect_url: Option<String>,
) {
    let mut pending: HashMap<EventId, Capture> = HashMap::new();
    // Listening on several sources, every event line says its source.
    let mut tagged = false;
    while let Some(ev) = rx.recv().await {
        if let AgentEvent::Started { source, .. } = &ev {
            tagged = shared::SourceList::parse(source).is_ok_and(|s| s.is_several());
        }
        let link = inspect_url.as_deref();
        let line = match (&ev, kind) {
            (_, Plain::Quiet) => continue,
            (AgentEvent::Captured(c), _) if c.is_pending() => {
                pending.insert(c.id, (**c).clone());
                continue;
            }
            (
                AgentEvent::Delivered {
                    id,
                    answered_at_ms,
                    outcome,
                    ..
                },
                _,
            ) => {
                let Some(mut c) = pending.remove(id) else {
                    continue;
                };
                c.outcome = Some(outcome.clone());
                c.answered_at_ms = Some(*answered_at_ms);
                capture_line(kind, &c, link, tagged)
            }
            (AgentEvent::Captured(c), _) => capture_line(kind, c, link, tagged),
            (other, Plain::Json) => state_json(other, tagged).to_string(),
            (other, _) => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{}", state_text(other, tagged));
                continue;
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn capture_line(kind: Plain, c: &Capture, inspect_url: Option<&str>, tagged: bool) -> String {
    let link = inspect_url.map(|base| crate::inspect::event_link(base, c.id));
    if kind == Plain::Json {
        let mut v = capture_json(c);
        if let Some(link) = link {
            v["link"] = serde_json::Value::String(link);
        }
        if tagged {
            v["source"] = serde_json::Value::String(c.source.clone());
        }
        return v.to_string();
    }
    let line = if tagged {
        tagged_line(c)
    } else {
        compact_line(c)
    };
    match link {
        None => line,
        Some(link) => format!("{line}  {link}"),
    }
}

/// [`compact_line`] with the event's source after the time, for an agent listening on several
/// sources: `12:03:04.120 [github] POST /hooks → 200 3.2ms`.
pub fn tagged_line(c: &Capture) -> String {
    let line = compact_line(c);
    match line.split_once(' ') {
        Some((time, rest)) => format!("{time} [{}] {rest}", c.source),
        None => line,
    }
}

/// `12:03:04.120 POST /extra?x=1 → 200 3.2ms  user.lifecycle.deactivate · John Doe [dup]`.
pub fn compact_line(c: &Capture) -> String {
    let time = clock(c.received_at_ms);
    if c.kind == crate::model::CaptureKind::Verification {
        return format!("{time} GET  verification ✓ (answered by the relay)");
    }
    let path = display_path(c);
    let result = match &c.outcome {
        Some(o) => outcome_text(o),
        None => "…".into(),
    };
    let mut line = format!("{time} {:<4} {path} → {result}", c.request.method);
    if let Some(s) = shared::okta::summarize(c.request.body.as_bytes()) {
        line.push_str("  ");
        line.push_str(&s.one_line());
        if let Some(check) = inline_check(c) {
            line.push_str(&format!(" [{:.0}% of Okta's 3 s]", check.budget_pct));
            for w in &check.warnings {
                line.push_str(" ⚠ ");
                line.push_str(w);
            }
        }
    }
    if c.duplicate {
        line.push_str(" [duplicate]");
    }
    if c.replay_of.is_some() {
        line.push_str(" [replay]");
    }
    line
}

fn outcome_text(o: &DeliveryOutcome) -> String {
    let ms = o.duration_us() as f64 / 1000.0;
    match o {
        DeliveryOutcome::Answered { response, .. } => format!("{} {ms:.1}ms", response.status),
        DeliveryOutcome::Failed { error, .. } => format!("failed ({error}) {ms:.1}ms"),
    }
}

fn display_path(c: &Capture) -> String {
    let p = c.request.path_and_query();
    if p.is_empty() {
        "/".into()
    } else {
        p
    }
}

pub use crate::tui::fmt::clock;

/// How an inline hook's round trip fared against Okta's rules.
pub struct InlineCheck {
    /// Round trip in ms.
    pub used_ms: f64,
    /// Share of Okta's 3 s budget, in percent.
    pub budget_pct: f64,
    /// Readable problems: slow (over 1 s), or a reply Okta would reject.
    pub warnings: Vec<String>,
}

/// For an answered inline hook (not event hooks), its budget use and reply problems.
pub fn inline_check(c: &Capture) -> Option<InlineCheck> {
    let summary = shared::okta::summarize(c.request.body.as_bytes())?;
    if !summary.is_inline() {
        return None;
    }
    let outcome = c.outcome.as_ref()?;
    let used_ms = outcome.duration_us() as f64 / 1000.0;
    let mut warnings = Vec::new();
    if used_ms > 1000.0 {
        warnings.push(format!(
            "took {used_ms:.0} ms of Okta's 3,000 ms budget for the whole round trip"
        ));
    }
    if let Some(resp) = outcome.response() {
        warnings.extend(shared::okta::check_inline_response(resp.body.as_bytes()));
    }
    Some(InlineCheck {
        used_ms,
        budget_pct: used_ms / 30.0,
        warnings,
    })
}

/// The JSON line for one capture.
pub fn capture_json(c: &Capture) -> serde_json::Value {
    let summary = shared::okta::summarize(c.request.body.as_bytes());
    serde_json::json!({
        "type": "event",
        "kind": c.kind,
        "id": c.id,
        "seq": c.seq(),
        "received_at_ms": c.received_at_ms,
        "method": c.request.method,
        "path": display_path(c),
        "status": c.status(),
        "duration_ms": c.outcome.as_ref().map(|o| o.duration_us() as f64 / 1000.0),
        "error": c.outcome.as_ref().and_then(|o| o.error()).map(|e| e.to_string()),
        "duplicate": c.duplicate,
        "replay_of": c.replay_of,
        "summary": summary.as_ref().map(|s| s.one_line()),
        "event_types": summary.as_ref().map(|s| s.event_types.clone()),
        "target": c.target_url,
        "inline": inline_check(c).map(|i| serde_json::json!({
            "budget_used_ms": i.used_ms,
            "budget_pct": i.budget_pct,
            "warnings": i.warnings,
        })),
    })
}

/// `tagged`: listening on several sources, a held source is named.
fn state_text(ev: &AgentEvent, tagged: bool) -> String {
    let of = |source: &str| {
        if tagged {
            format!(" ({source})")
        } else {
            String::new()
        }
    };
    match ev {
        AgentEvent::Started { target, source } => {
            format!("hookrelay: delivering source {source} to {target}")
        }
        AgentEvent::State(s) => match s {
            ConnState::Connecting => "hookrelay: connecting to the relay…".into(),
            ConnState::Connected { since_ms } => {
                format!("hookrelay: connected (since {})", clock(*since_ms))
            }
            ConnState::Reconnecting {
                attempt,
                next_in_ms,
                reason,
            } => format!(
                "hookrelay: reconnecting (attempt {attempt}, next try in {:.1}s): {reason}",
                *next_in_ms as f64 / 1000.0
            ),
            ConnState::Failed { reason } => format!("hookrelay: failed: {reason}"),
        },
        AgentEvent::Welcome {
            backlog,
            public_url,
            mode,
            ..
        } => {
            format!(
                "hookrelay: forwarding {public_url} ({mode} mode); {backlog} event(s) were waiting at the relay"
            )
        }
        AgentEvent::Notice(m) => format!("hookrelay: relay notice: {m}"),
        AgentEvent::LocalDown {
            source,
            waiting,
            next_in_ms,
            reason,
        } => format!(
            "hookrelay: local service down{} · {waiting} waiting · next try in {} ({reason})",
            of(source),
            crate::events::secs(*next_in_ms)
        ),
        AgentEvent::LocalBack { source, waiting } => {
            format!(
                "hookrelay: local service back{} · delivering {waiting} held event(s)",
                of(source)
            )
        }
        AgentEvent::Captured(_) | AgentEvent::Delivered { .. } => String::new(),
    }
}

fn state_json(ev: &AgentEvent, tagged: bool) -> serde_json::Value {
    let mut v = state_json_untagged(ev);
    if let (true, AgentEvent::LocalDown { source, .. } | AgentEvent::LocalBack { source, .. }) =
        (tagged, ev)
    {
        v["source"] = source.clone().into();
    }
    v
}

fn state_json_untagged(ev: &AgentEvent) -> serde_json::Value {
    match ev {
        AgentEvent::Started { target, source } => serde_json::json!({
            "type": "started", "target": target, "source": source
        }),
        AgentEvent::State(s) => match s {
            ConnState::Connecting => serde_json::json!({"type": "state", "state": "connecting"}),
            ConnState::Connected { since_ms } => {
                serde_json::json!({"type": "state", "state": "connected", "since_ms": since_ms})
            }
            ConnState::Reconnecting {
                attempt,
                next_in_ms,
                reason,
            } => serde_json::json!({
                "type": "state", "state": "reconnecting", "attempt": attempt,
                "next_in_ms": next_in_ms, "reason": reason
            }),
            ConnState::Failed { reason } => {
                serde_json::json!({"type": "state", "state": "failed", "reason": reason})
            }
        },
        AgentEvent::Welcome {
            source,
            backlog,
            head_seq,
            public_url,
            mode,
        } => serde_json::json!({
            "type": "welcome", "source": source, "backlog": backlog, "head_seq": head_seq,
            "public_url": public_url, "mode": mode
        }),
        AgentEvent::Notice(m) => serde_json::json!({"type": "notice", "message": m}),
        AgentEvent::LocalDown {
            waiting,
            next_in_ms,
            reason,
            ..
        } => serde_json::json!({
            "type": "local", "state": "down", "waiting": waiting,
            "next_in_ms": next_in_ms, "reason": reason
        }),
        AgentEvent::LocalBack { waiting, .. } => {
            serde_json::json!({"type": "local", "state": "up", "waiting": waiting})
        }
        AgentEvent::Captured(_) | AgentEvent::Delivered { .. } => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_with_the_events_inspector_link() {
        let c = crate::capture_builder::CaptureBuilder::event(1)
            .target("")
            .build();
        let link = format!("http://127.0.0.1:4040/events/{}", c.id);
        let line = capture_line(Plain::Compact, &c, Some("http://127.0.0.1:4040"), false);
        assert!(line.ends_with(&format!("  {link}")), "{line}");
        let json: serde_json::Value = serde_json::from_str(&capture_line(
            Plain::Json,
            &c,
            Some("http://127.0.0.1:4040/"),
            false,
        ))
        .expect("json");
        assert_eq!(json["link"], link.as_str());
        assert!(!capture_line(Plain::Compact, &c, None, false).contains("4040"));
    }

    #[test]
    fn a_held_source_is_named_when_there_are_several() {
        let down = AgentEvent::LocalDown {
            source: "github".into(),
            waiting: 2,
            next_in_ms: 2000,
            reason: "refused".into(),
        };
        assert_eq!(
            state_text(&down, true),
            "hookrelay: local service down (github) · 2 waiting · next try in 2 s (refused)"
        );
        assert!(!state_text(&down, false).contains("github"));
        assert_eq!(state_json(&down, true)["source"], "github");
        assert!(state_json(&down, false).get("source").is_none());
    }

    #[test]
    fn several_sources_tag_each_line_with_its_source() {
        let mut c = crate::capture_builder::CaptureBuilder::event(1)
            .target("")
            .build();
        c.source = "github".into();
        let plain = capture_line(Plain::Compact, &c, None, false);
        assert!(!plain.contains("[github]"), "{plain}");
        let tagged = capture_line(Plain::Compact, &c, None, true);
        let (time, rest) = plain.split_once(' ').expect("time");
        assert_eq!(tagged, format!("{time} [github] {rest}"));
        let json: serde_json::Value =
            serde_json::from_str(&capture_line(Plain::Json, &c, None, true)).expect("json");
        assert_eq!(json["source"], "github");
    }
}
