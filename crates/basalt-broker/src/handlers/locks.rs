//! LOCK_BATCH_MQ / UNLOCK_BATCH_MQ for orderly consumers.

use basalt_protocol::body::client::{LockBatchRequest, LockBatchResponse};
use basalt_protocol::body::JsonBody;
use basalt_protocol::RemotingCommand;
use basalt_remoting::Request;
use tokio::time::Instant;

use super::Outcome;
use crate::locks::Locks;

pub fn lock(locks: &Locks, req: &Request) -> Outcome {
    let body = LockBatchRequest::decode(&req.cmd.body)?;
    let ok = locks.lock(
        &body.consumer_group,
        &body.mq_set,
        &body.client_id,
        Instant::now(),
    );
    Ok(RemotingCommand::success().with_body(LockBatchResponse { lock_ok_mq_set: ok }.encode()))
}

pub fn unlock(locks: &Locks, req: &Request) -> Outcome {
    let body = LockBatchRequest::decode(&req.cmd.body)?;
    locks.unlock(&body.consumer_group, &body.mq_set, &body.client_id);
    Ok(RemotingCommand::success())
}
