//! The JSON header written straight into the frame.
//!
//! Through serde the reply's header cost ~5 K instructions, a call per
//! piece through a `Write` adapter. Its shape is fixed (Java's key order,
//! no nulls), so it is written here in a few slices; strings are escaped
//! as serde_json escapes them (a test compares the two byte for byte).

use bytes::BufMut;

use crate::RemotingCommand;

/// Appends `cmd`'s header as JSON to `dst`.
pub(crate) fn write<B: BufMut>(cmd: &RemotingCommand, dst: &mut B) {
    let mut n = itoa::Buffer::new();
    dst.put_slice(b"{\"code\":");
    dst.put_slice(n.format(cmd.code).as_bytes());
    dst.put_slice(b",\"extFields\":{");
    for (i, (key, value)) in cmd.ext_fields.text_iter().enumerate() {
        if i > 0 {
            dst.put_u8(b',');
        }
        string(dst, &key);
        dst.put_u8(b':');
        string(dst, &value);
    }
    dst.put_slice(b"},\"flag\":");
    dst.put_slice(n.format(cmd.flag).as_bytes());
    dst.put_slice(b",\"language\":");
    string(dst, cmd.language.name());
    dst.put_slice(b",\"opaque\":");
    dst.put_slice(n.format(cmd.opaque).as_bytes());
    if let Some(remark) = &cmd.remark {
        dst.put_slice(b",\"remark\":");
        string(dst, remark);
    }
    dst.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    dst.put_slice(n.format(cmd.version).as_bytes());
    dst.put_u8(b'}');
}

/// A JSON string: quote, backslash and control characters escaped, the
/// rest (DEL and non-ASCII included) as it is.
fn string<B: BufMut>(dst: &mut B, s: &str) {
    dst.put_u8(b'"');
    let bytes = s.as_bytes();
    // Most strings need no escape: one check (no early exit, so it runs
    // as vector compares), then one copy.
    let clean = bytes.iter().fold(true, |clean, &b| {
        clean & (b >= 0x20) & (b != b'"') & (b != b'\\')
    });
    if clean {
        dst.put_slice(bytes);
        dst.put_u8(b'"');
        return;
    }
    let mut unicode = *b"\\u0000";
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                unicode[4] = b'0' + (b >> 4);
                unicode[5] = hex_digit(b & 0xf);
                &unicode
            }
            _ => continue,
        };
        dst.put_slice(bytes.get(plain..i).unwrap_or_default());
        dst.put_slice(escaped);
        plain = i + 1;
    }
    dst.put_slice(bytes.get(plain..).unwrap_or_default());
    dst.put_u8(b'"');
}

/// serde_json writes lower-case hex.
fn hex_digit(n: u8) -> u8 {
    if n < 10 {
        b'0' + n
    } else {
        b'a' + n - 10
    }
}
