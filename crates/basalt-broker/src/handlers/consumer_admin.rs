//! Who consumes what: QUERY_TOPIC_CONSUME_BY_WHO (300, `mqadmin topicList
//! -c`, message tracks), QUERY_TOPICS_BY_CONSUMER (343),
//! GET_SUBSCRIPTIONGROUP_CONFIG (352) and CLONE_GROUP_OFFSET (314,
//! `mqadmin cloneGroupOffset`).

use std::collections::BTreeSet;

use basalt_protocol::body::tables::{GroupList, TopicList};
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::admin::{
    CloneGroupOffsetRequest, GroupRequest, QueryTopicConsumeByWhoRequest,
};
use basalt_protocol::RemotingCommand;
use basalt_remoting::Request;

use crate::handlers::admin::AdminState;
use crate::handlers::Outcome;
use crate::BrokerError;

/// Groups online with a subscription to the topic, and groups with
/// offsets on it.
pub fn consumed_by(s: &AdminState, req: &Request) -> Outcome {
    let h: QueryTopicConsumeByWhoRequest = req.cmd.header()?;
    let mut group_list: BTreeSet<String> =
        s.clients.groups_subscribing(&h.topic).into_iter().collect();
    group_list.extend(s.offsets.groups_of(&h.topic));
    Ok(RemotingCommand::success().with_body(GroupList { group_list }.encode()))
}

/// Topics a group has offsets on, with this broker's address.
pub fn topics_of(s: &AdminState, req: &Request) -> Outcome {
    let h: GroupRequest = req.cmd.header()?;
    let body = TopicList {
        broker_addr: Some(s.broker_addr.clone()),
        topic_list: s.offsets.topics_of(&h.group).into_iter().collect(),
    };
    Ok(RemotingCommand::success().with_body(body.encode()))
}

/// One group's config; like RocketMQ's lookup, an unknown group is created
/// when groups are auto-created.
pub fn group_config(s: &AdminState, req: &Request) -> Outcome {
    let h: GroupRequest = req.cmd.header()?;
    match s.groups.find_or_create(&h.group)? {
        Some(config) => {
            let body = serde_json::to_vec(&config)
                .map_err(|e| BrokerError::InvalidParameter(format!("group config: {e}")))?;
            Ok(RemotingCommand::success().with_body(body))
        }
        None => Err(BrokerError::GroupNotExist(h.group)),
    }
}

/// Copies the source group's offsets to the destination group, on one
/// topic or (no topic) on every topic the source has offsets on. Unless
/// `offline`, a topic the online source group does not subscribe to is
/// skipped, as RocketMQ does.
pub fn clone_offsets(s: &AdminState, req: &Request) -> Outcome {
    let h: CloneGroupOffsetRequest = req.cmd.header()?;
    let topics = match h.topic.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => vec![t.to_owned()],
        _ => s.offsets.topics_of(&h.src_group),
    };
    for topic in topics {
        if s.topics.get(&topic).is_none() {
            tracing::warn!(%topic, "cloneGroupOffset: no such topic");
            continue;
        }
        if !h.offline && s.clients.subscribes_elsewhere(&h.src_group, &topic) {
            tracing::warn!(%topic, group = %h.src_group, "cloneGroupOffset: not subscribed; skipped");
            continue;
        }
        s.offsets.copy_group(&h.src_group, &h.dest_group, &topic);
    }
    Ok(RemotingCommand::success())
}
