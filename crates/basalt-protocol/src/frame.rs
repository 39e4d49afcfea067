//! Frame boundaries, checked before anything is buffered.
//!
//! ```text
//! +----------+-------------------+--------------+-----------+
//! | i32 len  | i32 hdrWord       | header bytes | body      |
//! +----------+-------------------+--------------+-----------+
//! len     = 4 + headerLen + bodyLen   (does not count itself)
//! hdrWord = (serializeType << 24) | headerLen
//! ```

use crate::ProtocolError;

/// Apache RocketMQ's default `com.rocketmq.remoting.frameMaxLength`: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Size of the length prefix.
pub const LENGTH_PREFIX: usize = 4;

/// Reads the announced length from the first four bytes of `buf`.
///
/// Returns the whole frame size including the prefix, `None` when fewer than
/// four bytes are there yet, or an error when the announced length is below
/// the minimum (the header word) or above `max` — the caller must then drop
/// the connection, because the stream can no longer be re-synchronised.
pub fn frame_size(buf: &[u8], max: usize) -> Result<Option<usize>, ProtocolError> {
    let Some(prefix) = buf.get(..LENGTH_PREFIX) else {
        return Ok(None);
    };
    let mut word = [0u8; 4];
    word.copy_from_slice(prefix);
    let len = i32::from_be_bytes(word);
    match usize::try_from(len) {
        Ok(n) if (4..=max).contains(&n) => Ok(Some(n + LENGTH_PREFIX)),
        _ => Err(ProtocolError::FrameLength {
            len: i64::from(len),
            max,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_checked_before_buffering() {
        assert!(frame_size(&[0, 0], 100).unwrap().is_none());
        assert_eq!(frame_size(&[0, 0, 0, 10], 100).unwrap(), Some(14));
        assert!(frame_size(&[0, 0, 0, 101], 100).is_err());
        assert!(frame_size(&[0, 0, 0, 3], 100).is_err());
        assert!(frame_size(&[0xff, 0xff, 0xff, 0xff], 100).is_err());
    }
}
