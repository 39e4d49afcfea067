//! The admin views of the ConsumeQueues: raw entries (queryCq), the topics
//! with queues (cleanUnusedTopic), expired queues (cleanExpiredCQ).

use basalt_message::properties;
use basalt_store::{FlushDiskType, Store};

use crate::common::*;

#[tokio::test]
async fn queue_entries_cross_files_and_stop_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    // 20 entries per ConsumeQueue file.
    cfg.mapped_file_size_consume_queue = 20 * 20;
    let store = Store::open(cfg).unwrap();
    let mut phys = Vec::new();
    for i in 0..50u32 {
        let mut m = msg("Q", 1, vec![i as u8; 10]);
        m.properties.insert(properties::TAGS, "red");
        phys.push(store.put(m).await.unwrap().appended[0].phys_offset);
    }
    let view = store.queue_entries("Q", 1, 15, 10).unwrap();
    assert_eq!((view.min_offset, view.max_offset), (0, 50));
    let offsets: Vec<u64> = view.entries.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (15..25).collect::<Vec<_>>());
    for (o, e) in &view.entries {
        assert_eq!(e.phys_offset as u64, phys[*o as usize]);
        assert!(e.size > 0);
        assert_eq!(
            e.tags_code,
            i64::from(basalt_message::java_string_hash("red"))
        );
    }
    assert_eq!(
        store.queue_entries("Q", 1, 45, 100).unwrap().entries.len(),
        5
    );
    assert!(store
        .queue_entries("Q", 1, 50, 10)
        .unwrap()
        .entries
        .is_empty());
    assert!(store
        .queue_entries("Q", 1, 0, 0)
        .unwrap()
        .entries
        .is_empty());
    assert!(store.queue_entries("Q", 0, 0, 10).is_none());
    assert!(store.queue_entries("Nope", 1, 0, 10).is_none());
    assert_eq!(store.queue_topics(), vec!["Q".to_owned()]);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn expired_queues_go_and_start_again_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    // Old: one queue written only at the start; Live: written throughout;
    // Kept: expired too, but the caller keeps it (a system topic).
    for _ in 0..20 {
        store.put(msg("Old", 0, vec![1u8; 300])).await.unwrap();
        store.put(msg("Kept", 0, vec![1u8; 300])).await.unwrap();
    }
    let file = 64 * 1024;
    while store.commit_log_max_offset() < 4 * file {
        store.put(msg("Live", 0, vec![2u8; 900])).await.unwrap();
    }
    // Nothing has expired yet: nothing goes.
    assert_eq!(store.clean_expired_queues(|t| t == "Kept").unwrap(), 0);
    assert!(store.clean_expired(true).unwrap() >= 2);
    assert!(store.commit_log_min_offset() >= 2 * file);
    assert_eq!(store.clean_expired_queues(|t| t == "Kept").unwrap(), 1);
    let mut topics = store.queue_topics();
    topics.sort();
    assert_eq!(topics, vec!["Kept".to_owned(), "Live".to_owned()]);
    assert!(!dir.path().join("consumequeue").join("Old").exists());
    assert!(dir.path().join("consumequeue").join("Kept").exists());
    assert_eq!(store.max_offset("Old", 0), 0);
    // A later put starts the queue again at 0, and it survives a restart.
    let again = store.put(msg("Old", 0, &b"new"[..])).await.unwrap();
    assert_eq!(again.appended[0].queue_offset, 0);
    let live_max = store.max_offset("Live", 0);
    store.shutdown().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    assert_eq!(store.max_offset("Old", 0), 1);
    let r = store.get("Old", 0, 0, 10, 1 << 20);
    assert_eq!(decode(&r.messages[0]).body.as_ref(), b"new");
    assert_eq!(store.max_offset("Live", 0), live_max);
    assert_eq!(store.clean_expired_queues(|_| false).unwrap(), 1);
    store.shutdown().unwrap();
}
