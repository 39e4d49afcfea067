//! The `checkpoint` file (RocketMQ's `StoreCheckpoint`), 4 KiB:
//!
//! ```text
//!  0  i64  physicMsgTimestamp   store time of the last flushed CommitLog record
//!  8  i64  logicsMsgTimestamp   store time of the last flushed ConsumeQueue entry
//! 16  i64  indexMsgTimestamp    store time of the last flushed IndexFile entry
//! 24  i64  masterFlushedOffset  (HA; kept as read)
//! 32  i64  confirmPhyOffset     (HA; kept as read)
//! ```
//! Written with pwrite + fdatasync rather than mmap: it is tiny and written
//! about once a second.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::disk::Disk;
use crate::error::{Result, StoreError};

const FILE_SIZE: u64 = 4096;

/// Checkpoint values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointData {
    /// Store time of the last flushed CommitLog record.
    pub physic_msg_timestamp: i64,
    /// Store time of the last flushed ConsumeQueue entry.
    pub logics_msg_timestamp: i64,
    /// Store time of the last flushed IndexFile entry.
    pub index_msg_timestamp: i64,
    /// HA field, preserved.
    pub master_flushed_offset: i64,
    /// HA field, preserved.
    pub confirm_phy_offset: i64,
}

impl CheckpointData {
    fn encode(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        let fields = [
            self.physic_msg_timestamp,
            self.logics_msg_timestamp,
            self.index_msg_timestamp,
            self.master_flushed_offset,
            self.confirm_phy_offset,
        ];
        for (chunk, v) in out.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&v.to_be_bytes());
        }
        out
    }

    /// Decodes the first 40 bytes of a checkpoint file (zeros when shorter).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut buf = [0u8; 40];
        if let Some(head) = bytes.get(..40) {
            buf.copy_from_slice(head);
        }
        Self::decode(&buf)
    }

    fn decode(b: &[u8; 40]) -> Self {
        let mut f = b
            .chunks_exact(8)
            .map(|c| c.try_into().map_or(0, i64::from_be_bytes));
        let mut next = || f.next().unwrap_or(0);
        Self {
            physic_msg_timestamp: next(),
            logics_msg_timestamp: next(),
            index_msg_timestamp: next(),
            master_flushed_offset: next(),
            confirm_phy_offset: next(),
        }
    }

    /// The earliest point recovery must re-check (`StoreCheckpoint.getMinTimestamp`
    /// without the index, which is rebuilt from the same scan). Three
    /// seconds earlier than recorded, as RocketMQ: store timestamps are
    /// milliseconds, and the file whose first record shares the recorded
    /// one's may not hold everything written at that time.
    pub fn min_timestamp(&self) -> i64 {
        let min = self.physic_msg_timestamp.min(self.logics_msg_timestamp);
        min.saturating_sub(3_000).max(0)
    }
}

pub(crate) struct Checkpoint {
    path: PathBuf,
    file: File,
}

impl Checkpoint {
    pub(crate) fn open(path: &Path) -> Result<(Self, CheckpointData)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        let mut buf = [0u8; 40];
        if len >= 40 {
            file.read_exact_at(&mut buf, 0)
                .map_err(|e| StoreError::io("read", path, e))?;
        }
        if len < FILE_SIZE {
            file.set_len(FILE_SIZE)
                .map_err(|e| StoreError::io("extend", path, e))?;
        }
        Ok((
            Self {
                path: path.to_owned(),
                file,
            },
            CheckpointData::decode(&buf),
        ))
    }

    pub(crate) fn write(&self, data: &CheckpointData, disk: &dyn Disk) -> std::io::Result<()> {
        self.file.write_all_at(&data.encode(), 0)?;
        disk.sync(&self.path, &mut || self.file.sync_data())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_starts_three_seconds_before_the_older_timestamp() {
        let at = |physic, logics| CheckpointData {
            physic_msg_timestamp: physic,
            logics_msg_timestamp: logics,
            ..CheckpointData::default()
        };
        assert_eq!(at(20_000, 10_000).min_timestamp(), 7_000);
        assert_eq!(at(2_000, 10_000).min_timestamp(), 0);
        assert_eq!(at(0, 0).min_timestamp(), 0);
    }
}
