//! Recall handles (RocketMQ 5.3.2+'s `RecallMessageHandle`, version 1):
//! the send result of a timer message carries one, and its producer hands
//! it back with RECALL_MESSAGE to cancel the message before it is due.
//! The handle is URL-safe base64 of `v1 <topic> <brokerName> <timestamp>
//! <messageId>`, separated by spaces; the client decodes it too (to find
//! the broker), so the layout is the wire format, not Basalt's choice.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

/// Java's `Base64.getUrlEncoder()` pads; its decoder takes either.
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const VERSION_1: &str = "v1";

/// A decoded handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    pub topic: String,
    pub broker_name: String,
    /// The deadline the recall is delivered at, as written: RocketMQ
    /// parses it leniently (a bad number is an invalid time, not an
    /// invalid handle).
    pub timestamp: String,
    /// The message's UNIQ_KEY.
    pub message_id: String,
}

/// The handle of a timer message due at `deadline_ms` (its TIMER_OUT_MS).
/// The recall is due a millisecond later, so the message it cancels comes
/// up first (RocketMQ adds the same millisecond for another reason: its
/// deadlines are rounded down to the second, and the marker must round
/// into the message's second).
pub fn build(topic: &str, broker_name: &str, deadline_ms: i64, message_id: &str) -> String {
    let raw = format!(
        "{VERSION_1} {topic} {broker_name} {} {message_id}",
        deadline_ms.saturating_add(1)
    );
    URL_SAFE.encode(raw)
}

/// Decodes `handle`; the error is RocketMQ's remark for a bad one.
pub fn parse(handle: &str) -> Result<Handle, &'static str> {
    const INVALID: &str = "recall handle is invalid";
    let bytes = URL_SAFE.decode(handle).map_err(|_| INVALID)?;
    let raw = String::from_utf8(bytes).map_err(|_| INVALID)?;
    let mut items = raw.split(' ');
    let (Some(VERSION_1), Some(topic), Some(broker_name), Some(timestamp), Some(message_id)) = (
        items.next(),
        items.next(),
        items.next(),
        items.next(),
        items.next(),
    ) else {
        return Err(INVALID);
    };
    if message_id.is_empty() {
        return Err(INVALID);
    }
    Ok(Handle {
        topic: topic.to_owned(),
        broker_name: broker_name.to_owned(),
        timestamp: timestamp.to_owned(),
        message_id: message_id.to_owned(),
    })
}

/// What names a timer message to cancel (`TIMER_DEL_UNIQKEY`): its real
/// topic and UNIQ_KEY, as RocketMQ's `TimerMessageStore.buildDeleteKey`.
pub fn delete_key(topic: &str, uniq_key: &str) -> String {
    format!("{topic}+{uniq_key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_reads_back_with_the_deadline_a_millisecond_later() {
        let h = build("TopicA", "broker-a", 1_700_000_000_000, "7F00000100002A9F");
        let parsed = parse(&h).unwrap();
        assert_eq!(
            parsed,
            Handle {
                topic: "TopicA".into(),
                broker_name: "broker-a".into(),
                timestamp: "1700000000001".into(),
                message_id: "7F00000100002A9F".into(),
            }
        );
    }

    #[test]
    fn handles_read_as_rocketmq_writes_them() {
        // Java: Base64.getUrlEncoder().encodeToString("v1 T b 5 ID".getBytes()).
        let parsed = parse("djEgVCBiIDUgSUQ=").unwrap();
        assert_eq!(parsed.topic, "T");
        assert_eq!(parsed.timestamp, "5");
        // Its decoder takes a handle without the padding as well.
        assert_eq!(parse("djEgVCBiIDUgSUQ").unwrap(), parsed);
        assert_eq!(build("T", "b", 4, "ID"), "djEgVCBiIDUgSUQ=");
    }

    #[test]
    fn bad_handles_are_refused() {
        for bad in [
            "",
            "***",
            &URL_SAFE.encode("v2 T b 5 ID"),
            &URL_SAFE.encode("v1 T b 5"),
            &URL_SAFE.encode("v1 T b 5 "),
            &URL_SAFE.encode([0xff, 0xfe]),
        ] {
            assert_eq!(parse(bad), Err("recall handle is invalid"), "{bad}");
        }
    }
}
