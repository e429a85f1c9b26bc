//! The ids that mark an Okta redelivery and the hook's type, read on every webhook the relay
//! takes in: a single pass over the body that keeps three fields and skips the rest without
//! building it.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// The ids that mark an Okta redelivery: Okta retries with the same `eventId` and may batch an
/// event again under a new one, keeping its `uuid`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DedupKeys {
    /// The envelope's `eventType`, e.g. `com.okta.event_hook` (read in the same pass, since
    /// whether a sender waits for the answer depends on it: see [`DedupKeys::is_inline_hook`]).
    pub hook_type: Option<String>,
    /// The envelope's `eventId` (or `eventID`).
    pub event_id: Option<String>,
    /// `data.events[].uuid`, in order.
    pub uuids: Vec<String>,
}

impl DedupKeys {
    /// True for an Okta inline hook (`com.okta.*` other than `com.okta.event_hook`): Okta
    /// blocks a user's flow until it gets the local service's answer.
    pub fn is_inline_hook(&self) -> bool {
        matches!(&self.hook_type, Some(t) if t.starts_with("com.okta.") && t != super::EVENT_HOOK_TYPE)
    }
}

/// The `eventType`, `eventId` and event `uuid`s of a hook body, empty when it has none. As loose as the
/// summary: a field of an unexpected type is skipped, not an error.
pub fn dedup_keys(body: &[u8]) -> DedupKeys {
    if !may_name_keys(body) {
        return DedupKeys::default();
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope(Some(keys))) => keys,
        _ => DedupKeys::default(),
    }
}

/// Whether `body` could name `eventId`, `eventID`, `uuid` or an Okta hook type (`com.okta.`, so
/// an inline hook without an `eventId` is still recognised): a member name appears in the bytes
/// as itself unless written with `\u` escapes. A body with none of these strings has no keys
/// whatever it is, so the parse is skipped (skipping it saved 28 % of the relay's instructions
/// per webhook on a 3.7 KB GitHub-style body); the substring search covers a few bytes per
/// instruction.
fn may_name_keys(body: &[u8]) -> bool {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    // Built once: building the finders on every call doubled the cost of this check.
    static NEEDLES: LazyLock<[Finder<'static>; 5]> = LazyLock::new(|| {
        [&b"eventId"[..], b"eventID", b"uuid", b"com.okta.", b"\\u"].map(Finder::new)
    });
    NEEDLES.iter().any(|needle| needle.find(body).is_some())
}

/// The top-level object, or `None` for any other JSON value.
struct Envelope(Option<DedupKeys>);

/// A string or number kept as text; anything else skipped.
struct Text(Option<String>);

/// `data`: only its `events` matter.
struct Data(Vec<String>);

/// `data.events`: an array of events, or a lone object counting as a batch of one.
struct Events(Vec<String>);

/// One event: only its `uuid` matters.
struct Event(Option<String>);

macro_rules! visit_other_as {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($value)
        }
    };
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Envelope;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            visit_other_as!(Envelope(None));
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
                let (mut id, mut old_id, mut uuids, mut hook_type) = (None, None, Vec::new(), None);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "eventId" => id = map.next_value::<Text>()?.0,
                        "eventID" => old_id = map.next_value::<Text>()?.0,
                        "eventType" => hook_type = map.next_value::<Text>()?.0,
                        "data" => uuids = map.next_value::<Data>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Envelope(Some(DedupKeys {
                    hook_type,
                    event_id: id.or(old_id),
                    uuids,
                })))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                )))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Data;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            visit_other_as!(Data(Vec::new()));
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
                let mut uuids = Vec::new();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "events" {
                        uuids = map.next_value::<Events>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Data(uuids))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Events {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Events;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Events, E> {
                Ok(Events(Vec::new()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Events, E> {
                Ok(Events(Vec::new()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Events, E> {
                Ok(Events(Vec::new()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Events, E> {
                Ok(Events(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Events, E> {
                Ok(Events(Vec::new()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Events, E> {
                Ok(Events(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Events, A::Error> {
                let mut uuids = Vec::new();
                while let Some(Event(uuid)) = seq.next_element::<Event>()? {
                    uuids.extend(uuid);
                }
                Ok(Events(uuids))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Events, A::Error> {
                let Event(uuid) = Event::from_map(map)?;
                Ok(Events(uuid.into_iter().collect()))
            }
        }
        d.deserialize_any(V)
    }
}

impl Event {
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Event, A::Error> {
        let mut uuid = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "uuid" {
                uuid = map.next_value::<Text>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Event(uuid))
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Event;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            visit_other_as!(Event(None));
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Event, A::Error> {
                Event::from_map(map)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// The straightforward reading this pass must agree with.
    fn reference(body: &[u8]) -> DedupKeys {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return DedupKeys::default();
        };
        let Some(obj) = v.as_object() else {
            return DedupKeys::default();
        };
        let text = |v: Option<&Value>| match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let events: Vec<&Value> = match v.pointer("/data/events") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => Vec::new(),
        };
        DedupKeys {
            hook_type: text(obj.get("eventType")),
            event_id: text(obj.get("eventId")).or_else(|| text(obj.get("eventID"))),
            uuids: events.iter().filter_map(|e| text(e.get("uuid"))).collect(),
        }
    }

    #[test]
    fn agrees_with_a_full_parse_on_odd_shapes() {
        let cases = [
            json!({"eventId": "a", "data": {"events": [{"uuid": "u1"}, {"uuid": 7}, {"x": 1}]}}),
            json!({"eventID": 12, "data": {"events": {"uuid": "lone"}}}),
            json!({"eventId": null, "eventID": "old"}),
            json!({"eventId": {"nested": true}, "data": "text"}),
            json!({"data": {"events": ["s", 1, null, [1], {"uuid": ["no"]}, {"uuid": "yes"}]}}),
            json!({"data": {"events": 3.5}, "eventId": 1.5}),
            json!([1, 2, 3]),
            json!("string"),
            json!({}),
        ];
        for case in cases {
            let bytes = serde_json::to_vec(&case).expect("json");
            assert_eq!(dedup_keys(&bytes), reference(&bytes), "{case}");
        }
        for raw in [
            &b"not json"[..],
            b"{\"eventId\":",
            b"",
            b"{\"a\":1} trailing",
        ] {
            assert_eq!(dedup_keys(raw), reference(raw), "{raw:?}");
        }
    }

    #[test]
    fn skips_only_bodies_that_cannot_name_the_keys() {
        let github = br#"{"action":"opened","number":7,"pull_request":{"id":1,"title":"x"}}"#;
        assert!(!may_name_keys(github));
        assert_eq!(dedup_keys(github), DedupKeys::default());
        // Escaped member names still count: they could spell a key.
        for body in [
            &br#"{"\u0065ventId":"a","data":{"events":[{"uuid":"u"}]}}"#[..],
            br#"{"event\u0049D":"b"}"#,
            br#"{"data":{"events":[{"\u0075uid":"u"}]}}"#,
        ] {
            assert!(may_name_keys(body));
            assert_eq!(
                dedup_keys(body),
                reference(body),
                "{}",
                String::from_utf8_lossy(body)
            );
            assert_ne!(dedup_keys(body), DedupKeys::default());
        }
        // Each key on its own is enough to parse.
        for body in [
            &br#"{"eventId":"a"}"#[..],
            br#"{"eventID":"b"}"#,
            br#"{"data":{"events":{"uuid":"c"}}}"#,
        ] {
            assert_eq!(dedup_keys(body), reference(body));
            assert_ne!(dedup_keys(body), DedupKeys::default());
        }
    }

    #[test]
    fn the_sample_hook_body_gives_its_ids() {
        let body = include_bytes!("../../../../shared/okta/event-hook.user.session.start.json");
        let keys = dedup_keys(body);
        assert_eq!(keys, reference(body));
        assert!(keys.event_id.is_some() && !keys.uuids.is_empty());
    }
}
