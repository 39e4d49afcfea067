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
    /// Bytes available to unprivileged writers.
    pub available: u64,
}

impl DiskUsage {
    /// Used space in percent (0-100).
    pub fn used_percent(&self) -> u32 {
        if self.total == 0 {
            return 0;
        }
        let used = self.total.saturating_sub(self.available);
        u32::try_from(used.saturating_mul(100) / self.total).unwrap_or(100)
    }
}

/// What the store asks of the file system. The default methods do the real
/// work; a test double overrides one to fail.
pub trait Disk: Send + Sync + std::fmt::Debug + 'static {
    /// Creates `path` with `size` bytes written out (zeros), so a full disk
    /// surfaces here as ENOSPC rather than later as SIGBUS on a mapped page.
    fn create_preallocated(&self, path: &Path, size: u64) -> io::Result<File> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
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
            available: st.f_bavail.saturating_mul(st.f_frsize),
        })
    }
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealDisk;

impl Disk for RealDisk {}
