//! ConsumeQueue lookups: a 32-message pull (`get`) at random queue offsets
//! of a 200,000-message queue, and `offset_by_time` (binary search over the
//! queue). Run: `cargo bench -p basalt-store --bench lookup`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use basalt_message::MessageExtBrokerInner;
use basalt_store::{Store, StoreConfig};
use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

const MESSAGES: u64 = 200_000;

fn bench_lookup(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        mapped_file_size_commit_log: 64 * 1024 * 1024,
        message_index_enable: false,
        disk_space_warning_level_ratio: 100,
        disk_space_clean_forcibly_ratio: 100,
        ..StoreConfig::with_root(dir.path())
    };
    let store = Store::open(config).unwrap();
    let body = Bytes::from(vec![b'x'; 124]);
    let (first_ts, last_ts) = rt.block_on(async {
        let mut first = 0;
        let mut last = 0;
        for i in 0..MESSAGES {
            let out = store
                .put(MessageExtBrokerInner::new("Lookup", 0, body.clone()))
                .await
                .unwrap();
            let ts = out.appended[0].store_timestamp;
            if i == 0 {
                first = ts;
            }
            last = ts;
        }
        (first, last)
    });

    let mut group = c.benchmark_group("lookup");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    group.throughput(Throughput::Elements(32));
    // A cheap LCG keeps the offsets spread without a rand dependency.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    group.bench_function("get_32_random_offset", |b| {
        b.iter(|| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let offset = (x >> 33) % (MESSAGES - 32);
            let r = store.get("Lookup", 0, offset, 32, 256 * 1024);
            assert_eq!(r.messages.len(), 32);
            black_box(r);
        });
    });
    group.throughput(Throughput::Elements(1));
    let span = (last_ts - first_ts).max(1);
    group.bench_function("offset_by_time", |b| {
        b.iter(|| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let ts = first_ts + ((x >> 33) as i64 % span);
            black_box(store.offset_by_time("Lookup", 0, ts));
        });
    });
    group.finish();
    store.shutdown().unwrap();
}

criterion_group!(benches, bench_lookup);
criterion_main!(benches);
