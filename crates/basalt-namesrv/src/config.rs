//! Name server settings, under RocketMQ's `namesrv.properties` key names.

use std::path::PathBuf;
use std::str::FromStr;

use crate::NamesrvError;

/// Settings of the name server role.
#[derive(Debug, Clone)]
pub struct NamesrvConfig {
    /// `listenPort`. Default: 9876.
    pub listen_port: u16,
    /// `kvConfigPath`: where the KV config is persisted.
    /// Default: `<data-dir>/namesrv/kvConfig.json`.
    pub kv_config_path: PathBuf,
    /// `scanNotActiveBrokerInterval`, ms: how often expired brokers are
    /// dropped. Default: 5000.
    pub scan_not_active_broker_interval: u64,
    /// `brokerChannelExpiredTime`, ms: how long a broker stays without
    /// registering before it is dropped, unless its registration names its
    /// own `heartbeatTimeoutMillis`. Default: 120000 (RocketMQ's constant).
    pub broker_channel_expired_time: u64,
    /// `enableAllTopicList`: serve GET_ALL_TOPIC_LIST_FROM_NAMESERVER. Default: true.
    pub enable_all_topic_list: bool,
    /// `enableTopicList`: serve the per-cluster and unit topic lists. Default: true.
    pub enable_topic_list: bool,
    /// `orderMessageEnable`: add `orderTopicConf` from the KV config to
    /// routes. Default: false.
    pub order_message_enable: bool,
    /// `returnOrderTopicConfigToBroker`: answer REGISTER_BROKER with the
    /// ORDER_TOPIC_CONFIG namespace. Default: true.
    pub return_order_topic_config_to_broker: bool,
    /// `configBlackList`: `;`-separated keys UPDATE_NAMESRV_CONFIG refuses.
    /// Default: `configBlackList;configStorePath;kvConfigPath`.
    pub config_black_list: String,
    /// The file a name server on its own started from (`-c`; RocketMQ's
    /// `configStorePath`, not a key): where UPDATE_NAMESRV_CONFIG writes
    /// what it changes. Default: none.
    pub config_store_path: Option<PathBuf>,
}

impl NamesrvConfig {
    /// Defaults, with the KV config under `data_dir`.
    pub fn new(data_dir: &std::path::Path) -> Self {
        Self {
            listen_port: 9876,
            kv_config_path: data_dir.join("namesrv").join("kvConfig.json"),
            scan_not_active_broker_interval: 5_000,
            broker_channel_expired_time: 120_000,
            enable_all_topic_list: true,
            enable_topic_list: true,
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            config_black_list: "configBlackList;configStorePath;kvConfigPath".into(),
            config_store_path: None,
        }
    }

    /// Applies one `key=value` setting. Returns `Ok(false)` for a key this
    /// role does not know, so the caller can warn about it once.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, NamesrvError> {
        match key {
            "listenPort" => self.listen_port = parse(key, value)?,
            "kvConfigPath" => self.kv_config_path = PathBuf::from(value),
            "scanNotActiveBrokerInterval" => {
                self.scan_not_active_broker_interval = parse(key, value)?;
            }
            "brokerChannelExpiredTime" => self.broker_channel_expired_time = parse(key, value)?,
            "enableAllTopicList" => self.enable_all_topic_list = parse(key, value)?,
            "enableTopicList" => self.enable_topic_list = parse(key, value)?,
            "orderMessageEnable" => self.order_message_enable = parse(key, value)?,
            "returnOrderTopicConfigToBroker" => {
                self.return_order_topic_config_to_broker = parse(key, value)?;
            }
            "configBlackList" => self.config_black_list = value.trim().to_owned(),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The settings as `key=value` lines (GET_NAMESRV_CONFIG).
    pub fn to_properties(&self) -> String {
        format!(
            "listenPort={}\nkvConfigPath={}\nscanNotActiveBrokerInterval={}\nbrokerChannelExpiredTime={}\nenableAllTopicList={}\nenableTopicList={}\norderMessageEnable={}\nreturnOrderTopicConfigToBroker={}\nconfigBlackList={}\n",
            self.listen_port,
            self.kv_config_path.display(),
            self.scan_not_active_broker_interval,
            self.broker_channel_expired_time,
            self.enable_all_topic_list,
            self.enable_topic_list,
            self.order_message_enable,
            self.return_order_topic_config_to_broker,
            self.config_black_list,
        )
    }
}

/// `value` as a `T`; booleans in any case (Java's `Boolean.parseBoolean`
/// reads `True`, which RocketMQ's own example configs use).
fn parse<T: FromStr>(key: &str, value: &str) -> Result<T, NamesrvError> {
    let v = value.trim();
    v.parse()
        .or_else(|_| v.to_ascii_lowercase().parse())
        .map_err(|_| NamesrvError::BadConfig {
            key: key.to_owned(),
            value: value.to_owned(),
        })
}
