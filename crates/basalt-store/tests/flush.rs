use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use basalt_store::{FlushDiskType, PutStatus, Store, StoreError};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_group_commits_concurrent_appenders() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(FaultyDisk::default());
    // A slow disk makes appenders pile up behind each sync.
    disk.sync_delay_ms.store(5, Ordering::SeqCst);
    let store = Store::open_with_disk(
        small_config(dir.path(), FlushDiskType::SyncFlush),
        disk.clone(),
    )
    .unwrap();
    let before = disk.syncs.load(Ordering::SeqCst);
    let mut tasks = Vec::new();
    for w in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut ends = Vec::new();
            for i in 0..5 {
                let out = store
                    .put(msg("S", w % 4, vec![i as u8 + 1; 100]))
                    .await
                    .unwrap();
                assert_eq!(out.status, PutStatus::PutOk);
                let a = &out.appended[0];
                ends.push(a.phys_offset + u64::from(a.size));
                // Acknowledged means durable.
                assert!(store.flushed_offset() >= a.phys_offset + u64::from(a.size));
            }
            ends
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let syncs = disk.syncs.load(Ordering::SeqCst) - before;
    assert!(
        syncs < 320 / 2,
        "320 puts took {syncs} syncs: no group commit"
    );
    store.shutdown().unwrap();
}

#[tokio::test]
async fn slow_disk_answers_flush_timeout_and_keeps_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(FaultyDisk::default());
    let mut cfg = small_config(dir.path(), FlushDiskType::SyncFlush);
    cfg.sync_flush_timeout = 20;
    let store = Store::open_with_disk(cfg, disk.clone()).unwrap();
    disk.sync_delay_ms.store(300, Ordering::SeqCst);
    let out = store.put(msg("S", 0, &b"slow"[..])).await.unwrap();
    assert_eq!(out.status, PutStatus::FlushDiskTimeout);
    let end = out.appended[0].phys_offset + u64::from(out.appended[0].size);
    // Readable only once durable: read first, then look at the flushed
    // offset, which only grows.
    let early = store.get("S", 0, 0, 1, 1000).messages.len();
    assert!(early == 0 || store.flushed_offset() >= end);
    disk.sync_delay_ms.store(0, Ordering::SeqCst);
    wait_flushed(&store, end).await;
    // Kept: readable once its sync is done.
    assert_eq!(store.get("S", 0, 0, 1, 1000).messages.len(), 1);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn wait_false_does_not_wait_for_flush() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(FaultyDisk::default());
    let mut cfg = small_config(dir.path(), FlushDiskType::SyncFlush);
    cfg.sync_flush_timeout = 60_000;
    let store = Store::open_with_disk(cfg, disk.clone()).unwrap();
    disk.sync_delay_ms.store(200, Ordering::SeqCst);
    let mut m = msg("S", 0, &b"nowait"[..]);
    m.properties
        .insert(basalt_message::properties::WAIT, "false");
    let out = tokio::time::timeout(Duration::from_millis(150), store.put(m))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status, PutStatus::PutOk);
    disk.sync_delay_ms.store(0, Ordering::SeqCst);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn async_flush_flushes_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    // Over 4 dirty pages so the least-pages rule lets the flusher run.
    for _ in 0..40 {
        store.put(msg("A", 0, vec![7u8; 1000])).await.unwrap();
    }
    let end = store.commit_log_max_offset();
    wait_flushed(&store, end).await;
    store.shutdown().unwrap();
}

#[tokio::test]
async fn failed_fsync_poisons_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disk) = faulty_store(small_config(dir.path(), FlushDiskType::SyncFlush));
    store.put(msg("P", 0, &b"before"[..])).await.unwrap();
    disk.fail_sync.store(true, Ordering::SeqCst);
    let err = store.put(msg("P", 0, &b"during"[..])).await.unwrap_err();
    assert!(matches!(err, StoreError::Poisoned(_)), "{err:?}");
    assert_eq!(store.poisoned().unwrap().raw_os_error(), Some(5));
    disk.fail_sync.store(false, Ordering::SeqCst);
    // Every later write is refused, without retrying the sync.
    let syncs = disk.syncs.load(Ordering::SeqCst);
    for _ in 0..3 {
        assert!(matches!(
            store.put(msg("P", 0, &b"after"[..])).await,
            Err(StoreError::Poisoned(_))
        ));
    }
    assert_eq!(disk.syncs.load(Ordering::SeqCst), syncs);
    // Reads go on, over what is durable: the record whose sync failed is
    // not served (RocketMQ dispatches up to its flushed position).
    let got = store.get("P", 0, 0, 10, 1 << 20);
    assert_eq!(got.messages.len(), 1);
    assert_eq!(decode(&got.messages[0]).body[..], b"before"[..]);
    assert!(matches!(store.shutdown(), Err(StoreError::Poisoned(_))));
    drop(store);
    // Reopening recovers (abort marker left, so abnormal recovery).
    let store = Store::open(small_config(dir.path(), FlushDiskType::SyncFlush)).unwrap();
    assert_eq!(store.max_offset("P", 0), 2);
    store.put(msg("P", 0, &b"again"[..])).await.unwrap();
    store.shutdown().unwrap();
}

async fn wait_flushed(store: &Store, end: u64) {
    let s = store.clone();
    eventually(Duration::from_secs(5), || {
        let s = s.clone();
        async move { s.flushed_offset() >= end }
    })
    .await;
}

/// Records what a durability listener hears.
#[derive(Default)]
struct Heard {
    durable: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicBool,
}

impl basalt_store::DurabilityListener for Heard {
    fn durable(&self, offset: u64) {
        self.durable.fetch_max(offset, Ordering::SeqCst);
    }

    fn failed(&self) {
        self.failed.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn append_leaves_the_wait_to_a_durability_listener() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(FaultyDisk::default());
    let store = Store::open_with_disk(
        small_config(dir.path(), FlushDiskType::SyncFlush),
        disk.clone(),
    )
    .unwrap();
    let heard = Arc::new(Heard::default());
    store.listen_durability(heard.clone());
    // A slow sync: the append returns long before its record is durable.
    disk.sync_delay_ms.store(300, Ordering::SeqCst);
    let a = store.append(&msg("L", 0, &b"held"[..])).unwrap();
    let r = &a.outcome.appended[0];
    let end = r.phys_offset + u64::from(r.size);
    assert_eq!(a.durable_at, Some(end));
    assert!(store.flushed_offset() < end);
    eventually(Duration::from_secs(5), || {
        let h = heard.clone();
        async move { h.durable.load(Ordering::SeqCst) >= end }
    })
    .await;
    assert!(store.flushed_offset() >= end);
    disk.sync_delay_ms.store(0, Ordering::SeqCst);

    // WAIT=false: nothing to wait for, though the group commit covers it.
    let mut m = msg("L", 0, &b"nowait"[..]);
    m.properties
        .insert(basalt_message::properties::WAIT, "false");
    let a = store.append(&m).unwrap();
    assert_eq!(a.durable_at, None);
    let r = &a.outcome.appended[0];
    let end = r.phys_offset + u64::from(r.size);
    eventually(Duration::from_secs(5), || {
        let h = heard.clone();
        async move { h.durable.load(Ordering::SeqCst) >= end }
    })
    .await;

    // A failed sync reaches the listener, and later appends are refused.
    disk.fail_sync.store(true, Ordering::SeqCst);
    assert!(store
        .append(&msg("L", 0, &b"doomed"[..]))
        .unwrap()
        .durable_at
        .is_some());
    eventually(Duration::from_secs(5), || {
        let h = heard.clone();
        async move { h.failed.load(Ordering::SeqCst) }
    })
    .await;
    assert!(matches!(
        store.append(&msg("L", 0, &b"after"[..])),
        Err(StoreError::Poisoned(_))
    ));
    // A listener installed now learns of the failure at once.
    let late = Arc::new(Heard::default());
    store.listen_durability(late.clone());
    assert!(late.failed.load(Ordering::SeqCst));
}

#[tokio::test]
async fn async_flush_appends_have_nothing_to_wait_for() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    let a = store.append(&msg("A", 0, &b"x"[..])).unwrap();
    assert_eq!(a.durable_at, None);
    store.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_records_are_readable_once_acknowledged_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::SyncFlush)).unwrap();
    // 64 KiB files: 400 records of ~1 KiB roll over several times.
    for i in 0..400u32 {
        let out = store
            .put(msg("R", 0, i.to_be_bytes().repeat(256)))
            .await
            .unwrap();
        assert_eq!(out.status, PutStatus::PutOk);
        let got = store.get("R", 0, u64::from(i), 1, 1 << 20);
        assert_eq!(
            got.messages.len(),
            1,
            "record {i} not readable once acknowledged"
        );
    }
    assert!(
        std::fs::read_dir(dir.path().join("commitlog"))
            .unwrap()
            .count()
            > 4
    );
    // A put that does not wait still becomes readable (and durable) soon.
    let mut m = msg("R", 1, &b"nowait"[..]);
    m.properties
        .insert(basalt_message::properties::WAIT, "false");
    let out = store.put(m).await.unwrap();
    let s = store.clone();
    eventually(Duration::from_secs(5), || {
        let s = s.clone();
        async move { s.get("R", 1, 0, 1, 1 << 20).messages.len() == 1 }
    })
    .await;
    let end = out.appended[0].phys_offset + u64::from(out.appended[0].size);
    wait_flushed(&store, end).await;
    store.shutdown().unwrap();
}

#[tokio::test]
async fn index_files_are_synced_on_their_own_period_and_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    cfg.flush_interval_consume_queue = 10;
    cfg.flush_consume_queue_thorough_interval = 3_600_000;
    let (store, disk) = faulty_store(cfg);
    let mut m = msg("Ix", 0, &b"indexed"[..]);
    m.properties.insert(basalt_message::properties::KEYS, "k1");
    store.put(m).await.unwrap();
    // Several queue flush periods go by (each ends with a checkpoint)...
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while disk.syncs_under("checkpoint") < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint written"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // ...without a sync of the index (each would write-protect its pages).
    assert_eq!(disk.syncs_under("index"), 0);
    store.shutdown().unwrap();
    assert!(
        disk.syncs_under("index") >= 1,
        "index not synced at shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flush_serves_and_announces_a_record_once_it_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disk) = faulty_store(small_config(dir.path(), FlushDiskType::SyncFlush));
    store.put(msg("V", 0, &b"first"[..])).await.unwrap();
    disk.sync_delay_ms.store(300, Ordering::SeqCst);
    let signal = store.arrival_signal("V", 0);
    let woken = signal.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    // Served only once synced, not once in the file (the group commit
    // writes it right before the sync that is held up): read first, then
    // look at the flushed offset, which only grows.
    let appended = store.append(&msg("V", 0, &b"second"[..])).unwrap();
    let end = appended.durable_at.expect("a SYNC_FLUSH append waits");
    let s = store.clone();
    eventually(Duration::from_secs(5), || {
        let s = s.clone();
        async move { s.commit_log_max_offset() >= end }
    })
    .await;
    let early = store.get("V", 0, 1, 1, 1 << 20).messages.len();
    assert!(early == 0 || store.flushed_offset() >= end);
    disk.sync_delay_ms.store(0, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(5), woken)
        .await
        .expect("a waiter hears of the record once it is durable");
    assert!(store.flushed_offset() >= end);
    let got = store.get("V", 0, 1, 1, 1 << 20);
    assert_eq!(decode(&got.messages[0]).body[..], b"second"[..]);
    store.shutdown().unwrap();
}
