//! CONSUMER_SEND_MSG_BACK (36): a consumer hands back a message it could not
//! process. It is re-stored to `%RETRY%<group>` with a delay level
//! (`3 + reconsumeTimes` unless the consumer chose one) and its reconsume
//! count raised, or — past the group's maximum, or on request — to
//! `%DLQ%<group>`.

use std::sync::Arc;

use basalt_message::properties::{DELAY, WAIT};
use basalt_message::BlankOrRecord;
use basalt_protocol::body::register::perm;
use basalt_protocol::headers::send::ConsumerSendMsgBackRequest;
use basalt_protocol::{RemotingCommand, VERSION_V3_4_9};
use basalt_remoting::Request;
use basalt_store::Store;

use super::Outcome;
use crate::groups::Groups;
use crate::schedule::Schedule;
use crate::topics::{dlq_topic, retry_topic, Topics};
use crate::BrokerError;

/// Property naming the topic a retried message was first sent to.
pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
/// Property carrying the first delivery's message id.
pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";

pub struct SendBackState {
    pub store: Store,
    pub topics: Arc<Topics>,
    pub groups: Arc<Groups>,
    pub schedule: Arc<Schedule>,
    pub reregister: Arc<crate::register::Reregister>,
    pub store_host: std::net::SocketAddr,
    /// `brokerPermission` as it is now (updateBrokerConfig changes it).
    pub settings: Arc<crate::settings::Settings>,
}

pub async fn send_back(s: Arc<SendBackState>, req: Request) -> Outcome {
    // Its put would wait on the stuck write (RocketMQ refuses it too).
    super::send::page_cache_busy(&s.store)?;
    let h: ConsumerSendMsgBackRequest = req.cmd.header()?;
    let group = s
        .groups
        .find_or_create(&h.group)?
        .ok_or_else(|| BrokerError::GroupNotExist(h.group.clone()))?;
    if s.settings.permission() & perm::WRITE == 0 {
        return Err(BrokerError::NoPermission(
            "the broker sending message is forbidden".into(),
        ));
    }
    // A group without retry queues does not retry: the message is dropped
    // and the client told it went back (RocketMQ answers the same).
    if group.retry_queue_nums <= 0 {
        return Ok(RemotingCommand::success());
    }
    if !group.consume_enable {
        return Err(BrokerError::NoPermission(format!(
            "subscription group no permission, {}",
            h.group
        )));
    }
    let phys = u64::try_from(h.offset).map_err(|_| {
        BrokerError::InvalidParameter(format!("bad commit log offset {}", h.offset))
    })?;
    let raw = s.store.message_at(phys).ok_or_else(|| {
        BrokerError::MessageNotFound(format!("look message by offset failed, {}", h.offset))
    })?;
    let BlankOrRecord::Record(rec) = Store::decode(&raw)? else {
        return Err(BrokerError::MessageNotFound(format!(
            "no message at offset {}",
            h.offset
        )));
    };
    let mut props = rec.properties();
    if props.get(RETRY_TOPIC).is_none() {
        props.insert(RETRY_TOPIC, rec.topic.clone());
    }
    props.insert(WAIT, "false");
    let origin = h
        .origin_msg_id
        .clone()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| {
            basalt_message::encode_offset_msg_id(rec.store_host, rec.physical_offset)
        });
    props.insert(ORIGIN_MESSAGE_ID, origin);
    let max_reconsume = match h.max_reconsume_times {
        Some(m) if req.cmd.version >= VERSION_V3_4_9 => m,
        _ => group.retry_max_times,
    };
    let to_dlq = rec.reconsume_times >= max_reconsume || h.delay_level < 0;
    let (topic, queues) = if to_dlq {
        props.remove(DELAY);
        (dlq_topic(&h.group), 1)
    } else {
        let level = if h.delay_level == 0 {
            3 + rec.reconsume_times
        } else {
            h.delay_level
        };
        props.insert(DELAY, level.to_string());
        (retry_topic(&h.group), group.retry_queue_nums.max(1))
    };
    if s.topics.ensure(&topic, queues)? {
        s.reregister.notify_one();
    }
    let config = s
        .topics
        .get(&topic)
        .ok_or_else(|| BrokerError::TopicNotExist(topic.clone()))?;
    if config.perm & perm::WRITE == 0 {
        return Err(BrokerError::NoPermission(format!(
            "the topic[{topic}] sending message is forbidden"
        )));
    }
    let queue_id = crate::handlers::send::random_queue(config.write_queue_nums);
    let mut msg = crate::rebuild::from_record(&rec, topic, queue_id, props);
    msg.store_host = s.store_host;
    msg.reconsume_times = rec.reconsume_times + 1;
    msg.prepared_transaction_offset = 0;
    if !to_dlq {
        s.schedule.divert(&mut msg)?;
    }
    tracing::debug!(group = %h.group, dlq = to_dlq, topic = %msg.topic, "message sent back");
    s.store.put(msg).await?;
    Ok(RemotingCommand::success())
}
