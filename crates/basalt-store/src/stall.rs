//! A disk that holds CommitLog writes up: how long the write in progress
//! has run, RocketMQ's page-cache-busy flow control built on it, and
//! committing a caller's own records without queueing behind a commit
//! that already wrote them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::store::Store;

/// How long a lock a stuck write may hold is waited for on an async
/// worker: a normal write takes tens of microseconds.
const PATIENCE: Duration = Duration::from_millis(10);

/// When an operation that may get stuck on the disk began (RocketMQ's
/// `beginTimeInLock`): how long a stalled disk has held it up. One mark per
/// kind of operation, since two kinds run under different locks and may
/// overlap.
pub(crate) struct InProgress {
    /// Nanoseconds after `epoch` plus one; 0 when none is running.
    since: AtomicU64,
    epoch: Instant,
}

impl InProgress {
    pub(crate) fn new() -> Self {
        Self {
            since: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// How long the operation in progress has run; `None` when none is.
    pub(crate) fn running_for(&self) -> Option<Duration> {
        let since = self.since.load(Ordering::Acquire).checked_sub(1)?;
        Some(
            self.epoch
                .elapsed()
                .saturating_sub(Duration::from_nanos(since)),
        )
    }

    /// Runs `op` as the operation in progress. Callers serialise their
    /// operations of one kind (a lock), so marks never nest.
    pub(crate) fn run<T>(&self, op: impl FnOnce() -> T) -> T {
        /// Clears the mark however `op` ends: a mark left behind would
        /// have the broker refuse sends for good.
        struct Done<'a>(&'a AtomicU64);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(0, Ordering::Release);
            }
        }
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        self.since.store(now + 1, Ordering::Release);
        let _done = Done(&self.since);
        op()
    }
}

/// Locks `lock`, which a CommitLog write stuck on the disk may hold (the
/// commit lock, or the append lock of a put rolling the file behind one):
/// a wait longer than a few milliseconds moves off the async worker.
pub(crate) fn lock_patiently<T>(lock: &parking_lot::Mutex<T>) -> parking_lot::MutexGuard<'_, T> {
    lock.try_lock_for(PATIENCE)
        .unwrap_or_else(|| off_the_worker(|| lock.lock()))
}

/// Runs `wait` where it blocks only its own task: in `block_in_place` on a
/// multi-threaded runtime's worker (whose other tasks move to another
/// thread meanwhile), as it is anywhere else (a thread of the store's, a
/// blocking task, a single-threaded runtime).
pub(crate) fn off_the_worker<T>(wait: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(wait)
    } else {
        wait()
    }
}

impl Store {
    /// How long the CommitLog write or file creation in progress has been
    /// running; `None` when none is.
    pub fn commit_stuck_for(&self) -> Option<Duration> {
        self.shared.commitlog.stuck_for()
    }

    /// RocketMQ's `isOSPageCacheBusy`: a CommitLog write (or the creation
    /// of its next file, which a put waits for under the append lock) has
    /// been running longer than `osPageCacheBusyTimeOutMills`. The broker
    /// refuses sends meanwhile, so clients turn to other brokers instead
    /// of waiting on this one's disk. (A ConsumeQueue file created under
    /// the append lock is not counted: those are small and made ahead.)
    pub fn page_cache_busy(&self) -> bool {
        let limit = Duration::from_millis(self.shared.config.os_page_cache_busy_time_out_mills);
        self.commit_stuck_for().is_some_and(|d| d > limit)
    }

    /// Commits the staged records that end at or before `end` (an
    /// [`crate::Appended::commit_through`]): returns at once when a commit
    /// already wrote them, else commits everything staged, waiting for a
    /// commit in progress first (off the async worker when that takes long,
    /// see [`Store::commit_staged`]). A no-op where the caller does not
    /// commit.
    pub fn commit_through(&self, end: u64) -> Result<()> {
        if self.shared.commitlog.segments().max_offset() >= end {
            return Ok(());
        }
        self.commit_staged()
    }

    /// Holds every commit up, as a write stuck on the disk would, from a
    /// thread of its own, until the returned handle is released or
    /// dropped, or `at_most` has passed (tests of the broker's behaviour
    /// meanwhile). Returns once commits are held up.
    #[doc(hidden)]
    pub fn simulate_stalled_write(&self, at_most: Duration) -> StalledWrite {
        let shared = std::sync::Arc::clone(&self.shared);
        let (release, released) = std::sync::mpsc::channel::<()>();
        let held = std::sync::Arc::new(std::sync::Barrier::new(2));
        let started = std::sync::Arc::clone(&held);
        let thread = std::thread::spawn(move || {
            shared.commitlog.stall(|| {
                started.wait();
                let _ = released.recv_timeout(at_most);
            });
        });
        held.wait();
        StalledWrite {
            release: Some(release),
            thread: Some(thread),
        }
    }

    /// Makes the next CommitLog commit fail as a disk error would, which
    /// poisons the store (tests of what the broker answers then).
    #[doc(hidden)]
    pub fn simulate_failed_write(&self) {
        self.shared.commitlog.fail_next_write();
    }
}

/// A write held stuck by [`Store::simulate_stalled_write`].
#[doc(hidden)]
pub struct StalledWrite {
    release: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StalledWrite {
    /// Ends the stall and waits until commits can go on.
    pub fn release(mut self) {
        self.end();
    }

    fn end(&mut self) {
        drop(self.release.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for StalledWrite {
    fn drop(&mut self) {
        self.end();
    }
}
