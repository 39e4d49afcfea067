//! Admin codes served by the broker.

use crate::command_header;

command_header! {
    /// UPDATE_AND_CREATE_TOPIC (17).
    pub struct CreateTopicRequest {
        pub topic: String => "topic",
        pub default_topic: Option<String> => "defaultTopic",
        pub read_queue_nums: i32 => "readQueueNums",
        pub write_queue_nums: i32 => "writeQueueNums",
        pub perm: i32 => "perm",
        pub topic_filter_type: Option<String> => "topicFilterType",
        pub topic_sys_flag: Option<i32> => "topicSysFlag",
        pub order: Option<bool> => "order",
        pub attributes: Option<String> => "attributes",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_BROKER (215), GET_TOPIC_STATS_INFO (202), GET_TOPIC_CONFIG (351).
    pub struct TopicRequest {
        pub topic: String => "topic",
    }
}

command_header! {
    /// GET_CONSUME_STATS (208).
    pub struct ConsumeStatsRequest {
        pub consumer_group: String => "consumerGroup",
        pub topic: Option<String> => "topic",
    }
}

command_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207).
    pub struct DeleteGroupRequest {
        pub group_name: String => "groupName",
        pub clean_offset: Option<bool> => "cleanOffset",
    }
}

command_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222): `mqadmin resetOffsetByTime`.
    pub struct ResetOffsetRequest {
        pub group: String => "group",
        pub topic: String => "topic",
        pub queue_id: Option<i32> => "queueId",
        pub offset: Option<i64> => "offset",
        pub timestamp: i64 => "timestamp",
        pub is_force: Option<bool> => "isForce",
    }
}
