//! RocketMQ's JSON metadata files (`kvConfig.json`, `topics.json`,
//! `consumerOffset.json`, `subscriptionGroup.json`, ...), read and written
//! the way RocketMQ's `ConfigManager` does: every rewrite keeps the previous
//! content as `<file>.bak`, and a load falls back to it.
//!
//! Sits beside the data path: roles (`basalt-namesrv`, `basalt-broker`) use
//! it for their metadata; it depends only on `basalt-protocol` for the
//! fastjson-tolerant reader, because files written by Java use unquoted
//! integer keys.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum JsonFileError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: basalt_protocol::ProtocolError,
    },
    #[error("cannot serialise {path}: {source}")]
    Serialize {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// `<file>.bak`.
pub fn bak_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".bak");
    PathBuf::from(s)
}

/// Loads `path`, or its `.bak` when the file is missing or empty; `None`
/// when neither holds anything. A file that exists but does not parse is an
/// error naming it: silently starting empty would lose offsets or topics.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, JsonFileError> {
    match read_one(path)? {
        Some(v) => Ok(Some(v)),
        None => read_one(&bak_path(path)),
    }
}

fn read_one<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, JsonFileError> {
    let raw = match std::fs::read(path) {
        Ok(raw) => raw,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(JsonFileError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    basalt_protocol::fastjson::from_slice("metadata file", &raw)
        .map(Some)
        .map_err(|source| JsonFileError::Corrupt {
            path: path.to_path_buf(),
            source,
        })
}

/// Writes `value` to `path`: temp file, fsync, previous content to `.bak`,
/// rename. A crash leaves the old or the new content, never a torn file.
pub fn persist<T: Serialize>(path: &Path, value: &T) -> Result<(), JsonFileError> {
    let json = serde_json::to_vec_pretty(value).map_err(|source| JsonFileError::Serialize {
        path: path.to_path_buf(),
        source,
    })?;
    let err = |source| JsonFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(&json).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    if path.exists() {
        std::fs::copy(path, bak_path(path)).map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn persist_load_bak_and_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/x.json");
        assert!(load::<BTreeMap<String, i64>>(&path).unwrap().is_none());
        persist(&path, &BTreeMap::from([("a".to_owned(), 1i64)])).unwrap();
        persist(&path, &BTreeMap::from([("a".to_owned(), 2i64)])).unwrap();
        let now: BTreeMap<String, i64> = load(&path).unwrap().unwrap();
        assert_eq!(now["a"], 2);
        std::fs::remove_file(&path).unwrap();
        let bak: BTreeMap<String, i64> = load(&path).unwrap().unwrap();
        assert_eq!(bak["a"], 1);
        std::fs::write(&path, b"{\"a\":").unwrap();
        let e = load::<BTreeMap<String, i64>>(&path).unwrap_err();
        assert!(e.to_string().contains("x.json"), "{e}");
        // Java's unquoted integer keys are read.
        std::fs::write(&path, b"{\"t@g\":{0:15,1:20}}").unwrap();
        let java: BTreeMap<String, BTreeMap<i32, i64>> = load(&path).unwrap().unwrap();
        assert_eq!(java["t@g"][&1], 20);
    }
}
