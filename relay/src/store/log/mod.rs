//! The event log: each source's events in append-only segment files under
//! `DATA/log/<source id>/`, each record checksummed, with an in-memory index of where every
//! retained event lies. An append is one `write` of the whole batch — no page images, no
//! second copy at checkpoint time — and is in the OS before the sender's `2xx`; the files
//! reach the disk every second (and before the `2xx` for ack-mode events under the default
//! `--sync full`). After a crash the
//! newest segment is cut back to its last whole record.

pub(crate) mod dedup;
mod record;
mod segments;
mod tail;

use crate::store::StoredEvent;
use bytes::Bytes;
use segments::{Entry, Index, Segment, SourceLog};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
pub(crate) use tail::Tails;

/// Read buffer for recovery, which reads every segment once from start to end.
const SCAN_BUFFER: usize = 256 * 1024;

/// Most append handles kept open at once; a source beyond them reopens its file when it
/// next receives an event.
const MAX_OPEN_WRITERS: usize = 256;

/// What recovery found for one source.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Its newest sequence (0 when it has none).
    pub head: u64,
    /// Dedup keys of its newest events, oldest first.
    pub keys: Vec<String>,
}

/// All sources' logs.
pub struct EventLog {
    dir: PathBuf,
    sources: RwLock<HashMap<i64, Arc<SourceLog>>>,
    /// Sources with an open append handle, oldest first.
    open_writers: Mutex<VecDeque<i64>>,
    /// Files appended to since they were last flushed to disk.
    dirty: Mutex<HashMap<i64, Arc<File>>>,
    /// Appends that were on disk before they returned (`durable`).
    durable_appends: std::sync::atomic::AtomicU64,
}

impl EventLog {
    /// Opens `dir` (created if needed), reading every segment back; records below a source's
    /// `floor` (removed by retention) are skipped, and the newest events' dedup keys kept, as
    /// many as hold `keys_per_source` keys.
    pub fn open(
        dir: &Path,
        floors: &HashMap<i64, u64>,
        keys_per_source: usize,
    ) -> anyhow::Result<(EventLog, HashMap<i64, Recovered>)> {
        use anyhow::Context;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the event log directory {}", dir.display()))?;
        let mut sources = HashMap::new();
        let mut recovered = HashMap::new();
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            let floor = floors.get(&id).copied().unwrap_or(0);
            let (index, found) = recover(&entry.path(), floor, keys_per_source)?;
            sources.insert(id, Arc::new(SourceLog::new(entry.path(), index)));
            recovered.insert(id, found);
        }
        let log = EventLog {
            dir: dir.to_path_buf(),
            sources: RwLock::new(sources),
            open_writers: Mutex::default(),
            dirty: Mutex::default(),
            durable_appends: Default::default(),
        };
        Ok((log, recovered))
    }

    fn source(&self, id: i64) -> Option<Arc<SourceLog>> {
        self.sources
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }

    fn source_or_new(&self, id: i64) -> Arc<SourceLog> {
        if let Some(s) = self.source(id) {
            return s;
        }
        let mut map = self.sources.write().unwrap_or_else(|p| p.into_inner());
        map.entry(id)
            .or_insert_with(|| {
                Arc::new(SourceLog::new(
                    self.dir.join(id.to_string()),
                    Index::default(),
                ))
            })
            .clone()
    }

    /// Appends events of one source, in sequence order, each with its dedup keys. With
    /// `durable`, the data is on disk when this returns; otherwise in the OS (safe from a
    /// crash of this process) until [`EventLog::flush`]. Returns each event's wire frame and
    /// body as slices of the one buffer written, so the caller can drop its own copies.
    pub fn append(
        &self,
        source_id: i64,
        events: &[(&StoredEvent, Option<&str>)],
        durable: bool,
    ) -> io::Result<Vec<(Bytes, Bytes)>> {
        let size = events.iter().map(|(e, _)| e.request.body.len() + 512).sum();
        let mut buf = Vec::with_capacity(size);
        let mut spans = Vec::with_capacity(events.len());
        for (ev, keys) in events {
            spans.push((*ev, record::encode(&mut buf, ev, *keys)));
        }
        let lens: Vec<(&StoredEvent, usize)> = spans.iter().map(|(e, s)| (*e, s.len)).collect();
        let log = self.source_or_new(source_id);
        let file = log.append(&buf, &lens, durable)?;
        self.note_writer(source_id);
        if durable {
            self.durable_appends
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        } else {
            self.dirty
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(source_id, file);
        }
        let buf = Bytes::from(buf);
        let mut at = 0;
        let mut parts = Vec::with_capacity(spans.len());
        for (_, span) in spans {
            let end = at + span.len;
            parts.push((
                buf.slice(at + span.frame_at..end),
                buf.slice(at + span.body_at..end),
            ));
            at = end;
        }
        Ok(parts)
    }

    /// How many appends were on disk before they returned.
    pub fn durable_appends(&self) -> u64 {
        self.durable_appends
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Keeps at most [`MAX_OPEN_WRITERS`] append handles open.
    fn note_writer(&self, source_id: i64) {
        let evicted = {
            let mut open = self.open_writers.lock().unwrap_or_else(|p| p.into_inner());
            if open.back() == Some(&source_id) {
                return;
            }
            open.retain(|s| *s != source_id);
            open.push_back(source_id);
            if open.len() > MAX_OPEN_WRITERS {
                open.pop_front()
            } else {
                None
            }
        };
        if let Some(log) = evicted.and_then(|id| self.source(id)) {
            log.close();
        }
    }

    /// Flushes every file appended to since the last flush to disk.
    pub fn flush(&self) -> io::Result<()> {
        let files: Vec<Arc<File>> =
            std::mem::take(&mut *self.dirty.lock().unwrap_or_else(|p| p.into_inner()))
                .into_values()
                .collect();
        for f in files {
            f.sync_data()?;
        }
        Ok(())
    }

    /// Up to `limit` events of the source with sequence > `after`.
    pub fn read_after(
        &self,
        source_id: i64,
        after: u64,
        limit: usize,
    ) -> io::Result<Vec<StoredEvent>> {
        match self.source(source_id) {
            Some(s) => s.read_after(after, limit),
            None => Ok(Vec::new()),
        }
    }

    /// The first retained sequence received at or after `ms`.
    pub fn first_at_or_after(&self, source_id: i64, ms: u64) -> Option<u64> {
        self.source(source_id)?.first_at_or_after(ms)
    }

    /// The oldest retained sequence.
    pub fn oldest(&self, source_id: i64) -> Option<u64> {
        self.source(source_id)?.oldest()
    }

    /// The newest sequence logged.
    pub fn newest(&self, source_id: i64) -> Option<u64> {
        self.source(source_id)?.newest()
    }

    /// Retained events and their body bytes.
    pub fn stats(&self, source_id: i64) -> (u64, u64) {
        self.source(source_id).map_or((0, 0), |s| s.stats())
    }

    /// The lowest sequence to keep so that at most `max_bytes` of bodies remain, if that
    /// removes anything.
    pub fn floor_for_bytes(&self, source_id: i64, max_bytes: u64) -> Option<u64> {
        self.source(source_id)?.floor_for_bytes(max_bytes)
    }

    /// Drops the source's events below `floor`; returns how many.
    pub fn drop_below(&self, source_id: i64, floor: u64) -> io::Result<u64> {
        match self.source(source_id) {
            Some(s) => s.drop_below(floor),
            None => Ok(0),
        }
    }

    /// Bytes of all segment files.
    pub fn disk_bytes(&self) -> u64 {
        let map = self.sources.read().unwrap_or_else(|p| p.into_inner());
        map.values().map(|s| s.disk_bytes()).sum()
    }
}

/// Reads one source's segments back: the index of retained events, its head and newest dedup
/// keys. A record cut short or damaged at the end of the newest segment is what a crash mid-
/// write leaves: the file is cut back to the last whole record. Damage anywhere else is an
/// error naming the file.
fn recover(dir: &Path, floor: u64, keys_wanted: usize) -> anyhow::Result<(Index, Recovered)> {
    use anyhow::{bail, Context};
    let mut names: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let first = name.strip_suffix(".log")?.parse::<u64>().ok()?;
            Some((first, e.path()))
        })
        .collect();
    names.sort();
    let mut index = Index::default();
    let mut found = Recovered::default();
    let mut keys: VecDeque<String> = VecDeque::new();
    // Lines (single keys) in `keys`: the dedup window counts keys, and an Okta event has two
    // or more, so only the newest events whose keys fill `keys_wanted` lines are kept.
    let mut key_lines = 0usize;
    let mut chunk = Vec::new();
    let count = names.len();
    for (i, (first_seq, path)) in names.into_iter().enumerate() {
        let newest = i + 1 == count;
        let file = File::open(&path).with_context(|| format!("reading {}", path.display()))?;
        let size = file.metadata()?.len() as usize;
        let mut reader = io::BufReader::with_capacity(SCAN_BUFFER, file);
        let mut at = 0usize;
        while at < size {
            let scanned = record::scan(&mut reader, &mut chunk)
                .with_context(|| format!("reading {}", path.display()))?;
            let summary = match scanned {
                Ok(s) => s,
                Err(bad) if newest => {
                    tracing::warn!(file = %path.display(), at, dropped = size - at, ?bad,
                        "cutting a torn record off the end of the event log");
                    let f = std::fs::OpenOptions::new().write(true).open(&path)?;
                    f.set_len(at as u64)?;
                    f.sync_all()?;
                    break;
                }
                Err(bad) => bail!(
                    "the event log {} is damaged at byte {at}: {bad:?}",
                    path.display()
                ),
            };
            if found.head != 0 && summary.seq != found.head + 1 {
                bail!(
                    "the event log {} is damaged at byte {at}: sequence {} follows {}",
                    path.display(),
                    summary.seq,
                    found.head
                );
            }
            found.head = summary.seq;
            if summary.seq >= floor {
                let entry = Entry {
                    offset: at as u64,
                    received_at_ms: summary.received_at_ms,
                    len: summary.len as u32,
                    body_len: summary.body_len,
                };
                index.push(summary.seq, entry);
            }
            if let Some(k) = summary.keys {
                if keys_wanted > 0 {
                    key_lines += k.lines().count();
                    keys.push_back(k);
                }
                // Drop the oldest while the rest still hold `keys_wanted` keys.
                while let Some(old) = keys.front() {
                    let lines = old.lines().count();
                    if key_lines - lines < keys_wanted {
                        break;
                    }
                    key_lines -= lines;
                    keys.pop_front();
                }
            }
            at += summary.len;
        }
        index.segments.push(Segment {
            first_seq,
            len: at as u64,
        });
    }
    found.keys = keys.into();
    Ok((index, found))
}

#[cfg(test)]
mod tests;
