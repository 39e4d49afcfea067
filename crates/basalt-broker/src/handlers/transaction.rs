//! END_TRANSACTION (37): the producer's verdict on a half message; and
//! RESUME_CHECK_HALF_MESSAGE (323, `mqadmin resumeCheckHalfMessage`): a
//! half parked in TRANS_CHECK_MAX_TIME_TOPIC put back to be checked again.

use std::sync::Arc;

use basalt_message::properties::{REAL_TOPIC, WAIT};
use basalt_message::{decode_offset_msg_id, sysflag, BlankOrRecord};
use basalt_protocol::headers::transaction::{EndTransactionRequest, ResumeCheckHalfMessageRequest};
use basalt_protocol::{RemotingCommand, ResponseCode};
use basalt_remoting::Request;
use basalt_store::Store;

use super::Outcome;
use crate::schedule::Schedule;
use crate::transaction::{committed, find_half, op_message, CHECK_TIMES, HALF_TOPIC};
use crate::BrokerError;

pub struct EndState {
    pub store: Store,
    pub schedule: Arc<Schedule>,
    pub store_host: std::net::SocketAddr,
}

pub async fn end(s: Arc<EndState>, req: Request) -> Outcome {
    let h: EndTransactionRequest = req.cmd.header()?;
    let verdict = h.commit_or_rollback;
    if verdict == sysflag::TRANSACTION_NOT_TYPE {
        // "Unknown": keep the half; the checker will ask again.
        return Ok(RemotingCommand::success());
    }
    if verdict != sysflag::TRANSACTION_COMMIT_TYPE && verdict != sysflag::TRANSACTION_ROLLBACK_TYPE
    {
        return Err(BrokerError::InvalidParameter(format!(
            "unknown commitOrRollback {verdict}"
        )));
    }
    let half = find_half(
        &s.store,
        h.commit_log_offset,
        h.tran_state_table_offset,
        &h.producer_group,
    )?;
    if verdict == sysflag::TRANSACTION_COMMIT_TYPE {
        let mut m = committed(&half, h.commit_log_offset);
        s.schedule.divert(&mut m)?;
        s.store.put(m).await?;
    }
    let done = u64::try_from(half.queue_offset).unwrap_or(0);
    s.store.put(op_message(done, s.store_host)).await?;
    tracing::debug!(
        offset = half.queue_offset,
        commit = verdict == sysflag::TRANSACTION_COMMIT_TYPE,
        check = h.from_transaction_check.unwrap_or(false),
        "transaction ended"
    );
    Ok(RemotingCommand::success())
}

/// Puts the stored message an offset id names back into the half queue
/// with its check count at 0, as RocketMQ does (whatever topic it is in;
/// it is meant for halves parked after too many checks). Failures are
/// answered SYSTEM_ERROR with RocketMQ's remarks.
pub async fn resume_check(s: Arc<EndState>, req: Request) -> Outcome {
    let h: ResumeCheckHalfMessageRequest = req.cmd.header()?;
    let failed = |why: &str| {
        tracing::warn!(msg_id = %h.msg_id, why, "resumeCheckHalfMessage refused");
        Ok(RemotingCommand::response(
            ResponseCode::SystemError,
            "Exception was thrown when putting message back to RMQ_SYS_TRANS_HALF_TOPIC."
                .to_owned(),
        ))
    };
    let Some(raw) = decode_offset_msg_id(&h.msg_id)
        .ok()
        .and_then(|(_, phys)| u64::try_from(phys).ok())
        .and_then(|phys| s.store.message_at(phys))
    else {
        return failed("no message at that offset id");
    };
    let Ok(BlankOrRecord::Record(rec)) = Store::decode(&raw) else {
        return failed("not a message");
    };
    let mut props = rec.properties();
    props.insert(CHECK_TIMES, "0");
    props.insert(WAIT, "false");
    let half = crate::rebuild::from_record(&rec, HALF_TOPIC.to_owned(), 0, props);
    if let Err(e) = s.store.put(half).await {
        tracing::warn!(error = %e, "resumeCheckHalfMessage: put failed");
        return Ok(RemotingCommand::response(
            ResponseCode::SystemError,
            "Put message back to RMQ_SYS_TRANS_HALF_TOPIC failed.".to_owned(),
        ));
    }
    tracing::info!(
        real_topic = rec.properties().get(REAL_TOPIC).unwrap_or_default(),
        "put a message back to {HALF_TOPIC}"
    );
    Ok(RemotingCommand::success())
}
