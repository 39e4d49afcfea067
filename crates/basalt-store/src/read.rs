//! The read path: pulls by queue offset, lookups by commit-log offset,
//! message id, timestamp and key. Every record comes back as a zero-copy
//! `Bytes` slice of the mapped file, byte-for-byte as stored.

use basalt_message::{decode_offset_msg_id, BlankOrRecord, Record};
use bytes::Bytes;

use crate::consume_queue::ConsumeQueue;
use crate::error::Result;
use crate::store::Store;
use crate::types::{GetResult, GetStatus};

/// Entries a single get may skip over looking for filter matches
/// (RocketMQ `maxFilterMessageSize` 16000 bytes / 20).
const MAX_SCANNED_ENTRIES: usize = 800;

impl Store {
    /// Reads up to `max_count` records (and about `max_bytes`; the first
    /// record is always returned whole) from `offset` of a queue.
    pub fn get(
        &self,
        topic: &str,
        queue_id: i32,
        offset: u64,
        max_count: usize,
        max_bytes: usize,
    ) -> GetResult {
        self.get_filtered(topic, queue_id, offset, max_count, max_bytes, &|_| true)
    }

    /// [`Store::get`] keeping only entries whose tags code passes `filter`.
    pub fn get_filtered(
        &self,
        topic: &str,
        queue_id: i32,
        offset: u64,
        max_count: usize,
        max_bytes: usize,
        filter: &dyn Fn(i64) -> bool,
    ) -> GetResult {
        let Some(cq) = self.shared.queues.find(topic, queue_id) else {
            return result(GetStatus::NoMatchedLogicQueue, 0, 0, 0);
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        if max == 0 {
            return result(GetStatus::NoMessageInQueue, 0, min, max);
        }
        if offset < min {
            return result(GetStatus::OffsetTooSmall, min, min, max);
        }
        if offset == max {
            return result(GetStatus::OffsetOverflowOne, offset, min, max);
        }
        if offset > max {
            return result(GetStatus::OffsetOverflowBadly, max, min, max);
        }
        self.collect(&cq, offset, max_count, max_bytes, filter, min, max)
    }

    #[allow(clippy::too_many_arguments)]
    fn collect(
        &self,
        cq: &ConsumeQueue,
        offset: u64,
        max_count: usize,
        max_bytes: usize,
        filter: &dyn Fn(i64) -> bool,
        min: u64,
        max: u64,
    ) -> GetResult {
        let mut out = result(GetStatus::NoMatchedMessage, offset, min, max);
        let mut bytes = 0usize;
        let scan_limit = MAX_SCANNED_ENTRIES.max(max_count);
        // Entries can point past the bytes readers may see (staged, not yet
        // committed; under SYNC_FLUSH, not yet durable): not there yet.
        let readable = self.shared.readable_end();
        let mut scanned = 0usize;
        'outer: while out.next_begin_offset < max && scanned < scan_limit {
            let batch = cq.entries(out.next_begin_offset, scan_limit - scanned);
            if batch.is_empty() {
                if out.messages.is_empty() {
                    out.status = GetStatus::OffsetFoundNull;
                }
                break;
            }
            for (qo, e) in batch {
                scanned += 1;
                let full = !out.messages.is_empty()
                    && (out.messages.len() >= max_count
                        || bytes + e.size.max(0) as usize > max_bytes);
                if full {
                    break 'outer;
                }
                let end = (e.phys_offset as u64).saturating_add(e.size.max(0) as u64);
                if !e.is_filler() && end > readable {
                    if out.messages.is_empty() {
                        out.status = GetStatus::OffsetOverflowOne;
                    }
                    break 'outer;
                }
                out.next_begin_offset = qo + 1;
                if e.is_filler() || !filter(e.tags_code) {
                    continue;
                }
                let slice = usize::try_from(e.size)
                    .ok()
                    .and_then(|n| self.shared.commitlog.slice(e.phys_offset as u64, n));
                let Some(record) = slice else {
                    if out.messages.is_empty() {
                        out.status = GetStatus::MessageWasRemoving;
                    }
                    continue;
                };
                bytes += record.len();
                out.messages.push(record);
                out.queue_offsets.push(qo);
                out.status = GetStatus::Found;
                if out.messages.len() >= max_count {
                    break 'outer;
                }
            }
        }
        out
    }

    /// Smallest readable offset of a queue (0 when unknown).
    pub fn min_offset(&self, topic: &str, queue_id: i32) -> u64 {
        self.shared
            .queues
            .find(topic, queue_id)
            .map_or(0, |q| q.min_offset())
    }

    /// One past the last offset of a queue (0 when unknown).
    pub fn max_offset(&self, topic: &str, queue_id: i32) -> u64 {
        self.shared
            .queues
            .find(topic, queue_id)
            .map_or(0, |q| q.max_offset())
    }

    /// First commit-log offset still on disk.
    pub fn commit_log_min_offset(&self) -> u64 {
        self.shared.commitlog.segments().min_offset()
    }

    /// One past the last written commit-log byte.
    pub fn commit_log_max_offset(&self) -> u64 {
        self.shared.commitlog.segments().max_offset()
    }

    /// The stored record at commit-log offset `phys`.
    pub fn message_at(&self, phys: u64) -> Option<Bytes> {
        self.shared.commitlog.record_at(phys).map(|(b, _)| b)
    }

    /// The stored record named by an offset message id (VIEW_MESSAGE_BY_ID).
    pub fn message_by_id(&self, msg_id: &str) -> Result<Option<Bytes>> {
        let (_, phys) = decode_offset_msg_id(msg_id)?;
        Ok(u64::try_from(phys).ok().and_then(|p| self.message_at(p)))
    }

    /// Store time of the record at queue `offset`.
    pub fn store_timestamp(&self, topic: &str, queue_id: i32, offset: u64) -> Option<i64> {
        let cq = self.shared.queues.find(topic, queue_id)?;
        self.timestamp_of(&cq, offset)
    }

    fn timestamp_of(&self, cq: &ConsumeQueue, offset: u64) -> Option<i64> {
        let e = cq.entry(offset).filter(|e| !e.is_filler())?;
        let (_, r) = self.shared.commitlog.record_at(e.phys_offset as u64)?;
        Some(r.store_timestamp)
    }

    /// The first queue offset whose record was stored at or after
    /// `timestamp` (binary search); the max offset when none was.
    pub fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp: i64) -> u64 {
        self.first_stored(topic, queue_id, |t| t >= timestamp)
            .map_or(0, |(first, _, _)| first)
    }

    /// RocketMQ's upper boundary for `timestamp`: the last queue offset
    /// stored at or before it (the last of equal times; the last entry
    /// when all are older), within the queue's bounds.
    pub fn offset_by_time_upper(&self, topic: &str, queue_id: i32, timestamp: i64) -> u64 {
        self.first_stored(topic, queue_id, |t| t > timestamp)
            .map_or(0, |(first, min, max)| {
                first
                    .saturating_sub(1)
                    .clamp(min, max.saturating_sub(1).max(min))
            })
    }

    /// The first queue offset whose store time passes `after` (binary
    /// search; the max offset when none does), with the queue's min and max.
    fn first_stored(
        &self,
        topic: &str,
        queue_id: i32,
        after: impl Fn(i64) -> bool,
    ) -> Option<(u64, u64, u64)> {
        let cq = self.shared.queues.find(topic, queue_id)?;
        let (min, max) = (cq.min_offset(), cq.max_offset());
        let (mut lo, mut hi) = (min, max);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            // Unreadable entries (deleted or padding) count as older.
            if self.timestamp_of(&cq, mid).is_some_and(&after) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Some((lo, min, max))
    }

    /// Records of `topic` carrying `key` (a `KEYS` token or the `UNIQ_KEY`)
    /// stored within `[begin_ms, end_ms]`, at most `max`, newest first.
    pub fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Vec<Bytes> {
        self.query_index(&format!("{topic}#{key}"), max, begin_ms, end_ms, &|r| {
            let props = r.properties();
            r.topic == topic && (props.uniq_key() == Some(key) || props.keys().any(|k| k == key))
        })
    }

    /// Records of `topic` whose `TAGS` is `tag` (RocketMQ 5.5.1's tag index).
    pub fn query_by_tag(
        &self,
        topic: &str,
        tag: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Vec<Bytes> {
        self.query_index(&format!("{topic}#T#{tag}"), max, begin_ms, end_ms, &|r| {
            r.topic == topic && r.properties().tags() == Some(tag)
        })
    }

    fn query_index(
        &self,
        full_key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
        matches: &dyn Fn(&Record) -> bool,
    ) -> Vec<Bytes> {
        let Some(index) = &self.shared.index else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // The index matches hashes; confirm against the stored record.
        // The newest `max` matches, given oldest first as RocketMQ sorts
        // them (a client taking the first of a re-sent id gets the original).
        for phys in index.query(full_key, max.saturating_mul(2), begin_ms, end_ms) {
            if out.len() >= max {
                break;
            }
            let found = u64::try_from(phys)
                .ok()
                .and_then(|p| self.shared.commitlog.record_at(p));
            if let Some((bytes, _)) = found.filter(|(_, r)| matches(r)) {
                out.push((phys, bytes));
            }
        }
        out.sort_by_key(|(phys, _)| *phys);
        out.into_iter().map(|(_, bytes)| bytes).collect()
    }

    /// Decodes a stored record (for tools and tests).
    pub fn decode(bytes: &Bytes) -> Result<BlankOrRecord> {
        Ok(BlankOrRecord::decode(bytes, true)?)
    }
}

fn result(status: GetStatus, next: u64, min: u64, max: u64) -> GetResult {
    GetResult {
        status,
        messages: Vec::new(),
        queue_offsets: Vec::new(),
        next_begin_offset: next,
        min_offset: min,
        max_offset: max,
    }
}
