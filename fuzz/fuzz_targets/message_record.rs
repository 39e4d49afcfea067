//! Record, batch-body and properties decoders on arbitrary bytes: never
//! panic, and a record that decodes re-encodes to the same bytes.
#![no_main]

use basalt_message::{
    decode_batch, BlankOrRecord, EncodeParams, MessageExtBrokerInner, Properties, Record,
};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let _ = decode_batch(&bytes);
    let _ = Properties::decode(data);
    if let Ok(BlankOrRecord::Record(r)) = BlankOrRecord::decode(&bytes, true) {
        let mut m = MessageExtBrokerInner::new(r.topic.clone(), r.queue_id, r.body.clone());
        m.flag = r.flag;
        m.sys_flag = r.sys_flag;
        m.born_timestamp = r.born_timestamp;
        m.born_host = r.born_host;
        m.store_host = r.store_host;
        m.reconsume_times = r.reconsume_times;
        m.prepared_transaction_offset = r.prepared_transaction_offset;
        m.properties = r.properties();
        let params = EncodeParams {
            queue_offset: r.queue_offset,
            physical_offset: r.physical_offset,
            store_timestamp: r.store_timestamp,
        };
        // Re-encoding normalises the properties string, so only the
        // fixed part and the body must match.
        if let Ok(again) = Record::encode(&m, params) {
            assert_eq!(again.get(8..84), data.get(8..84));
        }
    }
});
