use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use basalt_message::{BlankOrRecord, MessageExtBrokerInner, Record};
use basalt_store::{FlushDiskType, StoreConfig};
use bytes::Bytes;

/// 64 KiB CommitLog files, 100-entry ConsumeQueue files, a tiny index.
pub fn small_config(dir: &Path, flush: FlushDiskType) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 100 * 20,
        flush_disk_type: flush,
        flush_interval_commit_log: 10,
        flush_interval_consume_queue: 20,
        max_hash_slot_num: 64,
        max_index_num: 512,
        disk_space_warning_level_ratio: 100,
        disk_space_clean_forcibly_ratio: 100,
        ..StoreConfig::with_root(dir)
    }
}

pub fn msg(topic: &str, queue: i32, body: impl Into<Bytes>) -> MessageExtBrokerInner {
    let mut m = MessageExtBrokerInner::new(topic, queue, body);
    m.born_host = "127.0.0.1:5555".parse().unwrap();
    m.store_host = "10.0.0.1:10911".parse().unwrap();
    m.born_timestamp = 1_700_000_000_000;
    m
}

pub fn decode(b: &Bytes) -> Record {
    match BlankOrRecord::decode(b, true).unwrap() {
        BlankOrRecord::Record(r) => *r,
        BlankOrRecord::Blank { .. } => panic!("blank"),
    }
}

/// Polls `cond` until it holds or `deadline` passes.
pub async fn eventually<F, Fut>(deadline: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = Instant::now() + deadline;
    while !cond().await {
        assert!(
            Instant::now() < end,
            "condition not met within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn commitlog_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use basalt_store::{Disk, DiskUsage, RealDisk};

/// A file-system seam that can fail on demand.
#[derive(Debug, Default)]
pub struct FaultyDisk {
    pub fail_sync: AtomicBool,
    pub enospc_on_create: AtomicBool,
    /// Reported used percentage; 0 = the real value.
    pub used_percent: AtomicU32,
    /// Extra time each sync takes (a slow disk), ms.
    pub sync_delay_ms: AtomicU64,
    /// Extra time each file creation takes, ms.
    pub create_delay_ms: AtomicU64,
    pub syncs: AtomicUsize,
    /// Every path synced, in order.
    pub synced: std::sync::Mutex<Vec<std::path::PathBuf>>,
}

impl FaultyDisk {
    /// How many syncs so far were of `name` or of files under it.
    pub fn syncs_under(&self, name: &str) -> usize {
        let synced = self.synced.lock().unwrap();
        synced
            .iter()
            .filter(|p| p.components().any(|c| c.as_os_str() == name))
            .count()
    }
}

impl Disk for FaultyDisk {
    fn create_preallocated(&self, path: &Path, size: u64) -> io::Result<File> {
        if self.enospc_on_create.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(28));
        }
        let delay = self.create_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        RealDisk.create_preallocated(path, size)
    }

    fn sync(&self, path: &Path, sync: &mut dyn FnMut() -> io::Result<()>) -> io::Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.synced.lock().unwrap().push(path.to_path_buf());
        let delay = self.sync_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        if self.fail_sync.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(5));
        }
        RealDisk.sync(path, sync)
    }

    fn usage(&self, path: &Path) -> io::Result<DiskUsage> {
        match self.used_percent.load(Ordering::SeqCst) {
            0 => RealDisk.usage(path),
            p => Ok(DiskUsage {
                total: 100,
                free: 100 - u64::from(p),
                available: 100 - u64::from(p),
            }),
        }
    }
}

/// A store over a [`FaultyDisk`] the test can steer.
pub fn faulty_store(config: StoreConfig) -> (basalt_store::Store, std::sync::Arc<FaultyDisk>) {
    let disk = std::sync::Arc::new(FaultyDisk::default());
    let store = basalt_store::Store::open_with_disk(config, disk.clone()).unwrap();
    (store, disk)
}
