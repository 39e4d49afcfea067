//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), with long polling.
//!
//! Status mapping follows RocketMQ's `PullMessageProcessor`; a pull that
//! finds nothing new and carries the SUSPEND flag parks until the queue gets
//! a message, its `suspendTimeoutMillis` passes, or the client goes away,
//! then runs once more without suspending.

use std::sync::Arc;
use std::time::Duration;

use basalt_filter::{Filter, SqlExpr, TagFilter};
use basalt_message::BlankOrRecord;
use basalt_protocol::body::register::perm;
use basalt_protocol::headers::pull::{sys_flag, PullMessageRequest, PullMessageResponse};
use basalt_protocol::{RemotingCommand, ResponseCode};
use basalt_remoting::Request;
use basalt_store::{GetResult, GetStatus, Store};
use bytes::BytesMut;

use super::Outcome;
use crate::clients::Clients;
use crate::groups::Groups;
use crate::offsets::Offsets;
use crate::topics::Topics;
use crate::BrokerError;

/// RocketMQ's `maxTransferCountOnMessageInMemory` / `...BytesOn...`.
const MAX_TRANSFER_COUNT: i32 = 32;
const MAX_TRANSFER_BYTES: usize = 256 * 1024;

pub struct PullState {
    pub store: Store,
    pub topics: Arc<Topics>,
    pub groups: Arc<Groups>,
    pub clients: Arc<Clients>,
    pub offsets: Arc<Offsets>,
    /// `brokerPermission` as it is now (updateBrokerConfig changes it).
    pub settings: Arc<crate::settings::Settings>,
    pub long_polling: bool,
    pub short_polling: Duration,
    /// `enablePropertyFilter`: serve SQL92 subscriptions.
    pub property_filter: bool,
    /// Messages got, per group and topic.
    pub stats: Arc<crate::stats::Stats>,
}

/// What a pull delivers: the tag codes the ConsumeQueue is pre-filtered
/// by, and for SQL92 subscriptions the expression each record's properties
/// must satisfy.
struct PullFilter {
    tags: TagFilter,
    sql: Option<SqlExpr>,
}

impl PullFilter {
    /// The tag codes come from the expression itself rather than the
    /// client's `codeSet`: they are the same hashes, and this way one parser
    /// serves heartbeat and pull-carried subscriptions alike.
    fn new(expression_type: &str, expression: &str) -> Result<Self, BrokerError> {
        match Filter::parse(expression_type, expression) {
            Ok(Filter::Tag(tags)) => Ok(Self { tags, sql: None }),
            Ok(Filter::Sql(sql)) => Ok(Self {
                tags: TagFilter::parse("*"),
                sql: Some(sql),
            }),
            Err(e) => Err(BrokerError::SubscriptionParse(e.to_string())),
        }
    }

    /// Whether it lets every message through (`*` or empty, tag type).
    fn takes_all(&self) -> bool {
        self.sql.is_none() && self.tags.is_all()
    }

    fn accepts_code(&self, tags_code: i64) -> bool {
        self.tags.matches_code(tags_code)
    }

    /// Applies the SQL92 expression to found records, as RocketMQ does after
    /// reading them; a record that cannot be decoded is not delivered.
    fn apply_sql(&self, r: &mut GetResult) {
        let Some(sql) = &self.sql else { return };
        let mut kept = Vec::with_capacity(r.messages.len());
        let mut offsets = Vec::with_capacity(r.messages.len());
        for (m, qo) in r.messages.iter().zip(&r.queue_offsets) {
            let Ok(BlankOrRecord::Record(rec)) = Store::decode(m) else {
                continue;
            };
            let props = rec.properties();
            if sql.evaluate(&|k| props.get(k)) {
                kept.push(m.clone());
                offsets.push(*qo);
            }
        }
        if kept.is_empty() && r.status == GetStatus::Found {
            r.status = GetStatus::NoMatchedMessage;
        }
        r.messages = kept;
        r.queue_offsets = offsets;
    }
}

pub async fn pull(s: Arc<PullState>, req: Request) -> Outcome {
    let h: PullMessageRequest = req.cmd.header()?;
    let filter = check(&s, &h)?;
    // An admin reset waiting for this queue moves the consumer there
    // (RocketMQ's OFFSET_RESET, answered PULL_OFFSET_MOVED); the offset the
    // pull carries is from before the reset and is not committed.
    if let Some(reset) = s
        .offsets
        .take_reset(&h.consumer_group, &h.topic, h.queue_id)
    {
        let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        return Ok(RemotingCommand::response(
            ResponseCode::PullOffsetMoved,
            "OFFSET_RESET".to_owned(),
        )
        .with_header(&PullMessageResponse {
            suggest_which_broker_id: 0,
            next_begin_offset: reset,
            min_offset: to_i64(s.store.min_offset(&h.topic, h.queue_id)),
            max_offset: to_i64(s.store.max_offset(&h.topic, h.queue_id)),
            topic_sys_flag: None,
            group_sys_flag: None,
        }));
    }
    if h.sys_flag & sys_flag::COMMIT_OFFSET != 0 && h.commit_offset >= 0 {
        s.offsets
            .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    }
    let offset = u64::try_from(h.queue_offset).unwrap_or(0);
    let result = get(&s.store, &h, offset, &filter);
    let suspend = h.sys_flag & sys_flag::SUSPEND != 0;
    if !suspend || !is_not_found(&h, &result) {
        return Ok(respond(&s, &h, result));
    }
    let timeout = if s.long_polling {
        Duration::from_millis(u64::try_from(h.suspend_timeout_millis).unwrap_or(0))
    } else {
        s.short_polling
    };
    let signal = s.store.arrival_signal(&h.topic, h.queue_id);
    let notified = signal.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    // Read again after registering for the signal, so an append between
    // the first read and the registration is not missed. Whether to wait
    // is decided by what a read returns, not by the queue's max offset:
    // entries can exist before their records are readable (staged; under
    // SYNC_FLUSH, not yet durable), and answering NOT_FOUND for those at
    // once had the client pull again at once, round after round, until
    // they were. The signal comes when they are.
    let again = get(&s.store, &h, offset, &filter);
    if !is_not_found(&h, &again) {
        return Ok(respond(&s, &h, again));
    }
    if s.store.max_offset(&h.topic, h.queue_id) > offset {
        s.store
            .notify_when_readable(&h.topic, h.queue_id, offset, Arc::clone(&signal));
    }
    tokio::select! {
        () = notified => {}
        () = tokio::time::sleep(timeout) => {}
        () = req.conn.closed() => return Ok(respond(&s, &h, again)),
    }
    Ok(respond(&s, &h, get(&s.store, &h, offset, &filter)))
}

fn get(store: &Store, h: &PullMessageRequest, offset: u64, filter: &PullFilter) -> GetResult {
    let count = usize::try_from(h.max_msg_nums.clamp(1, MAX_TRANSFER_COUNT)).unwrap_or(1);
    let bytes = h
        .max_msg_bytes
        .and_then(|b| usize::try_from(b).ok())
        .filter(|b| *b > 0)
        .map_or(MAX_TRANSFER_BYTES, |b| b.min(MAX_TRANSFER_BYTES));
    let mut r = store.get_filtered(&h.topic, h.queue_id, offset, count, bytes, &|code| {
        filter.accepts_code(code)
    });
    filter.apply_sql(&mut r);
    r
}

fn check(s: &PullState, h: &PullMessageRequest) -> Result<PullFilter, BrokerError> {
    if s.settings.permission() & perm::READ == 0 {
        return Err(BrokerError::NoPermission(
            "the broker pulling message is forbidden".into(),
        ));
    }
    let group = s
        .groups
        .find_or_create(&h.consumer_group)?
        .ok_or_else(|| BrokerError::GroupNotExist(h.consumer_group.clone()))?;
    if !group.consume_enable {
        return Err(BrokerError::NoPermission(format!(
            "subscription group no permission, {}",
            h.consumer_group
        )));
    }
    let topic = s
        .topics
        .get(&h.topic)
        .ok_or_else(|| BrokerError::TopicNotExist(h.topic.clone()))?;
    if topic.perm & perm::READ == 0 {
        return Err(BrokerError::NoPermission(format!(
            "the topic[{}] pulling message is forbidden",
            h.topic
        )));
    }
    if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
        return Err(BrokerError::InvalidParameter(format!(
            "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}]",
            h.queue_id, h.topic, topic.read_queue_nums
        )));
    }
    let expression_type = h.expression_type.as_deref().unwrap_or("TAG");
    let is_sql = !basalt_filter::is_tag_type(expression_type);
    if is_sql && !s.property_filter {
        return Err(BrokerError::FilterUnsupported(format!(
            "The broker does not support consumer to filter message by {expression_type}"
        )));
    }
    if h.sys_flag & sys_flag::SUBSCRIPTION != 0 {
        let expr = h.subscription.as_deref().unwrap_or("*");
        return PullFilter::new(expression_type, expr);
    }
    let sub = s
        .clients
        .subscription(&h.consumer_group, &h.topic)
        .ok_or_else(|| BrokerError::SubscriptionNotExist {
            group: h.consumer_group.clone(),
            topic: h.topic.clone(),
        })?;
    let filter = PullFilter::new(&sub.expression_type, &sub.sub_string);
    // Java refuses a pull newer than the stored subscription
    // (SUBSCRIPTION_NOT_LATEST) until a heartbeat brings the new version;
    // but the Java client raises the version on every rebalance and can
    // drop the heartbeat that carries it (a `tryLock` race with its
    // periodic heartbeat, apache/rocketmq#3434), and its consumer then
    // stalls for a heartbeat period, 30 s. A stored filter that takes
    // every message hides none a newer tag subscription wants, which the
    // client filters itself, so such a pull is served; a narrower stored
    // filter, or a SQL92 pull, is refused as in Java.
    let served_anyway = !is_sql && filter.as_ref().is_ok_and(PullFilter::takes_all);
    if sub.sub_version < h.sub_version && !served_anyway {
        return Err(BrokerError::SubscriptionNotLatest {
            group: h.consumer_group.clone(),
            topic: h.topic.clone(),
        });
    }
    filter
}

fn is_not_found(h: &PullMessageRequest, r: &GetResult) -> bool {
    status(h, r) == ResponseCode::PullNotFound
}

fn status(h: &PullMessageRequest, r: &GetResult) -> ResponseCode {
    match r.status {
        GetStatus::Found => ResponseCode::Success,
        GetStatus::NoMatchedMessage | GetStatus::MessageWasRemoving => {
            ResponseCode::PullRetryImmediately
        }
        GetStatus::NoMatchedLogicQueue | GetStatus::NoMessageInQueue if h.queue_offset != 0 => {
            ResponseCode::PullOffsetMoved
        }
        GetStatus::NoMatchedLogicQueue
        | GetStatus::NoMessageInQueue
        | GetStatus::OffsetFoundNull
        | GetStatus::OffsetOverflowOne => ResponseCode::PullNotFound,
        GetStatus::OffsetOverflowBadly | GetStatus::OffsetTooSmall => ResponseCode::PullOffsetMoved,
    }
}

fn status_name(s: GetStatus) -> &'static str {
    match s {
        GetStatus::Found => "FOUND",
        GetStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
        GetStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
        GetStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
        GetStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
        GetStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
        GetStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
        GetStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
        GetStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
    }
}

fn respond(s: &PullState, h: &PullMessageRequest, r: GetResult) -> RemotingCommand {
    let code = status(h, &r);
    if code == ResponseCode::Success {
        s.stats.got(&h.topic, &h.consumer_group, r.messages.len());
    }
    tracing::trace!(topic = %h.topic, queue = h.queue_id, offset = h.queue_offset, status = status_name(r.status), found = r.messages.len(), "pull");
    let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut reply = RemotingCommand::response(code, status_name(r.status).to_owned()).with_header(
        &PullMessageResponse {
            suggest_which_broker_id: 0,
            next_begin_offset: to_i64(r.next_begin_offset),
            min_offset: to_i64(r.min_offset),
            max_offset: to_i64(r.max_offset),
            topic_sys_flag: None,
            group_sys_flag: None,
        },
    );
    if code == ResponseCode::Success {
        let mut body = BytesMut::with_capacity(r.total_bytes());
        for m in &r.messages {
            body.extend_from_slice(m);
        }
        reply.body = body.freeze();
    }
    reply
}
