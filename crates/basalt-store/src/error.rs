use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use basalt_message::MessageError;

/// Everything the store can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An earlier fsync failed; the page cache may no longer match the disk,
    /// so every later write is refused until the store is reopened (and recovered).
    #[error("store poisoned by a failed flush: {0}")]
    Poisoned(#[source] Arc<io::Error>),
    /// The disk is full (ENOSPC) or usage passed `diskMaxUsedSpaceRatio`.
    /// Reads go on; writes resume when space returns.
    #[error("disk full: {reason}")]
    DiskFull {
        /// ENOSPC or the usage ratio.
        reason: String,
        /// The I/O error, when ENOSPC caused it.
        #[source]
        source: Option<io::Error>,
    },
    /// The body exceeds `maxMessageSize`, or the record cannot fit a CommitLog file.
    #[error("message too large: {size} bytes, limit {limit}")]
    MessageTooLarge {
        /// Offending size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// The topic is empty or too long, or the queue id is negative.
    #[error("bad topic or queue: {0}")]
    BadTopic(String),
    /// The message could not be encoded.
    #[error("cannot encode message")]
    Encode(#[from] MessageError),
    /// A record in the middle of the CommitLog (or a queue file) is damaged;
    /// the store refuses to serve it.
    #[error("corrupt data in {file} at offset {offset}: {reason}")]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset within the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Another process (or another open `Store`) holds the store's `lock` file.
    #[error("store at {0} is locked by another process")]
    Locked(PathBuf),
    /// The configuration is unusable.
    #[error("bad configuration: {0}")]
    Config(String),
    /// The store has been shut down.
    #[error("store is shut down")]
    Shutdown,
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        if source.raw_os_error() == Some(ENOSPC) || source.kind() == io::ErrorKind::StorageFull {
            return Self::DiskFull {
                reason: format!("{op} {}: no space left", path.into().display()),
                source: Some(source),
            };
        }
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Linux/macOS errno for "no space left on device".
pub(crate) const ENOSPC: i32 = 28;

/// Result alias for the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
