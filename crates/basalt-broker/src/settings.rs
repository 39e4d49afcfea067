//! The broker's settings as UPDATE_BROKER_CONFIG (`mqadmin
//! updateBrokerConfig`) leaves them: GET_BROKER_CONFIG shows them, the
//! config file the broker started from keeps them, and the keys operators
//! change on a running RocketMQ broker apply at once: `brokerPermission`
//! (sends, pulls and registrations read it each time: the way to take a
//! broker out of writing before stopping it), `autoCreateTopicEnable`,
//! `autoCreateSubscriptionGroup`, the transaction checker's
//! `transactionCheckInterval`/`transactionTimeOut`/`transactionCheckMax`
//! (read at each pass), `recallMessageEnable` and
//! `allowRecallWhenBrokerNotWriteable` (read at each recall) and
//! retention's `fileReservedTime`/`deleteWhen`/`diskMaxUsedSpaceRatio`.
//! Other keys (ports, paths, flush settings...) apply at the next start.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use basalt_store::StoreConfig;
use parking_lot::Mutex;

use crate::{BrokerConfig, BrokerError};

/// Keys no update may set whatever `configBlackList` says (RocketMQ adds
/// them to it).
const ALWAYS_BLACK: [&str; 3] = ["brokerConfigPath", "rocketmqHome", "configBlackList"];

pub struct Settings {
    permission: AtomicI32,
    auto_create_topic: AtomicBool,
    /// Serialises updates (and their file writes), as Java's handler is
    /// `synchronized`.
    current: Mutex<(BrokerConfig, StoreConfig)>,
    /// Taken before `current` is released: file writes follow update order.
    file: Mutex<()>,
}

/// What an update changed that the broker must act on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Updated {
    /// `brokerPermission` was among the keys: register again at once, with
    /// a new data version so name servers re-read the topics' permissions.
    pub permission: bool,
}

/// Every setting under its `broker.conf` key, once: the broker's, then the
/// store's (GET_BROKER_CONFIG, `basalt broker -p`). A key both list
/// (`storePathRootDir`) has the broker's value.
pub fn pairs(broker: &BrokerConfig, store: &StoreConfig) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = broker
        .pairs()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(store) {
        for (k, v) in fields {
            let text = match v {
                serde_json::Value::String(t) => t,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            if !out.iter().any(|(known, _)| *known == k) {
                out.push((k, text));
            }
        }
    }
    out
}

impl Settings {
    pub fn new(broker: BrokerConfig, store: StoreConfig) -> Self {
        Self {
            permission: AtomicI32::new(broker.broker_permission),
            auto_create_topic: AtomicBool::new(broker.auto_create_topic_enable),
            current: Mutex::new((broker, store)),
            file: Mutex::new(()),
        }
    }

    /// `brokerPermission` now.
    pub fn permission(&self) -> i32 {
        self.permission.load(Ordering::Relaxed)
    }

    /// `autoCreateTopicEnable` now.
    pub fn auto_create_topic(&self) -> bool {
        self.auto_create_topic.load(Ordering::Relaxed)
    }

    /// The broker's settings now (read by services that follow updates,
    /// such as the transaction checker at each pass).
    pub fn broker(&self) -> BrokerConfig {
        self.current.lock().0.clone()
    }

    /// The store's settings now.
    pub fn store(&self) -> StoreConfig {
        self.current.lock().1.clone()
    }

    /// Every setting under its `broker.conf` key (GET_BROKER_CONFIG).
    pub fn pairs(&self) -> Vec<(String, String)> {
        let current = self.current.lock();
        pairs(&current.0, &current.1)
    }

    /// Applies `pairs` all or nothing: a black-listed key or a value the
    /// key cannot take refuses the whole update (Java ignores a bad value
    /// silently; a refusal says which). Keys neither the broker nor the
    /// store knows are ignored, as RocketMQ ignores keys it has no field
    /// for. `apply` hands the new settings to the services that follow
    /// them, before another update can run. The known keys are then
    /// written to the config file, if the broker started from one, in the
    /// order the updates were made.
    pub fn update(
        &self,
        pairs: &[(String, String)],
        apply: impl FnOnce(&BrokerConfig, &StoreConfig),
    ) -> Result<Updated, BrokerError> {
        let mut current = self.current.lock();
        let black = basalt_protocol::config_text::black_listed(
            pairs,
            &ALWAYS_BLACK,
            &current.0.config_black_list,
        );
        if let Some(key) = black {
            return Err(BrokerError::NoPermission(format!(
                "Can not update config in black list: {key}"
            )));
        }
        let mut broker = current.0.clone();
        let mut known = Vec::new();
        for (key, value) in pairs {
            let owned = broker.set(key, value).map_err(|e| match e {
                BrokerError::BadConfig { key, value } => BrokerError::InvalidParameter(format!(
                    "configuration key `{key}` has invalid value `{value}`"
                )),
                other => other,
            })?;
            if owned {
                known.push((key.clone(), value.trim().to_owned()));
            }
        }
        let (store, store_unknown) = current
            .1
            .with_properties(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .and_then(|(s, unknown)| s.validate().map(|()| (s, unknown)))
            .map_err(|e| BrokerError::InvalidParameter(e.to_string()))?;
        for (key, value) in pairs {
            if !store_unknown.contains(key) && !known.iter().any(|(k, _)| k == key) {
                known.push((key.clone(), value.trim().to_owned()));
            }
        }
        for (key, _) in pairs
            .iter()
            .filter(|(k, _)| !known.iter().any(|(n, _)| n == k))
        {
            tracing::warn!(%key, "updateBrokerConfig: unknown key ignored");
        }
        tracing::info!(?known, "broker configuration updated");
        self.permission
            .store(broker.broker_permission, Ordering::Relaxed);
        self.auto_create_topic
            .store(broker.auto_create_topic_enable, Ordering::Relaxed);
        apply(&broker, &store);
        let path = broker.broker_config_path.clone();
        *current = (broker, store);
        // The file outside the settings' lock (the checker reads them), in
        // update order. Applied even when the file cannot take it (a
        // read-only mount): RocketMQ logs that and keeps the change too.
        let _turn = self.file.lock();
        drop(current);
        if let Some(path) = path.filter(|_| !known.is_empty()) {
            if let Err(e) = basalt_protocol::config_text::update_file(&path, &known) {
                tracing::warn!(error = %e, "updateBrokerConfig: the change applies but is not kept");
            }
        }
        Ok(Updated {
            permission: pairs.iter().any(|(k, _)| k == "brokerPermission"),
        })
    }
}
