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

command_header! {
    /// GET_CONSUMER_RUNNING_INFO (307): passed on to the consumer.
    pub struct ConsumerRunningInfoRequest {
        pub consumer_group: String => "consumerGroup",
        pub client_id: String => "clientId",
        pub jstack_enable: Option<bool> => "jstackEnable",
    }
}

command_header! {
    /// CONSUME_MESSAGE_DIRECTLY (309): the stored message by offset id,
    /// passed on to the consumer.
    pub struct ConsumeMessageDirectlyRequest {
        pub consumer_group: String => "consumerGroup",
        pub client_id: String => "clientId",
        pub msg_id: String => "msgId",
        pub broker_name: Option<String> => "brokerName",
        pub topic: Option<String> => "topic",
    }
}

command_header! {
    /// QUERY_TOPIC_CONSUME_BY_WHO (300).
    pub struct QueryTopicConsumeByWhoRequest {
        pub topic: String => "topic",
    }
}

command_header! {
    /// QUERY_TOPICS_BY_CONSUMER (343), GET_SUBSCRIPTIONGROUP_CONFIG (352).
    pub struct GroupRequest {
        pub group: String => "group",
    }
}

command_header! {
    /// CLONE_GROUP_OFFSET (314): `mqadmin cloneGroupOffset`.
    pub struct CloneGroupOffsetRequest {
        pub src_group: String => "srcGroup",
        pub dest_group: String => "destGroup",
        pub topic: Option<String> => "topic",
        pub offline: bool => "offline",
    }
}

command_header! {
    /// VIEW_BROKER_STATS_DATA (315): `mqadmin statsAll`.
    pub struct ViewBrokerStatsDataRequest {
        pub stats_name: String => "statsName",
        pub stats_key: String => "statsKey",
    }
}

command_header! {
    /// GET_BROKER_CONSUME_STATS (317): `mqadmin brokerConsumeStats`.
    pub struct BrokerConsumeStatsRequest {
        pub is_order: Option<bool> => "isOrder",
    }
}

command_header! {
    /// QUERY_CONSUME_QUEUE (321): `mqadmin queryCq`.
    pub struct QueryConsumeQueueRequest {
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        pub index: i64 => "index",
        pub count: i32 => "count",
        pub consumer_group: Option<String> => "consumerGroup",
    }
}

command_header! {
    /// QUERY_CONSUME_TIME_SPAN (303), INVOKE_BROKER_TO_GET_CONSUMER_STATUS
    /// (223, `mqadmin getConsumerStatus`; with the client to ask) and
    /// GET_CONSUMER_STATUS_FROM_CLIENT (221, the broker to the consumer).
    pub struct GroupTopicRequest {
        pub topic: String => "topic",
        pub group: String => "group",
        pub client_addr: Option<String> => "clientAddr",
    }
}

command_header! {
    /// QUERY_SUBSCRIPTION_BY_CONSUMER (345).
    pub struct QuerySubscriptionRequest {
        pub group: String => "group",
        pub topic: Option<String> => "topic",
    }
}
