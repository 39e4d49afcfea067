//! Header type 1: RocketMQ's binary header (`RocketMQSerializable`).
//!
//! ```text
//! offset size field
//!  0     2    code (i16)
//!  2     1    language (byte)
//!  3     2    version (i16)
//!  5     4    opaque (i32)
//!  9     4    flag (i32)
//! 13     4    remarkLen (i32), then remark UTF-8 (0 = null)
//!  ..    4    extLen (i32): byte length of the map section
//!  ..  extLen repeated: keyLen (i16) key, valLen (i32) value
//! ```
//! Zero-length strings decode as absent, as in Java. Codes above 32767 cannot
//! be carried in this format.

use bytes::{Buf, BufMut, Bytes};

use crate::ext_fields::{key_cmp, ExtFieldsBuilder};
use crate::{LanguageCode, ProtocolError, RemotingCommand};

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn need(&self, what: &'static str, n: usize) -> Result<(), ProtocolError> {
        if self.buf.remaining() < n {
            return Err(ProtocolError::Truncated {
                what,
                needed: n,
                available: self.buf.remaining(),
            });
        }
        Ok(())
    }

    fn i16(&mut self, what: &'static str) -> Result<i16, ProtocolError> {
        self.need(what, 2)?;
        Ok(self.buf.get_i16())
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, ProtocolError> {
        self.need(what, 4)?;
        Ok(self.buf.get_i32())
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, ProtocolError> {
        self.need(what, 1)?;
        Ok(self.buf.get_u8())
    }

    fn bytes(&mut self, what: &'static str, len: i64) -> Result<&'a [u8], ProtocolError> {
        let n = usize::try_from(len).map_err(|_| ProtocolError::NegativeLength { what, len })?;
        self.need(what, n)?;
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn string(&mut self, what: &'static str, len: i64) -> Result<Option<&'a str>, ProtocolError> {
        let raw = self.bytes(what, len)?;
        if raw.is_empty() {
            return Ok(None);
        }
        std::str::from_utf8(raw)
            .map(Some)
            .map_err(|_| ProtocolError::InvalidUtf8 { what })
    }
}

/// Parses a binary header. The body is attached by the caller. The
/// extFields map keeps `header` and indexes it (see [`crate::ExtFields`]).
pub fn decode(header: Bytes) -> Result<RemotingCommand, ProtocolError> {
    let mut r = Reader { buf: &header };
    let code = i32::from(r.i16("code")?);
    let language = LanguageCode(r.u8("language")?);
    let version = i32::from(r.i16("version")?);
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;
    let remark_len = r.i32("remark length")?;
    let remark = r
        .string("remark", i64::from(remark_len))?
        .map(str::to_owned);
    let ext_len = r.i32("extFields length")?;
    // A send header has 13 fields.
    let mut ext = ExtFieldsBuilder::with_capacity(if ext_len > 0 { 16 } else { 0 });
    let mut rising = true;
    if ext_len > 0 {
        let section = r.bytes("extFields", i64::from(ext_len))?;
        // The section ends where the outer reader now stands, so a string
        // starts (in `header`) at `end` less the bytes left from it on.
        let end = header.len() - r.buf.len();
        let mut m = Reader { buf: section };
        // Whether each key sorts strictly after the one before (the map
        // then needs no sort), decided here where both are at hand. An
        // empty slice sorts before every key.
        let mut prev: &[u8] = &[];
        while m.buf.has_remaining() {
            let klen = m.i16("key length")?;
            let k_at = end - m.buf.len();
            let key = m.bytes("key", i64::from(klen))?;
            let vlen = m.i32("value length")?;
            let v_at = end - m.buf.len();
            let value = m.bytes("value", i64::from(vlen))?;
            // Java keeps the last of duplicate keys; a null (empty) key or
            // value is skipped, matching what its decoder yields. Text is
            // checked as UTF-8 when a value is read.
            if !key.is_empty() && !value.is_empty() {
                rising &= key_cmp(prev, key).is_lt();
                prev = key;
                ext.push((k_at, k_at + key.len()), (v_at, v_at + value.len()));
            }
        }
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields: ext.finish_shared(header, rising),
        ..RemotingCommand::default()
    })
}

/// Serialises the header of `cmd` in the binary format, appending it to
/// `dst`; nothing is written on error.
pub fn encode_into<B: BufMut>(cmd: &RemotingCommand, dst: &mut B) -> Result<(), ProtocolError> {
    let code = i16::try_from(cmd.code).map_err(|_| ProtocolError::BadField {
        key: "code",
        value: cmd.code.to_string(),
    })?;
    let version = i16::try_from(cmd.version).unwrap_or(i16::MAX);
    let too_long = |len: usize| ProtocolError::HeaderOverflow(len);
    let mut map_len = 0usize;
    for (k, v) in cmd.ext_fields.raw_iter() {
        i16::try_from(k.len()).map_err(|_| too_long(k.len()))?;
        i32::try_from(v.len()).map_err(|_| too_long(v.len()))?;
        map_len += 6 + k.len() + v.len();
    }
    let remark = cmd.remark.as_deref().unwrap_or("");
    let rlen = i32::try_from(remark.len()).map_err(|_| too_long(remark.len()))?;
    let mlen = i32::try_from(map_len).map_err(|_| too_long(map_len))?;
    dst.put_i16(code);
    dst.put_u8(cmd.language.0);
    dst.put_i16(version);
    dst.put_i32(cmd.opaque);
    dst.put_i32(cmd.flag);
    dst.put_i32(rlen);
    dst.put_slice(remark.as_bytes());
    dst.put_i32(mlen);
    for (k, v) in cmd.ext_fields.raw_iter() {
        // Both lengths were checked above.
        dst.put_i16(k.len() as i16);
        dst.put_slice(k);
        dst.put_i32(v.len() as i32);
        dst.put_slice(v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary header whose map holds `pairs` in this wire order.
    fn header_with(pairs: &[(&str, &str)]) -> Bytes {
        let mut map = Vec::new();
        for (k, v) in pairs {
            map.put_i16(k.len() as i16);
            map.put_slice(k.as_bytes());
            map.put_i32(v.len() as i32);
            map.put_slice(v.as_bytes());
        }
        let mut h = Vec::new();
        h.put_i16(310);
        h.put_u8(0);
        h.put_i16(0);
        h.put_i32(7);
        h.put_i32(0);
        h.put_i32(0);
        h.put_i32(map.len() as i32);
        h.put_slice(&map);
        Bytes::from(h)
    }

    #[test]
    fn keys_out_of_order_or_repeated_are_sorted_and_the_last_kept() {
        let in_order = decode(header_with(&[("a", "1"), ("b", "2"), ("c", "3")])).unwrap();
        let shuffled = decode(header_with(&[
            ("c", "x"),
            ("a", "1"),
            ("", "skipped"),
            ("b", ""),
            ("c", "3"),
            ("b", "2"),
        ]))
        .unwrap();
        assert_eq!(shuffled.ext_fields, in_order.ext_fields);
        let keys: Vec<&[u8]> = shuffled.ext_fields.raw_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [&b"a"[..], b"b", b"c"]);
        assert_eq!(shuffled.ext_fields.get("c"), Some("3"));
        // A repeated key in order is not "rising" either.
        let twice = decode(header_with(&[("a", "1"), ("a", "2")])).unwrap();
        assert_eq!(twice.ext_fields.get("a"), Some("2"));
        assert_eq!(twice.ext_fields.len(), 1);
    }

    #[test]
    fn lengths_past_the_end_are_errors() {
        let mut cmd = RemotingCommand::request(crate::RequestCode::HeartBeat);
        cmd.ext_fields.insert("k", "v");
        let mut bytes = Vec::new();
        encode_into(&cmd, &mut bytes).unwrap();
        for cut in 0..bytes.len() {
            assert!(
                decode(Bytes::copy_from_slice(&bytes[..cut])).is_err(),
                "cut at {cut}"
            );
        }
        let mut bad = bytes.clone();
        bad[13..17].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(decode(Bytes::from(bad)).is_err());
        assert_eq!(
            decode(Bytes::from(bytes)).unwrap().ext_fields,
            cmd.ext_fields
        );
    }
}
