//! QUERY_MESSAGE (by key and time range) and VIEW_MESSAGE_BY_ID.

use basalt_protocol::headers::client::{
    QueryMessageRequest, QueryMessageResponse, ViewMessageRequest,
};
use basalt_protocol::RemotingCommand;
use basalt_remoting::Request;
use basalt_store::Store;
use bytes::BytesMut;

use super::Outcome;
use crate::topics::now_ms;
use crate::BrokerError;

/// RocketMQ's `defaultQueryMaxNum`, used for UNIQ_KEY lookups.
const DEFAULT_QUERY_MAX_NUM: usize = 32;

pub fn query_message(store: &Store, req: &Request) -> Outcome {
    let h: QueryMessageRequest = req.cmd.header()?;
    let unique = req
        .cmd
        .ext_fields
        .get("_UNIQUE_KEY_QUERY")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let max = if unique {
        DEFAULT_QUERY_MAX_NUM
    } else {
        usize::try_from(h.max_num).unwrap_or(0).clamp(1, 64)
    };
    let (from, to) = (h.begin_timestamp, h.end_timestamp);
    let found = if h.index_type.as_deref() == Some("T") {
        // `mqadmin queryMsgByKey -p T`: the tag index (RocketMQ 5.5).
        store.query_by_tag(&h.topic, &h.key, max, from, to)
    } else {
        store.query_by_key(&h.topic, &h.key, max, from, to)
    };
    if found.is_empty() {
        return Err(BrokerError::NotFound(format!(
            "can not find message, maybe time range not correct, topic: {} key: {}",
            h.topic, h.key
        )));
    }
    let mut body = BytesMut::with_capacity(found.iter().map(bytes::Bytes::len).sum());
    for m in &found {
        body.extend_from_slice(m);
    }
    Ok(RemotingCommand::success()
        .with_header(&QueryMessageResponse {
            index_last_update_timestamp: now_ms(),
            index_last_update_phyoffset: i64::try_from(store.commit_log_max_offset())
                .unwrap_or(i64::MAX),
        })
        .with_body(body.freeze()))
}

pub fn view_by_id(store: &Store, req: &Request) -> Outcome {
    let h: ViewMessageRequest = req.cmd.header()?;
    let phys = u64::try_from(h.offset).map_err(|_| {
        BrokerError::InvalidParameter(format!("bad commit log offset {}", h.offset))
    })?;
    match store.message_at(phys) {
        Some(record) => Ok(RemotingCommand::success().with_body(record)),
        None => Err(BrokerError::MessageNotFound(format!(
            "can not find message by the offset, {}",
            h.offset
        ))),
    }
}
