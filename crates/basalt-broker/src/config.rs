//! Broker settings under RocketMQ's `broker.conf` key names. Store keys are
//! owned by `basalt-store`'s config; the binary offers every key to both.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use crate::BrokerError;

/// Settings of the broker role.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `brokerClusterName`. Default: `DefaultCluster`.
    pub cluster_name: String,
    /// `brokerName`. Default: `broker-a` (the distribution's broker.conf).
    pub broker_name: String,
    /// `brokerId`: 0 is the master. Default: 0.
    pub broker_id: i64,
    /// `brokerIP1`: the address clients dial, and the store host in message
    /// ids. Default: 127.0.0.1.
    pub broker_ip1: IpAddr,
    /// `brokerIP1` when it names a host (as RocketMQ allows): registered as
    /// `host:port` for clients to resolve; `broker_ip1` then holds the
    /// address it resolved to at start, for message ids. Default: none.
    pub broker_host: Option<String>,
    /// `listenPort`. Default: 10911. The fast port is `listenPort - 2`.
    pub listen_port: u16,
    /// `namesrvAddr`: `;`-separated name servers. Default: none (embedded
    /// mode fills in its own).
    pub namesrv_addr: Vec<String>,
    /// `autoCreateTopicEnable`. Default: true.
    pub auto_create_topic_enable: bool,
    /// `autoCreateSubscriptionGroup`. Default: true.
    pub auto_create_subscription_group: bool,
    /// `defaultTopicQueueNums`: queues of TBW102 and admin-created topics.
    /// Default: 8.
    pub default_topic_queue_nums: i32,
    /// `brokerPermission`. Default: 6 (read + write).
    pub broker_permission: i32,
    /// `registerNameServerPeriod`, ms, clamped to 10 s..60 s. Default: 30000.
    pub register_name_server_period: u64,
    /// `maxMessageSize`, bytes of body. Default: 4 MiB.
    pub max_message_size: usize,
    /// `longPollingEnable`. Default: true.
    pub long_polling_enable: bool,
    /// `shortPollingTimeMills` when long polling is off. Default: 1000.
    pub short_polling_time_mills: u64,
    /// `channelExpiredTimeout`, ms: clients silent this long are dropped.
    /// Default: 120000.
    pub channel_expired_timeout: u64,
    /// `flushConsumerOffsetInterval`, ms. Default: 5000.
    pub flush_consumer_offset_interval: u64,
    /// `enablePropertyFilter`: serve SQL92 subscriptions. Default: true
    /// (RocketMQ ships it off; Basalt's filter costs nothing until used).
    pub enable_property_filter: bool,
    /// `messageDelayLevel`: the delay of each level, 1-based.
    /// Default: `1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h`.
    pub message_delay_level: String,
    /// `maxReconsumeTimes` fallback when neither the request nor the group
    /// says. Default: 16.
    pub max_reconsume_times: i32,
    /// `timerMaxDelaySec`: the furthest a timer message may be scheduled.
    /// Default: 259200 (3 days).
    pub timer_max_delay_sec: u64,
    /// `transactionCheckInterval`, ms. Default: 30000.
    pub transaction_check_interval: u64,
    /// `transactionTimeOut`, ms: half messages younger than this are not
    /// checked yet. Default: 6000.
    pub transaction_time_out: u64,
    /// `transactionCheckMax`. Default: 15.
    pub transaction_check_max: i32,
    /// Where `config/*.json` live (`storePathRootDir`). Default: `<data-dir>/store`.
    pub store_path_root_dir: PathBuf,
    /// `regionId`, answered to every send (`MSG_REGION`, read by message
    /// tracing). Default: `DefaultRegion`.
    pub region_id: String,
    /// `traceOn`, answered to every send (`TRACE_ON`). Default: true.
    pub trace_on: bool,
    /// `recallMessageEnable`: RECALL_MESSAGE may cancel timer messages.
    /// Default: false, as in RocketMQ.
    pub recall_message_enable: bool,
    /// `allowRecallWhenBrokerNotWriteable`: recalls are taken while
    /// `brokerPermission` forbids writes. Default: true.
    pub allow_recall_when_broker_not_writeable: bool,
    /// The config file the broker started from (RocketMQ's
    /// `brokerConfigPath`, set by `-c`, not a key): where
    /// UPDATE_BROKER_CONFIG writes what it changes. Default: none.
    pub broker_config_path: Option<PathBuf>,
    /// `configBlackList`: `;`-separated keys UPDATE_BROKER_CONFIG refuses.
    /// Default: `configBlackList;brokerConfigPath`.
    pub config_black_list: String,
    /// How often statistics are sampled (RocketMQ: 10 s; not a key, tests
    /// shorten it).
    pub stats_sample_period: std::time::Duration,
}

impl BrokerConfig {
    pub fn new(data_dir: &std::path::Path) -> Self {
        Self {
            cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            broker_ip1: IpAddr::V4(Ipv4Addr::LOCALHOST),
            broker_host: None,
            listen_port: 10911,
            namesrv_addr: Vec::new(),
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            broker_permission: 6,
            register_name_server_period: 30_000,
            max_message_size: 4 * 1024 * 1024,
            long_polling_enable: true,
            short_polling_time_mills: 1000,
            channel_expired_timeout: 120_000,
            flush_consumer_offset_interval: 5000,
            enable_property_filter: true,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .into(),
            max_reconsume_times: 16,
            timer_max_delay_sec: 259_200,
            transaction_check_interval: 30_000,
            transaction_time_out: 6_000,
            transaction_check_max: 15,
            store_path_root_dir: data_dir.join("store"),
            region_id: "DefaultRegion".into(),
            trace_on: true,
            recall_message_enable: false,
            allow_recall_when_broker_not_writeable: true,
            broker_config_path: None,
            config_black_list: "configBlackList;brokerConfigPath".into(),
            stats_sample_period: std::time::Duration::from_secs(10),
        }
    }

    /// Applies one setting; `Ok(false)` for keys the broker role does not own.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, BrokerError> {
        let v = value.trim();
        match key {
            "brokerClusterName" => self.cluster_name = v.to_owned(),
            "brokerName" => self.broker_name = v.to_owned(),
            "brokerId" => self.broker_id = parse(key, v)?,
            "brokerIP1" => match v.parse::<IpAddr>() {
                Ok(ip) => {
                    self.broker_ip1 = ip;
                    self.broker_host = None;
                }
                Err(_) => {
                    self.broker_ip1 = resolve(key, v)?;
                    self.broker_host = Some(v.to_owned());
                }
            },
            "listenPort" => self.listen_port = parse(key, v)?,
            "namesrvAddr" => {
                self.namesrv_addr = v
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "autoCreateTopicEnable" => self.auto_create_topic_enable = parse(key, v)?,
            "autoCreateSubscriptionGroup" => self.auto_create_subscription_group = parse(key, v)?,
            "defaultTopicQueueNums" => self.default_topic_queue_nums = parse(key, v)?,
            "brokerPermission" => self.broker_permission = parse(key, v)?,
            "registerNameServerPeriod" => self.register_name_server_period = parse(key, v)?,
            "maxMessageSize" => self.max_message_size = parse(key, v)?,
            "longPollingEnable" => self.long_polling_enable = parse(key, v)?,
            "shortPollingTimeMills" => self.short_polling_time_mills = parse(key, v)?,
            "channelExpiredTimeout" => self.channel_expired_timeout = parse(key, v)?,
            "flushConsumerOffsetInterval" => self.flush_consumer_offset_interval = parse(key, v)?,
            "enablePropertyFilter" => self.enable_property_filter = parse(key, v)?,
            "messageDelayLevel" => self.message_delay_level = v.to_owned(),
            "timerMaxDelaySec" => self.timer_max_delay_sec = parse(key, v)?,
            "transactionCheckInterval" => self.transaction_check_interval = parse(key, v)?,
            "transactionTimeOut" => self.transaction_time_out = parse(key, v)?,
            "transactionCheckMax" => self.transaction_check_max = parse(key, v)?,
            "storePathRootDir" => self.store_path_root_dir = PathBuf::from(v),
            "regionId" => self.region_id = v.to_owned(),
            "traceOn" => self.trace_on = parse(key, v)?,
            "recallMessageEnable" => self.recall_message_enable = parse(key, v)?,
            "allowRecallWhenBrokerNotWriteable" => {
                self.allow_recall_when_broker_not_writeable = parse(key, v)?;
            }
            "configBlackList" => self.config_black_list = v.to_owned(),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Every setting under its `broker.conf` key, as [`Self::set`] reads it
    /// back (GET_BROKER_CONFIG, `mqadmin getBrokerConfig`).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("brokerClusterName", self.cluster_name.clone()),
            ("brokerName", self.broker_name.clone()),
            ("brokerId", self.broker_id.to_string()),
            (
                "brokerIP1",
                self.broker_host
                    .clone()
                    .unwrap_or_else(|| self.broker_ip1.to_string()),
            ),
            ("listenPort", self.listen_port.to_string()),
            ("namesrvAddr", self.namesrv_addr.join(";")),
            (
                "autoCreateTopicEnable",
                self.auto_create_topic_enable.to_string(),
            ),
            (
                "autoCreateSubscriptionGroup",
                self.auto_create_subscription_group.to_string(),
            ),
            (
                "defaultTopicQueueNums",
                self.default_topic_queue_nums.to_string(),
            ),
            ("brokerPermission", self.broker_permission.to_string()),
            (
                "registerNameServerPeriod",
                self.register_name_server_period.to_string(),
            ),
            ("maxMessageSize", self.max_message_size.to_string()),
            ("longPollingEnable", self.long_polling_enable.to_string()),
            (
                "shortPollingTimeMills",
                self.short_polling_time_mills.to_string(),
            ),
            (
                "channelExpiredTimeout",
                self.channel_expired_timeout.to_string(),
            ),
            (
                "flushConsumerOffsetInterval",
                self.flush_consumer_offset_interval.to_string(),
            ),
            (
                "enablePropertyFilter",
                self.enable_property_filter.to_string(),
            ),
            ("messageDelayLevel", self.message_delay_level.clone()),
            ("timerMaxDelaySec", self.timer_max_delay_sec.to_string()),
            (
                "transactionCheckInterval",
                self.transaction_check_interval.to_string(),
            ),
            ("transactionTimeOut", self.transaction_time_out.to_string()),
            (
                "transactionCheckMax",
                self.transaction_check_max.to_string(),
            ),
            (
                "storePathRootDir",
                self.store_path_root_dir.display().to_string(),
            ),
            ("regionId", self.region_id.clone()),
            ("traceOn", self.trace_on.to_string()),
            (
                "recallMessageEnable",
                self.recall_message_enable.to_string(),
            ),
            (
                "allowRecallWhenBrokerNotWriteable",
                self.allow_recall_when_broker_not_writeable.to_string(),
            ),
            ("configBlackList", self.config_black_list.clone()),
        ]
    }

    /// `brokerIP1:listenPort` as an address: the store host written in
    /// message ids.
    pub fn broker_addr(&self) -> SocketAddr {
        SocketAddr::new(self.broker_ip1, self.listen_port)
    }

    /// `brokerIP1:listenPort` as registered with name servers (a host name
    /// stays a name, as RocketMQ registers it).
    pub fn advertised_addr(&self) -> String {
        self.advertised_at(self.listen_port)
    }

    /// `brokerIP1` with another port (the HA address).
    pub fn advertised_at(&self, port: u16) -> String {
        match &self.broker_host {
            Some(host) => format!("{host}:{port}"),
            None => SocketAddr::new(self.broker_ip1, port).to_string(),
        }
    }

    /// Directory of the JSON metadata files.
    pub fn config_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("config")
    }
}

/// The address a `brokerIP1` host name resolves to now (IPv4 first, as a
/// broker's store host usually is).
fn resolve(key: &str, host: &str) -> Result<IpAddr, BrokerError> {
    use std::net::ToSocketAddrs;
    let bad = || BrokerError::BadConfig {
        key: key.to_owned(),
        value: host.to_owned(),
    };
    let plain = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !plain {
        return Err(bad());
    }
    let addrs: Vec<SocketAddr> = (host, 0).to_socket_addrs().map_err(|_| bad())?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .map(SocketAddr::ip)
        .ok_or_else(bad)
}

/// `value` as a `T`; booleans in any case (Java's `Boolean.parseBoolean`
/// reads `True`, which RocketMQ's own example configs use).
fn parse<T: FromStr>(key: &str, value: &str) -> Result<T, BrokerError> {
    let v = value.trim();
    v.parse()
        .or_else(|_| v.to_ascii_lowercase().parse())
        .map_err(|_| BrokerError::BadConfig {
            key: key.to_owned(),
            value: value.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_setting_reads_back_through_set() {
        let mut c = BrokerConfig::new(std::path::Path::new("/data"));
        c.namesrv_addr = vec!["a:9876".into(), "b:9876".into()];
        c.broker_permission = 4;
        let mut again = BrokerConfig::new(std::path::Path::new("/elsewhere"));
        for (key, value) in c.pairs() {
            assert!(
                again.set(key, &value).unwrap(),
                "{key} is listed but not settable"
            );
        }
        assert_eq!(again.pairs(), c.pairs());
        // Booleans in any case, as Java reads them.
        assert!(again.set("autoCreateTopicEnable", "False").unwrap());
        assert!(!again.auto_create_topic_enable);
        assert!(again.set("traceOn", "TRUE").unwrap());
        assert!(again.trace_on);
        assert!(again.set("traceOn", "yes").is_err());
    }

    #[test]
    fn broker_ip1_may_name_a_host() {
        let mut c = BrokerConfig::new(std::path::Path::new("/data"));
        c.listen_port = 10911;
        assert!(c.set("brokerIP1", "localhost").unwrap());
        assert!(c.broker_ip1.is_loopback(), "{:?}", c.broker_ip1);
        assert_eq!(c.advertised_addr(), "localhost:10911");
        assert_eq!(c.advertised_at(10912), "localhost:10912");
        assert!(c.pairs().contains(&("brokerIP1", "localhost".to_owned())));
        assert!(c.set("brokerIP1", "not a host!").is_err());
        assert!(c.set("brokerIP1", "10.0.0.7").unwrap());
        assert_eq!(c.advertised_addr(), "10.0.0.7:10911");
        assert_eq!(c.broker_host, None);
    }
}
