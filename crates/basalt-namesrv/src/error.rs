//! The one error type of the name server.

use basalt_protocol::ProtocolError;

#[derive(Debug, thiserror::Error)]
pub enum NamesrvError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("No topic route info in name server for the topic: {0}")]
    TopicNotExist(String),
    #[error("No config item, Namespace: {namespace} Key: {key}")]
    KvNotFound { namespace: String, key: String },
    #[error("No config item, Namespace: {0}")]
    KvNamespaceNotFound(String),
    #[error("crc32 not match")]
    Crc32Mismatch,
    #[error("register broker failed: {0}")]
    RegisterRejected(&'static str),
    #[error("disable")]
    Disabled,
    #[error(transparent)]
    File(#[from] basalt_jsonfile::JsonFileError),
    #[error("configuration key `{key}` has invalid value `{value}`")]
    BadConfig { key: String, value: String },
    #[error("Can not update config in black list: {0}")]
    BlackListed(String),
}
