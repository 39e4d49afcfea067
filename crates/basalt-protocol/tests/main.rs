//! Property tests over the frame and header codecs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use basalt_protocol::frame::{frame_size, DEFAULT_MAX_FRAME};
use basalt_protocol::{LanguageCode, RemotingCommand, SerializeType};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

fn arb_command() -> impl Strategy<Value = RemotingCommand> {
    (
        -32768i32..32767,
        0u8..14,
        -32768i32..32767,
        any::<i32>(),
        any::<i32>(),
        proptest::option::of("[^\u{0}]{1,40}"),
        proptest::collection::btree_map("[a-zA-Z_]{1,12}", "[^\u{0}]{1,30}", 0..8),
        proptest::collection::vec(any::<u8>(), 0..256),
        any::<bool>(),
    )
        .prop_map(
            |(code, lang, version, opaque, flag, remark, ext, body, binary)| RemotingCommand {
                code,
                language: LanguageCode(lang),
                version,
                opaque,
                flag,
                remark,
                ext_fields: ext.into_iter().collect(),
                body: Bytes::from(body),
                serialize_type: if binary {
                    SerializeType::RocketMq
                } else {
                    SerializeType::Json
                },
            },
        )
}

proptest! {
    #[test]
    fn command_round_trips(cmd in arb_command()) {
        let mut buf = BytesMut::new();
        cmd.encode(&mut buf).unwrap();
        let size = frame_size(&buf, DEFAULT_MAX_FRAME).unwrap().unwrap();
        prop_assert_eq!(size, buf.len());
        let frame = buf.freeze().slice(4..);
        let back = RemotingCommand::decode(frame).unwrap();
        prop_assert_eq!(back, cmd);
    }

    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = frame_size(&raw, DEFAULT_MAX_FRAME);
        let _ = RemotingCommand::decode(Bytes::from(raw.clone()));
        let _ = basalt_protocol::fastjson::parse(&raw);
    }

    #[test]
    fn arbitrary_binary_headers_never_panic(
        head in proptest::collection::vec(any::<u8>(), 0..128),
        ty in 0u8..3,
    ) {
        let mut frame = vec![ty, 0, 0, u8::try_from(head.len()).unwrap()];
        frame.extend_from_slice(&head);
        let _ = RemotingCommand::decode(Bytes::from(frame));
    }
}
