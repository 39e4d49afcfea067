//! The message model at the bottom of Basalt's data path.
//!
//! A producer's message arrives in `remoting`, is typed by `protocol`, turned
//! into a [`MessageExtBrokerInner`] by the broker, and handed to `basalt-store`,
//! which encodes it into a CommitLog record with this crate. Pulls return the
//! stored records byte-for-byte and clients decode them with the same layout.
//!
//! This crate is pure: no I/O, no async, no dependency on any other Basalt
//! crate. Every decoder is bounded and returns a [`MessageError`] naming the
//! field that failed, never panics (property tests feed arbitrary bytes).

mod batch;
mod error;
mod hash;
mod inner;
mod msgid;
pub mod properties;
mod record;
pub mod sysflag;
pub mod time;

pub use batch::{decode_batch, encode_batch, BatchItem};
pub use error::MessageError;
pub use hash::{java_string_hash, java_string_hash_concat, tags_code};
pub use inner::MessageExtBrokerInner;
pub use msgid::{decode_offset_msg_id, encode_offset_msg_id, OffsetMsgId, UniqKeyGenerator};
pub use properties::Properties;
pub use record::{
    body_crc, record_len, BlankOrRecord, EncodeParams, Planned, Record, BLANK_MAGIC_CODE,
    MAGIC_CODE_V1, MAGIC_CODE_V2, MAX_PROPERTIES_LEN,
};

/// Result alias for this crate.
pub type Result<T, E = MessageError> = std::result::Result<T, E>;
