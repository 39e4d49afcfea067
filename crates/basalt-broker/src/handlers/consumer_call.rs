//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309):
//! admin calls the broker passes on to one consumer over that consumer's
//! own connection, answering with the consumer's response as it came
//! (RocketMQ's `callConsumer`). `mqadmin consumerStatus`, the client
//! column of `consumerProgress` and the console's "consume directly" use
//! them. INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223, `mqadmin
//! getConsumerStatus`) asks every consumer of a group (or one) for the
//! offsets it holds on a topic and answers them all.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use basalt_message::decode_offset_msg_id;
use basalt_protocol::body::client::MessageQueue;
use basalt_protocol::fastjson::object_key_map;
use basalt_protocol::headers::admin::{
    ConsumeMessageDirectlyRequest, ConsumerRunningInfoRequest, GroupTopicRequest,
};
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use basalt_remoting::Request;
use basalt_store::Store;

use crate::clients::Clients;
use crate::handlers::Outcome;
use crate::BrokerError;

/// How long the consumer may take (RocketMQ's `callClient`: 10 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long each consumer may take to report its offsets (RocketMQ: 5 s).
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

pub struct ConsumerCallState {
    pub clients: Arc<Clients>,
    pub store: Store,
    pub broker_name: String,
}

pub async fn running_info(s: Arc<ConsumerCallState>, req: Request) -> Outcome {
    let h: ConsumerRunningInfoRequest = req.cmd.header()?;
    let mut cmd = passed_on(RequestCode::GetConsumerRunningInfo, &req);
    cmd.body = req.cmd.body.clone();
    forward(&s, cmd, &h.consumer_group, &h.client_id).await
}

pub async fn consume_directly(s: Arc<ConsumerCallState>, req: Request) -> Outcome {
    let h: ConsumeMessageDirectlyRequest = req.cmd.header()?;
    let mut cmd = passed_on(RequestCode::ConsumeMessageDirectly, &req);
    cmd.ext_fields.insert("brokerName", &s.broker_name);
    // The stored record, as the consumer decodes a pulled one.
    let Some(raw) = decode_offset_msg_id(&h.msg_id)
        .ok()
        .and_then(|(_, phys)| u64::try_from(phys).ok())
        .and_then(|phys| s.store.message_at(phys))
    else {
        return Err(BrokerError::MessageNotFound(format!(
            "no message with offset id {}",
            h.msg_id
        )));
    };
    cmd.body = raw;
    forward(&s, cmd, &h.consumer_group, &h.client_id).await
}

/// A request to the consumer with the admin request's header fields.
fn passed_on(code: RequestCode, req: &Request) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(code);
    cmd.ext_fields = req.cmd.ext_fields.clone();
    cmd
}

async fn forward(
    s: &ConsumerCallState,
    cmd: RemotingCommand,
    group: &str,
    client_id: &str,
) -> Outcome {
    let Some(channel) = s.clients.consumer_channel(group, client_id) else {
        return Ok(RemotingCommand::response(
            ResponseCode::SystemError,
            format!("The Consumer <{group}> <{client_id}> not online"),
        ));
    };
    if channel.version < basalt_protocol::VERSION_V3_1_8_SNAPSHOT {
        return Ok(RemotingCommand::response(
            ResponseCode::SystemError,
            format!(
                "The Consumer <{client_id}> Version <{}> too low to finish, please upgrade it to V3_1_8_SNAPSHOT",
                channel.version
            ),
        ));
    }
    match channel.conn.invoke(cmd, CALL_TIMEOUT).await {
        Ok(answer) => Ok(answer),
        Err(basalt_remoting::RemotingError::Timeout { .. }) => Ok(RemotingCommand::response(
            ResponseCode::ConsumeMsgTimeout,
            format!("consumer <{group}> <{client_id}> Timeout"),
        )),
        Err(e) => Ok(RemotingCommand::response(
            ResponseCode::SystemError,
            format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
        )),
    }
}

/// Each online consumer's offsets on the topic, by client id. Consumers
/// are asked one after another, as RocketMQ does; one that fails or does
/// not answer in time is left out. With `clientAddr`, only that client is
/// asked.
pub async fn consumer_status(s: Arc<ConsumerCallState>, req: Request) -> Outcome {
    let h: GroupTopicRequest = req.cmd.header()?;
    let channels = s
        .clients
        .consumer_group(&h.group)
        .map(|g| g.channels.into_values().collect::<Vec<_>>())
        .unwrap_or_default();
    if channels.is_empty() {
        return Ok(RemotingCommand::response(
            ResponseCode::SystemError,
            format!(
                "No Any Consumer online in the consumer group: [{}]",
                h.group
            ),
        ));
    }
    if let Some(old) = channels
        .iter()
        .find(|c| c.version < basalt_protocol::VERSION_V3_0_7_SNAPSHOT)
    {
        return Ok(RemotingCommand::response(
            ResponseCode::SystemError,
            format!(
                "the client does not support this feature. version={}",
                old.version
            ),
        ));
    }
    let only = h
        .client_addr
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let ask = RemotingCommand::request(RequestCode::GetConsumerStatusFromClient).with_header(
        &GroupTopicRequest {
            topic: h.topic.clone(),
            group: h.group.clone(),
            client_addr: None,
        },
    );
    let mut table = Vec::new();
    for channel in channels {
        if only.is_some_and(|c| c != channel.client_id) {
            continue;
        }
        match channel.conn.invoke(ask.clone(), STATUS_TIMEOUT).await {
            Ok(answer)
                if answer.code == i32::from(ResponseCode::Success) && !answer.body.is_empty() =>
            {
                match reported_offsets(&answer.body) {
                    Some(offsets) => table.push((channel.client_id, offsets)),
                    None => {
                        tracing::warn!(client = %channel.client_id, "consumer status: body not understood")
                    }
                }
            }
            Ok(answer) => {
                tracing::warn!(client = %channel.client_id, code = answer.code, "consumer status refused")
            }
            Err(e) => {
                tracing::warn!(client = %channel.client_id, error = %e, "consumer status: no answer")
            }
        }
        if only.is_some() {
            break;
        }
    }
    // The inner maps are keyed by queue objects, which only fastjson's form
    // carries (the admin tool reads nothing else).
    let mut body = String::from("{\"consumerTable\":{");
    for (i, (client, offsets)) in table.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&serde_json::to_string(client).unwrap_or_default());
        body.push(':');
        body.push_str(&object_key_map(offsets));
    }
    body.push_str("},\"messageQueueTable\":{}}");
    Ok(RemotingCommand::success().with_body(body.into_bytes()))
}

/// The `messageQueueTable` of a consumer's GetConsumerStatusBody.
fn reported_offsets(body: &[u8]) -> Option<BTreeMap<MessageQueue, i64>> {
    let value = basalt_protocol::fastjson::parse(body).ok()?;
    let table = value.get("messageQueueTable")?.as_object()?;
    table
        .iter()
        .map(|(queue, offset)| Some((serde_json::from_str(queue).ok()?, offset.as_i64()?)))
        .collect()
}
