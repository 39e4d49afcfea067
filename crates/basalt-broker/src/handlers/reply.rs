//! Request-reply (RocketMQ's `ReplyMessageProcessor`): a responder sends
//! its reply with SEND_REPLY_MESSAGE(_V2); the broker hands it to the
//! requester's connection (PUSH_REPLY_MESSAGE_TO_CLIENT), found by the
//! `REPLY_TO_CLIENT` client id among live producers, answers whether that
//! worked, and stores the reply in its topic as well
//! (`storeReplyMessageEnable`, on by default in RocketMQ).

use std::sync::Arc;
use std::time::Duration;

use basalt_message::Properties;
use basalt_protocol::headers::send::{ReplyMessageRequest, SendHeader, SendMessageResponse};
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use basalt_remoting::Request;

use super::send::{self, SendState};
use super::Outcome;
use crate::clients::Clients;
use crate::topics::now_ms;
use crate::BrokerError;

/// The requester's client id (`MessageConst.PROPERTY_MESSAGE_REPLY_TO_CLIENT`).
const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
/// When the broker pushed the reply (`PROPERTY_PUSH_REPLY_TIME`).
const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
/// How long the push may take (RocketMQ's `callClient`: 10 s).
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

pub struct ReplyState {
    pub send: Arc<SendState>,
    pub clients: Arc<Clients>,
}

pub async fn reply(s: Arc<ReplyState>, req: Request) -> Outcome {
    let code = req.cmd.request_code();
    let h = SendHeader::decode(code, &req.cmd.ext_fields)?;
    let (view, _) = send::check(&s.send, &h)?;
    let queue_id = send::pick_queue(h.topic, view, h.queue_id)?;
    let mut msg = send::message_of(&s.send, &req, &h, queue_id);
    let pushed = push(&s, &req, &h, queue_id, &mut msg.properties).await;
    // Stored whether or not the push worked, as RocketMQ does; a failed
    // store does not change the answer (the requester has it or not).
    if let Err(e) = s.send.store.put(msg).await {
        tracing::warn!(topic = %h.topic, error = %e, "cannot store a reply message");
    }
    pushed?;
    let mut reply = RemotingCommand::response(ResponseCode::Success, None);
    reply.ext_fields.insert("MSG_REGION", &s.send.region_id);
    reply.ext_fields.insert("TRACE_ON", s.send.trace_on);
    // "0" and offset 0, as RocketMQ answers (the client decodes the id).
    Ok(reply.with_header(&SendMessageResponse {
        msg_id: "0".into(),
        queue_id,
        queue_offset: 0,
        transaction_id: None,
        batch_uniq_id: None,
        recall_handle: None,
    }))
}

/// Hands the reply to the requester's connection.
async fn push(
    s: &ReplyState,
    req: &Request,
    h: &SendHeader<'_>,
    queue_id: i32,
    properties: &mut Properties,
) -> Result<(), BrokerError> {
    let Some(requester) = properties.get(REPLY_TO_CLIENT).map(str::to_owned) else {
        return Err(BrokerError::ReplyNotPushed(format!(
            "reply message properties[{REPLY_TO_CLIENT}] is null"
        )));
    };
    let Some(conn) = s.clients.producer_by_client_id(&requester) else {
        return Err(BrokerError::ReplyNotPushed(format!(
            "push reply message fail, channel of <{requester}> not found."
        )));
    };
    properties.insert(PUSH_REPLY_TIME, now_ms().to_string());
    let header = ReplyMessageRequest {
        producer_group: String::from_utf8_lossy(h.producer_group).into_owned(),
        topic: h.topic.to_owned(),
        default_topic: String::from_utf8_lossy(h.default_topic).into_owned(),
        default_topic_queue_nums: h.default_topic_queue_nums,
        queue_id,
        sys_flag: h.sys_flag,
        born_timestamp: h.born_timestamp,
        flag: h.flag,
        properties: Some(properties.encode()),
        reconsume_times: h.reconsume_times,
        unit_mode: h.unit_mode,
        born_host: req.conn.peer().to_string(),
        store_host: s.send.store_host.to_string(),
        store_timestamp: now_ms(),
    };
    let cmd = RemotingCommand::request(RequestCode::PushReplyMessageToClient)
        .with_header(&header)
        .with_body(req.cmd.body.clone());
    match conn.invoke(cmd, PUSH_TIMEOUT).await {
        Ok(r) if r.response_code() == ResponseCode::Success => Ok(()),
        Ok(r) => {
            tracing::warn!(requester = %requester, remark = ?r.remark, "requester refused a reply");
            Err(BrokerError::ReplyNotPushed(format!(
                "push reply message to {requester}fail."
            )))
        }
        Err(e) => {
            tracing::warn!(requester = %requester, error = %e, "cannot push a reply");
            Err(BrokerError::ReplyNotPushed(format!(
                "push reply message to {requester}fail."
            )))
        }
    }
}
