//! Re-storing a stored record under another topic or queue: scheduled
//! delivery, retries, dead letters and transaction commits all copy a
//! record's fields into a new message the same way.

use basalt_message::{MessageExtBrokerInner, Properties, Record};

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
