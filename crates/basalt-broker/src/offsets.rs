//! Committed consumer offsets (`consumerOffset.json`): `topic@group` ->
//! queue id -> next offset to consume. Kept in memory, persisted every
//! `flushConsumerOffsetInterval` and at shutdown, like RocketMQ.

use std::collections::BTreeMap;
use std::path::PathBuf;

use basalt_protocol::body::register::DataVersion;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::BrokerError;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct OffsetsFile {
    data_version: DataVersion,
    offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

pub struct Offsets {
    path: PathBuf,
    table: RwLock<BTreeMap<String, BTreeMap<i32, i64>>>,
    /// Offsets an admin reset assigned that the group's consumers have not
    /// pulled yet (RocketMQ's server-side reset, its 5.x default): the next
    /// pull of the queue is moved there, and commits meanwhile are ignored.
    resets: RwLock<BTreeMap<String, BTreeMap<i32, i64>>>,
    dirty: std::sync::atomic::AtomicBool,
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

impl Offsets {
    pub fn load(path: PathBuf) -> Result<Self, BrokerError> {
        let file: OffsetsFile = basalt_jsonfile::load(&path)?.unwrap_or_default();
        Ok(Self {
            path,
            table: RwLock::new(file.offset_table),
            resets: RwLock::default(),
            dirty: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.table
            .write()
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
        self.dirty.store(true, std::sync::atomic::Ordering::Release);
    }

    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.table
            .read()
            .get(&key(topic, group))?
            .get(&queue_id)
            .copied()
    }

    /// Every queue offset of a group on a topic.
    pub fn of(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.table
            .read()
            .get(&key(topic, group))
            .cloned()
            .unwrap_or_default()
    }

    /// Topics a group has committed offsets for.
    pub fn topics_of(&self, group: &str) -> Vec<String> {
        let suffix = format!("@{group}");
        self.table
            .read()
            .keys()
            .filter_map(|k| k.strip_suffix(&suffix).map(str::to_owned))
            .collect()
    }

    /// Groups with committed offsets on `topic`.
    pub fn groups_of(&self, topic: &str) -> Vec<String> {
        let prefix = format!("{topic}@");
        self.table
            .read()
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }

    /// Gives `dest` the offsets `src` has on `topic` (replacing its own);
    /// false when `src` has none there.
    pub fn copy_group(&self, src: &str, dest: &str, topic: &str) -> bool {
        let mut table = self.table.write();
        let Some(offsets) = table.get(&key(topic, src)).cloned() else {
            return false;
        };
        table.insert(key(topic, dest), offsets);
        self.dirty.store(true, std::sync::atomic::Ordering::Release);
        true
    }

    /// Drops every offset of `topic` (topic deleted).
    pub fn remove_topic(&self, topic: &str) {
        let prefix = format!("{topic}@");
        self.table.write().retain(|k, _| !k.starts_with(&prefix));
        self.dirty.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Sets `group`'s offset on a queue as an admin reset does: committed
    /// now, and handed to the next pull of the queue.
    pub fn assign_reset(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        // Recorded before the commit: a consumer commit in between is then
        // refused (see `has_reset`) instead of overwriting the reset.
        self.resets
            .write()
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
        self.commit(group, topic, queue_id, offset);
    }

    /// A reset not pulled yet, if any.
    pub fn has_reset(&self, group: &str, topic: &str, queue_id: i32) -> bool {
        self.resets
            .read()
            .get(&key(topic, group))
            .is_some_and(|q| q.contains_key(&queue_id))
    }

    /// Takes the reset waiting for the queue's next pull.
    pub fn take_reset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let mut resets = self.resets.write();
        let k = key(topic, group);
        let queues = resets.get_mut(&k)?;
        let offset = queues.remove(&queue_id);
        if queues.is_empty() {
            resets.remove(&k);
        }
        offset
    }

    /// Drops every offset of `group` (`deleteSubGroup -r true`).
    pub fn remove_group(&self, group: &str) {
        let suffix = format!("@{group}");
        self.table.write().retain(|k, _| !k.ends_with(&suffix));
        self.dirty.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Writes the table if anything changed since the last write.
    pub fn persist(&self) -> Result<(), BrokerError> {
        if !self.dirty.swap(false, std::sync::atomic::Ordering::AcqRel) {
            return Ok(());
        }
        let file = OffsetsFile {
            data_version: DataVersion::default(),
            offset_table: self.table.read().clone(),
        };
        basalt_jsonfile::persist(&self.path, &file).inspect_err(|_| {
            self.dirty.store(true, std::sync::atomic::Ordering::Release);
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_survive_a_reload_and_read_java_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consumerOffset.json");
        let o = Offsets::load(path.clone()).unwrap();
        o.commit("g", "T", 1, 42);
        o.persist().unwrap();
        assert_eq!(
            Offsets::load(path.clone()).unwrap().query("g", "T", 1),
            Some(42)
        );
        std::fs::write(&path, br#"{"offsetTable":{"T@g":{0:15,1:20}}}"#).unwrap();
        let java = Offsets::load(path).unwrap();
        assert_eq!(java.query("g", "T", 0), Some(15));
        assert_eq!(java.topics_of("g"), vec!["T".to_owned()]);
    }
}
