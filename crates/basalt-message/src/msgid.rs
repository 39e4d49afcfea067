//! Message ids (`MessageDecoder.createMessageId`, `MessageClientIDSetter`).
//! Both kinds are uppercase hex.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};

use crate::error::MessageError;
use crate::record::put_at;

fn hex_pair(b: u8) -> [u8; 2] {
    // Uppercase, as Java's `UtilAll.bytes2string`; arithmetic, not a table
    // lookup (one id per stored message).
    let digit = |n: u8| if n < 10 { b'0' + n } else { b'A' - 10 + n };
    [digit(b >> 4), digit(b & 0xF)]
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        for c in hex_pair(b) {
            out.push(char::from(c));
        }
    }
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// The offset message id: store-host IP + port (i32) + commit-log offset
/// (i64): 32 hex chars for IPv4, 56 for IPv6. One per stored message, so
/// the IP's bytes are not collected into a vector first.
pub fn encode_offset_msg_id(store_host: SocketAddr, physical_offset: i64) -> String {
    OffsetMsgId::new(store_host, physical_offset)
        .as_str()
        .to_owned()
}

/// An offset message id held on the stack: every send answers one, and
/// it only goes on into the reply header, which copies it.
#[derive(Clone, Copy)]
pub struct OffsetMsgId {
    text: [u8; 2 * (16 + 4 + 8)],
    len: usize,
}

impl OffsetMsgId {
    pub fn new(store_host: SocketAddr, physical_offset: i64) -> Self {
        // The bytes are laid out on the stack and turned to hex in one
        // pass (a `String::push` per digit cost ~490 instructions a send).
        let mut raw = [0u8; 16 + 4 + 8];
        let ip_len = match store_host.ip() {
            IpAddr::V4(a) => put_at(&mut raw, 0, &a.octets()),
            IpAddr::V6(a) => put_at(&mut raw, 0, &a.octets()),
        };
        let port_end = put_at(
            &mut raw,
            ip_len,
            &i32::from(store_host.port()).to_be_bytes(),
        );
        let end = put_at(&mut raw, port_end, &physical_offset.to_be_bytes());
        let mut text = [0u8; 2 * (16 + 4 + 8)];
        for (pair, &b) in text
            .chunks_exact_mut(2)
            .zip(raw.get(..end).unwrap_or_default())
        {
            pair.copy_from_slice(&hex_pair(b));
        }
        Self { text, len: 2 * end }
    }

    pub fn as_str(&self) -> &str {
        // Hex digits only: always UTF-8 (the check is a fast ASCII pass).
        std::str::from_utf8(self.text.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

impl std::fmt::Debug for OffsetMsgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Decodes an offset message id into store host and commit-log offset.
/// Accepts either hex case (Java parses both).
pub fn decode_offset_msg_id(id: &str) -> Result<(SocketAddr, i64), MessageError> {
    let bad = || MessageError::BadMessageId(id.to_owned());
    let bytes = unhex(id).ok_or_else(bad)?;
    let ip_len = match bytes.len() {
        16 => 4,
        28 => 16,
        _ => return Err(bad()),
    };
    let (ip, rest) = bytes.split_at(ip_len);
    let ip = match ip_len {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(ip).map_err(|_| bad())?)),
        _ => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(ip).map_err(|_| bad())?)),
    };
    let (port, offset) = rest.split_at(4);
    let port = i32::from_be_bytes(<[u8; 4]>::try_from(port).map_err(|_| bad())?);
    let port = u16::try_from(port).map_err(|_| bad())?;
    let offset = i64::from_be_bytes(<[u8; 8]>::try_from(offset).map_err(|_| bad())?);
    Ok((SocketAddr::new(ip, port), offset))
}

/// Creates `UNIQ_KEY`s the way `MessageClientIDSetter` does: IP + low 16 bits
/// of the pid + a per-process i32 + ms since the start of the month + a
/// wrapping i16 counter. The month start is computed in UTC (Java uses the
/// JVM's local zone; the field is only a hint for humans).
#[derive(Debug)]
pub struct UniqKeyGenerator {
    prefix: String,
    counter: AtomicU16,
}

impl UniqKeyGenerator {
    /// A generator for this host and process; `discriminator` plays the
    /// role of Java's class-loader hash.
    pub fn new(ip: IpAddr, pid: u32, discriminator: i32) -> Self {
        let mut prefix = String::with_capacity(44);
        push_hex(&mut prefix, &ip_bytes(ip));
        push_hex(&mut prefix, &(pid as u16).to_be_bytes());
        push_hex(&mut prefix, &discriminator.to_be_bytes());
        Self {
            prefix,
            counter: AtomicU16::new(0),
        }
    }

    /// The next id for wall-clock time `now_ms` (ms since the epoch).
    pub fn next(&self, now_ms: i64) -> String {
        let since_month = (now_ms - month_start_utc(now_ms)) as i32;
        let count = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut out = self.prefix.clone();
        push_hex(&mut out, &since_month.to_be_bytes());
        push_hex(&mut out, &count.to_be_bytes());
        out
    }
}

/// Ms since the epoch of 00:00 UTC on the first day of `ms`'s month.
fn month_start_utc(ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    let days = ms.div_euclid(DAY);
    let (_, _, day) = crate::time::civil_from_days(days);
    (days - i64::from(day) + 1) * DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_id_matches_java() {
        let host: SocketAddr = "10.0.0.1:10911".parse().unwrap();
        let id = encode_offset_msg_id(host, 0x1234);
        assert_eq!(id, "0A00000100002A9F0000000000001234");
        assert_eq!(decode_offset_msg_id(&id).unwrap(), (host, 0x1234));
        assert_eq!(
            decode_offset_msg_id(&id.to_lowercase()).unwrap(),
            (host, 0x1234)
        );
        let v6: SocketAddr = "[::1]:9".parse().unwrap();
        let id6 = encode_offset_msg_id(v6, 7);
        assert_eq!(id6.len(), 56);
        assert_eq!(OffsetMsgId::new(v6, 7).as_str(), id6);
        assert_eq!(decode_offset_msg_id(&id6).unwrap(), (v6, 7));
        assert!(decode_offset_msg_id("XYZ").is_err());
    }

    #[test]
    fn uniq_key_layout() {
        let g = UniqKeyGenerator::new("127.0.0.1".parse().unwrap(), 0x1_0005, -1);
        // 2024-03-01T00:00:01.500Z
        let id = g.next(1_709_251_201_500);
        assert_eq!(id, "7F0000010005FFFFFFFF000005DC0000");
        assert!(g.next(1_709_251_201_500).ends_with("0001"));
        assert_eq!(month_start_utc(1_709_251_201_500), 1_709_251_200_000);
        // 2024-02-29T12:00:00Z -> 2024-02-01
        assert_eq!(month_start_utc(1_709_208_000_000), 1_706_745_600_000);
    }
}
