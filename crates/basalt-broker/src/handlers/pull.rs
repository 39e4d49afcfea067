//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), with long polling.
//!
//! Status mapping follows RocketMQ's `PullMessageProcessor`; a pull that
//! finds nothing new and carries the SUSPEND flag parks until the queue gets
//! a message, its `suspendTimeoutMillis` passes, or the client goes away,
//! then runs once more without suspending.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use basalt_message::java_string_hash;
use basalt_protocol::body::client::SubscriptionData;
use basalt_protocol::body::register::perm;
use basalt_protocol::headers::pull::{sys_flag, PullMessageRequest, PullMessageResponse};
use basalt_protocol::{RemotingCommand, ResponseCode};
use basalt_remoting::Request;
use basalt_store::{GetResult, GetStatus, Store};
use bytes::BytesMut;

use super::Outcome;
use crate::clients::Clients;
use crate::groups::Groups;
use crate::long_poll::Arrivals;
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
    pub arrivals: Arc<Arrivals>,
    pub broker_permission: i32,
    pub long_polling: bool,
    pub short_polling: Duration,
}

/// Which tag codes a pull accepts; `None` accepts everything.
struct TagFilter(Option<BTreeSet<i64>>);

impl TagFilter {
    fn from_sub(sub: &SubscriptionData) -> Self {
        let s = sub.sub_string.trim();
        if s.is_empty() || s == "*" {
            return Self(None);
        }
        let codes = if sub.code_set.is_empty() {
            parse_codes(s)
        } else {
            sub.code_set.iter().map(|c| i64::from(*c)).collect()
        };
        Self(Some(codes))
    }

    fn accepts(&self, tags_code: i64) -> bool {
        self.0.as_ref().is_none_or(|c| c.contains(&tags_code))
    }
}

fn parse_codes(expr: &str) -> BTreeSet<i64> {
    expr.split("||")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| i64::from(java_string_hash(t)))
        .collect()
}

pub async fn pull(s: Arc<PullState>, req: Request) -> Outcome {
    let h: PullMessageRequest = req.cmd.header()?;
    let filter = check(&s, &h)?;
    if h.sys_flag & sys_flag::COMMIT_OFFSET != 0 && h.commit_offset >= 0 {
        s.offsets
            .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    }
    let offset = u64::try_from(h.queue_offset).unwrap_or(0);
    let result = get(&s.store, &h, offset, &filter);
    let suspend = h.sys_flag & sys_flag::SUSPEND != 0;
    if !suspend || !is_not_found(&h, &result) {
        return Ok(respond(&h, result));
    }
    let timeout = if s.long_polling {
        Duration::from_millis(u64::try_from(h.suspend_timeout_millis).unwrap_or(0))
    } else {
        s.short_polling
    };
    let signal = s.arrivals.of(&h.topic, h.queue_id);
    let notified = signal.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    // Re-check after registering for the signal, so an append between the
    // first read and the registration is not missed.
    if s.store.max_offset(&h.topic, h.queue_id) <= offset {
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(timeout) => {}
            () = req.conn.closed() => return Ok(respond(&h, result)),
        }
    }
    Ok(respond(&h, get(&s.store, &h, offset, &filter)))
}

fn get(store: &Store, h: &PullMessageRequest, offset: u64, filter: &TagFilter) -> GetResult {
    let count = usize::try_from(h.max_msg_nums.clamp(1, MAX_TRANSFER_COUNT)).unwrap_or(1);
    let bytes = h
        .max_msg_bytes
        .and_then(|b| usize::try_from(b).ok())
        .filter(|b| *b > 0)
        .map_or(MAX_TRANSFER_BYTES, |b| b.min(MAX_TRANSFER_BYTES));
    store.get_filtered(&h.topic, h.queue_id, offset, count, bytes, &|code| {
        filter.accepts(code)
    })
}

fn check(s: &PullState, h: &PullMessageRequest) -> Result<TagFilter, BrokerError> {
    if s.broker_permission & perm::READ == 0 {
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
    if !expression_type.eq_ignore_ascii_case("TAG") {
        return Err(BrokerError::FilterUnsupported(format!(
            "The broker does not support consumer to filter message by {expression_type}"
        )));
    }
    if h.sys_flag & sys_flag::SUBSCRIPTION != 0 {
        let sub = SubscriptionData {
            sub_string: h.subscription.clone().unwrap_or_else(|| "*".into()),
            topic: h.topic.clone(),
            ..SubscriptionData::default()
        };
        return Ok(TagFilter::from_sub(&sub));
    }
    let sub = s
        .clients
        .subscription(&h.consumer_group, &h.topic)
        .ok_or_else(|| BrokerError::SubscriptionNotExist {
            group: h.consumer_group.clone(),
            topic: h.topic.clone(),
        })?;
    if sub.sub_version < h.sub_version {
        return Err(BrokerError::SubscriptionNotLatest {
            group: h.consumer_group.clone(),
            topic: h.topic.clone(),
        });
    }
    Ok(TagFilter::from_sub(&sub))
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

fn respond(h: &PullMessageRequest, r: GetResult) -> RemotingCommand {
    let code = status(h, &r);
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
