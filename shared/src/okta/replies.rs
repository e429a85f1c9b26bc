//! What Okta expects back: the verification answer (built here, once, for the relay and the
//! agent) and the checks of verification answers and inline hook replies the agent makes.

use super::MAX_INLINE_RESPONSE_BYTES;
use serde_json::{Map, Value};

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
