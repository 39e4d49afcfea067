//! Staged appends: records land in a heap buffer instead of the file, and
//! a commit writes everything staged with one `pwrite`. Readers and
//! arrivals only see committed bytes, as in RocketMQ's transient store pool.
//!
//! Every configuration stages; who commits differs. SYNC_FLUSH: the group
//! commit, right before each sync. `transientStorePoolEnable`: the flusher,
//! every `commitIntervalCommitLog`. ASYNC_FLUSH without the pool: the
//! appender, before it answers ([`crate::Store::append`], or a burst of
//! [`crate::Store::stage`] calls closed by [`crate::Store::commit_staged`]),
//! with the commit period as a backstop. Writing each record to the file
//! itself costs a system call per record (about a tenth of the broker's CPU
//! per message); writing it through the mapping cost a page fault per new
//! page and made every flush write-protect the pages again (together about
//! a sixth of the broker's CPU under ASYNC_FLUSH). Staging costs a copy.
//!
//! Only the newest segment is ever staged: moving to the next file commits
//! the previous one first, so files become visible in order. The buffer
//! holds only what is not committed yet and is reused, so it stays as
//! small as one commit interval's worth of records. Staged bytes are lost
//! on a crash: only the transient store pool acknowledges them before
//! they are committed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::error::{Result, StoreError};
use crate::segments::Segment;
use crate::stall::InProgress;

struct Staging {
    seg: Arc<Segment>,
    /// Logical end of the file: committed, being committed and staged bytes.
    len: usize,
    /// The staged bytes, which end at `len`.
    buf: Vec<u8>,
    /// A blank marker ended the file: the rest of it counts as written.
    full: bool,
}

pub(crate) struct Stager {
    active: Mutex<Option<Staging>>,
    /// Held while staged bytes go to the file, so commits land in order;
    /// holds the buffer the next commit swaps in. Taken before `active`.
    committing: Mutex<Vec<u8>>,
    file_size: usize,
    /// The write in progress: how long a stalled disk has held commits up.
    writing: InProgress,
    /// The next write of staged bytes fails with EIO (see
    /// [`Self::fail_next_write`]).
    fail_next_write: AtomicBool,
    /// A write failed: nothing is written any more (see `write`).
    failed: AtomicBool,
}

impl Stager {
    pub(crate) fn new(file_size: u64) -> Self {
        Self {
            active: Mutex::new(None),
            committing: Mutex::new(Vec::new()),
            file_size: usize::try_from(file_size).unwrap_or(usize::MAX),
            writing: InProgress::new(),
            fail_next_write: AtomicBool::new(false),
            failed: AtomicBool::new(false),
        }
    }

    /// How long the write in progress has run; `None` when none is.
    pub(crate) fn writing_for(&self) -> Option<Duration> {
        self.writing.running_for()
    }

    /// Runs `write` as the write in progress; every write under
    /// `committing` goes through here, so a stall in any of them shows.
    fn writing<T>(&self, write: impl FnOnce() -> T) -> T {
        self.writing.run(write)
    }

    /// Holds commits up as a write stuck on the disk would, until `stuck`
    /// returns (tests of what the broker does meanwhile).
    pub(crate) fn stall(&self, stuck: impl FnOnce()) {
        let _committing = self.committing.lock();
        self.writing(stuck);
    }

    /// Makes the next write of staged bytes fail as a disk error would
    /// (tests of what callers answer then).
    pub(crate) fn fail_next_write(&self) {
        self.fail_next_write.store(true, Ordering::Release);
    }

    /// Whether a write has failed, after which nothing is written.
    pub(crate) fn write_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Logical end of `seg` within the file (staged bytes included).
    pub(crate) fn end_of(&self, seg: &Segment) -> u64 {
        match &*self.active.lock() {
            Some(st) if st.seg.start == seg.start && st.full => self.file_size as u64,
            Some(st) if st.seg.start == seg.start => st.len as u64,
            _ => seg.wrote(),
        }
    }

    /// Stages `data` at the logical end of `seg`; with `fill_to_end` (the
    /// blank marker) the rest of the file counts as written once committed.
    pub(crate) fn append(&self, seg: &Arc<Segment>, data: &[u8], fill_to_end: bool) -> Result<()> {
        self.append_with(seg, data.len(), fill_to_end, |buf| {
            buf.extend_from_slice(data);
        })
    }

    /// [`Self::append`] of `len` bytes that `write` appends to the staging
    /// buffer itself (a record encoded in place, without a copy).
    pub(crate) fn append_with(
        &self,
        seg: &Arc<Segment>,
        len: usize,
        fill_to_end: bool,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<()> {
        let mut active = self.active.lock();
        if active.as_ref().is_some_and(|st| st.seg.start != seg.start) {
            // A new file: the previous one is committed first. Lock order
            // is `committing` then `active`.
            drop(active);
            let mut spare = crate::stall::lock_patiently(&self.committing);
            active = self.active.lock();
            if let Some(old) = active.take_if(|st| st.seg.start != seg.start) {
                if let Err((old, e)) = self.writing(|| self.write(old, &mut spare)) {
                    let path = old.seg.path().to_owned();
                    *active = Some(old);
                    return Err(StoreError::io("commit", path, e));
                }
            }
        }
        let st = active.get_or_insert_with(|| Staging {
            seg: Arc::clone(seg),
            len: seg.wrote() as usize,
            buf: Vec::new(),
            full: false,
        });
        if st.len + len > self.file_size {
            return Err(StoreError::Corrupt {
                file: st.seg.path().to_owned(),
                offset: st.len as u64,
                reason: "staged record does not fit".to_owned(),
            });
        }
        let before = st.buf.len();
        write(&mut st.buf);
        if st.buf.len() != before + len {
            // A writer that broke its length would shift every later
            // record: nothing of it is staged.
            st.buf.truncate(before);
            return Err(StoreError::Corrupt {
                file: st.seg.path().to_owned(),
                offset: st.len as u64,
                reason: "staged record's length differs from its plan".to_owned(),
            });
        }
        st.len += len;
        st.full = fill_to_end;
        Ok(())
    }

    /// Writes `zeros` into `seg` at `at` unless appends (staged ones
    /// included) reach that far; false then. Holding `committing` keeps
    /// every commit, which writes only below the logical end, from landing
    /// while the zeros are written (see `warm`).
    pub(crate) fn zero_ahead(&self, seg: &Segment, at: u64, zeros: &[u8]) -> std::io::Result<bool> {
        let _commits = self.committing.lock();
        if at < self.end_of(seg) {
            return Ok(false);
        }
        let Ok(at) = usize::try_from(at) else {
            return Ok(false);
        };
        self.writing(|| seg.region.zero_ahead(at, zeros))
    }

    /// Writes the staged bytes to the file and publishes them. Appends go
    /// on into a fresh buffer while the bytes are written. A commit stuck
    /// on the disk is waited for off the async worker (see
    /// `stall::lock_patiently`).
    pub(crate) fn commit(&self) -> std::io::Result<()> {
        let mut spare = crate::stall::lock_patiently(&self.committing);
        let taken = {
            let mut active = self.active.lock();
            if active.as_ref().is_some_and(|st| st.full) {
                active.take()
            } else {
                active.as_mut().map(|st| Staging {
                    seg: Arc::clone(&st.seg),
                    len: st.len,
                    buf: std::mem::replace(&mut st.buf, std::mem::take(&mut *spare)),
                    full: false,
                })
            }
        };
        let Some(st) = taken else { return Ok(()) };
        // `spare` (the `committing` guard) lives until the bytes of a failed
        // write are back: no other commit may write meanwhile.
        match self.writing(|| self.write(st, &mut spare)) {
            Ok(()) => Ok(()),
            Err((failed, e)) => {
                self.restore(failed);
                drop(spare);
                Err(e)
            }
        }
    }

    /// Puts back what a failed commit took, ahead of whatever was staged
    /// after it, so the logical end stays where the appends left it (no
    /// later write takes the bytes: see `failed`). Callers still hold
    /// `committing`: no other commit ran meanwhile, and no later file was
    /// staged (moving to one commits this one first).
    fn restore(&self, failed: Staging) {
        let mut active = self.active.lock();
        match active.as_mut() {
            Some(cur) if cur.seg.start == failed.seg.start => {
                let mut buf = failed.buf;
                buf.extend_from_slice(&cur.buf);
                cur.buf = buf;
            }
            Some(cur) => tracing::error!(
                failed = %failed.seg.path().display(),
                staged = %cur.seg.path().display(),
                "a failed commit's bytes cannot be put back behind a later file"
            ),
            None => *active = Some(failed),
        }
    }

    /// Writes `st`'s bytes (which end at `st.len`) at the file's published
    /// end, publishes them, and keeps the emptied buffer for the next swap.
    /// On failure `st` comes back (see `restore`), and no write after it
    /// writes anything: the puts it carried are answered as failed, so a
    /// later commit must not store them after all.
    fn write(&self, mut st: Staging, spare: &mut Vec<u8>) -> Result<(), (Staging, std::io::Error)> {
        if self.failed.load(Ordering::Acquire) {
            return Err((
                st,
                std::io::Error::other("an earlier CommitLog write failed"),
            ));
        }
        if !st.buf.is_empty() {
            let written = if self.fail_next_write.swap(false, Ordering::AcqRel) {
                Err(std::io::Error::from_raw_os_error(
                    rustix::io::Errno::IO.raw_os_error(),
                ))
            } else {
                st.seg.region.append_via_file(&st.buf)
            };
            if let Err(e) = written {
                self.failed.store(true, Ordering::Release);
                return Err((st, e));
            }
        }
        if st.full {
            // The padding is already zeros in the preallocated file.
            st.seg.region.set_wrote(self.file_size);
        }
        st.buf.clear();
        if st.buf.capacity() > spare.capacity() {
            *spare = st.buf;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segments::SegmentQueue;

    /// A 4 KiB segment queue in `dir` and its first file.
    fn one_segment(dir: &std::path::Path) -> (SegmentQueue, Arc<Segment>) {
        let disk: Arc<dyn crate::disk::Disk> = Arc::new(crate::disk::RealDisk);
        let segs = SegmentQueue::open(dir, 4096, disk, true).unwrap();
        let seg = segs.roll(0).unwrap();
        (segs, seg)
    }

    #[test]
    fn a_writer_that_breaks_its_length_stages_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (_segs, seg) = one_segment(dir.path());
        let stager = Stager::new(4096);
        stager.append(&seg, b"abcd", false).unwrap();
        let short = stager.append_with(&seg, 8, false, |buf| buf.extend_from_slice(b"xyz"));
        assert!(
            matches!(short, Err(StoreError::Corrupt { .. })),
            "{short:?}"
        );
        let long = stager.append_with(&seg, 2, false, |buf| buf.extend_from_slice(b"xyz"));
        assert!(matches!(long, Err(StoreError::Corrupt { .. })), "{long:?}");
        assert_eq!(stager.end_of(&seg), 4);
        stager
            .append_with(&seg, 3, false, |buf| buf.extend_from_slice(b"efg"))
            .unwrap();
        assert_eq!(stager.end_of(&seg), 7);
        stager.commit().unwrap();
        assert_eq!(&std::fs::read(seg.path()).unwrap()[..7], b"abcdefg");
    }

    #[test]
    fn bytes_a_failed_commit_took_go_back_ahead_of_later_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (_segs, seg) = one_segment(dir.path());
        let stager = Stager::new(4096);
        stager.append(&seg, b"abcd", false).unwrap();
        // What `commit` takes before its write, which then fails.
        let taken = {
            let mut active = stager.active.lock();
            let st = active.as_mut().unwrap();
            Staging {
                seg: Arc::clone(&st.seg),
                len: st.len,
                buf: std::mem::take(&mut st.buf),
                full: false,
            }
        };
        stager.append(&seg, b"ef", false).unwrap();
        stager.restore(taken);
        assert_eq!(stager.end_of(&seg), 6);
        stager.commit().unwrap();
        assert_eq!(seg.wrote(), 6);
        assert_eq!(&std::fs::read(seg.path()).unwrap()[..6], b"abcdef");
        // A whole file taken (its blank marker staged) comes back as it was.
        stager.append(&seg, &[7u8; 10], true).unwrap();
        let full = stager.active.lock().take().unwrap();
        stager.restore(full);
        assert_eq!(stager.end_of(&seg), 4096);
        stager.commit().unwrap();
        assert_eq!(seg.wrote(), 4096);
        assert_eq!(std::fs::read(seg.path()).unwrap()[6..16], [7u8; 10]);
    }
}
