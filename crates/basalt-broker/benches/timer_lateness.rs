//! Timer lateness with many pending timers: how long after its deadline a
//! timer message is re-stored to its real topic.
//!
//! `cargo bench -p basalt-broker --bench timer_lateness -- [N] [SPREAD_SECS]`
//! (defaults: 1,000,000 timers due uniformly over 20 s, starting 20 s after
//! the first put so every timer is indexed before it is due).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use basalt_broker::timer::{Timers, TIMER_TOPIC};
use basalt_broker::topics::now_ms;
use basalt_message::{BlankOrRecord, MessageExtBrokerInner};
use basalt_store::{Store, StoreConfig};
use bytes::Bytes;
use hdrhistogram::Histogram;
use tokio_util::sync::CancellationToken;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with('-')).collect();
    let n: u64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let spread_ms: i64 = args
        .get(2)
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(20)
        * 1000;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = StoreConfig::with_root(dir.path().join("store"));
    cfg.mapped_file_size_commit_log = 256 << 20;
    cfg.message_index_enable = false;
    cfg.disk_space_warning_level_ratio = 100;
    let store = tokio::task::spawn_blocking(move || Store::open(cfg))
        .await
        .unwrap()
        .unwrap();
    let host: std::net::SocketAddr = "127.0.0.1:10911".parse().unwrap();

    let start = now_ms() + 20_000;
    let t0 = Instant::now();
    for i in 0..n {
        let deadline = start + (i64::try_from(i).unwrap() * spread_ms) / i64::try_from(n).unwrap();
        let mut m = MessageExtBrokerInner::new(
            TIMER_TOPIC,
            0,
            Bytes::from(deadline.to_be_bytes().to_vec()),
        );
        m.properties.insert("TIMER_OUT_MS", deadline.to_string());
        m.properties.insert("REAL_TOPIC", "LateT");
        m.properties.insert("REAL_QID", "0");
        m.store_host = host;
        m.born_host = host;
        store.put(m).await.unwrap();
    }
    eprintln!("put {n} timers in {:?}", t0.elapsed());
    assert!(
        now_ms() < start,
        "puts took longer than the lead time; use fewer timers"
    );

    let stop = CancellationToken::new();
    let timers =
        Arc::new(Timers::load(dir.path().join("timerProgress.json"), store.clone(), host).unwrap());
    let task = tokio::spawn(Arc::clone(&timers).run(stop.clone()));

    let mut hist = Histogram::<u64>::new(3).unwrap();
    let mut offset = 0u64;
    let deadline = Instant::now()
        + Duration::from_millis(u64::try_from(spread_ms).unwrap())
        + Duration::from_secs(60);
    while offset < n && Instant::now() < deadline {
        let got = store.get("LateT", 0, offset, 1024, 16 << 20);
        if got.messages.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        for raw in &got.messages {
            if let BlankOrRecord::Record(rec) = Store::decode(raw).unwrap() {
                let due = i64::from_be_bytes(rec.body[..8].try_into().unwrap());
                hist.record(u64::try_from(rec.store_timestamp - due).unwrap_or(0))
                    .unwrap();
            }
        }
        offset = got.next_begin_offset;
    }
    stop.cancel();
    let _ = task.await;
    println!(
        "timers={n} delivered={} spread={}s lateness_ms p50={} p99={} p999={} max={} (early deliveries: none possible, counted as 0)",
        hist.len(),
        spread_ms / 1000,
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
        hist.value_at_quantile(0.999),
        hist.max()
    );
    tokio::task::spawn_blocking(move || store.shutdown())
        .await
        .unwrap()
        .unwrap();
}
