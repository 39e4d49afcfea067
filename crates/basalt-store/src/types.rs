//! Values the store hands to the broker.

use bytes::Bytes;

/// One [`AppendResult`] per stored record; a single message's stays inline.
pub type AppendResults = smallvec::SmallVec<[AppendResult; 1]>;

/// Where and when one record was appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// Commit-log offset of the record (with the store host, its offset
    /// message id: `basalt_message::OffsetMsgId`).
    pub phys_offset: u64,
    /// Logical offset in its ConsumeQueue (0 for prepared/rollback records).
    pub queue_offset: u64,
    /// Store time (ms since the epoch), non-decreasing across appends.
    pub store_timestamp: i64,
    /// Bytes written.
    pub size: u32,
}

/// What recovery did when the store was opened (see [`crate::Store::recovery_report`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    /// The abort marker was present: the last run did not shut down cleanly.
    pub crashed: bool,
    /// CommitLog offset where the scan started.
    pub scan_start: u64,
    /// The recovered CommitLog end (one past the last valid record).
    pub end: u64,
    /// CommitLog bytes the scan read: the records walked plus the look-ahead
    /// (at most one maximum record size) after the last one. Proportional
    /// to the data, not to the file size.
    pub bytes_examined: u64,
    /// An invalid tail was cut off (and zeroed).
    pub truncated: bool,
}

/// How far a put got with the flush policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStatus {
    /// Stored; durable too under SYNC_FLUSH (unless the message said `WAIT=false`).
    PutOk,
    /// Stored, but not durable within `syncFlushTimeout` (RocketMQ FLUSH_DISK_TIMEOUT:
    /// the record stays and will be flushed).
    FlushDiskTimeout,
}

/// The answer to a put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// Flush outcome.
    pub status: PutStatus,
    /// One entry per stored record (several for a batch, in order).
    pub appended: AppendResults,
}

/// A put whose durability wait is the caller's ([`crate::Store::append`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// What was stored; the status is `PutOk`.
    pub outcome: PutOutcome,
    /// Under SYNC_FLUSH, the CommitLog offset that must be durable before the
    /// put counts as flushed; `None` when nothing is to wait for.
    pub durable_at: Option<u64>,
    /// Where the put's records end when they stay staged until the caller
    /// commits them ([`crate::Store::stage`] under ASYNC_FLUSH without the
    /// transient store pool): [`crate::Store::commit_through`] this before
    /// acknowledging. `None` when nothing is left to the caller.
    pub commit_through: Option<u64>,
}

/// RocketMQ's `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetStatus {
    /// At least one message returned.
    Found,
    /// Entries were read but none passed the filter.
    NoMatchedMessage,
    /// The entries point at CommitLog data already deleted.
    MessageWasRemoving,
    /// The queue file for the offset is missing.
    OffsetFoundNull,
    /// `offset > max`.
    OffsetOverflowBadly,
    /// `offset == max`: caught up, park the pull.
    OffsetOverflowOne,
    /// `offset < min`.
    OffsetTooSmall,
    /// No such topic/queue.
    NoMatchedLogicQueue,
    /// The queue exists but is empty.
    NoMessageInQueue,
}

/// The answer to a get.
#[derive(Debug, Clone)]
pub struct GetResult {
    /// Outcome.
    pub status: GetStatus,
    /// Records, byte-for-byte, zero-copy slices of the mapped files.
    pub messages: Vec<Bytes>,
    /// Queue offset of each returned record.
    pub queue_offsets: Vec<u64>,
    /// Where the next pull should start.
    pub next_begin_offset: u64,
    /// Queue minimum.
    pub min_offset: u64,
    /// Queue maximum (one past the last entry).
    pub max_offset: u64,
}

impl GetResult {
    /// Sum of the returned record sizes.
    pub fn total_bytes(&self) -> usize {
        self.messages.iter().map(Bytes::len).sum()
    }
}

/// The maps looked up on every append (queues and queue offsets by topic
/// and queue id, arrival signals): foldhash, randomly seeded per process,
/// hashes a short topic name in a fraction of SipHash's instructions.
pub(crate) type QueueMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
