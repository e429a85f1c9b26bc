//! One source's log: its segment files, the in-memory index of where each retained event
//! lies, appending, reading back and dropping what retention removed.

use super::record;
use crate::store::StoredEvent;
use bytes::Bytes;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// A segment is closed and a new one started past this size, so retention can delete whole
/// files.
pub(super) const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;

/// Where one event lies. Its sequence and segment are not stored: the index holds consecutive
/// sequences, and a segment is named by its first one (24 bytes instead of 40 per retained
/// event; a relay retaining 250,000 events kept 10 MB of these).
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    pub offset: u64,
    pub received_at_ms: u64,
    pub len: u32,
    pub body_len: u32,
}

/// A segment file.
#[derive(Clone, Debug)]
pub(super) struct Segment {
    pub first_seq: u64,
    pub len: u64,
}

#[derive(Default)]
pub(super) struct Index {
    pub segments: Vec<Segment>,
    /// Sequence of the first entry (meaningless while there is none).
    first_seq: u64,
    /// Retained events, consecutive sequences in order from `first_seq`.
    entries: VecDeque<Entry>,
    /// Body bytes of the retained events.
    pub body_bytes: u64,
}

impl Index {
    /// Adds the event `seq`, which follows the newest one (any sequence when there is none).
    pub(super) fn push(&mut self, seq: u64, entry: Entry) {
        match self.newest() {
            None => self.first_seq = seq,
            Some(last) => debug_assert_eq!(seq, last + 1, "the index holds consecutive sequences"),
        }
        self.body_bytes += u64::from(entry.body_len);
        self.entries.push_back(entry);
    }

    fn oldest(&self) -> Option<u64> {
        (!self.entries.is_empty()).then_some(self.first_seq)
    }

    fn newest(&self) -> Option<u64> {
        (!self.entries.is_empty()).then(|| self.first_seq + self.entries.len() as u64 - 1)
    }

    fn pop_front(&mut self) -> Option<Entry> {
        let e = self.entries.pop_front()?;
        self.first_seq += 1;
        self.body_bytes -= u64::from(e.body_len);
        Some(e)
    }

    /// The first sequence of the segment holding event `seq`: the newest segment starting at
    /// or before it.
    fn segment_of(&self, seq: u64) -> u64 {
        let i = self.segments.partition_point(|s| s.first_seq <= seq);
        self.segments[i.saturating_sub(1)].first_seq
    }
}

/// The segment being appended to.
struct Active {
    file: Arc<File>,
    first_seq: u64,
    len: u64,
}

/// One source's log.
pub(super) struct SourceLog {
    dir: PathBuf,
    index: RwLock<Index>,
    active: Mutex<Option<Active>>,
}

/// A segment's file name: its first sequence, zero-padded so names sort like numbers.
pub(super) fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.log")
}

impl SourceLog {
    pub(super) fn new(dir: PathBuf, index: Index) -> Self {
        SourceLog {
            dir,
            index: RwLock::new(index),
            active: Mutex::new(None),
        }
    }

    fn path(&self, first_seq: u64) -> PathBuf {
        self.dir.join(segment_name(first_seq))
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends encoded records (`records` holds them back to back; `events` says what each
    /// is). Returns the file written, for a later flush to disk. On failure nothing is
    /// indexed and the file is cut back to where it was, so no torn record stays in the log.
    pub(super) fn append(
        &self,
        records: &[u8],
        events: &[(&StoredEvent, usize)],
        durable: bool,
    ) -> io::Result<Arc<File>> {
        let Some(&(first, _)) = events.first() else {
            return Err(io::Error::other("nothing to append"));
        };
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if active.as_ref().is_none_or(|a| a.len >= SEGMENT_BYTES) {
            if let Some(old) = active.take() {
                // The segment is complete: make it durable before the next one starts, so a
                // torn record can only ever be at the end of the newest segment.
                old.file.sync_data()?;
            }
            *active = Some(self.open_active(first.seq, durable)?);
        }
        let a = active.as_mut().expect("opened above");
        if let Err(e) = a.file.as_ref().write_all(records) {
            let _ = a.file.set_len(a.len);
            return Err(e);
        }
        if durable {
            if let Err(e) = a.file.sync_data() {
                let _ = a.file.set_len(a.len);
                return Err(e);
            }
        }
        let (segment, start) = (a.first_seq, a.len);
        a.len += records.len() as u64;
        let mut index = self.write_index();
        match index.segments.last_mut() {
            Some(s) if s.first_seq == segment => s.len = a.len,
            _ => index.segments.push(Segment {
                first_seq: segment,
                len: a.len,
            }),
        }
        let mut offset = start;
        for (ev, len) in events {
            let entry = Entry {
                offset,
                received_at_ms: ev.received_at_ms,
                len: *len as u32,
                body_len: ev.request.body.len() as u32,
            };
            index.push(ev.seq, entry);
            offset += *len as u64;
        }
        Ok(a.file.clone())
    }

    /// Opens the newest segment for appending, or starts one at `next_seq` when there is none
    /// or it is full.
    fn open_active(&self, next_seq: u64, durable: bool) -> io::Result<Active> {
        let last = self.read_index().segments.last().cloned();
        if let Some(seg) = last.filter(|s| s.len < SEGMENT_BYTES) {
            let file = OpenOptions::new()
                .append(true)
                .open(self.path(seg.first_seq))?;
            return Ok(Active {
                file: Arc::new(file),
                first_seq: seg.first_seq,
                len: seg.len,
            });
        }
        std::fs::create_dir_all(&self.dir)?;
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(self.path(next_seq))?;
        if durable {
            File::open(&self.dir)?.sync_all()?;
        }
        Ok(Active {
            file: Arc::new(file),
            first_seq: next_seq,
            len: 0,
        })
    }

    /// Closes the append handle (it is opened again on the next append).
    pub(super) fn close(&self) {
        *self.active.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Up to `limit` retained events with sequence > `after`, read from the segment files.
    pub(super) fn read_after(&self, after: u64, limit: usize) -> io::Result<Vec<StoredEvent>> {
        // (segment, entry) of each event wanted, in sequence order.
        let wanted: Vec<(u64, Entry)> = {
            let index = self.read_index();
            let Some(oldest) = index.oldest() else {
                return Ok(Vec::new());
            };
            let from = (after + 1).max(oldest);
            let skip = (from - oldest) as usize;
            index
                .entries
                .iter()
                .skip(skip)
                .take(limit)
                .zip(from..)
                .map(|(e, seq)| (index.segment_of(seq), *e))
                .collect()
        };
        let mut out = Vec::with_capacity(wanted.len());
        for run in wanted.chunk_by(|a, b| a.0 == b.0) {
            let (segment, first, last) = (run[0].0, run[0].1, run[run.len() - 1].1);
            let start = first.offset;
            let end = last.offset + u64::from(last.len);
            let mut buf = vec![0; (end - start) as usize];
            let file = match File::open(self.path(segment)) {
                Ok(f) => f,
                // Retention deleted the segment meanwhile: those events are gone.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            file.read_exact_at(&mut buf, start)?;
            let buf = Bytes::from(buf);
            for (_, e) in run {
                let at = (e.offset - start) as usize;
                let ev = record::decode(&buf.slice(at..at + e.len as usize)).map_err(|bad| {
                    io::Error::other(format!(
                        "{} at byte {}: {bad:?}",
                        self.path(segment).display(),
                        e.offset
                    ))
                })?;
                out.push(ev);
            }
        }
        Ok(out)
    }

    /// The first retained sequence received at or after `ms` (times rise with sequence, as
    /// events are logged in arrival order).
    pub(super) fn first_at_or_after(&self, ms: u64) -> Option<u64> {
        let index = self.read_index();
        let i = index.entries.partition_point(|e| e.received_at_ms < ms);
        (i < index.entries.len()).then(|| index.first_seq + i as u64)
    }

    /// The oldest retained sequence.
    pub(super) fn oldest(&self) -> Option<u64> {
        self.read_index().oldest()
    }

    /// The newest sequence in the log.
    pub(super) fn newest(&self) -> Option<u64> {
        self.read_index().newest()
    }

    /// Retained events and their body bytes.
    pub(super) fn stats(&self) -> (u64, u64) {
        let index = self.read_index();
        (index.entries.len() as u64, index.body_bytes)
    }

    /// Bytes of segment files.
    pub(super) fn disk_bytes(&self) -> u64 {
        self.read_index().segments.iter().map(|s| s.len).sum()
    }

    /// The lowest sequence to keep so that at most `max_bytes` of bodies remain.
    pub(super) fn floor_for_bytes(&self, max_bytes: u64) -> Option<u64> {
        let index = self.read_index();
        if index.body_bytes <= max_bytes {
            return None;
        }
        let mut kept = 0u64;
        for (i, e) in index.entries.iter().enumerate().rev() {
            kept += u64::from(e.body_len);
            if kept > max_bytes {
                return Some(index.first_seq + i as u64 + 1);
            }
        }
        None
    }

    /// Forgets events below `floor` and deletes the segment files holding nothing else (never
    /// the newest, which appends go to). Returns how many events were dropped.
    pub(super) fn drop_below(&self, floor: u64) -> io::Result<u64> {
        let (dropped, doomed) = {
            let mut index = self.write_index();
            let mut dropped = 0;
            while index.oldest().is_some_and(|seq| seq < floor) {
                index.pop_front();
                dropped += 1;
            }
            // Segment i holds sequences up to segment i+1's first one, exclusive.
            let keep_from = index
                .segments
                .windows(2)
                .position(|w| w[1].first_seq > floor)
                .unwrap_or(index.segments.len().saturating_sub(1));
            let doomed: Vec<u64> = index
                .segments
                .drain(..keep_from)
                .map(|s| s.first_seq)
                .collect();
            (dropped, doomed)
        };
        for first_seq in doomed {
            match std::fs::remove_file(self.path(first_seq)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(dropped)
    }
}
