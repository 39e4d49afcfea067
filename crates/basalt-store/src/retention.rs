//! Retention (RocketMQ's `CleanCommitLogService` / `CleanConsumeQueueService`):
//! delete CommitLog files older than `fileReservedTime` hours at the
//! `deleteWhen` hour, or any age once disk usage passes
//! `diskSpaceCleanForciblyRatio`; then drop ConsumeQueue and index files
//! that only point below the new CommitLog minimum. The newest file is never
//! deleted. Readers are safe: a `Bytes` slice keeps its mapping alive after
//! the file is unlinked.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::commitlog::CommitLog;
use crate::consume_queue::{ConsumeQueue, CqEntry, ENTRY};
use crate::error::{Result, StoreError};
use crate::store::Shared;

/// How often the cleaner looks (RocketMQ `cleanResourceInterval`).
const CLEAN_INTERVAL: Duration = Duration::from_secs(10);

/// The retention settings, which an operator may change while the store
/// runs (`mqadmin updateBrokerConfig`, see [`crate::Store::set_retention`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// `fileReservedTime`, hours.
    pub file_reserved_time: u64,
    /// `deleteWhen`: `;`-separated hours of the local day.
    pub delete_when: String,
    /// `diskMaxUsedSpaceRatio`, percent.
    pub disk_max_used_space_ratio: u32,
    /// `diskSpaceCleanForciblyRatio`, percent.
    pub disk_space_clean_forcibly_ratio: u32,
}

impl Retention {
    pub fn of(c: &crate::StoreConfig) -> Self {
        Self {
            file_reserved_time: c.file_reserved_time,
            delete_when: c.delete_when.clone(),
            disk_max_used_space_ratio: c.disk_max_used_space_ratio,
            disk_space_clean_forcibly_ratio: c.disk_space_clean_forcibly_ratio,
        }
    }
}

pub(crate) fn spawn_cleaner(shared: Arc<Shared>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("basalt-clean".into())
        .spawn(move || loop {
            if shared.pause(CLEAN_INTERVAL) {
                return;
            }
            let hour = current_hour_local();
            let r = shared.retention.lock().clone();
            let timely = r
                .delete_when
                .split(';')
                .any(|h| h.trim().parse::<u32>().ok() == Some(hour));
            let used = shared
                .disk
                .usage(&shared.config.store_path_root_dir)
                .map_or(0, |u| u.used_percent());
            // Above diskMaxUsedSpaceRatio expired files go at once, not at
            // `deleteWhen`; above diskSpaceCleanForciblyRatio even unexpired
            // ones do (RocketMQ's CleanCommitLogService).
            let forced = used > r.disk_space_clean_forcibly_ratio;
            let crowded = used > r.disk_max_used_space_ratio;
            if timely || crowded || forced {
                if let Err(e) = clean(&shared, SystemTime::now(), forced) {
                    tracing::warn!(error = %e, "retention pass failed");
                }
            }
        })
        .map_err(|e| StoreError::io("spawn cleaner", "", e))
}

/// The hour of day on this host's clock: RocketMQ reads `deleteWhen` in
/// local time (`UtilAll.isItTimeToDo`), so a deletion set for 04 does not
/// run at noon in UTC+8.
fn current_hour_local() -> u32 {
    use chrono::Timelike;
    chrono::Local::now().hour()
}

/// One retention pass. Returns how many CommitLog files were deleted.
pub(crate) fn clean(s: &Shared, now: SystemTime, force: bool) -> Result<usize> {
    let reserved = Duration::from_secs(s.retention.lock().file_reserved_time.saturating_mul(3600));
    // A pass takes a batch and leaves the rest to the next one, which sees
    // disk usage again (RocketMQ's deleteFileBatchMax): a disk just past
    // the forcing ratio loses a few files, not the whole log.
    let mut budget = s.config.delete_file_batch_max.max(1);
    let deleted = s.commitlog.segments().remove_front_while(|seg| {
        if budget == 0 {
            return false;
        }
        budget -= 1;
        if force {
            return true;
        }
        std::fs::metadata(seg.path())
            .and_then(|m| m.modified())
            // A reserve too long to add to the file's time never expires.
            .is_ok_and(|mtime| mtime.checked_add(reserved).is_some_and(|t| t <= now))
    })?;
    if deleted == 0 {
        return Ok(0);
    }
    let min = s.commitlog.segments().min_offset();
    let _files = s.queue_files.lock();
    for (_, _, cq) in s.queues.all() {
        cq.segments().remove_front_while(|seg| {
            seg.wrote() >= seg.size()
                && seg
                    .region
                    .bytes(seg.size() as usize - ENTRY as usize, ENTRY as usize)
                    .and_then(|b| CqEntry::decode(&b))
                    .is_some_and(|e| (e.phys_offset as u64) < min)
        })?;
        correct_min_offset(&cq, &s.commitlog, min);
    }
    if let Some(index) = &s.index {
        index.delete_below(min);
    }
    tracing::info!(
        deleted,
        min_offset = min,
        "retention deleted CommitLog files"
    );
    Ok(deleted)
}

/// Moves a queue's minimum past entries whose records are gone.
pub(crate) fn correct_min_offset(cq: &ConsumeQueue, _log: &CommitLog, commit_log_min: u64) {
    let file_min = cq.segments().min_offset() / ENTRY;
    cq.set_min_offset(file_min);
    let mut off = cq.min_offset();
    let max = cq.max_offset();
    while off < max {
        match cq.entry(off) {
            Some(e) if e.is_filler() || (e.phys_offset as u64) < commit_log_min => off += 1,
            _ => break,
        }
    }
    cq.set_min_offset(off);
}
