//! Test helper for the kill -9 test: appends from several tasks into the
//! store at `argv[1]` and prints `ACK <queue> <queue_offset> <phys> <body>`
//! for each acknowledged record, until killed. By default each put waits
//! under SYNC_FLUSH; with `argv[2]` = `async-burst`, under ASYNC_FLUSH each
//! task stages bursts of records and acknowledges them after committing
//! the burst, as the broker answers a connection's burst of sends.

use std::io::Write;

use basalt_message::MessageExtBrokerInner;
use basalt_store::{FlushDiskType, PutStatus, Store, StoreConfig};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: basalt-store-crash-helper DIR")?;
    let bursts = std::env::args().nth(2).as_deref() == Some("async-burst");
    let config = StoreConfig {
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 100 * 20,
        flush_disk_type: if bursts {
            FlushDiskType::AsyncFlush
        } else {
            FlushDiskType::SyncFlush
        },
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
            let mut staged = Vec::new();
            for i in 0u64.. {
                let body = format!("w{writer}-{i}");
                let m = MessageExtBrokerInner::new("Crash", writer, body.clone().into_bytes());
                if bursts {
                    let ends = i % BURST == BURST - 1;
                    if !burst(&store, &tx, &mut staged, writer, m, ends) {
                        return;
                    }
                    if ends {
                        tokio::task::yield_now().await;
                    }
                    continue;
                }
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

/// Records staged per burst.
const BURST: u64 = 8;

/// Stages one record; the last of a burst (`ends`) commits the burst and
/// acknowledges it. False once acknowledging is over.
fn burst(
    store: &Store,
    tx: &tokio::sync::mpsc::UnboundedSender<String>,
    staged: &mut Vec<String>,
    writer: i32,
    m: MessageExtBrokerInner,
    ends: bool,
) -> bool {
    let body = String::from_utf8_lossy(&m.body).into_owned();
    match store.stage(&m) {
        Ok(a) => staged.extend(
            a.outcome
                .appended
                .into_iter()
                .map(|a| format!("ACK {writer} {} {} {body}", a.queue_offset, a.phys_offset)),
        ),
        Err(e) => {
            let _ = tx.send(format!("ERR {e}"));
            return false;
        }
    }
    if !ends {
        return true;
    }
    if let Err(e) = store.commit_staged() {
        let _ = tx.send(format!("ERR {e}"));
        return false;
    }
    staged.drain(..).all(|line| tx.send(line).is_ok())
}
