//! Okta hook bodies: a one-line summary and the ids Okta redeliveries share.
//!
//! Parsing is loose on purpose: the bytes are forwarded untouched whatever this makes of them.

use serde_json::Value;

/// The header Okta's one-time verification GET carries.
pub const VERIFICATION_HEADER: &str = "x-okta-verification-challenge";

/// What an Okta hook body is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The envelope's `eventType`, e.g. `com.okta.event_hook` or `com.okta.oauth2.tokens.transform`.
    pub hook_type: Option<String>,
    /// The envelope's `eventId` (or `eventID`).
    pub event_id: Option<String>,
    /// `data.events[].eventType`, in order.
    pub event_types: Vec<String>,
    /// `displayName` of each event's first target (or of the actor without targets), in order,
    /// without repeats.
    pub target_names: Vec<String>,
    /// `data.events[].uuid`, in order.
    pub uuids: Vec<String>,
}

impl Summary {
    /// True for inline hooks (anything but `com.okta.event_hook`).
    pub fn is_inline(&self) -> bool {
        matches!(&self.hook_type, Some(t) if t != "com.okta.event_hook")
    }

    /// A one-line description such as `user.lifecycle.deactivate · John Doe`.
    pub fn one_line(&self) -> String {
        let types = match self.event_types.as_slice() {
            [] => self.hook_type.clone().unwrap_or_default(),
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first} +{}", rest.len()),
        };
        if self.target_names.is_empty() {
            types
        } else {
            format!("{types} · {}", self.target_names.join(", "))
        }
    }
}

/// Summarises an Okta hook body; `None` when the body is not JSON or not an Okta hook.
pub fn summarize(body: &[u8]) -> Option<Summary> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    let hook_type = obj
        .get("eventType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let event_id = obj
        .get("eventId")
        .or_else(|| obj.get("eventID"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if hook_type.is_none() && event_id.is_none() {
        return None;
    }
    let mut s = Summary {
        hook_type,
        event_id,
        ..Summary::default()
    };
    let events = v
        .pointer("/data/events")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for e in &events {
        if let Some(t) = e.get("eventType").and_then(Value::as_str) {
            s.event_types.push(t.to_string());
        }
        if let Some(u) = e.get("uuid").and_then(Value::as_str) {
            s.uuids.push(u.to_string());
        }
        let name = e
            .get("target")
            .and_then(Value::as_array)
            .and_then(|t| t.first())
            .or_else(|| e.get("actor"))
            .and_then(|t| t.get("displayName"))
            .and_then(Value::as_str);
        if let Some(n) = name {
            if !s.target_names.iter().any(|x| x == n) {
                s.target_names.push(n.to_string());
            }
        }
    }
    Some(s)
}
