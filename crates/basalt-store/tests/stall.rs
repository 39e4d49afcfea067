//! A CommitLog write (or file creation) stuck on the disk: page-cache-busy
//! and committing one's own records.

use std::time::{Duration, Instant};

use basalt_store::{FlushDiskType, Store};

use crate::common::*;

#[tokio::test]
async fn a_stuck_write_makes_the_page_cache_busy_and_holds_up_only_uncommitted_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    cfg.os_page_cache_busy_time_out_mills = 100;
    // No commit period of the flusher's during the test.
    cfg.commit_interval_commit_log = 60_000;
    cfg.flush_interval_commit_log = 60_000;
    let store = Store::open(cfg).unwrap();
    let first = store.stage(&msg("Stall", 0, &b"before"[..])).unwrap();
    let before = first.commit_through.unwrap();
    store.commit_through(before).unwrap();
    assert!(!store.page_cache_busy());
    assert_eq!(store.commit_stuck_for(), None);

    let stalled_at = Instant::now();
    let stall = store.simulate_stalled_write(Duration::from_millis(1500));
    let staged = store.stage(&msg("Stall", 0, &b"during"[..])).unwrap();
    let during = staged.commit_through.unwrap();
    assert!(during > before);
    // Records already written need no commit: no wait on the stuck one.
    let t = Instant::now();
    store.commit_through(before).unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !store.page_cache_busy() {
        assert!(Instant::now() < deadline, "never busy");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(store.commit_stuck_for().unwrap() > Duration::from_millis(100));
    // A record staged meanwhile is written once the stall is over, and
    // only then readable.
    assert_eq!(store.max_offset("Stall", 0), 2);
    assert_eq!(store.get("Stall", 0, 1, 10, 1 << 20).messages.len(), 0);
    store.commit_through(during).unwrap();
    assert!(stalled_at.elapsed() >= Duration::from_millis(1500));
    assert!(!store.page_cache_busy());
    let r = store.get("Stall", 0, 1, 10, 1 << 20);
    assert_eq!(decode(&r.messages[0]).body.as_ref(), b"during");
    stall.release();
    store.shutdown().unwrap();
}

/// A put that waits for the next CommitLog file's creation, stuck on the
/// disk, holds the append lock as a stuck write would: that counts as busy
/// too, and stops counting once the file is there.
#[test]
fn a_stuck_file_creation_makes_the_page_cache_busy() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    cfg.os_page_cache_busy_time_out_mills = 100;
    let (store, disk) = faulty_store(cfg);
    disk.create_delay_ms
        .store(1500, std::sync::atomic::Ordering::SeqCst);
    let put = {
        let store = store.clone();
        std::thread::spawn(move || store.append(&msg("Roll", 0, &b"first"[..])).map(|_| ()))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !store.page_cache_busy() {
        assert!(Instant::now() < deadline, "never busy");
        assert!(!put.is_finished(), "the put finished, never counted busy");
        std::thread::sleep(Duration::from_millis(10));
    }
    disk.create_delay_ms
        .store(0, std::sync::atomic::Ordering::SeqCst);
    put.join().unwrap().unwrap();
    assert!(!store.page_cache_busy());
    assert_eq!(store.commit_stuck_for(), None);
    store.shutdown().unwrap();
}
