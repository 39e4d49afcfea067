/// Everything that can go wrong decoding or encoding a message.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// The input ended before a field could be read.
    #[error("truncated record: need {needed} bytes at offset {at} for {field}, have {available}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Byte offset of the field within the input.
        at: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes available from `at`.
        available: usize,
    },
    /// The magic code is neither message v1/v2 nor the blank marker.
    #[error("unknown magic code {0:#010x}")]
    BadMagic(u32),
    /// A length field is negative or disagrees with the total size.
    #[error("bad length for {field}: {value}")]
    BadLength {
        /// The field whose length is wrong.
        field: &'static str,
        /// The announced value.
        value: i64,
    },
    /// The stored body CRC does not match the body.
    #[error("body CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// CRC from the record.
        stored: u32,
        /// CRC over the body bytes.
        computed: u32,
    },
    /// A value is too large for its field (topic > 32767 bytes, properties > 32767 bytes, ...).
    #[error("{field} too long: {len} bytes, limit {limit}")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Actual length.
        len: usize,
        /// Limit.
        limit: usize,
    },
    /// A message id string is malformed.
    #[error("bad message id {0:?}")]
    BadMessageId(String),
}
