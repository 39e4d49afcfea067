//! What admin requests read or prune in the ConsumeQueues: a queue's raw
//! entries (`mqadmin queryCq`), the topics the store keeps queues for
//! (`cleanUnusedTopic`), and removing queues whose every record retention
//! has already taken (`cleanExpiredCQ`).

use std::fs;

use crate::consume_queue::CqEntry;
use crate::error::Result;
use crate::store::Store;
use crate::topic_delete::{move_aside, remove};

/// Most entries one [`Store::queue_entries`] returns: a count is the
/// caller's, and one file alone holds 300 000.
pub const MAX_QUEUE_ENTRIES: usize = 32 * 1024;

/// A window of one ConsumeQueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntries {
    /// The queue's smallest readable offset and one past its last entry.
    pub min_offset: u64,
    pub max_offset: u64,
    /// Entries from the asked offset on, with their queue offsets (fillers
    /// that point at no record left out).
    pub entries: Vec<(u64, CqEntry)>,
}

impl Store {
    /// Up to `count` (at most [`MAX_QUEUE_ENTRIES`]) entries of a queue
    /// from `from`, across its files; `None` when the store has no such
    /// queue.
    pub fn queue_entries(
        &self,
        topic: &str,
        queue_id: i32,
        from: u64,
        count: usize,
    ) -> Option<QueueEntries> {
        let cq = self.shared.queues.find(topic, queue_id)?;
        let max_offset = cq.max_offset();
        let wanted = count.min(MAX_QUEUE_ENTRIES);
        let mut entries = Vec::new();
        let mut next = from.max(cq.min_offset());
        let end = from.saturating_add(wanted as u64).min(max_offset);
        while next < end {
            let left = usize::try_from(end - next).unwrap_or(usize::MAX);
            let chunk = cq.entries(next, left);
            let Some((last, _)) = chunk.last() else {
                break;
            };
            next = last + 1;
            entries.extend(chunk.into_iter().filter(|(_, e)| !e.is_filler()));
        }
        Some(QueueEntries {
            min_offset: cq.min_offset(),
            max_offset,
            entries,
        })
    }

    /// The topics the store holds ConsumeQueues for.
    pub fn queue_topics(&self) -> Vec<String> {
        self.shared.queues.topics()
    }

    /// Removes every queue, of a topic `keep` does not name, whose last
    /// record lies wholly below the CommitLog's first offset: retention took
    /// all its records, only its last file is left (RocketMQ
    /// `cleanExpiredConsumerQueue`). Like RocketMQ, a later put to such a
    /// queue starts again at queue offset 0. Recovery cannot bring one back,
    /// since the CommitLog no longer holds its records. Returns how many
    /// queues went. Blocking (file deletion).
    pub fn clean_expired_queues(&self, keep: impl Fn(&str) -> bool) -> Result<usize> {
        let s = &self.shared;
        let root = &s.config.store_path_root_dir;
        let mut trash = Vec::new();
        let mut removed = 0;
        {
            let _files = s.queue_files.lock();
            // No put assigns offsets in these queues meanwhile.
            let mut st = s.append.lock();
            let min = s.commitlog.segments().min_offset();
            for (topic, queue_id, cq) in s.queues.all() {
                let expired = !keep(&topic)
                    && cq
                        .max_offset()
                        .checked_sub(1)
                        .and_then(|last| cq.entry(last))
                        .filter(|e| !e.is_filler())
                        // A record never straddles two files, so one that ends
                        // at the first offset was in a removed file.
                        .is_some_and(|e| {
                            (e.phys_offset as u64).saturating_add(e.size as u64) <= min
                        });
                if !expired {
                    continue;
                }
                cq.segments().settle_ahead();
                let dir = s
                    .config
                    .consume_queue_dir()
                    .join(&topic)
                    .join(queue_id.to_string());
                trash.extend(move_aside(root, &dir)?);
                // Forgotten only once its files are out of the way (see
                // `Store::delete_topic`).
                s.queues.remove_queue(&topic, queue_id);
                if let Some(slots) = st.queue_offsets.get_mut(&topic) {
                    slots.remove(&queue_id);
                    if slots.is_empty() {
                        st.queue_offsets.remove(&topic);
                    }
                }
                removed += 1;
                tracing::info!(topic, queue_id, "expired ConsumeQueue removed");
                if !s.queues.has_topic(&topic) {
                    // Its last queue went; empty now, and only a put (which
                    // waits for the lock) could fill it again.
                    let _ = fs::remove_dir(s.config.consume_queue_dir().join(&topic));
                }
            }
        }
        for moved in trash {
            remove(&moved)?;
        }
        Ok(removed)
    }
}
