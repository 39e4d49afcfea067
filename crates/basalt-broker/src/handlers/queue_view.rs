//! Queue views for admin tools and the console: QUERY_CONSUME_QUEUE (321,
//! `mqadmin queryCq`), QUERY_CONSUME_TIME_SPAN (303),
//! QUERY_SUBSCRIPTION_BY_CONSUMER (345) and GET_SYSTEM_TOPIC_LIST_FROM_BROKER
//! (305).

use basalt_protocol::body::client::{MessageQueue, SubscriptionData};
use basalt_protocol::body::tables::TopicList;
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::admin::{
    GroupTopicRequest, QueryConsumeQueueRequest, QuerySubscriptionRequest,
};
use basalt_protocol::{RemotingCommand, ResponseCode};
use basalt_remoting::Request;
use serde::Serialize;

use crate::handlers::admin::{mq, AdminState};
use crate::handlers::Outcome;
use crate::topics::{self, now_ms};
use crate::BrokerError;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsumeQueueData {
    physic_offset: i64,
    physic_size: i32,
    tags_code: i64,
    /// RocketMQ fills the next three from ConsumeQueue extension files only
    /// (`enableConsumeQueueExt`), which Basalt does not write.
    extend_data_json: Option<String>,
    bit_map: Option<String>,
    eval: bool,
    msg: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryConsumeQueueBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription_data: Option<SubscriptionData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter_data: Option<String>,
    queue_data: Vec<ConsumeQueueData>,
    max_queue_index: i64,
    min_queue_index: i64,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Up to `count` raw entries of one queue from `index`, and with a group
/// its subscription to the topic. The tool numbers the entries from
/// `index` on, so an index outside the queue gets none (with a remark),
/// not the nearest ones. RocketMQ then answers without a body, which its
/// own tool fails to decode; this answer keeps the body.
pub fn consume_queue(s: &AdminState, req: &Request) -> Outcome {
    let h: QueryConsumeQueueRequest = req.cmd.header()?;
    let count = usize::try_from(h.count).unwrap_or(0);
    let from = u64::try_from(h.index).ok();
    let Some(view) = s
        .store
        .queue_entries(&h.topic, h.queue_id, from.unwrap_or(0), count)
    else {
        return Ok(RemotingCommand::response(
            ResponseCode::SystemError,
            format!("{}@{} is not exist!", h.queue_id, h.topic),
        ));
    };
    let mut body = QueryConsumeQueueBody {
        subscription_data: None,
        filter_data: None,
        queue_data: Vec::new(),
        max_queue_index: to_i64(view.max_offset),
        min_queue_index: to_i64(view.min_offset),
    };
    if let Some(group) = h.consumer_group.as_deref() {
        body.subscription_data = s.clients.subscription(group, &h.topic);
        body.filter_data = Some(match &body.subscription_data {
            None => format!("{group}@{} is not online!", h.topic),
            Some(sub) => filter_data(group, sub),
        });
    }
    let mut reply = RemotingCommand::success();
    match from.filter(|f| (view.min_offset..view.max_offset).contains(f)) {
        Some(_) => {
            body.queue_data = view
                .entries
                .iter()
                .map(|(_, e)| ConsumeQueueData {
                    physic_offset: e.phys_offset,
                    physic_size: e.size,
                    tags_code: e.tags_code,
                    extend_data_json: None,
                    bit_map: None,
                    eval: false,
                    msg: None,
                })
                .collect();
        }
        None => {
            reply.remark = Some(format!(
                "Index {} of {}@{} is not exist!",
                h.index, h.queue_id, h.topic
            ));
        }
    }
    Ok(reply.with_body(serde_json::to_vec(&body).unwrap_or_default()))
}

/// RocketMQ's `ConsumerFilterData` as its tool prints it: kept for SQL92
/// subscriptions only, `null` for tag ones.
fn filter_data(group: &str, sub: &SubscriptionData) -> String {
    if sub.expression_type != "SQL92" {
        return "null".to_owned();
    }
    serde_json::json!({
        "consumerGroup": group,
        "topic": sub.topic,
        "expression": sub.sub_string,
        "expressionType": sub.expression_type,
        "clientVersion": sub.sub_version,
    })
    .to_string()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueTimeSpan {
    message_queue: MessageQueue,
    min_time_stamp: i64,
    max_time_stamp: i64,
    consume_time_stamp: i64,
    delay_time: i64,
}

/// Per write queue of a topic: the store times of its first and last
/// message, of the group's last consumed one, and how long the first
/// unconsumed one has waited. Times of messages the store no longer has
/// are -1, as in RocketMQ.
pub fn consume_time_span(s: &AdminState, req: &Request) -> Outcome {
    let h: GroupTopicRequest = req.cmd.header()?;
    let config = s
        .topics
        .get(&h.topic)
        .ok_or_else(|| BrokerError::TopicNotExist(h.topic.clone()))?;
    let time_at = |q: i32, offset: u64| s.store.store_timestamp(&h.topic, q, offset).unwrap_or(-1);
    let now = now_ms();
    let spans: Vec<QueueTimeSpan> = (0..config.write_queue_nums)
        .map(|q| {
            let min = s.store.min_offset(&h.topic, q);
            let max = s.store.max_offset(&h.topic, q);
            let min_time = time_at(q, min);
            let max_time = max.checked_sub(1).map_or(-1, |last| time_at(q, last));
            let consumed = s
                .offsets
                .query(&h.group, &h.topic, q)
                .and_then(|o| u64::try_from(o).ok());
            let consume_time = match consumed {
                Some(o) if o > 0 => time_at(q, o - 1),
                _ => min_time,
            };
            // Without an offset everything still stored is unconsumed
            // (RocketMQ reads the time at offset -1 there, i.e. none).
            let next = consumed.unwrap_or(min).max(min);
            let delay_time = if next < max {
                now.saturating_sub(time_at(q, next))
            } else {
                0
            };
            QueueTimeSpan {
                message_queue: mq(&h.topic, &s.broker_name, q),
                min_time_stamp: min_time,
                max_time_stamp: max_time,
                consume_time_stamp: consume_time,
                delay_time,
            }
        })
        .collect();
    let body = serde_json::json!({ "consumeTimeSpanSet": spans });
    Ok(RemotingCommand::success().with_body(body.to_string().into_bytes()))
}

/// The online group's subscription to a topic (`null` when it has none).
pub fn subscription(s: &AdminState, req: &Request) -> Outcome {
    let h: QuerySubscriptionRequest = req.cmd.header()?;
    let subscription_data = h
        .topic
        .as_deref()
        .and_then(|t| s.clients.subscription(&h.group, t));
    let body = serde_json::json!({
        "group": h.group,
        "topic": h.topic,
        "subscriptionData": subscription_data,
    });
    Ok(RemotingCommand::success().with_body(body.to_string().into_bytes()))
}

/// RocketMQ's set of system topics.
pub fn system_topics(_s: &AdminState, _req: &Request) -> Outcome {
    let body = TopicList {
        broker_addr: None,
        topic_list: topics::SYSTEM_TOPICS
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
    };
    Ok(RemotingCommand::success().with_body(body.encode()))
}
