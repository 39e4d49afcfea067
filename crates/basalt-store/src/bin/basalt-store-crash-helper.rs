//! Test helper for the kill -9 test: appends under SYNC_FLUSH from several
//! tasks into the store at `argv[1]` and prints `ACK <queue> <queue_offset>
//! <phys> <body>` for each acknowledged record, until killed.

use std::io::Write;

use basalt_message::MessageExtBrokerInner;
use basalt_store::{FlushDiskType, PutStatus, Store, StoreConfig};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: basalt-store-crash-helper DIR")?;
    let config = StoreConfig {
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 100 * 20,
        flush_disk_type: FlushDiskType::SyncFlush,
        max_hash_slot_num: 64,
        max_index_num: 512,
        disk_space_warning_level_ratio: 100,
        ..StoreConfig::with_root(dir)
    };
    let store = Store::open(config)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for writer in 0..4 {
        let store = store.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0u64.. {
                let body = format!("w{writer}-{i}");
                let m = MessageExtBrokerInner::new("Crash", writer, body.clone().into_bytes());
                match store.put(m).await {
                    Ok(out) if out.status == PutStatus::PutOk => {
                        for a in out.appended {
                            let line =
                                format!("ACK {writer} {} {} {body}", a.queue_offset, a.phys_offset);
                            if tx.send(line).is_err() {
                                return;
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.send(format!("ERR {e}"));
                        return;
                    }
                }
            }
        });
    }
    drop(tx);
    let mut out = std::io::stdout().lock();
    while let Some(line) = rx.recv().await {
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(())
}
