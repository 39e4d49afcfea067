//! Bodies of client-facing broker codes: HEART_BEAT, consumer lists,
//! queue locks, CHECK_CLIENT_CONFIG.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::JsonBody;

/// `MessageQueue`: one queue of one topic on one broker group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    pub broker_name: String,
    pub queue_id: i32,
    pub topic: String,
}

/// `SubscriptionData`: a consumer's subscription to one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    pub class_filter_mode: bool,
    #[serde(deserialize_with = "crate::fastjson::int_set")]
    pub code_set: BTreeSet<i32>,
    pub expression_type: String,
    pub sub_string: String,
    pub sub_version: i64,
    pub tags_set: BTreeSet<String>,
    pub topic: String,
}

impl Default for SubscriptionData {
    fn default() -> Self {
        Self {
            class_filter_mode: false,
            code_set: BTreeSet::new(),
            expression_type: "TAG".to_owned(),
            sub_string: "*".to_owned(),
            sub_version: 0,
            tags_set: BTreeSet::new(),
            topic: String::new(),
        }
    }
}

/// `ConsumerData`: one consumer group as a client reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    pub consume_from_where: String,
    pub consume_type: String,
    pub group_name: String,
    pub message_model: String,
    pub subscription_data_set: Vec<SubscriptionData>,
    pub unit_mode: bool,
}

/// `ProducerData`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    pub group_name: String,
}

/// HEART_BEAT body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HeartbeatData {
    #[serde(rename = "clientID")]
    pub client_id: String,
    #[serde(rename = "consumerDataSet")]
    pub consumer_data_set: Vec<ConsumerData>,
    #[serde(rename = "heartbeatFingerprint")]
    pub heartbeat_fingerprint: i32,
    #[serde(rename = "producerDataSet")]
    pub producer_data_set: Vec<ProducerData>,
    #[serde(rename = "withoutSub")]
    pub without_sub: bool,
}

impl JsonBody for HeartbeatData {
    const WHAT: &'static str = "HeartbeatData";
}

/// GET_CONSUMER_LIST_BY_GROUP response body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerListBody {
    pub consumer_id_list: Vec<String>,
}

impl JsonBody for ConsumerListBody {
    const WHAT: &'static str = "GetConsumerListByGroupResponseBody";
}

/// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ request body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequest {
    pub client_id: String,
    pub consumer_group: String,
    pub mq_set: BTreeSet<MessageQueue>,
    pub only_this_broker: bool,
}

impl JsonBody for LockBatchRequest {
    const WHAT: &'static str = "LockBatchRequestBody";
}

/// LOCK_BATCH_MQ response body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LockBatchResponse {
    #[serde(rename = "lockOKMQSet")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

impl JsonBody for LockBatchResponse {
    const WHAT: &'static str = "LockBatchResponseBody";
}

/// CHECK_CLIENT_CONFIG request body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckClientRequest {
    pub client_id: String,
    pub group: String,
    pub subscription_data: SubscriptionData,
}

impl JsonBody for CheckClientRequest {
    const WHAT: &'static str = "CheckClientRequestBody";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_java_heartbeat() {
        let raw = br#"{"clientID":"10.0.0.5@12345#987654321","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"g1","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919,2598920],"expressionType":"TAG","subString":"TagA || TagB","subVersion":1700000000000,"tagsSet":["TagA","TagB"],"topic":"T"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;
        let hb = HeartbeatData::decode(raw).unwrap();
        assert_eq!(hb.client_id, "10.0.0.5@12345#987654321");
        let sub = &hb.consumer_data_set[0].subscription_data_set[0];
        assert_eq!(sub.sub_version, 1_700_000_000_000);
        assert!(sub.code_set.contains(&2_598_919));
        assert_eq!(hb.producer_data_set[0].group_name, "CLIENT_INNER_PRODUCER");
    }

    #[test]
    fn reads_a_go_heartbeat_with_string_codes() {
        let raw = br#"{"clientID":"go@1","consumerDataSet":[{"groupName":"g","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"TagA || TagB","tagsSet":["TagA","TagB"],"codeSet":["2598919","2598920"],"subVersion":1,"expressionType":"TAG"}],"unitMode":false}],"producerDataSet":[]}"#;
        let hb = HeartbeatData::decode(raw).unwrap();
        let sub = &hb.consumer_data_set[0].subscription_data_set[0];
        assert_eq!(
            sub.code_set.iter().copied().collect::<Vec<_>>(),
            vec![2_598_919, 2_598_920]
        );
        assert!(HeartbeatData::decode(
            br#"{"consumerDataSet":[{"subscriptionDataSet":[{"codeSet":["x"]}]}]}"#
        )
        .is_err());
    }
}
