//! `Blob`: bytes on the wire. The one place where bytes are encoded for JSON.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Bytes that travel in a JSON frame: a body or a header value.
///
/// Valid UTF-8 is written as a plain JSON string, which keeps frames readable and avoids base64's
/// third more for the common JSON body; anything else is written as `{"b64": "..."}`. Decoding
/// accepts both, so the bytes that arrive are exactly the bytes that were sent.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Blob(pub Bytes);

impl Blob {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes as text, if they are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The bytes as text, with invalid sequences replaced, for display.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) if s.len() <= 64 => write!(f, "{s:?}"),
            Some(s) => write!(
                f,
                "{:?}… ({} bytes)",
                &s[..s.floor_char_boundary(64)],
                s.len()
            ),
            None => write!(f, "<{} binary bytes>", self.0.len()),
        }
    }
}

impl From<Bytes> for Blob {
    fn from(b: Bytes) -> Self {
        Blob(b)
    }
}
impl From<Vec<u8>> for Blob {
    fn from(b: Vec<u8>) -> Self {
        Blob(Bytes::from(b))
    }
}
impl From<&str> for Blob {
    fn from(s: &str) -> Self {
        Blob(Bytes::copy_from_slice(s.as_bytes()))
    }
}
impl From<String> for Blob {
    fn from(s: String) -> Self {
        Blob(Bytes::from(s))
    }
}
impl From<&[u8]> for Blob {
    fn from(b: &[u8]) -> Self {
        Blob(Bytes::copy_from_slice(b))
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.as_str() {
            Some(text) => s.serialize_str(text),
            None => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("b64", &STANDARD.encode(&self.0))?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BlobVisitor;
        impl<'de> Visitor<'de> for BlobVisitor {
            type Value = Blob;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or {\"b64\": \"...\"}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Blob, E> {
                Ok(Blob::from(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Blob, E> {
                Ok(Blob::from(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Blob, A::Error> {
                let mut out = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key != "b64" {
                        return Err(de::Error::unknown_field(&key, &["b64"]));
                    }
                    let text: std::borrow::Cow<'de, str> = map.next_value()?;
                    let bytes = STANDARD
                        .decode(text.as_bytes())
                        .map_err(|e| de::Error::custom(format!("invalid base64: {e}")))?;
                    out = Some(Blob::from(bytes));
                }
                out.ok_or_else(|| de::Error::missing_field("b64"))
            }
        }
        d.deserialize_any(BlobVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_a_plain_string() {
        let json = serde_json::to_string(&Blob::from("héllo")).expect("serialize");
        assert_eq!(json, r#""héllo""#);
        assert_eq!(
            serde_json::from_str::<Blob>(&json).expect("parse"),
            Blob::from("héllo")
        );
    }

    #[test]
    fn binary_round_trips_as_base64() {
        let raw: Vec<u8> = (0..=255u8).collect();
        let json = serde_json::to_string(&Blob::from(raw.clone())).expect("serialize");
        assert!(json.starts_with(r#"{"b64":""#), "{json}");
        let back: Blob = serde_json::from_str(&json).expect("parse");
        assert_eq!(back.as_bytes(), &raw[..]);
    }

    #[test]
    fn rejects_bad_base64_and_unknown_keys() {
        assert!(serde_json::from_str::<Blob>(r#"{"b64":"!!"}"#).is_err());
        assert!(serde_json::from_str::<Blob>(r#"{"hex":"00"}"#).is_err());
        assert!(serde_json::from_str::<Blob>("42").is_err());
    }
}
