//! HEART_BEAT, UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP,
//! CHECK_CLIENT_CONFIG; and the NOTIFY_CONSUMER_IDS_CHANGED the broker sends
//! when a group's membership changes.

use std::sync::Arc;

use basalt_protocol::body::client::{CheckClientRequest, ConsumerListBody, HeartbeatData};
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::client::{ConsumerGroupRequest, UnregisterClientRequest};
use basalt_protocol::{RemotingCommand, RequestCode};
use basalt_remoting::Request;
use tokio::time::Instant;

use super::Outcome;
use crate::clients::{ClientChannel, Clients};
use crate::groups::Groups;
use crate::topics::{retry_topic, Topics};
use crate::BrokerError;

pub struct ClientState {
    pub clients: Arc<Clients>,
    pub groups: Arc<Groups>,
    pub topics: Arc<Topics>,
    /// Signals the registration task that the topic table changed.
    pub reregister: Arc<crate::register::Reregister>,
    /// `enablePropertyFilter`.
    pub property_filter: bool,
}

pub fn heartbeat(s: &ClientState, req: &Request) -> Outcome {
    let hb = HeartbeatData::decode(&req.cmd.body)?;
    tracing::trace!(
        client = %hb.client_id,
        producers = ?hb.producer_data_set.iter().map(|p| p.group_name.as_str()).collect::<Vec<_>>(),
        consumers = ?hb.consumer_data_set.iter().map(|c| c.group_name.as_str()).collect::<Vec<_>>(),
        "heartbeat"
    );
    let channel = ClientChannel {
        client_id: hb.client_id.clone(),
        conn: Arc::clone(&req.conn),
        language: req.cmd.language,
        version: req.cmd.version,
        last_update: Instant::now(),
    };
    let mut sub_change = true;
    for consumer in &hb.consumer_data_set {
        let Some(group) = s.groups.find_or_create(&consumer.group_name)? else {
            continue;
        };
        if s.topics.ensure(
            &retry_topic(&consumer.group_name),
            group.retry_queue_nums.max(1),
        )? {
            s.reregister.notify_one();
        }
        // Heartbeat v2 with `withoutSub`: only the channel is refreshed; if
        // we do not know the group's subscriptions the client must resend.
        let with_subs = !hb.without_sub;
        let changed = s
            .clients
            .register_consumer(channel.clone(), consumer, with_subs);
        if hb.without_sub {
            sub_change = s
                .clients
                .consumer_group(&consumer.group_name)
                .is_none_or(|g| g.subscriptions.is_empty());
        }
        if (changed.members || changed.subscriptions) && group.notify_consumer_ids_changed_enable {
            notify_ids_changed(&s.clients, &consumer.group_name);
        }
    }
    for producer in &hb.producer_data_set {
        s.clients
            .register_producer(&producer.group_name, channel.clone());
    }
    let mut reply = RemotingCommand::success();
    reply.ext_fields.insert("IS_SUPPORT_HEART_BEAT_V2", "true");
    reply
        .ext_fields
        .insert("IS_SUB_CHANGE", &sub_change.to_string());
    Ok(reply)
}

/// Tells every member of `group` to rebalance now (oneway, best effort).
pub fn notify_ids_changed(clients: &Clients, group: &str) {
    let Some(g) = clients.consumer_group(group) else {
        return;
    };
    if g.is_broadcast() {
        return;
    }
    for ch in g.channels.into_values() {
        let cmd = RemotingCommand::request(RequestCode::NotifyConsumerIdsChanged).with_header(
            &ConsumerGroupRequest {
                consumer_group: group.to_owned(),
            },
        );
        tokio::spawn(async move {
            let _ = ch.conn.send_oneway(cmd).await;
        });
    }
}

pub fn unregister(s: &ClientState, req: &Request) -> Outcome {
    let h: UnregisterClientRequest = req.cmd.header()?;
    let changed = s.clients.unregister(
        &h.client_id,
        h.producer_group.as_deref(),
        h.consumer_group.as_deref(),
    );
    if let (true, Some(g)) = (changed, h.consumer_group.as_deref()) {
        if s.groups
            .get(g)
            .is_none_or(|c| c.notify_consumer_ids_changed_enable)
        {
            notify_ids_changed(&s.clients, g);
        }
    }
    Ok(RemotingCommand::success())
}

pub fn consumer_list(s: &ClientState, req: &Request) -> Outcome {
    let h: ConsumerGroupRequest = req.cmd.header()?;
    let ids = s
        .clients
        .consumer_group(&h.consumer_group)
        .map(|g| g.client_ids())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(BrokerError::NoConsumer(h.consumer_group));
    }
    Ok(RemotingCommand::success().with_body(
        ConsumerListBody {
            consumer_id_list: ids,
        }
        .encode(),
    ))
}

/// Refuses subscriptions the broker could not serve, before the client
/// starts consuming (the Java client calls this for non-TAG expressions).
pub fn check_client_config(s: &ClientState, req: &Request) -> Outcome {
    let body = CheckClientRequest::decode(&req.cmd.body)?;
    let sub = &body.subscription_data;
    let ty = sub.expression_type.as_str();
    if !basalt_filter::is_tag_type(ty) && !s.property_filter {
        return Err(BrokerError::FilterUnsupported(format!(
            "The broker does not support consumer to filter message by {ty}"
        )));
    }
    basalt_filter::Filter::parse(ty, &sub.sub_string)
        .map_err(|e| BrokerError::SubscriptionParse(e.to_string()))?;
    Ok(RemotingCommand::success())
}
