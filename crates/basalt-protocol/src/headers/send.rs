//! SEND_MESSAGE (10, long keys), SEND_MESSAGE_V2 (310) and
//! SEND_BATCH_MESSAGE (320) (one-letter keys), and their response.

use crate::command::CompactString;
use crate::command_header;
use crate::header::Scalar;
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

/// A send request's header as the broker reads it: borrowed from the
/// request's map, each key matched to its field by one `match` over the
/// key bytes. Every send decodes one, and the owned, generic decode cost
/// ~2 K instructions a message: a sequential compare per known key, a
/// copy of the topic and the properties (then copied again to be parsed),
/// and a move into the long-key struct.
///
/// The group and the template topic are kept as bytes, unchecked: a send
/// reads them rarely (a topic's creation), and Java never rejects them
/// for bad UTF-8 either (it reads them lossily).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendHeader<'a> {
    pub producer_group: &'a [u8],
    pub topic: &'a str,
    pub default_topic: &'a [u8],
    pub default_topic_queue_nums: i32,
    pub queue_id: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub flag: i32,
    pub properties: Option<&'a str>,
    pub reconsume_times: Option<i32>,
    pub unit_mode: Option<bool>,
    pub batch: Option<bool>,
    pub max_reconsume_times: Option<i32>,
}

/// Declares the send header's fields with their two wire keys (as byte
/// strings, which a `match` over the key bytes can use as patterns).
macro_rules! send_fields {
    ($($field:ident => $letter:literal, $name:literal;)*) => {
        /// The fields of a send header, in the order of the one-letter keys.
        #[derive(Clone, Copy)]
        enum SendField {
            $($field,)*
        }

        impl SendField {
            /// Its wire keys: SEND_MESSAGE_V2's letter, SEND_MESSAGE's name.
            fn keys(self) -> (&'static str, &'static str) {
                match self {
                    $(Self::$field => (const { ascii($letter) }, const { ascii($name) }),)*
                }
            }

            /// The field `key` names: a letter, or a name (SEND_MESSAGE).
            fn of_key(key: &[u8], letters: bool) -> Option<Self> {
                if letters {
                    return match key {
                        $($letter => Some(Self::$field),)*
                        _ => None,
                    };
                }
                match key {
                    $($name => Some(Self::$field),)*
                    _ => None,
                }
            }
        }
    };
}

/// A key literal as text (the keys are ASCII; called in `const` blocks,
/// so never at run time).
const fn ascii(key: &'static [u8]) -> &'static str {
    match std::str::from_utf8(key) {
        Ok(s) => s,
        Err(_) => "",
    }
}

send_fields! {
    Group => b"a", b"producerGroup";
    Topic => b"b", b"topic";
    DefaultTopic => b"c", b"defaultTopic";
    DefaultQueues => b"d", b"defaultTopicQueueNums";
    QueueId => b"e", b"queueId";
    SysFlag => b"f", b"sysFlag";
    Born => b"g", b"bornTimestamp";
    Flag => b"h", b"flag";
    Properties => b"i", b"properties";
    Reconsumes => b"j", b"reconsumeTimes";
    UnitMode => b"k", b"unitMode";
    MaxReconsumes => b"l", b"maxReconsumeTimes";
    Batch => b"m", b"batch";
}

/// The fields Java requires (`@CFNotNull`), in key order.
const REQUIRED_FIELDS: [SendField; 8] = [
    SendField::Group,
    SendField::Topic,
    SendField::DefaultTopic,
    SendField::DefaultQueues,
    SendField::QueueId,
    SendField::SysFlag,
    SendField::Born,
    SendField::Flag,
];

impl SendField {
    fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl<'a> SendHeader<'a> {
    /// Reads the header of any of the three send codes: SEND_MESSAGE_V2
    /// and SEND_BATCH_MESSAGE use the one-letter keys, SEND_MESSAGE the
    /// field names. Unknown keys are ignored; a required field that is
    /// absent, or a value that does not parse, is an error naming the key
    /// as the code spells it.
    pub fn decode(code: RequestCode, ext: &'a ExtFields) -> Result<Self, ProtocolError> {
        let letters = matches!(
            code,
            RequestCode::SendMessageV2
                | RequestCode::SendBatchMessage
                | RequestCode::SendReplyMessageV2
        );
        let key_of = |f: SendField| {
            let (letter, name) = f.keys();
            if letters {
                letter
            } else {
                name
            }
        };
        let mut h = SendHeader::default();
        // Which required fields were seen, one bit per field; the first
        // value that does not parse (the error is built only then).
        let mut seen = 0u16;
        let mut bad: Option<(SendField, &[u8])> = None;
        for (key, raw) in ext.raw_iter() {
            let Some(f) = SendField::of_key(key, letters) else {
                continue;
            };
            seen |= f.bit();
            let ok = match f {
                SendField::Group => {
                    h.producer_group = raw;
                    Some(())
                }
                SendField::Topic => std::str::from_utf8(raw).ok().map(|t| h.topic = t),
                SendField::DefaultTopic => {
                    h.default_topic = raw;
                    Some(())
                }
                SendField::DefaultQueues => {
                    Scalar::parse(raw).map(|v| h.default_topic_queue_nums = v)
                }
                SendField::QueueId => Scalar::parse(raw).map(|v| h.queue_id = v),
                SendField::SysFlag => Scalar::parse(raw).map(|v| h.sys_flag = v),
                SendField::Born => Scalar::parse(raw).map(|v| h.born_timestamp = v),
                SendField::Flag => Scalar::parse(raw).map(|v| h.flag = v),
                SendField::Properties => std::str::from_utf8(raw)
                    .ok()
                    .map(|p| h.properties = Some(p)),
                SendField::Reconsumes => Scalar::parse(raw).map(|v| h.reconsume_times = Some(v)),
                SendField::UnitMode => Scalar::parse(raw).map(|v| h.unit_mode = Some(v)),
                SendField::MaxReconsumes => {
                    Scalar::parse(raw).map(|v| h.max_reconsume_times = Some(v))
                }
                SendField::Batch => Scalar::parse(raw).map(|v| h.batch = Some(v)),
            };
            if ok.is_none() && bad.is_none() {
                bad = Some((f, raw));
            }
        }
        if let Some((f, raw)) = bad {
            return Err(ProtocolError::BadField {
                key: key_of(f),
                value: String::from_utf8_lossy(raw).chars().take(64).collect(),
            });
        }
        if let Some(&f) = REQUIRED_FIELDS.iter().find(|f| seen & f.bit() == 0) {
            return Err(ProtocolError::MissingField(key_of(f)));
        }
        Ok(h)
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
        pub recall_handle: Option<String> => "recallHandle",
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
    /// For a timer message: what RECALL_MESSAGE takes to cancel it.
    pub recall_handle: Option<&'a str>,
}

impl SendMessageResponseRef<'_> {
    pub fn encode(&self, ext: &mut ExtFields) {
        ext.insert("msgId", self.msg_id);
        ext.insert("queueId", itoa::Buffer::new().format(self.queue_id));
        ext.insert("queueOffset", itoa::Buffer::new().format(self.queue_offset));
        if let Some(h) = self.recall_handle {
            ext.insert("recallHandle", h);
        }
        if let Some(t) = self.transaction_id {
            ext.insert("transactionId", t);
        }
    }
}

command_header! {
    /// RECALL_MESSAGE (370) request: cancels a timer message not yet due
    /// (RocketMQ 5.3.2+, `DefaultMQProducer.recallMessage`).
    pub struct RecallMessageRequest {
        /// RocketMQ's own proxy sends none.
        pub producer_group: Option<String> => "producerGroup",
        pub topic: String => "topic",
        pub recall_handle: String => "recallHandle",
    }
}

command_header! {
    /// RECALL_MESSAGE (370) response.
    pub struct RecallMessageResponse {
        pub msg_id: String => "msgId",
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

command_header! {
    /// PUSH_REPLY_MESSAGE_TO_CLIENT (326): a reply the broker hands to the
    /// requester's connection (RocketMQ's `ReplyMessageRequestHeader`).
    pub struct ReplyMessageRequest {
        pub producer_group: String => "producerGroup",
        pub topic: String => "topic",
        pub default_topic: String => "defaultTopic",
        pub default_topic_queue_nums: i32 => "defaultTopicQueueNums",
        pub queue_id: i32 => "queueId",
        pub sys_flag: i32 => "sysFlag",
        pub born_timestamp: i64 => "bornTimestamp",
        pub flag: i32 => "flag",
        pub properties: Option<String> => "properties",
        pub reconsume_times: Option<i32> => "reconsumeTimes",
        pub unit_mode: Option<bool> => "unitMode",
        pub born_host: String => "bornHost",
        pub store_host: String => "storeHost",
        pub store_timestamp: i64 => "storeTimestamp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::CommandHeader;

    fn long_keys(v: &SendMessageRequestV2) -> SendMessageRequest {
        SendMessageRequest {
            producer_group: v.a.clone(),
            topic: v.b.clone(),
            default_topic: v.c.clone(),
            default_topic_queue_nums: v.d,
            queue_id: v.e,
            sys_flag: v.f,
            born_timestamp: v.g,
            flag: v.h,
            properties: v.i.clone(),
            reconsume_times: v.j,
            unit_mode: v.k,
            max_reconsume_times: v.l,
            batch: v.m,
        }
    }

    fn expected(v: &SendMessageRequestV2) -> SendHeader<'_> {
        SendHeader {
            producer_group: v.a.as_bytes(),
            topic: &v.b,
            default_topic: v.c.as_bytes(),
            default_topic_queue_nums: v.d,
            queue_id: v.e,
            sys_flag: v.f,
            born_timestamp: v.g,
            flag: v.h,
            properties: v.i.as_deref(),
            reconsume_times: v.j,
            unit_mode: v.k,
            max_reconsume_times: v.l,
            batch: v.m,
        }
    }

    #[test]
    fn the_borrowed_send_header_reads_what_both_key_sets_write() {
        let full = SendMessageRequestV2 {
            a: "pg".into(),
            b: "TopicA".into(),
            c: "TBW102".into(),
            d: 4,
            e: -1,
            f: 8,
            g: 1_700_000_000_123,
            h: 7,
            i: Some("TAGS\u{1}t\u{2}".into()),
            j: Some(2),
            k: Some(true),
            l: Some(16),
            m: Some(false),
        };
        let bare = SendMessageRequestV2 {
            i: None,
            j: None,
            k: None,
            l: None,
            m: None,
            ..full.clone()
        };
        for v in [&full, &bare] {
            let mut short = ExtFields::new();
            v.encode(&mut short);
            let got = SendHeader::decode(RequestCode::SendMessageV2, &short).unwrap();
            assert_eq!(got, expected(v));
            let got = SendHeader::decode(RequestCode::SendBatchMessage, &short).unwrap();
            assert_eq!(got, expected(v));
            let mut long = ExtFields::new();
            long_keys(v).encode(&mut long);
            long.insert("unknownKey", "x");
            let got = SendHeader::decode(RequestCode::SendMessage, &long).unwrap();
            assert_eq!(got, expected(v));
            // Each code reads its own key set only.
            assert!(SendHeader::decode(RequestCode::SendMessage, &short).is_err());
            assert!(SendHeader::decode(RequestCode::SendMessageV2, &long).is_err());
        }
    }

    #[test]
    fn a_missing_or_bad_send_field_is_named_as_the_code_spells_it() {
        let mut ext = ExtFields::new();
        SendMessageRequestV2::default().encode(&mut ext);
        ext.remove("e");
        assert!(matches!(
            SendHeader::decode(RequestCode::SendMessageV2, &ext),
            Err(ProtocolError::MissingField("e"))
        ));
        let mut ext = ExtFields::new();
        long_keys(&SendMessageRequestV2::default()).encode(&mut ext);
        ext.remove("bornTimestamp");
        ext.remove("flag");
        assert!(matches!(
            SendHeader::decode(RequestCode::SendMessage, &ext),
            Err(ProtocolError::MissingField("bornTimestamp"))
        ));
        ext.insert("bornTimestamp", "12x");
        ext.insert("flag", "0");
        assert!(matches!(
            SendHeader::decode(RequestCode::SendMessage, &ext),
            Err(ProtocolError::BadField {
                key: "bornTimestamp",
                ..
            })
        ));
        let mut ext = ExtFields::new();
        SendMessageRequestV2::default().encode(&mut ext);
        ext.insert("l", "nine");
        assert!(matches!(
            SendHeader::decode(RequestCode::SendMessageV2, &ext),
            Err(ProtocolError::BadField { key: "l", .. })
        ));
    }

    #[test]
    fn the_borrowed_response_writes_what_the_owned_one_does() {
        let ids = [None, Some("7F0000010005FFFFFFFF000005DC0000")];
        for (transaction_id, recall_handle) in ids.into_iter().zip([Some("djEgVCBiIDEgSUQ="), None])
        {
            let owned = SendMessageResponse {
                msg_id: "0A00000100002A9F0000000000001234".into(),
                queue_id: 3,
                queue_offset: -9_000_000_000,
                transaction_id: transaction_id.map(str::to_owned),
                batch_uniq_id: None,
                recall_handle: recall_handle.map(str::to_owned),
            };
            let mut a = ExtFields::new();
            owned.encode(&mut a);
            let mut b = ExtFields::new();
            SendMessageResponseRef {
                msg_id: &owned.msg_id,
                queue_id: owned.queue_id,
                queue_offset: owned.queue_offset,
                transaction_id,
                recall_handle,
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
