//! The fastjson quirks, all in one place (REMOTING.md section 3).
//!
//! Java's fastjson 1.x writes map keys that are not strings without quotes:
//! `{0:"127.0.0.1:10911"}` for `Map<Long,String>` and
//! `{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}` for
//! `Map<MessageQueue,...>`. `serde_json` refuses both, so bodies from Java
//! are read through [`parse`], which accepts them and turns every such key
//! into its compact JSON text. What Basalt writes is standard JSON, which
//! fastjson reads too.

use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

use crate::ProtocolError;

/// Nesting limit: bodies are client-controlled, and recursion must not
/// overflow the stack.
const MAX_DEPTH: usize = 128;

/// Decodes a JSON body from a RocketMQ peer into `T`.
///
/// Standard JSON takes the fast path; anything `serde_json` rejects goes
/// through the lenient reader before being reported as an error.
pub fn from_slice<T: DeserializeOwned>(what: &'static str, raw: &[u8]) -> Result<T, ProtocolError> {
    match serde_json::from_slice(raw) {
        Ok(v) => Ok(v),
        Err(strict) => {
            let Ok(value) = parse(raw) else {
                return Err(ProtocolError::Body {
                    what,
                    source: strict,
                });
            };
            serde_json::from_value(value).map_err(|source| ProtocolError::Body { what, source })
        }
    }
}

/// Parses fastjson-flavoured JSON into a standard `serde_json::Value`.
pub fn parse(raw: &[u8]) -> Result<Value, ProtocolError> {
    let mut p = Parser { src: raw, pos: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.pos != raw.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(v)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> ProtocolError {
        ProtocolError::Json {
            at: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ProtocolError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.ws();
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            _ => Err(self.err("expected a value")),
        }
    }

    fn word(&mut self, w: &'static str, v: Value) -> Result<Value, ProtocolError> {
        if self.src.get(self.pos..self.pos + w.len()) == Some(w.as_bytes()) {
            self.pos += w.len();
            Ok(v)
        } else {
            Err(self.err("unknown literal"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ProtocolError> {
        self.pos += 1;
        let mut map = Map::new();
        if self.eat(b'}') {
            return Ok(Value::Object(map));
        }
        loop {
            self.ws();
            let key = match self.peek() {
                Some(b'"') => self.string()?,
                // fastjson's unquoted keys: numbers, objects, anything but a string.
                Some(_) => match self.value(depth + 1)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
                None => return Err(self.err("unterminated object")),
            };
            if !self.eat(b':') {
                return Err(self.err("expected ':'"));
            }
            let v = self.value(depth + 1)?;
            map.insert(key, v);
            if self.eat(b',') {
                continue;
            }
            if self.eat(b'}') {
                return Ok(Value::Object(map));
            }
            return Err(self.err("expected ',' or '}'"));
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ProtocolError> {
        self.pos += 1;
        let mut items = Vec::new();
        if self.eat(b']') {
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            if self.eat(b',') {
                continue;
            }
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            return Err(self.err("expected ',' or ']'"));
        }
    }

    fn number(&mut self) -> Result<Value, ProtocolError> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(self.src.get(start..self.pos).unwrap_or_default())
            .map_err(|_| self.err("bad number"))?;
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| self.err("bad number"))
    }

    fn string(&mut self) -> Result<String, ProtocolError> {
        // Find the closing quote, then let serde_json handle the escapes.
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'\\') => self.pos += 2,
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        let lit = self
            .src
            .get(start..self.pos)
            .ok_or_else(|| self.err("unterminated string"))?;
        serde_json::from_slice(lit).map_err(|_| self.err("bad string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_unquoted_and_object_keys() {
        let v =
            parse(br#"{"a":{0:"x",1:"y"},"t":{{"brokerName":"b","queueId":0}:{"o":1}}}"#).unwrap();
        assert_eq!(v["a"]["0"], "x");
        assert_eq!(v["t"][r#"{"brokerName":"b","queueId":0}"#]["o"], 1);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            &b"{"[..],
            b"{\"a\"",
            b"[1,",
            b"\"abc",
            b"{1}",
            b"nul",
            b"{\"a\":1}x",
            b"\"\\",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "[".repeat(10_000);
        assert!(parse(deep.as_bytes()).is_err());
    }
}

/// Writes a map whose keys are objects, as fastjson writes
/// `Map<MessageQueue, V>`: `{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}`.
/// Java admin tools read `TopicStatsTable` and `ConsumeStats` only in this
/// form, so these bodies are written by hand around it.
pub fn object_key_map<'a, K, V>(entries: impl IntoIterator<Item = (&'a K, &'a V)>) -> String
where
    K: serde::Serialize + 'a,
    V: serde::Serialize + 'a,
{
    let mut out = String::from("{");
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).unwrap_or_else(|_| "null".into()));
        out.push(':');
        out.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "null".into()));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod object_key_tests {
    use super::*;

    #[test]
    fn object_keys_round_trip_through_the_lenient_reader() {
        let k = serde_json::json!({"brokerName":"b","queueId":0,"topic":"T"});
        let v = serde_json::json!({"maxOffset":3});
        let text = object_key_map([(&k, &v)]);
        assert_eq!(
            text,
            r#"{{"brokerName":"b","queueId":0,"topic":"T"}:{"maxOffset":3}}"#
        );
        let back = parse(text.as_bytes()).unwrap();
        assert_eq!(back[k.to_string()]["maxOffset"], 3);
    }
}

/// Deserialises a set of integers that peers write as numbers (Java) or as
/// numeric strings (the Go client's `codeSet`); fastjson accepts both.
pub fn int_set<'de, D>(d: D) -> Result<std::collections::BTreeSet<i32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    use serde::Deserialize;
    let raw = Vec::<Value>::deserialize(d)?;
    raw.into_iter()
        .map(|v| {
            match &v {
                Value::Number(n) => n.as_i64().and_then(|i| i32::try_from(i).ok()),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| D::Error::custom(format!("not a 32-bit integer: {v}")))
        })
        .collect()
}
