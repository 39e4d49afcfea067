//! Header type 0: a compact JSON object.
//!
//! ```text
//! {"code":310,"extFields":{...},"flag":0,"language":"JAVA","opaque":7,
//!  "remark":"...","serializeTypeCurrentRPC":"JSON","version":479}
//! ```
//! Java writes keys alphabetically and omits nulls; Go always sends `remark`;
//! C++ writes some `extFields` values as JSON numbers. Unknown keys are ignored.

use bytes::BufMut;
use serde::Serialize;
use serde_json::Value;

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

/// Parses a JSON header. The body is attached by the caller.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    let value: Value = serde_json::from_slice(header).map_err(ProtocolError::JsonHeader)?;
    let Value::Object(map) = value else {
        return Err(ProtocolError::JsonHeaderField { field: "<root>" });
    };
    let int = |field: &'static str, required: bool| -> Result<i32, ProtocolError> {
        match map.get(field) {
            None | Some(Value::Null) if !required => Ok(0),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or(ProtocolError::JsonHeaderField { field }),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map_err(|_| ProtocolError::JsonHeaderField { field }),
            _ => Err(ProtocolError::JsonHeaderField { field }),
        }
    };
    let language = match map.get("language") {
        Some(Value::String(s)) => LanguageCode::from_name(s),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u8::try_from(v).ok())
            .map_or(LanguageCode::OTHER, LanguageCode),
        _ => LanguageCode::OTHER,
    };
    let remark = match map.get("remark") {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) => None,
        Some(_) => return Err(ProtocolError::JsonHeaderField { field: "remark" }),
    };
    let ext_fields = match map.get("extFields") {
        Some(Value::Object(fields)) => fields
            .iter()
            .filter_map(|(k, v)| scalar_text(v).map(|s| (k.clone(), s)))
            .collect(),
        None | Some(Value::Null) => ExtFields::new(),
        Some(_) => return Err(ProtocolError::JsonHeaderField { field: "extFields" }),
    };
    Ok(RemotingCommand {
        code: int("code", true)?,
        language,
        version: int("version", false)?,
        opaque: int("opaque", false)?,
        flag: int("flag", false)?,
        remark,
        ext_fields,
        ..RemotingCommand::default()
    })
}

/// A header value as the string Java's `toString()` would have produced.
/// Nulls are dropped, as Java drops null fields.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
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
        assert_eq!(cmd.ext_fields.get("e").map(String::as_str), Some("3"));
        assert_eq!(cmd.ext_fields.get("m").map(String::as_str), Some("false"));
        assert!(!cmd.ext_fields.contains_key("z"));
        assert_eq!(cmd.remark.as_deref(), Some(""));
    }

    #[test]
    fn writes_java_field_order_and_escapes_controls() {
        let mut cmd = RemotingCommand::success();
        cmd.opaque = 9;
        cmd.ext_fields.insert("p".into(), "a\u{1}b\u{2}".into());
        let mut out = Vec::new();
        encode_into(&cmd, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            r#"{"code":0,"extFields":{"p":"a\u0001b\u0002"},"flag":1,"language":"JAVA","opaque":9,"serializeTypeCurrentRPC":"JSON","version":479}"#
        );
    }

    #[test]
    fn rejects_missing_code_and_bad_types() {
        assert!(decode(br#"{"opaque":1}"#).is_err());
        assert!(decode(br#"{"code":"x"}"#).is_err());
        assert!(decode(br#"[1,2]"#).is_err());
        assert!(decode(br#"{"code":1,"extFields":[]}"#).is_err());
        assert!(decode(b"{not json").is_err());
    }
}
