use std::time::Duration;

use basalt_message::{encode_offset_msg_id, properties};
use basalt_store::{FlushDiskType, GetStatus, PutStatus, Store, StoreError};
use bytes::Bytes;

use crate::common::*;

#[tokio::test]
async fn put_get_roundtrip_across_file_rollover() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    let mut phys = Vec::new();
    for i in 0..400u32 {
        let mut m = msg("TopicA", (i % 2) as i32, vec![i as u8; 300]);
        m.properties
            .insert(properties::TAGS, if i % 3 == 0 { "red" } else { "blue" });
        let out = store.put(m).await.unwrap();
        assert_eq!(out.status, PutStatus::PutOk);
        let a = &out.appended[0];
        assert_eq!(a.queue_offset, u64::from(i / 2));
        phys.push(a.phys_offset);
    }
    // 400 x ~400 bytes spans several 64 KiB files; no record straddles a file.
    assert!(commitlog_files(dir.path()).len() >= 3);
    for p in &phys {
        assert_eq!(p / 65536, (p + 390) / 65536);
    }
    assert_eq!(store.max_offset("TopicA", 0), 200);
    assert_eq!(store.min_offset("TopicA", 0), 0);
    let mut next = 0;
    let mut seen = 0;
    while next < 200 {
        let r = store.get("TopicA", 1, next, 32, 1 << 20);
        assert_eq!(r.status, GetStatus::Found);
        for (b, qo) in r.messages.iter().zip(&r.queue_offsets) {
            let rec = decode(b);
            assert_eq!(rec.queue_offset as u64, *qo);
            assert_eq!(rec.queue_id, 1);
            assert_eq!(rec.body[0], (qo * 2 + 1) as u8);
            seen += 1;
        }
        next = r.next_begin_offset;
    }
    assert_eq!(seen, 200);
    // Tag filtering by tags code.
    let red = basalt_message::tags_code(Some("red"));
    let r = store.get_filtered("TopicA", 0, 0, 1000, usize::MAX, &|t| t == red);
    assert!(r
        .messages
        .iter()
        .all(|b| decode(b).properties().tags() == Some("red")));
    assert_eq!(r.messages.len(), 67);
    // Lookup by message id.
    let id = encode_offset_msg_id("10.0.0.1:10911".parse().unwrap(), phys[7] as i64);
    assert_eq!(
        decode(&store.message_by_id(&id).unwrap().unwrap()).body[0],
        7
    );
    store.shutdown().unwrap();
}

#[tokio::test]
async fn get_statuses_follow_rocketmq() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    let r = store.get("Nope", 0, 0, 10, 1000);
    assert_eq!(r.status, GetStatus::NoMatchedLogicQueue);
    for _ in 0..5 {
        store.put(msg("T", 0, &b"x"[..])).await.unwrap();
    }
    let r = store.get("T", 0, 5, 10, 1000);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::OffsetOverflowOne, 5)
    );
    let r = store.get("T", 0, 9, 10, 1000);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::OffsetOverflowBadly, 5)
    );
    let r = store.get("T", 0, 1, 2, 1000);
    assert_eq!(
        (r.status, r.messages.len(), r.next_begin_offset),
        (GetStatus::Found, 2, 3)
    );
    // max_bytes: the first record always comes back whole.
    let r = store.get("T", 0, 0, 10, 1);
    assert_eq!(r.messages.len(), 1);
    let r = store.get_filtered("T", 0, 0, 10, 1000, &|_| false);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::NoMatchedMessage, 5)
    );
    store.shutdown().unwrap();
}

#[tokio::test]
async fn bad_input_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    cfg.max_message_size = 1000;
    let store = Store::open(cfg).unwrap();
    let too_big = store.put(msg("T", 0, vec![0u8; 1001])).await.unwrap_err();
    assert!(matches!(too_big, StoreError::MessageTooLarge { .. }));
    for topic in ["", ".", "..", "a/b", "a\\b", "a\0b", "é/"] {
        assert!(matches!(
            store.put(msg(topic, 0, &b"x"[..])).await,
            Err(StoreError::BadTopic(_))
        ));
    }
    assert!(matches!(
        store.put(msg("T", -1, &b"x"[..])).await,
        Err(StoreError::BadTopic(_))
    ));
    store.shutdown().unwrap();
}

#[tokio::test]
async fn batch_gets_consecutive_offsets_and_wakes_waiters() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    // A reader may wait on a queue that does not exist yet.
    let signal = store.arrival_signal("B", 3);
    let first = signal.notified();
    tokio::pin!(first);
    first.as_mut().enable();
    let other = store.arrival_signal("B", 4).notified_owned();
    tokio::pin!(other);
    other.as_mut().enable();
    store.put(msg("B", 3, &b"first"[..])).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), first)
        .await
        .expect("the append woke the waiter of its queue");
    assert_eq!(store.max_offset("B", 3), 1);

    let batch_signal = store.arrival_signal("B", 3);
    let next = batch_signal.notified();
    tokio::pin!(next);
    next.as_mut().enable();
    let batch: Vec<_> = (0..5).map(|i| msg("B", 3, vec![i; 10])).collect();
    let out = store.put_batch(batch).await.unwrap();
    let offsets: Vec<u64> = out.appended.iter().map(|a| a.queue_offset).collect();
    assert_eq!(offsets, [1, 2, 3, 4, 5]);
    tokio::time::timeout(Duration::from_secs(5), next)
        .await
        .expect("the batch woke the waiter");
    assert_eq!(store.max_offset("B", 3), 6);
    // Queue 4 got nothing, so its waiter still sleeps.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), other)
            .await
            .is_err(),
        "a waiter of another queue was woken"
    );
    store.shutdown().unwrap();
}

#[tokio::test]
async fn offset_by_time_and_query_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    let mut stamps = Vec::new();
    for i in 0..60 {
        let mut m = msg("K", 0, vec![1u8; 50]);
        m.properties
            .insert(properties::KEYS, format!("order-{} common", i % 10));
        m.properties
            .insert(properties::UNIQ_KEY, format!("UNIQ{i:04}"));
        stamps.push(store.put(m).await.unwrap().appended[0].store_timestamp);
        if i % 20 == 19 {
            // Let the clock move so timestamps differ between groups.
            let before = *stamps.last().unwrap();
            eventually(Duration::from_secs(2), || async move {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64
                    > before + 2
            })
            .await;
        }
    }
    assert_eq!(store.offset_by_time("K", 0, 0), 0);
    assert_eq!(store.offset_by_time("K", 0, i64::MAX), 60);
    let t = stamps[20];
    let first = stamps.iter().position(|s| *s >= t).unwrap() as u64;
    assert_eq!(store.offset_by_time("K", 0, t), first);

    let hits = store.query_by_key("K", "order-3", 100, 0, i64::MAX);
    assert_eq!(hits.len(), 6);
    assert!(hits
        .iter()
        .all(|b| decode(b).properties().keys().any(|k| k == "order-3")));
    assert_eq!(
        store.query_by_key("K", "common", 100, 0, i64::MAX).len(),
        60
    );
    assert_eq!(store.query_by_key("K", "common", 7, 0, i64::MAX).len(), 7);
    let one = store.query_by_key("K", "UNIQ0042", 10, 0, i64::MAX);
    assert_eq!(one.len(), 1);
    assert!(store
        .query_by_key("Other", "order-3", 10, 0, i64::MAX)
        .is_empty());
    assert!(store.query_by_key("K", "order-3", 10, 0, 1).is_empty());
    store.shutdown().unwrap();
    // The index survives a restart.
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    assert_eq!(
        store.query_by_key("K", "order-3", 100, 0, i64::MAX).len(),
        6
    );
    store.shutdown().unwrap();
}

#[tokio::test]
async fn zero_copy_slices_outlive_retention() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    for i in 0..600u32 {
        store
            .put(msg("R", 0, vec![(i % 251) as u8; 300]))
            .await
            .unwrap();
    }
    let held: Bytes = store.get("R", 0, 0, 1, 1 << 20).messages[0].clone();
    let files_before = commitlog_files(dir.path()).len();
    let deleted = store.clean_expired(true).unwrap();
    // Everything but the current file goes (the file created ahead is not yet in use).
    assert!(deleted >= files_before - 2 && deleted >= 2);
    assert!(store.commit_log_min_offset() > 0);
    // The slice still reads the deleted file's bytes.
    assert_eq!(decode(&held).body[0], 0);
    let min = store.min_offset("R", 0);
    assert!(min > 0);
    let r = store.get("R", 0, 0, 10, 1 << 20);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::OffsetTooSmall, min)
    );
    let r = store.get("R", 0, min, 10, 1 << 20);
    assert_eq!(r.status, GetStatus::Found);
    assert_eq!(decode(&r.messages[0]).queue_offset as u64, min);
    // Writes go on after retention.
    store.put(msg("R", 0, &b"after"[..])).await.unwrap();
    store.shutdown().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    assert_eq!(store.min_offset("R", 0), min);
    assert_eq!(store.max_offset("R", 0), 601);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn index_rolls_over_to_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    cfg.max_index_num = 16;
    let store = Store::open(cfg.clone()).unwrap();
    for i in 0..60 {
        let mut m = msg("I", 0, &b"x"[..]);
        m.properties.insert(properties::KEYS, format!("k{i}"));
        store.put(m).await.unwrap();
    }
    // Past half of the newest file the next one is made ahead, outside
    // the index directory.
    let ahead = dir.path().join(".index-ahead");
    eventually(Duration::from_secs(10), || {
        let ahead = ahead.clone();
        async move { ahead.exists() }
    })
    .await;
    let files = std::fs::read_dir(dir.path().join("index")).unwrap().count();
    assert!(files >= 3, "{files} index files");
    for i in 0..50 {
        let hits = store.query_by_key("I", &format!("k{i}"), 10, 0, i64::MAX);
        assert_eq!(hits.len(), 1, "k{i}");
    }
    store.shutdown().unwrap();
    // Every file in the index directory is one in use: RocketMQ loads the
    // whole directory, and a file made ahead (zeros, the newest name) made
    // its queries stop before all the others. Begin timestamps (header
    // bytes 0..8) are set in each.
    for entry in std::fs::read_dir(dir.path().join("index")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let begin = i64::from_be_bytes(bytes[..8].try_into().unwrap());
        assert!(begin > 0, "an index file with a zero header");
    }
}

#[tokio::test]
async fn scheduled_messages_carry_delivery_time_as_tags_code_even_after_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    let store = Store::open(cfg.clone()).unwrap();
    let mut m = msg(basalt_store::SCHEDULE_TOPIC, 1, &b"later"[..]);
    m.properties.insert(properties::DELAY, "2");
    m.properties.insert(properties::TAGS, "t");
    let ts = store.put(m).await.unwrap().appended[0].store_timestamp;
    let due = ts + 5_000;
    let hit = |s: &Store| {
        s.get_filtered(basalt_store::SCHEDULE_TOPIC, 1, 0, 1, 1 << 20, &|code| {
            code == due
        })
        .messages
        .len()
    };
    assert_eq!(hit(&store), 1);
    store.simulate_crash();
    drop(store);
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    let store = Store::open(cfg).unwrap();
    assert_eq!(hit(&store), 1);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn retention_keeps_files_younger_than_file_reserved_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    for _ in 0..400 {
        store.put(msg("Ret", 0, vec![9u8; 400])).await.unwrap();
    }
    // Default 72 h: nothing is old enough.
    assert_eq!(store.clean_expired(false).unwrap(), 0);
    assert_eq!(store.commit_log_min_offset(), 0);
    store.shutdown().unwrap();
    // A reserve too long to add to a file's time (say, meant as "never")
    // keeps everything; it used to overflow the clock and panic the pass.
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    cfg.file_reserved_time = u64::MAX / 2;
    let store = Store::open(cfg).unwrap();
    assert_eq!(store.clean_expired(false).unwrap(), 0);
    assert_eq!(store.commit_log_min_offset(), 0);
    store.shutdown().unwrap();
    // Changed while the store runs (updateBrokerConfig): the next pass
    // follows the new reserve.
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    assert_eq!(store.clean_expired(false).unwrap(), 0);
    let mut retention = basalt_store::Retention::of(store.config());
    retention.file_reserved_time = 0;
    store.set_retention(retention);
    assert!(store.clean_expired(false).unwrap() >= 2);
    assert!(store.commit_log_min_offset() > 0);
    assert!(store.min_offset("Ret", 0) > 0);
    store.shutdown().unwrap();
}

/// A reader racing appends that close file after file: every record comes
/// back, in order, none taken for deleted. Closing a file used to list the
/// next one before writing the closed one's staged tail, and a read in
/// between skipped that tail as removed (MESSAGE_WAS_REMOVING, with
/// nextBeginOffset past it). The writer waits for the reader after each
/// burst, so the reader is polling at the staged records when a burst
/// closes a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_racing_file_roll_overs_skips_nothing() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    cfg.mapped_file_size_commit_log = 4096;
    let store = Arc::new(Store::open(cfg).unwrap());
    // Bursts that do not divide a file's worth of records, so files close
    // with records of the current burst staged in them.
    const N: u64 = 7_000;
    const BURST: u64 = 7;
    let read_to = Arc::new(AtomicU64::new(0));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let writer = {
        let (store, read_to) = (Arc::clone(&store), Arc::clone(&read_to));
        std::thread::spawn(move || {
            for burst in 0..N / BURST {
                for i in 0..BURST {
                    let body = format!("{:06}", burst * BURST + i).into_bytes();
                    store.stage(&msg("Roll", 0, body)).unwrap();
                }
                store.commit_staged().unwrap();
                while read_to.load(Ordering::Acquire) < (burst + 1) * BURST {
                    assert!(std::time::Instant::now() < deadline, "reader stuck");
                    std::hint::spin_loop();
                }
            }
        })
    };
    let mut next = 0u64;
    while next < N {
        assert!(std::time::Instant::now() < deadline, "stuck at {next}");
        let r = store.get("Roll", 0, next, 64, usize::MAX);
        assert_ne!(r.status, GetStatus::MessageWasRemoving, "at {next}");
        for (qo, b) in r.queue_offsets.iter().zip(&r.messages) {
            assert_eq!(*qo, next);
            assert_eq!(&decode(b).body[..], format!("{next:06}").as_bytes());
            next += 1;
        }
        assert!(r.next_begin_offset <= next, "skipped past {next}");
        read_to.store(next, Ordering::Release);
    }
    writer.join().unwrap();
    store.shutdown().unwrap();
}

#[tokio::test]
async fn a_forced_retention_pass_deletes_one_batch_of_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    cfg.delete_file_batch_max = 2;
    let store = Store::open(cfg).unwrap();
    // Files are counted by the log's start, not in the directory, where
    // the next one may be appearing (created ahead) meanwhile.
    let file = 64 * 1024;
    while store.commit_log_max_offset() < 6 * file {
        store.put(msg("Batch", 0, vec![5u8; 900])).await.unwrap();
    }
    // Disk pressure deletes regardless of age, but a batch per pass: the
    // next pass (10 s on) sees the usage again before taking more.
    assert_eq!(store.clean_expired(true).unwrap(), 2);
    assert_eq!(store.commit_log_min_offset(), 2 * file);
    assert_eq!(store.clean_expired(true).unwrap(), 2);
    assert_eq!(store.commit_log_min_offset(), 4 * file);
    store.shutdown().unwrap();
}

/// The upper boundary of a time search, as RocketMQ's: the last offset
/// stored at or before the time (the last of equal times), the last entry
/// when all are older, the first when all are newer. Checked against the
/// records' own store times, whatever they are.
#[tokio::test]
async fn offset_by_time_upper_is_the_last_at_or_before() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path(), FlushDiskType::AsyncFlush)).unwrap();
    for i in 0..40 {
        store.put(msg("Upper", 0, format!("u{i}"))).await.unwrap();
        if i % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    }
    let r = store.get("Upper", 0, 0, 100, usize::MAX);
    let times: Vec<i64> = r
        .messages
        .iter()
        .map(|b| decode(b).store_timestamp)
        .collect();
    assert_eq!(times.len(), 40);
    let oracle = |t: i64| -> u64 { times.iter().rposition(|s| *s <= t).map_or(0, |i| i as u64) };
    let mut probes: Vec<i64> = times.iter().flat_map(|t| [t - 1, *t, t + 1]).collect();
    probes.extend([i64::MIN / 2, 0, i64::MAX / 2]);
    for t in probes {
        assert_eq!(
            store.offset_by_time_upper("Upper", 0, t),
            oracle(t),
            "at {t}"
        );
    }
    // The lower boundary is unchanged: the first at or after.
    let first = times[0];
    assert_eq!(store.offset_by_time("Upper", 0, first), 0);
    assert_eq!(store.offset_by_time("Upper", 0, i64::MAX / 2), 40);
    store.shutdown().unwrap();
}

/// An all-zero index file (made ahead by an earlier Basalt, never used) is
/// removed at open: RocketMQ's queries stop at it. The rest are used in
/// time order whatever their names.
#[tokio::test]
async fn an_unused_zero_index_file_is_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path(), FlushDiskType::AsyncFlush);
    let store = Store::open(cfg.clone()).unwrap();
    let mut m = msg("Z", 0, &b"x"[..]);
    m.properties.insert(properties::KEYS, "zk");
    store.put(m).await.unwrap();
    store.shutdown().unwrap();
    drop(store);
    // 40-byte header, 64 slots, 512 entries: small_config's sizes.
    let zero = dir.path().join("index").join("29991231235959999");
    std::fs::write(&zero, vec![0u8; 40 + 64 * 4 + 512 * 20]).unwrap();
    let store = Store::open(cfg).unwrap();
    assert!(!zero.exists());
    assert_eq!(store.query_by_key("Z", "zk", 10, 0, i64::MAX).len(), 1);
    store.shutdown().unwrap();
}
