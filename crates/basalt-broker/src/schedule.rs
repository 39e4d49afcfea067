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
use basalt_store::Store;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::topics::{now_ms, SCHEDULE_TOPIC};
use crate::BrokerError;

/// How often the delivery loop looks for due messages at most.
const TICK: Duration = Duration::from_millis(100);
/// Messages delivered per level per tick, at most.
const BATCH: usize = 32;

/// Parses `messageDelayLevel` ("1s 5s 10s 30s 1m ... 2h"; units s, m, h, d).
pub fn parse_levels(spec: &str) -> Result<Vec<Duration>, BrokerError> {
    spec.split_whitespace()
        .map(|item| {
            let bad = || BrokerError::BadConfig {
                key: "messageDelayLevel".into(),
                value: spec.to_owned(),
            };
            let (num, unit) = item.split_at(item.len().saturating_sub(1));
            let n: u64 = num.parse().map_err(|_| bad())?;
            let secs = match unit {
                "s" => n,
                "m" => n * 60,
                "h" => n * 3600,
                "d" => n * 86_400,
                _ => return Err(bad()),
            };
            Ok(Duration::from_secs(secs))
        })
        .collect()
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DelayOffsetFile {
    data_version: DataVersion,
    /// Level -> next offset to deliver in queue `level - 1`.
    offset_table: BTreeMap<i32, i64>,
}

/// The delay levels and the delivery progress.
pub struct Schedule {
    levels: Vec<Duration>,
    path: PathBuf,
    offsets: Mutex<BTreeMap<i32, i64>>,
}

impl Schedule {
    pub fn load(path: PathBuf, levels: Vec<Duration>) -> Result<Self, BrokerError> {
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

    fn delay_of(&self, level: i32) -> Duration {
        usize::try_from(level - 1)
            .ok()
            .and_then(|i| self.levels.get(i))
            .copied()
            .unwrap_or_default()
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
        // The ConsumeQueue tags code of a scheduled message is its due time.
        let due = now_ms()
            .saturating_add(i64::try_from(self.delay_of(level).as_millis()).unwrap_or(i64::MAX));
        msg.tags_code = Some(due);
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
        let delay = i64::try_from(self.delay_of(level).as_millis()).unwrap_or(i64::MAX);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rocketmq_default_levels_parse() {
        let l = parse_levels("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h").unwrap();
        assert_eq!(l.len(), 18);
        assert_eq!(l[2], Duration::from_secs(10));
        assert_eq!(l[17], Duration::from_secs(7200));
        assert!(parse_levels("1x").is_err());
        assert!(parse_levels("s").is_err());
    }
}
