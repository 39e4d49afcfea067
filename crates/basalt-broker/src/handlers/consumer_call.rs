//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309):
//! admin calls the broker passes on to one consumer over that consumer's
//! own connection, answering with the consumer's response as it came
//! (RocketMQ's `callConsumer`). `mqadmin consumerStatus`, the client
//! column of `consumerProgress` and the console's "consume directly" use
//! them.

use std::sync::Arc;
use std::time::Duration;

use basalt_message::decode_offset_msg_id;
use basalt_protocol::headers::admin::{ConsumeMessageDirectlyRequest, ConsumerRunningInfoRequest};
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use basalt_remoting::Request;
use basalt_store::Store;

use crate::clients::Clients;
use crate::handlers::Outcome;
use crate::BrokerError;

/// How long the consumer may take (RocketMQ's `callClient`: 10 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

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
