//! The one error type of `basalt-bench`.

use std::path::PathBuf;

use basalt_protocol::ProtocolError;
use basalt_remoting::RemotingError;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: RemotingError },
    #[error("{what} failed: {source}")]
    Remoting {
        what: &'static str,
        source: RemotingError,
    },
    #[error("{what}: answered code {code}: {remark}")]
    Refused {
        what: &'static str,
        code: i32,
        remark: String,
    },
    #[error("no usable route for topic {topic}: {reason}")]
    Route { topic: String, reason: String },
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("cannot encode the batch body: {0}")]
    Message(#[from] basalt_message::MessageError),
    #[error("histogram: {0}")]
    Histogram(String),
    #[error("i/o on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("invalid arguments: {0}")]
    Args(String),
}
