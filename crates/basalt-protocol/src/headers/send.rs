//! SEND_MESSAGE (10, long keys), SEND_MESSAGE_V2 (310) and
//! SEND_BATCH_MESSAGE (320) (one-letter keys), and their response.

use crate::command::CompactString;
use crate::command_header;
use crate::header::CommandHeader;
use crate::{ExtFields, ProtocolError, RequestCode};

command_header! {
    /// SEND_MESSAGE (10) request, with Java's field names as keys.
    pub struct SendMessageRequest {
        pub producer_group: CompactString => "producerGroup",
        pub topic: String => "topic",
        pub default_topic: CompactString => "defaultTopic",
        pub default_topic_queue_nums: i32 => "defaultTopicQueueNums",
        pub queue_id: i32 => "queueId",
        pub sys_flag: i32 => "sysFlag",
        pub born_timestamp: i64 => "bornTimestamp",
        pub flag: i32 => "flag",
        pub properties: Option<String> => "properties",
        pub reconsume_times: Option<i32> => "reconsumeTimes",
        pub unit_mode: Option<bool> => "unitMode",
        pub batch: Option<bool> => "batch",
        pub max_reconsume_times: Option<i32> => "maxReconsumeTimes",
    }
}

command_header! {
    /// SEND_MESSAGE_V2 (310) / SEND_BATCH_MESSAGE (320) request: the same
    /// fields under one-letter keys, to keep the hot path's header small.
    /// The group and the template topic are read on few sends (a
    /// transaction check, a topic's creation): inline strings, no
    /// allocation each.
    pub struct SendMessageRequestV2 {
        pub a: CompactString => "a",
        pub b: String => "b",
        pub c: CompactString => "c",
        pub d: i32 => "d",
        pub e: i32 => "e",
        pub f: i32 => "f",
        pub g: i64 => "g",
        pub h: i32 => "h",
        pub i: Option<String> => "i",
        pub j: Option<i32> => "j",
        pub k: Option<bool> => "k",
        pub l: Option<i32> => "l",
        pub m: Option<bool> => "m",
    }
}

impl From<SendMessageRequestV2> for SendMessageRequest {
    fn from(v: SendMessageRequestV2) -> Self {
        Self {
            producer_group: v.a,
            topic: v.b,
            default_topic: v.c,
            default_topic_queue_nums: v.d,
            queue_id: v.e,
            sys_flag: v.f,
            born_timestamp: v.g,
            flag: v.h,
            properties: v.i,
            reconsume_times: v.j,
            unit_mode: v.k,
            max_reconsume_times: v.l,
            batch: v.m,
        }
    }
}

impl SendMessageRequest {
    /// Reads the header of any of the three send codes.
    pub fn decode_for(code: RequestCode, ext: &ExtFields) -> Result<Self, ProtocolError> {
        match code {
            RequestCode::SendMessageV2 | RequestCode::SendBatchMessage => {
                Ok(SendMessageRequestV2::decode(ext)?.into())
            }
            _ => Self::decode(ext),
        }
    }
}

command_header! {
    /// Send response.
    pub struct SendMessageResponse {
        pub msg_id: String => "msgId",
        pub queue_id: i32 => "queueId",
        pub queue_offset: i64 => "queueOffset",
        pub transaction_id: Option<String> => "transactionId",
        pub batch_uniq_id: Option<String> => "batchUniqId",
    }
}

/// A [`SendMessageResponse`] written from borrowed text, with the same
/// keys: every send's reply is built once, and owning its two ids cost
/// two allocations a message.
#[derive(Debug, Clone, Copy)]
pub struct SendMessageResponseRef<'a> {
    pub msg_id: &'a str,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub transaction_id: Option<&'a str>,
}

impl SendMessageResponseRef<'_> {
    pub fn encode(&self, ext: &mut ExtFields) {
        ext.insert("msgId", self.msg_id);
        ext.insert("queueId", itoa::Buffer::new().format(self.queue_id));
        ext.insert("queueOffset", itoa::Buffer::new().format(self.queue_offset));
        if let Some(t) = self.transaction_id {
            ext.insert("transactionId", t);
        }
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36) request.
    pub struct ConsumerSendMsgBackRequest {
        pub offset: i64 => "offset",
        pub group: String => "group",
        pub delay_level: i32 => "delayLevel",
        pub origin_msg_id: Option<String> => "originMsgId",
        pub origin_topic: Option<String> => "originTopic",
        pub unit_mode: Option<bool> => "unitMode",
        pub max_reconsume_times: Option<i32> => "maxReconsumeTimes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_borrowed_response_writes_what_the_owned_one_does() {
        for transaction_id in [None, Some("7F0000010005FFFFFFFF000005DC0000")] {
            let owned = SendMessageResponse {
                msg_id: "0A00000100002A9F0000000000001234".into(),
                queue_id: 3,
                queue_offset: -9_000_000_000,
                transaction_id: transaction_id.map(str::to_owned),
                batch_uniq_id: None,
            };
            let mut a = ExtFields::new();
            owned.encode(&mut a);
            let mut b = ExtFields::new();
            SendMessageResponseRef {
                msg_id: &owned.msg_id,
                queue_id: owned.queue_id,
                queue_offset: owned.queue_offset,
                transaction_id,
            }
            .encode(&mut b);
            let pairs = |e: &ExtFields| {
                e.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(pairs(&a), pairs(&b));
            assert_eq!(SendMessageResponse::decode(&b).unwrap(), owned);
        }
    }
}
