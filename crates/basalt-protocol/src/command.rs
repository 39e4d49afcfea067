//! `RemotingCommand`: one request or response, header plus body.

use bytes::{BufMut, Bytes, BytesMut};
pub use compact_str::CompactString;

pub use crate::ext_fields::ExtFields;

use crate::codes::{RequestCode, ResponseCode};
use crate::header::CommandHeader;
use crate::{binary_header, json_header, LanguageCode, ProtocolError, BASALT_VERSION};

/// Bit 0 of `flag`: this command is a response.
pub const FLAG_RESPONSE: i32 = 1;
/// Bit 1 of `flag`: a oneway request, which never gets a response.
pub const FLAG_ONEWAY: i32 = 1 << 1;

/// How the header of a frame is serialised (top byte of the header word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    /// Type 0. Every client reads it, so Basalt always answers in JSON.
    #[default]
    Json,
    /// Type 1, RocketMQ's binary header.
    RocketMq,
}

impl SerializeType {
    fn from_byte(b: u8) -> Result<Self, ProtocolError> {
        match b {
            0 => Ok(Self::Json),
            1 => Ok(Self::RocketMq),
            other => Err(ProtocolError::UnknownSerializeType(other)),
        }
    }

    fn byte(self) -> u8 {
        match self {
            Self::Json => 0,
            Self::RocketMq => 1,
        }
    }
}

/// One remoting command. `code` is a request code or, with
/// [`FLAG_RESPONSE`] set, a response code.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemotingCommand {
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    pub body: Bytes,
    /// The header format this command arrived in, or will be written in.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A new request with Basalt's language and version.
    pub fn request(code: RequestCode) -> Self {
        Self {
            code: code.as_i32(),
            language: LanguageCode::JAVA,
            version: BASALT_VERSION,
            ..Self::default()
        }
    }

    /// A response; the router fills in `opaque` and the response flag.
    pub fn response(code: ResponseCode, remark: impl Into<Option<String>>) -> Self {
        Self {
            code: code.as_i32(),
            language: LanguageCode::JAVA,
            version: BASALT_VERSION,
            flag: FLAG_RESPONSE,
            remark: remark.into(),
            ..Self::default()
        }
    }

    /// A SUCCESS response with no remark.
    pub fn success() -> Self {
        Self::response(ResponseCode::Success, None)
    }

    pub fn request_code(&self) -> RequestCode {
        RequestCode::from_i32(self.code)
    }

    pub fn response_code(&self) -> ResponseCode {
        ResponseCode::from_i32(self.code)
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// Marks this command as a oneway request.
    pub fn oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    /// Adds every field of a typed header to `ext_fields`.
    pub fn with_header<H: CommandHeader>(mut self, header: &H) -> Self {
        header.encode(&mut self.ext_fields);
        self
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Reads a typed header out of `ext_fields`.
    pub fn header<H: CommandHeader>(&self) -> Result<H, ProtocolError> {
        H::decode(&self.ext_fields)
    }

    /// Decodes one frame: `frame` starts at the header word, right after the
    /// length prefix (see [`crate::frame`]). The body is a zero-copy slice.
    pub fn decode(frame: Bytes) -> Result<Self, ProtocolError> {
        let word = frame
            .get(..4)
            .ok_or(ProtocolError::Truncated {
                what: "header word",
                needed: 4,
                available: frame.len(),
            })?
            .iter()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        let serialize_type = SerializeType::from_byte(word.to_be_bytes()[0])?;
        let header_len = (word & 0x00FF_FFFF) as usize;
        let available = frame.len() - 4;
        if header_len > available {
            return Err(ProtocolError::HeaderTooLong {
                header_len,
                frame_len: available,
            });
        }
        let body_len = available - header_len;
        let header = frame.get(4..4 + header_len).unwrap_or_default();
        let mut cmd = match serialize_type {
            SerializeType::Json => json_header::decode(header)?,
            // The binary header's map keeps its bytes (see `ExtFields`). A
            // request with a body already keeps the frame's buffer (a send,
            // until its handler returns): a slice is free. One without may
            // wait a while (a long-polling pull) and would keep the
            // connection's whole read buffer for its few header bytes: it
            // gets a copy of its own.
            SerializeType::RocketMq if body_len > 0 => {
                binary_header::decode(frame.slice(4..4 + header_len))?
            }
            SerializeType::RocketMq => binary_header::decode(Bytes::copy_from_slice(header))?,
        };
        cmd.serialize_type = serialize_type;
        cmd.body = frame.slice(4 + header_len..);
        Ok(cmd)
    }

    /// Appends the whole frame, length prefix included, to `dst`. The
    /// header is written in place (no intermediate buffer); on error `dst`
    /// is left as it was.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        let start = dst.len();
        dst.reserve(8 + 128 + self.body.len());
        dst.put_u64(0); // length and header word, patched below
        let written = match self.serialize_type {
            SerializeType::Json => json_header::encode_into(self, dst),
            SerializeType::RocketMq => binary_header::encode_into(self, dst),
        };
        let header_len = dst.len() - start - 8;
        let total = 4 + header_len + self.body.len();
        let checked = written.and_then(|()| {
            if header_len > 0x00FF_FFFF {
                return Err(ProtocolError::HeaderOverflow(header_len));
            }
            i32::try_from(total).map_err(|_| ProtocolError::HeaderOverflow(total))
        });
        let total = match checked {
            Ok(total) => total,
            Err(e) => {
                dst.truncate(start);
                return Err(e);
            }
        };
        // header_len fits in 24 bits (checked above), so the cast is exact.
        let word = (u32::from(self.serialize_type.byte()) << 24) | header_len as u32;
        let prefix = (u64::from(total.unsigned_abs()) << 32) | u64::from(word);
        if let Some(slot) = dst.get_mut(start..start + 8) {
            slot.copy_from_slice(&prefix.to_be_bytes());
        }
        dst.put_slice(&self.body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frame as the codec yields it: after the length prefix.
    fn frame(cmd: &RemotingCommand) -> Bytes {
        let mut out = BytesMut::new();
        cmd.encode(&mut out).unwrap();
        out.split_off(4).freeze()
    }

    #[test]
    fn a_bodyless_binary_request_keeps_none_of_the_read_buffer() {
        let mut pull = RemotingCommand::request(RequestCode::PullMessage);
        pull.serialize_type = SerializeType::RocketMq;
        pull.ext_fields.insert("topic", "T");
        let buf = frame(&pull);
        let cmd = RemotingCommand::decode(buf.clone()).unwrap();
        assert_eq!(cmd.ext_fields.get("topic"), Some("T"));
        assert!(buf.is_unique(), "a held pull would pin the read buffer");

        // With a body the frame is kept anyway (the body is a slice of it),
        // and the header is read in place.
        let send = pull.with_body(&b"body"[..]);
        let buf = frame(&send);
        let cmd = RemotingCommand::decode(buf.clone()).unwrap();
        assert_eq!(cmd.ext_fields.get("topic"), Some("T"));
        assert!(!buf.is_unique());
        drop(cmd);
        assert!(buf.is_unique());
    }
}
