//! Okta hook bodies: a one-line summary, the ids Okta redeliveries share, and checks of replies.
//!
//! Parsing is loose on purpose: the bytes are forwarded untouched whatever this makes of them,
//! so every function here accepts any bytes and never panics.

mod dedup;
mod replies;

pub use dedup::{dedup_keys, DedupKeys};
pub use replies::{check_inline_response, check_verification_response, verification_response};
use serde_json::{Map, Value};

/// The header Okta's one-time verification GET carries.
pub const VERIFICATION_HEADER: &str = "x-okta-verification-challenge";

/// The envelope `eventType` of event hooks; every other type is an inline hook.
pub const EVENT_HOOK_TYPE: &str = "com.okta.event_hook";

/// Okta ignores inline hook replies this big or bigger.
pub const MAX_INLINE_RESPONSE_BYTES: usize = 256 * 1024;

/// At most this many target names are kept in a [`Summary`]; a big batch would not fit a line.
const MAX_NAMES: usize = 3;

/// What an Okta hook body is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The envelope's `eventType`, e.g. `com.okta.event_hook` or `com.okta.oauth2.tokens.transform`.
    pub hook_type: Option<String>,
    /// The envelope's `eventId` (or `eventID`).
    pub event_id: Option<String>,
    /// `data.events[].eventType`, in order.
    pub event_types: Vec<String>,
    /// Who or what each event is about, in order, without repeats, at most three: the
    /// `displayName` of the event's first `User` target, else of its first target, else of its
    /// actor. For inline hooks, the login of the user the hook is about.
    pub target_names: Vec<String>,
    /// `data.events[].uuid`, in order.
    pub uuids: Vec<String>,
}

impl Summary {
    /// True for inline hooks (anything but `com.okta.event_hook`).
    pub fn is_inline(&self) -> bool {
        matches!(&self.hook_type, Some(t) if t != EVENT_HOOK_TYPE)
    }

    /// A one-line description such as `user.lifecycle.deactivate · John Doe`, or for a batch
    /// `user.session.start +2 · A, B`.
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
    if is_bare_log_event(obj) {
        return Some(summarize_bare(&v));
    }
    let hook_type = text(obj.get("eventType"));
    let event_id = envelope_id(obj);
    if hook_type.is_none() && event_id.is_none() {
        return None;
    }
    let mut s = Summary {
        hook_type,
        event_id,
        ..Summary::default()
    };
    for e in events(&v) {
        if let Some(t) = text(e.get("eventType")) {
            s.event_types.push(t);
        }
        if let Some(u) = text(e.get("uuid")) {
            s.uuids.push(u);
        }
        if let Some(n) = event_subject(e) {
            add_name(&mut s.target_names, n);
        }
    }
    if s.is_inline() {
        if let Some(n) = inline_subject(&v) {
            add_name(&mut s.target_names, n);
        }
    }
    Some(s)
}

/// A System Log event posted on its own (e.g. a sample pasted into curl), not in an envelope.
fn is_bare_log_event(obj: &Map<String, Value>) -> bool {
    obj.contains_key("uuid")
        && !obj.contains_key("data")
        && matches!(obj.get("eventType"), Some(Value::String(t)) if !t.starts_with("com.okta."))
}

fn summarize_bare(e: &Value) -> Summary {
    let mut s = Summary::default();
    s.event_types.extend(text(e.get("eventType")));
    s.uuids.extend(text(e.get("uuid")));
    if let Some(n) = event_subject(e) {
        add_name(&mut s.target_names, n);
    }
    s
}

fn envelope_id(obj: &Map<String, Value>) -> Option<String> {
    text(obj.get("eventId").or_else(|| obj.get("eventID")))
}

/// `data.events[]`; a lone object counts as a batch of one.
fn events(v: &Value) -> impl Iterator<Item = &Value> {
    let events: &[Value] = match v.pointer("/data/events") {
        Some(Value::Array(a)) => a,
        Some(one @ Value::Object(_)) => std::slice::from_ref(one),
        _ => &[],
    };
    events.iter()
}

fn event_subject(e: &Value) -> Option<String> {
    let targets: &[Value] = e.get("target").and_then(Value::as_array).map_or(&[], |t| t);
    let user = targets
        .iter()
        .find(|t| t.get("type").and_then(Value::as_str) == Some("User"));
    // Sign-in and MFA events (`user.session.*`, `user.authentication.*`) target credentials or
    // apps; the person they are about is the actor.
    let about_actor = user.is_none()
        && e.get("eventType").and_then(Value::as_str).is_some_and(|t| {
            t.starts_with("user.session.") || t.starts_with("user.authentication.")
        });
    let actor = || e.get("actor").and_then(|a| text(a.get("displayName")));
    if about_actor {
        if let Some(name) = actor() {
            return Some(name);
        }
    }
    user.or(targets.first())
        .and_then(|t| text(t.get("displayName")))
        .or_else(actor)
}

/// The user an inline hook is about, wherever that hook type keeps it.
fn inline_subject(v: &Value) -> Option<String> {
    const PATHS: &[&str] = &[
        "/data/context/user/profile/login",
        "/data/userProfile/login",
        "/data/context/credential/username",
        "/data/appUser/profile/email",
        "/data/user/profile/login",
        "/data/messageProfile/phoneNumber",
    ];
    PATHS.iter().find_map(|p| text(v.pointer(p)))
}

fn add_name(names: &mut Vec<String>, name: String) {
    if names.len() < MAX_NAMES && !name.is_empty() && !names.contains(&name) {
        names.push(name);
    }
}

/// A string as is, a number as written, anything else as nothing.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
