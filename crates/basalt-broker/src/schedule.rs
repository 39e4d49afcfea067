//! Delay levels (RocketMQ's `ScheduleMessageService`): a message with a
//! `DELAY` level is stored in `SCHEDULE_TOPIC_XXXX`, queue `level - 1`, with
//! its real topic and queue in properties; when due it is re-stored to the
//! real topic. Progress per level is persisted in `delayOffset.json`, so a
//! restart neither loses nor re-delivers scheduled messages.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use basalt_message::properties::{DELAY, REAL_QID, REAL_TOPIC, WAIT};
use basalt_message::{BlankOrRecord, MessageExtBrokerInner};
use basalt_protocol::body::register::DataVersion;
use basalt_store::{DelayLevels, Store};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::topics::{now_ms, SCHEDULE_TOPIC};
use crate::BrokerError;

/// How often the delivery loop looks for due messages at most.
const TICK: Duration = Duration::from_millis(100);
/// Messages delivered per level per tick, at most.
const BATCH: usize = 32;

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
}

impl Schedule {
    pub fn load(path: PathBuf, levels: DelayLevels) -> Result<Self, BrokerError> {
        let file: DelayOffsetFile = basalt_jsonfile::load(&path)?.unwrap_or_default();
        Ok(Self {
            levels,
            path,
            offsets: Mutex::new(file.offset_table),
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
    pub fn divert(&self, msg: &mut MessageExtBrokerInner) -> bool {
        let Some(level) = msg
            .properties
            .get(DELAY)
            .and_then(|d| d.trim().parse::<i32>().ok())
        else {
            return false;
        };
        if level <= 0 || self.levels.is_empty() {
            return false;
        }
        let level = level.min(self.max_level());
        msg.properties.insert(DELAY, level.to_string());
        msg.properties.insert(REAL_TOPIC, msg.topic.clone());
        msg.properties.insert(REAL_QID, msg.queue_id.to_string());
        msg.topic = SCHEDULE_TOPIC.to_owned();
        msg.queue_id = level - 1;
        // The store makes the ConsumeQueue tags code the due time.
        true
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
    /// how many were delivered.
    async fn deliver_due(&self, store: &Store, level: i32) -> Result<usize, BrokerError> {
        let queue_id = level - 1;
        let start = self.offsets.lock().get(&level).copied().unwrap_or(0);
        let mut offset = u64::try_from(start)
            .unwrap_or(0)
            .max(store.min_offset(SCHEDULE_TOPIC, queue_id));
        let got = store.get(SCHEDULE_TOPIC, queue_id, offset, BATCH, 4 * 1024 * 1024);
        let now = now_ms();
        let delay = self.delay_ms(level);
        let mut delivered = 0;
        for (raw, qo) in got.messages.iter().zip(&got.queue_offsets) {
            let BlankOrRecord::Record(rec) = Store::decode(raw)? else {
                offset = qo + 1;
                continue;
            };
            if rec.store_timestamp.saturating_add(delay) > now {
                break;
            }
            let mut props = rec.properties();
            let real_topic = props.remove(REAL_TOPIC).unwrap_or_default();
            let real_qid = props
                .remove(REAL_QID)
                .and_then(|q| q.parse().ok())
                .unwrap_or(0);
            props.remove(DELAY);
            props.insert(WAIT, "false");
            let msg = crate::rebuild::from_record(&rec, real_topic, real_qid, props);
            tracing::debug!(level, topic = %msg.topic, queue = msg.queue_id, "scheduled message due");
            store.put(msg).await?;
            offset = qo + 1;
            delivered += 1;
        }
        if offset > u64::try_from(start).unwrap_or(0) {
            self.offsets
                .lock()
                .insert(level, i64::try_from(offset).unwrap_or(i64::MAX));
        }
        Ok(delivered)
    }
}
