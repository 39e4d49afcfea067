//! Reads a store written by Apache RocketMQ 5.5.1's own DefaultMessageStore
//! (`interop/store-fixture/generate.sh`): every message must come back with
//! the right topic, queue, offsets, keys, tags and properties.

use std::path::Path;

use basalt_message::{encode_offset_msg_id, tags_code};
use basalt_store::{FlushDiskType, GetStatus, Store, StoreConfig};

use crate::common::*;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

struct Expected {
    topic: String,
    queue: i32,
    queue_offset: u64,
    phys: u64,
    tags: String,
    keys: String,
    uniq: String,
    custom: String,
    body: String,
}

fn expected(root: &Path) -> Vec<Expected> {
    std::fs::read_to_string(root.join("expected.tsv"))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Expected {
                topic: f[0].into(),
                queue: f[1].parse().unwrap(),
                queue_offset: f[2].parse().unwrap(),
                phys: f[3].parse().unwrap(),
                tags: f[4].into(),
                keys: f[5].into(),
                uniq: f[6].into(),
                custom: f[7].into(),
                body: f[8].into(),
            }
        })
        .collect()
}

/// The record of `e`, which must be there.
fn found(store: &Store, e: &Expected) -> basalt_store::GetResult {
    let r = store.get(&e.topic, e.queue, e.queue_offset, 1, 1 << 20);
    let at = format!("{} {} {}", e.topic, e.queue, e.queue_offset);
    assert_eq!(r.status, GetStatus::Found, "{at}");
    r
}

fn fixture_config(root: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 16 * 1024,
        mapped_file_size_consume_queue: 20 * 20,
        max_hash_slot_num: 64,
        max_index_num: 256,
        flush_disk_type: FlushDiskType::AsyncFlush,
        disk_max_used_space_ratio: 100,
        ..StoreConfig::with_root(root)
    }
}

#[tokio::test]
async fn reads_every_message_written_by_apache_rocketmq() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rocketmq-store");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path());
    let want = expected(dir.path());
    assert_eq!(want.len(), 60);
    let store = Store::open(fixture_config(dir.path())).unwrap();
    let store_host = "127.0.0.1:10911".parse().unwrap();
    for e in &want {
        let r = found(&store, e);
        let rec = decode(&r.messages[0]);
        assert_eq!(rec.topic, e.topic);
        assert_eq!(rec.v2, e.topic.len() > 127);
        assert_eq!(rec.queue_id, e.queue);
        assert_eq!(rec.queue_offset as u64, e.queue_offset);
        assert_eq!(rec.physical_offset as u64, e.phys);
        assert_eq!(&rec.body[..], e.body.as_bytes());
        let props = rec.properties();
        assert_eq!(props.tags(), Some(e.tags.as_str()));
        assert_eq!(props.get("KEYS"), Some(e.keys.as_str()));
        assert_eq!(props.uniq_key(), Some(e.uniq.as_str()));
        assert_eq!(props.get("custom"), Some(e.custom.as_str()));
        // The ConsumeQueue tags code is Java's String.hashCode of the tag.
        let code = tags_code(Some(&e.tags));
        let f = store.get_filtered(&e.topic, e.queue, e.queue_offset, 1, 1 << 20, &|t| {
            t == code
        });
        assert_eq!(f.status, GetStatus::Found);
        // Offset message id and key lookups.
        let id = encode_offset_msg_id(store_host, e.phys as i64);
        assert_eq!(store.message_by_id(&id).unwrap().unwrap(), r.messages[0]);
        let key = e.keys.split(' ').next().unwrap();
        let hits = store.query_by_key(&e.topic, key, 10, 0, i64::MAX);
        assert_eq!(hits.len(), 1, "key {key}");
        assert_eq!(
            store.query_by_key(&e.topic, &e.uniq, 10, 0, i64::MAX).len(),
            1
        );
        let same_tag = want
            .iter()
            .filter(|o| o.topic == e.topic && o.tags == e.tags)
            .count();
        assert_eq!(
            store
                .query_by_tag(&e.topic, &e.tags, 100, 0, i64::MAX)
                .len(),
            same_tag
        );
    }
    for q in 0..3 {
        let n = want
            .iter()
            .filter(|e| e.topic == "FixtureTopic" && e.queue == q)
            .count() as u64;
        assert_eq!(store.max_offset("FixtureTopic", q), n);
    }
    // Basalt appends after Apache's data, continuing its offsets.
    let out = store
        .put(msg("FixtureTopic", 0, &b"from basalt"[..]))
        .await
        .unwrap();
    assert_eq!(
        out.appended[0].queue_offset,
        store.max_offset("FixtureTopic", 0) - 1
    );
    store.shutdown().unwrap();
}

#[test]
fn inspect_reads_and_checks_the_apache_fixture() {
    use basalt_store::inspect;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rocketmq-store");
    let report = inspect::check(&src).unwrap();
    let cp = inspect::checkpoint_file(&src.join("checkpoint")).unwrap();
    assert!(cp.physic_msg_timestamp > 1_700_000_000_000);
    assert!(cp.logics_msg_timestamp > 1_700_000_000_000);
    assert_eq!(report.records, 60);
    assert_eq!(report.commit_log_files, 3);
    assert_eq!(report.queue_entries, 60);
    let first = inspect::commit_log_file(&src.join("commitlog/00000000000000000000")).unwrap();
    assert!(matches!(
        first.last(),
        Some(inspect::CommitLogItem::Blank { .. })
    ));
    let cq =
        inspect::consume_queue_file(&src.join("consumequeue/FixtureTopic/0/00000000000000000000"))
            .unwrap();
    assert_eq!(cq.len(), 18);
    let index = std::fs::read_dir(src.join("index"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let dump = inspect::index_file(&index, 64).unwrap();
    // UNIQ_KEY, two KEYS tokens and the tag (5.5.1) per message.
    assert_eq!(dump.entries.len(), 240);
    assert_eq!(dump.index_count, 241);

    // A flipped body byte is reported with file and offset.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path());
    let victim = dir.path().join("commitlog/00000000000000016384");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[100] ^= 0xFF;
    std::fs::write(&victim, bytes).unwrap();
    match inspect::check(dir.path()) {
        Err(basalt_store::StoreError::Corrupt { file, offset, .. }) => {
            assert_eq!(file, victim);
            assert_eq!(offset, 0);
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// Writes a store for `interop/store-fixture/verify-basalt-store.sh`, which
/// opens it with Apache RocketMQ's DefaultMessageStore. Run with
/// `BASALT_SAMPLE_DIR=/some/empty/dir cargo test -p basalt-store --test main -- --ignored`.
#[tokio::test]
#[ignore = "writes to $BASALT_SAMPLE_DIR for the Java-side check"]
async fn write_sample_store_for_java() {
    let Some(root) = std::env::var_os("BASALT_SAMPLE_DIR") else {
        return;
    };
    let root = std::path::PathBuf::from(root);
    let store = Store::open(fixture_config(&root)).unwrap();
    let long_topic = format!("LongTopic{}", "z".repeat(125));
    let mut manifest = String::new();
    for i in 0..60 {
        let topic = if i % 10 == 9 {
            long_topic.as_str()
        } else {
            "BasaltTopic"
        };
        let queue = i % 3;
        let tags = if i % 2 == 0 { "TagA" } else { "TagB" };
        let keys = format!("bkey-{i} common");
        let uniq = format!("7F00000100002A9F{i:016X}");
        let body = if i % 7 == 3 {
            format!("big-{i}-{}", "q".repeat(3000))
        } else {
            format!("basalt-body-{i}")
        };
        let mut m = msg(topic, queue, body.clone().into_bytes());
        if i % 5 == 4 {
            m.born_host = "[::1]:40000".parse().unwrap();
        }
        m.store_host = "127.0.0.1:10911".parse().unwrap();
        m.properties.insert(basalt_message::properties::TAGS, tags);
        m.properties
            .insert(basalt_message::properties::KEYS, keys.clone());
        m.properties
            .insert(basalt_message::properties::UNIQ_KEY, uniq.clone());
        m.properties.insert("custom", format!("v{i}"));
        let a = store.put(m).await.unwrap().appended.remove(0);
        manifest.push_str(&format!(
            "{topic}\t{queue}\t{}\t{}\t{tags}\t{keys}\t{uniq}\tv{i}\t{body}\n",
            a.queue_offset, a.phys_offset
        ));
    }
    store.shutdown().unwrap();
    std::fs::write(root.join("expected.tsv"), manifest).unwrap();
}

#[tokio::test]
async fn abnormal_recovery_of_the_apache_store_keeps_every_message() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rocketmq-store");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path());
    // As if Apache RocketMQ had crashed: abort marker present, queues lost.
    std::fs::write(dir.path().join("abort"), "1234").unwrap();
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    let want = expected(dir.path());
    let store = Store::open(fixture_config(dir.path())).unwrap();
    for e in &want {
        let r = found(&store, e);
        assert_eq!(decode(&r.messages[0]).physical_offset as u64, e.phys);
    }
    store.shutdown().unwrap();
}
