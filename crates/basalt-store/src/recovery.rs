//! Recovery at open: find the valid end of the CommitLog, apply the
//! [`RecoveryPolicy`] to invalid records, trim ConsumeQueues past the end and
//! re-dispatch the scanned window into queues and index (idempotently).
//!
//! After a clean shutdown (no `abort` file) the last three CommitLog files
//! are checked, as RocketMQ does. After a crash the scan starts at the last
//! file whose first record is not newer than the checkpoint's
//! `min(physicMsgTimestamp, logicsMsgTimestamp)`, so everything that might
//! not have been flushed is re-verified and re-dispatched.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use basalt_message::{sysflag, Record, MAGIC_CODE_V1, MAGIC_CODE_V2};
use bytes::Bytes;

use crate::checkpoint::CheckpointData;
use crate::config::RecoveryPolicy;
use crate::consume_queue::{ConsumeQueue, CqEntry};
use crate::error::{Result, StoreError};
use crate::scan::{step, Step};
use crate::segments::Segment;
use crate::store::Shared;
use crate::types::RecoveryReport;

fn whole(seg: &Segment) -> Option<Bytes> {
    seg.region.bytes(0, seg.wrote() as usize)
}

/// Is there a valid record after `pos` of `segs[i]` (or at the start of a
/// later file)? In this file only the next `window` bytes are searched: the
/// record after an invalid one starts within one maximum record size of it,
/// so the search costs the same whatever the file size.
fn valid_record_after(
    segs: &[Arc<Segment>],
    i: usize,
    pos: usize,
    check_crc: bool,
    window: usize,
    examined: &mut u64,
) -> bool {
    let v1 = MAGIC_CODE_V1.to_be_bytes();
    let v2 = MAGIC_CODE_V2.to_be_bytes();
    if let Some((seg, data)) = segs.get(i).and_then(|s| Some((s, whole(s)?))) {
        let stop = data
            .len()
            .saturating_sub(8)
            .min(pos.saturating_add(window).saturating_add(1));
        *examined += stop.saturating_sub(pos) as u64;
        for p in pos + 1..stop {
            let magic = data.get(p + 4..p + 8);
            if magic == Some(&v1[..]) || magic == Some(&v2[..]) {
                if let Step::Record(..) = step(&data, p, seg.start, check_crc) {
                    return true;
                }
            }
        }
    }
    segs.iter().skip(i + 1).any(|s| {
        whole(s).is_some_and(|d| matches!(step(&d, 0, s.start, check_crc), Step::Record(..)))
    })
}

/// Result of scanning the CommitLog.
struct Scan {
    end: u64,
    last_timestamp: i64,
    /// The end position's bytes are known to be zero already (up to the
    /// look-ahead window; bytes further on are not read, as in RocketMQ).
    clean: bool,
    /// Bytes read: the records walked plus the look-ahead after the last.
    examined: u64,
}

fn scan(s: &Shared, segs: &[Arc<Segment>], from: usize) -> Result<Scan> {
    let crc = s.config.check_crc_on_recover;
    let window = s.config.max_record_size();
    let mut out = Scan {
        end: segs.get(from).map_or(0, |seg| seg.start),
        last_timestamp: 0,
        clean: true,
        examined: 0,
    };
    for (i, seg) in segs.iter().enumerate().skip(from) {
        let Some(data) = whole(seg) else { continue };
        let mut pos = 0usize;
        loop {
            match step(&data, pos, seg.start, crc) {
                Step::Record(r) => {
                    pos += r.total_size as usize;
                    out.examined += r.total_size as u64;
                    out.last_timestamp = r.store_timestamp;
                    out.end = seg.start + pos as u64;
                }
                Step::Blank => {
                    out.examined += 8;
                    out.end = seg.start + seg.size();
                    break;
                }
                Step::End => {
                    // A zeroed header ends the data when nothing follows it:
                    // no later file has data and the next record would have
                    // started within the window. The rest of a (1 GiB) file
                    // is not read, so recovery costs what was written.
                    let ahead = data.get(pos..).unwrap_or_default();
                    let ahead = ahead.get(..window).unwrap_or(ahead);
                    out.examined += ahead.len() as u64;
                    let later_data = segs.iter().skip(i + 1).any(|l| {
                        whole(l)
                            .is_some_and(|d| d.get(..8).is_some_and(|h| h.iter().any(|b| *b != 0)))
                    });
                    if !later_data && ahead.iter().all(|b| *b == 0) {
                        return Ok(out);
                    }
                    let reason = "zeroed record header before more data".to_owned();
                    return invalid(s, segs, i, pos, reason, out);
                }
                Step::Invalid(reason) => return invalid(s, segs, i, pos, reason, out),
            }
        }
    }
    Ok(out)
}

fn invalid(
    s: &Shared,
    segs: &[Arc<Segment>],
    i: usize,
    pos: usize,
    reason: String,
    mut out: Scan,
) -> Result<Scan> {
    let seg = segs.get(i).ok_or(StoreError::Shutdown)?;
    let corrupt = || StoreError::Corrupt {
        file: seg.path().to_owned(),
        offset: pos as u64,
        reason: reason.clone(),
    };
    match s.config.recovery_policy {
        RecoveryPolicy::Strict => return Err(corrupt()),
        RecoveryPolicy::TruncateAtFirstInvalid => {}
        RecoveryPolicy::TruncateTornTail => {
            let crc = s.config.check_crc_on_recover;
            let window = s.config.max_record_size();
            if valid_record_after(segs, i, pos, crc, window, &mut out.examined) {
                return Err(corrupt());
            }
        }
    }
    tracing::warn!(file = %seg.path().display(), offset = pos, %reason, "truncating torn CommitLog tail");
    out.end = seg.start + pos as u64;
    out.clean = false;
    Ok(out)
}

/// Index of the file where an abnormal recovery starts.
fn crash_start(s: &Shared, segs: &[Arc<Segment>], cp: &CheckpointData) -> usize {
    let min_ts = cp.min_timestamp();
    if min_ts <= 0 {
        return 0;
    }
    for (i, seg) in segs.iter().enumerate().rev() {
        if let Some(ts) = s.commitlog.first_timestamp(seg) {
            if ts <= min_ts {
                return i;
            }
        }
    }
    0
}

pub(crate) fn recover(s: &Shared, crashed: bool, cp: &CheckpointData) -> Result<RecoveryReport> {
    let segs = s.commitlog.segments().snapshot();
    // Queues with no CommitLog at all: the log is elsewhere (a
    // storePathCommitLog not given, a wrong root), not gone. Recovering
    // would trim every queue to the empty log's end, deleting them.
    let queues = s.queues.all();
    if segs.is_empty() && queues.iter().any(|(_, _, cq)| cq.max_offset() > 0) {
        return Err(StoreError::Config(format!(
            "{} holds no CommitLog file but {} consume queues have entries: is storePathCommitLog (or storePathRootDir) pointing at the right place?",
            s.config.commit_log_dir().display(),
            queues.len()
        )));
    }
    let from = if crashed {
        crash_start(s, &segs, cp)
    } else {
        segs.len().saturating_sub(3)
    };
    if crashed {
        tracing::warn!(from_file = from, "abort marker found: abnormal recovery");
    }
    let scan = scan(s, &segs, from)?;
    let report = RecoveryReport {
        crashed,
        scan_start: segs.get(from).map_or(0, |seg| seg.start),
        end: scan.end,
        bytes_examined: scan.examined,
        truncated: !scan.clean,
    };
    tracing::info!(?report, "CommitLog recovered");
    s.commitlog.segments().truncate_from(scan.end, scan.clean)?;
    for (_, _, cq) in s.queues.all() {
        cq.truncate_beyond(scan.end)?;
    }
    if let Some(index) = &s.index {
        index.clamp_end(scan.end);
    }
    let window_start = report.scan_start;
    let min = s.commitlog.segments().min_offset();
    // A queue missing entries before the window is rebuilt from the
    // CommitLog's start. The window may already start there (a log of a
    // few files): the gap is then what retention took, and the pass that
    // allows it is the one that dispatches the records after it.
    if redispatch(s, window_start, scan.end, false)? {
        tracing::warn!("ConsumeQueue entries missing before the scan window; rebuilding from the CommitLog start");
        redispatch(s, min, scan.end, true)?;
    }
    let mut st = s.append.lock();
    for (topic, qid, cq) in s.queues.all() {
        crate::retention::correct_min_offset(&cq, &s.commitlog, min);
        let next = cq.max_offset();
        st.queue_offsets
            .entry(topic)
            .or_default()
            .insert(qid, crate::store::QueueSlot { next, cq });
    }
    st.last_store_timestamp = scan.last_timestamp;
    s.last_store_timestamp
        .store(scan.last_timestamp, Ordering::Release);
    drop(st);
    let root = &s.config.store_path_root_dir;
    let flushed = s
        .commitlog
        .segments()
        .flush(0)
        .map_err(|e| StoreError::io("flush after recovery", root, e))?;
    s.flush.publish(flushed);
    Ok(report)
}

/// Re-dispatches records in `from..to` into queues and index. Returns true
/// when a queue was missing entries before `from` (and `allow_gap` is false).
/// Records before the scan window are judged here too: a bad one is refused
/// with file and offset rather than silently skipped.
fn redispatch(s: &Shared, from: u64, to: u64, allow_gap: bool) -> Result<bool> {
    let crc = s.config.check_crc_on_recover;
    for seg in s.commitlog.segments().snapshot() {
        if seg.start + seg.size() <= from || seg.start >= to {
            continue;
        }
        let Some(data) = whole(&seg) else { continue };
        let mut pos = from.saturating_sub(seg.start) as usize;
        while seg.start + (pos as u64) < to {
            let r = match step(&data, pos, seg.start, crc) {
                Step::Record(r) => r,
                Step::Blank | Step::End => break,
                Step::Invalid(reason) => {
                    return Err(StoreError::Corrupt {
                        file: seg.path().to_owned(),
                        offset: pos as u64,
                        reason,
                    })
                }
            };
            let phys = seg.start + pos as u64;
            match dispatch(s, &r, phys, allow_gap)? {
                Dispatched::Done => {}
                Dispatched::Gap => return Ok(true),
                Dispatched::Misplaced(reason) => {
                    return Err(StoreError::Corrupt {
                        file: seg.path().to_owned(),
                        offset: pos as u64,
                        reason,
                    })
                }
            }
            pos += r.total_size as usize;
        }
    }
    Ok(false)
}

/// The fixed part of a record (IPv4 hosts, empty body, topic and
/// properties): a lower bound on any record's length.
const MIN_RECORD_LEN: u64 = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 4 + 8 + 4 + 1 + 2;

/// Refuses a queue gap the CommitLog cannot hold. Queue offsets follow the
/// log's order, so between the queue's last entry (or the log's start)
/// and this record there must be room for every record of the gap. A
/// larger one is a damaged QUEUEOFFSET (the CRC covers only the body),
/// which would otherwise pad the queue with fillers until the disk fills.
fn check_gap(cq: &ConsumeQueue, next: u64, qo: u64, phys: u64) -> std::result::Result<(), String> {
    let last = next
        .checked_sub(1)
        .and_then(|o| cq.entry(o))
        .and_then(|e| u64::try_from(e.phys_offset).ok());
    let room = phys.saturating_sub(last.unwrap_or(0)) / MIN_RECORD_LEN;
    if qo - next <= room {
        return Ok(());
    }
    Err(format!(
        "queue offset {qo} is {} past the queue's end {next}: more records than the CommitLog holds before this one",
        qo - next
    ))
}

/// What [`dispatch`] did with a record.
enum Dispatched {
    Done,
    /// Not written: its queue is missing earlier entries.
    Gap,
    /// Not written: it cannot be where its header puts it.
    Misplaced(String),
}

/// Puts one recovered record into its queue and the index.
fn dispatch(s: &Shared, r: &Record, phys: u64, allow_gap: bool) -> Result<Dispatched> {
    if s.deleted_record(&r.topic, phys) {
        return Ok(Dispatched::Done);
    }
    let props = r.properties();
    if sysflag::is_consumable(r.sys_flag) {
        let cq = s.queues.find_or_create(&r.topic, r.queue_id)?;
        let next = cq.max_offset();
        let qo = u64::try_from(r.queue_offset).unwrap_or(u64::MAX);
        if qo > next {
            if !allow_gap {
                return Ok(Dispatched::Gap);
            }
            if let Err(reason) = check_gap(&cq, next, qo, phys) {
                return Ok(Dispatched::Misplaced(reason));
            }
        }
        let entry = CqEntry {
            phys_offset: phys as i64,
            size: r.total_size,
            tags_code: s.delay_levels.cq_tags_code(
                &r.topic,
                props.tags(),
                &props,
                r.store_timestamp,
            ),
        };
        cq.put(qo, entry)?;
    }
    if let Some(index) = &s.index {
        index.add(
            &r.topic,
            crate::index::Indexed::of(&props),
            r.sys_flag,
            phys,
            r.store_timestamp,
        );
    }
    Ok(Dispatched::Done)
}
