//! Flushing, chosen by `flushDiskType`.
//!
//! One flusher thread owns every fsync, so blocking I/O never runs on the
//! async executor. Under SYNC_FLUSH it is a group commit: appenders publish
//! the offset they need durable and wait on a `watch` channel; the flusher
//! syncs everything written so far in one go, so all appenders that arrived
//! while the previous sync ran share the next one. Under ASYNC_FLUSH it
//! syncs every `flushIntervalCommitLog` when `flushCommitLogLeastPages`
//! pages are dirty, and everything every `flushCommitLogThoroughInterval`.
//! ConsumeQueues, index and checkpoint follow every `flushIntervalConsumeQueue`.
//! A failed sync poisons the store: no retry, since the kernel may already
//! have dropped the dirty pages it could not write.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use crate::config::FlushDiskType;
use crate::error::{Result, StoreError};
use crate::store::Shared;
use crate::types::PutStatus;

#[derive(Debug, Clone, Copy, Default)]
struct Durable {
    offset: u64,
    poisoned: bool,
}

pub(crate) struct FlushSignal {
    requested: Mutex<u64>,
    cv: Condvar,
    durable: watch::Sender<Durable>,
}

impl FlushSignal {
    pub(crate) fn new() -> Self {
        Self {
            requested: Mutex::new(0),
            cv: Condvar::new(),
            durable: watch::Sender::new(Durable::default()),
        }
    }

    fn request(&self, end: u64) {
        let mut r = self.requested.lock();
        if end > *r {
            *r = end;
        }
        self.cv.notify_one();
    }

    pub(crate) fn wake_flusher(&self) {
        let _r = self.requested.lock();
        self.cv.notify_all();
    }

    pub(crate) fn wake_all_poisoned(&self) {
        self.durable.send_modify(|d| d.poisoned = true);
    }

    pub(crate) fn publish(&self, offset: u64) {
        self.durable.send_if_modified(|d| {
            let newer = offset > d.offset;
            d.offset = d.offset.max(offset);
            newer
        });
    }
}

/// Waits until `end` is durable, or `syncFlushTimeout` passes.
pub(crate) async fn wait_durable(shared: &Shared, end: u64) -> Result<PutStatus> {
    let mut rx = shared.flush.durable.subscribe();
    shared.flush.request(end);
    let timeout = Duration::from_millis(shared.config.sync_flush_timeout);
    let waited = tokio::time::timeout(timeout, async {
        rx.wait_for(|d| d.offset >= end || d.poisoned)
            .await
            .map(|d| d.offset >= end)
    })
    .await;
    match waited {
        Ok(Ok(true)) => Ok(PutStatus::PutOk),
        Ok(Ok(false)) => Err(poisoned(shared)),
        Ok(Err(_)) => Err(StoreError::Shutdown),
        Err(_) => Ok(PutStatus::FlushDiskTimeout),
    }
}

fn poisoned(shared: &Shared) -> StoreError {
    match shared.poison.get() {
        Some(e) => StoreError::Poisoned(Arc::clone(e)),
        None => StoreError::Shutdown,
    }
}

pub(crate) fn spawn_flusher(shared: Arc<Shared>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("basalt-flush".into())
        .spawn(move || Flusher::new(&shared).run())
        .map_err(|e| StoreError::io("spawn flusher", "", e))
}

struct Flusher<'a> {
    s: &'a Shared,
    sync: bool,
    last_flush: Instant,
    last_thorough: Instant,
    last_queues: Instant,
}

impl<'a> Flusher<'a> {
    fn new(s: &'a Shared) -> Self {
        Self {
            s,
            sync: s.config.flush_disk_type == FlushDiskType::SyncFlush,
            last_flush: Instant::now(),
            last_thorough: Instant::now(),
            last_queues: Instant::now(),
        }
    }

    fn run(mut self) {
        let cfg = &self.s.config;
        let queue_interval = Duration::from_millis(cfg.flush_interval_consume_queue);
        let flush_every = Duration::from_millis(cfg.flush_interval_commit_log);
        let transient = self.s.commitlog.is_transient();
        let mut interval = if self.sync {
            queue_interval
        } else {
            flush_every
        };
        if transient {
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
            if transient {
                if let Err(e) = self.s.commitlog.commit_staged() {
                    self.s.poison(e);
                    continue;
                }
                self.s.publish_committed_arrivals();
            }
            if self.sync || stopping || self.last_flush.elapsed() >= flush_every {
                self.last_flush = Instant::now();
                self.flush_commit_log(stopping);
            }
            if stopping || self.last_queues.elapsed() >= queue_interval {
                self.last_queues = Instant::now();
                self.flush_queues();
                self.s.refresh_disk_full();
            }
            if stopping {
                return;
            }
        }
    }

    fn wait(&self, interval: Duration) {
        let mut req = self.s.flush.requested.lock();
        if self.s.shutdown.load(Ordering::Acquire) {
            return;
        }
        // A poisoned store never flushes again, so requests stay pending:
        // sleep instead of spinning on them.
        let pending = self.sync
            && *req > self.s.commitlog.segments().flushed()
            && self.s.poison.get().is_none();
        if !pending {
            self.s.flush.cv.wait_for(&mut req, interval);
        }
    }

    fn flush_commit_log(&mut self, stopping: bool) {
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
                if off >= target && ts > 0 {
                    self.s.checkpoint_data.lock().physic_msg_timestamp = ts;
                }
            }
            Err(e) => self.s.poison(e),
        }
    }

    fn flush_queues(&self) {
        let ts = self.s.last_store_timestamp.load(Ordering::Acquire);
        for (_, _, cq) in self.s.queues.all() {
            if let Err(e) = cq.segments().flush(0) {
                return self.s.poison(e);
            }
        }
        let index_ok = match &self.s.index {
            Some(index) => index.flush(),
            None => Ok(()),
        };
        if let Err(e) = index_ok {
            return self.s.poison(e);
        }
        let data = {
            let mut cp = self.s.checkpoint_data.lock();
            if ts > 0 {
                cp.logics_msg_timestamp = ts;
                cp.index_msg_timestamp = ts;
            }
            *cp
        };
        if let Err(e) = self.s.checkpoint.write(&data, self.s.disk.as_ref()) {
            self.s.poison(e);
        }
    }
}
