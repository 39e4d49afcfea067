use std::sync::Arc;
use std::time::Duration;

use basalt_store::{FlushDiskType, GetStatus, PutStatus, Store, StoreConfig};

use crate::common::*;

fn transient(dir: &std::path::Path, flush: FlushDiskType, commit_ms: u64) -> StoreConfig {
    StoreConfig {
        transient_store_pool_enable: true,
        commit_interval_commit_log: commit_ms,
        ..small_config(dir, flush)
    }
}

#[tokio::test]
async fn committed_records_become_readable_and_announced() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(transient(dir.path(), FlushDiskType::AsyncFlush, 20)).unwrap();
    let signal = store.arrival_signal("TP", 0);
    let mut waiter = Box::pin(Arc::clone(&signal).notified_owned());
    waiter.as_mut().enable();
    for i in 0..300u32 {
        store
            .put(msg("TP", 0, vec![(i % 200) as u8 + 1; 500]))
            .await
            .unwrap();
    }
    // Staged records wake waiters when the committer makes them readable:
    // waiting on the signal alone (re-armed before each look) sees all 300.
    let mut readable = 0;
    while readable < 300 {
        tokio::time::timeout(Duration::from_secs(5), waiter.as_mut())
            .await
            .expect("committed records wake the waiter");
        waiter = Box::pin(Arc::clone(&signal).notified_owned());
        waiter.as_mut().enable();
        readable = store.get("TP", 0, 0, 1000, usize::MAX).messages.len();
    }
    let r = store.get("TP", 0, 0, 1000, usize::MAX);
    assert_eq!(r.messages.len(), 300);
    for (i, b) in r.messages.iter().enumerate() {
        assert_eq!(decode(b).body[0], (i % 200) as u8 + 1);
    }
    store.shutdown().unwrap();
    let store = Store::open(transient(dir.path(), FlushDiskType::AsyncFlush, 20)).unwrap();
    assert_eq!(store.get("TP", 0, 0, 1000, usize::MAX).messages.len(), 300);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn sync_flush_with_pool_acks_only_committed_durable_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(transient(dir.path(), FlushDiskType::SyncFlush, 10_000)).unwrap();
    for i in 0..200u32 {
        let out = store.put(msg("TS", 1, vec![1u8; 700])).await.unwrap();
        assert_eq!(out.status, PutStatus::PutOk);
        let a = &out.appended[0];
        assert!(store.flushed_offset() >= a.phys_offset + u64::from(a.size));
        assert_eq!(
            store.get("TS", 1, u64::from(i), 1, 1 << 20).status,
            GetStatus::Found
        );
    }
    store.shutdown().unwrap();
}

#[tokio::test]
async fn uncommitted_records_are_lost_in_a_crash_and_queues_stay_dense() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(transient(dir.path(), FlushDiskType::AsyncFlush, 60_000)).unwrap();
    for _ in 0..20 {
        store.put(msg("TC", 0, &b"staged"[..])).await.unwrap();
    }
    // Not committed yet: the queue has entries but their records are not readable.
    let r = store.get("TC", 0, 0, 10, 1 << 20);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::OffsetOverflowOne, 0)
    );
    store.simulate_crash();
    drop(store);
    let store = Store::open(transient(dir.path(), FlushDiskType::AsyncFlush, 60_000)).unwrap();
    assert_eq!(store.max_offset("TC", 0), 0);
    let out = store.put(msg("TC", 0, &b"again"[..])).await.unwrap();
    assert_eq!(out.appended[0].queue_offset, 0);
    store.shutdown().unwrap();
    let store = Store::open(transient(dir.path(), FlushDiskType::AsyncFlush, 60_000)).unwrap();
    assert_eq!(store.get("TC", 0, 0, 10, 1 << 20).messages.len(), 1);
    store.shutdown().unwrap();
}

/// ASYNC_FLUSH without the pool: a staged record is readable, and
/// announced, once its appender commits; `append` commits by itself.
#[tokio::test]
async fn async_flush_stage_waits_for_its_commit_and_append_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        // No flusher commit can land between the stage and the looks.
        commit_interval_commit_log: 600_000,
        flush_interval_commit_log: 600_000,
        ..small_config(dir.path(), FlushDiskType::AsyncFlush)
    };
    let store = Store::open(config).unwrap();
    let waiter = armed(&store, "TA");
    store.stage(&msg("TA", 0, vec![7u8; 100])).unwrap();
    assert!(store.get("TA", 0, 0, 10, usize::MAX).messages.is_empty());
    store.commit_staged().unwrap();
    assert_eq!(store.get("TA", 0, 0, 10, usize::MAX).messages.len(), 1);
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the commit announces the record");
    store.append(&msg("TA", 0, vec![8u8; 100])).unwrap();
    let r = store.get("TA", 0, 0, 10, usize::MAX);
    assert_eq!(r.messages.len(), 2);
    assert_eq!(decode(&r.messages[1]).body[0], 8);
    store.shutdown().unwrap();
}

/// A staged record its appender never commits is committed by the
/// commit period.
#[tokio::test]
async fn async_flush_uncommitted_stage_is_committed_by_the_period() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        commit_interval_commit_log: 20,
        ..small_config(dir.path(), FlushDiskType::AsyncFlush)
    };
    let store = Store::open(config).unwrap();
    let waiter = armed(&store, "TB");
    store.stage(&msg("TB", 0, vec![9u8; 100])).unwrap();
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the flusher commits within its period");
    assert_eq!(store.get("TB", 0, 0, 10, usize::MAX).messages.len(), 1);
    store.shutdown().unwrap();
}

/// A wait for the next arrival in queue 0 of `topic`, armed now.
fn armed(store: &Store, topic: &str) -> std::pin::Pin<Box<tokio::sync::futures::OwnedNotified>> {
    let mut waiter = Box::pin(store.arrival_signal(topic, 0).notified_owned());
    waiter.as_mut().enable();
    waiter
}
