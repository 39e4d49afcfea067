//! The one error type of the protocol crate.

/// Why bytes or fields from the wire could not become a typed value.
///
/// Each variant says where decoding stopped; the remoting layer turns these
/// into a SYSTEM_ERROR reply (or closes the connection when framing is lost).
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("frame length {len} outside 4..={max} bytes")]
    FrameLength { len: i64, max: usize },
    #[error("header length {header_len} exceeds frame length {frame_len}")]
    HeaderTooLong { header_len: usize, frame_len: usize },
    #[error("unknown serialize type {0}")]
    UnknownSerializeType(u8),
    #[error("truncated {what}: need {needed} bytes, {available} available")]
    Truncated {
        what: &'static str,
        needed: usize,
        available: usize,
    },
    #[error("negative length {len} for {what}")]
    NegativeLength { what: &'static str, len: i64 },
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 { what: &'static str },
    #[error("invalid JSON header: {0}")]
    JsonHeader(#[source] serde_json::Error),
    #[error("JSON header field `{field}` has an invalid value")]
    JsonHeaderField { field: &'static str },
    #[error("missing header field `{0}`")]
    MissingField(&'static str),
    #[error("header field `{key}` has invalid value `{value}`")]
    BadField { key: &'static str, value: String },
    #[error("invalid {what} body: {source}")]
    Body {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("malformed JSON at byte {at}: {reason}")]
    Json { at: usize, reason: &'static str },
    #[error("header too large to encode: {0} bytes")]
    HeaderOverflow(usize),
}
