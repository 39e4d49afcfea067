//! The RocketMQ remoting protocol as typed values: frames, codes, headers, bodies.
//!
//! Data path: bytes arrive at `basalt-remoting`, which finds frame boundaries and
//! hands each frame to [`RemotingCommand::decode`]; roles (`basalt-namesrv`,
//! `basalt-broker`) read typed headers ([`CommandHeader`]) and JSON bodies
//! ([`body`]) from it and build their replies with the same types.
//!
//! This crate is pure: no I/O, no tokio, and it must not depend on any other
//! Basalt crate. Every decoder is bounded and returns a [`ProtocolError`]
//! instead of panicking, because everything here is client-controlled.

pub mod binary_header;
pub mod body;
pub mod codes;
pub mod command;
pub mod config_text;
pub mod error;
mod ext_fields;
pub mod fastjson;
pub mod frame;
pub mod header;
pub mod headers;
pub mod json_header;
mod json_scan;
mod json_write;
pub mod language;

pub use codes::{RequestCode, ResponseCode};
pub use command::{CompactString, ExtFields, RemotingCommand, SerializeType};
pub use error::ProtocolError;
pub use header::CommandHeader;
pub use language::LanguageCode;

/// The `version` Basalt puts in every command it sends: `V5_3_3`, the
/// ordinal Apache RocketMQ 5.3.3 sends. Clients gate features on it (SQL92
/// pulls need >= 232, standard route JSON >= 401), so it must not be lower.
pub const BASALT_VERSION: i32 = 479;

/// `MQVersion` ordinal of V3_0_7_SNAPSHOT: older consumers cannot report
/// their offsets to the broker (GET_CONSUMER_STATUS_FROM_CLIENT).
pub const VERSION_V3_0_7_SNAPSHOT: i32 = 28;

/// `MQVersion` ordinal of V3_0_11: older brokers register a bare topic config.
pub const VERSION_V3_0_11: i32 = 37;

/// `MQVersion` ordinal of V3_1_8_SNAPSHOT: older consumers cannot answer
/// the admin calls a broker passes on (running info, consume directly).
pub const VERSION_V3_1_8_SNAPSHOT: i32 = 62;

/// `MQVersion` ordinal of V3_4_9: from here on the broker honours
/// `maxReconsumeTimes` from send and send-back headers.
pub const VERSION_V3_4_9: i32 = 121;

/// `MQVersion` ordinal of V4_9_4: from here on clients get standard route JSON.
pub const VERSION_V4_9_4: i32 = 401;
