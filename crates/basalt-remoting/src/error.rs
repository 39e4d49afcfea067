//! The one error type of the remoting crate.

use std::time::Duration;

use basalt_protocol::ProtocolError;

#[derive(Debug, thiserror::Error)]
pub enum RemotingError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("no response to opaque {opaque} within {timeout:?}")]
    Timeout { opaque: i32, timeout: Duration },
    #[error("connection closed")]
    Closed,
}
