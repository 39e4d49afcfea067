//! Route and topic-list codes: GET_ROUTEINFO_BY_TOPIC, GET_BROKER_CLUSTER_INFO,
//! the topic lists, DELETE/REGISTER_TOPIC_IN_NAMESRV, GET_NAMESRV_CONFIG.

use basalt_protocol::body::route::{legacy_broker_addrs, QueueData, TopicRouteData};
use basalt_protocol::body::tables::TopicList;
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::namesrv::{
    DeleteTopicFromNamesrvRequest, GetRouteInfoRequest, GetTopicsByClusterRequest,
    RegisterTopicRequest,
};
use basalt_protocol::{RemotingCommand, VERSION_V4_9_4};
use basalt_remoting::Request;

use super::{Outcome, RouteState};
use crate::NamesrvError;

const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// `TopicSysFlag`: unit topic, and topic with unit subscriptions.
const FLAG_UNIT: i32 = 1;
const FLAG_UNIT_SUB: i32 = 1 << 1;

pub fn route_by_topic(state: &RouteState, req: &Request) -> Outcome {
    let h: GetRouteInfoRequest = req.cmd.header()?;
    let mut route = state
        .routes
        .read()
        .route(&h.topic)
        .ok_or_else(|| NamesrvError::TopicNotExist(h.topic.clone()))?;
    if state.config.read().order_message_enable {
        route.order_topic_conf = state.kv.get(ORDER_TOPIC_CONFIG, &h.topic);
    }
    // As RocketMQ: standard JSON for clients from 4.9.4 on or that ask for
    // it, fastjson's bare integer broker ids for the others. REMOTING.md
    // says every parser takes either; the Go client before v2.1.2 (which
    // says it is 3.x) does not: it reads a quoted id as 0.
    let body = route.encode();
    let standard = req.cmd.version >= VERSION_V4_9_4 || h.accept_standard_json_only == Some(true);
    let body = if standard {
        body
    } else {
        legacy_broker_addrs(&body)
    };
    Ok(RemotingCommand::success().with_body(body))
}

/// Cluster info with bare integer broker ids, as RocketMQ always writes it.
pub fn cluster_info(state: &RouteState, _req: &Request) -> Outcome {
    let info = state.routes.read().cluster_info();
    Ok(RemotingCommand::success().with_body(legacy_broker_addrs(&info.encode())))
}

fn topic_list(topics: std::collections::BTreeSet<String>) -> RemotingCommand {
    RemotingCommand::success().with_body(
        TopicList {
            broker_addr: None,
            topic_list: topics,
        }
        .encode(),
    )
}

pub fn all_topics(state: &RouteState, _req: &Request) -> Outcome {
    if !state.config.read().enable_all_topic_list {
        return Err(NamesrvError::Disabled);
    }
    Ok(topic_list(state.routes.read().topics_where(|_| true)))
}

pub fn topics_by_cluster(state: &RouteState, req: &Request) -> Outcome {
    if !state.config.read().enable_topic_list {
        return Err(NamesrvError::Disabled);
    }
    let h: GetTopicsByClusterRequest = req.cmd.header()?;
    let routes = state.routes.read();
    let names = routes
        .clusters()
        .get(&h.cluster)
        .cloned()
        .unwrap_or_default();
    Ok(topic_list(
        routes.topics_where(|q| names.contains(&q.broker_name)),
    ))
}

pub fn system_topics(state: &RouteState, _req: &Request) -> Outcome {
    let (topic_list, broker_addr) = state.routes.read().system_topics();
    Ok(RemotingCommand::success().with_body(
        TopicList {
            broker_addr,
            topic_list,
        }
        .encode(),
    ))
}

fn unit_list(state: &RouteState, pred: fn(&QueueData) -> bool) -> Outcome {
    if !state.config.read().enable_topic_list {
        return Err(NamesrvError::Disabled);
    }
    Ok(topic_list(state.routes.read().topics_where(pred)))
}

pub fn unit_topics(state: &RouteState, _req: &Request) -> Outcome {
    unit_list(state, |q| q.topic_sys_flag & FLAG_UNIT != 0)
}

pub fn unit_sub_topics(state: &RouteState, _req: &Request) -> Outcome {
    unit_list(state, |q| q.topic_sys_flag & FLAG_UNIT_SUB != 0)
}

pub fn unit_sub_ununit_topics(state: &RouteState, _req: &Request) -> Outcome {
    unit_list(state, |q| {
        q.topic_sys_flag & FLAG_UNIT == 0 && q.topic_sys_flag & FLAG_UNIT_SUB != 0
    })
}

pub fn delete_topic(state: &RouteState, req: &Request) -> Outcome {
    let h: DeleteTopicFromNamesrvRequest = req.cmd.header()?;
    let cluster = h.cluster_name.as_deref().filter(|c| !c.is_empty());
    state.routes.write().delete_topic(&h.topic, cluster);
    Ok(RemotingCommand::success())
}

pub fn register_topic(state: &RouteState, req: &Request) -> Outcome {
    let h: RegisterTopicRequest = req.cmd.header()?;
    if !req.cmd.body.is_empty() {
        let route = TopicRouteData::decode(&req.cmd.body)?;
        state
            .routes
            .write()
            .register_topic(&h.topic, route.queue_datas);
    }
    Ok(RemotingCommand::success())
}

pub fn namesrv_config(state: &RouteState, _req: &Request) -> Outcome {
    Ok(RemotingCommand::success().with_body(state.config.read().to_properties().into_bytes()))
}
