//! The transient store pool (`transientStorePoolEnable`): appends land in a
//! pooled heap buffer instead of the mapping, and are committed to the file
//! (pwrite) every `commitIntervalCommitLog` by the flusher thread, which then
//! flushes as usual. Readers and arrivals only see committed bytes, as in
//! RocketMQ. Only the newest segment is ever staged: rolling to the next
//! file commits the previous one first, so files become visible in order.
//! The buffers are not mlocked (that needs `unsafe` outside the mmap module);
//! staged bytes are lost on a crash, exactly like RocketMQ's pool.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Result, StoreError};
use crate::segments::Segment;

struct Staging {
    seg: Arc<Segment>,
    buf: Vec<u8>,
    /// End of the bytes written into `buf` (committed plus staged).
    len: usize,
    /// A blank marker ended the file: the rest of it counts as written.
    full: bool,
}

pub(crate) struct Stager {
    active: Mutex<Option<Staging>>,
    spare: Mutex<Vec<Vec<u8>>>,
    file_size: usize,
}

impl Stager {
    pub(crate) fn new(file_size: u64) -> Self {
        Self {
            active: Mutex::new(None),
            spare: Mutex::new(Vec::new()),
            file_size: usize::try_from(file_size).unwrap_or(usize::MAX),
        }
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
        let mut active = self.active.lock();
        if active.as_ref().is_none_or(|st| st.seg.start != seg.start) {
            if let Some(old) = active.take() {
                self.commit_one(old)?;
            }
            let buf = self
                .spare
                .lock()
                .pop()
                .unwrap_or_else(|| vec![0u8; self.file_size]);
            *active = Some(Staging {
                seg: Arc::clone(seg),
                buf,
                len: seg.wrote() as usize,
                full: false,
            });
        }
        let st = active.as_mut().ok_or(StoreError::Shutdown)?;
        let end = st.len + data.len();
        let dst = st
            .buf
            .get_mut(st.len..end)
            .ok_or_else(|| StoreError::Corrupt {
                file: st.seg.path().to_owned(),
                offset: st.len as u64,
                reason: "staged record does not fit".to_owned(),
            })?;
        dst.copy_from_slice(data);
        st.len = end;
        st.full = fill_to_end;
        Ok(())
    }

    /// Writes staged bytes to the file and publishes them.
    pub(crate) fn commit(&self) -> std::io::Result<()> {
        let mut active = self.active.lock();
        if let Some(st) = active.take() {
            *active = self.commit_keep(st)?;
        }
        Ok(())
    }

    fn commit_one(&self, st: Staging) -> Result<()> {
        let path = st.seg.path().to_owned();
        self.commit_keep(st)
            .map(|_| ())
            .map_err(|e| StoreError::io("commit", path, e))
    }

    /// Commits `st`; keeps it staged unless its file is complete.
    fn commit_keep(&self, mut st: Staging) -> std::io::Result<Option<Staging>> {
        let from = st.seg.wrote() as usize;
        if st.len > from {
            let data = st.buf.get(from..st.len).unwrap_or_default();
            st.seg.region.append_via_file(data)?;
        }
        if st.full || st.len >= self.file_size {
            // The padding is already zeros in the preallocated file.
            st.seg.region.set_wrote(self.file_size);
            self.spare.lock().push(std::mem::take(&mut st.buf));
            return Ok(None);
        }
        Ok(Some(st))
    }
}
