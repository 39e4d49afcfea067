//! The only place the name server chooses a response code.

use basalt_protocol::{RemotingCommand, ResponseCode};

use crate::NamesrvError;

/// Java's hint appended to topic-not-found remarks; clients log it as is.
const APPLY_TOPIC_HINT: &str =
    "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.";

/// Turns a handler outcome into the reply the client expects.
pub fn reply(outcome: Result<RemotingCommand, NamesrvError>) -> RemotingCommand {
    let err = match outcome {
        Ok(cmd) => return cmd,
        Err(e) => e,
    };
    let code = match &err {
        NamesrvError::TopicNotExist(_) => ResponseCode::TopicNotExist,
        NamesrvError::KvNotFound { .. } | NamesrvError::KvNamespaceNotFound(_) => {
            ResponseCode::QueryNotFound
        }
        NamesrvError::Protocol(_)
        | NamesrvError::Crc32Mismatch
        | NamesrvError::RegisterRejected(_)
        | NamesrvError::Disabled => ResponseCode::SystemError,
        NamesrvError::File(_) => {
            tracing::error!(error = %err, "name server failure");
            ResponseCode::SystemError
        }
        // Only UPDATE_NAMESRV_CONFIG meets these: the client's value.
        NamesrvError::BadConfig { .. } => ResponseCode::InvalidParameter,
        NamesrvError::BlackListed(_) => ResponseCode::NoPermission,
    };
    let mut remark = err.to_string();
    if matches!(err, NamesrvError::TopicNotExist(_)) {
        remark.push_str(APPLY_TOPIC_HINT);
    }
    RemotingCommand::response(code, remark)
}
