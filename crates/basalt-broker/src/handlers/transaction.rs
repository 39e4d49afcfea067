//! END_TRANSACTION (37): the producer's verdict on a half message.

use std::sync::Arc;

use basalt_message::sysflag;
use basalt_protocol::headers::transaction::EndTransactionRequest;
use basalt_protocol::RemotingCommand;
use basalt_remoting::Request;
use basalt_store::Store;

use super::Outcome;
use crate::schedule::Schedule;
use crate::transaction::{committed, find_half, op_message};
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
        s.schedule.divert(&mut m);
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
