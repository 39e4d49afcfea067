//! `tokio_util` codec over [`basalt_protocol::frame`].

use basalt_protocol::frame::{frame_size, LENGTH_PREFIX};
use basalt_protocol::{ProtocolError, RemotingCommand};
use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::RemotingError;

/// Frames are cut by their length prefix, which is checked against
/// `max_frame` before any byte of the frame is buffered.
///
/// A frame whose header cannot be decoded still has intact boundaries, so it
/// is yielded as `Err` inside `Ok(Some(..))` and the connection can answer
/// and go on; a bad length breaks framing and ends the stream.
#[derive(Debug, Clone)]
pub struct RemotingCodec {
    max_frame: usize,
}

impl RemotingCodec {
    pub fn new(max_frame: usize) -> Self {
        Self { max_frame }
    }
}

impl Decoder for RemotingCodec {
    type Item = Result<RemotingCommand, ProtocolError>;
    type Error = RemotingError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, RemotingError> {
        let Some(size) = frame_size(src, self.max_frame)? else {
            return Ok(None);
        };
        if src.len() < size {
            src.reserve(size - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(size);
        frame.advance(LENGTH_PREFIX);
        Ok(Some(RemotingCommand::decode(frame.freeze())))
    }
}

impl Encoder<RemotingCommand> for RemotingCodec {
    type Error = RemotingError;

    fn encode(&mut self, cmd: RemotingCommand, dst: &mut BytesMut) -> Result<(), RemotingError> {
        cmd.encode(dst)?;
        Ok(())
    }
}
