//! Client-facing broker codes other than send and pull: client lifecycle,
//! offsets, queries.

use crate::command_header;

command_header! {
    /// UNREGISTER_CLIENT (35).
    pub struct UnregisterClientRequest {
        pub client_id: String => "clientID",
        pub producer_group: Option<String> => "producerGroup",
        pub consumer_group: Option<String> => "consumerGroup",
    }
}

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38), NOTIFY_CONSUMER_IDS_CHANGED (40),
    /// GET_CONSUMER_CONNECTION_LIST (203).
    pub struct ConsumerGroupRequest {
        pub consumer_group: String => "consumerGroup",
    }
}

command_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204).
    pub struct ProducerGroupRequest {
        pub producer_group: String => "producerGroup",
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET (14).
    pub struct QueryConsumerOffsetRequest {
        pub consumer_group: String => "consumerGroup",
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        pub set_zero_if_not_found: Option<bool> => "setZeroIfNotFound",
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15).
    pub struct UpdateConsumerOffsetRequest {
        pub consumer_group: String => "consumerGroup",
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        pub commit_offset: i64 => "commitOffset",
    }
}

command_header! {
    /// Responses carrying one offset (14, 29, 30, 31).
    pub struct OffsetResponse {
        pub offset: i64 => "offset",
    }
}

command_header! {
    /// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32).
    pub struct QueueRequest {
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    pub struct SearchOffsetRequest {
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        pub timestamp: i64 => "timestamp",
        pub boundary_type: Option<String> => "boundaryType",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) response.
    pub struct TimestampResponse {
        pub timestamp: i64 => "timestamp",
    }
}

command_header! {
    /// QUERY_MESSAGE (12).
    pub struct QueryMessageRequest {
        pub topic: String => "topic",
        pub key: String => "key",
        pub max_num: i32 => "maxNum",
        pub begin_timestamp: i64 => "beginTimestamp",
        pub end_timestamp: i64 => "endTimestamp",
        /// RocketMQ 5.5: "T" looks `key` up as a tag, "K" (or none) as a key.
        pub index_type: Option<String> => "indexType",
    }
}

command_header! {
    /// QUERY_MESSAGE (12) response.
    pub struct QueryMessageResponse {
        pub index_last_update_timestamp: i64 => "indexLastUpdateTimestamp",
        pub index_last_update_phyoffset: i64 => "indexLastUpdatePhyoffset",
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33).
    pub struct ViewMessageRequest {
        pub topic: Option<String> => "topic",
        pub offset: i64 => "offset",
    }
}
