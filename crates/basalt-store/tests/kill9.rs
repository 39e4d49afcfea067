use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use basalt_store::{FlushDiskType, Store};

use crate::common::*;

#[test]
fn every_acknowledged_record_survives_kill_9() {
    acknowledged_records_survive_kill_9(None);
}

/// Under ASYNC_FLUSH a record staged and committed in a burst is in the
/// page cache when it is acknowledged: a killed process loses none.
#[test]
fn every_acknowledged_burst_survives_kill_9_under_async_flush() {
    acknowledged_records_survive_kill_9(Some("async-burst"));
}

fn acknowledged_records_survive_kill_9(mode: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_basalt-store-crash-helper"))
        .arg(dir.path())
        .args(mode)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut acked = Vec::new();
    // Enough acks to cross several 64 KiB files, then SIGKILL mid-stream.
    while acked.len() < 3000 {
        let line = lines.next().expect("helper exited early").unwrap();
        assert!(!line.starts_with("ERR"), "{line}");
        acked.push(line);
    }
    child.kill().unwrap();
    // Acks already in the pipe were acknowledged before the kill.
    acked.extend(lines.map_while(Result::ok).filter(|l| l.starts_with("ACK")));
    child.wait().unwrap();
    assert!(dir.path().join("abort").exists());

    let store = Store::open(small_config(dir.path(), FlushDiskType::SyncFlush)).unwrap();
    for line in &acked {
        let f: Vec<&str> = line.split(' ').collect();
        let (queue, qo, phys, body) = (
            f[1].parse::<i32>().unwrap(),
            f[2].parse::<u64>().unwrap(),
            f[3].parse::<u64>().unwrap(),
            f[4],
        );
        let r = store.get("Crash", queue, qo, 1, 1 << 20);
        assert_eq!(r.messages.len(), 1, "acked record {line} missing");
        let rec = decode(&r.messages[0]);
        assert_eq!(rec.physical_offset as u64, phys);
        assert_eq!(&rec.body[..], body.as_bytes());
    }
    store.shutdown().unwrap();
}
