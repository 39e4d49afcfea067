//! `-p` and `-m`: the settings a role would run with, as `key=value`
//! lines, without starting it (RocketMQ's `mqbroker -p` / `-m` and
//! `mqnamesrv -p`).

use basalt_broker::BrokerConfig;
use basalt_namesrv::NamesrvConfig;
use basalt_store::StoreConfig;

/// The settings RocketMQ marks `@ImportantField` (broker and store) that
/// Basalt has (not the replication ones: brokerIP2, brokerRole, ha*);
/// `-m` prints these.
const IMPORTANT: [&str; 20] = [
    "namesrvAddr",
    "listenPort",
    "brokerIP1",
    "autoCreateTopicEnable",
    "autoCreateSubscriptionGroup",
    "transactionTimeOut",
    "transactionCheckMax",
    "transactionCheckInterval",
    "storePathRootDir",
    "storePathCommitLog",
    "flushIntervalCommitLog",
    "commitIntervalCommitLog",
    "deleteWhen",
    "diskMaxUsedSpaceRatio",
    "fileReservedTime",
    "deleteFileBatchMax",
    "messageIndexEnable",
    "maxHashSlotNum",
    "flushDiskType",
    "transientStorePoolEnable",
];

/// The lines for the roles a command runs: the name server's, then the
/// broker's and the store's; with `important`, the broker's important
/// settings only (RocketMQ's name server marks none).
pub fn text(
    namesrv: Option<&NamesrvConfig>,
    broker: Option<(&BrokerConfig, &StoreConfig)>,
    important: bool,
) -> String {
    let mut out = String::new();
    if let Some(n) = namesrv.filter(|_| !important) {
        out.push_str(&n.to_properties());
    }
    if let Some((b, s)) = broker {
        for (k, v) in basalt_broker::settings::pairs(b, s) {
            if !important || IMPORTANT.contains(&k.as_str()) {
                out.push_str(&format!("{k}={v}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn important_keys_are_a_subset_the_broker_prints() {
        let dir = std::path::Path::new("/tmp/basalt-print");
        let b = BrokerConfig::new(dir);
        let s = StoreConfig::with_root(dir.join("store"));
        let all = text(None, Some((&b, &s)), false);
        let keys: Vec<&str> = all.lines().filter_map(|l| l.split('=').next()).collect();
        for k in IMPORTANT {
            assert!(keys.contains(&k), "{k} is not a setting Basalt prints");
        }
        let important = text(Some(&NamesrvConfig::new(dir)), Some((&b, &s)), true);
        assert_eq!(important.lines().count(), IMPORTANT.len(), "{important}");
        assert!(important.contains("flushDiskType=ASYNC_FLUSH"));
        let both = text(Some(&NamesrvConfig::new(dir)), Some((&b, &s)), false);
        assert!(both.starts_with("listenPort=9876\n"), "{both}");
        assert!(both.contains("brokerName="));
    }
}
