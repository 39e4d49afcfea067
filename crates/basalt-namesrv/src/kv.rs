//! The KV config: namespaced key/value pairs, persisted as RocketMQ's
//! `kvConfig.json` (`{"configTable":{ns:{key:value}}}`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::NamesrvError;

/// namespace -> key -> value
type Table = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct KvFile {
    config_table: Table,
}

/// The KV config, written through to disk on every change.
pub struct KvConfig {
    path: PathBuf,
    table: Mutex<Table>,
}

impl KvConfig {
    /// Loads `path` (or its `.bak`), or starts empty when neither exists.
    pub fn load(path: PathBuf) -> Result<Self, NamesrvError> {
        let file: KvFile = basalt_jsonfile::load(&path)?.unwrap_or_default();
        Ok(Self {
            path,
            table: Mutex::new(file.config_table),
        })
    }

    pub fn put(&self, namespace: &str, key: &str, value: &str) -> Result<(), NamesrvError> {
        let mut table = self.table.lock();
        table
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        self.persist(&table)
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<String> {
        self.table.lock().get(namespace)?.get(key).cloned()
    }

    /// Removes a key; a missing key is not an error (as in Java).
    pub fn delete(&self, namespace: &str, key: &str) -> Result<(), NamesrvError> {
        let mut table = self.table.lock();
        let removed = table
            .get_mut(namespace)
            .and_then(|ns| ns.remove(key))
            .is_some();
        if table.get(namespace).is_some_and(BTreeMap::is_empty) {
            table.remove(namespace);
        }
        if removed {
            self.persist(&table)?;
        }
        Ok(())
    }

    pub fn namespace(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.table.lock().get(namespace).cloned()
    }

    fn persist(&self, table: &Table) -> Result<(), NamesrvError> {
        let file = KvFile {
            config_table: table.clone(),
        };
        Ok(basalt_jsonfile::persist(&self.path, &file)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_in_rocketmq_form_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namesrv/kvConfig.json");
        let kv = KvConfig::load(path.clone()).unwrap();
        kv.put("ORDER_TOPIC_CONFIG", "T", "broker-a:4").unwrap();
        kv.put("ns", "k", "v").unwrap();
        kv.delete("ns", "k").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["configTable"]["ORDER_TOPIC_CONFIG"]["T"], "broker-a:4");
        assert!(v["configTable"].get("ns").is_none());
        let again = KvConfig::load(path.clone()).unwrap();
        assert_eq!(
            again.get("ORDER_TOPIC_CONFIG", "T").as_deref(),
            Some("broker-a:4")
        );

        std::fs::remove_file(&path).unwrap();
        let from_bak = KvConfig::load(path).unwrap();
        assert!(
            from_bak.namespace("ns").is_some(),
            "bak holds the state before the last write"
        );
    }

    #[test]
    fn corrupt_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        std::fs::write(&path, b"{\"configTable\":").unwrap();
        let err = KvConfig::load(path).err().unwrap();
        assert!(err.to_string().contains("kvConfig.json"), "{err}");
    }
}
