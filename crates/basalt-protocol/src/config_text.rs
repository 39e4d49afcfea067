//! The `key=value` text of Java `.properties`: RocketMQ's config files and
//! the bodies of UPDATE_BROKER_CONFIG and GET_BROKER_CONFIG.

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

/// The key a physical line sets, if it starts an entry (not a comment,
/// blank or continued line).
fn key_of(line: &str) -> Option<&str> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
        return None;
    }
    let end = line.find(['=', ':', ' ', '\t']).unwrap_or(line.len());
    Some(&line[..end])
}

/// `text` with each of `updates` set: the line that set a key (and its
/// continuation lines) replaced where it stood, keys it did not have
/// appended; comments and every other line kept as they were.
pub fn update(text: &str, updates: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    // Updates not written yet.
    let mut pending: Vec<&(String, String)> = updates.iter().collect();
    // Inside a value continued from the line before; `skipping` when that
    // value is being replaced.
    let (mut continued, mut skipping) = (false, false);
    for line in text.lines() {
        let continues = line.ends_with('\\');
        if continued {
            continued = continues;
            if !skipping {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        continued = continues;
        let key = key_of(line).filter(|k| updates.iter().any(|(u, _)| u == k));
        skipping = key.is_some();
        match key {
            Some(k) => {
                // The first line of a key takes the value; later ones go.
                if let Some(at) = pending.iter().position(|(u, _)| u == k) {
                    let (k, v) = pending.remove(at);
                    out.push_str(&format!("{k}={v}\n"));
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (k, v) in pending {
        out.push_str(&format!("{k}={v}\n"));
    }
    out
}

/// The first key of `pairs` an update may not set: one of `always`, or
/// of the `;`-separated `configured` list (RocketMQ's `configBlackList`).
pub fn black_listed<'a>(
    pairs: &'a [(String, String)],
    always: &[&str],
    configured: &str,
) -> Option<&'a str> {
    pairs
        .iter()
        .map(|(k, _)| k.as_str())
        .find(|k| always.contains(k) || configured.split(';').any(|b| b.trim() == *k))
}

/// Sets `updates` in the properties file at `path` (see [`update`]): the
/// previous text kept as `<file>.bak` (as RocketMQ keeps it), the new one
/// through a temporary file and a rename, with the file's permissions, at
/// the file a symlink points to. A missing file is made.
pub fn update_file(path: &std::path::Path, updates: &[(String, String)]) -> std::io::Result<()> {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let old = match std::fs::read(&real) {
        Ok(raw) => Some(raw),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let text = old
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let sibling = |ext: &str| {
        let mut p = real.as_os_str().to_owned();
        p.push(ext);
        std::path::PathBuf::from(p)
    };
    let tmp = sibling(".tmp");
    std::fs::write(&tmp, update(&text, updates))?;
    if let Some(raw) = &old {
        std::fs::write(sibling(".bak"), raw)?;
        std::fs::set_permissions(&tmp, std::fs::metadata(&real)?.permissions())?;
    }
    std::fs::rename(&tmp, &real)
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

    #[test]
    fn update_keeps_comments_and_replaces_in_place() {
        let text = "# broker\nbrokerName=a\nbrokerPermission = 6\nlong=x\\\n  y\n! end\n";
        let got = update(
            text,
            &[
                ("brokerPermission".into(), "4".into()),
                ("long".into(), "z".into()),
                ("fileReservedTime".into(), "24".into()),
            ],
        );
        assert_eq!(
            got,
            "# broker\nbrokerName=a\nbrokerPermission=4\nlong=z\n! end\nfileReservedTime=24\n"
        );
        assert_eq!(
            parse(&got),
            vec![
                ("brokerName".into(), "a".into()),
                ("brokerPermission".into(), "4".into()),
                ("long".into(), "z".into()),
                ("fileReservedTime".into(), "24".into()),
            ]
        );
        let pairs = [
            ("a".to_owned(), "1".to_owned()),
            ("kvConfigPath".to_owned(), "x".to_owned()),
        ];
        assert_eq!(
            black_listed(&pairs, &["kvConfigPath"], ""),
            Some("kvConfigPath")
        );
        assert_eq!(black_listed(&pairs, &[], "b; a"), Some("a"));
        assert_eq!(black_listed(&pairs, &["z"], "b;c"), None);
        // A key set twice keeps one line, the first.
        assert_eq!(update("a=1\na=2\n", &[("a".into(), "3".into())]), "a=3\n");
        // A continued value of another key is kept whole, even a line of it
        // that looks like the key being set.
        assert_eq!(
            update("b=1\\\na=2\na=3\n", &[("a".into(), "4".into())]),
            "b=1\\\na=2\na=4\n"
        );
    }
}
