//! The broker's topic table (`topics.json`), system topics, validation and
//! auto-creation from the TBW102 template.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use basalt_protocol::body::register::{
    perm, DataVersion, TopicConfig, TopicConfigSerializeWrapper,
};
use parking_lot::{Mutex, RwLock};

use crate::BrokerError;

/// The auto-create template topic.
pub const TBW102: &str = "TBW102";
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
pub const RETRY_PREFIX: &str = "%RETRY%";
pub const DLQ_PREFIX: &str = "%DLQ%";
const MAX_TOPIC_LEN: usize = 127;
const MAX_RETRY_TOPIC_LEN: usize = 255;
/// Queues a topic may have. RocketMQ sets no bound, but the stats
/// requests walk every queue id: one `updateTopic -w 2147483647` then
/// made a single request build a map the size of the memory. Sixteen
/// times `BenchmarkTest`'s 1024.
pub const MAX_QUEUE_NUMS: i32 = 16 * 1024;

/// Topics producers may not send to.
const NOT_ALLOWED_SEND: [&str; 6] = [
    SCHEDULE_TOPIC,
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// RocketMQ's set of system topics (`TopicValidator.getSystemTopicSet`).
pub const SYSTEM_TOPICS: [&str; 10] = [
    TBW102,
    SCHEDULE_TOPIC,
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "CHECKPOINT_TOPIC",
];

/// RocketMQ's system topics (`TopicValidator.isSystemTopic`): the set and
/// every `rmq_sys_` name. Left out of the broker's own message totals.
pub fn is_system(topic: &str) -> bool {
    SYSTEM_TOPICS.contains(&topic) || topic.starts_with("rmq_sys_")
}

/// Whether every character is one RocketMQ allows in topic and group
/// names: `^[%|a-zA-Z0-9_-]+$`.
pub(crate) fn legal_chars(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// Checks a topic name as RocketMQ's `TopicValidator` does.
pub fn validate(topic: &str) -> Result<(), BrokerError> {
    // The characters first: a name of legal ones is blank only when empty,
    // so the (Unicode) trim is left to names already refused (it cost half
    // of this check on every send). The errors come in Java's order.
    let legal = !topic.is_empty() && legal_chars(topic);
    if !legal && topic.trim().is_empty() {
        return Err(BrokerError::InvalidTopic(
            "the specified topic is blank".into(),
        ));
    }
    let max = if topic.starts_with(RETRY_PREFIX) || topic.starts_with(DLQ_PREFIX) {
        MAX_RETRY_TOPIC_LEN
    } else {
        MAX_TOPIC_LEN
    };
    if topic.len() > max {
        return Err(BrokerError::InvalidTopic(format!(
            "the specified topic is longer than topic max length {max}"
        )));
    }
    if !legal {
        return Err(BrokerError::InvalidTopic(format!(
            "the specified topic[{topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        )));
    }
    Ok(())
}

/// Refuses sends to internal topics.
pub fn check_send_allowed(topic: &str) -> Result<(), BrokerError> {
    if NOT_ALLOWED_SEND.contains(&topic) {
        return Err(BrokerError::NoPermission(format!(
            "sending message to topic[{topic}] is forbidden"
        )));
    }
    Ok(())
}

pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_PREFIX}{group}")
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TopicsFile {
    data_version: DataVersion,
    topic_config_table: BTreeMap<String, TopicConfig>,
    /// What a send reads of each topic, hashed: every send looks its topic
    /// up, and the ordered table's string compares down a tree cost twice
    /// a hash. Kept in step by every change of the table.
    #[serde(skip)]
    views: HashMap<String, SendView, foldhash::fast::RandomState>,
}

impl TopicsFile {
    fn put(&mut self, config: TopicConfig) {
        self.views
            .insert(config.topic_name.clone(), SendView::of(&config));
        self.topic_config_table
            .insert(config.topic_name.clone(), config);
    }

    fn remove(&mut self, name: &str) -> bool {
        self.views.remove(name);
        self.topic_config_table.remove(name).is_some()
    }
}

/// A topic's permission and queue counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendView {
    pub perm: i32,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
}

impl SendView {
    pub fn of(c: &TopicConfig) -> Self {
        Self {
            perm: c.perm,
            read_queue_nums: c.read_queue_nums,
            write_queue_nums: c.write_queue_nums,
        }
    }
}

/// The topic table. Changes bump the data version, persist, and (through
/// the caller) trigger a re-registration with the name servers.
pub struct Topics {
    path: PathBuf,
    table: RwLock<TopicsFile>,
    persisting: Mutex<()>,
}

fn topic(name: &str, queues: i32, p: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_owned(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: p,
        ..TopicConfig::default()
    }
}

impl Topics {
    /// Loads `topics.json` and adds the system topics RocketMQ creates at
    /// start.
    pub fn load(
        path: PathBuf,
        cluster: &str,
        broker_name: &str,
        auto_create: bool,
        default_queues: i32,
    ) -> Result<Self, BrokerError> {
        let mut file: TopicsFile = basalt_jsonfile::load(&path)?.unwrap_or_default();
        let rw = perm::READ | perm::WRITE;
        let mut system = vec![
            topic("SELF_TEST_TOPIC", 1, rw),
            topic("BenchmarkTest", 1024, rw),
            topic(cluster, 16, perm::INHERIT),
            topic(broker_name, 1, perm::INHERIT),
            topic("OFFSET_MOVED_EVENT", 1, rw),
            topic(SCHEDULE_TOPIC, 18, rw),
            topic(&format!("{cluster}_REPLY_TOPIC"), 1, rw),
            topic("RMQ_SYS_TRANS_HALF_TOPIC", 1, rw),
            topic("RMQ_SYS_TRANS_OP_HALF_TOPIC", 1, rw),
            topic("rmq_sys_wheel_timer", 1, rw),
        ];
        if auto_create {
            system.push(topic(TBW102, default_queues, rw | perm::INHERIT));
        } else {
            file.topic_config_table.remove(TBW102);
        }
        for t in system {
            file.topic_config_table
                .entry(t.topic_name.clone())
                .or_insert(t);
        }
        for c in file.topic_config_table.values_mut() {
            let (r, w) = (c.read_queue_nums, c.write_queue_nums);
            c.read_queue_nums = r.min(MAX_QUEUE_NUMS);
            c.write_queue_nums = w.min(MAX_QUEUE_NUMS);
            if (r, w) != (c.read_queue_nums, c.write_queue_nums) {
                tracing::warn!(topic = %c.topic_name, read = r, write = w,
                    max = MAX_QUEUE_NUMS, "queue counts above the bound; clamped");
            }
        }
        file.views = file
            .topic_config_table
            .iter()
            .map(|(name, c)| (name.clone(), SendView::of(c)))
            .collect();
        let topics = Self {
            path,
            table: RwLock::new(file),
            persisting: Mutex::new(()),
        };
        topics.persist()?;
        Ok(topics)
    }

    pub fn get(&self, name: &str) -> Option<TopicConfig> {
        self.table.read().topic_config_table.get(name).cloned()
    }

    /// What a send needs of a topic, without cloning its config (the send
    /// path asks once per message).
    pub fn send_view(&self, name: &str) -> Option<SendView> {
        self.table.read().views.get(name).copied()
    }

    pub fn all(&self) -> BTreeMap<String, TopicConfig> {
        self.table.read().topic_config_table.clone()
    }

    /// The table as registered with name servers, perms masked by the
    /// broker's own permission.
    pub fn wrapper(&self, broker_perm: i32) -> TopicConfigSerializeWrapper {
        let t = self.table.read();
        let mut topic_config_table = t.topic_config_table.clone();
        for tc in topic_config_table.values_mut() {
            if broker_perm & perm::WRITE == 0 || broker_perm & perm::READ == 0 {
                tc.perm &= broker_perm;
            }
        }
        TopicConfigSerializeWrapper {
            data_version: t.data_version.clone(),
            topic_config_table,
        }
    }

    /// A new data version with the table unchanged: what a registration
    /// carries when the broker's permission (ANDed into every topic's)
    /// changed, so name servers read the topics again.
    pub fn touch(&self) -> Result<(), BrokerError> {
        bump(&mut self.table.write().data_version);
        self.persist()
    }

    /// Creates or replaces a topic.
    pub fn upsert(&self, config: TopicConfig) -> Result<(), BrokerError> {
        self.upsert_all(vec![config])
    }

    /// Creates or replaces topics, with one new data version and one write.
    pub fn upsert_all(&self, configs: Vec<TopicConfig>) -> Result<(), BrokerError> {
        {
            let mut t = self.table.write();
            for config in configs {
                t.put(config);
            }
            bump(&mut t.data_version);
        }
        self.persist()
    }

    pub fn delete(&self, name: &str) -> Result<bool, BrokerError> {
        let removed = {
            let mut t = self.table.write();
            let removed = t.remove(name);
            if removed {
                bump(&mut t.data_version);
            }
            removed
        };
        if removed {
            self.persist()?;
        }
        Ok(removed)
    }

    /// Creates `name` from `template` for a send to an unknown topic:
    /// queues = min(requested, template write queues), perm = template perm
    /// without INHERIT. `None` when the template is missing or does not
    /// allow inheritance.
    pub fn create_from_template(
        &self,
        name: &str,
        template: &str,
        requested_queues: i32,
    ) -> Result<Option<TopicConfig>, BrokerError> {
        if let Some(existing) = self.get(name) {
            return Ok(Some(existing));
        }
        let Some(tpl) = self.get(template) else {
            return Ok(None);
        };
        if tpl.perm & perm::INHERIT == 0 {
            return Ok(None);
        }
        let queues = requested_queues.clamp(1, tpl.write_queue_nums.max(1));
        let config = topic(name, queues, tpl.perm & !perm::INHERIT);
        self.upsert(config.clone())?;
        Ok(Some(config))
    }

    /// Creates a retry/DLQ-style system topic with `queues` queues if absent.
    /// Returns whether it was created.
    pub fn ensure(&self, name: &str, queues: i32) -> Result<bool, BrokerError> {
        if self.get(name).is_some() {
            return Ok(false);
        }
        self.upsert(topic(name, queues, perm::READ | perm::WRITE))?;
        Ok(true)
    }

    /// One writer at a time, and the snapshot is taken once the turn has
    /// come, so a slower writer never puts an older table over a newer one
    /// (concurrent auto-creations used to race on the temp file).
    fn persist(&self) -> Result<(), BrokerError> {
        let _turn = self.persisting.lock();
        let t = self.table.read();
        Ok(basalt_jsonfile::persist(&self.path, &*t)?)
    }
}

fn bump(v: &mut DataVersion) {
    v.counter += 1;
    v.timestamp = now_ms();
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_matches_rocketmq() {
        assert!(validate("Topic_A-1|%x").is_ok());
        assert!(validate("").is_err());
        // Java's order: blank, then too long, then illegal characters.
        let message = |t: &str| validate(t).unwrap_err().to_string();
        assert!(message(" \t ").contains("blank"), "{}", message(" \t "));
        assert!(message(&" x".repeat(100)).contains("longer"));
        assert!(message(" x").contains("illegal"));
        assert!(validate("bad topic").is_err());
        assert!(validate("bad/topic").is_err());
        assert!(validate(&"a".repeat(128)).is_err());
        assert!(validate(&format!("%RETRY%{}", "g".repeat(200))).is_ok());
        assert!(check_send_allowed("SCHEDULE_TOPIC_XXXX").is_err());
        assert!(check_send_allowed("T").is_ok());
    }

    #[test]
    fn auto_create_from_template_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/topics.json");
        let t = Topics::load(path.clone(), "C", "b", true, 8).unwrap();
        let created = t.create_from_template("NewT", TBW102, 4).unwrap().unwrap();
        assert_eq!((created.write_queue_nums, created.perm), (4, 6));
        let again = Topics::load(path.clone(), "C", "b", true, 8).unwrap();
        assert_eq!(again.get("NewT").unwrap().read_queue_nums, 4);
        let raw: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(raw["topicConfigTable"]["NewT"]["topicName"], "NewT");
        assert!(raw["dataVersion"]["counter"].as_i64().unwrap() >= 1);

        let off = Topics::load(dir.path().join("other.json"), "C", "b", false, 8).unwrap();
        assert!(off.create_from_template("X", TBW102, 4).unwrap().is_none());
    }

    #[test]
    fn queue_counts_from_the_file_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.json");
        let t = Topics::load(path.clone(), "C", "b", true, 8).unwrap();
        t.upsert(topic("Wide", 4, 6)).unwrap();
        // Edited by hand (or by a broker without the bound) afterwards.
        let mut raw: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        raw["topicConfigTable"]["Wide"]["writeQueueNums"] = i32::MAX.into();
        std::fs::write(&path, serde_json::to_vec(&raw).unwrap()).unwrap();
        let t = Topics::load(path, "C", "b", true, 8).unwrap();
        let wide = t.get("Wide").unwrap();
        assert_eq!(
            (wide.read_queue_nums, wide.write_queue_nums),
            (4, MAX_QUEUE_NUMS)
        );
        assert_eq!(
            t.send_view("Wide").unwrap().write_queue_nums,
            MAX_QUEUE_NUMS
        );
    }

    #[test]
    fn concurrent_auto_creations_all_persist() {
        let dir = tempfile::tempdir().unwrap();
        let t = std::sync::Arc::new(
            Topics::load(dir.path().join("config/topics.json"), "C", "b", true, 8).unwrap(),
        );
        let workers: Vec<_> = (0..8)
            .map(|i| {
                let t = std::sync::Arc::clone(&t);
                std::thread::spawn(move || {
                    for n in 0..20 {
                        t.create_from_template(&format!("T{}", (i + n) % 5), TBW102, 4)
                            .unwrap();
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let again = Topics::load(dir.path().join("config/topics.json"), "C", "b", true, 8).unwrap();
        assert!((0..5).all(|i| again.get(&format!("T{i}")).is_some()));
    }

    #[test]
    fn the_send_view_follows_every_change_of_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/topics.json");
        let t = Topics::load(path.clone(), "C", "b", true, 8).unwrap();
        let view = |t: &Topics, name: &str| t.send_view(name).map(|v| (v.perm, v.write_queue_nums));
        assert_eq!(
            view(&t, TBW102),
            Some((perm::READ | perm::WRITE | perm::INHERIT, 8))
        );
        assert_eq!(view(&t, "T"), None);
        t.upsert(topic("T", 3, perm::READ)).unwrap();
        assert_eq!(view(&t, "T"), Some((perm::READ, 3)));
        t.upsert(topic("T", 5, perm::READ | perm::WRITE)).unwrap();
        assert_eq!(view(&t, "T"), Some((perm::READ | perm::WRITE, 5)));
        // Loaded from the file, not only from what this process did.
        let again = Topics::load(path, "C", "b", true, 8).unwrap();
        assert_eq!(view(&again, "T"), Some((perm::READ | perm::WRITE, 5)));
        assert!(t.delete("T").unwrap());
        assert_eq!(view(&t, "T"), None);
        assert!(t.create_from_template("U", TBW102, 2).unwrap().is_some());
        assert_eq!(view(&t, "U"), Some((perm::READ | perm::WRITE, 2)));
    }
}
