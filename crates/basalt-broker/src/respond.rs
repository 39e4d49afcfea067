//! The only place the broker chooses a response code for an error.

use basalt_protocol::{RemotingCommand, ResponseCode};

use crate::BrokerError;

pub fn reply(outcome: Result<RemotingCommand, BrokerError>) -> RemotingCommand {
    let err = match outcome {
        Ok(cmd) => return cmd,
        Err(e) => e,
    };
    let code = match &err {
        BrokerError::Protocol(_) | BrokerError::NoConsumer(_) => ResponseCode::SystemError,
        BrokerError::File(_) | BrokerError::BadConfig { .. } => {
            tracing::error!(error = %err, "broker failure");
            ResponseCode::SystemError
        }
        BrokerError::InvalidTopic(_) | BrokerError::InvalidParameter(_) => {
            ResponseCode::InvalidParameter
        }
        BrokerError::NoPermission(_) => ResponseCode::NoPermission,
        BrokerError::TopicNotExist(_) => ResponseCode::TopicNotExist,
        BrokerError::GroupNotExist(_) => ResponseCode::SubscriptionGroupNotExist,
        BrokerError::SubscriptionNotExist { .. } => ResponseCode::SubscriptionNotExist,
        BrokerError::SubscriptionNotLatest { .. } => ResponseCode::SubscriptionNotLatest,
        BrokerError::ConsumerNotOnline(_) => ResponseCode::ConsumerNotOnline,
        BrokerError::MessageIllegal(_) => ResponseCode::MessageIllegal,
        BrokerError::NotFound(_) => ResponseCode::QueryNotFound,
    };
    RemotingCommand::response(code, err.to_string())
}
