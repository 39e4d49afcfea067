//! The store facade the broker calls.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use basalt_message::MessageExtBrokerInner;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::checkpoint::{Checkpoint, CheckpointData};
use crate::commitlog::CommitLog;
use crate::config::{FlushDiskType, StoreConfig};
use crate::consume_queue::{ConsumeQueue, ConsumeQueueSet};
use crate::delay::DelayLevels;
use crate::disk::{Disk, RealDisk};
use crate::error::{Result, StoreError};
use crate::flush::FlushSignal;
use crate::index::IndexService;
use crate::signals::Signals;
use crate::types::{Appended, PutOutcome, PutStatus, QueueMap, RecoveryReport};

/// Queue offsets handed out so far, guarded by the one append lock.
#[derive(Debug, Default)]
pub(crate) struct AppendState {
    /// Each queue's next offset, and the queue: a put finds both with one
    /// lookup (the queue set's own map took a read lock, two more hash
    /// lookups and a reference count per put). Queues are created and
    /// forgotten only under the append lock, so the two maps agree.
    pub(crate) queue_offsets: QueueMap<String, QueueMap<i32, QueueSlot>>,
    pub(crate) last_store_timestamp: i64,
}

/// A queue as the append path holds it.
pub(crate) struct QueueSlot {
    pub(crate) next: u64,
    pub(crate) cq: Arc<ConsumeQueue>,
}

impl std::fmt::Debug for QueueSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueSlot")
            .field("next", &self.next)
            .finish()
    }
}

/// State shared by the facade, the flusher and the cleaner.
pub(crate) struct Shared {
    pub(crate) config: StoreConfig,
    pub(crate) disk: Arc<dyn Disk>,
    pub(crate) commitlog: CommitLog,
    pub(crate) queues: ConsumeQueueSet,
    pub(crate) index: Option<IndexService>,
    pub(crate) delay_levels: DelayLevels,
    pub(crate) append: Mutex<AppendState>,
    pub(crate) signals: Signals,
    /// Wake-ups held back until their record is committed (staged appends),
    /// in append order, keyed by the record's end offset.
    pub(crate) deferred_arrivals: Mutex<Vec<(u64, Arc<Notify>)>>,
    pub(crate) flush: FlushSignal,
    pub(crate) checkpoint: Checkpoint,
    pub(crate) checkpoint_data: Mutex<CheckpointData>,
    pub(crate) poison: OnceLock<Arc<io::Error>>,
    pub(crate) disk_full: AtomicBool,
    pub(crate) shutdown: AtomicBool,
    /// Set by `simulate_crash`: stop without the final flush.
    pub(crate) crashing: AtomicBool,
    /// Wakes the cleaner at shutdown.
    pub(crate) stop_lock: Mutex<()>,
    pub(crate) stop_cv: parking_lot::Condvar,
    /// Store time of the newest appended record (read by the flusher before
    /// it syncs, so the checkpoint never claims more than was flushed).
    pub(crate) last_store_timestamp: AtomicI64,
    /// Deleted topics and the CommitLog end at their deletion: recovery does
    /// not dispatch their older records again (see `topic_delete`).
    pub(crate) deleted_topics: Mutex<HashMap<String, u64>>,
    /// The flock on `<root>/lock`, released at shutdown (or drop).
    pub(crate) lock: Mutex<Option<fs::File>>,
    /// Retention's settings as they are now (the config's at open).
    pub(crate) retention: Mutex<crate::retention::Retention>,
    /// Held while ConsumeQueue files are removed: by retention trimming a
    /// queue's front, and by a topic or expired queue taking a whole
    /// directory. Retention deletes files by path, so a queue it listed
    /// must not be swapped for a new one of the same name meanwhile.
    pub(crate) queue_files: Mutex<()>,
}

impl Shared {
    /// Sleeps up to `period` for a background thread; true once the store
    /// is stopping (the thread should return).
    pub(crate) fn pause(&self, period: std::time::Duration) -> bool {
        let mut g = self.stop_lock.lock();
        if !self.shutdown.load(Ordering::Acquire) {
            self.stop_cv.wait_for(&mut g, period);
        }
        self.shutdown.load(Ordering::Acquire)
    }

    /// True when appenders commit their staged records themselves
    /// (ASYNC_FLUSH without the transient store pool).
    pub(crate) fn commits_on_append(&self) -> bool {
        self.config.flush_disk_type == FlushDiskType::AsyncFlush
            && !self.config.transient_store_pool_enable
    }

    /// One past the last CommitLog byte readers may see: what is committed
    /// to the file, and under SYNC_FLUSH only what is durable, as RocketMQ
    /// dispatches up to its flushed position there (`getConfirmOffset`):
    /// a consumer never sees a record an OS crash could still lose.
    pub(crate) fn readable_end(&self) -> u64 {
        let segs = self.commitlog.segments();
        let written = segs.max_offset();
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            written.min(segs.flushed())
        } else {
            written
        }
    }

    /// The append lock for a put: held long only by a put that rolls the
    /// CommitLog behind a write stuck on the disk, so a wait past a few
    /// milliseconds moves off the async worker.
    pub(crate) fn lock_append(&self) -> parking_lot::MutexGuard<'_, AppendState> {
        crate::stall::lock_patiently(&self.append)
    }

    /// Marks the store poisoned and wakes every waiter.
    pub(crate) fn poison(&self, err: io::Error) {
        tracing::error!(error = %err, "CommitLog write or flush failed; store poisoned, writes refused until reopened");
        let _ = self.poison.set(Arc::new(err));
        self.flush.wake_all_poisoned();
    }

    /// Writes the staged records to the file and announces them; false
    /// when the write failed and poisoned the store.
    pub(crate) fn commit(&self) -> bool {
        if let Err(e) = self.commitlog.commit_staged() {
            self.poison(e);
            return false;
        }
        self.publish_committed_arrivals();
        true
    }

    /// Publishes held-back arrivals whose records are now readable.
    /// Appenders push theirs after releasing the append lock, so the list
    /// is not in offset order: every entry is checked, not a prefix.
    pub(crate) fn publish_committed_arrivals(&self) {
        let visible = self.readable_end();
        let ready: Vec<_> = {
            let mut d = self.deferred_arrivals.lock();
            if d.is_empty() {
                return;
            }
            d.extract_if(.., |(end, _)| *end <= visible).collect()
        };
        for (_, n) in ready {
            n.notify_waiters();
        }
    }

    /// Updates the disk-full flag from the current usage ratio.
    pub(crate) fn refresh_disk_full(&self) {
        let Ok(usage) = self.disk.usage(&self.config.store_path_root_dir) else {
            return;
        };
        let full = usage.used_percent() > self.config.disk_space_warning_level_ratio;
        if self.disk_full.swap(full, Ordering::AcqRel) != full {
            tracing::warn!(
                used_percent = usage.used_percent(),
                full,
                "disk-full state changed"
            );
        }
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.shutdown.load(Ordering::Acquire) {
            return Err(StoreError::Shutdown);
        }
        if let Some(e) = self.poison.get() {
            return Err(StoreError::Poisoned(Arc::clone(e)));
        }
        if self.disk_full.load(Ordering::Acquire) {
            return Err(StoreError::DiskFull {
                reason: format!(
                    "disk usage above diskSpaceWarningLevelRatio ({}%)",
                    self.config.disk_space_warning_level_ratio
                ),
                source: None,
            });
        }
        Ok(())
    }
}

/// A RocketMQ-format message store: CommitLog, ConsumeQueues, IndexFiles.
///
/// Cheap to clone; clones share the store. Dropping the last clone without
/// [`Store::shutdown`] behaves like a crash (the abort marker stays).
#[derive(Clone)]
pub struct Store {
    pub(crate) shared: Arc<Shared>,
    threads: Arc<Background>,
    recovery: RecoveryReport,
}

/// The flusher and cleaner threads. Dropped with the last `Store` clone:
/// the threads stop (without removing the abort marker, like a crash).
struct Background {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Background {
    fn stop(&self) {
        let s = &self.shared;
        s.shutdown.store(true, Ordering::Release);
        s.flush.wake_flusher();
        {
            let _g = s.stop_lock.lock();
            s.stop_cv.notify_all();
        }
        let threads: Vec<_> = self.threads.lock().drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.shared.config.store_path_root_dir)
            .finish_non_exhaustive()
    }
}

/// Takes an exclusive flock on `<root>/lock` so two stores never write the
/// same files (RocketMQ does the same with a `FileLock`).
fn lock_root(root: &std::path::Path) -> Result<fs::File> {
    let path = root.join("lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io("open", &path, e))?;
    let exclusive = rustix::fs::FlockOperation::NonBlockingLockExclusive;
    let held =
        |e: rustix::io::Errno| e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::ACCESS;
    // flock keeps out another Basalt (also in this process); the fcntl
    // record lock keeps out a RocketMQ broker, whose FileChannel.tryLock
    // takes one on the same file (the two kinds do not see each other).
    // Record locks belong to the process and go with any close of the
    // file in it, such as a refused second open here: flock still guards
    // that case.
    match rustix::fs::flock(&file, exclusive)
        .and_then(|()| rustix::fs::fcntl_lock(&file, exclusive))
    {
        Ok(()) => Ok(file),
        Err(e) if held(e) => Err(StoreError::Locked(path)),
        Err(e) => Err(StoreError::io("lock", &path, e.into())),
    }
}

fn abort_path(config: &StoreConfig) -> PathBuf {
    config.store_path_root_dir.join("abort")
}

impl Store {
    /// Opens (or creates) the store at `config.storePathRootDir`, recovering
    /// after a crash when the abort marker is present.
    pub fn open(config: StoreConfig) -> Result<Self> {
        Self::open_with_disk(config, Arc::new(RealDisk))
    }

    /// [`Store::open`] through a custom file-system seam (fault injection).
    pub fn open_with_disk(config: StoreConfig, disk: Arc<dyn Disk>) -> Result<Self> {
        config.validate()?;
        let root = &config.store_path_root_dir;
        fs::create_dir_all(root).map_err(|e| StoreError::io("create dir", root, e))?;
        let lock = lock_root(root)?;
        crate::topic_delete::empty_trash(root)?;
        let abort = abort_path(&config);
        let crashed = abort.exists();
        let (checkpoint, cp_data) = Checkpoint::open(&root.join("checkpoint"))?;
        // Every mode stages appends (see `transient`); who commits them
        // differs: the group commit (SYNC_FLUSH), the commit period (the
        // transient store pool), or the appender itself (ASYNC_FLUSH).
        let commitlog = CommitLog::open(
            &config.commit_log_dir(),
            config.mapped_file_size_commit_log,
            Arc::clone(&disk),
        )?;
        let queues = ConsumeQueueSet::open(
            &config.consume_queue_dir(),
            config.mapped_file_size_consume_queue,
            Arc::clone(&disk),
        )?;
        let index = if config.message_index_enable {
            Some(IndexService::open(&config, Arc::clone(&disk))?)
        } else {
            None
        };
        let deleted_topics = crate::topic_delete::load(root)?;
        let shared = Arc::new(Shared {
            disk,
            commitlog,
            queues,
            index,
            delay_levels: DelayLevels::parse(&config.message_delay_level)?,
            append: Mutex::new(AppendState::default()),
            signals: Signals::default(),
            deferred_arrivals: Mutex::new(Vec::new()),
            flush: FlushSignal::new(),
            checkpoint,
            checkpoint_data: Mutex::new(cp_data),
            poison: OnceLock::new(),
            disk_full: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            crashing: AtomicBool::new(false),
            stop_lock: Mutex::new(()),
            stop_cv: parking_lot::Condvar::new(),
            last_store_timestamp: AtomicI64::new(0),
            deleted_topics: Mutex::new(deleted_topics),
            lock: Mutex::new(Some(lock)),
            retention: Mutex::new(crate::retention::Retention::of(&config)),
            queue_files: Mutex::new(()),
            config,
        });
        let recovery = crate::recovery::recover(&shared, crashed, &cp_data)?;
        shared.refresh_disk_full();
        fs::write(&abort, std::process::id().to_string())
            .map_err(|e| StoreError::io("create", &abort, e))?;
        let mut threads = vec![
            crate::flush::spawn_flusher(Arc::clone(&shared))?,
            crate::flush::spawn_queue_flusher(Arc::clone(&shared))?,
        ];
        threads.push(crate::retention::spawn_cleaner(Arc::clone(&shared))?);
        threads.extend(crate::warm::spawn_warmer(Arc::clone(&shared))?);
        Ok(Self {
            threads: Arc::new(Background {
                shared: Arc::clone(&shared),
                threads: Mutex::new(threads),
            }),
            shared,
            recovery,
        })
    }

    /// What recovery did when this store was opened.
    pub fn recovery_report(&self) -> RecoveryReport {
        self.recovery
    }

    /// Changes retention's settings for the passes to come.
    pub fn set_retention(&self, retention: crate::retention::Retention) {
        *self.shared.retention.lock() = retention;
    }

    /// The configuration the store was opened with (retention's part may
    /// have changed since: see [`Self::set_retention`]).
    pub fn config(&self) -> &StoreConfig {
        &self.shared.config
    }

    /// Appends one message and applies the flush policy: under SYNC_FLUSH
    /// waits (off the executor) for the group commit unless `WAIT=false`.
    pub async fn put(&self, msg: MessageExtBrokerInner) -> Result<PutOutcome> {
        let appended = self.append(&msg)?;
        self.settle(appended).await
    }

    /// Appends messages (a decoded batch: same topic and queue) with
    /// consecutive queue offsets under one hold of the append lock.
    pub async fn put_batch(&self, msgs: Vec<MessageExtBrokerInner>) -> Result<PutOutcome> {
        let appended = self.append_batch(&msgs)?;
        self.settle(appended).await
    }

    /// Appends one message like [`put`](Self::put) but leaves the
    /// durability wait to the caller, who learns of progress from a
    /// [`DurabilityListener`](crate::DurabilityListener): the status is
    /// `PutOk` and `durable_at`, when set, is the offset the CommitLog must
    /// be durable to before the put may be confirmed (SYNC_FLUSH only).
    pub fn append(&self, msg: &MessageExtBrokerInner) -> Result<Appended> {
        let appended = self.stage(msg);
        self.commit_staged()?;
        appended
    }

    /// [`put_batch`](Self::put_batch) without the wait, as [`append`](Self::append).
    pub fn append_batch(&self, msgs: &[MessageExtBrokerInner]) -> Result<Appended> {
        // A batch that failed part way keeps what it wrote: commit that too.
        let appended = self.stage_batch(msgs);
        self.commit_staged()?;
        appended
    }

    /// [`append`](Self::append), except that under ASYNC_FLUSH without the
    /// transient store pool the record may stay staged, unreadable, until
    /// the caller runs [`commit_staged`](Self::commit_staged) (or the
    /// flusher's next commit period does). For a caller that appends a
    /// burst of records and answers them together: one `pwrite` for the
    /// burst, after which it may acknowledge them.
    pub fn stage(&self, msg: &MessageExtBrokerInner) -> Result<Appended> {
        let wait = waits_for_flush(msg);
        let appended = self.shared.append_many(std::slice::from_ref(msg))?;
        self.unflushed(appended, wait)
    }

    /// [`stage`](Self::stage) for a batch, as [`append_batch`](Self::append_batch).
    pub fn stage_batch(&self, msgs: &[MessageExtBrokerInner]) -> Result<Appended> {
        let wait = msgs.iter().all(waits_for_flush);
        let appended = self.shared.append_many(msgs)?;
        self.unflushed(appended, wait)
    }

    /// Writes every staged record to the page cache, makes it readable and
    /// wakes its queue's waiters, under ASYNC_FLUSH without the transient
    /// store pool. A no-op otherwise: there the group commit or the commit
    /// period decides, as in RocketMQ. A failed write poisons the store,
    /// as a failed flush does.
    ///
    /// A caller on an async worker that waits more than a few milliseconds
    /// for another commit (a write stuck on the disk) waits in
    /// `block_in_place`, so the worker's other tasks go on meanwhile.
    pub fn commit_staged(&self) -> Result<()> {
        if !self.shared.commits_on_append() {
            return Ok(());
        }
        if self.shared.commit() {
            Ok(())
        } else {
            Err(crate::flush::poisoned(&self.shared))
        }
    }

    /// Installs `listener` (replacing any earlier one) and tells it at once
    /// how far the CommitLog is durable.
    pub fn listen_durability(&self, listener: Arc<dyn crate::DurabilityListener>) {
        let flushed = self.shared.commitlog.segments().flushed();
        self.shared.flush.listen(listener, flushed);
    }

    fn unflushed(&self, appended: crate::types::AppendResults, wait: bool) -> Result<Appended> {
        let end = end_of(&appended);
        let pending = self.request_sync(end)?;
        Ok(Appended {
            outcome: PutOutcome {
                status: PutStatus::PutOk,
                appended,
            },
            durable_at: (wait && pending).then_some(end),
            commit_through: self.shared.commits_on_append().then_some(end),
        })
    }

    /// Waits for the durability an [`Appended`] asks for, if any.
    async fn settle(&self, a: Appended) -> Result<PutOutcome> {
        let mut outcome = a.outcome;
        if let Some(end) = a.durable_at {
            outcome.status = crate::flush::wait_durable(&self.shared, end).await?;
        }
        Ok(outcome)
    }

    /// Under SYNC_FLUSH, asks the group commit to cover `end` (also for a
    /// put that does not wait: staged records become readable only once
    /// the flusher has committed and synced them). True when `end` is not
    /// durable yet.
    fn request_sync(&self, end: u64) -> Result<bool> {
        if self.shared.config.flush_disk_type != FlushDiskType::SyncFlush {
            return Ok(false);
        }
        crate::flush::request_durable(&self.shared, end)
    }

    /// Runs one retention pass now (the cleaner also runs every 10 s at the
    /// `deleteWhen` hour). `force` deletes regardless of age, as the
    /// disk-pressure path does; the newest file is always kept. Blocking.
    pub fn clean_expired(&self, force: bool) -> Result<usize> {
        crate::retention::clean(&self.shared, std::time::SystemTime::now(), force)
    }

    /// Re-reads disk usage and refuses or resumes writes accordingly
    /// (the flusher does this every `flushIntervalConsumeQueue`).
    pub fn refresh_disk_state(&self) {
        self.shared.refresh_disk_full();
    }

    /// Commit-log offset below which everything is durable.
    pub fn flushed_offset(&self) -> u64 {
        self.shared.commitlog.segments().flushed()
    }

    /// Stops the background threads without the final flush and leaves the
    /// abort marker, as a crash would (page-cache contents stay, as after
    /// kill -9). For tests of abnormal recovery.
    #[doc(hidden)]
    pub fn simulate_crash(&self) {
        self.shared.crashing.store(true, Ordering::Release);
        self.stop_threads();
        // Files being created ahead are waited for: nothing of a dead
        // process writes after it (a test that then edits the store's
        // files raced them).
        for (_, _, cq) in self.shared.queues.all() {
            cq.segments().settle_ahead();
        }
        self.shared.commitlog.segments().settle_ahead();
        self.shared.lock.lock().take();
    }

    fn stop_threads(&self) {
        self.threads.stop();
    }

    /// The "new data" signal of one queue, for readers that wait for it
    /// (see `signals.rs` for the enable-then-recheck protocol).
    pub fn arrival_signal(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        self.shared.signals.of(topic, queue_id)
    }

    /// Notifies `signal` once the record of queue entry `offset` is
    /// readable (at once if it already is). For a reader that found the
    /// entry but not yet its record (staged; under SYNC_FLUSH, not yet
    /// durable): an append announces itself only to queues someone was
    /// already waiting on, so a reader that came after it asks here.
    pub fn notify_when_readable(
        &self,
        topic: &str,
        queue_id: i32,
        offset: u64,
        signal: Arc<Notify>,
    ) {
        let Some(e) = self
            .shared
            .queues
            .find(topic, queue_id)
            .and_then(|cq| cq.entry(offset))
        else {
            return;
        };
        let end = u64::try_from(e.phys_offset)
            .unwrap_or(0)
            .saturating_add(u64::try_from(e.size).unwrap_or(0));
        {
            let mut d = self.shared.deferred_arrivals.lock();
            // One entry per signal and point is enough: it wakes every
            // reader waiting on the signal.
            if !d
                .iter()
                .any(|(at, n)| *at <= end && Arc::ptr_eq(n, &signal))
            {
                d.push((end, signal));
            }
        }
        self.shared.publish_committed_arrivals();
    }

    /// The error that poisoned the store, if a flush failed.
    pub fn poisoned(&self) -> Option<Arc<io::Error>> {
        self.shared.poison.get().cloned()
    }

    /// Flushes everything, writes the checkpoint, stops the background
    /// threads and removes the abort marker (so the next open recovers
    /// normally). Blocking; call from `spawn_blocking` in async code.
    pub fn shutdown(&self) -> Result<()> {
        self.stop_threads();
        let result = self.remove_abort_marker();
        // Like a process exit, shutdown releases the lock even when poisoned.
        self.shared.lock.lock().take();
        result
    }

    fn remove_abort_marker(&self) -> Result<()> {
        // A poisoned store keeps its marker: the next open must recover.
        if let Some(e) = self.shared.poison.get() {
            return Err(StoreError::Poisoned(Arc::clone(e)));
        }
        let abort = abort_path(&self.shared.config);
        match fs::remove_file(&abort) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(StoreError::io("remove", &abort, e))
            }
            _ => Ok(()),
        }
    }
}

/// One past the last byte of the appended records.
fn end_of(appended: &[crate::types::AppendResult]) -> u64 {
    appended
        .iter()
        .map(|a| a.phys_offset + u64::from(a.size))
        .max()
        .unwrap_or(0)
}

fn waits_for_flush(msg: &MessageExtBrokerInner) -> bool {
    msg.properties.get(basalt_message::properties::WAIT) != Some("false")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use basalt_message::MessageExtBrokerInner;

    use super::*;

    #[tokio::test]
    async fn committed_arrivals_are_published_whatever_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig {
            flush_disk_type: FlushDiskType::SyncFlush,
            mapped_file_size_commit_log: 64 * 1024,
            mapped_file_size_consume_queue: 100 * 20,
            max_hash_slot_num: 64,
            max_index_num: 512,
            ..StoreConfig::with_root(dir.path())
        })
        .unwrap();
        let mut m = MessageExtBrokerInner::new("T", 0, &b"x"[..]);
        m.born_host = "127.0.0.1:5555".parse().unwrap();
        m.store_host = "10.0.0.1:10911".parse().unwrap();
        // A SYNC_FLUSH put returns once durable, so committed.
        let out = store.put(m).await.unwrap();
        let end = out.appended[0].phys_offset + u64::from(out.appended[0].size);
        let (committed, staged) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let woken = committed.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        // Out of offset order, as appenders racing past the append lock
        // push them: a later record's entry first.
        store.shared.deferred_arrivals.lock().extend([
            (end + 1000, Arc::clone(&staged)),
            (end, Arc::clone(&committed)),
        ]);
        store.shared.publish_committed_arrivals();
        // Already notified: the zero timeout polls it once before it expires.
        tokio::time::timeout(Duration::ZERO, woken)
            .await
            .expect("the committed record's waiter is woken");
        assert_eq!(store.shared.deferred_arrivals.lock().len(), 1);
        store.shutdown().unwrap();
    }
}
