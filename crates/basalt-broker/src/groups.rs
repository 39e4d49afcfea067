//! Subscription groups (`subscriptionGroup.json`), auto-created on first use
//! when `autoCreateSubscriptionGroup` is on.

use std::collections::BTreeMap;
use std::path::PathBuf;

use basalt_protocol::body::register::DataVersion;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::topics::now_ms;
use crate::BrokerError;

/// `SubscriptionGroupConfig` with RocketMQ's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupConfig {
    pub attributes: BTreeMap<String, String>,
    pub broker_id: i64,
    pub consume_broadcast_enable: bool,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_message_orderly: bool,
    pub consume_timeout_minute: i32,
    pub group_name: String,
    pub group_sys_flag: i32,
    pub notify_consumer_ids_changed_enable: bool,
    pub retry_max_times: i32,
    pub retry_queue_nums: i32,
    pub which_broker_when_consume_slowly: i64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            attributes: BTreeMap::new(),
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: String::new(),
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            which_broker_when_consume_slowly: 1,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct GroupsFile {
    data_version: DataVersion,
    forbidden_table: BTreeMap<String, serde_json::Value>,
    subscription_group_table: BTreeMap<String, GroupConfig>,
}

/// Longest group name RocketMQ accepts.
const GROUP_MAX_LEN: usize = 120;

/// Checks a group name as RocketMQ's `TopicValidator.validateGroup` does,
/// in its order (blank, characters, length).
pub fn validate_name(group: &str) -> Result<(), BrokerError> {
    if group.trim().is_empty() {
        return Err(BrokerError::InvalidParameter(
            "The specified group is blank.".into(),
        ));
    }
    if !crate::topics::legal_chars(group) {
        return Err(BrokerError::InvalidParameter(format!(
            "The specified group: {group}, contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        )));
    }
    if group.len() > GROUP_MAX_LEN {
        return Err(BrokerError::InvalidParameter(format!(
            "The specified group: {group}, is longer than group max length: {GROUP_MAX_LEN}"
        )));
    }
    Ok(())
}

/// RocketMQ's system consumer groups and whether each consumes broadcast.
const SYSTEM_GROUPS: [(&str, bool); 8] = [
    ("TOOLS_CONSUMER", false),
    ("FILTERSRV_CONSUMER", false),
    ("SELF_TEST_C_GROUP", false),
    ("CID_ONS-HTTP-PROXY", true),
    ("CID_ONSAPI_PULL", true),
    ("CID_ONSAPI_PERMISSION", true),
    ("CID_ONSAPI_OWNER", true),
    ("CID_RMQ_SYS_TRANS", true),
];

pub struct Groups {
    path: PathBuf,
    /// `autoCreateSubscriptionGroup` (updateBrokerConfig changes it).
    auto_create: std::sync::atomic::AtomicBool,
    table: RwLock<GroupsFile>,
    persisting: Mutex<()>,
}

impl Groups {
    pub fn load(path: PathBuf, auto_create: bool) -> Result<Self, BrokerError> {
        let mut file: GroupsFile = basalt_jsonfile::load(&path)?.unwrap_or_default();
        // The groups RocketMQ's broker always has (SubscriptionGroupManager
        // init), unless the file holds them already: tools and the
        // transaction checker use them, and offsets are refused for groups
        // that do not exist.
        for (name, broadcast) in SYSTEM_GROUPS {
            file.subscription_group_table
                .entry(name.to_owned())
                .or_insert_with(|| GroupConfig {
                    group_name: name.to_owned(),
                    consume_broadcast_enable: broadcast,
                    ..GroupConfig::default()
                });
        }
        Ok(Self {
            path,
            auto_create: std::sync::atomic::AtomicBool::new(auto_create),
            table: RwLock::new(file),
            persisting: Mutex::new(()),
        })
    }

    pub fn set_auto_create(&self, on: bool) {
        self.auto_create
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn get(&self, group: &str) -> Option<GroupConfig> {
        self.table
            .read()
            .subscription_group_table
            .get(group)
            .cloned()
    }

    /// The group's config, created with defaults if allowed; `None` when
    /// the group is unknown and auto-creation is off.
    pub fn find_or_create(&self, group: &str) -> Result<Option<GroupConfig>, BrokerError> {
        if let Some(g) = self.get(group) {
            return Ok(Some(g));
        }
        if !self.auto_create.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(None);
        }
        let config = GroupConfig {
            group_name: group.to_owned(),
            ..GroupConfig::default()
        };
        self.upsert(config.clone())?;
        Ok(Some(config))
    }

    pub fn upsert(&self, config: GroupConfig) -> Result<(), BrokerError> {
        self.upsert_all(vec![config])
    }

    /// Creates or replaces groups, with one new data version and one write.
    pub fn upsert_all(&self, configs: Vec<GroupConfig>) -> Result<(), BrokerError> {
        {
            let mut t = self.table.write();
            for config in configs {
                t.subscription_group_table
                    .insert(config.group_name.clone(), config);
            }
            t.data_version.counter += 1;
            t.data_version.timestamp = now_ms();
        }
        self.persist()
    }

    pub fn delete(&self, group: &str) -> Result<(), BrokerError> {
        let removed = self
            .table
            .write()
            .subscription_group_table
            .remove(group)
            .is_some();
        if removed {
            self.persist()?;
        }
        Ok(())
    }

    /// `{"dataVersion":..,"subscriptionGroupTable":{..}}` as GET_ALL_SUBSCRIPTIONGROUP_CONFIG answers.
    /// Every group's name.
    pub fn names(&self) -> Vec<String> {
        self.table
            .read()
            .subscription_group_table
            .keys()
            .cloned()
            .collect()
    }

    pub fn encode_all(&self) -> Vec<u8> {
        serde_json::to_vec(&*self.table.read()).unwrap_or_default()
    }

    /// One writer at a time, snapshot taken in turn (see `Topics::persist`).
    fn persist(&self) -> Result<(), BrokerError> {
        let _turn = self.persisting.lock();
        Ok(basalt_jsonfile::persist(&self.path, &*self.table.read())?)
    }
}
