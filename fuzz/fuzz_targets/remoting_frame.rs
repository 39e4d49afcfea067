//! Arbitrary bytes through the same entry points the server uses: frame
//! length check, command decode (both header formats), lenient JSON bodies.
#![no_main]

use basalt_protocol::body::register::RegisterBrokerBody;
use basalt_protocol::body::JsonBody;
use basalt_protocol::frame::{frame_size, DEFAULT_MAX_FRAME};
use basalt_protocol::RemotingCommand;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = frame_size(data, DEFAULT_MAX_FRAME);
    if let Ok(cmd) = RemotingCommand::decode(bytes::Bytes::copy_from_slice(data)) {
        let _ = RegisterBrokerBody::decode(&cmd.body);
    }
    let _ = basalt_protocol::fastjson::parse(data);
});
