//! Flushing, chosen by `flushDiskType`.
//!
//! One flusher thread owns every fsync, so blocking I/O never runs on the
//! async executor. Under SYNC_FLUSH it is a group commit: appenders queue
//! the offset they need durable with a oneshot; the flusher syncs
//! everything written so far in one go, so all appenders that arrived while
//! the previous sync ran share the next one, and wakes exactly the waiters
//! that sync covered. A put that leaves the wait to its caller
//! ([`crate::Store::append`]) only raises the wanted offset; the caller
//! learns of progress from the [`DurabilityListener`], told once per sync.
//! Under load the flusher gathers: when the previous sync covered at least
//! `groupCommitSiblings` puts, the next one starts no sooner than
//! `groupCommitDelayMicros` after it, so more puts share it. Appends are
//! staged; under SYNC_FLUSH the flusher writes them to the file (one
//! `pwrite`, see `transient`) right before each sync, and what the sync
//! made durable becomes readable.
//! Under ASYNC_FLUSH it syncs every `flushIntervalCommitLog` when
//! `flushCommitLogLeastPages` pages are dirty, and everything every
//! `flushCommitLogThoroughInterval`.
//! ConsumeQueues and checkpoint follow every `flushIntervalConsumeQueue`
//! (the index every `flushConsumeQueueThoroughInterval`)
//! on a thread of their own: the index's hash slots dirty pages all over
//! the file, and their sync (tens of ms under load) must not hold up a
//! group commit.
//! A failed sync poisons the store: no retry, since the kernel may already
//! have dropped the dirty pages it could not write.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

use crate::config::FlushDiskType;
use crate::error::{Result, StoreError};
use crate::store::Shared;
use crate::types::PutStatus;

/// Group-commit bookkeeping, under one lock shared with the flusher's
/// condvar so a request can never slip between its check and its sleep.
#[derive(Default)]
struct Pending {
    /// Highest offset known durable.
    durable: u64,
    poisoned: bool,
    /// Waiters by (end offset, arrival): a flush completes exactly the
    /// prefix it covers, so each waiter is woken once, when its record is
    /// durable, not on every flush (which costs a wake-up per waiter per
    /// sync with hundreds of writers).
    waiters: BTreeMap<(u64, u64), oneshot::Sender<bool>>,
    seq: u64,
    /// The highest end offset a put without a waiter needs durable.
    wanted: u64,
    listener: Option<Arc<dyn DurabilityListener>>,
    /// The runtime of the latest waiter. Completing waiters from a task on
    /// it costs one cross-thread wake per sync instead of one per waiter.
    /// (Kept current, so a store outliving a runtime follows the next one.)
    runtime: Option<tokio::runtime::Handle>,
}

impl Pending {
    /// The highest end offset anyone waits for (waiters that timed out stay
    /// queued until a flush covers them, so they still count).
    fn highest_wanted(&self) -> u64 {
        let waited = self.waiters.keys().next_back().map_or(0, |(end, _)| *end);
        waited.max(self.wanted)
    }
}

/// Told how far the CommitLog is durable: after every sync, and once when
/// it starts listening. Runs on the flusher thread, so it must not block.
pub trait DurabilityListener: Send + Sync + 'static {
    /// Everything before `offset` is durable.
    fn durable(&self, offset: u64);
    /// A sync failed: nothing will become durable again (the store is
    /// poisoned until reopened).
    fn failed(&self);
}

pub(crate) struct FlushSignal {
    pending: Mutex<Pending>,
    cv: Condvar,
    /// Serialises the periodic queue flush with the final one at shutdown.
    queues: Mutex<()>,
    /// Puts that asked for durability so far (with or without a waiter).
    requests: AtomicU64,
}

impl FlushSignal {
    pub(crate) fn new() -> Self {
        Self {
            pending: Mutex::new(Pending::default()),
            cv: Condvar::new(),
            queues: Mutex::new(()),
            requests: AtomicU64::new(0),
        }
    }

    pub(crate) fn wake_flusher(&self) {
        let _p = self.pending.lock();
        self.cv.notify_all();
    }

    pub(crate) fn wake_all_poisoned(&self) {
        let (waiters, listener) = {
            let mut p = self.pending.lock();
            p.poisoned = true;
            (std::mem::take(&mut p.waiters), p.listener.clone())
        };
        for tx in waiters.into_values() {
            let _ = tx.send(false);
        }
        if let Some(l) = listener {
            l.failed();
        }
    }

    /// Installs the listener and tells it where durability stands now.
    pub(crate) fn listen(&self, listener: Arc<dyn DurabilityListener>, flushed: u64) {
        let poisoned = {
            let mut p = self.pending.lock();
            p.durable = p.durable.max(flushed);
            p.listener = Some(Arc::clone(&listener));
            p.poisoned
        };
        // A sync publishing meanwhile may reach the listener first; the
        // offset only rises, so listeners keep the highest they were told.
        listener.durable(flushed);
        if poisoned {
            listener.failed();
        }
    }

    /// Drops every waiter (they see the store shut down).
    fn abandon_waiters(&self) {
        let waiters = std::mem::take(&mut self.pending.lock().waiters);
        drop(waiters);
    }

    pub(crate) fn publish(&self, offset: u64) {
        let (done, runtime, listener) = {
            let mut p = self.pending.lock();
            p.durable = p.durable.max(offset);
            let rest = p.waiters.split_off(&(offset.saturating_add(1), 0));
            let done = std::mem::replace(&mut p.waiters, rest);
            (done, p.runtime.clone(), p.listener.clone())
        };
        if let Some(l) = listener {
            l.durable(offset);
        }
        if done.is_empty() {
            return;
        }
        let complete = move || {
            for tx in done.into_values() {
                let _ = tx.send(true);
            }
        };
        match runtime {
            Some(rt) => drop(rt.spawn(async move { complete() })),
            None => complete(),
        }
    }
}

/// Asks the flusher to make `end` durable without waiting for it; true
/// when it is not durable yet.
pub(crate) fn request_durable(shared: &Shared, end: u64) -> Result<bool> {
    let flush = &shared.flush;
    let mut p = flush.pending.lock();
    if p.poisoned {
        drop(p);
        return Err(poisoned(shared));
    }
    if p.durable >= end {
        return Ok(false);
    }
    flush.requests.fetch_add(1, Ordering::Relaxed);
    if end > p.wanted {
        p.wanted = end;
        flush.cv.notify_one();
    }
    Ok(true)
}

/// Waits until `end` is durable, or `syncFlushTimeout` passes. The put
/// asked for it with [`request_durable`] first (which counted it and woke
/// the flusher).
pub(crate) async fn wait_durable(shared: &Shared, end: u64) -> Result<PutStatus> {
    let rx = {
        let mut p = shared.flush.pending.lock();
        if p.poisoned {
            drop(p);
            return Err(poisoned(shared));
        }
        if p.durable >= end {
            return Ok(PutStatus::PutOk);
        }
        p.runtime = tokio::runtime::Handle::try_current().ok();
        let (tx, rx) = oneshot::channel();
        p.seq += 1;
        let key = (end, p.seq);
        p.waiters.insert(key, tx);
        rx
    };
    let timeout = Duration::from_millis(shared.config.sync_flush_timeout);
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(true)) => Ok(PutStatus::PutOk),
        Ok(Ok(false)) => Err(poisoned(shared)),
        Ok(Err(_)) => Err(StoreError::Shutdown),
        // The sender stays queued until a flush covers it or the store
        // stops; sending to a dropped receiver is harmless.
        Err(_) => Ok(PutStatus::FlushDiskTimeout),
    }
}

pub(crate) fn poisoned(shared: &Shared) -> StoreError {
    match shared.poison.get() {
        Some(e) => StoreError::Poisoned(Arc::clone(e)),
        None => StoreError::Shutdown,
    }
}

pub(crate) fn spawn_flusher(shared: Arc<Shared>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("basalt-flush".into())
        .spawn(move || {
            Flusher::new(&shared).run();
            shared.flush.abandon_waiters();
        })
        .map_err(|e| StoreError::io("spawn flusher", "", e))
}

/// The thread that flushes ConsumeQueues, index and checkpoint (and
/// re-reads disk usage) every `flushIntervalConsumeQueue`. The final flush
/// at shutdown is the CommitLog flusher's, after its last sync.
pub(crate) fn spawn_queue_flusher(shared: Arc<Shared>) -> Result<JoinHandle<()>> {
    let every = Duration::from_millis(shared.config.flush_interval_consume_queue);
    let index_every = Duration::from_millis(shared.config.flush_consume_queue_thorough_interval);
    let mut index_synced = Instant::now();
    std::thread::Builder::new()
        .name("basalt-flush-queues".into())
        .spawn(move || loop {
            if shared.pause(every) {
                return;
            }
            if shared.poison.get().is_none() {
                let index = index_synced.elapsed() >= index_every;
                flush_queues(&shared, index);
                if index {
                    index_synced = Instant::now();
                }
            }
            shared.refresh_disk_full();
        })
        .map_err(|e| StoreError::io("spawn queue flusher", "", e))
}

struct Flusher<'a> {
    s: &'a Shared,
    sync: bool,
    last_flush: Instant,
    last_thorough: Instant,
    /// `requests` at the previous sync, and how many puts that sync covered.
    requests_then: u64,
    last_group: u64,
}

impl<'a> Flusher<'a> {
    fn new(s: &'a Shared) -> Self {
        Self {
            s,
            sync: s.config.flush_disk_type == FlushDiskType::SyncFlush,
            last_flush: Instant::now(),
            last_thorough: Instant::now(),
            requests_then: 0,
            last_group: 0,
        }
    }

    fn run(mut self) {
        let cfg = &self.s.config;
        let flush_every = Duration::from_millis(cfg.flush_interval_commit_log);
        // Under SYNC_FLUSH a put wakes the flusher; the period only picks up
        // puts that did not ask to wait (WAIT=false). Under ASYNC_FLUSH the
        // commit period commits what appenders left staged.
        let mut interval = flush_every;
        if !self.sync {
            interval = interval.min(Duration::from_millis(cfg.commit_interval_commit_log));
        }
        loop {
            self.wait(interval);
            let stopping = self.s.shutdown.load(Ordering::Acquire);
            if stopping && self.s.crashing.load(Ordering::Acquire) {
                return;
            }
            if self.s.poison.get().is_some() {
                if stopping {
                    return;
                }
                continue;
            }
            let flush = self.sync || stopping || self.last_flush.elapsed() >= flush_every;
            if flush && self.sync && !stopping {
                self.gather();
            }
            if !self.s.commit() {
                continue;
            }
            if flush {
                self.last_flush = Instant::now();
                self.flush_commit_log(stopping);
            }
            if stopping {
                flush_queues(self.s, true);
                return;
            }
        }
    }

    fn wait(&self, interval: Duration) {
        let mut p = self.s.flush.pending.lock();
        if self.s.shutdown.load(Ordering::Acquire) {
            return;
        }
        // A poisoned store never flushes again, so requests stay pending:
        // sleep instead of spinning on them.
        let pending = self.sync
            && p.highest_wanted() > self.s.commitlog.segments().flushed()
            && self.s.poison.get().is_none();
        if !pending {
            self.s.flush.cv.wait_for(&mut p, interval);
        }
    }

    /// Under load, spaces syncs `groupCommitDelayMicros` apart so more puts
    /// share each one (see the module doc).
    fn gather(&mut self) {
        let cfg = &self.s.config;
        if self.last_group < cfg.group_commit_siblings.max(1) {
            return;
        }
        let spacing = Duration::from_micros(cfg.group_commit_delay_micros);
        let left = spacing.saturating_sub(self.last_flush.elapsed());
        if !left.is_zero() {
            std::thread::sleep(left);
        }
    }

    fn flush_commit_log(&mut self, stopping: bool) {
        let requests = self.s.flush.requests.load(Ordering::Relaxed);
        self.last_group = requests.saturating_sub(self.requests_then);
        self.requests_then = requests;
        let thorough = Duration::from_millis(self.s.config.flush_commit_log_thorough_interval);
        let least = if self.sync || stopping || self.last_thorough.elapsed() >= thorough {
            self.last_thorough = Instant::now();
            0
        } else {
            self.s.config.flush_commit_log_least_pages
        };
        let ts = self.s.last_store_timestamp.load(Ordering::Acquire);
        let segs = self.s.commitlog.segments();
        let target = segs.max_offset();
        match segs.flush(least) {
            Ok(off) => {
                self.s.flush.publish(off);
                if self.sync {
                    // What this sync made durable is now readable.
                    self.s.publish_committed_arrivals();
                }
                if off >= target && ts > 0 {
                    self.s.checkpoint_data.lock().physic_msg_timestamp = ts;
                }
            }
            Err(e) => self.s.poison(e),
        }
    }
}

/// Syncs the ConsumeQueues, the index files when `index` (see
/// `flushConsumeQueueThoroughInterval`), then the checkpoint.
fn flush_queues(s: &Shared, index: bool) {
    let _one_at_a_time = s.flush.queues.lock();
    let ts = s.last_store_timestamp.load(Ordering::Acquire);
    for (_, _, cq) in s.queues.all() {
        if let Err(e) = cq.segments().flush(0) {
            return s.poison(e);
        }
    }
    let index_ok = match &s.index {
        Some(i) if index => i.flush(),
        _ => Ok(()),
    };
    if let Err(e) = index_ok {
        return s.poison(e);
    }
    let data = {
        let mut cp = s.checkpoint_data.lock();
        if ts > 0 {
            cp.logics_msg_timestamp = ts;
            if index {
                cp.index_msg_timestamp = ts;
            }
        }
        *cp
    };
    if let Err(e) = s.checkpoint.write(&data, s.disk.as_ref()) {
        s.poison(e);
    }
}
