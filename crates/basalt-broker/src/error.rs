//! The one error type of the broker. [`crate::respond`] maps it to wire codes.

use basalt_protocol::ProtocolError;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    File(#[from] basalt_jsonfile::JsonFileError),
    #[error("configuration key `{key}` has invalid value `{value}`")]
    BadConfig { key: String, value: String },
    #[error("{0}")]
    InvalidTopic(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    NoPermission(String),
    #[error("topic[{0}] not exist, apply first please!")]
    TopicNotExist(String),
    #[error("subscription group [{0}] does not exist")]
    GroupNotExist(String),
    #[error("the consumer's subscription not exist, group: {group}, topic: {topic}")]
    SubscriptionNotExist { group: String, topic: String },
    #[error("the consumer's subscription not latest, group: {group}, topic: {topic}")]
    SubscriptionNotLatest { group: String, topic: String },
    #[error("the consumer group[{0}] has no live client")]
    NoConsumer(String),
    #[error("the consumer group[{0}] is not online")]
    ConsumerNotOnline(String),
    #[error("{0}")]
    MessageIllegal(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    FilterUnsupported(String),
    #[error("subscription expression is invalid: {0}")]
    SubscriptionParse(String),
    /// A lookup by id found nothing; Java answers SYSTEM_ERROR here.
    #[error("{0}")]
    MessageNotFound(String),
    /// A reply could not be handed to its requester.
    #[error("{0}")]
    ReplyNotPushed(String),
    #[error("{0}")]
    Startup(String),
    /// Flow control: the client should try another broker.
    #[error("{0}")]
    SystemBusy(String),
    /// The broker does not serve this now (RocketMQ's
    /// SERVICE_NOT_AVAILABLE): the client may try another.
    #[error("{0}")]
    ServiceNotAvailable(String),
    /// A request the broker could not carry out, answered SYSTEM_ERROR
    /// with RocketMQ's remark for it.
    #[error("{0}")]
    Failed(String),
    /// A request the broker will not carry out as asked (a recall handle
    /// that is not this broker's, or past its time).
    #[error("{0}")]
    IllegalOperation(String),
    /// A blocking task (file work moved off the executor) panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("cannot encode message: {0}")]
    Encode(#[from] basalt_message::MessageError),
    #[error(transparent)]
    Store(#[from] basalt_store::StoreError),
}
