//! A directory of fixed-size mapped segments named by their 20-digit start
//! offset (RocketMQ's `MappedFileQueue`), used by the CommitLog and by each
//! ConsumeQueue. The next file is created ahead on a helper thread (the
//! CommitLog's at each roll-over, a ConsumeQueue's when its last file is half
//! full) so an append that rolls over does not wait on file creation.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::disk::Disk;
use crate::error::{Result, StoreError};
use crate::mmap::MappedRegion;

/// One segment file and the offset its first byte has in the whole log.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) start: u64,
    pub(crate) region: Arc<MappedRegion>,
}

impl Segment {
    pub(crate) fn wrote(&self) -> u64 {
        self.region.wrote() as u64
    }
    pub(crate) fn end(&self) -> u64 {
        self.start + self.wrote()
    }
    pub(crate) fn size(&self) -> u64 {
        self.region.len() as u64
    }
    pub(crate) fn path(&self) -> &Path {
        self.region.path()
    }
}

/// The 20-digit, zero-padded file name for `offset`.
pub(crate) fn segment_name(offset: u64) -> String {
    format!("{offset:020}")
}

/// A crash while a file was being created ahead leaves a short file of
/// zeros at the end: it never held data, so remove it.
fn drop_half_created_tail(dir: &Path, starts: &mut Vec<u64>, file_size: u64) -> Result<()> {
    let Some(&last) = starts.last() else {
        return Ok(());
    };
    let path = dir.join(segment_name(last));
    let len = fs::metadata(&path)
        .map_err(|e| StoreError::io("stat", &path, e))?
        .len();
    if len < file_size {
        let content = fs::read(&path).map_err(|e| StoreError::io("read", &path, e))?;
        if content.iter().all(|b| *b == 0) {
            tracing::warn!(path = %path.display(), "removing half-created segment");
            fs::remove_file(&path).map_err(|e| StoreError::io("delete", &path, e))?;
            starts.pop();
        }
    }
    Ok(())
}

struct Ahead {
    start: u64,
    rx: Receiver<Result<Segment>>,
}

impl Ahead {
    /// A file already created.
    fn ready(start: u64, seg: Segment) -> Self {
        let (tx, rx) = mpsc::channel();
        let _ = tx.send(Ok(seg));
        Self { start, rx }
    }
}

pub(crate) struct SegmentQueue {
    dir: PathBuf,
    file_size: u64,
    disk: Arc<dyn Disk>,
    segments: RwLock<Vec<Arc<Segment>>>,
    flushed: AtomicU64,
    flush_lock: Mutex<()>,
    ahead: Mutex<Option<Ahead>>,
    /// CommitLog segments are created ahead on a helper thread and synced
    /// (with their directory entry) when created.
    commit_log: bool,
}

/// Creates a segment. CommitLog segments (`durable`) also sync the file and
/// its directory entry: a record flushed into the file must not vanish with
/// the file after a power cut. ConsumeQueue files are rebuilt by recovery;
/// their mapping gets no readahead (20-byte appends and small reads: the
/// first write would otherwise zero-fill megabytes of the new file).
fn create_segment(
    disk: &dyn Disk,
    dir: &Path,
    start: u64,
    size: u64,
    durable: bool,
) -> Result<Segment> {
    let path = dir.join(segment_name(start));
    let created = disk.create_preallocated(&path, size).and_then(|file| {
        if durable {
            disk.sync(&path, &mut || {
                file.sync_all()?;
                fs::File::open(dir)?.sync_all()
            })?;
        }
        Ok(file)
    });
    let file = match created {
        Ok(f) => f,
        Err(e) => {
            // A half-written file would block the retry with AlreadyExists.
            let _ = fs::remove_file(&path);
            return Err(StoreError::io("create segment", path, e));
        }
    };
    let region = MappedRegion::map(&path, file, 0).map_err(|e| StoreError::io("map", &path, e))?;
    // A write fault on a fresh page of a new file would read around
    // (zero-fill) up to `read_ahead_kb`, 8 MiB here, under the append lock:
    // new files start without readahead. The CommitLog gets it back on
    // what it flushed (see `flush`), so consumers catching up read ahead.
    // (256 threads, 3 runs each: p999 16-21 ms with readahead on new
    // CommitLog files, 9-12 ms without.)
    if let Err(e) = region.advise_random() {
        // Advisory only: the file works the same, the first write is slower.
        tracing::debug!(path = %path.display(), error = %e, "madvise(RANDOM) failed");
    }
    Ok(Segment {
        start,
        region: Arc::new(region),
    })
}

impl SegmentQueue {
    /// Loads every segment in `dir` (created if missing). Loaded segments
    /// are marked fully written; recovery moves the end back.
    pub(crate) fn open(
        dir: &Path,
        file_size: u64,
        disk: Arc<dyn Disk>,
        commit_log: bool,
    ) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io("create dir", dir, e))?;
        let mut starts = Vec::new();
        let entries = fs::read_dir(dir).map_err(|e| StoreError::io("list", dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(start) = name.parse::<u64>() {
                    starts.push(start);
                }
            }
        }
        starts.sort_unstable();
        drop_half_created_tail(dir, &mut starts, file_size)?;
        let mut segments = Vec::with_capacity(starts.len());
        for start in starts {
            let path = dir.join(segment_name(start));
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| StoreError::io("open", &path, e))?;
            let len = file
                .metadata()
                .map_err(|e| StoreError::io("stat", &path, e))?
                .len();
            if len != file_size {
                return Err(StoreError::Corrupt {
                    file: path,
                    offset: 0,
                    reason: format!("file is {len} bytes, configured segment size is {file_size}"),
                });
            }
            let region = MappedRegion::map(&path, file, usize::MAX)
                .map_err(|e| StoreError::io("map", &path, e))?;
            segments.push(Arc::new(Segment {
                start,
                region: Arc::new(region),
            }));
        }
        Ok(Self {
            dir: dir.to_owned(),
            file_size,
            disk,
            segments: RwLock::new(segments),
            flushed: AtomicU64::new(0),
            flush_lock: Mutex::new(()),
            ahead: Mutex::new(None),
            commit_log,
        })
    }

    pub(crate) fn file_size(&self) -> u64 {
        self.file_size
    }

    pub(crate) fn snapshot(&self) -> Vec<Arc<Segment>> {
        self.segments.read().clone()
    }

    pub(crate) fn last(&self) -> Option<Arc<Segment>> {
        self.segments.read().last().cloned()
    }

    pub(crate) fn first(&self) -> Option<Arc<Segment>> {
        self.segments.read().first().cloned()
    }

    /// The segment holding `offset`.
    pub(crate) fn find(&self, offset: u64) -> Option<Arc<Segment>> {
        let segs = self.segments.read();
        let idx = segs.partition_point(|s| s.start <= offset).checked_sub(1)?;
        segs.get(idx)
            .filter(|s| offset < s.start + self.file_size)
            .cloned()
    }

    /// First offset still on disk.
    pub(crate) fn min_offset(&self) -> u64 {
        self.first().map_or(0, |s| s.start)
    }

    /// One past the last written byte.
    pub(crate) fn max_offset(&self) -> u64 {
        self.last().map_or(0, |s| s.end())
    }

    pub(crate) fn flushed(&self) -> u64 {
        self.flushed.load(Ordering::Acquire)
    }

    pub(crate) fn set_flushed(&self, offset: u64) {
        self.flushed.store(offset, Ordering::Release);
    }

    /// Appends a new segment after the last one (the first at `first_start`).
    pub(crate) fn roll(&self, first_start: u64) -> Result<Arc<Segment>> {
        let start = self
            .last()
            .map_or(first_start, |s| s.start + self.file_size);
        let ready = {
            let mut ahead = self.ahead.lock();
            match ahead.take() {
                Some(a) if a.start == start => a.rx.recv().ok(),
                _ => None,
            }
        };
        let seg = match ready {
            Some(Ok(seg)) => seg,
            // A failed or missing pre-creation is retried inline so the
            // caller sees the real error (e.g. ENOSPC).
            _ => create_segment(
                self.disk.as_ref(),
                &self.dir,
                start,
                self.file_size,
                self.commit_log,
            )?,
        };
        let seg = Arc::new(seg);
        self.segments.write().push(Arc::clone(&seg));
        if self.commit_log {
            self.spawn_ahead(start + self.file_size);
        }
        Ok(seg)
    }

    /// Creates the file after the last one now (not yet in use), so the
    /// roll-over that needs it cannot fail. Used before a batch is written.
    pub(crate) fn prepare_next(&self) -> Result<()> {
        let Some(last) = self.last() else {
            return Ok(());
        };
        let start = last.start + self.file_size;
        let mut ahead = self.ahead.lock();
        // A creation under way may have failed: only a file that exists counts.
        if let Some(a) = ahead.take_if(|a| a.start == start) {
            if let Ok(Ok(seg)) = a.rx.recv() {
                *ahead = Some(Ahead::ready(start, seg));
                return Ok(());
            }
        }
        let seg = create_segment(
            self.disk.as_ref(),
            &self.dir,
            start,
            self.file_size,
            self.commit_log,
        )?;
        *ahead = Some(Ahead::ready(start, seg));
        Ok(())
    }

    /// Starts creating the file after the last one on a helper thread unless
    /// that is under way already. ConsumeQueues call it when their last file
    /// is half full, so the roll-over finds the next one ready.
    pub(crate) fn create_next_ahead(&self) {
        let Some(last) = self.last() else { return };
        let start = last.start + self.file_size;
        let mut ahead = self.ahead.lock();
        if ahead.as_ref().is_none_or(|a| a.start != start) {
            self.spawn_into(&mut ahead, start);
        }
    }

    /// Start of the file being created ahead, if any.
    #[cfg(test)]
    pub(crate) fn pending_ahead(&self) -> Option<u64> {
        self.ahead.lock().as_ref().map(|a| a.start)
    }

    /// Waits for a file being created ahead and forgets it (it stays on disk).
    pub(crate) fn settle_ahead(&self) {
        if let Some(a) = self.ahead.lock().take() {
            let _ = a.rx.recv();
        }
    }

    fn spawn_ahead(&self, start: u64) {
        self.spawn_into(&mut self.ahead.lock(), start);
    }

    fn spawn_into(&self, slot: &mut Option<Ahead>, start: u64) {
        let (tx, rx) = mpsc::channel();
        let disk = Arc::clone(&self.disk);
        let dir = self.dir.clone();
        let size = self.file_size;
        let durable = self.commit_log;
        let spawned = std::thread::Builder::new()
            .name("basalt-segment-ahead".into())
            .spawn(move || {
                let _ = tx.send(create_segment(disk.as_ref(), &dir, start, size, durable));
            });
        if spawned.is_ok() {
            *slot = Some(Ahead { start, rx });
        }
    }

    /// Flushes written bytes up to the current end when at least
    /// `least_pages` 4 KiB pages are dirty (0 = always). Returns the new
    /// durable offset, or the failing I/O error.
    pub(crate) fn flush(&self, least_pages: u32) -> std::io::Result<u64> {
        let _guard = self.flush_lock.lock();
        let from = self.flushed();
        let to = self.max_offset();
        if to <= from || (to - from) / 4096 < u64::from(least_pages) {
            return Ok(from);
        }
        for seg in self.snapshot() {
            let seg_end = seg.end();
            if seg_end <= from || seg.start >= to {
                continue;
            }
            let lo = from.saturating_sub(seg.start) as usize;
            let hi = (to.min(seg_end) - seg.start) as usize;
            let region = &seg.region;
            self.disk
                .sync(seg.path(), &mut || region.sync(lo, hi.saturating_sub(lo)))?;
            if self.commit_log {
                region.advise_normal_below(hi);
            }
        }
        self.set_flushed(to);
        Ok(to)
    }

    /// Drops everything from `offset` on: the segment holding it is zeroed
    /// from there (unless the caller knows it already is), later segments are
    /// deleted. Recovery only.
    pub(crate) fn truncate_from(&self, offset: u64, already_zero: bool) -> Result<()> {
        let mut segs = self.segments.write();
        let mut keep = Vec::with_capacity(segs.len());
        for seg in segs.drain(..) {
            if seg.start + self.file_size <= offset {
                keep.push(seg);
            } else if seg.start <= offset {
                let rel = (offset - seg.start) as usize;
                if already_zero {
                    seg.region.set_wrote(rel);
                } else {
                    seg.region
                        .truncate_to(rel)
                        .map_err(|e| StoreError::io("truncate", seg.path(), e))?;
                }
                keep.push(seg);
            } else {
                fs::remove_file(seg.path()).map_err(|e| StoreError::io("delete", seg.path(), e))?;
            }
        }
        *segs = keep;
        drop(segs);
        if self.flushed() > offset {
            self.set_flushed(offset);
        }
        Ok(())
    }

    /// Removes the oldest segments while `pred` holds for them, never the
    /// last one. Readers holding slices keep the mapping alive; the file is
    /// unlinked now. Returns how many were removed.
    pub(crate) fn remove_front_while(
        &self,
        mut pred: impl FnMut(&Segment) -> bool,
    ) -> Result<usize> {
        let mut segs = self.segments.write();
        let mut n = 0;
        while segs.len() > 1 {
            let Some(first) = segs.first() else { break };
            if !pred(first) {
                break;
            }
            match fs::remove_file(first.path()) {
                // Gone with its deleted topic meanwhile.
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(StoreError::io("delete", first.path(), e));
                }
                _ => {}
            }
            segs.remove(0);
            n += 1;
        }
        Ok(n)
    }
}
