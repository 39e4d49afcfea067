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
    let raw = std::fs::read(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    // Java reads properties files as ISO-8859-1 and never fails on a byte;
    // a comment in another encoding must not stop the start.
    Ok(parse(&String::from_utf8_lossy(&raw)))
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
}
