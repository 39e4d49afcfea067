//! The KV config: namespaced key/value pairs, persisted as RocketMQ's
//! `kvConfig.json` (`{"configTable":{ns:{key:value}}}`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// Loads `path`, or its `.bak` copy if the file is missing, or starts
    /// empty when neither exists.
    pub fn load(path: PathBuf) -> Result<Self, NamesrvError> {
        let bak = bak_path(&path);
        let table = match read(&path)? {
            Some(t) => t,
            None => read(&bak)?.unwrap_or_default(),
        };
        Ok(Self {
            path,
            table: Mutex::new(table),
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

    /// Writes a temp file, syncs it, keeps the old file as `.bak`, then
    /// renames: a crash leaves either the old or the new table, never half.
    fn persist(
        &self,
        table: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Result<(), NamesrvError> {
        let err = |source| NamesrvError::Persist {
            path: self.path.display().to_string(),
            source,
        };
        let json = serde_json::to_vec_pretty(&KvFile {
            config_table: table.clone(),
        })
        .map_err(|e| err(std::io::Error::other(e)))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(&json).map_err(err)?;
        f.sync_all().map_err(err)?;
        if self.path.exists() {
            std::fs::copy(&self.path, bak_path(&self.path)).map_err(err)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        Ok(())
    }
}

fn bak_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".bak");
    PathBuf::from(s)
}

fn read(path: &Path) -> Result<Option<Table>, NamesrvError> {
    let raw = match std::fs::read(path) {
        Ok(raw) => raw,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(NamesrvError::Load {
                path: path.display().to_string(),
                source,
            })
        }
    };
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let file: KvFile =
        basalt_protocol::fastjson::from_slice("kvConfig.json", &raw).map_err(|source| {
            NamesrvError::Corrupt {
                path: path.display().to_string(),
                source,
            }
        })?;
    Ok(Some(file.config_table))
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
