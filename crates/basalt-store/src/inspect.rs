//! Read-only views of store files for `basalt inspect`: dump a CommitLog
//! file, a ConsumeQueue file or an IndexFile, and check a whole data dir.
//! Nothing here writes; files are read with plain reads, not mapped.

use std::fs;
use std::path::{Path, PathBuf};

use basalt_message::Record;
use bytes::Bytes;

use crate::consume_queue::CqEntry;
use crate::error::{Result, StoreError};
use crate::scan::{step, Step};

/// One position of a CommitLog file.
#[derive(Debug, Clone)]
pub enum CommitLogItem {
    /// A valid record at commit-log offset `phys`.
    Record {
        /// Commit-log offset.
        phys: u64,
        /// The decoded record.
        record: Box<Record>,
    },
    /// The end-of-file blank marker at `phys`.
    Blank {
        /// Commit-log offset.
        phys: u64,
    },
}

fn read(path: &Path) -> Result<Bytes> {
    fs::read(path)
        .map(Bytes::from)
        .map_err(|e| StoreError::io("read", path, e))
}

fn start_of(path: &Path) -> Result<u64> {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| {
            StoreError::Config(format!("{} is not a 20-digit segment name", path.display()))
        })
}

/// Every record of one CommitLog file, verifying CRCs. Stops at the first
/// zeroed header; an invalid record is an error naming file and offset.
pub fn commit_log_file(path: &Path) -> Result<Vec<CommitLogItem>> {
    commit_log_bytes(path, start_of(path)?, &read(path)?)
}

/// [`commit_log_file`] over bytes already in memory (`path` only names the
/// file in errors; `start` is the file's first commit-log offset). This is
/// the recovery scan's record judgement, and the fuzz target's entry point.
pub fn commit_log_bytes(path: &Path, start: u64, data: &Bytes) -> Result<Vec<CommitLogItem>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    loop {
        let phys = start + pos as u64;
        match step(data, pos, start, true) {
            Step::Record(record) => {
                pos += record.total_size as usize;
                out.push(CommitLogItem::Record { phys, record });
            }
            Step::Blank => {
                out.push(CommitLogItem::Blank { phys });
                return Ok(out);
            }
            Step::End => return Ok(out),
            Step::Invalid(reason) => {
                return Err(StoreError::Corrupt {
                    file: path.to_owned(),
                    offset: pos as u64,
                    reason,
                })
            }
        }
    }
}

/// The written entries of one ConsumeQueue file (up to the first empty one).
pub fn consume_queue_file(path: &Path) -> Result<Vec<CqEntry>> {
    let data = read(path)?;
    Ok(data
        .chunks_exact(20)
        .filter_map(CqEntry::decode)
        .take_while(|e| e.size > 0)
        .collect())
}

/// An IndexFile's header and used entries.
#[derive(Debug, Clone, Default)]
pub struct IndexDump {
    /// beginTimestamp, endTimestamp, beginPhyOffset, endPhyOffset.
    pub header: [i64; 4],
    /// hashSlotCount.
    pub hash_slot_count: i32,
    /// indexCount (starts at 1).
    pub index_count: i32,
    /// Entries 1.. as (keyHash, phyOffset, timeDiff, prevIndex).
    pub entries: Vec<(i32, i64, i32, i32)>,
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, i32::from_be_bytes)
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, i64::from_be_bytes)
}

/// Dumps an IndexFile with `slots` hash slots (the file's `maxHashSlotNum`).
pub fn index_file(path: &Path, slots: u32) -> Result<IndexDump> {
    let data = read(path)?;
    let count = be_i32(&data, 36);
    let base = 40 + slots as usize * 4;
    let entries = (1..count.max(1))
        .map(|n| base + n as usize * 20)
        .take_while(|at| at + 20 <= data.len())
        .map(|at| {
            (
                be_i32(&data, at),
                be_i64(&data, at + 4),
                be_i32(&data, at + 12),
                be_i32(&data, at + 16),
            )
        })
        .collect();
    Ok(IndexDump {
        header: [
            be_i64(&data, 0),
            be_i64(&data, 8),
            be_i64(&data, 16),
            be_i64(&data, 24),
        ],
        hash_slot_count: be_i32(&data, 32),
        index_count: count,
        entries,
    })
}

/// The checkpoint file's values.
pub fn checkpoint_file(path: &Path) -> Result<crate::CheckpointData> {
    Ok(crate::CheckpointData::from_bytes(&read(path)?))
}

/// What [`check`] verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// CommitLog files read.
    pub commit_log_files: usize,
    /// Records verified (CRC included).
    pub records: usize,
    /// ConsumeQueue entries verified against the CommitLog.
    pub queue_entries: usize,
}

fn sorted_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(StoreError::io("list", dir, e)),
    };
    v.sort();
    Ok(v)
}

/// Verifies every CommitLog record (CRC included) and that every
/// ConsumeQueue entry points at a record start with the right size. The
/// first problem is an error naming the file and offset.
pub fn check(data_dir: &Path) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let mut sizes = std::collections::HashMap::new();
    for file in sorted_files(&data_dir.join("commitlog"))? {
        report.commit_log_files += 1;
        for item in commit_log_file(&file)? {
            if let CommitLogItem::Record { phys, record } = item {
                sizes.insert(phys, record.total_size);
                report.records += 1;
            }
        }
    }
    for topic in sorted_files(&data_dir.join("consumequeue"))? {
        for queue in sorted_files(&topic)? {
            for file in sorted_files(&queue)? {
                for (i, e) in consume_queue_file(&file)?.iter().enumerate() {
                    let filler = e.phys_offset == 0 && e.size == i32::MAX;
                    let ok = filler || sizes.get(&(e.phys_offset as u64)) == Some(&e.size);
                    // Entries below the oldest CommitLog file point at deleted data.
                    let deleted = sizes
                        .keys()
                        .min()
                        .is_some_and(|m| (e.phys_offset as u64) < *m);
                    if !ok && !deleted {
                        return Err(StoreError::Corrupt {
                            file: file.clone(),
                            offset: i as u64 * 20,
                            reason: format!(
                                "entry points at {} size {}: no such record",
                                e.phys_offset, e.size
                            ),
                        });
                    }
                    report.queue_entries += 1;
                }
            }
        }
    }
    Ok(report)
}
