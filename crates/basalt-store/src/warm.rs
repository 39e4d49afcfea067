//! Zero-writing the newest CommitLog file ahead of the appender, under
//! SYNC_FLUSH (or with `warmMapedFileEnable`).
//!
//! Segment files are created with `fallocate`, which reserves blocks as
//! unwritten extents: the first write into each one converts it, a
//! metadata change, so the sync that makes the write durable also waits
//! for a journal commit. On this machine (ext4 on virtio, `pwrite` of
//! 40 KB then `fdatasync`, 2000 times): 430 us into fallocated blocks,
//! 330 us into a sparse file, 180 us into blocks written once before.
//! Under SYNC_FLUSH every acknowledgement waits for such a sync, so a
//! thread writes zeros a window ahead of the appender and syncs them: one
//! journal commit per window, off the acknowledgement path, instead of one
//! per group commit. (512 producer threads, SYNC_FLUSH, `perf trace` of
//! the flusher for 3 s: msync 0.77 ms average, 0.51 median without;
//! 0.58 and 0.34 with.) Apache RocketMQ's `warmMapedFileEnable` writes the
//! whole file when it is created; a window keeps a roll-over from writing
//! a gigabyte at once.
//!
//! The zeros never overwrite a record: they are written only past the
//! logical end (staged bytes included) while commits are held off (see
//! `Stager::zero_ahead`), so a record staged meanwhile reaches the file
//! after them. What they cover reads as zeros before and after, which is
//! what recovery takes for the end of the log.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::FlushDiskType;
use crate::error::{Result, StoreError};
use crate::store::Shared;

/// How often the thread looks at the appender's position: at 30 MB/s of
/// appends, 600 KB go by between looks, a 50th of the window.
const PERIOD: Duration = Duration::from_millis(20);

/// Bytes kept zero-written ahead of the logical end: a 32nd of a file
/// (32 MiB for 1 GiB files), topped up a 32nd of it (at least 64 KiB) at
/// a time.
pub(crate) fn window(file_size: u64) -> u64 {
    (file_size / 32).clamp(16 << 10, 32 << 20)
}

/// Starts the warming thread when the configuration wants it.
pub(crate) fn spawn_warmer(shared: Arc<Shared>) -> Result<Option<JoinHandle<()>>> {
    let cfg = &shared.config;
    if cfg.flush_disk_type != FlushDiskType::SyncFlush && !cfg.warm_maped_file_enable {
        return Ok(None);
    }
    std::thread::Builder::new()
        .name("basalt-warm".into())
        .spawn(move || run(&shared))
        .map(Some)
        .map_err(|e| StoreError::io("spawn warmer", "", e))
}

fn run(s: &Shared) {
    let window = window(s.config.mapped_file_size_commit_log);
    // Small steps, each synced on its own: one large sync of zeros holds
    // the device for tens of milliseconds, and the group commit's syncs
    // queue behind it. Not below 64 KiB, so small files (tests) do not
    // cost a sync per few hundred bytes.
    let step = (window / 32).max(64 << 10).min(window);
    let zeros = vec![0u8; usize::try_from(step).unwrap_or(64 << 10)];
    let mut warmed: Option<(u64, u64)> = None;
    while !s.pause(PERIOD) {
        let log = &s.commitlog;
        let Some(seg) = log.segments().last() else {
            continue;
        };
        loop {
            if s.poison.get().is_some() || s.shutdown.load(Ordering::Acquire) {
                break;
            }
            let end = log.end_in(&seg);
            let mut pos = match warmed {
                Some((start, done)) if start == seg.start => done.max(end),
                _ => end,
            };
            let target = (end + window).min(seg.size());
            if pos >= target {
                break;
            }
            let n = usize::try_from(target - pos)
                .unwrap_or(usize::MAX)
                .min(zeros.len());
            match log.zero_ahead(&seg, pos, zeros.get(..n).unwrap_or_default()) {
                Ok(true) => pos += n as u64,
                // The appender got there first: start again from its end.
                Ok(false) => {
                    warmed = None;
                    continue;
                }
                Err(e) => {
                    // Nothing was lost (only zeros were being written), but
                    // a file that cannot take writes will fail the next
                    // commit too, which poisons the store there.
                    tracing::warn!(path = %seg.path().display(), error = %e, "warming the CommitLog failed; stopped");
                    return;
                }
            }
            let region = &seg.region;
            // This fdatasync also writes dirty records: a failure here may be
            // the only report of their loss, so it poisons like the flusher's.
            if let Err(e) = s.disk.sync(seg.path(), &mut || region.sync_file_data()) {
                return s.poison(e);
            }
            warmed = Some((seg.start, pos));
            log.set_warmed(seg.start + pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use basalt_message::MessageExtBrokerInner;

    use crate::{FlushDiskType, Store, StoreConfig};

    fn config(dir: &std::path::Path, flush: FlushDiskType) -> StoreConfig {
        StoreConfig {
            flush_disk_type: flush,
            mapped_file_size_commit_log: 64 * 1024,
            mapped_file_size_consume_queue: 100 * 20,
            max_hash_slot_num: 64,
            max_index_num: 4096,
            ..StoreConfig::with_root(dir)
        }
    }

    fn msg(queue: i32, body: Vec<u8>) -> MessageExtBrokerInner {
        let mut m = MessageExtBrokerInner::new("W", queue, body);
        m.born_host = "127.0.0.1:5555".parse().unwrap();
        m.store_host = "10.0.0.1:10911".parse().unwrap();
        m
    }

    fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(Instant::now() < deadline, "{what}: not within 10 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[tokio::test]
    async fn sync_flush_keeps_a_window_warm_ahead_of_the_appender() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(config(dir.path(), FlushDiskType::SyncFlush)).unwrap();
        let out = store.put(msg(0, vec![7; 100])).await.unwrap();
        let end = out.appended[0].phys_offset + u64::from(out.appended[0].size);
        let want = end + super::window(64 * 1024);
        let log = &store.shared.commitlog;
        wait_until("window warmed", || log.warmed() >= want);
        // The record before the window is intact.
        let rec = store.message_at(out.appended[0].phys_offset).unwrap();
        assert_eq!(rec.len(), out.appended[0].size as usize);
        store.shutdown().unwrap();

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
        store.put(msg(0, vec![7; 100])).await.unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            store.shared.commitlog.warmed(),
            0,
            "ASYNC_FLUSH does not warm by default"
        );
        store.shutdown().unwrap();
    }

    #[test]
    fn zeros_go_only_past_staged_and_committed_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
        let first = store
            .append(&msg(0, vec![1; 200]))
            .unwrap()
            .outcome
            .appended[0]
            .clone();
        let second = store.stage(&msg(0, vec![2; 200])).unwrap().outcome.appended[0].clone();
        let log = &store.shared.commitlog;
        let seg = log.segments().last().unwrap();
        let end = log.end_in(&seg);
        assert_eq!(end, second.phys_offset + u64::from(second.size) - seg.start);
        let zeros = vec![0u8; 512];
        for inside in [
            first.phys_offset - seg.start,
            second.phys_offset - seg.start,
            end - 1,
        ] {
            assert!(!log.zero_ahead(&seg, inside, &zeros).unwrap());
        }
        assert!(log.zero_ahead(&seg, end, &zeros).unwrap());
        // Past the end of the file: refused, not an error.
        assert!(!log.zero_ahead(&seg, seg.size() - 10, &zeros).unwrap());
        store.commit_staged().unwrap();
        for (a, byte) in [(&first, 1u8), (&second, 2)] {
            let bytes = store.message_at(a.phys_offset).unwrap();
            let basalt_message::BlankOrRecord::Record(rec) = Store::decode(&bytes).unwrap() else {
                panic!("blank at {}", a.phys_offset);
            };
            assert_eq!(rec.body.as_ref(), vec![byte; 200].as_slice());
        }
        store.shutdown().unwrap();
    }

    /// Appenders racing the warmer across many roll-overs: every record
    /// reads back whole, before and after a crash.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn zeros_never_land_on_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(config(dir.path(), FlushDiskType::SyncFlush)).unwrap();
        let mut tasks = Vec::new();
        for w in 0..16u8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut put = Vec::new();
                for i in 0..60u8 {
                    let body = vec![w ^ i | 1; 300 + usize::from(i) * 7];
                    let out = store
                        .put(msg(i32::from(w % 4), body.clone()))
                        .await
                        .unwrap();
                    put.push((out.appended[0].phys_offset, body));
                }
                put
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        assert!(store.shared.commitlog.warmed() > 0);
        let check = |store: &Store| {
            for (phys, body) in &all {
                let bytes = store.message_at(*phys).unwrap();
                let rec = match Store::decode(&bytes).unwrap() {
                    basalt_message::BlankOrRecord::Record(r) => r,
                    basalt_message::BlankOrRecord::Blank { .. } => panic!("blank at {phys}"),
                };
                assert_eq!(rec.body.as_ref(), body.as_slice(), "record at {phys}");
            }
        };
        check(&store);
        store.simulate_crash();
        drop(store);
        let store = Store::open(config(dir.path(), FlushDiskType::SyncFlush)).unwrap();
        check(&store);
        store.shutdown().unwrap();
    }
}
