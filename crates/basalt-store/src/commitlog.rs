//! The CommitLog: every record of every topic, appended to fixed-size
//! segments. A record never straddles two files: when it does not fit (with
//! room for the 8-byte blank marker after it), the marker pads the file and
//! the record goes at the start of the next one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use basalt_message::{BlankOrRecord, EncodeParams, Planned, Record};
use bytes::Bytes;

use crate::disk::Disk;
use crate::error::{Result, StoreError};
use crate::segments::{Segment, SegmentQueue};
use crate::stall::InProgress;
use crate::transient::Stager;

/// Room always left at the end of a file for the blank marker.
const BLANK_LEN: u64 = 8;

pub(crate) struct CommitLog {
    segs: SegmentQueue,
    /// Appends are staged and written to the file in bursts (see
    /// `transient`): through the mapping, each new page cost a page fault
    /// and each flush write-protected the pages again.
    stager: Stager,
    /// End of the zero-written stretch ahead of the appender (see `warm`).
    warmed: AtomicU64,
    /// A roll to the next file in progress, which may wait for its
    /// creation on the disk.
    rolling: InProgress,
}

impl CommitLog {
    pub(crate) fn open(dir: &std::path::Path, file_size: u64, disk: Arc<dyn Disk>) -> Result<Self> {
        Ok(Self {
            segs: SegmentQueue::open(dir, file_size, disk, true)?,
            stager: Stager::new(file_size),
            warmed: AtomicU64::new(0),
            rolling: InProgress::new(),
        })
    }

    /// Commits staged bytes to the file.
    pub(crate) fn commit_staged(&self) -> std::io::Result<()> {
        self.stager.commit()
    }

    /// How long the commit write or file roll in progress has run, if one
    /// is (the longer of the two).
    pub(crate) fn stuck_for(&self) -> Option<std::time::Duration> {
        self.stager.writing_for().max(self.rolling.running_for())
    }

    /// Adds the next file; the wait for its creation counts as stuck (see
    /// [`Self::stuck_for`]). Callers hold the append lock.
    fn roll(&self) -> Result<Arc<Segment>> {
        self.rolling.run(|| self.segs.roll(0))
    }

    /// Holds commits up as a stuck write would, until `stuck` returns
    /// (tests).
    pub(crate) fn stall(&self, stuck: impl FnOnce()) {
        self.stager.stall(stuck);
    }

    /// Whether a commit's write has failed, after which nothing is
    /// written (see `transient`).
    pub(crate) fn write_failed(&self) -> bool {
        self.stager.write_failed()
    }

    /// Fails the next commit's write (tests).
    pub(crate) fn fail_next_write(&self) {
        self.stager.fail_next_write();
    }

    /// Zero-writes `zeros` into `seg` at `at` (relative), past every
    /// appended byte; false when appends got there first.
    pub(crate) fn zero_ahead(&self, seg: &Segment, at: u64, zeros: &[u8]) -> std::io::Result<bool> {
        self.stager.zero_ahead(seg, at, zeros)
    }

    pub(crate) fn set_warmed(&self, offset: u64) {
        self.warmed.store(offset, Ordering::Relaxed);
    }

    /// End of the zero-written stretch ahead of the appender, 0 before any.
    #[cfg(test)]
    pub(crate) fn warmed(&self) -> u64 {
        self.warmed.load(Ordering::Relaxed)
    }

    /// Write position in `seg`, staged bytes included.
    pub(crate) fn end_in(&self, seg: &Segment) -> u64 {
        self.stager.end_of(seg)
    }

    /// One past the last appended byte, staged bytes included.
    pub(crate) fn end(&self) -> u64 {
        self.segs
            .last()
            .map_or(0, |seg| seg.start + self.end_in(&seg))
    }

    pub(crate) fn segments(&self) -> &SegmentQueue {
        &self.segs
    }

    /// Largest record a file can take.
    pub(crate) fn max_record_len(&self) -> u64 {
        self.segs.file_size() - BLANK_LEN
    }

    /// Makes the current file able to take `total` more bytes (a whole batch)
    /// by padding it and rolling now, so a batch is written contiguously and a
    /// failed roll (ENOSPC) happens before any of it is written. A batch
    /// larger than a file is written record by record.
    pub(crate) fn ensure_room(&self, total: u64) -> Result<()> {
        if total > self.max_record_len() {
            return Ok(());
        }
        match self.segs.last() {
            Some(seg) if self.end_in(&seg) + total + BLANK_LEN > seg.size() => {
                self.close_and_roll(&seg).map(|_| ())
            }
            Some(_) => Ok(()),
            None => self.roll().map(|_| ()),
        }
    }

    /// Writes a planned record with its append-time fields, straight into
    /// the staging buffer. Callers hold the store's append lock. Returns
    /// the record's commit-log offset.
    pub(crate) fn append(
        &self,
        record: &Planned<'_>,
        queue_offset: i64,
        store_timestamp: i64,
    ) -> Result<u64> {
        let len = record.len() as u64;
        if len > self.max_record_len() {
            return Err(StoreError::MessageTooLarge {
                size: record.len(),
                limit: self.max_record_len() as usize,
            });
        }
        let mut seg = match self.segs.last() {
            Some(s) => s,
            None => self.roll()?,
        };
        if self.end_in(&seg) + len + BLANK_LEN > seg.size() {
            seg = self.close_and_roll(&seg)?;
        }
        let phys = seg.start + self.end_in(&seg);
        let params = EncodeParams {
            queue_offset,
            physical_offset: phys as i64,
            store_timestamp,
        };
        self.stager.append_with(&seg, record.len(), false, |buf| {
            record.write_into(params, buf)
        })?;
        Ok(phys)
    }

    /// The record bytes at `phys` of `size` bytes (zero-copy).
    pub(crate) fn slice(&self, phys: u64, size: usize) -> Option<Bytes> {
        let seg = self.segs.find(phys)?;
        seg.region.bytes((phys - seg.start) as usize, size)
    }

    /// Reads the record at `phys`, whatever its size.
    pub(crate) fn record_at(&self, phys: u64) -> Option<(Bytes, Box<Record>)> {
        let seg = self.segs.find(phys)?;
        let rel = (phys - seg.start) as usize;
        let head = seg.region.bytes(rel, 4)?;
        let size = usize::try_from(i32::from_be_bytes(head.as_ref().try_into().ok()?)).ok()?;
        let bytes = seg.region.bytes(rel, size)?;
        match BlankOrRecord::decode(&bytes, false).ok()? {
            BlankOrRecord::Record(r) => Some((bytes, r)),
            BlankOrRecord::Blank { .. } => None,
        }
    }

    /// Ends `seg` with the blank marker, writes everything staged in it to
    /// the file, and only then adds the next file. Once that one is listed
    /// the log's end (how far readers read, how far the flusher syncs and
    /// reports durable) lies past `seg`, so `seg` must be whole by then:
    /// rolling first let a reader take `seg`'s staged records for deleted
    /// ones and skip them, and a sync report them durable unwritten.
    fn close_and_roll(&self, seg: &Arc<Segment>) -> Result<Arc<Segment>> {
        self.pad_with_blank(seg)?;
        self.stager
            .commit()
            .map_err(|e| StoreError::io("commit", seg.path(), e))?;
        self.roll()
    }

    fn pad_with_blank(&self, seg: &Arc<Segment>) -> Result<()> {
        let remaining = seg.size() - self.end_in(seg);
        let marker = BlankOrRecord::blank_marker(i32::try_from(remaining).unwrap_or(i32::MAX));
        let marker: &[u8] = if remaining >= BLANK_LEN {
            marker.as_slice()
        } else {
            &[]
        };
        // The rest of the file is padding: once committed it counts as
        // written, so readers and the flusher move on to the next file.
        self.stager.append(seg, marker, true)
    }

    /// Store timestamp of the first record of `seg`, if it has one.
    pub(crate) fn first_timestamp(&self, seg: &Segment) -> Option<i64> {
        self.record_at(seg.start).map(|(_, r)| r.store_timestamp)
    }
}
