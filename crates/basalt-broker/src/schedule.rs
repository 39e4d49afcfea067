//! Delay levels (RocketMQ's `ScheduleMessageService`): a message with a
//! `DELAY` level is stored in `SCHEDULE_TOPIC_XXXX`, queue `level - 1`, with
//! its real topic and queue in properties; when due it is re-stored to the
//! real topic. Progress per level is persisted in `delayOffset.json`, so a
//! restart neither loses nor re-delivers scheduled messages.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use basalt_message::properties::{DELAY, REAL_QID, REAL_TOPIC};
use basalt_message::MessageExtBrokerInner;
use basalt_protocol::body::register::DataVersion;
use basalt_store::{DelayLevels, Store};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::topics::{now_ms, SCHEDULE_TOPIC};
use crate::BrokerError;

/// How often the delivery loop looks for due messages at most.
const TICK: Duration = Duration::from_millis(100);
/// Messages read from a level's queue at once.
const BATCH: usize = 32;
/// Time one level may take per tick before the next level's turn.
const LEVEL_BUDGET: Duration = Duration::from_millis(50);

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DelayOffsetFile {
    data_version: DataVersion,
    /// Level -> next offset to deliver in queue `level - 1`.
    offset_table: BTreeMap<i32, i64>,
}

/// The delay levels and the delivery progress.
pub struct Schedule {
    levels: DelayLevels,
    path: PathBuf,
    offsets: Mutex<BTreeMap<i32, i64>>,
    /// Time one level may take per round ([`LEVEL_BUDGET`]).
    budget: Duration,
}

impl Schedule {
    /// Loads the progress and corrects it against the store, before the
    /// broker serves (RocketMQ's `correctDelayOffset`): progress past a
    /// level's end (a store that lost its tail) would wait there forever,
    /// so it moves to the end, where the next delayed message will go.
    pub fn load(path: PathBuf, levels: DelayLevels, store: &Store) -> Result<Self, BrokerError> {
        let mut file: DelayOffsetFile = basalt_jsonfile::load(&path)?.unwrap_or_default();
        for (level, offset) in &mut file.offset_table {
            let max = store.max_offset(SCHEDULE_TOPIC, level - 1);
            if u64::try_from(*offset).is_ok_and(|o| o > max) {
                tracing::warn!(
                    level,
                    offset,
                    max,
                    "delay progress past the queue's end; moved to the end"
                );
                *offset = i64::try_from(max).unwrap_or(i64::MAX);
            }
        }
        Ok(Self {
            levels,
            path,
            offsets: Mutex::new(file.offset_table),
            budget: LEVEL_BUDGET,
        })
    }

    pub fn max_level(&self) -> i32 {
        i32::try_from(self.levels.len()).unwrap_or(i32::MAX)
    }

    fn delay_ms(&self, level: i32) -> i64 {
        usize::try_from(level)
            .ok()
            .and_then(|l| self.levels.millis(l))
            .unwrap_or(0)
    }

    /// If `msg` carries a delay level, redirects it into the schedule topic
    /// (clamping the level to the highest configured one). Returns whether
    /// it did.
    pub fn divert(&self, msg: &mut MessageExtBrokerInner) -> Result<bool, BrokerError> {
        let Some(raw) = msg.properties.get(DELAY) else {
            return Ok(false);
        };
        let level: i32 = raw.trim().parse().map_err(|_| {
            BrokerError::MessageIllegal(format!("the delay level {raw:?} is not a number"))
        })?;
        if level <= 0 || self.levels.is_empty() {
            return Ok(false);
        }
        let level = level.min(self.max_level());
        msg.properties.insert(DELAY, level.to_string());
        msg.properties.insert(REAL_TOPIC, msg.topic.clone());
        msg.properties.insert(REAL_QID, msg.queue_id.to_string());
        msg.topic = SCHEDULE_TOPIC.to_owned();
        msg.queue_id = level - 1;
        // The store makes the ConsumeQueue tags code the due time.
        Ok(true)
    }

    fn persist(&self) -> Result<(), BrokerError> {
        let file = DelayOffsetFile {
            data_version: DataVersion::default(),
            offset_table: self.offsets.lock().clone(),
        };
        Ok(basalt_jsonfile::persist(&self.path, &file)?)
    }

    /// Delivers due messages until `stop`, then persists progress.
    pub async fn run(self: Arc<Self>, store: Store, stop: CancellationToken) {
        loop {
            let mut moved = false;
            for level in 1..=self.max_level() {
                match self.deliver_due(&store, level).await {
                    Ok(n) => moved |= n > 0,
                    Err(e) => {
                        tracing::warn!(level, error = %e, "scheduled delivery failed; will retry")
                    }
                }
            }
            if moved {
                if let Err(e) = self.persist() {
                    tracing::error!(error = %e, "cannot persist delayOffset.json");
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(TICK) => {}
            }
        }
        if let Err(e) = self.persist() {
            tracing::error!(error = %e, "cannot persist delayOffset.json at shutdown");
        }
    }

    /// Moves the due head of one level's queue to the real topics; returns
    /// how many were delivered. Batch after batch while they come back full
    /// and due, within a time budget: one batch per tick capped a level at
    /// 320 messages a second, and a busier level fell behind for good
    /// (RocketMQ delivers everything due each round).
    async fn deliver_due(&self, store: &Store, level: i32) -> Result<usize, BrokerError> {
        let queue_id = level - 1;
        let started = std::time::Instant::now();
        let saved = self.offsets.lock().get(&level).copied().unwrap_or(0);
        // From the queue's start when retention took what it pointed at.
        let mut offset = u64::try_from(saved)
            .unwrap_or(0)
            .max(store.min_offset(SCHEDULE_TOPIC, queue_id));
        let delay = self.delay_ms(level);
        let mut delivered = 0;
        let result = loop {
            let got = store.get(SCHEDULE_TOPIC, queue_id, offset, BATCH, 4 * 1024 * 1024);
            let now = now_ms();
            let mut not_due = false;
            let mut failed = None;
            for (raw, qo) in got.messages.iter().zip(&got.queue_offsets) {
                let Some(rec) = crate::rebuild::record_or_skip(raw, SCHEDULE_TOPIC, *qo) else {
                    offset = qo + 1;
                    continue;
                };
                if rec.store_timestamp.saturating_add(delay) > now {
                    not_due = true;
                    break;
                }
                let msg = crate::rebuild::to_real_destination(&rec, &[DELAY]);
                tracing::debug!(level, topic = %msg.topic, queue = msg.queue_id, "scheduled message due");
                if let Err(e) = store.put(msg).await {
                    failed = Some(e);
                    break;
                }
                offset = qo + 1;
                delivered += 1;
            }
            // Progress is kept up to the last message delivered, also when
            // a put failed: the rest is retried, nothing delivered twice.
            if let Some(e) = failed {
                break Err(e.into());
            }
            let more = !not_due && got.messages.len() >= BATCH && started.elapsed() < self.budget;
            if !more {
                break Ok(delivered);
            }
        };
        if offset != u64::try_from(saved).unwrap_or(0) {
            self.offsets
                .lock()
                .insert(level, i64::try_from(offset).unwrap_or(i64::MAX));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn delayed(schedule: &Schedule, body: &'static [u8]) -> MessageExtBrokerInner {
        let mut m = MessageExtBrokerInner::new("T", 0, Bytes::from_static(body));
        m.born_host = "127.0.0.1:1".parse().unwrap();
        m.store_host = "127.0.0.1:2".parse().unwrap();
        m.properties.insert(DELAY, "1");
        assert!(schedule.divert(&mut m).unwrap());
        m
    }

    #[tokio::test]
    async fn a_busy_level_delivers_everything_due_and_bad_progress_is_corrected() {
        let dir = tempfile::tempdir().unwrap();
        let config = basalt_store::StoreConfig::with_root(dir.path().join("store"));
        let store = Store::open(config).unwrap();
        // Level 1 is due at once, so nothing here waits on the clock.
        let path = dir.path().join("delayOffset.json");
        let mut schedule =
            Schedule::load(path.clone(), DelayLevels::parse("0s 1h").unwrap(), &store).unwrap();
        // The round's time budget out of the way: a slow test machine must
        // not end the round early.
        schedule.budget = Duration::from_secs(600);
        for _ in 0..200 {
            store.put(delayed(&schedule, b"d")).await.unwrap();
        }
        // One round takes all 200 (it used to take 32 a tick: 320 a second).
        assert_eq!(schedule.deliver_due(&store, 1).await.unwrap(), 200);
        assert_eq!(store.max_offset("T", 0), 200);
        assert_eq!(schedule.deliver_due(&store, 1).await.unwrap(), 0);

        // Progress saved past the queue's end (a store that lost its tail)
        // restarts from the end at load, not from beyond it forever; what
        // comes after the load is delivered.
        schedule.offsets.lock().insert(1, 10_000);
        schedule.persist().unwrap();
        let levels = DelayLevels::parse("0s 1h").unwrap();
        let schedule = Schedule::load(path, levels, &store).unwrap();
        assert_eq!(schedule.offsets.lock().get(&1), Some(&200));
        store.put(delayed(&schedule, b"next")).await.unwrap();
        store.put(delayed(&schedule, b"then")).await.unwrap();
        assert_eq!(schedule.deliver_due(&store, 1).await.unwrap(), 2);
        assert_eq!(store.max_offset("T", 0), 202);
        store.shutdown().unwrap();
    }
}
