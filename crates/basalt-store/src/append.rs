//! The write path: validate and encode outside the lock, then under the one
//! append lock assign queue offsets and store timestamps, write the CommitLog
//! and dispatch to the ConsumeQueue and index, then wake long-polling readers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use smallvec::SmallVec;

use basalt_message::{sysflag, MessageExtBrokerInner, Planned, Record};

use crate::consume_queue::{ConsumeQueue, CqEntry};
use crate::error::{Result, StoreError};
use crate::index::Indexed;
use crate::store::{AppendState, QueueSlot, Shared};
use crate::types::{AppendResult, AppendResults};

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Topic names become directory names: refuse anything that is not a plain name.
pub(crate) fn validate_topic(topic: &str, queue_id: i32) -> Result<()> {
    let bad = topic.is_empty()
        || topic.len() > i16::MAX as usize
        || topic == "."
        || topic == ".."
        || topic.contains(['/', '\\', '\0']);
    if bad {
        return Err(StoreError::BadTopic(format!(
            "topic {topic:?} is not allowed"
        )));
    }
    if queue_id < 0 {
        return Err(StoreError::BadTopic(format!(
            "queue id {queue_id} is negative"
        )));
    }
    Ok(())
}

impl Shared {
    fn validate(&self, msg: &MessageExtBrokerInner) -> Result<()> {
        validate_topic(&msg.topic, msg.queue_id)?;
        let limit = self.config.max_message_size as usize;
        if msg.body.len() > limit {
            return Err(StoreError::MessageTooLarge {
                size: msg.body.len(),
                limit,
            });
        }
        Ok(())
    }

    /// Appends `msgs` (one, or a batch). The working lists hold one entry
    /// without an allocation: most puts are one message, and four small
    /// vectors cost ~560 instructions a send (a tenth of the store's share).
    pub(crate) fn append_many(&self, msgs: &[MessageExtBrokerInner]) -> Result<AppendResults> {
        self.check_writable()?;
        let mut encoded: SmallVec<[Planned<'_>; 1]> = SmallVec::with_capacity(msgs.len());
        for m in msgs {
            self.validate(m)?;
            let record = Record::plan(m)?;
            let limit = self.config.max_record_size();
            if record.len() > limit {
                return Err(StoreError::MessageTooLarge {
                    size: record.len(),
                    limit,
                });
            }
            encoded.push(record);
        }
        let mut results = AppendResults::with_capacity(msgs.len());
        let mut arrivals: SmallVec<[Arrival<'_>; 1]> = SmallVec::with_capacity(msgs.len());
        let written = {
            let mut st = self.lock_append();
            self.write_locked(&mut st, msgs, encoded, &mut results, &mut arrivals)
        };
        if let Err(e) = &written {
            // A roll to the next file commits the previous one: a write
            // that failed there ends writing as a failed commit does.
            if self.commitlog.write_failed() {
                self.poison(std::io::Error::other(e.to_string()));
            }
        }
        // Announce whatever was written, even when a later record failed.
        // Readers cannot see these records until they are committed; a
        // reader that starts waiting after this sees the queue's new max
        // offset and does not wait.
        let mut deferred = false;
        for (i, &(end, topic, queue_id)) in arrivals.iter().enumerate() {
            // A run of a batch into one queue is announced by its last record.
            if arrivals
                .get(i + 1)
                .is_some_and(|&(_, t, q)| t == topic && q == queue_id)
            {
                continue;
            }
            if let Some(n) = self.signals.get(topic, queue_id) {
                self.deferred_arrivals.lock().push((end, n));
                deferred = true;
            }
        }
        if deferred {
            // A commit may have run between the append lock's release and
            // the pushes above; its publish then missed them, and the next
            // commit may be a commit period away.
            self.publish_committed_arrivals();
        }
        written.map(|()| results)
    }

    /// Appends and dispatches under the append lock.
    fn write_locked<'m>(
        &self,
        st: &mut AppendState,
        msgs: &'m [MessageExtBrokerInner],
        encoded: SmallVec<[Planned<'m>; 1]>,
        results: &mut AppendResults,
        arrivals: &mut SmallVec<[Arrival<'m>; 1]>,
    ) -> Result<()> {
        self.check_writable()?;
        let mut targets = self.resolve_queues(st, msgs)?;
        let written = self.write_resolved(st, msgs, encoded, &mut targets, results, arrivals);
        // Next offsets advance only past entries written, also on failure.
        for t in targets {
            let slot = st
                .queue_offsets
                .get_mut(t.topic)
                .and_then(|q| q.get_mut(&t.queue_id));
            match slot {
                Some(slot) => slot.next = t.next,
                None => {
                    st.queue_offsets
                        .entry(t.topic.to_owned())
                        .or_default()
                        .insert(
                            t.queue_id,
                            QueueSlot {
                                next: t.next,
                                cq: t.cq,
                            },
                        );
                }
            }
        }
        written
    }

    /// Finds (or creates) each queue the put writes to, once, with its next
    /// offset. Every file the put needs is created here, before anything is
    /// written, so a full disk refuses the whole put rather than part of a
    /// batch.
    fn resolve_queues<'m>(
        &self,
        st: &AppendState,
        msgs: &'m [MessageExtBrokerInner],
    ) -> Result<SmallVec<[Target<'m>; 1]>> {
        // A put writes to one queue (a batch is one topic and queue), so a
        // linear search beats a map.
        let mut targets: SmallVec<[Target<'m>; 1]> = SmallVec::new();
        for m in msgs.iter().filter(|m| sysflag::is_consumable(m.sys_flag)) {
            match targets.iter_mut().find(|t| t.is(m)) {
                Some(t) => t.count += 1,
                None => {
                    let slot = st
                        .queue_offsets
                        .get(m.topic.as_str())
                        .and_then(|q| q.get(&m.queue_id));
                    let (cq, next) = match slot {
                        Some(slot) => (Arc::clone(&slot.cq), slot.next),
                        None => (self.queues.find_or_create(&m.topic, m.queue_id)?, 0),
                    };
                    targets.push(Target {
                        topic: &m.topic,
                        queue_id: m.queue_id,
                        cq,
                        next,
                        count: 1,
                    });
                }
            }
        }
        for t in &targets {
            t.cq.reserve(t.next, t.count)?;
        }
        Ok(targets)
    }

    fn write_resolved<'m>(
        &self,
        st: &mut AppendState,
        msgs: &'m [MessageExtBrokerInner],
        encoded: SmallVec<[Planned<'m>; 1]>,
        targets: &mut [Target<'m>],
        results: &mut AppendResults,
        arrivals: &mut SmallVec<[Arrival<'m>; 1]>,
    ) -> Result<()> {
        if encoded.len() > 1 {
            let total = encoded.iter().map(|r| r.len() as u64).sum();
            self.commitlog.ensure_room(total)?;
        }
        for (m, record) in msgs.iter().zip(encoded) {
            let ts = now_ms().max(st.last_store_timestamp);
            let mut target = if sysflag::is_consumable(m.sys_flag) {
                targets.iter_mut().find(|t| t.is(m))
            } else {
                None
            };
            let queue_offset = target.as_ref().map_or(0, |t| t.next);
            let phys = self.commitlog.append(&record, queue_offset as i64, ts)?;
            st.last_store_timestamp = ts;
            let size = record.len() as u32;
            let names = Indexed::of(&m.properties);
            let tags_code = self
                .delay_levels
                .cq_tags_code(&m.topic, names.tags, &m.properties, ts);
            if let Some(t) = target.as_mut() {
                let entry = CqEntry {
                    phys_offset: phys as i64,
                    size: size as i32,
                    tags_code,
                };
                t.cq.put(queue_offset, entry)?;
                t.next = queue_offset + 1;
                arrivals.push((phys + u64::from(size), m.topic.as_str(), m.queue_id));
            }
            if let Some(index) = &self.index {
                index.add(&m.topic, names, m.sys_flag, phys, ts);
            }
            // Published after dispatch: the flusher reads it before syncing,
            // so a checkpointed timestamp covers CommitLog and queue bytes.
            self.last_store_timestamp.store(ts, Ordering::Release);
            results.push(AppendResult {
                phys_offset: phys,
                queue_offset,
                store_timestamp: ts,
                size,
            });
        }
        Ok(())
    }
}

/// A record's end offset, topic and queue: whom to tell it arrived.
type Arrival<'m> = (u64, &'m str, i32);

/// A queue a put writes to: its ConsumeQueue and the next offset in it.
struct Target<'m> {
    topic: &'m str,
    queue_id: i32,
    cq: Arc<ConsumeQueue>,
    next: u64,
    /// Entries the put brings to this queue.
    count: u64,
}

impl Target<'_> {
    fn is(&self, m: &MessageExtBrokerInner) -> bool {
        self.queue_id == m.queue_id && self.topic == m.topic
    }
}
