//! Header type 0: a compact JSON object.
//!
//! ```text
//! {"code":310,"extFields":{...},"flag":0,"language":"JAVA","opaque":7,
//!  "remark":"...","serializeTypeCurrentRPC":"JSON","version":479}
//! ```
//! Java writes keys alphabetically and omits nulls; Go always sends `remark`;
//! C++ writes some `extFields` values as JSON numbers. Unknown keys are ignored.
//!
//! Headers of that shape are read by `json_scan` and every reply is written
//! by `json_write`, without serde; serde_json reads any other header and
//! reports every error.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use bytes::BufMut;
use compact_str::ToCompactString;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::ext_fields::ExtFieldsBuilder;
use crate::{json_scan, json_write, ExtFields, LanguageCode, ProtocolError, RemotingCommand};

/// Serialises the header of `cmd` as Java's fastjson would (keys in
/// alphabetical order, no nulls), appending it to `dst`.
pub fn encode_into<B: BufMut>(cmd: &RemotingCommand, dst: &mut B) -> Result<(), ProtocolError> {
    json_write::write(cmd, dst);
    Ok(())
}

/// The header as it arrives: typed where every client agrees, [`Field`]
/// where clients differ. Strings are borrowed from the frame where JSON
/// escapes allow; unknown keys are skipped.
#[derive(Deserialize, Default)]
pub(crate) struct In<'a> {
    #[serde(borrow, default)]
    pub(crate) code: Option<Field<'a>>,
    #[serde(borrow, default)]
    pub(crate) language: Option<Field<'a>>,
    #[serde(borrow, default)]
    pub(crate) version: Option<Field<'a>>,
    #[serde(borrow, default)]
    pub(crate) opaque: Option<Field<'a>>,
    #[serde(borrow, default)]
    pub(crate) flag: Option<Field<'a>>,
    #[serde(borrow, default)]
    pub(crate) remark: Option<Field<'a>>,
    #[serde(rename = "extFields", default)]
    pub(crate) ext_fields: Option<ExtIn>,
}

/// One JSON value where a scalar is expected.
pub(crate) enum Field<'a> {
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
pub(crate) struct ExtIn(pub(crate) ExtFields);

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
        self.push(itoa::Buffer::new().format(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.push(itoa::Buffer::new().format(v))
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
    match json_scan::scan(header) {
        Some(h) => command(h),
        None => decode_serde(header),
    }
}

/// Any JSON header, and the errors: through serde_json.
fn decode_serde(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    // A derived struct would also accept an array, by position.
    if header.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ProtocolError::JsonHeaderField { field: "<root>" });
    }
    command(serde_json::from_slice(header).map_err(ProtocolError::JsonHeader)?)
}

fn command(h: In) -> Result<RemotingCommand, ProtocolError> {
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

/// The fast reader and writer against serde_json, which they replace on
/// the common path.
#[cfg(test)]
mod against_serde {
    use proptest::prelude::*;
    use serde::Serialize;

    use super::*;

    /// What `encode_into` wrote through serde before `json_write`.
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

    fn serde_encode(cmd: &RemotingCommand) -> Vec<u8> {
        serde_json::to_vec(&Out {
            code: cmd.code,
            ext_fields: &cmd.ext_fields,
            flag: cmd.flag,
            language: cmd.language.name(),
            opaque: cmd.opaque,
            remark: cmd.remark.as_deref(),
            serialize_type: "JSON",
            version: cmd.version,
        })
        .unwrap()
    }

    /// A SEND_MESSAGE_V2 header as Java's client writes it (fastjson
    /// escapes the property separators).
    const JAVA_SEND: &str = r#"{"code":310,"extFields":{"a":"benchmark_producer","b":"BasaltBench","c":"TBW102","d":"4","e":"3","f":"0","g":"1795706278246","h":"0","i":"UNIQ_KEY\u0001FD000000000000000000000000000002\u0002WAIT\u0001true\u0002","j":"0","k":"false","m":"false","n":"broker-a"},"flag":0,"language":"JAVA","opaque":30868,"serializeTypeCurrentRPC":"JSON","version":483}"#;

    #[test]
    fn a_java_send_header_takes_the_fast_path() {
        assert!(json_scan::scan(JAVA_SEND.as_bytes()).is_some());
        let cmd = decode(JAVA_SEND.as_bytes()).unwrap();
        assert_eq!(cmd, decode_serde(JAVA_SEND.as_bytes()).unwrap());
        assert_eq!(
            cmd.ext_fields.get("i"),
            Some("UNIQ_KEY\u{1}FD000000000000000000000000000002\u{2}WAIT\u{1}true\u{2}")
        );
        assert_eq!((cmd.code, cmd.opaque, cmd.version), (310, 30868, 483));
    }

    /// Mostly valid strings; one piece in ~30 is an error serde reports
    /// (or a surrogate pair, which only serde reads).
    fn json_string() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            40 => "[a-zA-Z0-9 _.:-]{0,6}",
            5 => Just(r"\u0001".to_owned()),
            3 => Just(r"\u00e9\u00FF\u0000".to_owned()),
            3 => Just(r#"\"\\\/\b\f\n\r\t"#.to_owned()),
            3 => Just("é😀".to_owned()),
            1 => Just(r"\ud83d\ude00".to_owned()),
            1 => prop::sample::select(vec![r"\ud83d", r"\u12G4", r"\u+123", r"\x", "\u{1}", "\t"])
                .prop_map(str::to_owned),
        ];
        prop::collection::vec(piece, 0..4).prop_map(|p| format!("\"{}\"", p.concat()))
    }

    fn int() -> impl Strategy<Value = String> {
        prop_oneof![
            12 => any::<i32>().prop_map(|n| n.to_string()),
            1 => any::<i64>().prop_map(|n| n.to_string()),
            1 => any::<u64>().prop_map(|n| n.to_string()),
        ]
    }

    /// Integers, and a few numbers only serde reads (or rejects).
    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => int(),
            1 => prop::sample::select(vec![
                "0", "-0", "007", "1.5", "1e3", "2E1", "-", "18446744073709551616",
                "-9223372036854775809", "-9223372036854775808",
            ])
            .prop_map(str::to_owned),
        ]
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => json_string(),
            4 => number(),
            1 => prop::sample::select(vec!["true", "false", "null", "nul"]).prop_map(str::to_owned),
            1 => prop::sample::select(vec!["{}", "[1]", r#"{"x":[1,{}]}"#]).prop_map(str::to_owned),
        ]
    }

    /// `ws` picks the whitespace between tokens (mostly none, as Java).
    fn object(entries: Vec<(String, String)>, ws: &[&str]) -> String {
        let mut w = ws.iter().cycle();
        let mut next = || *w.next().unwrap_or(&"");
        let body: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("{k}{}:{}{v}", next(), next()))
            .collect();
        format!("{}{{{}{}}}{}", next(), body.join(","), next(), next())
    }

    fn ext_fields() -> impl Strategy<Value = String> {
        prop_oneof![
            12 => prop::collection::vec((json_string(), scalar()), 0..8)
                .prop_map(|e| object(e, &[""])),
            1 => prop::sample::select(vec!["null", "[]", "\"x\"", "{", "{\"a\"}"])
                .prop_map(str::to_owned),
        ]
    }

    /// Top-level entries: known keys mostly with values of their type,
    /// unknown keys, escaped keys; a repeated key now and then.
    fn entry() -> impl Strategy<Value = (String, String)> {
        let key = |k: &'static str| Just(format!("\"{k}\""));
        prop_oneof![
            3 => (key("extFields"), ext_fields()),
            2 => (prop::sample::select(vec!["\"opaque\"", "\"flag\"", "\"version\""]).prop_map(str::to_owned), number()),
            1 => (key("language"), prop_oneof![
                4 => prop::sample::select(vec!["\"JAVA\"", "\"CPP\"", "\"GO\"", "\"RUST\""]).prop_map(str::to_owned),
                1 => scalar(),
            ]),
            1 => (key("remark"), prop_oneof![json_string(), Just("null".to_owned())]),
            1 => (key("co\\u0064e"), number()),
            1 => (prop_oneof![key("other"), json_string()], scalar()),
            1 => (key("opaque"), scalar()),
        ]
    }

    fn header() -> impl Strategy<Value = String> {
        let ws = prop::collection::vec(
            prop::sample::select(vec!["", "", "", "", " ", "\n", "\t"]),
            1..4,
        );
        (
            prop_oneof![8 => int().prop_map(Some), 1 => prop::option::of(scalar())],
            prop::collection::vec(entry(), 0..6),
            prop::bool::weighted(0.9),
            ws,
        )
            .prop_map(|(code, mut entries, unique, ws)| {
                if unique {
                    let mut seen = std::collections::HashSet::new();
                    entries.retain(|(k, _)| seen.insert(k.clone()));
                }
                if let Some(code) = code {
                    entries.insert(0, ("\"code\"".to_owned(), code));
                }
                object(entries, &ws)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn reads_every_header_as_serde_does(text in header(), cut in any::<prop::sample::Index>(), cut_it in prop::bool::weighted(0.1)) {
            let mut bytes = text.into_bytes();
            if cut_it {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            match (decode(&bytes), decode_serde(&bytes)) {
                (Ok(fast), Ok(slow)) => prop_assert_eq!(fast, slow),
                (Err(_), Err(_)) => {}
                (fast, slow) => prop_assert!(false, "{:?}: fast {:?}, serde {:?}", String::from_utf8_lossy(&bytes), fast, slow),
            }
        }

        #[test]
        fn writes_what_serde_wrote(
            code in any::<i32>(), flag in any::<i32>(), opaque in any::<i32>(), version in any::<i32>(),
            remark in prop::option::of(any::<String>()),
            pairs in prop::collection::vec((any::<String>(), "[\u{0}-\u{7f}é]{0,12}"), 0..6),
        ) {
            let mut cmd = RemotingCommand { code, flag, opaque, version, remark, ..RemotingCommand::default() };
            cmd.ext_fields = ExtFields::from_pairs(pairs);
            let mut out = Vec::new();
            encode_into(&cmd, &mut out).unwrap();
            let want = serde_encode(&cmd);
            prop_assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&want));
        }
    }

    #[test]
    fn writes_bad_utf8_of_a_received_binary_header_replaced() {
        let mut cmd = RemotingCommand::success();
        let mut raw = Vec::new();
        let mut bin = RemotingCommand::success();
        bin.ext_fields.insert("k", "v\u{1}");
        crate::binary_header::encode_into(&bin, &mut raw).unwrap();
        // Corrupt the value's first byte into one that is not UTF-8.
        let at = raw.len() - 2;
        raw[at] = 0xFF;
        cmd.ext_fields = crate::binary_header::decode(bytes::Bytes::from(raw))
            .unwrap()
            .ext_fields;
        let mut out = Vec::new();
        encode_into(&cmd, &mut out).unwrap();
        assert_eq!(out, serde_encode(&cmd));
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("\"k\":\"\u{FFFD}\\u0001\""));
    }
}
