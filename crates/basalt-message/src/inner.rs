use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use bytes::Bytes;

use crate::properties::Properties;

/// A message as the broker hands it to the store for appending
/// (RocketMQ's `MessageExtBrokerInner`). Queue offset, physical offset and
/// store timestamp are assigned by the store under its append lock; the
/// ConsumeQueue tags code is derived by the store from the properties, as
/// RocketMQ's dispatch does (so recovery can rebuild it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExtBrokerInner {
    /// Topic name (UTF-8, at most 32767 bytes; > 127 uses the v2 record).
    pub topic: String,
    /// Target queue.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Body as sent (possibly compressed; stored as is).
    pub body: Bytes,
    /// Properties, encoded into the record.
    pub properties: Properties,
    /// `MessageSysFlag` bits; the host-v6 bits are set from the addresses.
    pub sys_flag: i32,
    /// Producer timestamp (ms).
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker's client-reachable address (goes into the offset message id).
    pub store_host: SocketAddr,
    /// Delivery attempts so far.
    pub reconsume_times: i32,
    /// Commit-log offset of the half message for commit/rollback records.
    pub prepared_transaction_offset: i64,
}

impl MessageExtBrokerInner {
    /// A plain message with defaults: flag 0, no properties, hosts 0.0.0.0:0.
    pub fn new(topic: impl Into<String>, queue_id: i32, body: impl Into<Bytes>) -> Self {
        let unspecified = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        Self {
            topic: topic.into(),
            queue_id,
            flag: 0,
            body: body.into(),
            properties: Properties::new(),
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }
}
