//! Java `.properties` files, as RocketMQ users already have them.

use std::path::Path;

use anyhow::Context;

/// Parses `key=value` / `key: value` / `key value` lines; `#` and `!` start
/// comments; a trailing backslash continues the line.
pub fn parse(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            logical.push_str(cont);
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        let split = entry.find(['=', ':', ' ', '\t']);
        let (key, value) = match split {
            Some(i) => {
                let (k, rest) = entry.split_at(i);
                let rest = rest.trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                (k.trim().to_owned(), rest.trim().to_owned())
            }
            None => (entry.trim().to_owned(), String::new()),
        };
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    out
}

pub fn load(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    Ok(parse(&text))
}

/// Sets `key` on a serde config struct whose fields carry RocketMQ's key
/// names (camelCase), converting `value` to the field's JSON type. Returns
/// `Ok(false)` when the struct has no such field.
pub fn apply_serde<T>(config: &mut T, key: &str, value: &str) -> anyhow::Result<bool>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    use serde_json::Value;
    let mut tree = serde_json::to_value(&*config)?;
    let Some(slot) = tree.get_mut(key) else {
        return Ok(false);
    };
    let v = value.trim();
    *slot = match slot {
        Value::Bool(_) => Value::Bool(v.eq_ignore_ascii_case("true")),
        Value::Number(_) => serde_json::from_str::<Value>(v)
            .ok()
            .filter(Value::is_number)
            .with_context(|| format!("configuration key `{key}` needs a number, got `{v}`"))?,
        _ => Value::String(v.to_owned()),
    };
    *config = serde_json::from_value(tree)
        .with_context(|| format!("configuration key `{key}` has invalid value `{v}`"))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_forms() {
        let p = parse("# c\n! c\nlistenPort=9877\nbrokerName : broker-a\nflushDiskType ASYNC_FLUSH\nlong=a\\\n  b\n\nempty=\n");
        assert_eq!(
            p,
            vec![
                ("listenPort".into(), "9877".into()),
                ("brokerName".into(), "broker-a".into()),
                ("flushDiskType".into(), "ASYNC_FLUSH".into()),
                ("long".into(), "ab".into()),
                ("empty".into(), String::new()),
            ]
        );
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Cfg {
        flush_disk_type: String,
        max_message_size: u32,
        message_index_enable: bool,
    }

    #[test]
    fn serde_configs_take_rocketmq_keys() {
        let mut c = Cfg {
            flush_disk_type: "ASYNC_FLUSH".into(),
            max_message_size: 1,
            message_index_enable: false,
        };
        assert!(apply_serde(&mut c, "flushDiskType", "SYNC_FLUSH").unwrap());
        assert!(apply_serde(&mut c, "maxMessageSize", "4096").unwrap());
        assert!(apply_serde(&mut c, "messageIndexEnable", "TRUE").unwrap());
        assert!(!apply_serde(&mut c, "noSuchKey", "1").unwrap());
        assert!(apply_serde(&mut c, "maxMessageSize", "lots").is_err());
        assert_eq!(
            (
                c.flush_disk_type.as_str(),
                c.max_message_size,
                c.message_index_enable
            ),
            ("SYNC_FLUSH", 4096, true)
        );
    }
}
