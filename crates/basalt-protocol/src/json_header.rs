//! Header type 0: a compact JSON object.
//!
//! ```text
//! {"code":310,"extFields":{...},"flag":0,"language":"JAVA","opaque":7,
//!  "remark":"...","serializeTypeCurrentRPC":"JSON","version":479}
//! ```
//! Java writes keys alphabetically and omits nulls; Go always sends `remark`;
//! C++ writes some `extFields` values as JSON numbers. Unknown keys are ignored.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use bytes::BufMut;
use compact_str::ToCompactString;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ext_fields::ExtFieldsBuilder;
use crate::{ExtFields, LanguageCode, ProtocolError, RemotingCommand};

#[derive(Serialize)]
struct Out<'a> {
    code: i32,
    #[serde(rename = "extFields")]
    ext_fields: &'a ExtFields,
    flag: i32,
    language: &'a str,
    opaque: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: Option<&'a str>,
    #[serde(rename = "serializeTypeCurrentRPC")]
    serialize_type: &'a str,
    version: i32,
}

/// Serialises the header of `cmd` as Java's fastjson would, appending it
/// to `dst`.
pub fn encode_into<B: BufMut>(cmd: &RemotingCommand, dst: &mut B) -> Result<(), ProtocolError> {
    serde_json::to_writer(
        dst.writer(),
        &Out {
            code: cmd.code,
            ext_fields: &cmd.ext_fields,
            flag: cmd.flag,
            language: cmd.language.name(),
            opaque: cmd.opaque,
            remark: cmd.remark.as_deref(),
            serialize_type: "JSON",
            version: cmd.version,
        },
    )
    .map_err(ProtocolError::JsonHeader)
}

/// The header as it arrives: typed where every client agrees, [`Field`]
/// where clients differ. Strings are borrowed from the frame where JSON
/// escapes allow; unknown keys are skipped.
#[derive(Deserialize)]
struct In<'a> {
    #[serde(borrow, default)]
    code: Option<Field<'a>>,
    #[serde(borrow, default)]
    language: Option<Field<'a>>,
    #[serde(borrow, default)]
    version: Option<Field<'a>>,
    #[serde(borrow, default)]
    opaque: Option<Field<'a>>,
    #[serde(borrow, default)]
    flag: Option<Field<'a>>,
    #[serde(borrow, default)]
    remark: Option<Field<'a>>,
    #[serde(rename = "extFields", default)]
    ext_fields: Option<ExtIn>,
}

/// One JSON value where a scalar is expected.
enum Field<'a> {
    Null,
    Str(Cow<'a, str>),
    Int(i64),
    Uint(u64),
    /// A boolean, float, object or array: no header field takes one.
    Other,
}

impl Field<'_> {
    fn int(field: Option<&Self>, name: &'static str, required: bool) -> Result<i32, ProtocolError> {
        let bad = ProtocolError::JsonHeaderField { field: name };
        match field {
            None | Some(Field::Null) if !required => Ok(0),
            Some(Field::Int(n)) => i32::try_from(*n).map_err(|_| bad),
            Some(Field::Uint(n)) => i32::try_from(*n).map_err(|_| bad),
            Some(Field::Str(s)) => s.trim().parse().map_err(|_| bad),
            _ => Err(bad),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor(PhantomData))
    }
}

struct FieldVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for FieldVisitor<'a> {
    type Value = Field<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Field::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Field::Uint(v))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }
    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
        de::IgnoredAny::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Field::Other)
    }
    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<Self::Value, S::Error> {
        de::IgnoredAny::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Field::Other)
    }
}

/// `extFields`: an object (or null) read straight into [`ExtFields`]: each
/// key and value is appended to one text buffer as the parser yields it,
/// with no string of its own per key and value.
struct ExtIn(ExtFields);

impl<'de> Deserialize<'de> for ExtIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ExtVisitor)
    }
}

struct ExtVisitor;

impl<'de> Visitor<'de> for ExtVisitor {
    type Value = ExtIn;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an extFields object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ExtIn(ExtFields::new()))
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let n = map.size_hint().unwrap_or(16).min(64);
        let mut text = String::with_capacity(512);
        let mut ext = ExtFieldsBuilder::with_capacity(n);
        while let Some(key) = map.next_key_seed(Append { text: &mut text })? {
            let value = map.next_value_seed(Append { text: &mut text })?;
            // A null value is dropped, as Java drops null fields.
            if let (Some(key), Some(value)) = (key, value) {
                ext.push(key, value);
            }
        }
        Ok(ExtIn(ext.finish_own(text)))
    }
}

/// Appends one JSON value's text to `text` and yields its byte range, or
/// `None` for null. Values other than strings take the text Java's
/// `toString()` would have produced (C++ writes some as JSON numbers).
/// The same seed reads keys: serde_json yields object keys as strings only.
struct Append<'t> {
    text: &'t mut String,
}

impl Append<'_> {
    fn push<E>(self, s: &str) -> Result<Option<(usize, usize)>, E> {
        let start = self.text.len();
        self.text.push_str(s);
        Ok(Some((start, self.text.len())))
    }
}

impl<'de> de::DeserializeSeed<'de> for Append<'_> {
    type Value = Option<(usize, usize)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Append<'_> {
    type Value = Option<(usize, usize)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.push(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.push(if v { "true" } else { "false" })
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.push(&v.to_compact_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.push(&v.to_compact_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.push(&Value::from(v).to_compact_string())
    }
    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
        let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        self.push(&v.to_string())
    }
    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<Self::Value, S::Error> {
        let v = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.push(&v.to_string())
    }
}

/// Parses a JSON header. The body is attached by the caller.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    // A derived struct would also accept an array, by position.
    if header.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ProtocolError::JsonHeaderField { field: "<root>" });
    }
    let h: In = serde_json::from_slice(header).map_err(ProtocolError::JsonHeader)?;
    let language = match &h.language {
        Some(Field::Str(s)) => LanguageCode::from_name(s),
        Some(Field::Uint(n)) => u8::try_from(*n).map_or(LanguageCode::OTHER, LanguageCode),
        _ => LanguageCode::OTHER,
    };
    let remark = match h.remark {
        Some(Field::Str(s)) => Some(s.into_owned()),
        None | Some(Field::Null) => None,
        Some(_) => return Err(ProtocolError::JsonHeaderField { field: "remark" }),
    };
    Ok(RemotingCommand {
        code: Field::int(h.code.as_ref(), "code", true)?,
        language,
        version: Field::int(h.version.as_ref(), "version", false)?,
        opaque: Field::int(h.opaque.as_ref(), "opaque", false)?,
        flag: Field::int(h.flag.as_ref(), "flag", false)?,
        remark,
        ext_fields: h.ext_fields.map(|e| e.0).unwrap_or_default(),
        ..RemotingCommand::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpp_numbers_and_go_empty_remark() {
        let raw = br#"{"code":310,"language":"CPP","version":333,"opaque":5,"flag":0,"remark":"","extFields":{"a":"g","e":3,"f":0,"m":false,"z":null}}"#;
        let cmd = decode(raw).unwrap();
        assert_eq!(cmd.code, 310);
        assert_eq!(cmd.language.name(), "CPP");
        assert_eq!(cmd.ext_fields.get("e"), Some("3"));
        assert_eq!(cmd.ext_fields.get("m"), Some("false"));
        assert!(!cmd.ext_fields.contains_key("z"));
        assert_eq!(cmd.remark.as_deref(), Some(""));
    }

    #[test]
    fn writes_java_field_order_and_escapes_controls() {
        let mut cmd = RemotingCommand::success();
        cmd.opaque = 9;
        cmd.ext_fields.insert("p", "a\u{1}b\u{2}");
        let mut out = Vec::new();
        encode_into(&cmd, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            r#"{"code":0,"extFields":{"p":"a\u0001b\u0002"},"flag":1,"language":"JAVA","opaque":9,"serializeTypeCurrentRPC":"JSON","version":479}"#
        );
    }

    #[test]
    fn escaped_strings_and_nested_values_keep_their_text() {
        let raw = br#" {"code":"10","extFields":{"p":"a\u0001b","o":{"x":1},"l":[1,"y"],"f":1.5,"big":18446744073709551615,"t":true},"remark":null,"extra":[{}]}"#;
        let cmd = decode(raw).unwrap();
        assert_eq!(cmd.code, 10);
        assert_eq!(cmd.ext_fields.get("p").unwrap(), "a\u{1}b");
        assert_eq!(cmd.ext_fields.get("o").unwrap(), r#"{"x":1}"#);
        assert_eq!(cmd.ext_fields.get("l").unwrap(), r#"[1,"y"]"#);
        assert_eq!(cmd.ext_fields.get("f").unwrap(), "1.5");
        assert_eq!(cmd.ext_fields.get("big").unwrap(), "18446744073709551615");
        assert_eq!(cmd.ext_fields.get("t").unwrap(), "true");
        assert_eq!(cmd.remark, None);
    }

    #[test]
    fn rejects_missing_code_and_bad_types() {
        assert!(decode(br#"{"code":1,"remark":5}"#).is_err());
        assert!(decode(br#"{"code":1e3}"#).is_err());
        assert!(decode(br#"{"opaque":1}"#).is_err());
        assert!(decode(br#"{"code":"x"}"#).is_err());
        assert!(decode(br#"[1,2]"#).is_err());
        assert!(decode(br#"{"code":1,"extFields":[]}"#).is_err());
        assert!(decode(b"{not json").is_err());
    }
}
