//! Okta hook bodies: a one-line summary, the ids Okta redeliveries share, and checks of replies.
//!
//! Parsing is loose on purpose: the bytes are forwarded untouched whatever this makes of them,
//! so every function here accepts any bytes and never panics.

mod dedup;

pub use dedup::{dedup_keys, DedupKeys};
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

/// The exact body Okta expects back from a verification GET: `{"verification":"<challenge>"}`.
pub fn verification_response(challenge: &str) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("verification".into(), Value::String(challenge.into()));
    serde_json::to_vec(&Value::Object(m)).expect("a map of strings always serialises")
}

/// Checks an answer to a verification GET the way Okta does: `200`, `application/json` and
/// exactly `{"verification": challenge}`. The error says what Okta would reject.
pub fn check_verification_response(
    challenge: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(), String> {
    if status != 200 {
        return Err(format!("status {status}; Okta needs 200"));
    }
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json") => {}
        Some(other) => {
            return Err(format!(
                "content-type {other:?}; Okta needs application/json"
            ))
        }
        None => return Err("no content-type; Okta needs application/json".into()),
    }
    let expected = String::from_utf8_lossy(&verification_response(challenge)).into_owned();
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "body is not JSON ({e}): {}; Okta needs {expected}",
            preview(body)
        )
    })?;
    let Some(obj) = v.as_object() else {
        return Err(format!(
            "body is not a JSON object: {}; Okta needs {expected}",
            preview(body)
        ));
    };
    match obj.get("verification") {
        Some(Value::String(s)) if s == challenge => {}
        Some(Value::String(s)) => {
            return Err(format!(
                "wrong challenge: got {s:?}, sent {challenge:?}; Okta needs {expected}"
            ))
        }
        Some(_) => {
            return Err(format!(
                "\"verification\" is not a string; Okta needs {expected}"
            ))
        }
        None => {
            return Err(format!(
                "no \"verification\" key in {}; Okta needs {expected}",
                preview(body)
            ))
        }
    }
    if obj.len() != 1 {
        let extra: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "verification")
            .collect();
        return Err(format!(
            "unexpected keys {extra:?}; Okta needs exactly {expected}"
        ));
    }
    Ok(())
}

/// Readable warnings when a local reply to an inline hook does not fit the shape Okta accepts:
/// a JSON object under 256 KB with `commands[]` of `{type, value}`, and optionally `error` and
/// `debugContext`. An empty body (a `204`) is fine. No warnings means the shape fits.
pub fn check_inline_response(body: &[u8]) -> Vec<String> {
    let mut w = Vec::new();
    if body.iter().all(u8::is_ascii_whitespace) {
        return w;
    }
    if body.len() >= MAX_INLINE_RESPONSE_BYTES {
        w.push(format!(
            "reply is {} bytes; Okta ignores replies of 256 KB or more",
            body.len()
        ));
    }
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            w.push(format!("reply is not JSON ({e}): {}", preview(body)));
            return w;
        }
    };
    let Some(obj) = v.as_object() else {
        w.push(format!(
            "reply is JSON {} but Okta needs an object with \"commands\"",
            kind(&v)
        ));
        return w;
    };
    for key in obj.keys() {
        if !matches!(key.as_str(), "commands" | "error" | "debugContext") {
            w.push(format!(
                "unknown top-level key {key:?}; Okta reads only commands, error and debugContext"
            ));
        }
    }
    match obj.get("commands") {
        None if !obj.contains_key("error") => {
            w.push("no \"commands\" and no \"error\": Okta will change nothing".into())
        }
        None => {}
        Some(Value::Array(cmds)) => {
            for (i, c) in cmds.iter().enumerate() {
                check_command(i, c, &mut w);
            }
        }
        Some(other) => w.push(format!("\"commands\" is {}, not an array", kind(other))),
    }
    match obj.get("error") {
        None | Some(Value::Null) => {}
        Some(Value::Object(e)) => {
            if !matches!(e.get("errorSummary"), Some(Value::String(_)) | None) {
                w.push("\"error.errorSummary\" is not a string".into());
            }
            if !matches!(e.get("errorCauses"), Some(Value::Array(_)) | None) {
                w.push("\"error.errorCauses\" is not an array".into());
            }
        }
        Some(other) => w.push(format!("\"error\" is {}, not an object", kind(other))),
    }
    match obj.get("debugContext") {
        None | Some(Value::Object(_)) => {}
        Some(other) => w.push(format!(
            "\"debugContext\" is {}, not an object",
            kind(other)
        )),
    }
    w
}

/// Command types inline hook replies may carry.
const COMMAND_TYPES: &[&str] = &[
    "com.okta.identity.patch",
    "com.okta.access.patch",
    "com.okta.assertion.patch",
    "com.okta.user.profile.update",
    "com.okta.user.progressive.profile.update",
    "com.okta.appUser.profile.update",
    "com.okta.user.update",
    "com.okta.action.update",
    "com.okta.telephony.action",
];

fn check_command(i: usize, c: &Value, w: &mut Vec<String>) {
    let Some(cmd) = c.as_object() else {
        w.push(format!("commands[{i}] is {}, not an object", kind(c)));
        return;
    };
    let ty = match cmd.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(other) => {
            w.push(format!(
                "commands[{i}].type is {}, not a string",
                kind(other)
            ));
            ""
        }
        None => {
            w.push(format!("commands[{i}] has no \"type\""));
            ""
        }
    };
    if !ty.is_empty() && !COMMAND_TYPES.contains(&ty) {
        w.push(format!(
            "commands[{i}].type {ty:?} is not a command type Okta knows"
        ));
    }
    let Some(value) = cmd.get("value") else {
        w.push(format!("commands[{i}] has no \"value\""));
        return;
    };
    if ty.ends_with(".patch") {
        let Some(ops) = value.as_array() else {
            w.push(format!(
                "commands[{i}].value of a {ty} is {}, not an array of patch operations",
                kind(value)
            ));
            return;
        };
        for (j, op) in ops.iter().enumerate() {
            match op.get("op").and_then(Value::as_str) {
                Some("add" | "replace" | "remove") => {}
                Some(other) => w.push(format!(
                    "commands[{i}].value[{j}].op {other:?} is not add, replace or remove"
                )),
                None => w.push(format!("commands[{i}].value[{j}] has no \"op\"")),
            }
            if op.get("path").and_then(Value::as_str).is_none() {
                w.push(format!("commands[{i}].value[{j}] has no \"path\""));
            }
        }
    }
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

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The start of a body, as text, for error messages.
fn preview(body: &[u8]) -> String {
    const MAX: usize = 80;
    let s = String::from_utf8_lossy(&body[..body.len().min(MAX)]).into_owned();
    if body.len() > MAX {
        format!("{s:?}…")
    } else {
        format!("{s:?}")
    }
}
