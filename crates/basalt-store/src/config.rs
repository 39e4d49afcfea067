//! Store configuration, with RocketMQ's `MessageStoreConfig` key names so
//! existing `broker.conf` files keep working. Unknown keys are ignored.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// When a put is acknowledged relative to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlushDiskType {
    /// Acknowledge after the record is durable (group commit).
    SyncFlush,
    /// Acknowledge after the record is in the page cache; a flusher syncs periodically.
    #[default]
    AsyncFlush,
}

/// What recovery does with a CommitLog record that fails validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecoveryPolicy {
    /// Default. An invalid record with no valid record after it is a torn
    /// tail (a write the crash interrupted): truncate it. An invalid record
    /// followed by a valid one is corruption in the middle: refuse to open,
    /// naming the file and offset.
    #[default]
    TruncateTornTail,
    /// Apache RocketMQ's behaviour: truncate at the first invalid record,
    /// dropping everything after it, even valid records.
    TruncateAtFirstInvalid,
    /// Refuse to open on any invalid record, even a torn tail.
    Strict,
}

/// Store settings. Durations are in milliseconds unless named otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StoreConfig {
    /// Root of `commitlog/`, `consumequeue/`, `index/`, `checkpoint`, `abort`.
    /// Default: `$HOME/store`.
    pub store_path_root_dir: PathBuf,
    /// Where the CommitLog files are, when not `<root>/commitlog` (one
    /// directory; RocketMQ's comma-separated list of several is refused).
    pub store_path_commit_log: Option<PathBuf>,
    /// CommitLog file size in bytes. Default: 1 GiB (1073741824).
    pub mapped_file_size_commit_log: u64,
    /// ConsumeQueue file size in bytes, a multiple of 20. Default: 300000 x 20 = 6000000.
    pub mapped_file_size_consume_queue: u64,
    /// Default: `ASYNC_FLUSH`.
    pub flush_disk_type: FlushDiskType,
    /// How long a SYNC_FLUSH put waits for durability before answering
    /// FLUSH_DISK_TIMEOUT (the record stays stored). Default: 5000.
    pub sync_flush_timeout: u64,
    /// A CommitLog write stuck longer than this (a stalled disk) makes the
    /// broker refuse sends with SYSTEM_BUSY until it finishes, so clients
    /// turn to other brokers (RocketMQ's page-cache-busy flow control).
    /// Default: 1000.
    pub os_page_cache_busy_time_out_mills: u64,
    /// Basalt only. Under SYNC_FLUSH and load, the least time between the
    /// starts of two group-commit syncs, in microseconds.
    /// Each sync costs the machine ~0.1 ms of CPU (kernel, wake-ups), so
    /// when puts arrive faster than syncs complete, fewer and larger syncs
    /// leave that CPU to the puts. 0 syncs as soon as anything waits (as
    /// Apache RocketMQ does). Default: 700 (on the 2-core benchmark
    /// machine 400 us cost throughput and 2500 us capped 64 producers).
    pub group_commit_delay_micros: u64,
    /// Basalt only. The group commit waits (see `groupCommitDelayMicros`)
    /// only when the previous sync covered at least this many puts, so a
    /// light load never waits. Default: 32.
    pub group_commit_siblings: u64,
    /// ASYNC_FLUSH flusher period. Default: 500.
    pub flush_interval_commit_log: u64,
    /// ASYNC_FLUSH flushes only when this many 4 KiB pages are dirty. Default: 4.
    pub flush_commit_log_least_pages: u32,
    /// ASYNC_FLUSH flushes everything at least this often. Default: 10000.
    pub flush_commit_log_thorough_interval: u64,
    /// ConsumeQueue flush period (and the checkpoint's). Default: 1000.
    pub flush_interval_consume_queue: u64,
    /// The index files are synced at most this often (and at shutdown).
    /// Each sync write-protects every dirty hash-slot page, and the next
    /// put into each of them faults again: synced every second, that was
    /// ~2.6% of the broker's CPU under load. Apache RocketMQ syncs an index
    /// file only when it rolls to the next one. A killed process loses no
    /// entry either way (the pages are in the page cache); an OS crash
    /// loses the entries since the last sync (the index is a lookup aid;
    /// the CommitLog is the truth). Default: 60000 (Apache's default for
    /// this key, its ConsumeQueue thorough-flush period).
    pub flush_consume_queue_thorough_interval: u64,
    /// RocketMQ's transient store pool: appends are staged in memory and
    /// committed to the file every `commitIntervalCommitLog`; under
    /// ASYNC_FLUSH a put is answered once staged, so a crash loses what was
    /// not committed yet (see `transient`). Default: false.
    pub transient_store_pool_enable: bool,
    /// Commit period of the transient store pool; under ASYNC_FLUSH without
    /// it, the longest a staged record waits for a commit its appender did
    /// not make. Default: 200.
    pub commit_interval_commit_log: u64,
    /// Write zeros into the newest CommitLog file a window ahead of the
    /// appender, so group-commit syncs do not pay for converting freshly
    /// allocated blocks (see `warm`). Always on under SYNC_FLUSH; this turns
    /// it on under ASYNC_FLUSH too. (Apache RocketMQ's flag of that name
    /// writes the whole file when it is created.) Default: false.
    pub warm_maped_file_enable: bool,
    /// Largest accepted body in bytes. Default: 4 MiB (4194304).
    pub max_message_size: u32,
    /// Retention starts deleting expired files early above this percentage.
    /// Default: 75. (RocketMQ cleans at this ratio; it refuses writes only at
    /// `diskSpaceWarningLevelRatio`.)
    pub disk_max_used_space_ratio: u32,
    /// Writes are refused while disk usage is above this percentage. Default: 90.
    pub disk_space_warning_level_ratio: u32,
    /// Retention deletes files regardless of age above this percentage. Default: 85.
    pub disk_space_clean_forcibly_ratio: u32,
    /// Hours a CommitLog file is kept after its last write. Default: 72.
    pub file_reserved_time: u64,
    /// CommitLog files one retention pass deletes at most; the next pass
    /// (10 s later) looks at disk usage again. Default: 10.
    pub delete_file_batch_max: u32,
    /// Hour(s) of the day (local time, as RocketMQ) when expired files are
    /// deleted, `;`-separated. Default: "04".
    pub delete_when: String,
    /// IndexFile hash slots. Default: 5000000.
    pub max_hash_slot_num: u32,
    /// IndexFile entries. Default: 20000000.
    pub max_index_num: u32,
    /// Index `KEYS`/`UNIQ_KEY` into IndexFiles. Default: true.
    pub message_index_enable: bool,
    /// Verify body CRCs while recovering (`checkCRCOnRecover`, RocketMQ's
    /// spelling). Default: true.
    #[serde(rename = "checkCRCOnRecover", alias = "checkCrcOnRecover")]
    pub check_crc_on_recover: bool,
    /// Delay of each level for scheduled messages (units s/m/h/d).
    /// Default: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h".
    pub message_delay_level: String,
    /// What recovery does with invalid records (Basalt-specific key).
    /// Default: `TRUNCATE_TORN_TAIL`.
    pub recovery_policy: RecoveryPolicy,
}

impl Default for StoreConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        Self {
            store_path_root_dir: home.join("store"),
            store_path_commit_log: None,
            mapped_file_size_commit_log: 1024 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * 20,
            flush_disk_type: FlushDiskType::AsyncFlush,
            sync_flush_timeout: 5_000,
            os_page_cache_busy_time_out_mills: 1_000,
            group_commit_delay_micros: 700,
            group_commit_siblings: 32,
            flush_interval_commit_log: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval: 10_000,
            flush_interval_consume_queue: 1_000,
            flush_consume_queue_thorough_interval: 60_000,
            transient_store_pool_enable: false,
            warm_maped_file_enable: false,
            commit_interval_commit_log: 200,
            max_message_size: 4 * 1024 * 1024,
            disk_max_used_space_ratio: 75,
            disk_space_warning_level_ratio: 90,
            disk_space_clean_forcibly_ratio: 85,
            file_reserved_time: 72,
            delete_file_batch_max: 10,
            delete_when: "04".to_owned(),
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            message_index_enable: true,
            check_crc_on_recover: true,
            recovery_policy: RecoveryPolicy::TruncateTornTail,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .to_owned(),
        }
    }
}

impl StoreConfig {
    /// A config rooted at `dir` with every other value at its default.
    pub fn with_root(dir: impl Into<PathBuf>) -> Self {
        Self {
            store_path_root_dir: dir.into(),
            ..Self::default()
        }
    }

    /// Builds a config from RocketMQ `key=value` pairs as found in a
    /// `broker.conf` (values are strings there). Keys the store does not own
    /// are returned, not rejected, so the caller can warn about them once;
    /// a known key with an unparsable value is an error.
    pub fn from_properties<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> crate::Result<(Self, Vec<String>)> {
        Self::default().with_properties(pairs)
    }

    /// This config with `pairs` applied, as [`Self::from_properties`]
    /// reads them (UPDATE_BROKER_CONFIG).
    pub fn with_properties<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> crate::Result<(Self, Vec<String>)> {
        use serde_json::Value;
        let bad = |k: &str, v: &str| crate::StoreError::Config(format!("{k}={v:?} is not valid"));
        let Ok(Value::Object(mut map)) = serde_json::to_value(self) else {
            return Err(crate::StoreError::Config(
                "the configuration does not serialise".into(),
            ));
        };
        let mut unknown = Vec::new();
        for (key, raw) in pairs {
            // Basalt's earlier spelling of RocketMQ's checkCRCOnRecover.
            let key = if key == "checkCrcOnRecover" {
                "checkCRCOnRecover"
            } else {
                key
            };
            let raw = raw.trim();
            let value = match map.get(key) {
                None => {
                    unknown.push(key.to_owned());
                    continue;
                }
                Some(Value::Number(_)) => raw
                    .parse::<u64>()
                    .map(Value::from)
                    .map_err(|_| bad(key, raw))?,
                // Any case, as Java's Boolean.parseBoolean reads `True`.
                Some(Value::Bool(_)) => raw
                    .to_ascii_lowercase()
                    .parse::<bool>()
                    .map(Value::from)
                    .map_err(|_| bad(key, raw))?,
                Some(_) => Value::from(raw),
            };
            map.insert(key.to_owned(), value);
        }
        let config: Self = serde_json::from_value(Value::Object(map))
            .map_err(|e| crate::StoreError::Config(format!("bad store configuration: {e}")))?;
        Ok((config, unknown))
    }

    /// Largest record the store writes: the body limit plus 64 KiB for
    /// header, topic and properties (RocketMQ bounds it the same way).
    pub(crate) fn max_record_size(&self) -> usize {
        (self.max_message_size as usize).saturating_add(64 * 1024)
    }

    pub(crate) fn commit_log_dir(&self) -> PathBuf {
        self.store_path_commit_log
            .clone()
            .unwrap_or_else(|| self.store_path_root_dir.join("commitlog"))
    }

    pub(crate) fn consume_queue_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }

    pub(crate) fn index_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("index")
    }

    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: &str| Err(crate::StoreError::Config(m.to_owned()));
        if self.mapped_file_size_commit_log < 4096 {
            return bad("mappedFileSizeCommitLog must be at least 4096");
        }
        if self.mapped_file_size_consume_queue < 20
            || !self.mapped_file_size_consume_queue.is_multiple_of(20)
        {
            return bad("mappedFileSizeConsumeQueue must be a positive multiple of 20");
        }
        if self.max_hash_slot_num == 0 || self.max_index_num < 2 {
            return bad("maxHashSlotNum must be > 0 and maxIndexNum > 1");
        }
        if self
            .store_path_commit_log
            .as_ref()
            .is_some_and(|p| p.to_string_lossy().contains(','))
        {
            return bad("storePathCommitLog with several directories is not supported");
        }
        // The flusher sleeps up to this long between syncs under load: a
        // typo of a few zeros would stall every SYNC_FLUSH send.
        if self.group_commit_delay_micros > 1_000_000 {
            return bad("groupCommitDelayMicros must be at most 1000000 (1 s)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rocketmq_properties() {
        let (c, unknown) = StoreConfig::from_properties([
            ("brokerClusterName", "DefaultCluster"),
            ("flushDiskType", "SYNC_FLUSH"),
            ("mappedFileSizeCommitLog", "65536"),
            ("storePathRootDir", "/data/store"),
            ("transientStorePoolEnable", "false"),
            ("deleteWhen", "04;05"),
        ])
        .unwrap();
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(c.mapped_file_size_commit_log, 65536);
        assert_eq!(c.store_path_root_dir, PathBuf::from("/data/store"));
        assert_eq!(c.delete_when, "04;05");
        assert_eq!(c.sync_flush_timeout, 5000);
        assert_eq!(unknown, ["brokerClusterName"]);
        assert!(StoreConfig::from_properties([("syncFlushTimeout", "soon")]).is_err());
        assert!(StoreConfig::from_properties([("flushDiskType", "NEVER")]).is_err());
        // RocketMQ's spellings and its case-blind booleans.
        let (java, unknown) = StoreConfig::from_properties([
            ("checkCRCOnRecover", "False"),
            ("storePathCommitLog", "/disk2/commitlog"),
            ("messageIndexEnable", "TRUE"),
        ])
        .unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        assert!(!java.check_crc_on_recover);
        let (old, unknown) =
            StoreConfig::from_properties([("checkCrcOnRecover", "false")]).unwrap();
        assert!(unknown.is_empty() && !old.check_crc_on_recover);
        assert!(java.message_index_enable);
        assert_eq!(java.commit_log_dir(), PathBuf::from("/disk2/commitlog"));
        let (several, _) = StoreConfig::from_properties([("storePathCommitLog", "/a,/b")]).unwrap();
        assert!(several.validate().is_err());
        let (slow, _) =
            StoreConfig::from_properties([("groupCommitDelayMicros", "700000000")]).unwrap();
        assert!(slow.validate().is_err());
        assert!(StoreConfig::default().validate().is_ok());
        let json = serde_json::to_string(&StoreConfig::default()).unwrap();
        assert!(json.contains("\"mappedFileSizeCommitLog\":1073741824"));
        assert!(json.contains("\"flushDiskType\":\"ASYNC_FLUSH\""));
    }
}
