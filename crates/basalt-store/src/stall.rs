//! A disk that holds CommitLog writes up: how long the write in progress
//! has run, RocketMQ's page-cache-busy flow control built on it, and
//! committing a caller's own records without queueing behind a commit
//! that already wrote them.

use std::time::Duration;

use crate::error::Result;
use crate::store::Store;

impl Store {
    /// How long the CommitLog write in progress has been running; `None`
    /// when none is.
    pub fn commit_stuck_for(&self) -> Option<Duration> {
        self.shared.commitlog.writing_for()
    }

    /// RocketMQ's `isOSPageCacheBusy`: a CommitLog write has been running
    /// longer than `osPageCacheBusyTimeOutMills`. The broker refuses sends
    /// meanwhile, so clients turn to other brokers instead of waiting on
    /// this one's disk.
    pub fn page_cache_busy(&self) -> bool {
        let limit = Duration::from_millis(self.shared.config.os_page_cache_busy_time_out_mills);
        self.commit_stuck_for().is_some_and(|d| d > limit)
    }

    /// Commits the staged records that end at or before `end` (an
    /// [`crate::Appended::commit_through`]): returns at once when a commit
    /// already wrote them, else commits everything staged, waiting for a
    /// commit in progress first. A no-op where the caller does not commit
    /// (see [`Store::commit_staged`]).
    pub fn commit_through(&self, end: u64) -> Result<()> {
        if self.shared.commitlog.segments().max_offset() >= end {
            return Ok(());
        }
        self.commit_staged()
    }

    /// [`Store::commit_through`], waiting at most `patience` for a commit in
    /// progress; `None` when that one still runs then (a write stuck on the
    /// disk), for the caller to wait somewhere it blocks nobody else.
    pub fn try_commit_through(&self, end: u64, patience: Duration) -> Option<Result<()>> {
        if !self.shared.commits_on_append() || self.shared.commitlog.segments().max_offset() >= end
        {
            return Some(Ok(()));
        }
        match self.shared.commit_within(patience)? {
            true => Some(Ok(())),
            false => Some(Err(crate::flush::poisoned(&self.shared))),
        }
    }

    /// Holds every commit up for `how_long`, as a write stuck on the disk
    /// would, from a thread of its own (tests of the broker's behaviour
    /// meanwhile).
    #[doc(hidden)]
    pub fn simulate_stalled_write(&self, how_long: Duration) -> std::thread::JoinHandle<()> {
        let shared = std::sync::Arc::clone(&self.shared);
        let held = std::sync::Arc::new(std::sync::Barrier::new(2));
        let started = std::sync::Arc::clone(&held);
        let handle = std::thread::spawn(move || {
            shared.commitlog.stall_then(how_long, || {
                started.wait();
            });
        });
        held.wait();
        handle
    }
}
