//! The one module with `unsafe`: memory-mapped segment files.
//!
//! Soundness rests on one protocol, enforced here rather than by callers:
//! appends go through [`MappedRegion::append`], which writes bytes above the
//! published `wrote` position under `append_lock` and then publishes the new
//! position with `Release`; readers only ever form slices below a `wrote` they
//! loaded with `Acquire`. Published bytes are never written again through the
//! mapping (truncation during recovery writes through the file, before any
//! reader exists). Random-access files (IndexFile) use `read_at`/`write_at`,
//! whose callers serialise all access with their own lock.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{MmapOptions, MmapRaw};
use parking_lot::Mutex;

/// A whole file mapped read-write and shared.
#[derive(Debug)]
pub(crate) struct MappedRegion {
    path: PathBuf,
    file: File,
    map: MmapRaw,
    len: usize,
    wrote: AtomicUsize,
    append_lock: Mutex<()>,
    /// How much of the file has default readahead again (CommitLog).
    normal_below: AtomicUsize,
}

/// Owner that keeps the mapping alive for as long as a `Bytes` slice of it lives.
struct View {
    region: Arc<MappedRegion>,
    start: usize,
    len: usize,
}

impl AsRef<[u8]> for View {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `View`s are only built by `MappedRegion::bytes`, which checked
        // `start + len <= wrote` (Acquire). Those bytes are published and never
        // rewritten through the mapping, and `region` keeps the mapping alive.
        unsafe { std::slice::from_raw_parts(self.region.map.as_ptr().add(self.start), self.len) }
    }
}

impl MappedRegion {
    /// Maps all of `file` (already sized). `wrote` starts at `wrote`.
    pub(crate) fn map(path: &Path, file: File, wrote: usize) -> io::Result<Self> {
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let map = MmapOptions::new().len(len).map_raw(&file)?;
        Ok(Self {
            path: path.to_owned(),
            file,
            map,
            len,
            wrote: AtomicUsize::new(wrote.min(len)),
            append_lock: Mutex::new(()),
            normal_below: AtomicUsize::new(0),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes published so far.
    pub(crate) fn wrote(&self) -> usize {
        self.wrote.load(Ordering::Acquire)
    }

    /// Appends `data` at the write position; `None` when it does not fit.
    /// Returns the position it was written at.
    pub(crate) fn append(&self, data: &[u8]) -> Option<usize> {
        let _guard = self.append_lock.lock();
        let pos = self.wrote.load(Ordering::Acquire);
        let end = pos.checked_add(data.len())?;
        if end > self.len {
            return None;
        }
        // SAFETY: `pos..end` lies inside the mapping (checked above) and above
        // `wrote`, so no reader holds a slice of it; `append_lock` excludes
        // other writers. `data` cannot overlap the mapping's unpublished part.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.map.as_mut_ptr().add(pos),
                data.len(),
            );
        }
        self.wrote.store(end, Ordering::Release);
        Some(pos)
    }

    /// Appends `data` at the write position through the file (pwrite) rather
    /// than the mapping, then publishes it: the transient store pool's
    /// commit. The shared page cache makes the bytes visible in the mapping.
    pub(crate) fn append_via_file(&self, data: &[u8]) -> io::Result<()> {
        let _guard = self.append_lock.lock();
        let pos = self.wrote.load(Ordering::Acquire);
        let end = pos.saturating_add(data.len());
        if end > self.len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "commit past end of segment",
            ));
        }
        self.file.write_all_at(data, pos as u64)?;
        self.wrote.store(end, Ordering::Release);
        Ok(())
    }

    /// Writes `zeros` at `pos` through the file, only past everything
    /// written (false otherwise): warming ahead of the appender, never over
    /// a record.
    pub(crate) fn zero_ahead(&self, pos: usize, zeros: &[u8]) -> io::Result<bool> {
        let _guard = self.append_lock.lock();
        match pos.checked_add(zeros.len()) {
            Some(end) if pos >= self.wrote.load(Ordering::Acquire) && end <= self.len => {
                self.file.write_all_at(zeros, pos as u64)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// `fdatasync` of the whole file.
    pub(crate) fn sync_file_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// A zero-copy slice of published bytes, or `None` when out of range.
    pub(crate) fn bytes(self: &Arc<Self>, start: usize, len: usize) -> Option<Bytes> {
        let end = start.checked_add(len)?;
        if end > self.wrote() {
            return None;
        }
        Some(Bytes::from_owner(View {
            region: Arc::clone(self),
            start,
            len,
        }))
    }

    /// Copies `buf.len()` bytes from `pos` (any part of the file).
    /// Callers serialise with every `write_at` on this region.
    pub(crate) fn read_at(&self, pos: usize, buf: &mut [u8]) -> bool {
        match pos.checked_add(buf.len()) {
            Some(end) if end <= self.len => {
                // SAFETY: in bounds (checked); the caller's lock excludes
                // concurrent `write_at`, and `append` is not used on
                // random-access regions.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        self.map.as_ptr().add(pos),
                        buf.as_mut_ptr(),
                        buf.len(),
                    );
                }
                true
            }
            _ => false,
        }
    }

    /// Writes `data` at `pos` (any part of the file). Callers serialise
    /// with every `read_at`/`write_at` on this region.
    pub(crate) fn write_at(&self, pos: usize, data: &[u8]) -> bool {
        match pos.checked_add(data.len()) {
            Some(end) if end <= self.len => {
                // SAFETY: in bounds (checked); the caller's lock gives exclusive
                // access, and no `View` exists over random-access regions.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        data.as_ptr(),
                        self.map.as_mut_ptr().add(pos),
                        data.len(),
                    );
                }
                true
            }
            _ => false,
        }
    }

    /// Makes `pos..pos+len` durable (msync).
    pub(crate) fn sync(&self, pos: usize, len: usize) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        self.map.flush_range(pos, len)
    }

    /// Zeroes `from..len` through the file and moves the write position back
    /// to `from`. Only used by recovery, before any reader exists.
    pub(crate) fn truncate_to(&self, from: usize) -> io::Result<()> {
        let from = from.min(self.len);
        // ZERO_RANGE turns the blocks into unwritten extents (still
        // allocated, so a later write cannot hit ENOSPC as SIGBUS) in time
        // proportional to the extents, not to the bytes: a torn tail in a
        // 1 GiB file is not a gigabyte of writes. The page cache, and so the
        // mapping, sees the zeros. Elsewhere zeros are written.
        let flags = rustix::fs::FallocateFlags::ZERO_RANGE | rustix::fs::FallocateFlags::KEEP_SIZE;
        let rest = (self.len - from) as u64;
        if rest > 0 && rustix::fs::fallocate(&self.file, flags, from as u64, rest).is_ok() {
            self.file.sync_data()?;
            self.wrote.store(from, Ordering::Release);
            return Ok(());
        }
        let zeros = vec![0u8; 1 << 16];
        let mut pos = from;
        while pos < self.len {
            let n = (self.len - pos).min(zeros.len());
            let chunk = zeros.get(..n).unwrap_or_default();
            self.file.write_all_at(chunk, pos as u64)?;
            pos += n;
        }
        self.file.sync_data()?;
        self.wrote.store(from, Ordering::Release);
        Ok(())
    }

    /// Turns readahead off for this mapping. A new, preallocated file is all
    /// unwritten extents: with the default advice its first write fault
    /// reads ahead (zero-fills) up to the device's `read_ahead_kb`, often
    /// 8 MiB, i.e. a whole 6 MB ConsumeQueue file, on the send path
    /// (measured: ~3.5 ms idle, far more when the page allocator or the
    /// journal is busy; with this advice, ~20 us).
    pub(crate) fn advise_random(&self) -> io::Result<()> {
        self.map.advise(memmap2::Advice::Random)
    }

    /// Restores default readahead on `[0, end)` (rounded down to a page),
    /// for sequential readers of bytes already written. Advisory: failure
    /// only costs readahead.
    /// At most once per 4 MiB written (and once at the file's end): the
    /// call takes the process's mmap lock for writing.
    pub(crate) fn advise_normal_below(&self, end: usize) {
        const STEP: usize = 4 << 20;
        let len = end.min(self.len) & !4095;
        let done = self.normal_below.load(Ordering::Relaxed);
        if len <= done || (len - done < STEP && len < self.len & !4095) {
            return;
        }
        self.normal_below.store(len, Ordering::Relaxed);
        if let Err(e) = self.map.advise_range(memmap2::Advice::Normal, 0, len) {
            tracing::debug!(path = %self.path.display(), error = %e, "madvise(NORMAL) failed");
        }
    }

    /// Sets the write position after recovery found the valid end.
    pub(crate) fn set_wrote(&self, pos: usize) {
        self.wrote.store(pos.min(self.len), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `VmFlags` of the mapping that holds `addr`, from /proc/self/smaps.
    fn vm_flags_at(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((lo, hi)) = range.split_once('-') {
                    if let (Ok(lo), Ok(hi)) =
                        (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                    {
                        inside = lo <= addr && addr < hi;
                        continue;
                    }
                }
            }
            if inside {
                if let Some(flags) = line.strip_prefix("VmFlags:") {
                    return Some(flags.trim().to_owned());
                }
            }
        }
        None
    }

    #[test]
    fn written_bytes_get_readahead_back_and_the_rest_stays_random() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        file.set_len(16 << 20).unwrap();
        let region = MappedRegion::map(&path, file, 0).unwrap();
        region.advise_random().unwrap();
        let base = region.map.as_ptr() as usize;
        let Some(before) = vm_flags_at(base) else {
            return; // no /proc (not Linux): nothing to check
        };
        assert!(before.split(' ').any(|f| f == "rr"), "{before}");
        // Less than a step: left alone.
        region.advise_normal_below(1 << 20);
        assert!(vm_flags_at(base).unwrap().split(' ').any(|f| f == "rr"));
        region.advise_normal_below(8 << 20);
        let head = vm_flags_at(base).unwrap();
        let tail = vm_flags_at(base + (12 << 20)).unwrap();
        assert!(!head.split(' ').any(|f| f == "rr"), "written part: {head}");
        assert!(tail.split(' ').any(|f| f == "rr"), "unwritten part: {tail}");
    }
}
