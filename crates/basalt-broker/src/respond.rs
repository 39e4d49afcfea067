//! The only place the broker chooses a response code for an error.

use basalt_protocol::{RemotingCommand, ResponseCode};

use basalt_store::StoreError;

use crate::BrokerError;

pub fn reply(outcome: Result<RemotingCommand, BrokerError>) -> RemotingCommand {
    let err = match outcome {
        Ok(cmd) => return cmd,
        Err(e) => e,
    };
    let code = match &err {
        BrokerError::Protocol(_)
        | BrokerError::NoConsumer(_)
        | BrokerError::FilterUnsupported(_)
        | BrokerError::MessageNotFound(_)
        | BrokerError::ReplyNotPushed(_)
        | BrokerError::Failed(_) => ResponseCode::SystemError,
        BrokerError::Store(e) => return store_error(e),
        BrokerError::File(_)
        | BrokerError::BadConfig { .. }
        | BrokerError::Startup(_)
        | BrokerError::Task(_)
        | BrokerError::Encode(_) => {
            tracing::error!(error = %err, "broker failure");
            ResponseCode::SystemError
        }
        BrokerError::InvalidTopic(_) | BrokerError::InvalidParameter(_) => {
            ResponseCode::InvalidParameter
        }
        BrokerError::NoPermission(_) => ResponseCode::NoPermission,
        BrokerError::SystemBusy(_) => ResponseCode::SystemBusy,
        BrokerError::ServiceNotAvailable(_) => ResponseCode::ServiceNotAvailable,
        BrokerError::IllegalOperation(_) => ResponseCode::IllegalOperation,
        BrokerError::TopicNotExist(_) => ResponseCode::TopicNotExist,
        BrokerError::GroupNotExist(_) => ResponseCode::SubscriptionGroupNotExist,
        BrokerError::SubscriptionNotExist { .. } => ResponseCode::SubscriptionNotExist,
        BrokerError::SubscriptionNotLatest { .. } => ResponseCode::SubscriptionNotLatest,
        BrokerError::ConsumerNotOnline(_) => ResponseCode::ConsumerNotOnline,
        BrokerError::MessageIllegal(_) => ResponseCode::MessageIllegal,
        BrokerError::SubscriptionParse(_) => ResponseCode::SubscriptionParseFailed,
        BrokerError::NotFound(_) => ResponseCode::QueryNotFound,
    };
    // Client mistakes are answered, not logged as server errors; debug
    // level keeps them findable.
    tracing::debug!(code = code.as_i32(), error = %err, "request refused");
    RemotingCommand::response(code, err.to_string())
}

/// Store refusals: a full disk, a poisoned or stopped store means "try
/// another broker" (SERVICE_NOT_AVAILABLE, which the Java producer retries
/// elsewhere); a bad message is the client's fault; the rest is ours.
fn store_error(e: &StoreError) -> RemotingCommand {
    let code = match e {
        StoreError::DiskFull { .. } | StoreError::Poisoned(_) | StoreError::Shutdown => {
            tracing::warn!(error = %e, "store refused a write");
            ResponseCode::ServiceNotAvailable
        }
        StoreError::MessageTooLarge { .. } | StoreError::Encode(_) => ResponseCode::MessageIllegal,
        StoreError::BadTopic(_) => ResponseCode::InvalidParameter,
        _ => {
            tracing::error!(error = %e, "store failure");
            ResponseCode::SystemError
        }
    };
    RemotingCommand::response(code, e.to_string())
}
