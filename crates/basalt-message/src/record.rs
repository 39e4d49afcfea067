//! The CommitLog record, byte-for-byte as RocketMQ writes it
//! (`MessageExtEncoder`, `CommitLog.checkMessageAndReturnSize`). Big-endian.
//!
//! ```text
//! off  size      field
//!   0  4         TOTALSIZE (whole record incl. this field)
//!   4  4         MAGICCODE  v1 0xDAA320A7 | v2 0xDAA320AB | BLANK 0xCBD43194
//!   8  4         BODYCRC    CRC-32(body) & 0x7FFFFFFF
//!  12  4         QUEUEID
//!  16  4         FLAG
//!  20  8         QUEUEOFFSET (patched at append)
//!  28  8         PHYSICALOFFSET (patched at append)
//!  36  4         SYSFLAG
//!  40  8         BORNTIMESTAMP
//!  48  8|20      BORNHOST   ip(4|16) + port i32
//!   .  8         STORETIMESTAMP (patched at append)
//!   .  8|20      STOREHOST  ip(4|16) + port i32
//!   .  4         RECONSUMETIMES
//!   .  8         PREPARED_TX_OFFSET
//!   .  4+n       BODYLEN, BODY
//!   .  1|2 + n   TOPICLEN (v1: signed i8, v2: i16), TOPIC
//!   .  2+n       PROPLEN (i16), PROPERTIES
//! ```
//!
//! The blank marker that pads the end of a CommitLog file is 8 bytes:
//! `[i32 remaining][i32 BLANK]`; the whole remainder of the file counts as used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes};

use crate::error::MessageError;
use crate::inner::MessageExtBrokerInner;
use crate::properties::Properties;
use crate::sysflag::{BORNHOST_V6, STOREHOST_V6};
use crate::Result;

/// Magic of a v1 record (1-byte topic length).
pub const MAGIC_CODE_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// Magic of a v2 record (2-byte topic length).
pub const MAGIC_CODE_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Magic of the end-of-file blank marker.
pub const BLANK_MAGIC_CODE: i32 = 0xCBD4_3194_u32 as i32;
/// PROPLEN is an i16.
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;
/// v1 topic length is a signed byte.
const MAX_V1_TOPIC_LEN: usize = i8::MAX as usize;
const MAX_TOPIC_LEN: usize = i16::MAX as usize;

/// CRC-32 (IEEE) of `body`, masked to 31 bits as RocketMQ stores it.
pub fn body_crc(body: &[u8]) -> u32 {
    crc32fast::hash(body) & 0x7FFF_FFFF
}

fn host_len(sys_flag: i32, v6_bit: i32) -> usize {
    if sys_flag & v6_bit == 0 {
        8
    } else {
        20
    }
}

/// Total record length for the given field sizes (`MessageExtEncoder.calMsgLength`).
pub fn record_len(v2: bool, sys_flag: i32, body: usize, topic: usize, props: usize) -> usize {
    let topic_len_field = if v2 { 2 } else { 1 };
    4 + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(sys_flag, BORNHOST_V6)
        + 8
        + host_len(sys_flag, STOREHOST_V6)
        + 4
        + 8
        + 4
        + body
        + topic_len_field
        + topic
        + 2
        + props
}

/// Offsets the store fills in under its append lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeParams {
    /// Logical index in the ConsumeQueue.
    pub queue_offset: i64,
    /// Commit-log offset of the record.
    pub physical_offset: i64,
    /// Store time (ms).
    pub store_timestamp: i64,
}

/// A decoded record. Body and properties share the input buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// TOTALSIZE.
    pub total_size: i32,
    /// True for the v2 magic (2-byte topic length).
    pub v2: bool,
    /// Stored body CRC.
    pub body_crc: u32,
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG.
    pub flag: i32,
    /// QUEUEOFFSET.
    pub queue_offset: i64,
    /// PHYSICALOFFSET.
    pub physical_offset: i64,
    /// SYSFLAG.
    pub sys_flag: i32,
    /// BORNTIMESTAMP.
    pub born_timestamp: i64,
    /// BORNHOST.
    pub born_host: SocketAddr,
    /// STORETIMESTAMP.
    pub store_timestamp: i64,
    /// STOREHOST.
    pub store_host: SocketAddr,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED_TX_OFFSET.
    pub prepared_transaction_offset: i64,
    /// BODY (zero-copy slice of the input).
    pub body: Bytes,
    /// TOPIC (invalid UTF-8 replaced, as Java does).
    pub topic: String,
    /// PROPERTIES, raw (zero-copy slice of the input).
    pub properties_raw: Bytes,
}

/// What sits at a record position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlankOrRecord {
    /// The end-of-file marker: the rest of the file (`size` bytes) is padding.
    Blank {
        /// Remaining bytes of the file, marker included.
        size: i32,
    },
    /// A message record.
    Record(Box<Record>),
}

struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<Bytes> {
        let available = self.buf.len().saturating_sub(self.pos);
        if n > available {
            return Err(MessageError::Truncated {
                field,
                at: self.pos,
                needed: n,
                available,
            });
        }
        let out = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(out)
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let b = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&b);
        Ok(out)
    }
    fn i8(&mut self, f: &'static str) -> Result<i8> {
        Ok(i8::from_be_bytes(self.array(f)?))
    }
    fn i16(&mut self, f: &'static str) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array(f)?))
    }
    fn i32(&mut self, f: &'static str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(f)?))
    }
    fn i64(&mut self, f: &'static str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array(f)?))
    }
    fn len(&mut self, value: i64, field: &'static str) -> Result<Bytes> {
        let n = usize::try_from(value).map_err(|_| MessageError::BadLength { field, value })?;
        self.take(n, field)
    }
    fn host(&mut self, v6: bool, field: &'static str) -> Result<SocketAddr> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>(field)?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>(field)?))
        };
        let port = self.i32(field)?;
        let port = u16::try_from(port).map_err(|_| MessageError::BadLength {
            field,
            value: i64::from(port),
        })?;
        Ok(SocketAddr::new(ip, port))
    }
}

impl BlankOrRecord {
    /// Decodes the record at the start of `buf`. With `check_crc` the body
    /// CRC is verified. The record may be followed by other bytes.
    pub fn decode(buf: &Bytes, check_crc: bool) -> Result<Self> {
        let mut r = Reader { buf, pos: 0 };
        let total_size = r.i32("TOTALSIZE")?;
        let magic = r.i32("MAGICCODE")?;
        let v2 = match magic {
            MAGIC_CODE_V1 => false,
            MAGIC_CODE_V2 => true,
            BLANK_MAGIC_CODE => return Ok(Self::Blank { size: total_size }),
            other => return Err(MessageError::BadMagic(other as u32)),
        };
        let total = usize::try_from(total_size).unwrap_or(0);
        if total < record_len(false, 0, 0, 0, 0) || total > buf.len() {
            return Err(MessageError::BadLength {
                field: "TOTALSIZE",
                value: i64::from(total_size),
            });
        }
        let stored_crc = r.i32("BODYCRC")? as u32;
        let queue_id = r.i32("QUEUEID")?;
        let flag = r.i32("FLAG")?;
        let queue_offset = r.i64("QUEUEOFFSET")?;
        let physical_offset = r.i64("PHYSICALOFFSET")?;
        let sys_flag = r.i32("SYSFLAG")?;
        let born_timestamp = r.i64("BORNTIMESTAMP")?;
        let born_host = r.host(sys_flag & BORNHOST_V6 != 0, "BORNHOST")?;
        let store_timestamp = r.i64("STORETIMESTAMP")?;
        let store_host = r.host(sys_flag & STOREHOST_V6 != 0, "STOREHOST")?;
        let reconsume_times = r.i32("RECONSUMETIMES")?;
        let prepared_transaction_offset = r.i64("PREPARED_TX_OFFSET")?;
        let body_len = r.i32("BODYLEN")?;
        let body = r.len(i64::from(body_len), "BODY")?;
        let topic_len = if v2 {
            i64::from(r.i16("TOPICLEN")?)
        } else {
            i64::from(r.i8("TOPICLEN")?)
        };
        let topic = r.len(topic_len, "TOPIC")?;
        let props_len = r.i16("PROPLEN")?;
        let properties_raw = r.len(i64::from(props_len), "PROPERTIES")?;
        if r.pos != total {
            return Err(MessageError::BadLength {
                field: "TOTALSIZE",
                value: i64::from(total_size),
            });
        }
        if check_crc {
            let computed = body_crc(&body);
            if computed != stored_crc {
                return Err(MessageError::CrcMismatch {
                    stored: stored_crc,
                    computed,
                });
            }
        }
        Ok(Self::Record(Box::new(Record {
            total_size,
            v2,
            body_crc: stored_crc,
            queue_id,
            flag,
            queue_offset,
            physical_offset,
            sys_flag,
            born_timestamp,
            born_host,
            store_timestamp,
            store_host,
            reconsume_times,
            prepared_transaction_offset,
            body,
            topic: String::from_utf8_lossy(&topic).into_owned(),
            properties_raw,
        })))
    }

    /// Writes the 8-byte blank marker for `remaining` bytes of file.
    pub fn blank_marker(remaining: i32) -> [u8; 8] {
        let mut out = [0u8; 8];
        let (a, b) = out.split_at_mut(4);
        a.copy_from_slice(&remaining.to_be_bytes());
        b.copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
        out
    }
}

impl Record {
    /// Parsed properties.
    pub fn properties(&self) -> Properties {
        Properties::decode(&self.properties_raw)
    }

    /// Encodes `msg` with the given offsets. Errors when the topic or the
    /// properties do not fit their length fields. Sets the host-v6 sysflag
    /// bits from the addresses.
    pub fn encode(msg: &MessageExtBrokerInner, params: EncodeParams) -> Result<Vec<u8>> {
        let plan = Self::plan(msg)?;
        let mut out = Vec::with_capacity(plan.len());
        plan.write_into(params, &mut out);
        Ok(out)
    }

    /// Checks and measures `msg` for [`Planned::write_into`]: the checks
    /// [`Self::encode`] makes, and the body CRC.
    pub fn plan(msg: &MessageExtBrokerInner) -> Result<Planned<'_>> {
        plan(msg)
    }
}

/// Copies `bytes` into `buf` at `pos` (nothing if they do not fit);
/// returns where they end.
pub(crate) fn put_at(buf: &mut [u8], pos: usize, bytes: &[u8]) -> usize {
    if let Some(dst) = buf.get_mut(pos..pos + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
    pos + bytes.len()
}

fn host_flag(addr: &SocketAddr, bit: i32) -> i32 {
    if addr.is_ipv6() {
        bit
    } else {
        0
    }
}

fn put_host(out: &mut Vec<u8>, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(i32::from(addr.port()));
}

/// A message checked and measured for encoding, its body CRC taken: the
/// store plans outside its append lock, then writes the record straight
/// into its staging buffer with the offsets the lock hands out (encoded
/// into a vector of its own first, each record cost an allocation and a
/// copy).
#[derive(Debug, Clone, Copy)]
pub struct Planned<'m> {
    msg: &'m MessageExtBrokerInner,
    len: usize,
    props_len: usize,
    v2: bool,
    sys_flag: i32,
    crc: u32,
}

fn plan(msg: &MessageExtBrokerInner) -> Result<Planned<'_>> {
    let props_len = msg.properties.encoded_len();
    let topic = msg.topic.as_bytes();
    if topic.len() > MAX_TOPIC_LEN {
        return Err(MessageError::TooLong {
            field: "TOPIC",
            len: topic.len(),
            limit: MAX_TOPIC_LEN,
        });
    }
    if props_len > MAX_PROPERTIES_LEN {
        return Err(MessageError::TooLong {
            field: "PROPERTIES",
            len: props_len,
            limit: MAX_PROPERTIES_LEN,
        });
    }
    if i32::try_from(msg.body.len()).is_err() {
        return Err(MessageError::TooLong {
            field: "BODY",
            len: msg.body.len(),
            limit: i32::MAX as usize,
        });
    }
    let v2 = topic.len() > MAX_V1_TOPIC_LEN;
    let sys_flag = (msg.sys_flag & !(BORNHOST_V6 | STOREHOST_V6))
        | host_flag(&msg.born_host, BORNHOST_V6)
        | host_flag(&msg.store_host, STOREHOST_V6);
    let len = record_len(v2, sys_flag, msg.body.len(), topic.len(), props_len);
    if i32::try_from(len).is_err() {
        return Err(MessageError::TooLong {
            field: "TOTALSIZE",
            len,
            limit: i32::MAX as usize,
        });
    }
    Ok(Planned {
        msg,
        len,
        props_len,
        v2,
        sys_flag,
        crc: body_crc(&msg.body),
    })
}

impl Planned<'_> {
    /// The record's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never: a record has a fixed part.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends the record, exactly [`Self::len`] bytes, to `out`; the
    /// properties are written in place.
    pub fn write_into(&self, params: EncodeParams, out: &mut Vec<u8>) {
        let msg = self.msg;
        let topic = msg.topic.as_bytes();
        out.reserve(self.len);
        // Lengths were bounded by `plan`, so these casts are exact.
        out.put_i32(self.len as i32);
        out.put_i32(if self.v2 {
            MAGIC_CODE_V2
        } else {
            MAGIC_CODE_V1
        });
        out.put_u32(self.crc);
        out.put_i32(msg.queue_id);
        out.put_i32(msg.flag);
        out.put_i64(params.queue_offset);
        out.put_i64(params.physical_offset);
        out.put_i32(self.sys_flag);
        out.put_i64(msg.born_timestamp);
        put_host(out, &msg.born_host);
        out.put_i64(params.store_timestamp);
        put_host(out, &msg.store_host);
        out.put_i32(msg.reconsume_times);
        out.put_i64(msg.prepared_transaction_offset);
        out.put_i32(msg.body.len() as i32);
        out.put_slice(&msg.body);
        if self.v2 {
            out.put_i16(topic.len() as i16);
        } else {
            out.put_i8(topic.len() as i8);
        }
        out.put_slice(topic);
        out.put_i16(self.props_len as i16);
        msg.properties.encode_into(out);
    }
}
