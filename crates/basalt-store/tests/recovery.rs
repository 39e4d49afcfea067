use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use basalt_message::properties;
use basalt_store::{FlushDiskType, RecoveryPolicy, Store, StoreConfig, StoreError};

use crate::common::*;

/// xorshift64*: deterministic cases without a rand dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone)]
struct Put {
    topic: String,
    queue: i32,
    body: Vec<u8>,
    phys: u64,
    size: u64,
}

fn cfg(dir: &Path) -> StoreConfig {
    small_config(dir, FlushDiskType::AsyncFlush)
}

async fn random_puts(store: &Store, rng: &mut Rng, n: usize) -> Vec<Put> {
    let mut model = Vec::new();
    for i in 0..n {
        let topic = format!("T{}", rng.below(3));
        let queue = rng.below(3) as i32;
        // One put in eight is a batch of 2-5 records for the same queue.
        let count = if rng.below(8) == 0 {
            2 + rng.below(4)
        } else {
            1
        };
        let mut batch = Vec::new();
        let mut bodies = Vec::new();
        for j in 0..count {
            let max = if rng.below(10) == 0 { 6000 } else { 300 };
            let len = 1 + rng.below(max) as usize;
            // Bodies without zero bytes, so zeroing a suffix always changes them.
            let body: Vec<u8> = (0..len).map(|_| 1 + rng.below(255) as u8).collect();
            let mut m = msg(&topic, queue, body.clone());
            m.properties
                .insert(properties::UNIQ_KEY, format!("U{i}-{j}"));
            batch.push(m);
            bodies.push(body);
        }
        let appended = store.put_batch(batch).await.unwrap().appended;
        for (a, body) in appended.into_iter().zip(bodies) {
            model.push(Put {
                topic: topic.clone(),
                queue,
                body,
                phys: a.phys_offset,
                size: u64::from(a.size),
            });
        }
    }
    model
}

fn file_of(root: &Path, phys: u64) -> (std::path::PathBuf, u64) {
    let start = phys / (64 * 1024) * (64 * 1024);
    (
        root.join("commitlog").join(format!("{start:020}")),
        phys - start,
    )
}

/// XORs the byte at commit-log offset `at` with `mask`; returns its file.
fn flip(root: &Path, at: u64, mask: u8) -> std::path::PathBuf {
    let (path, rel) = file_of(root, at);
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, rel).unwrap();
    f.write_all_at(&[b[0] ^ mask], rel).unwrap();
    path
}

/// Reads every queue and compares with the surviving prefix of the model.
fn assert_matches(store: &Store, model: &[Put]) {
    let mut per_queue: BTreeMap<(String, i32), Vec<&Put>> = BTreeMap::new();
    for p in model {
        per_queue
            .entry((p.topic.clone(), p.queue))
            .or_default()
            .push(p);
    }
    for t in 0..3 {
        for q in 0..3 {
            let topic = format!("T{t}");
            let expected = per_queue
                .get(&(topic.clone(), q))
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                store.max_offset(&topic, q),
                expected.len() as u64,
                "{topic}/{q}"
            );
            let r = store.get(&topic, q, 0, 10_000, usize::MAX);
            assert_eq!(r.messages.len(), expected.len(), "{topic}/{q}");
            for (i, (b, e)) in r.messages.iter().zip(&expected).enumerate() {
                let rec = decode(b);
                assert_eq!(rec.queue_offset, i as i64);
                assert_eq!(rec.physical_offset as u64, e.phys);
                assert_eq!(&rec.body[..], &e.body[..]);
            }
            assert_paged_gets(store, &topic, q, &expected);
        }
    }
}

/// Random-sized pulls from random offsets return a dense run from the
/// offset, within the count and byte limits (the first record always).
fn assert_paged_gets(store: &Store, topic: &str, q: i32, expected: &[&Put]) {
    let mut rng = Rng(expected.len() as u64 + 17);
    for _ in 0..20 {
        let from = rng.below(expected.len() as u64 + 1);
        let max_count = 1 + rng.below(8) as usize;
        let max_bytes = 100 + rng.below(5000) as usize;
        let r = store.get(topic, q, from, max_count, max_bytes);
        if from == expected.len() as u64 {
            use basalt_store::GetStatus::*;
            let ok = if expected.is_empty() {
                matches!(r.status, NoMatchedLogicQueue | NoMessageInQueue)
            } else {
                r.status == OffsetOverflowOne
            };
            assert!(ok, "{topic}/{q} at {from}: {:?}", r.status);
            continue;
        }
        assert!(!r.messages.is_empty() && r.messages.len() <= max_count);
        assert!(r.messages.len() == 1 || r.total_bytes() <= max_bytes);
        for (k, b) in r.messages.iter().enumerate() {
            let e = expected[from as usize + k];
            assert_eq!(decode(b).physical_offset as u64, e.phys);
        }
        assert_eq!(r.next_begin_offset, from + r.messages.len() as u64);
    }
}

#[tokio::test]
async fn model_crash_at_a_random_byte() {
    for seed in 1..=24u64 {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let store = Store::open(cfg(dir.path())).unwrap();
        let n = 20 + rng.below(250) as usize;
        let model = random_puts(&store, &mut rng, n).await;
        store.simulate_crash();
        drop(store);
        let survivors = match seed % 3 {
            // Truncate: zero from a random byte of one of the last records to the
            // end of its file, and lose every later file.
            0 | 1 => {
                let k = model.len() - 1 - rng.below(model.len().min(5) as u64) as usize;
                let cut = model[k].phys + rng.below(model[k].size);
                let (path, rel) = file_of(dir.path(), cut);
                let f = OpenOptions::new().write(true).open(&path).unwrap();
                f.write_all_at(&vec![0u8; (64 * 1024 - rel) as usize], rel)
                    .unwrap();
                for later in commitlog_files(dir.path()) {
                    if later > path {
                        std::fs::remove_file(later).unwrap();
                    }
                }
                k
            }
            // Corrupt: flip a byte of the last record's size, magic or body.
            _ => {
                let last = model.last().unwrap();
                let body_at = 88;
                let choices = [0, 5, body_at + rng.below(last.body.len() as u64)];
                let at = last.phys + choices[rng.below(3) as usize];
                flip(dir.path(), at, 0x5A);
                model.len() - 1
            }
        };
        let store = Store::open(cfg(dir.path())).unwrap();
        assert_matches(&store, &model[..survivors]);
        // Queue offsets stay dense after recovery.
        let next = store.put(msg("T0", 0, &b"after"[..])).await.unwrap();
        let expected = model[..survivors]
            .iter()
            .filter(|p| p.topic == "T0" && p.queue == 0)
            .count();
        assert_eq!(
            next.appended[0].queue_offset, expected as u64,
            "seed {seed}"
        );
        store.shutdown().unwrap();
    }
}

#[tokio::test]
async fn clean_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(cfg(dir.path())).unwrap();
    let model = random_puts(&store, &mut Rng(7), 300).await;
    store.shutdown().unwrap();
    assert!(!dir.path().join("abort").exists());
    let cp = std::fs::read(dir.path().join("checkpoint")).unwrap();
    assert_eq!(cp.len(), 4096);
    let store = Store::open(cfg(dir.path())).unwrap();
    assert!(dir.path().join("abort").exists());
    assert_matches(&store, &model);
    store.shutdown().unwrap();
}

/// A store with `n` random puts, crashed.
async fn crashed_store(seed: u64, n: usize) -> (tempfile::TempDir, Vec<Put>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(cfg(dir.path())).unwrap();
    let model = random_puts(&store, &mut Rng(seed), n).await;
    store.simulate_crash();
    drop(store);
    (dir, model)
}

#[tokio::test]
async fn corruption_in_the_middle_is_refused_with_file_and_offset() {
    let (dir, model) = crashed_store(11, 200).await;
    let victim = &model[model.len() - 10];
    let path = flip(dir.path(), victim.phys + 90, 0xFF);
    match Store::open(cfg(dir.path())) {
        Err(StoreError::Corrupt { file, offset, .. }) => {
            assert_eq!(file, path);
            assert_eq!(offset, victim.phys % (64 * 1024));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // RocketMQ's own policy truncates there instead.
    let mut c = cfg(dir.path());
    c.recovery_policy = RecoveryPolicy::TruncateAtFirstInvalid;
    let store = Store::open(c).unwrap();
    assert_matches(&store, &model[..model.len() - 10]);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn strict_policy_refuses_even_a_torn_tail() {
    let (dir, model) = crashed_store(11, 200).await;
    let last = model.last().unwrap();
    let (path, rel) = file_of(dir.path(), last.phys + 90);
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&[0u8; 4], rel).unwrap();
    let mut c = cfg(dir.path());
    c.recovery_policy = RecoveryPolicy::Strict;
    assert!(matches!(Store::open(c), Err(StoreError::Corrupt { .. })));
    let store = Store::open(cfg(dir.path())).unwrap();
    assert_matches(&store, &model[..model.len() - 1]);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn lost_consume_queue_entries_are_rebuilt() {
    let (dir, model) = crashed_store(5, 400).await;
    // Zero the tail of one queue's newest file and delete another queue's files.
    let q = dir.path().join("consumequeue").join("T1").join("1");
    let mut files: Vec<_> = std::fs::read_dir(&q)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let f = OpenOptions::new()
        .write(true)
        .open(files.last().unwrap())
        .unwrap();
    f.write_all_at(&[0u8; 100 * 20], 0).unwrap();
    std::fs::remove_dir_all(dir.path().join("consumequeue").join("T2")).unwrap();
    let store = Store::open(cfg(dir.path())).unwrap();
    assert_matches(&store, &model);
    store.shutdown().unwrap();
    // Also after a clean shutdown: the queue is trimmed then refilled.
    let q0 = dir.path().join("consumequeue").join("T0").join("0");
    std::fs::remove_dir_all(&q0).unwrap();
    let store = Store::open(cfg(dir.path())).unwrap();
    assert_matches(&store, &model);
    store.shutdown().unwrap();
}

mod scan_fuzz {
    use std::path::Path;

    use basalt_store::inspect::{commit_log_bytes, CommitLogItem};
    use bytes::Bytes;
    use proptest::prelude::*;

    fn fixture_file() -> Vec<u8> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/rocketmq-store/commitlog/00000000000000000000");
        std::fs::read(p).unwrap()
    }

    fn check(data: &[u8]) {
        if let Ok(items) = commit_log_bytes(Path::new("x"), 0, &Bytes::copy_from_slice(data)) {
            for item in items {
                if let CommitLogItem::Record { phys, record } = item {
                    assert!(phys as usize + record.total_size as usize <= data.len());
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        // Same entry point as fuzz/fuzz_targets/store_recovery_scan.rs.
        #[test]
        fn scan_never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            check(&data);
        }

        #[test]
        fn scan_never_panics_on_mutated_real_files(edits in proptest::collection::vec((0usize..16384, any::<u8>()), 1..8)) {
            let mut data = fixture_file();
            for (at, v) in edits {
                data[at] = v;
            }
            check(&data);
        }
    }
}

#[tokio::test]
async fn rebuilding_a_queue_refuses_old_corruption_instead_of_skipping_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(cfg(dir.path())).unwrap();
    let model = random_puts(&store, &mut Rng(23), 700).await;
    store.shutdown().unwrap();
    drop(store);
    assert!(commitlog_files(dir.path()).len() >= 5);
    // Damage a record in the first file, outside the window a clean restart
    // re-checks, and lose its queue so the restart must rebuild from there.
    let victim = &model[3];
    let path = flip(dir.path(), victim.phys + 90, 0xFF);
    let queue_dir = dir
        .path()
        .join("consumequeue")
        .join(&victim.topic)
        .join(victim.queue.to_string());
    std::fs::remove_dir_all(queue_dir).unwrap();
    match Store::open(cfg(dir.path())) {
        Err(StoreError::Corrupt { file, offset, .. }) => {
            assert_eq!((file, offset), (path, victim.phys % (64 * 1024)));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// A 16 MiB CommitLog file holding a few KiB, with a 16 KiB message limit
/// (so the look-ahead past the last record is 80 KiB).
fn big_file_cfg(dir: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 16 * 1024 * 1024,
        max_message_size: 16 * 1024,
        ..cfg(dir)
    }
}

async fn crashed_big_file_store(n: usize) -> (tempfile::TempDir, Vec<Put>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(big_file_cfg(dir.path())).unwrap();
    let mut model = Vec::new();
    for i in 0..n {
        let body = format!("body-{i}-").repeat(20).into_bytes();
        let a = store
            .put(msg("T0", 0, body.clone()))
            .await
            .unwrap()
            .appended[0]
            .clone();
        model.push(Put {
            topic: "T0".into(),
            queue: 0,
            body,
            phys: a.phys_offset,
            size: u64::from(a.size),
        });
    }
    store.simulate_crash();
    drop(store);
    (dir, model)
}

#[tokio::test]
async fn crash_recovery_reads_the_data_not_the_whole_file() {
    let (dir, model) = crashed_big_file_store(50).await;
    let written = model.last().map(|p| p.phys + p.size).unwrap();
    let window = 16 * 1024 + 64 * 1024;
    let store = Store::open(big_file_cfg(dir.path())).unwrap();
    let report = store.recovery_report();
    assert!(report.crashed && !report.truncated, "{report:?}");
    assert_eq!(report.end, written);
    assert!(report.bytes_examined >= written, "{report:?}");
    assert!(report.bytes_examined <= written + window, "{report:?}");
    assert!(report.bytes_examined < 16 * 1024 * 1024 / 10, "{report:?}");
    assert_eq!(store.max_offset("T0", 0), 50);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn torn_tail_in_a_big_file_is_cut_after_a_bounded_look_ahead() {
    let (dir, model) = crashed_big_file_store(50).await;
    let last = model.last().unwrap();
    let path = dir.path().join("commitlog").join(format!("{:020}", 0));
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&[0u8; 16], last.phys + 100).unwrap();
    drop(f);
    let store = Store::open(big_file_cfg(dir.path())).unwrap();
    let report = store.recovery_report();
    assert!(report.truncated, "{report:?}");
    assert_eq!(report.end, last.phys);
    assert!(report.bytes_examined < 16 * 1024 * 1024 / 10, "{report:?}");
    assert_matches(&store, &model[..model.len() - 1]);
    // The cut tail reads as zeros: the next record lands where the torn one was.
    let next = store.put(msg("T0", 0, &b"after"[..])).await.unwrap();
    assert_eq!(next.appended[0].phys_offset, last.phys);
    store.simulate_crash();
    drop(store);
    let store = Store::open(big_file_cfg(dir.path())).unwrap();
    assert!(!store.recovery_report().truncated);
    assert_eq!(store.max_offset("T0", 0), 50);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn zeroed_header_before_more_data_in_a_big_file_is_refused() {
    let (dir, model) = crashed_big_file_store(50).await;
    let victim = &model[model.len() - 3];
    let path = dir.path().join("commitlog").join(format!("{:020}", 0));
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&[0u8; 8], victim.phys).unwrap();
    drop(f);
    match Store::open(big_file_cfg(dir.path())) {
        Err(StoreError::Corrupt { file, offset, .. }) => {
            assert_eq!((file, offset), (path, victim.phys));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn a_deletion_whose_tombstone_cannot_be_saved_leaves_the_topic_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(cfg(dir.path())).unwrap();
    for i in 0..5 {
        store.put(msg("Stays", 0, format!("m-{i}"))).await.unwrap();
    }
    // The tombstone is written through a temp file: a directory in its
    // place makes the save fail.
    let blocker = dir.path().join("deletedTopics.json.tmp");
    std::fs::create_dir(&blocker).unwrap();
    assert!(store.delete_topic("Stays").is_err());
    assert!(dir.path().join("consumequeue").join("Stays").exists());
    assert_eq!(store.max_offset("Stays", 0), 5);
    // The queue goes on where it was, not from offset 0 over its entries.
    let a = store.put(msg("Stays", 0, &b"m-5"[..])).await.unwrap();
    assert_eq!(a.appended[0].queue_offset, 5);
    let r = store.get("Stays", 0, 0, 10, 1 << 20);
    let bodies: Vec<_> = r.messages.iter().map(|b| decode(b).body).collect();
    assert_eq!(bodies.len(), 6);
    assert_eq!(bodies[0][..], b"m-0"[..]);
    // Once the save can succeed, the deletion goes through.
    std::fs::remove_dir(&blocker).unwrap();
    assert!(store.delete_topic("Stays").unwrap());
    assert_eq!(store.max_offset("Stays", 0), 0);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn a_deleted_topic_loses_its_queue_files_and_starts_again_at_offset_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(cfg(dir.path())).unwrap();
    for q in 0..3 {
        for i in 0..150 {
            store.put(msg("Gone", q, format!("old-{i}"))).await.unwrap();
        }
    }
    store.put(msg("Kept", 0, &b"kept"[..])).await.unwrap();
    // A pull that already holds the queue reads on after the deletion.
    let before = store.get("Gone", 0, 0, 10, 1 << 20);
    let topic_dir = dir.path().join("consumequeue").join("Gone");
    assert!(topic_dir.exists());
    assert!(store.delete_topic("Gone").unwrap());
    assert!(!topic_dir.exists());
    assert_eq!(decode(&before.messages[9]).body[..], b"old-9"[..]);
    assert_eq!(store.max_offset("Gone", 0), 0);
    assert!(store.get("Gone", 0, 0, 10, 1 << 20).messages.is_empty());
    assert!(!store.delete_topic("Gone").unwrap());
    assert!(store.delete_topic("../Kept").is_err());
    // Like RocketMQ, the next put starts the queue again at offset 0.
    let a = store.put(msg("Gone", 0, &b"new-0"[..])).await.unwrap();
    assert_eq!(a.appended[0].queue_offset, 0);
    store.put(msg("Gone", 0, &b"new-1"[..])).await.unwrap();
    // A crash recovery re-dispatches the CommitLog: the deleted records stay deleted.
    store.simulate_crash();
    drop(store);
    std::fs::remove_dir_all(dir.path().join("consumequeue").join("Kept")).unwrap();
    let store = Store::open(cfg(dir.path())).unwrap();
    assert_eq!(store.max_offset("Gone", 0), 2);
    assert_eq!(store.max_offset("Gone", 1), 0);
    let r = store.get("Gone", 0, 0, 10, 1 << 20);
    let bodies: Vec<_> = r.messages.iter().map(|b| decode(b).body).collect();
    assert_eq!(bodies, [&b"new-0"[..], &b"new-1"[..]]);
    assert!(!dir.path().join("consumequeue/Gone/1").exists());
    // Other topics are rebuilt as before.
    assert_eq!(store.max_offset("Kept", 0), 1);
    store.shutdown().unwrap();
}

/// Deletions racing puts to the same topic: every put succeeds, and the
/// queue stays usable across its file boundaries. The directory used to be
/// deleted by name after the append lock was released, taking along the one
/// a put had just created anew; that queue then wrote to unlinked files and
/// failed at its next file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_racing_puts_leave_the_recreated_queue_working() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(cfg(dir.path())).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let putter = {
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            while !done.load(Ordering::Acquire) {
                if let Err(e) = store
                    .stage(&msg("Race", 0, &b"r"[..]))
                    .and_then(|_| store.commit_staged())
                {
                    failures.push(e.to_string());
                }
            }
            failures
        })
    };
    for _ in 0..200 {
        store.delete_topic("Race").unwrap();
    }
    done.store(true, Ordering::Release);
    let failures = putter.join().unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    // Past two ConsumeQueue files (100 entries each) of the queue as it is now.
    let from = store.max_offset("Race", 0);
    for i in 0..250 {
        store
            .put(msg("Race", 0, format!("after-{i}")))
            .await
            .unwrap();
    }
    let r = store.get("Race", 0, from, 300, usize::MAX);
    assert_eq!(r.messages.len(), 250);
    assert_eq!(decode(&r.messages[249]).body[..], b"after-249"[..]);
    store.shutdown().unwrap();
    drop(store);
    // A deletion's directory left by a crash is removed at the next open.
    let left = dir.path().join(".deleted-queues-1-0");
    std::fs::create_dir_all(left.join("0")).unwrap();
    let store = Store::open(cfg(dir.path())).unwrap();
    assert!(!left.exists());
    assert_eq!(store.max_offset("Race", 0), from + 250);
    store.shutdown().unwrap();
}

/// Puts until at least `files` CommitLog files exist, lets retention take
/// all but the newest, and loses every ConsumeQueue: the restart's window
/// then starts at the log's start, and each queue's first surviving
/// record lies past its (empty) queue's end.
async fn store_after_retention_without_queues(files: usize) -> (tempfile::TempDir, Vec<Put>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(cfg(dir.path())).unwrap();
    let mut model = Vec::new();
    let mut rng = Rng(41);
    while commitlog_files(dir.path()).len() < files {
        model.extend(random_puts(&store, &mut rng, 50).await);
    }
    assert!(store.clean_expired(true).unwrap() >= 1);
    let min = store.commit_log_min_offset();
    assert!(min > 0);
    store.shutdown().unwrap();
    drop(store);
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    (dir, model, min)
}

#[tokio::test]
async fn queues_lost_after_retention_are_rebuilt_from_the_first_surviving_record() {
    let (dir, model, min) = store_after_retention_without_queues(4).await;
    let store = Store::open(cfg(dir.path())).unwrap();
    let mut checked = 0;
    for t in 0..3 {
        for q in 0..3 {
            let topic = format!("T{t}");
            let all: Vec<&Put> = model
                .iter()
                .filter(|p| p.topic == topic && p.queue == q)
                .collect();
            let kept = all.iter().filter(|p| p.phys >= min).count();
            // Queue offsets count from the queue's first record ever.
            assert_eq!(store.max_offset(&topic, q), all.len() as u64, "{topic}/{q}");
            let from = (all.len() - kept) as u64;
            let r = store.get(&topic, q, from, 10_000, usize::MAX);
            assert_eq!(r.messages.len(), kept, "{topic}/{q}");
            for (b, e) in r.messages.iter().zip(&all[all.len() - kept..]) {
                let rec = decode(b);
                assert_eq!(
                    (rec.physical_offset as u64, &rec.body[..]),
                    (e.phys, &e.body[..])
                );
            }
            checked += kept;
        }
    }
    assert!(checked > 0);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn a_queue_offset_the_log_cannot_hold_is_refused_not_padded() {
    let (dir, model, min) = store_after_retention_without_queues(4).await;
    // The second surviving record of some queue claims an offset far past
    // its queue (QUEUEOFFSET, 20 bytes into the record, is not under the
    // CRC): padding up to it would write fillers until the disk is full.
    let mut seen = BTreeMap::new();
    let victim = model
        .iter()
        .filter(|p| p.phys >= min)
        .find(|p| {
            let n = seen.entry((p.topic.clone(), p.queue)).or_insert(0);
            *n += 1;
            *n == 2
        })
        .unwrap()
        .clone();
    let path = flip(dir.path(), victim.phys + 20 + 2, 0x40);
    match Store::open(cfg(dir.path())) {
        Err(StoreError::Corrupt {
            file,
            offset,
            reason,
        }) => {
            assert_eq!((file, offset), (path, victim.phys % (64 * 1024)));
            assert!(reason.contains("queue offset"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// The CommitLog where `storePathCommitLog` puts it; and a store whose
/// CommitLog is not where it is looked for (the key left out after a
/// migration) refuses to open instead of trimming every queue to an empty
/// log, which deleted them.
#[tokio::test]
async fn the_commit_log_lives_where_configured_and_a_missing_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("disk2").join("commitlog");
    let with_log = || StoreConfig {
        store_path_commit_log: Some(elsewhere.clone()),
        ..cfg(dir.path())
    };
    let store = Store::open(with_log()).unwrap();
    for i in 0..20 {
        store.put(msg("Moved", 0, format!("m{i}"))).await.unwrap();
    }
    store.shutdown().unwrap();
    drop(store);
    assert!(commitlog_files_in(&elsewhere) >= 1);
    assert!(!dir.path().join("commitlog").exists());

    match Store::open(cfg(dir.path())) {
        Err(StoreError::Config(reason)) => {
            assert!(reason.contains("storePathCommitLog"), "{reason}")
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    // Nothing was trimmed: configured again, every message is there.
    let store = Store::open(with_log()).unwrap();
    assert_eq!(store.max_offset("Moved", 0), 20);
    let r = store.get("Moved", 0, 0, 100, usize::MAX);
    assert_eq!(r.messages.len(), 20);
    store.shutdown().unwrap();
}

fn commitlog_files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}
