use std::sync::atomic::Ordering;
use std::sync::Arc;

use basalt_store::{FlushDiskType, GetStatus, Store, StoreConfig, StoreError};

use crate::common::*;

#[tokio::test]
async fn enospc_refuses_writes_reads_go_on_and_writes_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disk) = faulty_store(small_config(dir.path(), FlushDiskType::AsyncFlush));
    store.put(msg("D", 0, vec![1u8; 100])).await.unwrap();
    disk.enospc_on_create.store(true, Ordering::SeqCst);
    // Keep writing until a roll-over needs a file that cannot be created
    // (the one made ahead may still succeed; the one after it cannot).
    let mut refused = None;
    for _ in 0..2000 {
        match store.put(msg("D", 0, vec![2u8; 1000])).await {
            Ok(_) => {}
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let err = refused.expect("a roll-over must hit ENOSPC");
    match &err {
        StoreError::DiskFull {
            source: Some(io), ..
        } => assert_eq!(io.raw_os_error(), Some(28)),
        other => panic!("expected DiskFull, got {other:?}"),
    }
    let r = store.get("D", 0, 0, 10, 1 << 20);
    assert_eq!(r.status, GetStatus::Found);
    disk.enospc_on_create.store(false, Ordering::SeqCst);
    store.put(msg("D", 0, vec![3u8; 1000])).await.unwrap();
    store.shutdown().unwrap();
}

#[tokio::test]
async fn usage_ratio_refuses_writes_until_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(FaultyDisk::default());
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    cfg.disk_space_warning_level_ratio = 75;
    let store = Store::open_with_disk(cfg, disk.clone()).unwrap();
    disk.used_percent.store(10, Ordering::SeqCst);
    store.refresh_disk_state();
    store.put(msg("D", 0, &b"ok"[..])).await.unwrap();
    disk.used_percent.store(90, Ordering::SeqCst);
    store.refresh_disk_state();
    assert!(matches!(
        store.put(msg("D", 0, &b"no"[..])).await,
        Err(StoreError::DiskFull { .. })
    ));
    assert_eq!(store.get("D", 0, 0, 10, 1000).messages.len(), 1);
    disk.used_percent.store(50, Ordering::SeqCst);
    store.refresh_disk_state();
    store.put(msg("D", 0, &b"ok again"[..])).await.unwrap();
    store.shutdown().unwrap();
}

#[tokio::test]
async fn a_batch_that_cannot_roll_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(FaultyDisk::default());
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    cfg.mapped_file_size_consume_queue = 20 * 1000;
    let store = Store::open_with_disk(cfg, disk.clone()).unwrap();
    store.put(msg("BT", 0, vec![1u8; 1000])).await.unwrap();
    // Once the second file has been created ahead, make creating more fail.
    let second = dir
        .path()
        .join("commitlog")
        .join(format!("{:020}", 64 * 1024));
    eventually(std::time::Duration::from_secs(5), || {
        let second = second.clone();
        async move { std::fs::metadata(&second).is_ok_and(|m| m.len() == 64 * 1024) }
    })
    .await;
    disk.enospc_on_create.store(true, Ordering::SeqCst);
    // Fill into the second file until it is nearly full.
    while store.commit_log_max_offset() < 124 * 1024 {
        store.put(msg("BT", 0, vec![1u8; 1000])).await.unwrap();
    }
    let before = store.max_offset("BT", 0);
    let batch: Vec<_> = (0..8).map(|_| msg("BT", 0, vec![2u8; 1000])).collect();
    assert!(matches!(
        store.put_batch(batch).await,
        Err(StoreError::DiskFull { .. })
    ));
    assert_eq!(store.max_offset("BT", 0), before);
    disk.enospc_on_create.store(false, Ordering::SeqCst);
    let batch: Vec<_> = (0..8).map(|_| msg("BT", 0, vec![3u8; 1000])).collect();
    let out = store.put_batch(batch).await.unwrap();
    // Contiguous in the new file.
    assert!(out.appended.iter().all(|a| a.phys_offset >= 128 * 1024));
    assert_eq!(out.appended[0].queue_offset, before);
    store.shutdown().unwrap();
}

/// Opens the store once its lock is free. Other tests here spawn
/// processes: a child forked before its exec briefly shares a lock file a
/// test had open (flock locks follow the open file into it), so a lock
/// can be seen a moment after its owner let go.
async fn open_once_free(cfg: &StoreConfig) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open(cfg.clone()) {
            Err(StoreError::Locked(_)) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            other => return other.unwrap(),
        }
    }
}

#[tokio::test]
async fn a_store_is_opened_by_one_owner_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    let store = Store::open(cfg.clone()).unwrap();
    assert!(matches!(
        Store::open(cfg.clone()),
        Err(StoreError::Locked(_))
    ));
    store.shutdown().unwrap();
    drop(store);
    let again = open_once_free(&cfg).await;
    again.shutdown().unwrap();
}

/// A RocketMQ broker holding the store (FileChannel.tryLock: an fcntl lock
/// on byte 0 of `lock`, taken here by Python's lockf, as Java does) keeps
/// Basalt out.
#[tokio::test]
async fn a_store_locked_by_a_rocketmq_broker_is_refused() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    let lock = dir.path().join("lock");
    std::fs::write(&lock, b"").unwrap();
    let script = "import fcntl,sys,time\nf=open(sys.argv[1],'r+')\nfcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB, 1, 0)\nprint('locked', flush=True)\nsys.stdin.read()\n";
    let mut holder = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&lock)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    assert!(matches!(
        Store::open(cfg.clone()),
        Err(StoreError::Locked(_))
    ));
    drop(holder.stdin.take());
    holder.wait().unwrap();
    let store = open_once_free(&cfg).await;
    store.shutdown().unwrap();
}

#[tokio::test]
async fn a_batch_spilling_into_a_new_queue_file_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // 100 entries per ConsumeQueue file.
    let (store, disk) = faulty_store(small_config(dir.path(), FlushDiskType::AsyncFlush));
    for _ in 0..40 {
        store.put(msg("CQ", 0, &b"small"[..])).await.unwrap();
    }
    // The next queue file is created ahead at half full: make that fail too.
    disk.enospc_on_create.store(true, Ordering::SeqCst);
    for _ in 40..98 {
        store.put(msg("CQ", 0, &b"small"[..])).await.unwrap();
    }
    let batch: Vec<_> = (0..5).map(|_| msg("CQ", 0, &b"batch"[..])).collect();
    assert!(matches!(
        store.put_batch(batch).await,
        Err(StoreError::DiskFull { .. })
    ));
    assert_eq!(store.max_offset("CQ", 0), 98);
    assert_eq!(store.get("CQ", 0, 98, 10, 1 << 20).messages.len(), 0);
    disk.enospc_on_create.store(false, Ordering::SeqCst);
    let batch: Vec<_> = (0..5).map(|_| msg("CQ", 0, &b"batch"[..])).collect();
    let out = store.put_batch(batch).await.unwrap();
    assert_eq!(out.appended[4].queue_offset, 102);
    assert_eq!(store.get("CQ", 0, 98, 10, 1 << 20).messages.len(), 5);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn a_queue_file_created_ahead_survives_a_later_full_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (store, disk) = faulty_store(small_config(dir.path(), FlushDiskType::AsyncFlush));
    for _ in 0..60 {
        store.put(msg("CQ", 0, &b"small"[..])).await.unwrap();
    }
    let next = dir
        .path()
        .join("consumequeue/CQ/0")
        .join(format!("{:020}", 100 * 20));
    eventually(std::time::Duration::from_secs(5), || {
        let next = next.clone();
        async move { std::fs::metadata(&next).is_ok_and(|m| m.len() == 100 * 20) }
    })
    .await;
    disk.enospc_on_create.store(true, Ordering::SeqCst);
    let batch: Vec<_> = (0..50).map(|_| msg("CQ", 0, &b"batch"[..])).collect();
    let out = store.put_batch(batch).await.unwrap();
    assert_eq!(out.appended[49].queue_offset, 109);
    assert_eq!(store.max_offset("CQ", 0), 110);
    for offset in 95..110 {
        let r = store.get("CQ", 0, offset, 1, 1 << 20);
        assert_eq!(decode(&r.messages[0]).queue_offset, offset as i64);
    }
    store.shutdown().unwrap();
}

/// A failed CommitLog write poisons the store, and no later commit writes
/// what it carried or what was staged behind it: those puts are answered
/// as failed, so they must not be stored after all (nor after a restart).
#[test]
fn nothing_staged_is_written_after_a_failed_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    // No commit period of the flusher's during the test.
    cfg.commit_interval_commit_log = 60_000;
    cfg.flush_interval_commit_log = 60_000;
    let store = Store::open(cfg.clone()).unwrap();
    store.append(&msg("W", 0, &b"kept"[..])).unwrap();
    let a = store.stage(&msg("W", 0, &b"a"[..])).unwrap();
    let b = store.stage(&msg("W", 0, &b"b"[..])).unwrap();
    let written = store.commit_log_max_offset();

    store.simulate_failed_write();
    assert!(store.commit_through(a.commit_through.unwrap()).is_err());
    // Another connection's commit of its own records, staged before.
    assert!(store.commit_through(b.commit_through.unwrap()).is_err());
    assert_eq!(store.commit_log_max_offset(), written);
    assert!(matches!(
        store.stage(&msg("W", 0, &b"c"[..])),
        Err(StoreError::Poisoned(_))
    ));
    assert!(store.shutdown().is_err(), "a poisoned store says so");
    drop(store);

    let store = Store::open(cfg).unwrap();
    assert_eq!(store.max_offset("W", 0), 1);
    assert_eq!(store.commit_log_max_offset(), written);
    store.shutdown().unwrap();
}
