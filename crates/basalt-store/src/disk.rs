//! The file-system seam: segment creation, fsync and disk usage go through
//! [`Disk`] so tests can inject ENOSPC, a full disk or a failed fsync.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Bytes on the file system holding the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskUsage {
    /// Total bytes.
    pub total: u64,
    /// Free bytes, the blocks reserved for root included.
    pub free: u64,
    /// Bytes available to unprivileged writers.
    pub available: u64,
}

impl DiskUsage {
    /// Used space in percent (0-100), rounded up, as `df` and RocketMQ's
    /// `UtilAll.getDiskPartitionSpaceUsedPercent` count it: used over used
    /// plus available, so blocks reserved for root count as neither. (Used
    /// over total with reserved blocks counted as used refused writes on a
    /// file system with a large reserve that Java's broker still fills.)
    pub fn used_percent(&self) -> u32 {
        let used = self.total.saturating_sub(self.free);
        let entire = used.saturating_add(self.available);
        if entire == 0 {
            return 0;
        }
        let pct = used.saturating_mul(100).div_ceil(entire);
        u32::try_from(pct).unwrap_or(100)
    }
}

/// What the store asks of the file system. The default methods do the real
/// work; a test double overrides one to fail.
pub trait Disk: Send + Sync + std::fmt::Debug + 'static {
    /// Creates `path` with `size` bytes allocated on disk, so a full disk
    /// surfaces here as ENOSPC rather than later as SIGBUS on a mapped page.
    /// `fallocate` reserves the blocks without writing them (a 1 GiB
    /// CommitLog file takes milliseconds, not seconds of zero-writing);
    /// where the file system cannot, zeros are written instead.
    fn create_preallocated(&self, path: &Path, size: u64) -> io::Result<File> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        match rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, size) {
            Ok(()) => return Ok(file),
            Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
        let chunk = vec![0u8; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
            file.write_all(chunk.get(..n).unwrap_or_default())?;
            left -= n as u64;
        }
        Ok(file)
    }

    /// Runs `sync` (an msync/fdatasync of `path`). Override to fail it.
    fn sync(&self, path: &Path, sync: &mut dyn FnMut() -> io::Result<()>) -> io::Result<()> {
        let _ = path;
        sync()
    }

    /// Usage of the file system holding `path`.
    fn usage(&self, path: &Path) -> io::Result<DiskUsage> {
        let st = rustix::fs::statvfs(path)?;
        Ok(DiskUsage {
            total: st.f_blocks.saturating_mul(st.f_frsize),
            free: st.f_bfree.saturating_mul(st.f_frsize),
            available: st.f_bavail.saturating_mul(st.f_frsize),
        })
    }
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealDisk;

impl Disk for RealDisk {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_percent_counts_like_df_and_java() {
        // This machine's root: 66.05 M blocks, 55.81 M free, 13.63 M
        // available (a large reserve). df and Java: 43%; used over total
        // with the reserve counted as used would be 79%.
        let u = DiskUsage {
            total: 66_053_021,
            free: 55_811_909,
            available: 13_634_204,
        };
        assert_eq!(u.used_percent(), 43);
        let exact = DiskUsage {
            total: 100,
            free: 25,
            available: 25,
        };
        assert_eq!(exact.used_percent(), 75);
        let empty = DiskUsage {
            total: 0,
            free: 0,
            available: 0,
        };
        assert_eq!(empty.used_percent(), 0);
    }
}
