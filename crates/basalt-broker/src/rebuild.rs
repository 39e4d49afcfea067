//! Re-storing a stored record under another topic or queue: scheduled
//! delivery, retries, dead letters and transaction commits all copy a
//! record's fields into a new message the same way.

use basalt_message::properties::{REAL_QID, REAL_TOPIC, WAIT};
use basalt_message::{BlankOrRecord, MessageExtBrokerInner, Properties, Record};

/// A new message carrying `rec`'s body, flags and origin, for `topic` /
/// `queue_id`, with `properties` replacing the record's.
pub fn from_record(
    rec: &Record,
    topic: String,
    queue_id: i32,
    properties: Properties,
) -> MessageExtBrokerInner {
    MessageExtBrokerInner {
        topic,
        queue_id,
        flag: rec.flag,
        body: rec.body.clone(),
        properties,
        sys_flag: rec.sys_flag,
        born_timestamp: rec.born_timestamp,
        born_host: rec.born_host,
        store_host: rec.store_host,
        reconsume_times: rec.reconsume_times,
        prepared_transaction_offset: rec.prepared_transaction_offset,
    }
}

/// A record parked in a system topic (delay level, timer, transaction
/// half) as the message for its real topic and queue (`REAL_TOPIC`,
/// `REAL_QID`), without those properties and `parked_by`; its re-store
/// does not wait for a flush.
pub fn to_real_destination(rec: &Record, parked_by: &[&str]) -> MessageExtBrokerInner {
    let mut props = rec.properties();
    let topic = props.remove(REAL_TOPIC).unwrap_or_default();
    let queue_id = props
        .remove(REAL_QID)
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    for key in parked_by {
        props.remove(key);
    }
    props.insert(WAIT, "false");
    from_record(rec, topic, queue_id, props)
}

/// The record a system queue's entry `qo` returned (`raw`), or `None` to
/// pass over it: a blank, or bytes that do not decode (logged: one bad
/// record must not stall the queue behind it).
pub fn record_or_skip(raw: &bytes::Bytes, queue: &str, qo: u64) -> Option<Box<Record>> {
    match basalt_store::Store::decode(raw) {
        Ok(BlankOrRecord::Record(rec)) => Some(rec),
        Ok(BlankOrRecord::Blank { .. }) => None,
        Err(e) => {
            tracing::error!(queue, offset = qo, error = %e, "undecodable record skipped");
            None
        }
    }
}
