//! Append throughput: 124 B and 4 KiB bodies, 1/8/64 concurrent writers,
//! ASYNC_FLUSH vs SYNC_FLUSH (group commit) vs the transient store pool
//! (async flush). Prints records per fsync for
//! the sync runs. Run: `cargo bench -p basalt-store --bench append`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use basalt_message::MessageExtBrokerInner;
use basalt_store::{Disk, FlushDiskType, RealDisk, Store, StoreConfig};
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[derive(Debug, Default)]
struct CountingDisk {
    syncs: AtomicU64,
}

impl Disk for CountingDisk {
    fn create_preallocated(&self, path: &Path, size: u64) -> io::Result<File> {
        RealDisk.create_preallocated(path, size)
    }
    fn sync(&self, path: &Path, sync: &mut dyn FnMut() -> io::Result<()>) -> io::Result<()> {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        RealDisk.sync(path, sync)
    }
}

fn bench_append(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("append");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for body in [124usize, 4096] {
        let modes = [
            ("async", FlushDiskType::AsyncFlush, false),
            ("sync", FlushDiskType::SyncFlush, false),
            ("transient_pool", FlushDiskType::AsyncFlush, true),
        ];
        for (mode, flush, transient) in modes {
            for writers in [1usize, 8, 64] {
                let dir = tempfile::tempdir().unwrap();
                let disk = Arc::new(CountingDisk::default());
                let config = StoreConfig {
                    mapped_file_size_commit_log: 64 * 1024 * 1024,
                    flush_disk_type: flush,
                    transient_store_pool_enable: transient,
                    max_hash_slot_num: 1024,
                    max_index_num: 4096,
                    message_index_enable: false,
                    disk_space_warning_level_ratio: 100,
                    disk_space_clean_forcibly_ratio: 100,
                    ..StoreConfig::with_root(dir.path())
                };
                let store = Store::open_with_disk(config, disk.clone()).unwrap();
                let payload = Bytes::from(vec![b'x'; body]);
                let puts = AtomicU64::new(0);
                let syncs_before = disk.syncs.load(Ordering::Relaxed);
                group.throughput(Throughput::Elements(1));
                let id = BenchmarkId::new(format!("{mode}/{body}B"), format!("{writers}w"));
                group.bench_function(id, |b| {
                    b.iter_custom(|iters| {
                        puts.fetch_add(iters, Ordering::Relaxed);
                        let per = iters.div_ceil(writers as u64);
                        let start = Instant::now();
                        rt.block_on(async {
                            let mut tasks = Vec::new();
                            for w in 0..writers {
                                let store = store.clone();
                                let payload = payload.clone();
                                tasks.push(tokio::spawn(async move {
                                    for _ in 0..per {
                                        let m = MessageExtBrokerInner::new(
                                            "Bench",
                                            (w % 8) as i32,
                                            payload.clone(),
                                        );
                                        store.put(m).await.unwrap();
                                    }
                                }));
                            }
                            for t in tasks {
                                t.await.unwrap();
                            }
                        });
                        start.elapsed()
                    });
                });
                if flush == FlushDiskType::SyncFlush {
                    let syncs = disk.syncs.load(Ordering::Relaxed) - syncs_before;
                    let n = puts.load(Ordering::Relaxed);
                    eprintln!(
                        "records per fsync ({body}B, {writers} writers): {:.1}",
                        n as f64 / syncs.max(1) as f64
                    );
                }
                store.shutdown().unwrap();
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_append);
criterion_main!(benches);
