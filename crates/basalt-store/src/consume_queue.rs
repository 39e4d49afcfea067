//! ConsumeQueue: per topic-queue index into the CommitLog, 20-byte entries.
//!
//! ```text
//! entry k at byte k*20 of the queue's stream (files of mappedFileSizeConsumeQueue bytes):
//!   0  i64  commit-log offset
//!   8  i32  record size
//!  12  i64  tags code (delivery time in SCHEDULE_TOPIC_XXXX)
//! ```
//! A queue whose first file starts past its first entry is padded with
//! `(0, i32::MAX, 0)` entries, as RocketMQ does.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::disk::Disk;
use crate::error::{Result, StoreError};
use crate::segments::SegmentQueue;
use crate::types::QueueMap;

pub(crate) const ENTRY: u64 = 20;

/// One ConsumeQueue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqEntry {
    /// Commit-log offset of the record.
    pub phys_offset: i64,
    /// Record size.
    pub size: i32,
    /// Tags hash (or delivery time for scheduled messages).
    pub tags_code: i64,
}

const FILLER: CqEntry = CqEntry {
    phys_offset: 0,
    size: i32::MAX,
    tags_code: 0,
};

impl CqEntry {
    fn encode(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        let (a, rest) = out.split_at_mut(8);
        let (b, c) = rest.split_at_mut(4);
        a.copy_from_slice(&self.phys_offset.to_be_bytes());
        b.copy_from_slice(&self.size.to_be_bytes());
        c.copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    pub(crate) fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            phys_offset: i64::from_be_bytes(b.get(0..8)?.try_into().ok()?),
            size: i32::from_be_bytes(b.get(8..12)?.try_into().ok()?),
            tags_code: i64::from_be_bytes(b.get(12..20)?.try_into().ok()?),
        })
    }

    /// A written entry (RocketMQ: offset >= 0 and size > 0).
    fn is_valid(&self) -> bool {
        self.phys_offset >= 0 && self.size > 0
    }

    /// Padding that points at no record.
    pub(crate) fn is_filler(&self) -> bool {
        *self == FILLER
    }
}

pub(crate) struct ConsumeQueue {
    segs: SegmentQueue,
    /// Logical offsets below this are gone (CommitLog retention).
    min_offset: AtomicU64,
}

impl ConsumeQueue {
    fn open(dir: &Path, file_size: u64, disk: Arc<dyn Disk>) -> Result<Self> {
        let segs = SegmentQueue::open(dir, file_size, disk, false)?;
        let cq = Self {
            min_offset: AtomicU64::new(segs.min_offset() / ENTRY),
            segs,
        };
        cq.find_end()?;
        Ok(cq)
    }

    /// Sets the write position after the last valid entry of the last three
    /// files (earlier files are full by construction).
    fn find_end(&self) -> Result<()> {
        let segs = self.segs.snapshot();
        let from = segs.len().saturating_sub(3);
        for seg in segs.iter().skip(from) {
            let size = seg.size() as usize;
            let Some(all) = seg.region.bytes(0, size) else {
                continue;
            };
            let valid = all
                .chunks_exact(ENTRY as usize)
                .take_while(|c| CqEntry::decode(c).is_some_and(|e| e.is_valid()))
                .count();
            let end = valid * ENTRY as usize;
            if end < size {
                return self.segs.truncate_from(seg.start + end as u64, false);
            }
        }
        Ok(())
    }

    /// One past the last entry.
    pub(crate) fn max_offset(&self) -> u64 {
        self.segs.max_offset() / ENTRY
    }

    pub(crate) fn min_offset(&self) -> u64 {
        self.min_offset.load(Ordering::Acquire)
    }

    pub(crate) fn set_min_offset(&self, offset: u64) {
        self.min_offset.fetch_max(offset, Ordering::AcqRel);
    }

    /// Writes entry `queue_offset`. Entries already present are left alone
    /// (recovery re-dispatches idempotently); a gap is padded with fillers.
    pub(crate) fn put(&self, queue_offset: u64, entry: CqEntry) -> Result<()> {
        let mut next = self.max_offset();
        if queue_offset < next {
            return Ok(());
        }
        if self.segs.last().is_none() {
            self.reserve(queue_offset, 1)?;
            next = self.segs.min_offset() / ENTRY;
        }
        while next < queue_offset {
            self.append(FILLER)?;
            next += 1;
        }
        self.append(entry)
    }

    /// Creates the file entry `queue_offset` will go into, if missing.
    /// Makes sure the files for entries `queue_offset..queue_offset + count`
    /// exist (the next one created but not yet in use), so writing them
    /// cannot fail half-way on file creation.
    pub(crate) fn reserve(&self, queue_offset: u64, count: u64) -> Result<()> {
        let size = self.segs.file_size();
        let seg = match self.segs.last() {
            Some(s) => s,
            None => {
                let seg = self.segs.roll(queue_offset * ENTRY / size * size)?;
                self.set_min_offset(queue_offset);
                seg
            }
        };
        let end = queue_offset.saturating_add(count) * ENTRY;
        if queue_offset < self.max_offset() || end <= seg.start + size {
            return Ok(());
        }
        if seg.wrote() >= seg.size() && queue_offset * ENTRY >= seg.start + size {
            // The next entry opens a new file; a batch spilling past that one
            // too is rare enough to create its second file on the way.
            let next = self.segs.roll(0)?;
            if end > next.start + size {
                self.segs.prepare_next()?;
            }
            return Ok(());
        }
        self.segs.prepare_next()
    }

    fn append(&self, entry: CqEntry) -> Result<()> {
        let bytes = entry.encode();
        let seg = match self.segs.last() {
            Some(s) if s.wrote() < s.size() => s,
            _ => self.segs.roll(0)?,
        };
        let pos = seg
            .region
            .append(&bytes)
            .ok_or_else(|| StoreError::Corrupt {
                file: seg.path().to_owned(),
                offset: seg.wrote(),
                reason: "ConsumeQueue entry does not fit".to_owned(),
            })? as u64;
        let half = seg.size() / 2;
        if pos < half && pos + ENTRY >= half {
            self.segs.create_next_ahead();
        }
        Ok(())
    }

    /// Entry `queue_offset`, if written.
    pub(crate) fn entry(&self, queue_offset: u64) -> Option<CqEntry> {
        let pos = queue_offset.checked_mul(ENTRY)?;
        let seg = self.segs.find(pos)?;
        let b = seg
            .region
            .bytes((pos - seg.start) as usize, ENTRY as usize)?;
        CqEntry::decode(&b)
    }

    /// Up to `max` entries from `queue_offset`, staying within one file.
    pub(crate) fn entries(&self, queue_offset: u64, max: usize) -> Vec<(u64, CqEntry)> {
        let Some(pos) = queue_offset.checked_mul(ENTRY) else {
            return Vec::new();
        };
        let Some(seg) = self.segs.find(pos) else {
            return Vec::new();
        };
        let rel = (pos - seg.start) as usize;
        let avail = (seg.wrote() as usize).saturating_sub(rel) / ENTRY as usize;
        let n = avail.min(max);
        let Some(b) = seg.region.bytes(rel, n * ENTRY as usize) else {
            return Vec::new();
        };
        b.chunks_exact(ENTRY as usize)
            .filter_map(CqEntry::decode)
            .enumerate()
            .map(|(i, e)| (queue_offset + i as u64, e))
            .collect()
    }

    /// Drops entries that point at or past `phys_end` (the CommitLog end).
    pub(crate) fn truncate_beyond(&self, phys_end: u64) -> Result<()> {
        let mut end = self.max_offset();
        let min = self.segs.min_offset() / ENTRY;
        while end > min {
            match self.entry(end - 1) {
                Some(e) if e.is_filler() => break,
                Some(e) if (e.phys_offset as u64).saturating_add(e.size as u64) > phys_end => {
                    end -= 1
                }
                _ => break,
            }
        }
        if end < self.max_offset() {
            self.segs.truncate_from(end * ENTRY, false)?;
        }
        Ok(())
    }

    pub(crate) fn segments(&self) -> &SegmentQueue {
        &self.segs
    }
}

/// Every ConsumeQueue, keyed by topic and queue id.
pub(crate) struct ConsumeQueueSet {
    root: std::path::PathBuf,
    file_size: u64,
    disk: Arc<dyn Disk>,
    queues: RwLock<QueueMap<String, QueueMap<i32, Arc<ConsumeQueue>>>>,
}

impl ConsumeQueueSet {
    /// Loads `consumequeue/<topic>/<queueId>/`.
    pub(crate) fn open(root: &Path, file_size: u64, disk: Arc<dyn Disk>) -> Result<Self> {
        fs::create_dir_all(root).map_err(|e| StoreError::io("create dir", root, e))?;
        let mut queues: QueueMap<String, QueueMap<i32, Arc<ConsumeQueue>>> = QueueMap::default();
        for topic in fs::read_dir(root).map_err(|e| StoreError::io("list", root, e))? {
            let topic = topic.map_err(|e| StoreError::io("list", root, e))?;
            let Ok(name) = topic.file_name().into_string() else {
                continue;
            };
            let tdir = topic.path();
            if !tdir.is_dir() {
                continue;
            }
            for q in fs::read_dir(&tdir).map_err(|e| StoreError::io("list", &tdir, e))? {
                let q = q.map_err(|e| StoreError::io("list", &tdir, e))?;
                let Some(qid) = q.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                    continue;
                };
                let cq = ConsumeQueue::open(&q.path(), file_size, Arc::clone(&disk))?;
                queues
                    .entry(name.clone())
                    .or_default()
                    .insert(qid, Arc::new(cq));
            }
        }
        Ok(Self {
            root: root.to_owned(),
            file_size,
            disk,
            queues: RwLock::new(queues),
        })
    }

    pub(crate) fn find(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues.read().get(topic)?.get(&queue_id).cloned()
    }

    pub(crate) fn find_or_create(&self, topic: &str, queue_id: i32) -> Result<Arc<ConsumeQueue>> {
        if let Some(q) = self.find(topic, queue_id) {
            return Ok(q);
        }
        let mut all = self.queues.write();
        let per_topic = all.entry(topic.to_owned()).or_default();
        if let Some(q) = per_topic.get(&queue_id) {
            return Ok(Arc::clone(q));
        }
        let dir = self.root.join(topic).join(queue_id.to_string());
        let cq = Arc::new(ConsumeQueue::open(
            &dir,
            self.file_size,
            Arc::clone(&self.disk),
        )?);
        per_topic.insert(queue_id, Arc::clone(&cq));
        Ok(cq)
    }

    /// Whether `topic` has a queue.
    pub(crate) fn has_topic(&self, topic: &str) -> bool {
        self.queues.read().get(topic).is_some_and(|q| !q.is_empty())
    }

    /// Forgets every queue of `topic` (their files stay until the caller
    /// removes them). `None` when there was none.
    pub(crate) fn remove_topic(&self, topic: &str) -> Option<QueueMap<i32, Arc<ConsumeQueue>>> {
        self.queues.write().remove(topic).filter(|q| !q.is_empty())
    }

    /// Forgets one queue (its files stay until the caller removes them),
    /// and its topic once it has no queue left.
    pub(crate) fn remove_queue(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        let mut all = self.queues.write();
        let per_topic = all.get_mut(topic)?;
        let cq = per_topic.remove(&queue_id);
        if per_topic.is_empty() {
            all.remove(topic);
        }
        cq
    }

    /// The topics with at least one queue.
    pub(crate) fn topics(&self) -> Vec<String> {
        self.queues
            .read()
            .iter()
            .filter(|(_, qs)| !qs.is_empty())
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Every queue with its topic and id.
    pub(crate) fn all(&self) -> Vec<(String, i32, Arc<ConsumeQueue>)> {
        self.queues
            .read()
            .iter()
            .flat_map(|(t, qs)| {
                qs.iter()
                    .map(move |(id, q)| (t.clone(), *id, Arc::clone(q)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u64) -> CqEntry {
        CqEntry {
            phys_offset: i as i64 * 100,
            size: 100,
            tags_code: i as i64,
        }
    }

    #[test]
    fn next_file_is_created_ahead_at_half_full_and_offsets_stay_dense() {
        let dir = tempfile::tempdir().unwrap();
        let size = 100 * ENTRY;
        let cq = ConsumeQueue::open(dir.path(), size, Arc::new(crate::disk::RealDisk)).unwrap();
        for i in 0..250u64 {
            cq.reserve(i, 1).unwrap();
            cq.put(i, entry(i)).unwrap();
            let file = i / 100;
            let in_file = i % 100;
            // From the half-way entry on, the next file is being created.
            let expect = (in_file >= 49).then_some((file + 1) * size);
            assert_eq!(cq.segments().pending_ahead(), expect, "after entry {i}");
        }
        assert_eq!(cq.segments().snapshot().len(), 3);
        assert_eq!(cq.max_offset(), 250);
        for i in 0..250u64 {
            assert_eq!(cq.entry(i), Some(entry(i)), "entry {i}");
        }
        let across: Vec<u64> = cq.entries(95, 10).iter().map(|(o, _)| *o).collect();
        assert_eq!(across, (95..100).collect::<Vec<_>>());
        // The third file was created ahead too; it is on disk before its roll.
        cq.segments().settle_ahead();
        assert!(dir
            .path()
            .join(crate::segments::segment_name(3 * size))
            .exists());
        // Reopening trims the unused ahead file and keeps every entry.
        drop(cq);
        let cq = ConsumeQueue::open(dir.path(), size, Arc::new(crate::disk::RealDisk)).unwrap();
        assert_eq!(cq.max_offset(), 250);
        assert_eq!(cq.entry(249), Some(entry(249)));
        cq.put(250, entry(250)).unwrap();
        assert_eq!(cq.entry(250), Some(entry(250)));
    }
}
