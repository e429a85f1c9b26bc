//! One event as it lies in a segment file: a fixed header that recovery reads without parsing
//! anything else, the event's dedup keys, and the event's wire frame (so reading an event back
//! is the same decode an agent does).
//!
//! Layout (little-endian): `len: u32` (bytes after the checksum), `crc: u32` (CRC-32 of those
//! bytes), `seq: u64`, `received_at_ms: u64`, `body_len: u32`, `keys_len: u32`, `keys`
//! (UTF-8, see `dedup::keys_of`), then the frame from [`shared::frame::encode_event`].

use crate::store::StoredEvent;
use bytes::Bytes;

/// Bytes before the payload: `len` and `crc`.
pub(super) const PREFIX: usize = 8;
/// Fixed payload fields before the keys: `seq`, `received_at_ms`, `body_len`, `keys_len`.
const FIXED: usize = 24;
/// Largest payload accepted when reading (a maximal body and its head fit far below this).
pub(super) const MAX_PAYLOAD: usize = 256 * 1024 * 1024;

/// Where the parts of one encoded record lie, relative to the record's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    /// The whole record.
    pub len: usize,
    /// Where its wire frame starts (it runs to the end of the record).
    pub frame_at: usize,
    /// Where the body starts (it runs to the end of the record).
    pub body_at: usize,
}

/// Appends the record of `ev` to `out`.
pub(super) fn encode(out: &mut Vec<u8>, ev: &StoredEvent, keys: Option<&str>) -> Span {
    let start = out.len();
    let keys = keys.unwrap_or("");
    out.extend_from_slice(&[0; PREFIX]);
    out.extend_from_slice(&ev.seq.to_le_bytes());
    out.extend_from_slice(&ev.received_at_ms.to_le_bytes());
    out.extend_from_slice(&(ev.request.body.len() as u32).to_le_bytes());
    out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
    out.extend_from_slice(keys.as_bytes());
    shared::frame::encode_event_into(out, ev);
    let payload = start + PREFIX;
    let len = u32::try_from(out.len() - payload).expect("an event is far below 4 GiB");
    let crc = crc32fast::hash(&out[payload..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..payload].copy_from_slice(&crc.to_le_bytes());
    let len = out.len() - start;
    Span {
        len,
        frame_at: PREFIX + FIXED + keys.len(),
        body_at: len - ev.request.body.len(),
    }
}

/// What recovery learns from a record without decoding its frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Summary {
    pub seq: u64,
    pub received_at_ms: u64,
    pub body_len: u32,
    pub keys: Option<String>,
    /// Whole record length, prefix included.
    pub len: usize,
}

/// Why bytes are not a record.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Bad {
    /// The bytes end before the record does (a write cut short).
    Short,
    /// The record is damaged.
    Corrupt(&'static str),
}

/// Reads the record at the start of `buf`.
#[cfg(test)]
pub(super) fn summarize(buf: &[u8]) -> Result<Summary, Bad> {
    let mut chunk = Vec::new();
    scan(&mut &buf[..], &mut chunk).expect("reading a slice cannot fail")
}

/// Bytes of a record's frame checksummed at a time while scanning.
const SCAN_CHUNK: usize = 64 * 1024;

/// Reads the next record from `from` and checks it, holding at most [`SCAN_CHUNK`] bytes of
/// it at once (`chunk` is reused between calls): recovery reads every retained event, and
/// reading a whole segment into memory would leave the relay tens of megabytes bigger after a
/// restart. The outer error is a failed read; the inner one what is wrong with the record.
pub(super) fn scan(
    from: &mut impl std::io::Read,
    chunk: &mut Vec<u8>,
) -> std::io::Result<Result<Summary, Bad>> {
    let mut prefix = [0u8; PREFIX];
    if !read_all(from, &mut prefix)? {
        return Ok(Err(Bad::Short));
    }
    let len = u32::from_le_bytes(prefix[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(prefix[4..8].try_into().expect("4 bytes"));
    if len > MAX_PAYLOAD {
        return Ok(Err(Bad::Corrupt("record length is implausible")));
    }
    let mut hasher = crc32fast::Hasher::new();
    let mut fixed = [0u8; FIXED];
    let head = &mut fixed[..len.min(FIXED)];
    if !read_all(from, head)? {
        return Ok(Err(Bad::Short));
    }
    hasher.update(head);
    let keys_len = u32::from_le_bytes(fixed[20..24].try_into().expect("4 bytes")) as usize;
    let rest = len.saturating_sub(FIXED);
    let mut keys = vec![0u8; keys_len.min(rest)];
    if !read_all(from, &mut keys)? {
        return Ok(Err(Bad::Short));
    }
    hasher.update(&keys);
    let mut left = rest - keys.len();
    chunk.resize(SCAN_CHUNK.min(left.max(1)), 0);
    while left > 0 {
        let part = &mut chunk[..SCAN_CHUNK.min(left)];
        if !read_all(from, part)? {
            return Ok(Err(Bad::Short));
        }
        hasher.update(part);
        left -= part.len();
    }
    if hasher.finalize() != crc {
        return Ok(Err(Bad::Corrupt("checksum mismatch")));
    }
    if len < FIXED {
        return Ok(Err(Bad::Corrupt("record shorter than its fixed fields")));
    }
    if keys_len > rest {
        return Ok(Err(Bad::Corrupt("dedup keys run past the record")));
    }
    let keys = String::from_utf8(keys).map_err(|_| Bad::Corrupt("dedup keys are not UTF-8"));
    let keys = match keys {
        Ok(k) => k,
        Err(bad) => return Ok(Err(bad)),
    };
    Ok(Ok(Summary {
        seq: u64::from_le_bytes(fixed[0..8].try_into().expect("8 bytes")),
        received_at_ms: u64::from_le_bytes(fixed[8..16].try_into().expect("8 bytes")),
        body_len: u32::from_le_bytes(fixed[16..20].try_into().expect("4 bytes")),
        keys: (!keys.is_empty()).then_some(keys),
        len: PREFIX + len,
    }))
}

/// Fills `buf`; false when the input ends first (a record cut short).
fn read_all(from: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<bool> {
    match from.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Decodes the event of the record at the start of `buf` (a buffer holding exactly whole
/// records); the body is a slice of `buf`, not a copy.
pub(super) fn decode(buf: &Bytes) -> Result<StoredEvent, Bad> {
    let (payload, _) = payload(buf)?;
    let keys_len = u32::from_le_bytes(
        payload
            .get(20..24)
            .ok_or(Bad::Corrupt("record shorter than its fixed fields"))?
            .try_into()
            .expect("4 bytes"),
    ) as usize;
    let frame_at = PREFIX + FIXED + keys_len;
    let frame_end = PREFIX + payload.len();
    if frame_at > frame_end {
        return Err(Bad::Corrupt("dedup keys run past the record"));
    }
    let frame = buf.slice(frame_at..frame_end);
    match shared::frame::decode_relay_binary(frame.clone(), usize::MAX) {
        Ok(shared::RelayMessage::Event(event)) => Ok(StoredEvent::with_frame(event, frame)),
        _ => Err(Bad::Corrupt("the event frame does not decode")),
    }
}

/// The checked payload of the record at the start of `buf`, and the record's whole length.
fn payload(buf: &[u8]) -> Result<(&[u8], usize), Bad> {
    if buf.len() < PREFIX {
        return Err(Bad::Short);
    }
    let len = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
    if len > MAX_PAYLOAD {
        return Err(Bad::Corrupt("record length is implausible"));
    }
    let payload = buf.get(PREFIX..PREFIX + len).ok_or(Bad::Short)?;
    if crc32fast::hash(payload) != crc {
        return Err(Bad::Corrupt("checksum mismatch"));
    }
    Ok((payload, PREFIX + len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{Blob, Event, EventId, Header, HttpRequest};

    fn event(seq: u64, body: &[u8]) -> StoredEvent {
        StoredEvent::new(Event {
            seq,
            proxied: false,
            id: EventId::new(),
            received_at_ms: 1_700_000_000_000 + seq,
            duplicate: seq.is_multiple_of(2),
            request: HttpRequest {
                method: "POST".into(),
                path: "/x".into(),
                query: Some("a=1".into()),
                headers: vec![
                    Header::new("x-dup", "1"),
                    Header::new("x-dup", "2"),
                    Header("x-bin".into(), Blob::from(&b"\xff"[..])),
                ],
                body: Blob::from(body),
            },
        })
    }

    #[test]
    fn a_record_gives_back_its_event_and_summary() {
        let mut buf = Vec::new();
        let a = event(7, b"{\"json\":true}");
        let b = event(8, &[0, 255, 1]);
        let la = encode(&mut buf, &a, Some("eid:e1\nuuid:u1")).len;
        let span = encode(&mut buf, &b, None);
        let lb = span.len;
        assert_eq!(&buf[la + span.body_at..], &[0, 255, 1]);
        assert_eq!(buf.len(), la + lb);
        let s = summarize(&buf).expect("summary");
        assert_eq!(
            s,
            Summary {
                seq: 7,
                received_at_ms: a.received_at_ms,
                body_len: 13,
                keys: Some("eid:e1\nuuid:u1".into()),
                len: la
            }
        );
        let bytes = Bytes::from(buf);
        let back = decode(&bytes.slice(..la)).expect("a");
        assert_eq!(back, a);
        assert_eq!(back.frame(), a.frame(), "the frame is the one logged");
        assert_eq!(decode(&bytes.slice(la..)).expect("b"), b);
        assert_eq!(summarize(&bytes[la..]).expect("b").keys, None);
    }

    #[test]
    fn cut_or_damaged_records_are_told_apart() {
        let mut buf = Vec::new();
        let len = encode(&mut buf, &event(1, b"body"), None).len;
        for cut in [0, 3, PREFIX, len - 1] {
            assert_eq!(summarize(&buf[..cut]), Err(Bad::Short), "cut at {cut}");
        }
        let mut flipped = buf.clone();
        flipped[len - 2] ^= 1;
        assert_eq!(summarize(&flipped), Err(Bad::Corrupt("checksum mismatch")));
        let mut huge = buf.clone();
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(summarize(&huge), Err(Bad::Corrupt(_))));
        assert!(decode(&Bytes::from(flipped)).is_err());
    }
}
