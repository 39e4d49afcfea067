//! `TopicRouteData`, `QueueData`, `BrokerData` (GET_ROUTEINFO_BY_TOPIC).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::JsonBody;

/// The master's id in `brokerAddrs` (`MixAll.MASTER_ID`).
pub const MASTER_ID: i64 = 0;

/// One broker group (a master and its slaves) under one name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// Broker id -> address; id 0 is the master.
    pub broker_addrs: BTreeMap<i64, String>,
    pub broker_name: String,
    pub cluster: String,
    pub enable_acting_master: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

/// The queues one broker group offers for a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    pub broker_name: String,
    pub perm: i32,
    pub read_queue_nums: i32,
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

impl Default for QueueData {
    fn default() -> Self {
        Self {
            broker_name: String::new(),
            perm: 6,
            read_queue_nums: 16,
            topic_sys_flag: 0,
            write_queue_nums: 16,
        }
    }
}

/// Where a topic lives: its queues per broker group and those groups' addresses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    pub broker_datas: Vec<BrokerData>,
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    pub queue_datas: Vec<QueueData>,
}

impl JsonBody for TopicRouteData {
    const WHAT: &'static str = "TopicRouteData";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_route_forms() {
        let legacy = br#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;
        let standard = String::from_utf8_lossy(legacy)
            .replace("{0:", "{\"0\":")
            .replace(",1:", ",\"1\":");
        let a = TopicRouteData::decode(legacy).unwrap();
        let b = TopicRouteData::decode(standard.as_bytes()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.broker_datas[0].broker_addrs[&1], "10.0.0.2:10911");
        assert_eq!(String::from_utf8(a.encode()).unwrap(), standard);
    }
}
