//! Consumer offsets and queue bounds: QUERY/UPDATE_CONSUMER_OFFSET,
//! GET_MAX/MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP, GET_EARLIEST_MSG_STORETIME.

use std::sync::Arc;

use basalt_protocol::headers::client::{
    OffsetResponse, QueryConsumerOffsetRequest, QueueRequest, SearchOffsetRequest,
    TimestampResponse, UpdateConsumerOffsetRequest,
};
use basalt_protocol::{RemotingCommand, ResponseCode};
use basalt_remoting::Request;
use basalt_store::Store;

use super::Outcome;
use crate::offsets::Offsets;

pub struct OffsetState {
    pub store: Store,
    pub offsets: Arc<Offsets>,
    pub groups: Arc<crate::groups::Groups>,
    pub topics: Arc<crate::topics::Topics>,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn offset_reply(offset: i64) -> RemotingCommand {
    RemotingCommand::success().with_header(&OffsetResponse { offset })
}

/// A stored offset, or — for a group that never committed one — 0 while the
/// queue still holds its first message, so a new group on a young topic
/// reads from the start (RocketMQ answers 0 while offset 0 is still in
/// memory; Basalt's approximation is "the queue was never trimmed").
pub fn query(s: &OffsetState, req: &Request) -> Outcome {
    let h: QueryConsumerOffsetRequest = req.cmd.header()?;
    if let Some(o) = s.offsets.query(&h.consumer_group, &h.topic, h.queue_id) {
        return Ok(offset_reply(o));
    }
    if h.set_zero_if_not_found != Some(false) && s.store.min_offset(&h.topic, h.queue_id) == 0 {
        return Ok(offset_reply(0));
    }
    Ok(RemotingCommand::response(
        ResponseCode::QueryNotFound,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first".to_owned(),
    ))
}

/// Commits an offset of a known group on a known topic (RocketMQ refuses
/// others: the table is persisted, and any client could fill it).
pub fn update(s: &OffsetState, req: &Request) -> Outcome {
    let h: UpdateConsumerOffsetRequest = req.cmd.header()?;
    if s.groups.get(&h.consumer_group).is_none() {
        return Err(crate::BrokerError::GroupNotExist(h.consumer_group));
    }
    if s.topics.get(&h.topic).is_none() {
        return Err(crate::BrokerError::TopicNotExist(h.topic));
    }
    // A reset the consumers have not pulled yet wins over what they still
    // commit from before it (RocketMQ ignores those commits too).
    if s.offsets.has_reset(&h.consumer_group, &h.topic, h.queue_id) {
        return Ok(RemotingCommand::success());
    }
    s.offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    Ok(RemotingCommand::success())
}

pub fn max(s: &OffsetState, req: &Request) -> Outcome {
    let h: QueueRequest = req.cmd.header()?;
    Ok(offset_reply(to_i64(
        s.store.max_offset(&h.topic, h.queue_id),
    )))
}

pub fn min(s: &OffsetState, req: &Request) -> Outcome {
    let h: QueueRequest = req.cmd.header()?;
    Ok(offset_reply(to_i64(
        s.store.min_offset(&h.topic, h.queue_id),
    )))
}

pub fn search(s: &OffsetState, req: &Request) -> Outcome {
    let h: SearchOffsetRequest = req.cmd.header()?;
    // RocketMQ's BoundaryType: "upper" (any case) asks for the last offset
    // at or before the time, anything else for the first at or after it.
    let upper = h
        .boundary_type
        .as_deref()
        .is_some_and(|b| b.eq_ignore_ascii_case("upper"));
    let offset = if upper {
        s.store
            .offset_by_time_upper(&h.topic, h.queue_id, h.timestamp)
    } else {
        s.store.offset_by_time(&h.topic, h.queue_id, h.timestamp)
    };
    Ok(offset_reply(to_i64(offset)))
}

pub fn earliest_time(s: &OffsetState, req: &Request) -> Outcome {
    let h: QueueRequest = req.cmd.header()?;
    let min = s.store.min_offset(&h.topic, h.queue_id);
    let timestamp = s
        .store
        .store_timestamp(&h.topic, h.queue_id, min)
        .unwrap_or(-1);
    Ok(RemotingCommand::success().with_header(&TimestampResponse { timestamp }))
}
