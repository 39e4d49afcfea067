//! `basalt inspect`: a read-only look at a store directory through
//! `basalt-store`'s inspect API, like raft-engine's `ctl`.

use anyhow::Context;
use basalt_store::inspect::{self, CommitLogItem};

use crate::cli::InspectArgs;

pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    let dir = &args.store_dir;
    if args.records {
        let mut files: Vec<_> = std::fs::read_dir(dir.join("commitlog"))
            .with_context(|| format!("cannot list {}/commitlog", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for file in files {
            for item in inspect::commit_log_file(&file)? {
                let CommitLogItem::Record { phys, record } = item else {
                    continue;
                };
                let props = record.properties();
                println!(
                    "phys={phys} topic={} queue={} queueOffset={} storeTimestamp={} tags={} keys={} uniqKey={} bodyLen={} properties={:?}",
                    record.topic,
                    record.queue_id,
                    record.queue_offset,
                    record.store_timestamp,
                    props.tags().unwrap_or(""),
                    props.get("KEYS").unwrap_or(""),
                    props.uniq_key().unwrap_or(""),
                    record.body.len(),
                    props.iter().collect::<Vec<_>>(),
                );
            }
        }
    }
    let report = inspect::check(dir)
        .with_context(|| format!("store at {} failed the check", dir.display()))?;
    println!(
        "ok: {} CommitLog file(s), {} record(s) with valid CRCs, {} ConsumeQueue entries pointing at records",
        report.commit_log_files, report.records, report.queue_entries
    );
    Ok(())
}
