//! RECALL_MESSAGE (RocketMQ 5.3.2+'s `RecallMessageProcessor`): a producer
//! cancels a timer message it sent, before it is due, with the handle its
//! send result carried. The broker checks the handle is this broker's and
//! still ahead of its time, then stores a delete marker the timer honours
//! (see `timer`), due just after the message, so the cancellation
//! survives a restart.

use std::sync::Arc;

use basalt_message::properties::{PRODUCER_GROUP, TAGS, UNIQ_KEY};
use basalt_message::MessageExtBrokerInner;
use basalt_protocol::body::register::perm;
use basalt_protocol::headers::send::{RecallMessageRequest, RecallMessageResponse};
use basalt_protocol::{CommandHeader, RemotingCommand};
use basalt_remoting::Request;
use basalt_store::Store;
use bytes::Bytes;

use super::Outcome;
use crate::recall;
use crate::settings::Settings;
use crate::timer::{self, Timers};
use crate::topics::{now_ms, Topics};
use crate::BrokerError;

/// The tag RocketMQ gives delete markers.
const RECALL_TAG: &str = "_RECALL_TAG_";
const TRACE_CONTEXT: &str = "TRACE_CONTEXT";

pub struct RecallState {
    pub store: Store,
    pub topics: Arc<Topics>,
    pub settings: Arc<Settings>,
    pub timers: Arc<Timers>,
    pub broker_name: String,
    pub store_host: std::net::SocketAddr,
    pub region_id: String,
    /// `timerMaxDelaySec` as the broker started with it (sends read it so).
    pub timer_max_delay: std::time::Duration,
}

pub async fn recall(s: Arc<RecallState>, req: Request) -> Outcome {
    let h = RecallMessageRequest::decode(&req.cmd.ext_fields)?;
    // Read at each recall: updateBrokerConfig turns these on and off.
    let config = s.settings.broker();
    if !config.recall_message_enable {
        return Err(BrokerError::NoPermission(
            "recall failed, operation is forbidden".into(),
        ));
    }
    if s.settings.permission() & perm::WRITE == 0 && !config.allow_recall_when_broker_not_writeable
    {
        return Err(BrokerError::ServiceNotAvailable(
            "recall failed, broker service not available".into(),
        ));
    }
    if s.topics.get(&h.topic).is_none() {
        return Err(BrokerError::TopicNotExist(h.topic));
    }
    let handle =
        recall::parse(&h.recall_handle).map_err(|e| BrokerError::IllegalOperation(e.into()))?;
    if handle.topic != h.topic {
        return Err(BrokerError::IllegalOperation(
            "recall failed, topic not match".into(),
        ));
    }
    if handle.broker_name != s.broker_name {
        return Err(BrokerError::IllegalOperation(
            "recall failed, broker service not available".into(),
        ));
    }
    let max_ms = i64::try_from(s.timer_max_delay.as_millis()).unwrap_or(i64::MAX);
    // RocketMQ reads a bad number as -1: an invalid time.
    let at = handle.timestamp.parse::<i64>().unwrap_or(-1);
    let left = at.saturating_sub(now_ms());
    if left <= 0 || left >= max_ms {
        return Err(BrokerError::IllegalOperation(
            "recall failed, timestamp invalid".into(),
        ));
    }

    let key = recall::delete_key(&handle.topic, &handle.message_id);
    let mut marker = MessageExtBrokerInner::new(handle.topic.as_str(), 0, Bytes::from_static(b"0"));
    marker.properties.insert(TAGS, RECALL_TAG);
    marker.properties.insert(timer::DEL_UNIQKEY, key.as_str());
    marker
        .properties
        .insert(UNIQ_KEY, handle.message_id.as_str());
    marker
        .properties
        .insert(timer::DELIVER_MS, handle.timestamp.as_str());
    marker.properties.insert(TRACE_CONTEXT, "");
    if let Some(group) = &h.producer_group {
        marker.properties.insert(PRODUCER_GROUP, group.as_str());
    }
    marker.born_timestamp = now_ms();
    marker.born_host = req.conn.peer();
    marker.store_host = s.store_host;
    // Due a few milliseconds from now at least, as checked above; should
    // that time pass meanwhile, RocketMQ's answer to the failed put.
    let failed = |_| BrokerError::Failed("recall failed, execute error".into());
    timer::divert(&mut marker, s.timer_max_delay).map_err(failed)?;
    let stored = s.store.put(marker).await?;
    if let Some(at_offset) = stored.appended.first() {
        s.timers.cancel(key, at_offset.queue_offset, at);
    }

    let mut reply = RemotingCommand::success();
    reply.ext_fields.insert("MSG_REGION", &s.region_id);
    Ok(reply.with_header(&RecallMessageResponse {
        msg_id: handle.message_id,
    }))
}
