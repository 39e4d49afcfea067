//! The `key=value` text of Java `.properties`: RocketMQ's config files and
//! the bodies of UPDATE_BROKER_CONFIG and GET_BROKER_CONFIG.

/// One entry as it stands in the text: its physical lines (the first, and
/// one past the last) and the entry with continuations joined, still
/// escaped.
struct Logical {
    first: usize,
    end: usize,
    raw: String,
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// A line continues on the next when it ends in an odd number of
/// backslashes (an even number are escaped backslashes).
fn continues(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// The entries of a properties text, as Java's `Properties.load` reads its
/// lines: blank lines and lines starting with `#` or `!` are skipped (and
/// never continue), leading blanks of every line and continuation line
/// go, and a line continues while it ends in an odd number of backslashes.
fn entries(lines: &[&str]) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut iter = lines.iter().enumerate();
    while let Some((first, line)) = iter.next() {
        let mut part = line.trim_start_matches(is_blank);
        if part.is_empty() || part.starts_with('#') || part.starts_with('!') {
            continue;
        }
        let mut raw = String::new();
        let mut end = first + 1;
        while continues(part) {
            raw.push_str(part.strip_suffix('\\').unwrap_or(part));
            // A continuation at the end of the text continues into nothing.
            let Some((i, next)) = iter.next() else {
                part = "";
                break;
            };
            end = i + 1;
            part = next.trim_start_matches(is_blank);
        }
        raw.push_str(part);
        out.push(Logical { first, end, raw });
    }
    out
}

/// Splits an entry into its raw key and raw value: the key ends at the
/// first unescaped `=`, `:` or blank; blanks, one `=` or `:`, and blanks
/// again separate it from the value.
fn split(entry: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = entry.len();
    for (i, c) in entry.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || is_blank(c) {
            key_end = i;
            break;
        }
    }
    let (key, rest) = entry.split_at(key_end);
    let rest = rest.trim_start_matches(is_blank);
    let rest = rest
        .strip_prefix(['=', ':'])
        .unwrap_or(rest)
        .trim_start_matches(is_blank);
    (key, rest)
}

/// Resolves Java's escapes: `\t`, `\n`, `\r`, `\f`, `\uXXXX`, and a
/// backslash before any other character stands for that character. A
/// malformed `\u` (Java's load fails on it) is kept as it was written.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                {
                    Some(code) => {
                        // A lone surrogate half is no char: U+FFFD, as a
                        // Java string holding one prints.
                        out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        chars.nth(3);
                    }
                    None => out.push_str("\\u"),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Escapes a key or value so [`parse`] reads it back unchanged (Java's
/// `Properties.store` escapes the same characters, bar non-ASCII ones).
fn escape(text: &str, key: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x0c' => out.push_str("\\f"),
            '=' | ':' | '#' | '!' if key || i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if key || i == 0 => out.push_str("\\ "),
            _ => out.push(c),
        }
    }
    out
}

/// One `key=value` line, escaped.
fn line_of(key: &str, value: &str) -> String {
    format!("{}={}\n", escape(key, true), escape(value, false))
}

fn physical_lines(text: &str) -> Vec<&str> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

/// Parses a Java `.properties` text: `key=value`, `key: value` or
/// `key value`, comments, continued lines and escapes as
/// `Properties.load` reads them. Values are trimmed, as RocketMQ trims
/// the strings it sets from them. A key set twice keeps its last value
/// (callers read the pairs in order).
pub fn parse(text: &str) -> Vec<(String, String)> {
    entries(&physical_lines(text))
        .into_iter()
        .filter_map(|e| {
            let (key, value) = split(&e.raw);
            let key = unescape(key);
            (!key.is_empty()).then(|| (key, unescape(value).trim().to_owned()))
        })
        .collect()
}

/// `text` with each of `updates` set: the entry that set a key (all its
/// lines) replaced where it stood, keys it did not have appended;
/// comments and every other line kept as they were.
pub fn update(text: &str, updates: &[(String, String)]) -> String {
    /// An entry that sets a key being updated, and the update it takes
    /// (none for a later entry of the same key, which goes).
    struct Replaced<'a> {
        first: usize,
        end: usize,
        with: Option<&'a (String, String)>,
    }
    let mut pending: Vec<&(String, String)> = updates.iter().collect();
    let mut replaced = Vec::new();
    for e in entries(&physical_lines(text)) {
        let key = unescape(split(&e.raw).0);
        if updates.iter().any(|(u, _)| *u == key) {
            let at = pending.iter().position(|(u, _)| *u == key);
            replaced.push(Replaced {
                first: e.first,
                end: e.end,
                with: at.map(|at| pending.remove(at)),
            });
        }
    }
    let mut out = String::with_capacity(text.len() + 64);
    // Kept lines are written as they came, `\r` included.
    let as_written: Vec<&str> = text.split('\n').collect();
    let count = as_written.len();
    let mut skip_until = 0;
    let mut next = replaced.into_iter().peekable();
    for (i, line) in as_written.into_iter().enumerate() {
        if i < skip_until {
            continue;
        }
        if let Some(r) = next.next_if(|r| r.first == i) {
            if let Some((k, v)) = r.with {
                out.push_str(&line_of(k, v));
            }
            skip_until = r.end;
            continue;
        }
        // The split leaves an empty piece after a final newline.
        if i + 1 < count || !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    // A last line that continues would take the first appended one into
    // its value; a blank line ends it.
    let last = out.strip_suffix('\n').and_then(|o| o.rsplit('\n').next());
    if !pending.is_empty() && last.is_some_and(|l| continues(l.strip_suffix('\r').unwrap_or(l))) {
        out.push('\n');
    }
    for (k, v) in pending {
        out.push_str(&line_of(k, v));
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
    fn java_escapes_and_continuations() {
        let text = "a\\=b=c\r\nkey\\ with\\ blanks = v\\u00e9\\t!\npath=C:\\\\dir\\\\\nnext=1\n  cont = x\\\n    # not a comment\\\n\t\tend\nbad=\\uZZ\nlast=\\";
        assert_eq!(
            parse(text),
            vec![
                ("a=b".into(), "c".into()),
                ("key with blanks".into(), "v\u{e9}\t!".into()),
                // Two backslashes at the end are one, escaped: no continuation.
                ("path".into(), "C:\\dir\\".into()),
                ("next".into(), "1".into()),
                ("cont".into(), "x# not a commentend".into()),
                ("bad".into(), "\\uZZ".into()),
                ("last".into(), String::new()),
            ]
        );
    }

    #[test]
    fn updated_values_read_back_as_written() {
        let tricky = [
            ("storePathRootDir".to_owned(), "C:\\data\\store".to_owned()),
            ("brokerName".to_owned(), "b\u{e9}#1 = x".to_owned()),
            ("odd key:1".to_owned(), " lead".to_owned()),
        ];
        let text = update(
            "# keep\r\nbrokerName=old\\\n  continued\nother=1\n",
            &tricky,
        );
        assert_eq!(
            parse(&text),
            vec![
                ("brokerName".into(), "b\u{e9}#1 = x".into()),
                ("other".into(), "1".into()),
                ("storePathRootDir".into(), "C:\\data\\store".into()),
                // Leading blanks of a value are not kept by Java either.
                ("odd key:1".into(), "lead".into()),
            ]
        );
        assert!(text.starts_with("# keep\r\nbrokerName="), "{text}");
        // An escaped key is found for replacement.
        assert_eq!(
            update("a\\ b=1\n", &[("a b".into(), "2".into())]),
            "a\\ b=2\n"
        );
    }

    proptest::proptest! {
        /// Whatever keys and values an update writes, the file reads back
        /// with them (values trimmed, as every read trims them).
        #[test]
        fn written_pairs_read_back(
            pairs in proptest::collection::btree_map("\\PC{1,12}|[ =:#!\\\\\t\r\nuf]{1,6}", "\\PC{0,12}|[ =:#!\\\\\t\r\nuf0-9]{0,8}", 1..6),
            before in "[a-z#!= \\\\\n]{0,40}",
        ) {
            let updates: Vec<(String, String)> = pairs.into_iter().collect();
            let text = update(&before, &updates);
            let read = parse(&text);
            let last = |k: &str| read.iter().rev().find(|(rk, _)| rk == k).map(|(_, rv)| rv.clone());
            for (k, v) in &updates {
                proptest::prop_assert_eq!(last(k), Some(v.trim().to_owned()), "{:?}", text);
            }
            // What the update did not name reads as it did.
            for (k, v) in parse(&before) {
                if !updates.iter().any(|(u, _)| *u == k) {
                    let old = parse(&before).into_iter().rev().find(|(rk, _)| *rk == k).map(|(_, rv)| rv);
                    proptest::prop_assert_eq!(last(&k), old, "{:?} -> {:?} ({})", before, text, v);
                }
            }
        }
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
