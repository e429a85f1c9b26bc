//! Routes (`--route PATTERN=TARGET`) and filters (`--filter EXPR`): which events go where, and
//! which are not delivered at all. Parsed before connecting, so bad syntax fails fast.
//!
//! A delivery can carry several Okta events (an event hook batch). A route matches it only
//! when *every* event type in it matches the pattern, so a mixed batch never lands on a
//! handler that expects one kind; it falls to the next route, then the default target.
//! A filter on `type` passes a batch when *any* of its types matches.

use crate::okta_kit::InlineKind;
use crate::target::Target;
use anyhow::{bail, Context};
use shared::okta::Summary;
use shared::HttpRequest;

/// Where events that match a pattern go; first match wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The argument as given, for display.
    pub spec: String,
    pattern: Pattern,
    /// Where matching events are delivered.
    pub target: Target,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// Every event type in the delivery matches the glob.
    EventType(String),
    /// The Okta inline hook whose `eventType` this is.
    Inline(String),
    /// The sender's path suffix (after `/h/SOURCE`) matches the glob.
    Path(String),
    /// The event came to this source (an agent listening on several).
    Source(String),
}

impl Route {
    /// Parses `PATTERN=TARGET`; `default` is the listen target (a `/path` target keeps its
    /// origin).
    pub fn parse(spec: &str, default: &Target) -> anyhow::Result<Route> {
        let bad = || format!("--route {spec:?}");
        let (pattern, target) = spec
            .split_once('=')
            .with_context(|| format!("{}: expected PATTERN=TARGET, e.g. user.lifecycle.*=/users, inline:registration=4000/register or /github/*=http://127.0.0.1:5000", bad()))?;
        let (pattern, target) = (pattern.trim(), target.trim());
        if pattern.is_empty() || target.is_empty() {
            bail!("{}: both PATTERN and TARGET are needed", bad());
        }
        let pattern = if let Some(name) = pattern.strip_prefix("source:") {
            shared::sources::validate_name(name).with_context(bad)?;
            Pattern::Source(name.to_string())
        } else if let Some(name) = pattern.strip_prefix("inline:") {
            let kind = InlineKind::ALL
                .into_iter()
                .find(|k| k.name() == name)
                .with_context(|| {
                    let names: Vec<_> = InlineKind::ALL.iter().map(|k| k.name()).collect();
                    format!(
                        "{}: unknown inline hook {name:?}; one of {}",
                        bad(),
                        names.join(", ")
                    )
                })?;
            Pattern::Inline(kind.event_type().to_string())
        } else if pattern.starts_with('/') {
            Pattern::Path(pattern.to_string())
        } else if pattern
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-*".contains(&b))
        {
            Pattern::EventType(pattern.to_string())
        } else {
            bail!("{}: PATTERN must be an event type glob (user.lifecycle.*), inline:NAME, source:NAME or a path (/github/*)", bad());
        };
        let target = parse_target(target, default).with_context(bad)?;
        Ok(Route {
            spec: spec.to_string(),
            pattern,
            target,
        })
    }

    fn matches(&self, source: &str, req: &HttpRequest, summary: Option<&Summary>) -> bool {
        match &self.pattern {
            Pattern::Source(name) => name == source,
            Pattern::Path(glob) => glob_match(glob, &req.path),
            Pattern::Inline(t) => summary.is_some_and(|s| s.hook_type.as_deref() == Some(t)),
            Pattern::EventType(glob) => summary.is_some_and(|s| {
                !s.event_types.is_empty() && s.event_types.iter().all(|t| glob_match(glob, t))
            }),
        }
    }
}

/// `/users` (a path on the listen target), `4000` or `4000/groups` (a local port, with the
/// listen path or this one), or a URL.
fn parse_target(spec: &str, default: &Target) -> anyhow::Result<Target> {
    if spec.starts_with('/') {
        return Target::parse(&default.origin, spec);
    }
    if spec.starts_with(|c: char| c.is_ascii_digit()) {
        let (port, path) = match spec.find('/') {
            Some(i) => (&spec[..i], &spec[i..]),
            None => (spec, default.path.as_str()),
        };
        return Target::parse(port, path);
    }
    Target::parse(spec, &default.path)
}

/// The first route that matches an event of `source`, if any.
pub fn route_for<'a>(routes: &'a [Route], source: &str, req: &HttpRequest) -> Option<&'a Route> {
    if routes.is_empty() {
        return None;
    }
    let summary = shared::okta::summarize(req.body.as_bytes());
    routes
        .iter()
        .find(|r| r.matches(source, req, summary.as_ref()))
}

/// One `--filter`: only events it matches are delivered (all filters must match).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The argument as given, for display.
    pub spec: String,
    field: Field,
    glob: String,
    negate: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    EventType,
    Path,
    Header(String),
    Body(Vec<String>),
}

impl Filter {
    /// Parses `type=GLOB`, `path=GLOB`, `header.NAME=GLOB` or `body.a.b=GLOB` (`!=` negates).
    pub fn parse(spec: &str) -> anyhow::Result<Filter> {
        let usage = "expected type=GLOB, path=GLOB, header.NAME=GLOB or body.FIELD.PATH=GLOB (!= to negate), e.g. type=user.lifecycle.* or body.data.events.outcome.result=SUCCESS";
        let (lhs, glob, negate) = match spec.split_once("!=") {
            Some((l, g)) => (l, g, true),
            None => match spec.split_once('=') {
                Some((l, g)) => (l, g, false),
                None => bail!("--filter {spec:?}: {usage}"),
            },
        };
        let lhs = lhs.trim();
        let field = match lhs {
            "type" => Field::EventType,
            "path" => Field::Path,
            _ => {
                if let Some(name) = lhs.strip_prefix("header.").filter(|n| !n.is_empty()) {
                    Field::Header(name.to_ascii_lowercase())
                } else if let Some(path) = lhs.strip_prefix("body.").filter(|p| !p.is_empty()) {
                    Field::Body(path.split('.').map(str::to_string).collect())
                } else {
                    bail!("--filter {spec:?}: unknown field {lhs:?}; {usage}");
                }
            }
        };
        Ok(Filter {
            spec: spec.to_string(),
            field,
            glob: glob.trim().to_string(),
            negate,
        })
    }

    /// True when the event passes this filter.
    pub fn passes(&self, req: &HttpRequest) -> bool {
        let values: Vec<String> = match &self.field {
            Field::EventType => shared::okta::summarize(req.body.as_bytes())
                .map(|s| s.event_types)
                .unwrap_or_default(),
            Field::Path => vec![req.path.clone()],
            Field::Header(name) => req
                .headers
                .iter()
                .filter(|h| h.name().eq_ignore_ascii_case(name))
                .filter_map(|h| h.1.as_str().map(str::to_string))
                .collect(),
            Field::Body(path) => serde_json::from_slice(req.body.as_bytes())
                .map(|v| json_values(&v, path))
                .unwrap_or_default(),
        };
        values.iter().any(|v| glob_match(&self.glob, v)) != self.negate
    }
}

/// The first filter an event fails, if any.
pub fn failed_filter<'a>(filters: &'a [Filter], req: &HttpRequest) -> Option<&'a Filter> {
    filters.iter().find(|f| !f.passes(req))
}

/// Every scalar at `path`, stepping into each element of the arrays on the way (Okta batches
/// its events in `data.events[]`).
fn json_values(v: &serde_json::Value, path: &[String]) -> Vec<String> {
    use serde_json::Value;
    match (v, path.split_first()) {
        (Value::Array(items), _) => items.iter().flat_map(|i| json_values(i, path)).collect(),
        (Value::Object(map), Some((key, rest))) => map
            .get(key)
            .map(|child| json_values(child, rest))
            .unwrap_or_default(),
        (Value::String(s), None) => vec![s.clone()],
        (Value::Null, None) => vec!["null".into()],
        (Value::Object(_), None) => Vec::new(),
        (scalar, None) => vec![scalar.to_string()],
        (_, Some(_)) => Vec::new(),
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
