//! IndexFile: a persistent hash index from `topic#key` to commit-log
//! offsets, RocketMQ's layout (`IndexFile`, `IndexHeader`, `IndexService`).
//!
//! ```text
//! [header 40][hash slots maxHashSlotNum x 4][entries maxIndexNum x 20]
//! header: beginTimestamp i64 @0, endTimestamp i64 @8, beginPhyOffset i64 @16,
//!         endPhyOffset i64 @24, hashSlotCount i32 @32, indexCount i32 @36 (starts at 1)
//! slot:   i32, newest entry number for the slot (0 = none)
//! entry:  keyHash i32, phyOffset i64, timeDiff i32 (s since beginTimestamp), prevIndex i32
//! ```
//! Files are named by creation time `yyyyMMddHHmmssSSS` (UTC here; RocketMQ
//! uses local time). Keys indexed per record, in RocketMQ 5.5.1's order:
//! `topic#UNIQ_KEY`, `topic#k` for each `KEYS` token, and `topic#T#tag` for
//! the `TAGS` value (5.5.1's tag index); rollback records are skipped.

use std::fs;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

use basalt_message::properties::{split_keys, KEYS, TAGS, UNIQ_KEY};
use basalt_message::{java_string_hash, java_string_hash_concat, sysflag, Properties};
use bytes::BufMut;
use parking_lot::Mutex;

use crate::config::StoreConfig;
use crate::disk::Disk;
use crate::error::{Result, StoreError};
use crate::mmap::MappedRegion;

const HEADER: usize = 40;
const ENTRY: usize = 20;

#[derive(Debug, Clone, Copy, Default)]
struct Header {
    begin_timestamp: i64,
    end_timestamp: i64,
    begin_phy_offset: i64,
    end_phy_offset: i64,
    hash_slot_count: i32,
    index_count: i32,
}

struct IndexFile {
    /// Shared with a flush in progress, which syncs outside the files lock.
    region: Arc<MappedRegion>,
    header: Header,
    slots: u32,
    entries: u32,
}

fn key_hash(key: &str) -> i32 {
    abs_hash(java_string_hash(key))
}

fn abs_hash(h: i32) -> i32 {
    // Math.abs(Integer.MIN_VALUE) stays negative in Java, which then uses 0.
    h.checked_abs().unwrap_or(0)
}

impl IndexFile {
    fn read_i32(&self, pos: usize) -> i32 {
        let mut b = [0u8; 4];
        self.region.read_at(pos, &mut b);
        i32::from_be_bytes(b)
    }

    fn read_i64(&self, pos: usize) -> i64 {
        let mut b = [0u8; 8];
        self.region.read_at(pos, &mut b);
        i64::from_be_bytes(b)
    }

    fn load(region: MappedRegion, slots: u32, entries: u32) -> Self {
        let mut f = Self {
            region: Arc::new(region),
            header: Header::default(),
            slots,
            entries,
        };
        f.header = Header {
            begin_timestamp: f.read_i64(0),
            end_timestamp: f.read_i64(8),
            begin_phy_offset: f.read_i64(16),
            end_phy_offset: f.read_i64(24),
            hash_slot_count: f.read_i32(32),
            index_count: f.read_i32(36).max(1),
        };
        f
    }

    fn write_header(&self) {
        let h = &self.header;
        // On the stack: this runs for every indexed key of every send.
        let mut b = [0u8; HEADER];
        let mut w = &mut b[..];
        w.put_i64(h.begin_timestamp);
        w.put_i64(h.end_timestamp);
        w.put_i64(h.begin_phy_offset);
        w.put_i64(h.end_phy_offset);
        w.put_i32(h.hash_slot_count);
        w.put_i32(h.index_count);
        self.region.write_at(0, &b);
    }

    fn is_full(&self) -> bool {
        self.header.index_count as u32 >= self.entries
    }

    fn slot_pos(&self, hash: i32) -> usize {
        HEADER + (hash as u32 % self.slots) as usize * 4
    }

    fn entry_pos(&self, n: i32) -> usize {
        HEADER + self.slots as usize * 4 + n as usize * ENTRY
    }

    fn put(&mut self, hash: i32, phy: i64, store_ts: i64) {
        let slot_pos = self.slot_pos(hash);
        let mut prev = self.read_i32(slot_pos);
        if prev <= 0 || prev > self.header.index_count {
            prev = 0;
        }
        let diff = if self.header.begin_timestamp <= 0 {
            0
        } else {
            ((store_ts - self.header.begin_timestamp) / 1000).clamp(0, i64::from(i32::MAX)) as i32
        };
        let n = self.header.index_count;
        let mut e = [0u8; ENTRY];
        let mut w = &mut e[..];
        w.put_i32(hash);
        w.put_i64(phy);
        w.put_i32(diff);
        w.put_i32(prev);
        self.region.write_at(self.entry_pos(n), &e);
        self.region.write_at(slot_pos, &n.to_be_bytes());
        if n <= 1 {
            self.header.begin_phy_offset = phy;
            self.header.begin_timestamp = store_ts;
        }
        if prev == 0 {
            self.header.hash_slot_count += 1;
        }
        self.header.index_count = n + 1;
        self.header.end_phy_offset = phy;
        self.header.end_timestamp = store_ts;
        self.write_header();
    }

    fn overlaps(&self, begin: i64, end: i64) -> bool {
        self.header.begin_timestamp <= end && self.header.end_timestamp >= begin
    }

    fn select(&self, key: &str, max: usize, begin: i64, end: i64, out: &mut Vec<i64>) {
        let hash = key_hash(key);
        let mut cur = self.read_i32(self.slot_pos(hash));
        let count = self.header.index_count;
        while cur > 0 && cur < count && out.len() < max {
            let pos = self.entry_pos(cur);
            let h = self.read_i32(pos);
            let phy = self.read_i64(pos + 4);
            let diff = i64::from(self.read_i32(pos + 12));
            let prev = self.read_i32(pos + 16);
            let ts = self.header.begin_timestamp + diff * 1000;
            if h == hash && ts >= begin && ts <= end {
                out.push(phy);
            }
            if prev <= 0 || prev >= cur || ts < begin {
                break;
            }
            cur = prev;
        }
    }
}

/// What a new IndexFile looks like; cheap to clone into a helper thread.
#[derive(Clone)]
struct Blueprint {
    dir: PathBuf,
    /// Where the next file is made ahead of use: outside the index
    /// directory, which RocketMQ loads whole (a zeroed file there, newest
    /// by name, made its queries stop before every real file).
    ahead_path: PathBuf,
    slots: u32,
    entries: u32,
    disk: Arc<dyn Disk>,
}

impl Blueprint {
    fn size(&self) -> u64 {
        HEADER as u64 + u64::from(self.slots) * 4 + u64::from(self.entries) * ENTRY as u64
    }

    /// Makes a file of the right size (zeros) at the ahead path, replacing
    /// any left there.
    fn prepare(&self) -> Result<PathBuf> {
        let path = self.ahead_path.clone();
        let _ = fs::remove_file(&path);
        self.create_at(&path)?;
        Ok(path)
    }

    /// A zeroed file of the index size at `path`; nothing left on failure.
    fn create_at(&self, path: &std::path::Path) -> Result<()> {
        self.disk
            .create_preallocated(path, self.size())
            .map(drop)
            .map_err(|e| {
                let _ = fs::remove_file(path);
                StoreError::io("create index", path, e)
            })
    }

    /// The next IndexFile, named for `now`: the prepared one moved into the
    /// index directory, or one made here.
    fn install(&self, now: i64, prepared: Option<PathBuf>) -> Result<IndexFile> {
        let mut path = self.dir.join(file_name(now));
        let mut bump = now;
        while path.exists() {
            bump += 1;
            path = self.dir.join(file_name(bump));
        }
        let moved = prepared.is_some_and(|from| fs::rename(&from, &path).is_ok());
        if !moved {
            self.create_at(&path)?;
        }
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io("open", &path, e))?;
        let region = map_random(&path, file)?;
        Ok(IndexFile::load(region, self.slots, self.entries))
    }
}

/// Maps an IndexFile for random access. Hash slots are touched at random:
/// with the default read-around every first touch of a slot page
/// zero-filled (or read) up to `read_ahead_kb`, 8 MiB here, under the
/// append lock. (256 threads, 3 runs: p999 17-18 ms with the index on,
/// 10-11 ms with it off, before this advice.)
fn map_random(path: &std::path::Path, file: fs::File) -> Result<MappedRegion> {
    let region = MappedRegion::map(path, file, 0).map_err(|e| StoreError::io("map", path, e))?;
    if let Err(e) = region.advise_random() {
        tracing::debug!(path = %path.display(), error = %e, "madvise(RANDOM) failed");
    }
    Ok(region)
}

/// The properties a record is indexed (and its queue entry tagged) by,
/// read in one pass: the append path wants the tag twice.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Indexed<'a> {
    pub(crate) uniq: Option<&'a str>,
    pub(crate) keys: Option<&'a str>,
    pub(crate) tags: Option<&'a str>,
}

impl<'a> Indexed<'a> {
    pub(crate) fn of(props: &'a Properties) -> Self {
        let [uniq, keys, tags] = props.get_many([UNIQ_KEY, KEYS, TAGS]);
        Self { uniq, keys, tags }
    }
}

/// Every IndexFile, newest last.
pub(crate) struct IndexService {
    blueprint: Blueprint,
    files: Mutex<Vec<IndexFile>>,
    ahead: Mutex<Option<Receiver<Result<PathBuf>>>>,
}

/// An IndexFile's name: its creation time in local time to the
/// millisecond, as RocketMQ names them (`yyyyMMddHHmmssSSS`).
fn file_name(ms: i64) -> String {
    use chrono::TimeZone;
    match chrono::Local.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y%m%d%H%M%S%3f").to_string(),
        None => format!("{:017}", ms.max(0)),
    }
}

impl IndexService {
    pub(crate) fn open(config: &StoreConfig, disk: Arc<dyn Disk>) -> Result<Self> {
        let dir = config.index_dir();
        fs::create_dir_all(&dir).map_err(|e| StoreError::io("create dir", &dir, e))?;
        let (slots, entries) = (config.max_hash_slot_num, config.max_index_num);
        let blueprint = Blueprint {
            dir: dir.clone(),
            ahead_path: config.store_path_root_dir.join(".index-ahead"),
            slots,
            entries,
            disk,
        };
        // A file made ahead by an earlier run is made again when needed.
        let _ = fs::remove_file(&blueprint.ahead_path);
        let size = blueprint.size();
        let mut names: Vec<_> = fs::read_dir(&dir)
            .map_err(|e| StoreError::io("list", &dir, e))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        names.sort();
        let mut files = Vec::new();
        for name in names {
            let path = dir.join(name);
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| StoreError::io("open", &path, e))?;
            let region = map_random(&path, file)?;
            if region.len() as u64 != size {
                tracing::warn!(path = %path.display(), "IndexFile size does not match maxHashSlotNum/maxIndexNum; skipped");
                continue;
            }
            let f = IndexFile::load(region, slots, entries);
            // A file made ahead by an earlier Basalt and never used: all
            // zeros, nothing in it, and RocketMQ's queries stop at it.
            if f.header.index_count <= 1 && f.header.begin_timestamp == 0 {
                drop(f);
                let _ = fs::remove_file(&path);
                continue;
            }
            files.push(f);
        }
        // In time order, not name order: names are local times (as
        // RocketMQ's), earlier Basalt named them in UTC, and a time zone
        // west of UTC would put the newer files first by name.
        files.sort_by_key(|f| (f.header.begin_timestamp, f.header.begin_phy_offset));
        let empty = files.is_empty();
        let service = Self {
            blueprint,
            files: Mutex::new(files),
            ahead: Mutex::new(None),
        };
        if empty {
            service.spawn_ahead();
        }
        Ok(service)
    }

    /// The next file to fill: the one created ahead if it is ready (or
    /// being made), else a new one now.
    fn next_file(&self, now: i64, prev: Option<&Header>) -> Result<IndexFile> {
        let ahead = self.ahead.lock().take().and_then(|rx| rx.recv().ok());
        let mut f = self.blueprint.install(now, ahead.and_then(Result::ok))?;
        if let Some(p) = prev {
            f.header.begin_phy_offset = p.end_phy_offset;
            f.header.end_phy_offset = p.end_phy_offset;
            f.header.begin_timestamp = p.end_timestamp;
            f.header.end_timestamp = p.end_timestamp;
        }
        f.write_header();
        Ok(f)
    }

    /// Starts creating the next file on a helper thread: with the default
    /// sizes a file is 420 MB of zeros, too slow for the append path.
    fn spawn_ahead(&self) {
        let mut ahead = self.ahead.lock();
        if ahead.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let blueprint = self.blueprint.clone();
        let spawned = std::thread::Builder::new()
            .name("basalt-index-ahead".into())
            .spawn(move || {
                let _ = tx.send(blueprint.prepare());
            });
        if spawned.is_ok() {
            *ahead = Some(rx);
        }
    }

    /// Indexes one record. Records at or below the last indexed offset are
    /// skipped (recovery re-dispatch). Failures are logged, not fatal: the
    /// index is a lookup aid, the CommitLog is the truth.
    pub(crate) fn add(&self, topic: &str, names: Indexed<'_>, sys_flag: i32, phy: u64, ts: i64) {
        if sysflag::transaction_type(sys_flag) == sysflag::TRANSACTION_ROLLBACK_TYPE {
            return;
        }
        // Hashes of `topic#key` (and `topic#T#tag`), built without the
        // strings, and without a vector of them: this runs for every send.
        let Indexed { uniq, keys, tags } = names;
        let tag = tags.filter(|t| !t.is_empty());
        let mut keys = uniq
            .into_iter()
            .chain(split_keys(keys))
            .map(|k| abs_hash(java_string_hash_concat(&[topic, "#", k])))
            .chain(tag.map(|t| abs_hash(java_string_hash_concat(&[topic, "#T#", t]))))
            .peekable();
        if keys.peek().is_none() {
            return;
        }
        let mut files = self.files.lock();
        let seen =
            |f: &IndexFile| f.header.index_count > 1 && (phy as i64) <= f.header.end_phy_offset;
        if files.last().is_some_and(seen) {
            return;
        }
        for full in keys {
            if files.last().is_none_or(IndexFile::is_full) {
                match self.next_file(ts, files.last().map(|f| &f.header)) {
                    Ok(f) => files.push(f),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot create IndexFile; record not indexed");
                        return;
                    }
                }
            }
            if let Some(f) = files.last_mut() {
                f.put(full, phy as i64, ts);
            }
        }
        if files
            .last()
            .is_some_and(|f| f.header.index_count as u32 > f.entries / 2)
        {
            self.spawn_ahead();
        }
    }

    /// Commit-log offsets whose `topic#key` hashes like the key, stored
    /// within `[begin, end]` ms, newest files first. Callers check the record.
    pub(crate) fn query(&self, full: &str, max: usize, begin: i64, end: i64) -> Vec<i64> {
        let files = self.files.lock();
        let mut out = Vec::new();
        for f in files.iter().rev() {
            if out.len() >= max {
                break;
            }
            if f.overlaps(begin, end) {
                f.select(full, max, begin, end, &mut out);
            }
        }
        out
    }

    /// After the CommitLog was cut at `end`, let later records be indexed again.
    pub(crate) fn clamp_end(&self, end: u64) {
        for f in self.files.lock().iter_mut() {
            if f.header.end_phy_offset as u64 >= end {
                f.header.end_phy_offset = (end as i64 - 1).max(0);
            }
        }
    }

    /// Syncs every IndexFile. The msync runs outside the files lock: held
    /// across it, it stalled every indexed append (under the append lock)
    /// for the length of a sync, once per `flushConsumeQueueThoroughInterval`.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        let regions: Vec<Arc<MappedRegion>> = self
            .files
            .lock()
            .iter()
            .map(|f| Arc::clone(&f.region))
            .collect();
        for r in regions {
            self.blueprint
                .disk
                .sync(r.path(), &mut || r.sync(0, r.len()))?;
        }
        Ok(())
    }

    /// Deletes files whose every entry is below `min_phy` (CommitLog retention).
    pub(crate) fn delete_below(&self, min_phy: u64) -> usize {
        let mut files = self.files.lock();
        let before = files.len();
        let mut keep_from = 0;
        for (i, f) in files.iter().enumerate() {
            if i + 1 < before && (f.header.end_phy_offset as u64) < min_phy {
                let _ = fs::remove_file(f.region.path());
                keep_from = i + 1;
            } else {
                break;
            }
        }
        files.drain(..keep_from);
        before - files.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_by_local_time_as_rocketmq() {
        use chrono::TimeZone;
        let ms = 1_709_251_201_500;
        let name = file_name(ms);
        assert_eq!(name.len(), 17);
        assert!(name.ends_with("01500"), "{name}");
        // The local wall clock of that instant, to the millisecond.
        let local = chrono::Local.timestamp_millis_opt(ms).single().unwrap();
        // 00:00:01 UTC moved by the zone's offset (half hours included).
        let minutes = (i64::from(local.offset().local_minus_utc()) / 60).rem_euclid(1440);
        let hour: i64 = name[8..10].parse().unwrap();
        assert_eq!(hour, minutes / 60, "{name}");
        assert_eq!(key_hash("polygenelubricants"), 0);
    }
}
