//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320).
//!
//! Checks follow RocketMQ's `AbstractSendMessageProcessor.msgCheck`:
//! broker writable, topic name valid and not internal, topic known (or
//! auto-created from the template), topic writable, queue id in range, body
//! within `maxMessageSize`. Then the store appends, and the flush outcome
//! becomes the send status.

use std::future::{ready, Ready};
use std::net::SocketAddr;
use std::sync::Arc;

use basalt_message::properties::{Pair, UNIQ_KEY, WAIT};
use basalt_message::{
    decode_batch, MessageExtBrokerInner, OffsetMsgId, Properties, UniqKeyGenerator,
};
use basalt_protocol::body::register::perm;
use basalt_protocol::headers::send::{SendHeader, SendMessageResponseRef};
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use basalt_remoting::{Reply, Request};
use basalt_store::{AppendResult, Appended, PutOutcome, PutStatus, Store};
use futures::future::{BoxFuture, Either};

use crate::groups::Groups;
use crate::schedule::Schedule;
use crate::topics::{self, dlq_topic, now_ms, SendView, Topics, RETRY_PREFIX};
use crate::BrokerError;

pub struct SendState {
    pub store: Store,
    pub topics: Arc<Topics>,
    pub reregister: Arc<crate::register::Reregister>,
    pub store_host: SocketAddr,
    /// The CLUSTER property every stored message gets.
    pub cluster: Pair,
    /// `brokerPermission` as it is now (updateBrokerConfig changes it).
    pub settings: Arc<crate::settings::Settings>,
    pub max_message_size: usize,
    pub uniq: UniqKeyGenerator,
    pub groups: Arc<Groups>,
    pub schedule: Arc<Schedule>,
    pub timer_max_delay: std::time::Duration,
    /// Orderly consumers' queue locks: a group holding one sends exhausted
    /// retries to its DLQ.
    pub locks: Arc<crate::locks::Locks>,
    /// `regionId` and `traceOn`, answered to every send.
    pub region_id: String,
    pub trace_on: &'static str,
    /// Written into timer messages' recall handles.
    pub broker_name: String,
}

/// What [`send`] returns: an answer ready at once, or a wait first.
pub type SendFuture =
    Either<Ready<Result<Reply, BrokerError>>, BoxFuture<'static, Result<Reply, BrokerError>>>;

/// Under SYNC_FLUSH the reply is held by the connection until the record
/// is durable (see `basalt_remoting::hold`); the handler does not wait.
///
/// Not an `async fn`: only a send that auto-creates its topic waits, and
/// an async fn's state (the request, its header, the message) was copied
/// by each wrapping future and boxed, a kilobyte per send.
pub fn send(s: Arc<SendState>, req: Request) -> SendFuture {
    if let Err(e) = page_cache_busy(&s.store) {
        return Either::Left(ready(Err(e)));
    }
    let code = req.cmd.request_code();
    let checked = SendHeader::decode(code, &req.cmd.ext_fields)
        .map_err(BrokerError::from)
        .and_then(|h| check(&s, &h).map(|(topic, created)| (h, topic, created)));
    match checked {
        Err(e) => Either::Left(ready(Err(e))),
        Ok((_, topic, true)) => Either::Right(Box::pin(async move {
            // Like Java, answer once the name servers know the new route,
            // so the client can subscribe to the topic it just created.
            s.reregister
                .registered(crate::register::REGISTER_WAIT)
                .await;
            // The header borrows the request: read again here, where the
            // request lives (it decoded above, so it decodes again).
            let h = SendHeader::decode(code, &req.cmd.ext_fields)?;
            // Outside the connection's burst: commit before answering
            // (also what a batch that failed part way wrote).
            let reply = store(&s, &req, h, topic);
            s.store.commit_staged()?;
            reply
        })),
        Ok((h, topic, false)) => Either::Left(ready(store(&s, &req, h, topic))),
    }
}

/// Builds the message of a checked send and appends it, staged: the
/// connection's burst hook commits it before the reply is written (see
/// `routes::router`).
fn store(
    s: &SendState,
    req: &Request,
    h: SendHeader<'_>,
    topic: SendView,
) -> Result<Reply, BrokerError> {
    let code = req.cmd.request_code();
    let queue_id = pick_queue(h.topic, topic, h.queue_id)?;
    let batch = code == RequestCode::SendBatchMessage || h.batch == Some(true);
    let base = message_of(s, req, &h, queue_id);
    let appended = if batch {
        if base.topic.starts_with(RETRY_PREFIX) {
            return Err(BrokerError::MessageIllegal(
                "batch request does not support retry group".into(),
            ));
        }
        let items = decode_batch(&req.cmd.body)
            .map_err(|e| BrokerError::MessageIllegal(format!("bad batch body: {e}")))?;
        if items.is_empty() {
            return Err(BrokerError::MessageIllegal("empty batch".into()));
        }
        // The wrapper's WAIT decides whether the batch waits for the flush.
        let wait = base.properties.get(WAIT).map(str::to_owned);
        let msgs = items
            .into_iter()
            .map(|item| {
                let mut m = base.clone();
                m.flag = item.flag;
                m.body = item.body;
                m.properties = item.properties;
                if let Some(w) = &wait {
                    m.properties.insert(WAIT, w.clone());
                }
                // No broker-made UNIQ_KEY in a batch (RocketMQ stores its
                // messages' properties as sent): the Go client sets none on
                // batch members, and its send result carries the offset ids
                // consumers must then see as the message ids.
                m.properties.insert_pair(&s.cluster);
                m
            })
            .collect::<Vec<_>>();
        if let Some(big) = msgs.iter().find(|m| m.body.len() > s.max_message_size) {
            return Err(too_large(big.body.len(), s.max_message_size));
        }
        // A batch that fails part way keeps what it staged; with no
        // reply to wait for it, it is committed here.
        s.store.stage_batch(&msgs).inspect_err(|_| {
            let _ = s.store.commit_staged();
        })?
    } else {
        if base.body.len() > s.max_message_size {
            return Err(too_large(base.body.len(), s.max_message_size));
        }
        let mut m = base;
        finish_properties(s, &mut m);
        if m.topic.starts_with(RETRY_PREFIX) {
            divert_exhausted_retry(s, &mut m, h.max_reconsume_times, req.cmd.version)?;
        }
        let mut recall = None;
        if is_prepared(m.sys_flag) {
            crate::transaction::to_half(&mut m);
        } else if m.properties.contains_any(&crate::timer::DEFERRING) {
            // Most sends are neither timers nor delayed: one pass over the
            // names settles both.
            if crate::timer::divert(&mut m, s.timer_max_delay)? {
                recall = crate::timer::recall_handle(&m, &s.broker_name);
            } else {
                s.schedule.divert(&mut m)?;
            }
        }
        let appended = s.store.stage(&m)?;
        let ids = Ids {
            uniq: m.properties.get(UNIQ_KEY),
            recall: recall.as_deref(),
        };
        return Ok(held(s, appended, queue_id, ids));
    };
    Ok(held(s, appended, queue_id, Ids::default()))
}

/// The ids a send's answer carries besides the offset message id.
#[derive(Default, Clone, Copy)]
struct Ids<'a> {
    /// The UNIQ_KEY (`transactionId`).
    uniq: Option<&'a str>,
    /// A timer message's recall handle.
    recall: Option<&'a str>,
}

fn held(s: &SendState, a: Appended, queue_id: i32, ids: Ids<'_>) -> Reply {
    let cmd = respond(s, &a.outcome, queue_id, ids);
    match (a.durable_at, a.commit_through) {
        (Some(until), _) => Reply::Held { cmd, until },
        (None, Some(end)) => Reply::Staged { cmd, end },
        (None, None) => Reply::Now(cmd),
    }
}

/// Refuses a send while a CommitLog write is stuck on the disk (RocketMQ's
/// `isOSPageCacheBusy` flow control): SYSTEM_BUSY sends a client to another
/// broker at once, instead of leaving it to wait out the disk.
pub(crate) fn page_cache_busy(store: &Store) -> Result<(), BrokerError> {
    if store.page_cache_busy() {
        return Err(BrokerError::SystemBusy(
            "[REJECTREQUEST]system busy, start flow control for a while".into(),
        ));
    }
    Ok(())
}

fn is_prepared(sys_flag: i32) -> bool {
    sys_flag & basalt_message::sysflag::TRANSACTION_MASK
        == basalt_message::sysflag::TRANSACTION_PREPARED_TYPE
}

/// A client that could not send a message back re-sends it to the retry
/// topic itself; past the group's maximum it belongs in the DLQ
/// (RocketMQ's `handleRetryAndDLQ`). So does any re-send of a group under
/// a live queue lock: Java's orderly consumers before 5.1.1 re-send an
/// exhausted message with reconsumeTimes equal to the maximum, not above
/// it, and consume their retry topic too, so it would come back forever.
fn divert_exhausted_retry(
    s: &SendState,
    m: &mut MessageExtBrokerInner,
    header_max: Option<i32>,
    version: i32,
) -> Result<(), BrokerError> {
    let group = m.topic.trim_start_matches(RETRY_PREFIX).to_owned();
    let Some(config) = s.groups.find_or_create(&group)? else {
        return Err(BrokerError::GroupNotExist(group));
    };
    let max = match header_max {
        Some(v) if version >= basalt_protocol::VERSION_V3_4_9 => v,
        _ => config.retry_max_times,
    };
    let orderly = !s.locks.all_expired(&group, tokio::time::Instant::now());
    if m.reconsume_times > max || orderly {
        let dlq = dlq_topic(&group);
        if s.topics.ensure(&dlq, 1)? {
            s.reregister.notify_one();
        }
        m.topic = dlq;
        m.queue_id = 0;
        m.properties.remove(basalt_message::properties::DELAY);
    }
    Ok(())
}

fn too_large(size: usize, max: usize) -> BrokerError {
    BrokerError::MessageIllegal(format!(
        "the message body size {size} is over the max message size {max}"
    ))
}

/// The message a send request carries, as sent: header fields, body, and
/// the connection's peer as born host.
pub(crate) fn message_of(
    s: &SendState,
    req: &Request,
    h: &SendHeader<'_>,
    queue_id: i32,
) -> MessageExtBrokerInner {
    MessageExtBrokerInner {
        properties: Properties::parse(h.properties.unwrap_or("")),
        topic: h.topic.to_owned(),
        queue_id,
        flag: h.flag,
        body: req.cmd.body.clone(),
        sys_flag: h.sys_flag,
        born_timestamp: h.born_timestamp,
        born_host: req.conn.peer(),
        store_host: s.store_host,
        reconsume_times: h.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
    }
}

/// Adds what the broker owns: a UNIQ_KEY if the producer sent none, and the
/// cluster name.
fn finish_properties(s: &SendState, m: &mut MessageExtBrokerInner) {
    if m.properties.get(UNIQ_KEY).is_none_or(str::is_empty) {
        m.properties.insert(UNIQ_KEY, s.uniq.next(now_ms()));
    }
    m.properties.insert_pair(&s.cluster);
}

pub(crate) fn check(s: &SendState, h: &SendHeader<'_>) -> Result<(SendView, bool), BrokerError> {
    if s.settings.permission() & perm::WRITE == 0 {
        return Err(BrokerError::NoPermission(format!(
            "the broker[{}] sending message is forbidden",
            s.store_host
        )));
    }
    topics::validate(h.topic)?;
    topics::check_send_allowed(h.topic)?;
    let mut fresh = false;
    let config = match s.topics.send_view(h.topic) {
        Some(c) => c,
        None => {
            let created = if h.topic.starts_with(RETRY_PREFIX) {
                s.topics.ensure(h.topic, 1)?;
                s.topics.get(h.topic)
            } else if s.settings.auto_create_topic() {
                let template = if h.default_topic.is_empty() {
                    topics::TBW102.into()
                } else {
                    String::from_utf8_lossy(h.default_topic)
                };
                s.topics
                    .create_from_template(h.topic, &template, h.default_topic_queue_nums)?
            } else {
                None
            };
            let Some(c) = created else {
                return Err(BrokerError::TopicNotExist(h.topic.to_owned()));
            };
            tracing::info!(topic = %h.topic, queues = c.write_queue_nums, "topic auto-created");
            fresh = true;
            SendView::of(&c)
        }
    };
    if config.perm & perm::WRITE == 0 {
        return Err(BrokerError::NoPermission(format!(
            "the topic[{}] sending message is forbidden",
            h.topic
        )));
    }
    Ok((config, fresh))
}

/// A queue id in `0..queues`, spread by the clock (the broker's choice for
/// sends that leave it open, and for retry/DLQ re-stores).
pub fn random_queue(queues: i32) -> i32 {
    let n = u128::from(queues.max(1).unsigned_abs());
    let pick = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % n);
    i32::try_from(pick).unwrap_or(0)
}

/// A negative queue id lets the broker choose; otherwise it must exist.
pub(crate) fn pick_queue(
    topic: &str,
    config: SendView,
    requested: i32,
) -> Result<i32, BrokerError> {
    let max = config.read_queue_nums.max(config.write_queue_nums);
    if requested < 0 {
        return Ok(random_queue(config.write_queue_nums));
    }
    if requested >= max {
        return Err(BrokerError::InvalidParameter(format!(
            "request queueId[{requested}] is illegal, topic[{}] read/write queue nums {}/{}",
            topic, config.read_queue_nums, config.write_queue_nums
        )));
    }
    Ok(requested)
}

fn respond(s: &SendState, outcome: &PutOutcome, queue_id: i32, ids: Ids<'_>) -> RemotingCommand {
    let code = match outcome.status {
        PutStatus::PutOk => ResponseCode::Success,
        PutStatus::FlushDiskTimeout => ResponseCode::FlushDiskTimeout,
    };
    let queue_offset = outcome
        .appended
        .first()
        .map_or(0, |a| i64::try_from(a.queue_offset).unwrap_or(i64::MAX));
    let id = |a: &AppendResult| OffsetMsgId::new(s.store_host, a.phys_offset as i64);
    let one;
    let joined;
    let msg_id = if let [a] = outcome.appended.as_slice() {
        one = id(a);
        one.as_str()
    } else {
        let mut ids = String::with_capacity(33 * outcome.appended.len());
        for (i, a) in outcome.appended.iter().enumerate() {
            if i > 0 {
                ids.push(',');
            }
            ids.push_str(id(a).as_str());
        }
        joined = ids;
        joined.as_str()
    };
    let mut reply = RemotingCommand::response(code, None);
    reply.ext_fields = basalt_protocol::ExtFields::with_capacity(6);
    // Upper-case keys sort first: inserted in key order, each is a push.
    reply.ext_fields.insert("MSG_REGION", &s.region_id);
    reply.ext_fields.insert("TRACE_ON", s.trace_on);
    SendMessageResponseRef {
        msg_id,
        queue_id,
        queue_offset,
        transaction_id: ids.uniq,
        recall_handle: ids.recall,
    }
    .encode(&mut reply.ext_fields);
    reply
}
