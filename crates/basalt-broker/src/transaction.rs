//! Transactional messages (RocketMQ's `TransactionalMessageService`).
//!
//! A prepared message is stored as a *half* message in
//! `RMQ_SYS_TRANS_HALF_TOPIC` with its real topic and queue in properties.
//! END_TRANSACTION commits it (the real message is stored) or rolls it back;
//! either way an *op* message in `RMQ_SYS_TRANS_OP_HALF_TOPIC` (tag `d`,
//! body = the half's queue offset) marks it resolved. A checker asks a live
//! producer of the group (CHECK_TRANSACTION_STATE) about half messages left
//! unresolved longer than `transactionTimeOut` (or their own
//! `CHECK_IMMUNITY_TIME_IN_SECONDS`) since they were born, re-storing each
//! checked half with its check count raised; after `transactionCheckMax`
//! checks, or past `fileReservedTime`, the half goes to
//! `TRANS_CHECK_MAX_TIME_TOPIC`. An immune half not yet due is put back at
//! the queue's end and the pass goes on. Progress is kept, as in RocketMQ,
//! as consumer offsets of group `CID_RMQ_SYS_TRANS`: on the half queue the
//! scan point, on the op queue the first op still needed (one naming a
//! half at or past the scan point; every op before it is done). A restart
//! reads ops from there, not from the op queue's start, and holds in
//! memory only the halves the scan has not passed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use basalt_message::properties::{
    PRODUCER_GROUP, REAL_QID, REAL_TOPIC, TAGS, TRAN_MSG, UNIQ_KEY, WAIT,
};
use basalt_message::{
    encode_offset_msg_id, sysflag, BlankOrRecord, EncodeParams, MessageExtBrokerInner, Properties,
    Record,
};
use basalt_protocol::headers::transaction::CheckTransactionStateRequest;
use basalt_protocol::{RemotingCommand, RequestCode};
use basalt_store::Store;
use bytes::Bytes;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::clients::Clients;
use crate::offsets::Offsets;
use crate::topics::now_ms;
use crate::BrokerError;

pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
pub const OP_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
pub const CHECK_MAX_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
const SYSTEM_GROUP: &str = "CID_RMQ_SYS_TRANS";
const REMOVE_TAG: &str = "d";
const TRANSACTION_ID: &str = "__transactionId__";
pub const CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
const CHECK_IMMUNITY: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
const PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
const PASS_LIMIT: Duration = Duration::from_secs(60);

/// Checker settings (`transactionCheckInterval`, `transactionTimeOut`,
/// `transactionCheckMax` of broker.conf), read from the broker's current
/// settings at each pass, so updateBrokerConfig applies to the next one.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub interval: Duration,
    pub timeout: Duration,
    pub max_checks: i32,
    /// `fileReservedTime`, ms: older halves are parked unchecked.
    pub reserved_ms: u64,
}

impl CheckConfig {
    fn of(b: &crate::BrokerConfig, s: &basalt_store::StoreConfig) -> Self {
        Self {
            interval: Duration::from_millis(b.transaction_check_interval.max(100)),
            timeout: Duration::from_millis(b.transaction_time_out),
            max_checks: b.transaction_check_max,
            reserved_ms: s.file_reserved_time.saturating_mul(3_600_000),
        }
    }
}

/// Turns a prepared message into its half message, in place.
pub fn to_half(msg: &mut MessageExtBrokerInner) {
    msg.properties.insert(REAL_TOPIC, msg.topic.clone());
    msg.properties.insert(REAL_QID, msg.queue_id.to_string());
    if let Some(uniq) = msg.properties.get(UNIQ_KEY).map(str::to_owned) {
        msg.properties.insert(TRANSACTION_ID, uniq);
    }
    msg.sys_flag &= !sysflag::TRANSACTION_MASK;
    msg.topic = HALF_TOPIC.to_owned();
    msg.queue_id = 0;
}

/// The op message marking `half_queue_offset` resolved.
pub fn op_message(
    half_queue_offset: u64,
    store_host: std::net::SocketAddr,
) -> MessageExtBrokerInner {
    let mut m = MessageExtBrokerInner::new(OP_TOPIC, 0, Bytes::from(half_queue_offset.to_string()));
    m.properties.insert(TAGS, REMOVE_TAG);
    m.properties.insert(WAIT, "false");
    m.store_host = store_host;
    m.born_host = store_host;
    m.born_timestamp = now_ms();
    m
}

/// The committed message: the half's real topic and queue, commit type,
/// pointing back at the half record.
pub fn committed(half: &Record, commit_log_offset: i64) -> MessageExtBrokerInner {
    let mut m = crate::rebuild::to_real_destination(half, &[TRAN_MSG]);
    m.sys_flag = (m.sys_flag & !sysflag::TRANSACTION_MASK) | sysflag::TRANSACTION_COMMIT_TYPE;
    m.prepared_transaction_offset = commit_log_offset;
    m
}

/// The half record at `commit_log_offset`, checked against what the
/// producer claims about it.
pub fn find_half(
    store: &Store,
    commit_log_offset: i64,
    queue_offset: i64,
    group: &str,
) -> Result<Record, BrokerError> {
    let not_found = || {
        BrokerError::MessageNotFound(format!(
            "Find prepared transaction message failed, offset {commit_log_offset}"
        ))
    };
    let phys = u64::try_from(commit_log_offset).map_err(|_| not_found())?;
    let raw = store.message_at(phys).ok_or_else(not_found)?;
    let BlankOrRecord::Record(rec) = Store::decode(&raw)? else {
        return Err(not_found());
    };
    if rec.topic != HALF_TOPIC || rec.queue_offset != queue_offset {
        return Err(BrokerError::MessageNotFound(format!(
            "the transaction state table offset {queue_offset} does not match the prepared message"
        )));
    }
    if rec
        .properties()
        .get(PRODUCER_GROUP)
        .is_some_and(|g| g != group)
    {
        return Err(BrokerError::MessageNotFound(format!(
            "the producer group {group} does not match the prepared message"
        )));
    }
    Ok(*rec)
}

/// The checker's progress on `topic`'s queue 0 (0 when none was saved).
fn saved(offsets: &Offsets, topic: &str) -> u64 {
    offsets
        .query(SYSTEM_GROUP, topic, 0)
        .and_then(|o| u64::try_from(o).ok())
        .unwrap_or(0)
}

fn save(offsets: &Offsets, topic: &str, progress: u64) {
    let progress = i64::try_from(progress).unwrap_or(i64::MAX);
    offsets.commit(SYSTEM_GROUP, topic, 0, progress);
}

/// Scans half messages and asks producers about stale ones.
pub struct Checker {
    store: Store,
    offsets: Arc<Offsets>,
    clients: Arc<Clients>,
    settings: Arc<crate::settings::Settings>,
    broker_name: String,
    /// For the check-max topic, created on first use as RocketMQ does.
    topics: Arc<crate::topics::Topics>,
    reregister: Arc<crate::register::Reregister>,
    resolved: Mutex<Resolved>,
    /// Which of a group's producers the next check goes to.
    next_producer: AtomicUsize,
}

/// What a check pass does with an unresolved half.
enum Verdict {
    /// Not due: the pass ends here.
    Later,
    /// An immune copy whose first copy's op the pass has seen.
    Resolved,
    /// Due for a check-back.
    Check,
    /// Checked too often or too old: parked in the check-max topic.
    Discard,
    /// Immune for now: put back at the queue's end.
    Immune,
}

/// What the op queue has said so far.
struct Resolved {
    /// The next op queue offset to read.
    next_op: u64,
    /// Resolved half offsets at or past the scan point, each with the
    /// lowest op offset that named it.
    halves: BTreeMap<u64, u64>,
}

impl Resolved {
    /// The op offset to resume reading from: the lowest op still naming a
    /// half the scan has not passed, else the next unread one.
    fn op_progress(&self) -> u64 {
        self.halves.values().copied().min().unwrap_or(self.next_op)
    }
}

impl Checker {
    pub fn new(
        store: Store,
        offsets: Arc<Offsets>,
        clients: Arc<Clients>,
        settings: Arc<crate::settings::Settings>,
        broker_name: String,
        topics: Arc<crate::topics::Topics>,
        reregister: Arc<crate::register::Reregister>,
    ) -> Self {
        // Saved progress past the op queue's end (a crash lost ops it had
        // seen) would skip the ops written next. Built before the broker
        // serves, so the queue's end now is where the next op will go.
        let next_op = saved(&offsets, OP_TOPIC).min(store.max_offset(OP_TOPIC, 0));
        // The same for the half queue's scan point (RocketMQ moves an
        // invalid offset to the queue's max): the halves written next
        // would never be checked.
        let half_end = store.max_offset(HALF_TOPIC, 0);
        if saved(&offsets, HALF_TOPIC) > half_end {
            save(&offsets, HALF_TOPIC, half_end);
        }
        Self {
            store,
            offsets,
            clients,
            settings,
            broker_name,
            topics,
            reregister,
            resolved: Mutex::new(Resolved {
                next_op,
                halves: BTreeMap::new(),
            }),
            next_producer: AtomicUsize::new(0),
        }
    }

    fn config(&self) -> CheckConfig {
        CheckConfig::of(&self.settings.broker(), &self.settings.store())
    }

    /// The half queue's scan point: every half below it is settled.
    fn scan_point(&self) -> u64 {
        saved(&self.offsets, HALF_TOPIC).max(self.store.min_offset(HALF_TOPIC, 0))
    }

    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(self.config().interval) => {}
            }
            if let Err(e) = self.check_once().await {
                tracing::warn!(error = %e, "transaction check pass failed");
            }
        }
    }

    /// Reads op messages not seen yet; halves below the scan point are
    /// settled already and not kept.
    fn read_ops(&self, floor: u64) -> Result<(), BrokerError> {
        let mut guard = self.resolved.lock();
        loop {
            let from = guard.next_op.max(self.store.min_offset(OP_TOPIC, 0));
            let got = self.store.get(OP_TOPIC, 0, from, 256, 1 << 20);
            if got.messages.is_empty() {
                return Ok(());
            }
            for (raw, &op) in got.messages.iter().zip(&got.queue_offsets) {
                if let BlankOrRecord::Record(rec) = Store::decode(raw)? {
                    for part in String::from_utf8_lossy(&rec.body).split(',') {
                        match part.trim().parse::<u64>() {
                            Ok(half) if half >= floor => {
                                guard.halves.entry(half).or_insert(op);
                            }
                            _ => {}
                        }
                    }
                }
            }
            guard.next_op = got.next_begin_offset;
        }
    }

    /// One pass over the half queue from the saved offset.
    pub async fn check_once(&self) -> Result<(), BrokerError> {
        let mut offset = self.scan_point();
        self.read_ops(offset)?;
        let started = now_ms();
        let config = self.config();
        // RocketMQ's MAX_PROCESS_TIME_LIMIT: a pass ends after a minute
        // whatever is left (also if the clock steps back and copies made
        // by this pass stop looking fresh).
        let deadline = std::time::Instant::now() + PASS_LIMIT;
        loop {
            let got = self.store.get(HALF_TOPIC, 0, offset, 32, 4 << 20);
            if got.messages.is_empty() {
                break;
            }
            let mut stop = false;
            let mut failed = None;
            for (raw, qo) in got.messages.iter().zip(&got.queue_offsets) {
                if std::time::Instant::now() > deadline {
                    stop = true;
                    break;
                }
                let done = self.resolved.lock().halves.contains_key(qo);
                if !done {
                    let Some(rec) = crate::rebuild::record_or_skip(raw, HALF_TOPIC, *qo) else {
                        offset = qo + 1;
                        continue;
                    };
                    let props = rec.properties();
                    let step = match self.verdict(&config, &rec, &props, started) {
                        Verdict::Later => {
                            stop = true;
                            break;
                        }
                        Verdict::Resolved => Ok(()),
                        Verdict::Immune => self.renew_immune(&rec, props).await,
                        Verdict::Check => self.check_one(&rec, props).await,
                        Verdict::Discard => self.discard(&rec, props).await,
                    };
                    if let Err(e) = step {
                        failed = Some(e);
                        break;
                    }
                }
                offset = qo + 1;
            }
            // Progress up to the last half handled, also when a check
            // failed: the halves before it are not checked (and copied, and
            // possibly committed) twice; the failed one is retried.
            save(&self.offsets, HALF_TOPIC, offset);
            self.resolved
                .lock()
                .halves
                .retain(|half, _| *half >= offset);
            if let Some(e) = failed {
                let op_progress = self.resolved.lock().op_progress();
                save(&self.offsets, OP_TOPIC, op_progress);
                return Err(e);
            }
            if stop {
                break;
            }
        }
        let op_progress = self.resolved.lock().op_progress();
        save(&self.offsets, OP_TOPIC, op_progress);
        Ok(())
    }

    /// What the pass that started at `started` does with an unresolved
    /// half, in RocketMQ's order. Ages count from the producer's born
    /// time, so a copy re-stored by a check is due again at the next pass,
    /// not a whole timeout later.
    fn verdict(
        &self,
        config: &CheckConfig,
        rec: &Record,
        props: &Properties,
        started: i64,
    ) -> Verdict {
        let age = now_ms().saturating_sub(rec.born_timestamp);
        let checks = props
            .get(CHECK_TIMES)
            .and_then(|c| c.parse::<i32>().ok())
            .unwrap_or(0);
        // Past the check maximum, or older than the CommitLog keeps files.
        if checks >= config.max_checks || u64::try_from(age).is_ok_and(|a| a > config.reserved_ms) {
            return Verdict::Discard;
        }
        // Stored by this pass (a re-stored copy) or while it ran: the
        // next pass's.
        if rec.store_timestamp >= started {
            return Verdict::Later;
        }
        let timeout = i64::try_from(config.timeout.as_millis()).unwrap_or(i64::MAX);
        match props.get(CHECK_IMMUNITY) {
            Some(secs) => {
                // An unreadable or -1 immunity is the timeout, as RocketMQ
                // reads it.
                let immunity = match secs.trim().parse::<i64>() {
                    Ok(s) if s != -1 => s.saturating_mul(1000),
                    _ => timeout,
                };
                if age <= immunity {
                    // Not due yet: RocketMQ puts it back at the queue's end
                    // (remembering the first copy's offset) and goes on, so
                    // one long immunity does not hold the halves after it.
                    match props.get(PREPARED_QUEUE_OFFSET).map(str::trim) {
                        None => return Verdict::Immune,
                        Some(first) => match first.parse::<u64>() {
                            Ok(first) if self.resolved.lock().halves.contains_key(&first) => {
                                return Verdict::Resolved
                            }
                            Ok(_) => return Verdict::Immune,
                            Err(_) => {}
                        },
                    }
                }
                if age > immunity || age < 0 {
                    Verdict::Check
                } else {
                    Verdict::Later
                }
            }
            // Young halves (RocketMQ: "new arrived") end the pass; one
            // born in the future (a producer's clock ahead) is checked.
            None if (0..=timeout).contains(&age) => Verdict::Later,
            None => Verdict::Check,
        }
    }

    /// Puts an immune half back at the half queue's end with the offset of
    /// its first copy, which END_TRANSACTION and the op queue name. The
    /// check count stays: nobody was asked. (RocketMQ raises it for every
    /// put-back too, so there an immunity longer than `transactionCheckMax`
    /// passes ends in the check-max topic without a single check.)
    async fn renew_immune(&self, rec: &Record, mut props: Properties) -> Result<(), BrokerError> {
        if props.get(PREPARED_QUEUE_OFFSET).is_none() {
            props.insert(PREPARED_QUEUE_OFFSET, rec.queue_offset.to_string());
        }
        let copy = crate::rebuild::from_record(rec, HALF_TOPIC.to_owned(), 0, props);
        self.store.put(copy).await?;
        Ok(())
    }

    /// Parks a half in the check-max topic (RocketMQ's default
    /// `resolveDiscardMsg`), created on first use.
    async fn discard(&self, rec: &Record, props: Properties) -> Result<(), BrokerError> {
        tracing::warn!(
            offset = rec.queue_offset,
            checks = props.get(CHECK_TIMES).unwrap_or("0"),
            "transaction checked too often or too old; moved to {CHECK_MAX_TOPIC}"
        );
        if self.topics.ensure(CHECK_MAX_TOPIC, 1)? {
            self.reregister.notify_one();
        }
        let m = crate::rebuild::from_record(rec, CHECK_MAX_TOPIC.to_owned(), 0, props);
        self.store.put(m).await?;
        Ok(())
    }

    /// Re-stores the half with its check count raised and asks a producer
    /// about the copy.
    async fn check_one(&self, rec: &Record, mut props: Properties) -> Result<(), BrokerError> {
        let checks = props
            .get(CHECK_TIMES)
            .and_then(|c| c.parse::<i32>().ok())
            .unwrap_or(0);
        props.insert(CHECK_TIMES, (checks + 1).to_string());
        let group = props.get(PRODUCER_GROUP).unwrap_or_default().to_owned();
        let copy = crate::rebuild::from_record(rec, HALF_TOPIC.to_owned(), 0, props);
        let outcome = self.store.put(copy.clone()).await?;
        let Some(at) = outcome.appended.first() else {
            return Ok(());
        };
        // Round robin over the group's live producers, as RocketMQ's
        // `getAvailableChannel` does: one instance whose listener fails
        // must not get every check.
        let producers = self.clients.producer_group(&group);
        let turn = self.next_producer.fetch_add(1, Ordering::Relaxed);
        let Some(producer) = producers.get(turn % producers.len().max(1)) else {
            tracing::debug!(group = %group, "no live producer to check a transaction with");
            return Ok(());
        };
        // The body is the message as the producer will see it: real topic
        // and queue restored, offsets of the copy.
        let mut view = copy;
        view.topic = view
            .properties
            .get(REAL_TOPIC)
            .unwrap_or_default()
            .to_owned();
        view.queue_id = view
            .properties
            .get(REAL_QID)
            .and_then(|q| q.parse().ok())
            .unwrap_or(0);
        let queue_offset = i64::try_from(at.queue_offset).unwrap_or(i64::MAX);
        let phys = i64::try_from(at.phys_offset).unwrap_or(i64::MAX);
        let body = Record::encode(
            &view,
            EncodeParams {
                queue_offset,
                physical_offset: phys,
                store_timestamp: at.store_timestamp,
            },
        )?;
        let uniq = view.properties.get(UNIQ_KEY).unwrap_or_default().to_owned();
        let cmd = RemotingCommand::request(RequestCode::CheckTransactionState)
            .with_header(&CheckTransactionStateRequest {
                topic: view.topic.clone(),
                tran_state_table_offset: queue_offset,
                commit_log_offset: phys,
                msg_id: uniq.clone(),
                transaction_id: view
                    .properties
                    .get(TRANSACTION_ID)
                    .unwrap_or(&uniq)
                    .to_owned(),
                offset_msg_id: encode_offset_msg_id(view.store_host, phys),
                bname: Some(self.broker_name.clone()),
            })
            .with_body(body);
        if let Err(e) = producer.conn.send_oneway(cmd).await {
            tracing::debug!(error = %e, "check-back not delivered; next pass retries");
        }
        Ok(())
    }
}
