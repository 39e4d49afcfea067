//! Timer messages (RocketMQ 5.x): delivery at an arbitrary time, named by
//! `TIMER_DELIVER_MS` (absolute ms), `TIMER_DELAY_SEC` or `TIMER_DELAY_MS`
//! (RocketMQ's broker ignores the older `__STARTDELIVERTIME`, and so does
//! Basalt).
//!
//! Layout: the CommitLog is the timer log. A timer message is stored in
//! `rmq_sys_wheel_timer` queue 0 with `TIMER_OUT_MS`, `REAL_TOPIC` and
//! `REAL_QID`; an in-memory min-heap indexes pending deadlines and a
//! delivery task sleeps until the earliest one, so lateness is scheduling
//! latency, not a tick. Restart safety: each delivery batch appends a marker
//! to `rmq_sys_timer_done` (body: the delivered queue offsets), and
//! `timerProgress.json` keeps the low-water offset below which everything
//! is delivered; at start the heap is rebuilt from the timer queue above it,
//! minus the markers. Long delays need no rolling: the heap holds any
//! deadline up to `timerMaxDelaySec`.
//!
//! Deviation from Apache RocketMQ, on purpose: RocketMQ rounds a deadline
//! down to `timerPrecisionMs` (1 s), delivering up to a second early;
//! Basalt delivers at the deadline, never before it.
//!
//! Cancelling (RocketMQ's delete markers, which RECALL_MESSAGE writes): a
//! timer message carrying `TIMER_DEL_UNIQKEY` (`<topic>+<UNIQ_KEY>`, of its
//! own real topic) is never delivered itself; once it is indexed (or
//! recalled) the message it names is skipped when due, if that message was
//! stored before the marker and is due before it (RocketMQ cancels within
//! the marker's one-second slot; a message re-sent with the same UNIQ_KEY
//! after the recall is not cancelled). The marker is due just after the
//! message, so it is forgotten only once the message has come up; a
//! restart finds both in the timer queue (the marker's offset is above the
//! message's, so above the low water too) before either is due.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use basalt_message::properties::{DELAY, REAL_QID, REAL_TOPIC, UNIQ_KEY, WAIT};
use basalt_message::{BlankOrRecord, MessageExtBrokerInner};
use basalt_store::Store;
use bytes::Bytes;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::topics::now_ms;
use crate::BrokerError;

pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
pub const DONE_TOPIC: &str = "rmq_sys_timer_done";
/// The absolute time a timer message is due (also a recall marker's).
pub const DELIVER_MS: &str = "TIMER_DELIVER_MS";
const DELAY_SEC: &str = "TIMER_DELAY_SEC";
const DELAY_MS: &str = "TIMER_DELAY_MS";
const OUT_MS: &str = "TIMER_OUT_MS";
/// Names the timer message this one cancels (see the module doc).
pub const DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
/// The properties that ask for a timer; the first one set decides, in
/// this order (RocketMQ's HookUtils). `__STARTDELIVERTIME` is not one:
/// RocketMQ's broker reads it for metrics only and delivers at once.
const TIMER_KEYS: [&str; 3] = [DELAY_SEC, DELAY_MS, DELIVER_MS];
/// The properties that defer a message: a delay level or a timer.
pub const DEFERRING: [&str; 4] = [DELAY, DELAY_SEC, DELAY_MS, DELIVER_MS];
/// Timers re-stored per done marker.
const DELIVERY_BATCH: usize = 4096;
/// How often the low water is saved; the done markers, not this file,
/// are what keeps a restart from re-delivering.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// If `msg` is a timer message due in the future, redirects it into the
/// timer topic. A `DELAY` level wins over timer properties, as in RocketMQ.
pub fn divert(msg: &mut MessageExtBrokerInner, max_delay: Duration) -> Result<bool, BrokerError> {
    // Most sends carry none of these names: one pass over the names
    // settles that, instead of a lookup per name.
    if !msg.properties.contains_any(&DEFERRING) {
        return Ok(false);
    }
    if msg
        .properties
        .get(DELAY)
        .is_some_and(|d| d.trim().parse::<i32>().is_ok_and(|l| l > 0))
    {
        for k in [DELIVER_MS, DELAY_SEC, DELAY_MS] {
            msg.properties.remove(k);
        }
        return Ok(false);
    }
    // The clock is read only for a message that asks for a timer.
    let asked = TIMER_KEYS
        .into_iter()
        .find_map(|k| msg.properties.get(k).map(|v| (k, v)));
    let Some((key, raw)) = asked else {
        return Ok(false);
    };
    let value: i64 = raw
        .trim()
        .parse()
        .map_err(|_| BrokerError::MessageIllegal(format!("timer message has an invalid {key}")))?;
    let now = now_ms();
    let deadline = match key {
        DELAY_SEC => now.saturating_add(value.saturating_mul(1000)),
        DELAY_MS => now.saturating_add(value),
        _ => value,
    };
    if deadline <= now {
        // A cancellation past its time has nothing left to cancel, and
        // must not reach the topic as a message (RocketMQ refuses it too).
        if msg.properties.get(DEL_UNIQKEY).is_some() {
            return Err(BrokerError::MessageIllegal(
                "timer delete marker is past its time".into(),
            ));
        }
        return Ok(false);
    }
    let max_ms = i64::try_from(max_delay.as_millis()).unwrap_or(i64::MAX);
    if deadline - now > max_ms {
        return Err(BrokerError::MessageIllegal(format!(
            "timer message delay {} ms exceeds timerMaxDelaySec ({} s)",
            deadline - now,
            max_delay.as_secs()
        )));
    }
    msg.properties.insert(OUT_MS, deadline.to_string());
    msg.properties.insert(REAL_TOPIC, msg.topic.clone());
    msg.properties.insert(REAL_QID, msg.queue_id.to_string());
    msg.topic = TIMER_TOPIC.to_owned();
    msg.queue_id = 0;
    Ok(true)
}

/// The key a delete marker cancels, if `props` are a marker's that names
/// a message of its own real topic (a marker for another topic's message
/// cancels nothing).
fn marker_key(props: &basalt_message::Properties) -> Option<&str> {
    let key = props.get(DEL_UNIQKEY)?;
    let topic = props.get(REAL_TOPIC)?;
    key.strip_prefix(topic)?.starts_with('+').then_some(key)
}

/// The recall handle of a message [`divert`] took in (none for one whose
/// real topic is a retry topic, as in RocketMQ).
pub fn recall_handle(msg: &MessageExtBrokerInner, broker_name: &str) -> Option<String> {
    let topic = msg.properties.get(REAL_TOPIC)?;
    if topic.starts_with(crate::topics::RETRY_PREFIX) {
        return None;
    }
    let deadline = msg.properties.get(OUT_MS)?.parse::<i64>().ok()?;
    let uniq = msg.properties.get(UNIQ_KEY)?;
    Some(crate::recall::build(topic, broker_name, deadline, uniq))
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Progress {
    /// Every timer queue offset below this is delivered.
    low_water: u64,
    /// A store taken over from RocketMQ: its timer had delivered every
    /// message it had taken in (timer queue offsets below
    /// `delivered_below_offset`) that was due before `delivered_before_ms`
    /// (its `timercheck`'s read time and queue offset).
    #[serde(skip_serializing_if = "Option::is_none")]
    delivered_before_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivered_below_offset: Option<u64>,
}

/// RocketMQ's timer checkpoint (`config/timercheck`): the first long is the
/// time its wheel has read up to, the third the timer queue offset it has
/// taken in up to (TimerCheckpoint's layout).
fn rocketmq_timer_checkpoint(path: &std::path::Path) -> Option<(i64, u64)> {
    let bytes = std::fs::read(path.with_file_name("timercheck")).ok()?;
    let long = |at: usize| -> Option<i64> {
        let b: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
        Some(i64::from_be_bytes(b))
    };
    let read_ms = long(0).filter(|ms| *ms > 0)?;
    let queue_offset = u64::try_from(long(16)?).ok()?;
    Some((read_ms, queue_offset))
}

#[derive(Default)]
struct State {
    /// (deadline ms, timer queue offset, commit-log offset)
    heap: BinaryHeap<Reverse<(i64, u64, u64)>>,
    /// Queue offsets waiting in the heap.
    pending: BTreeSet<u64>,
    /// Queue offsets delivered (from done markers), above the low water.
    done: BTreeSet<u64>,
    /// Next timer queue offset to index.
    indexed_to: u64,
    /// Next done-marker offset to read.
    done_read_to: u64,
    /// See [`Progress::delivered_before_ms`].
    delivered_before_ms: Option<i64>,
    delivered_below_offset: Option<u64>,
    /// Cancelled timer messages by `<topic>+<UNIQ_KEY>`, until the marker
    /// that cancelled them has come up and is recorded delivered.
    cancelled: HashMap<String, Marker>,
}

/// Where a delete marker stands: it cancels the messages its key names
/// that were stored before it and are due before it.
#[derive(Debug, Clone, Copy)]
struct Marker {
    queue_offset: u64,
    deadline: i64,
}

/// What coming due did with a timer message.
enum Due {
    Delivered,
    /// Cancelled, or its record is gone: nothing to re-store.
    Skipped,
    /// A delete marker (key, timer queue offset): forgotten once this is
    /// recorded.
    Marker(String, u64),
}

pub struct Timers {
    store: Store,
    path: PathBuf,
    state: Mutex<State>,
    wake: Notify,
    store_host: std::net::SocketAddr,
    saved_at: Mutex<std::time::Instant>,
}

impl Timers {
    pub fn load(
        path: PathBuf,
        store: Store,
        store_host: std::net::SocketAddr,
    ) -> Result<Self, BrokerError> {
        let progress = match basalt_jsonfile::load::<Progress>(&path)? {
            Some(p) => p,
            // First start on this store: if RocketMQ ran it, its timer
            // delivered what was due before its read time; those messages
            // are still in the timer queue and must not go out again.
            None => {
                let java = rocketmq_timer_checkpoint(&path);
                Progress {
                    low_water: 0,
                    delivered_before_ms: java.map(|(ms, _)| ms),
                    delivered_below_offset: java.map(|(_, qo)| qo),
                }
            }
        };
        if let Some(ms) = progress.delivered_before_ms {
            tracing::info!(
                before_ms = ms,
                "timer messages RocketMQ delivered are skipped"
            );
        }
        let state = State {
            indexed_to: progress.low_water,
            delivered_before_ms: progress.delivered_before_ms,
            delivered_below_offset: progress.delivered_below_offset,
            ..State::default()
        };
        Ok(Self {
            store,
            path,
            state: Mutex::new(state),
            wake: Notify::new(),
            store_host,
            saved_at: Mutex::new(std::time::Instant::now()),
        })
    }

    /// Pending timers (for metrics and tests).
    pub fn pending(&self) -> usize {
        self.state.lock().pending.len()
    }

    /// Cancels the timer message `key` names (`<topic>+<UNIQ_KEY>`) at
    /// once, for the marker just stored at timer queue offset
    /// `queue_offset`, due at `deadline` (indexing it later finds the same;
    /// a restart learns of the cancellation from it). A marker already due
    /// may have come up: it is left to indexing, which forgets it again.
    pub fn cancel(&self, key: String, queue_offset: u64, deadline: i64) {
        if deadline > now_ms() {
            self.state.lock().cancelled.insert(
                key,
                Marker {
                    queue_offset,
                    deadline,
                },
            );
        }
    }

    /// Indexes and delivers until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let arrived = self.store.arrival_signal(TIMER_TOPIC, 0);
        loop {
            let notified = arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Err(e) = self.index() {
                tracing::warn!(error = %e, "timer indexing failed; will retry");
            }
            let failed = match self.deliver_due().await {
                Ok(()) => false,
                Err(e) => {
                    tracing::warn!(error = %e, "timer delivery failed; will retry");
                    true
                }
            };
            let next = self.state.lock().heap.peek().map(|Reverse((d, _, _))| *d);
            let wait = next.map_or(Duration::from_secs(1), |d| {
                Duration::from_millis(u64::try_from(d.saturating_sub(now_ms())).unwrap_or(0))
                    .min(Duration::from_secs(1))
            });
            // What failed is due again at once: retried a second later, not
            // in a loop (a full disk clears on its own, slowly).
            let wait = if failed { Duration::from_secs(1) } else { wait };
            tokio::select! {
                () = stop.cancelled() => break,
                () = &mut notified => {}
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        if let Err(e) = self.persist() {
            tracing::error!(error = %e, "cannot persist timer progress at shutdown");
        }
    }

    /// Reads new done markers and new timer messages into the heap.
    fn index(&self) -> Result<(), BrokerError> {
        let mut st = self.state.lock();
        loop {
            let from = st.done_read_to.max(self.store.min_offset(DONE_TOPIC, 0));
            let got = self.store.get(DONE_TOPIC, 0, from, 256, 1 << 20);
            if got.messages.is_empty() {
                break;
            }
            for raw in &got.messages {
                if let BlankOrRecord::Record(rec) = Store::decode(raw)? {
                    let body = String::from_utf8_lossy(&rec.body).into_owned();
                    st.done
                        .extend(body.split(',').filter_map(|p| p.trim().parse::<u64>().ok()));
                }
            }
            st.done_read_to = got.next_begin_offset;
        }
        loop {
            let from = st.indexed_to.max(self.store.min_offset(TIMER_TOPIC, 0));
            let got = self.store.get(TIMER_TOPIC, 0, from, 256, 4 << 20);
            if got.messages.is_empty() {
                break;
            }
            for (raw, qo) in got.messages.iter().zip(&got.queue_offsets) {
                if st.done.contains(qo) || st.pending.contains(qo) {
                    continue;
                }
                let BlankOrRecord::Record(rec) = Store::decode(raw)? else {
                    continue;
                };
                let deadline = rec
                    .properties()
                    .get(OUT_MS)
                    .and_then(|d| d.parse::<i64>().ok())
                    .unwrap_or(0);
                let by_rocketmq = st
                    .delivered_before_ms
                    .is_some_and(|before| deadline < before)
                    && st.delivered_below_offset.is_some_and(|below| *qo < below);
                if by_rocketmq {
                    continue;
                }
                if let Some(key) = marker_key(&rec.properties()) {
                    let marker = Marker {
                        queue_offset: *qo,
                        deadline,
                    };
                    st.cancelled.insert(key.to_owned(), marker);
                }
                let phys = u64::try_from(rec.physical_offset).unwrap_or(0);
                st.heap.push(Reverse((deadline, *qo, phys)));
                st.pending.insert(*qo);
            }
            st.indexed_to = got.next_begin_offset;
        }
        Ok(())
    }

    /// Re-stores every due timer message to its real topic, then records
    /// the batch as delivered. What a failure leaves undelivered (or
    /// delivered but not recorded) goes back into the heap: it is retried,
    /// at worst delivered twice, never dropped.
    async fn deliver_due(&self) -> Result<(), BrokerError> {
        let now = now_ms();
        let due: Vec<(i64, u64, u64)> = {
            let mut st = self.state.lock();
            let mut out = Vec::new();
            while let Some(Reverse(entry)) = st.heap.peek().copied() {
                if entry.0 > now || out.len() >= DELIVERY_BATCH {
                    break;
                }
                st.heap.pop();
                out.push(entry);
            }
            out
        };
        if due.is_empty() {
            return Ok(());
        }
        let mut delivered = Vec::with_capacity(due.len());
        let mut markers = Vec::new();
        let mut failure = None;
        for &entry in &due {
            match self.deliver(entry).await {
                Ok(Due::Marker(key, qo)) => markers.push((key, qo)),
                Ok(Due::Delivered | Due::Skipped) => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            delivered.push(entry.1);
        }
        let recorded = if delivered.is_empty() {
            Ok(())
        } else {
            self.record_done(&delivered, now).await
        };
        let kept = if recorded.is_ok() { delivered.len() } else { 0 };
        if recorded.is_ok() && !markers.is_empty() {
            // Only now: a batch that goes back into the heap brings the
            // messages these cancel back too.
            let mut st = self.state.lock();
            for (key, qo) in &markers {
                // A later recall of the same message is its own marker's.
                if st.cancelled.get(key).is_some_and(|m| m.queue_offset == *qo) {
                    st.cancelled.remove(key);
                }
            }
        }
        if kept < due.len() {
            let mut st = self.state.lock();
            st.heap.extend(due.iter().skip(kept).copied().map(Reverse));
        }
        if let Some(e) = failure {
            return Err(e);
        }
        recorded
    }

    /// Re-stores the due timer message `(deadline, queue offset, phys)` to
    /// its real topic, unless it is cancelled, a delete marker, or gone.
    async fn deliver(&self, (deadline, qo, phys): (i64, u64, u64)) -> Result<Due, BrokerError> {
        let Some(raw) = self.store.message_at(phys) else {
            return Ok(Due::Skipped);
        };
        let BlankOrRecord::Record(rec) = Store::decode(&raw)? else {
            return Ok(Due::Skipped);
        };
        let props = rec.properties();
        if props.get(DEL_UNIQKEY).is_some() {
            return Ok(match marker_key(&props) {
                Some(key) => Due::Marker(key.to_owned(), qo),
                None => Due::Skipped,
            });
        }
        let named = props
            .get(REAL_TOPIC)
            .zip(props.get(UNIQ_KEY))
            .map(|(topic, uniq)| crate::recall::delete_key(topic, uniq));
        let cancelled = named.is_some_and(|key| {
            self.state
                .lock()
                .cancelled
                .get(&key)
                .is_some_and(|m| qo < m.queue_offset && deadline < m.deadline)
        });
        if cancelled {
            tracing::debug!(phys, "timer message cancelled; not delivered");
            return Ok(Due::Skipped);
        }
        let msg =
            crate::rebuild::to_real_destination(&rec, &[OUT_MS, DELIVER_MS, DELAY_SEC, DELAY_MS]);
        self.store.put(msg).await?;
        Ok(Due::Delivered)
    }

    /// Stores a done marker for `delivered` and moves them from pending to
    /// done; saves progress now and then.
    async fn record_done(&self, delivered: &[u64], now: i64) -> Result<(), BrokerError> {
        let body = delivered
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let mut marker = MessageExtBrokerInner::new(DONE_TOPIC, 0, Bytes::from(body));
        marker.store_host = self.store_host;
        marker.born_host = self.store_host;
        marker.born_timestamp = now;
        marker.properties.insert(WAIT, "false");
        self.store.put(marker).await?;
        {
            let mut st = self.state.lock();
            for qo in delivered {
                st.pending.remove(qo);
                st.done.insert(*qo);
            }
        }
        let due_to_save = {
            let mut at = self.saved_at.lock();
            let due = at.elapsed() >= PROGRESS_EVERY;
            if due {
                *at = std::time::Instant::now();
            }
            due
        };
        // The marker is what counts; a progress file not saved now is
        // saved on a later round (or at shutdown).
        if due_to_save {
            if let Err(e) = self.persist() {
                tracing::warn!(error = %e, "cannot persist timer progress; will retry");
            }
        }
        Ok(())
    }

    /// Saves the low water: the smallest pending offset, or everything
    /// indexed when nothing is pending.
    fn persist(&self) -> Result<(), BrokerError> {
        let (low_water, delivered_before_ms, delivered_below_offset) = {
            let mut st = self.state.lock();
            let low = st.pending.first().copied().unwrap_or(st.indexed_to);
            st.done.retain(|o| *o >= low);
            (low, st.delivered_before_ms, st.delivered_below_offset)
        };
        Ok(basalt_jsonfile::persist(
            &self.path,
            &Progress {
                low_water,
                delivered_before_ms,
                delivered_below_offset,
            },
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(props: &[(&str, String)]) -> MessageExtBrokerInner {
        let mut m = MessageExtBrokerInner::new("T", 2, Bytes::from_static(b"x"));
        for (k, v) in props {
            m.properties.insert(*k, v.clone());
        }
        m
    }

    /// A disk whose usage the test sets.
    #[derive(Debug, Default)]
    struct Gauge(std::sync::atomic::AtomicU64);

    impl basalt_store::Disk for Gauge {
        fn usage(&self, _: &std::path::Path) -> std::io::Result<basalt_store::DiskUsage> {
            let used = self.0.load(std::sync::atomic::Ordering::Relaxed);
            Ok(basalt_store::DiskUsage {
                total: 100,
                free: 100 - used,
                available: 100 - used,
            })
        }
    }

    const HOST: &str = "127.0.0.1:10911";

    /// A store in `dir` on a disk whose usage the test sets, and its timers.
    fn timers_over_a_gauge(dir: &std::path::Path) -> (Store, Arc<Gauge>, Timers) {
        let gauge = Arc::new(Gauge::default());
        let config = basalt_store::StoreConfig::with_root(dir.join("store"));
        let store = Store::open_with_disk(config, Arc::clone(&gauge) as _).unwrap();
        let host = HOST.parse().unwrap();
        let timers = Timers::load(dir.join("timer.json"), store.clone(), host).unwrap();
        (store, gauge, timers)
    }

    /// Stores a timer message (queue 2 of `T`) with `props`, due at `out`.
    async fn put_due(store: &Store, mut props: Vec<(&str, String)>, out: i64) {
        props.push((DELAY_SEC, "1".into()));
        let mut m = msg(&props);
        assert!(divert(&mut m, Duration::from_secs(60)).unwrap());
        m.properties.insert(OUT_MS, out.to_string());
        m.born_host = HOST.parse().unwrap();
        m.store_host = m.born_host;
        store.put(m).await.unwrap();
    }

    fn disk_used(store: &Store, gauge: &Gauge, percent: u64) {
        gauge.0.store(percent, std::sync::atomic::Ordering::Relaxed);
        store.refresh_disk_state();
    }

    /// A due message and the marker cancelling it go back into the heap
    /// together when their batch cannot be recorded: the message must
    /// still be cancelled on the next round.
    #[tokio::test]
    async fn a_cancellation_outlasts_a_batch_that_could_not_be_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let (store, gauge, timers) = timers_over_a_gauge(dir.path());
        let due_at = now_ms() - 2;
        for (props, out) in [
            (vec![(UNIQ_KEY, "U1".to_owned())], due_at),
            (
                vec![
                    (UNIQ_KEY, "U1".to_owned()),
                    (DEL_UNIQKEY, "T+U1".to_owned()),
                ],
                due_at + 1,
            ),
        ] {
            put_due(&store, props, out).await;
        }
        timers.index().unwrap();

        disk_used(&store, &gauge, 95);
        assert!(timers.deliver_due().await.is_err());
        assert_eq!(timers.pending(), 2);

        disk_used(&store, &gauge, 10);
        timers.deliver_due().await.unwrap();
        assert_eq!(timers.pending(), 0);
        assert_eq!(
            store.max_offset("T", 2),
            0,
            "a cancelled message was delivered"
        );
        assert!(timers.state.lock().cancelled.is_empty());
        store.shutdown().unwrap();
    }

    #[tokio::test]
    async fn a_timer_whose_delivery_fails_is_delivered_once_the_store_takes_it() {
        let dir = tempfile::tempdir().unwrap();
        let (store, gauge, timers) = timers_over_a_gauge(dir.path());
        put_due(&store, Vec::new(), now_ms() - 1).await;
        timers.index().unwrap();

        // The disk fills: the due message cannot be re-stored.
        disk_used(&store, &gauge, 95);
        assert!(timers.deliver_due().await.is_err());
        assert_eq!(store.max_offset("T", 2), 0);
        assert_eq!(timers.pending(), 1);

        // Space returns: the next round delivers it (it used to have left
        // the heap for good, until a restart).
        disk_used(&store, &gauge, 10);
        timers.deliver_due().await.unwrap();
        assert_eq!(store.max_offset("T", 2), 1);
        assert_eq!(timers.pending(), 0);
        timers.deliver_due().await.unwrap();
        assert_eq!(store.max_offset("T", 2), 1, "delivered once");
        store.shutdown().unwrap();
    }

    /// A store taken over from RocketMQ: timer messages its timer already
    /// delivered (due before `timercheck`'s read time) are not delivered
    /// again, before or after a restart; later ones are.
    #[tokio::test]
    async fn timers_rocketmq_delivered_are_not_delivered_again() {
        let dir = tempfile::tempdir().unwrap();
        let config = basalt_store::StoreConfig::with_root(dir.path().join("store"));
        let store = Store::open(config).unwrap();
        let host = "127.0.0.1:10911".parse().unwrap();
        let now = now_ms();
        // The first is not due yet: it keeps the saved low water below the
        // others, so the restart reads them again.
        // The last was due long ago but RocketMQ had not taken it in yet.
        let messages = [
            (&b"later"[..], now + 3_600_000),
            (b"delivered by java", now - 60_000),
            (b"still due", now - 1_000),
            (b"not taken in", now - 50_000),
        ];
        for (body, out) in messages {
            let mut m = MessageExtBrokerInner::new(TIMER_TOPIC, 0, Bytes::from_static(body));
            m.properties.insert(REAL_TOPIC, "T");
            m.properties.insert(REAL_QID, "2");
            m.properties.insert(OUT_MS, out.to_string());
            m.born_host = host;
            m.store_host = host;
            store.put(m).await.unwrap();
        }
        let config_dir = dir.path().join("config");
        std::fs::create_dir_all(&config_dir).unwrap();
        let mut check = vec![0u8; 4096];
        check[..8].copy_from_slice(&(now - 30_000).to_be_bytes());
        // RocketMQ had taken in the timer queue up to offset 3 (exclusive).
        check[16..24].copy_from_slice(&3i64.to_be_bytes());
        std::fs::write(config_dir.join("timercheck"), &check).unwrap();
        let progress = config_dir.join("timerProgress.json");

        let timers = Timers::load(progress.clone(), store.clone(), host).unwrap();
        timers.index().unwrap();
        timers.deliver_due().await.unwrap();
        timers.persist().unwrap();
        let got = store.get("T", 2, 0, 10, usize::MAX);
        let bodies: Vec<_> = got
            .messages
            .iter()
            .filter_map(|raw| match Store::decode(raw) {
                Ok(BlankOrRecord::Record(r)) => Some(r.body.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            bodies,
            [
                Bytes::from_static(b"not taken in"),
                Bytes::from_static(b"still due")
            ]
        );

        // After a restart (its own progress file now), still skipped.
        let again = Timers::load(progress, store.clone(), host).unwrap();
        again.index().unwrap();
        again.deliver_due().await.unwrap();
        assert_eq!(store.max_offset("T", 2), 2);
        store.shutdown().unwrap();
    }

    #[test]
    fn divert_reads_every_timer_property_and_enforces_the_maximum() {
        let max = Duration::from_secs(3 * 86_400);
        let mut m = msg(&[(DELAY_SEC, "5".into())]);
        assert!(divert(&mut m, max).unwrap());
        assert_eq!(m.topic, TIMER_TOPIC);
        assert_eq!(m.properties.get(REAL_TOPIC), Some("T"));
        assert_eq!(m.properties.get(REAL_QID), Some("2"));
        let out: i64 = m.properties.get(OUT_MS).unwrap().parse().unwrap();
        assert!(out > now_ms() + 4_000);

        let mut m = msg(&[(DELIVER_MS, (now_ms() + 60_000).to_string())]);
        assert!(divert(&mut m, max).unwrap());
        let mut past = msg(&[(DELIVER_MS, (now_ms() - 1).to_string())]);
        assert!(
            !divert(&mut past, max).unwrap(),
            "due already: delivered normally"
        );
        let mut too_far = msg(&[(DELAY_SEC, (4 * 86_400).to_string())]);
        assert!(matches!(
            divert(&mut too_far, max),
            Err(BrokerError::MessageIllegal(_))
        ));
        let mut bad = msg(&[(DELAY_MS, "soon".into())]);
        assert!(divert(&mut bad, max).is_err());
        let mut level = msg(&[(DELAY, "3".into()), (DELAY_SEC, "5".into())]);
        assert!(!divert(&mut level, max).unwrap(), "a delay level wins");
        assert!(level.properties.get(DELAY_SEC).is_none());
    }
}
