//! Broker-facing codes: REGISTER/UNREGISTER_BROKER, BROKER_HEARTBEAT,
//! QUERY_DATA_VERSION, WIPE/ADD_WRITE_PERM_OF_BROKER, GET_BROKER_MEMBER_GROUP.

use std::time::Duration;

use basalt_protocol::body::register::{
    DataVersion, RegisterBrokerBody, TopicConfigSerializeWrapper,
};
use basalt_protocol::body::tables::KvTable;
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::namesrv::{
    AddWritePermResponse, BrokerHeartbeatRequest, BrokerNameRequest, QueryDataVersionRequest,
    QueryDataVersionResponse, RegisterBrokerRequest, RegisterBrokerResponse,
    UnregisterBrokerRequest, WipeWritePermResponse,
};
use basalt_protocol::{RemotingCommand, VERSION_V3_0_11};
use basalt_remoting::Request;
use serde::Serialize;
use tokio::time::Instant;

use super::{BrokerState, Outcome};
use crate::routes::Registration;
use crate::NamesrvError;

/// KV namespace whose entries are returned to registering brokers.
const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// The zone a broker may name in its registration's extFields.
const ZONE_NAME: &str = "__ZONE_NAME";

pub fn register(state: &BrokerState, req: &Request) -> Outcome {
    let h: RegisterBrokerRequest = req.cmd.header()?;
    let body = &req.cmd.body;
    if let Some(expected) = h.body_crc32.filter(|c| *c != 0) {
        let actual = (crc32fast::hash(body) & 0x7FFF_FFFF) as i32;
        if actual != expected {
            tracing::warn!(peer = %req.conn.peer(), "register broker: crc32 mismatch");
            return Err(NamesrvError::Crc32Mismatch);
        }
    }
    if h.compressed == Some(true) {
        return Err(NamesrvError::RegisterRejected(
            "compressed registration bodies are not supported; set compressedRegister=false",
        ));
    }
    let (topics, filter_servers) = if body.is_empty() {
        (TopicConfigSerializeWrapper::default(), Vec::new())
    } else if req.cmd.version >= VERSION_V3_0_11 {
        let b = RegisterBrokerBody::decode(body)?;
        (b.topic_config_serialize_wrapper, b.filter_server_list)
    } else {
        (TopicConfigSerializeWrapper::decode(body)?, Vec::new())
    };
    let timeout_ms = h
        .heartbeat_timeout_millis
        .and_then(|t| u64::try_from(t).ok())
        .unwrap_or_else(|| state.config.read().broker_channel_expired_time);
    let result = state
        .routes
        .write()
        .register(
            Registration {
                cluster: h.cluster_name,
                broker_addr: h.broker_addr,
                broker_name: h.broker_name,
                broker_id: h.broker_id,
                ha_server_addr: h.ha_server_addr.unwrap_or_default(),
                zone_name: req.cmd.ext_fields.get(ZONE_NAME).map(ToString::to_string),
                timeout: Duration::from_millis(timeout_ms),
                enable_acting_master: h.enable_acting_master,
                topics,
                filter_servers,
                conn_id: req.conn.id(),
            },
            Instant::now(),
        )
        .ok_or(NamesrvError::RegisterRejected(
            "a one-topic registration from a broker not registered yet",
        ))?;
    let mut reply = RemotingCommand::success().with_header(&RegisterBrokerResponse {
        ha_server_addr: result.ha_server_addr,
        master_addr: result.master_addr,
    });
    if state.config.read().return_order_topic_config_to_broker {
        if let Some(table) = state.kv.namespace(ORDER_TOPIC_CONFIG) {
            reply = reply.with_body(KvTable { table }.encode());
        }
    }
    Ok(reply)
}

pub fn unregister(state: &BrokerState, req: &Request) -> Outcome {
    let h: UnregisterBrokerRequest = req.cmd.header()?;
    state
        .routes
        .write()
        .unregister(&h.cluster_name, &h.broker_addr, &h.broker_name, h.broker_id);
    tracing::info!(broker = %h.broker_addr, name = %h.broker_name, "broker unregistered");
    Ok(RemotingCommand::success())
}

pub fn heartbeat(state: &BrokerState, req: &Request) -> Outcome {
    let h: BrokerHeartbeatRequest = req.cmd.header()?;
    state
        .routes
        .write()
        .touch(&h.cluster_name, &h.broker_addr, Instant::now());
    Ok(RemotingCommand::success())
}

pub fn query_data_version(state: &BrokerState, req: &Request) -> Outcome {
    let h: QueryDataVersionRequest = req.cmd.header()?;
    let theirs = DataVersion::decode(&req.cmd.body)?;
    let mut routes = state.routes.write();
    let ours = routes.data_version(&h.cluster_name, &h.broker_addr);
    routes.touch(&h.cluster_name, &h.broker_addr, Instant::now());
    drop(routes);
    let changed = ours.as_ref() != Some(&theirs);
    let mut reply = RemotingCommand::success().with_header(&QueryDataVersionResponse { changed });
    if let Some(ours) = ours {
        reply = reply.with_body(ours.encode());
    }
    Ok(reply)
}

pub fn wipe_write_perm(state: &BrokerState, req: &Request) -> Outcome {
    let h: BrokerNameRequest = req.cmd.header()?;
    let wipe_topic_count = state.routes.write().set_write_perm(&h.broker_name, false);
    tracing::info!(broker = %h.broker_name, topics = wipe_topic_count, "write perm wiped");
    Ok(RemotingCommand::success().with_header(&WipeWritePermResponse { wipe_topic_count }))
}

pub fn add_write_perm(state: &BrokerState, req: &Request) -> Outcome {
    let h: BrokerNameRequest = req.cmd.header()?;
    let add_topic_count = state.routes.write().set_write_perm(&h.broker_name, true);
    Ok(RemotingCommand::success().with_header(&AddWritePermResponse { add_topic_count }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberGroup {
    broker_addrs: std::collections::BTreeMap<i64, String>,
    broker_name: String,
    cluster: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberGroupBody {
    broker_member_group: MemberGroup,
}

pub fn member_group(state: &BrokerState, req: &Request) -> Outcome {
    let cluster = req
        .cmd
        .ext_fields
        .get("clusterName")
        .map(ToString::to_string)
        .unwrap_or_default();
    let h: BrokerNameRequest = req.cmd.header()?;
    let addrs = state
        .routes
        .read()
        .broker(&h.broker_name)
        .map(|d| d.broker_addrs.clone())
        .unwrap_or_default();
    let body = MemberGroupBody {
        broker_member_group: MemberGroup {
            broker_addrs: addrs,
            broker_name: h.broker_name,
            cluster,
        },
    };
    Ok(RemotingCommand::success().with_body(serde_json::to_vec(&body).unwrap_or_default()))
}
