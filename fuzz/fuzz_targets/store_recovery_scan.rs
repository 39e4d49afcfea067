//! The recovery/inspect scan over an arbitrary CommitLog file image: never
//! panics, and every record it accepts lies inside the file.
#![no_main]

use std::path::Path;

use basalt_store::inspect::{commit_log_bytes, CommitLogItem};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(items) = commit_log_bytes(Path::new("fuzz"), 0, &bytes) {
        for item in items {
            if let CommitLogItem::Record { phys, record } = item {
                assert!(phys as usize + record.total_size as usize <= data.len());
            }
        }
    }
});
