use std::sync::atomic::Ordering;
use std::sync::Arc;

use basalt_store::{FlushDiskType, GetStatus, Store, StoreError};

use crate::common::*;

#[tokio::test]
async fn enospc_refuses_writes_reads_go_on_and_writes_resume() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(FaultyDisk::default());
    let store = Store::open_with_disk(
        small_config(dir.path(), FlushDiskType::AsyncFlush),
        disk.clone(),
    )
    .unwrap();
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
