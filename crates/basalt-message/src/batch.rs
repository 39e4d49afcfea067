//! The SEND_BATCH_MESSAGE body (`MessageDecoder.encodeMessages`).
//!
//! ```text
//! repeated:
//!   TOTALSIZE i32  (= 22 + bodyLen + propLen)
//!   MAGICCODE i32  (0)
//!   BODYCRC   i32  (0)
//!   FLAG      i32
//!   BODYLEN   i32, BODY
//!   PROPLEN   i16, PROPERTIES
//! ```

use bytes::{Buf, Bytes};

use crate::error::MessageError;
use crate::properties::Properties;
use crate::Result;

const FIXED: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// One inner message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// User flag.
    pub flag: i32,
    /// Body (zero-copy slice of the batch body).
    pub body: Bytes,
    /// Inner properties.
    pub properties: Properties,
}

fn truncated(field: &'static str, at: usize, needed: usize, available: usize) -> MessageError {
    MessageError::Truncated {
        field,
        at,
        needed,
        available,
    }
}

/// Splits a batch body into its messages. Fails on the first malformed
/// block, naming its offset; never allocates more than the input holds.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchItem>> {
    let mut items = Vec::new();
    let mut rest = body.clone();
    while !rest.is_empty() {
        let at = body.len() - rest.len();
        if rest.len() < FIXED {
            return Err(truncated("batch header", at, FIXED, rest.len()));
        }
        let total = rest.get_i32();
        let _magic = rest.get_i32();
        let _crc = rest.get_i32();
        let flag = rest.get_i32();
        let body_len = rest.get_i32();
        let body_len = usize::try_from(body_len).map_err(|_| MessageError::BadLength {
            field: "batch BODYLEN",
            value: i64::from(body_len),
        })?;
        // PROPLEN (2 bytes) must follow the body.
        if rest.len() < body_len + 2 {
            return Err(truncated("batch BODY", at, body_len + 2, rest.len()));
        }
        let item_body = rest.split_to(body_len);
        let props_len = rest.get_i16();
        let props_len = usize::try_from(props_len).map_err(|_| MessageError::BadLength {
            field: "batch PROPLEN",
            value: i64::from(props_len),
        })?;
        if rest.len() < props_len {
            return Err(truncated("batch PROPERTIES", at, props_len, rest.len()));
        }
        let props = rest.split_to(props_len);
        if i64::from(total) != (FIXED + body_len + props_len) as i64 {
            return Err(MessageError::BadLength {
                field: "batch TOTALSIZE",
                value: i64::from(total),
            });
        }
        items.push(BatchItem {
            flag,
            body: item_body,
            properties: Properties::decode(&props),
        });
    }
    Ok(items)
}

/// Encodes messages as a batch body (what a producer sends).
pub fn encode_batch(items: &[BatchItem]) -> Result<Vec<u8>> {
    use bytes::BufMut;
    let mut out = Vec::new();
    for item in items {
        let props = item.properties.encode();
        let too_long = |field, len| MessageError::TooLong {
            field,
            len,
            limit: i16::MAX as usize,
        };
        let props_len =
            i16::try_from(props.len()).map_err(|_| too_long("PROPERTIES", props.len()))?;
        let total = i32::try_from(FIXED + item.body.len() + props.len())
            .map_err(|_| too_long("BODY", item.body.len()))?;
        out.put_i32(total);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(item.flag);
        out.put_i32(total - FIXED as i32 - i32::from(props_len));
        out.put_slice(&item.body);
        out.put_i16(props_len);
        out.put_slice(props.as_bytes());
    }
    Ok(out)
}
