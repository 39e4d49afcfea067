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

/// `json` with every `brokerAddrs` map written as fastjson writes a map
/// keyed by longs by default: bare integer keys (`{0:"a:1",1:"b:1"}`).
/// RocketMQ's name server answers routes so to clients older than 4.9.4
/// (the Go client says it is 3.x), and cluster info so always; Go clients
/// before v2.1.2 split this text by hand and read a quoted key as id 0,
/// taking a slave for the master.
pub fn legacy_broker_addrs(json: &[u8]) -> Vec<u8> {
    const FIELD: &[u8] = b"\"brokerAddrs\":{";
    let mut out = Vec::with_capacity(json.len());
    let mut rest = json;
    while let Some(at) = rest.windows(FIELD.len()).position(|w| w == FIELD) {
        let (head, tail) = rest.split_at(at + FIELD.len());
        out.extend_from_slice(head);
        rest = tail;
        // Inside the map: `"key":"value"` pairs of digits and addresses
        // (no braces or quotes in either), until the closing brace.
        let end = rest.iter().position(|b| *b == b'}').unwrap_or(rest.len());
        let (map, after) = rest.split_at(end);
        for (i, pair) in map.split(|b| *b == b',').enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match pair.iter().position(|b| *b == b':') {
                Some(colon) => {
                    let (key, value) = pair.split_at(colon);
                    let bare = key
                        .strip_prefix(b"\"")
                        .and_then(|k| k.strip_suffix(b"\""))
                        .filter(|k| {
                            !k.is_empty() && k.iter().all(|b| b.is_ascii_digit() || *b == b'-')
                        });
                    out.extend_from_slice(bare.unwrap_or(key));
                    out.extend_from_slice(value);
                }
                None => out.extend_from_slice(pair),
            }
        }
        rest = after;
    }
    out.extend_from_slice(rest);
    out
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
        // And written back in the legacy form byte for byte.
        assert_eq!(legacy_broker_addrs(standard.as_bytes()), legacy.to_vec());
    }

    #[test]
    fn legacy_form_touches_only_broker_id_keys() {
        let none = br#"{"brokerDatas":[],"queueDatas":[]}"#;
        assert_eq!(legacy_broker_addrs(none), none.to_vec());
        let two =
            br#"[{"brokerAddrs":{"0":"a:1"},"x":{"0":"y"}},{"brokerAddrs":{},"brokerName":"b"}]"#;
        assert_eq!(
            String::from_utf8(legacy_broker_addrs(two)).unwrap(),
            r#"[{"brokerAddrs":{0:"a:1"},"x":{"0":"y"}},{"brokerAddrs":{},"brokerName":"b"}]"#
        );
    }
}
