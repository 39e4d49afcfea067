//! Typed command headers over `extFields`.
//!
//! Java builds `extFields` from the fields of a header class with
//! `toString()`, and parses them back by field type: decimal integers,
//! `Boolean.parseBoolean` (only a case-insensitive "true" is true), strings as
//! they are. [`command_header!`](crate::command_header) generates the same
//! mapping for a Rust struct, with the wire key next to each field.

use compact_str::CompactString;

use crate::{ExtFields, ProtocolError};

/// A header that lives in `extFields`.
pub trait CommandHeader: Sized {
    fn decode(ext: &ExtFields) -> Result<Self, ProtocolError>;
    fn encode(&self, ext: &mut ExtFields);
}

/// One field type of a header: how it is read from and written to the map.
pub trait HeaderValue: Sized {
    /// The value behind `key`'s raw text, if the key was present.
    type Slot: Default;
    /// Parses `raw`, found under `key`, into its slot.
    fn fill(slot: &mut Self::Slot, key: &'static str, raw: &[u8]) -> Result<(), ProtocolError>;
    /// The field once every key was seen: an error if it is required and
    /// was absent.
    fn finish(slot: Self::Slot, key: &'static str) -> Result<Self, ProtocolError>;
    fn write(&self, ext: &mut ExtFields, key: &'static str);
}

/// A scalar with a text form; `Option<T>` of it is an optional field.
pub trait Scalar: Sized {
    /// Reads a value's bytes; text must be UTF-8 (checked here, when read:
    /// see `ExtFields`).
    fn parse(raw: &[u8]) -> Option<Self>;
    /// Calls `f` with the text form (borrowed where the value is text).
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R;
}

impl Scalar for String {
    fn parse(raw: &[u8]) -> Option<Self> {
        std::str::from_utf8(raw).ok().map(str::to_owned)
    }
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(self)
    }
}

impl Scalar for CompactString {
    fn parse(raw: &[u8]) -> Option<Self> {
        std::str::from_utf8(raw).ok().map(Self::from)
    }
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(self)
    }
}

impl Scalar for bool {
    fn parse(raw: &[u8]) -> Option<Self> {
        // Java's Boolean.parseBoolean: anything but "true" is false.
        Some(raw.trim_ascii().eq_ignore_ascii_case(b"true"))
    }
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(if *self { "true" } else { "false" })
    }
}

macro_rules! int_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            /// A decimal integer as `str::parse` reads it (optional sign,
            /// digits, range-checked), straight from the bytes: a send
            /// header carries eight, and a UTF-8 check before each parse
            /// cost as much as the parse.
            fn parse(raw: &[u8]) -> Option<Self> {
                // Most of a send's integers are one digit (flags, queue
                // id, reconsume times): read without the general path's
                // trimming and sign handling, which cost ~40 instructions.
                if let [b] = raw {
                    let digit = b.wrapping_sub(b'0');
                    if digit <= 9 {
                        return Some(<$t>::from(digit));
                    }
                }
                let text = raw.trim_ascii();
                let (negative, digits) = match text.split_first() {
                    Some((b'-', rest)) => (true, rest),
                    Some((b'+', rest)) => (false, rest),
                    _ => (false, text),
                };
                if digits.is_empty() {
                    return None;
                }
                // Up to 18 digits cannot overflow a u64: no check per
                // digit (a timestamp has 13). Longer text (leading zeros
                // count) takes the checked loop.
                if digits.len() <= 18 {
                    let mut magnitude: u64 = 0;
                    let mut rest = digits;
                    if let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
                        magnitude = eight_digits(*chunk)?;
                        rest = tail;
                    }
                    for &b in rest {
                        let digit = b.wrapping_sub(b'0');
                        if digit > 9 {
                            return None;
                        }
                        magnitude = magnitude * 10 + u64::from(digit);
                    }
                    // < 10^18 < 2^63: exact as an i64, either sign.
                    let wide = magnitude as i64;
                    return <$t>::try_from(if negative { -wide } else { wide }).ok();
                }
                let mut value: $t = 0;
                for &b in digits {
                    let digit = b.wrapping_sub(b'0');
                    if digit > 9 {
                        return None;
                    }
                    let digit = <$t>::from(digit);
                    // Negatives accumulate downwards, so MIN is reachable.
                    value = value.checked_mul(10)?;
                    value = if negative {
                        value.checked_sub(digit)?
                    } else {
                        value.checked_add(digit)?
                    };
                }
                Some(value)
            }
            fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
                f(itoa::Buffer::new().format(*self))
            }
        }
    )*};
}
int_scalar!(i32, i64);

/// Eight ASCII digits as a number, all at once (a send's born timestamp
/// has 13 digits: a digit a step cost ~160 instructions), or `None` when
/// one is not a digit.
fn eight_digits(chunk: [u8; 8]) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let d = u64::from_le_bytes(chunk).wrapping_sub(ONES * u64::from(b'0'));
    // A byte below '0' wraps to 0x80 or more; one above '9' reaches it
    // once 0x76 is added (no carry out of a byte that held a digit).
    if (d | d.wrapping_add(ONES * 0x76)) & (ONES * 0x80) != 0 {
        return None;
    }
    // The first digit is the lowest byte: fold neighbours into pairs,
    // pairs into fours, fours into the eight.
    let pairs = (d * 10 + (d >> 8)) & 0x00FF_00FF_00FF_00FF;
    let fours = (pairs * 100 + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((fours.wrapping_mul(10_000) + (fours >> 32)) & 0xFFFF_FFFF)
}

fn parse_field<T: Scalar>(key: &'static str, raw: &[u8]) -> Result<T, ProtocolError> {
    match T::parse(raw) {
        Some(v) => Ok(v),
        None => Err(ProtocolError::BadField {
            key,
            value: String::from_utf8_lossy(raw).chars().take(64).collect(),
        }),
    }
}

impl<T: Scalar> HeaderValue for T {
    type Slot = Option<T>;
    fn fill(slot: &mut Option<T>, key: &'static str, raw: &[u8]) -> Result<(), ProtocolError> {
        *slot = Some(parse_field(key, raw)?);
        Ok(())
    }
    fn finish(slot: Option<T>, key: &'static str) -> Result<Self, ProtocolError> {
        // Not `ok_or`: that builds (and drops) the error on every decode.
        match slot {
            Some(v) => Ok(v),
            None => Err(ProtocolError::MissingField(key)),
        }
    }
    fn write(&self, ext: &mut ExtFields, key: &'static str) {
        self.with_text(|text| ext.insert(key, text));
    }
}

impl<T: Scalar> HeaderValue for Option<T> {
    type Slot = Option<T>;
    fn fill(slot: &mut Option<T>, key: &'static str, raw: &[u8]) -> Result<(), ProtocolError> {
        // Present or not, a value found is read as the required field reads it.
        <T as HeaderValue>::fill(slot, key, raw)
    }
    fn finish(slot: Option<T>, _key: &'static str) -> Result<Self, ProtocolError> {
        Ok(slot)
    }
    fn write(&self, ext: &mut ExtFields, key: &'static str) {
        if let Some(v) = self {
            v.with_text(|text| ext.insert(key, text));
        }
    }
}

/// Declares a header struct whose fields map to `extFields` keys.
///
/// ```
/// basalt_protocol::command_header! {
///     /// Example.
///     pub struct Demo {
///         pub topic: String => "topic",
///         pub queue_id: Option<i32> => "queueId",
///     }
/// }
/// ```
#[macro_export]
macro_rules! command_header {
    ($(#[$m:meta])* pub struct $name:ident {
        $($(#[$fm:meta])* pub $field:ident : $ty:ty => $key:literal),* $(,)?
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)*
        }

        impl $crate::header::CommandHeader for $name {
            // One pass over the map, each key matched to its field, rather
            // than a lookup per field: the send path decodes a dozen fields
            // per message. Each key is compared with the constant keys in
            // turn: a length check and a compare of known size, inlined
            // (a search over a key table cost ~70 instructions a key).
            // Keys the header does not know (or that are not UTF-8) match
            // no field and are ignored, unchecked.
            fn decode(ext: &$crate::ExtFields) -> Result<Self, $crate::ProtocolError> {
                $(let mut $field =
                    <<$ty as $crate::header::HeaderValue>::Slot as Default>::default();)*
                for (key, raw) in ext.raw_iter() {
                    $(
                        if key == $key.as_bytes() {
                            <$ty as $crate::header::HeaderValue>::fill(&mut $field, $key, raw)?;
                            continue;
                        }
                    )*
                }
                Ok(Self {
                    $($field: <$ty as $crate::header::HeaderValue>::finish($field, $key)?,)*
                })
            }

            fn encode(&self, ext: &mut $crate::ExtFields) {
                $($crate::header::HeaderValue::write(&self.$field, ext, $key);)*
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::command_header! {
        pub struct T {
            pub name: String => "name",
            pub id: i64 => "id",
            pub on: bool => "on",
            pub opt: Option<i32> => "opt",
        }
    }

    #[test]
    fn integers_read_as_str_parse_reads_them() {
        let cases = [
            "0",
            "7",
            " 7 ",
            "+5",
            "-5",
            "-",
            "+",
            "",
            "1a",
            "٣",
            "12 3",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
        ];
        for text in cases {
            let trimmed = text.trim();
            assert_eq!(
                <i32 as Scalar>::parse(text.as_bytes()),
                trimmed.parse().ok(),
                "{text:?}"
            );
            assert_eq!(
                <i64 as Scalar>::parse(text.as_bytes()),
                trimmed.parse().ok(),
                "{text:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn integers_match_str_parse(text in "[ +-]{0,2}0{0,3}[0-9]{0,20}[ a-]?") {
            let trimmed = text.trim();
            proptest::prop_assert_eq!(<i32 as Scalar>::parse(text.as_bytes()), trimmed.parse().ok());
            proptest::prop_assert_eq!(<i64 as Scalar>::parse(text.as_bytes()), trimmed.parse().ok());
        }

        /// Any byte anywhere among the digits (the eight-at-once path
        /// must refuse what a digit-by-digit reader refuses).
        #[test]
        fn any_byte_among_digits_reads_as_str_parse(
            digits in "[0-9]{0,17}",
            at in 0usize..18,
            odd in proptest::sample::select(vec!['/', ':', '0', '9', 'a', ' ', '\u{7f}', 'é', '\u{0}', '٣']),
        ) {
            let mut text = digits;
            text.insert(at.min(text.len()), odd);
            let trimmed = text.trim();
            proptest::prop_assert_eq!(<i32 as Scalar>::parse(text.as_bytes()), trimmed.parse().ok());
            proptest::prop_assert_eq!(<i64 as Scalar>::parse(text.as_bytes()), trimmed.parse().ok());
        }
    }

    #[test]
    fn every_single_byte_reads_as_str_parse() {
        for b in 0..=u8::MAX {
            let one = [b];
            let text = std::str::from_utf8(&one).ok().map(str::trim);
            assert_eq!(
                <i32 as Scalar>::parse(&[b]),
                text.and_then(|t| t.parse().ok()),
                "{b}"
            );
            assert_eq!(
                <i64 as Scalar>::parse(&[b]),
                text.and_then(|t| t.parse().ok()),
                "{b}"
            );
        }
    }

    #[test]
    fn required_optional_and_bad_values() {
        let mut ext = ExtFields::new();
        ext.insert("name", "n");
        ext.insert("id", "12");
        ext.insert("on", "TRUE");
        let t = T::decode(&ext).unwrap();
        assert_eq!((t.name.as_str(), t.id, t.on, t.opt), ("n", 12, true, None));
        let mut back = ExtFields::new();
        t.encode(&mut back);
        assert_eq!(T::decode(&back).unwrap(), t);

        ext.insert("opt", "x");
        assert!(matches!(
            T::decode(&ext),
            Err(ProtocolError::BadField { key: "opt", .. })
        ));
        ext.remove("opt");
        ext.remove("id");
        assert!(matches!(
            T::decode(&ext),
            Err(ProtocolError::MissingField("id"))
        ));
    }
}
