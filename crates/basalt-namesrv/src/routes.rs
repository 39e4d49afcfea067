//! The route table: which broker groups exist, which topics they serve, and
//! which broker addresses are alive (RocketMQ's `RouteInfoManager`).
//!
//! Held behind one `RwLock` by the role; every method here is synchronous
//! and quick, so the lock is never held across an await.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use basalt_protocol::body::cluster::ClusterInfo;
use basalt_protocol::body::register::{perm, DataVersion, TopicConfigSerializeWrapper};
use basalt_protocol::body::route::{BrokerData, QueueData, TopicRouteData, MASTER_ID};
use tokio::time::Instant;

/// A registration, as the table needs it.
#[derive(Debug, Clone)]
pub struct Registration {
    pub cluster: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
    pub ha_server_addr: String,
    pub zone_name: Option<String>,
    pub timeout: Duration,
    pub enable_acting_master: Option<bool>,
    pub topics: TopicConfigSerializeWrapper,
    pub filter_servers: Vec<String>,
    /// The connection it came on: its close drops the broker.
    pub conn_id: u64,
}

/// What a registration answers: the master of a slave's group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterResult {
    pub ha_server_addr: Option<String>,
    pub master_addr: Option<String>,
}

#[derive(Debug, Clone)]
struct LiveBroker {
    last_update: Instant,
    timeout: Duration,
    data_version: DataVersion,
    ha_server_addr: String,
    conn_id: u64,
    broker_name: String,
}

/// (cluster, broker address): one live broker process.
type AddrKey = (String, String);

#[derive(Debug, Default)]
pub struct RouteTable {
    /// topic -> broker name -> queues
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    brokers: BTreeMap<String, BrokerData>,
    clusters: BTreeMap<String, BTreeSet<String>>,
    live: HashMap<AddrKey, LiveBroker>,
    filter_servers: HashMap<AddrKey, Vec<String>>,
}

impl RouteTable {
    /// Records a broker's registration; a topic is re-read when this is the
    /// broker's first registration, its data version changed, or the table
    /// lacks the topic on this broker (RocketMQ's `isTopicConfigChanged`).
    /// `None` refuses a one-topic registration from a broker not registered
    /// yet: an Apache broker sends one for each topic it creates, and taking
    /// it as the broker's whole table (with its current data version) hid
    /// every other topic until the version changed.
    pub fn register(&mut self, reg: Registration, now: Instant) -> Option<RegisterResult> {
        let known = self
            .brokers
            .get(&reg.broker_name)
            .is_some_and(|d| d.broker_addrs.contains_key(&reg.broker_id));
        if !known && reg.topics.topic_config_table.len() == 1 {
            return None;
        }
        let key = (reg.cluster.clone(), reg.broker_addr.clone());
        self.clusters
            .entry(reg.cluster.clone())
            .or_default()
            .insert(reg.broker_name.clone());
        let data = self
            .brokers
            .entry(reg.broker_name.clone())
            .or_insert_with(|| BrokerData {
                cluster: reg.cluster.clone(),
                broker_name: reg.broker_name.clone(),
                ..BrokerData::default()
            });
        let mut first = data.broker_addrs.is_empty();
        data.enable_acting_master = reg.enable_acting_master.unwrap_or(false);
        data.zone_name = reg.zone_name.clone();
        // One address has one id: a slave promoted to master re-registers
        // under id 0 and its old id goes.
        data.broker_addrs
            .retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);
        let old = data
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone());
        first |= old.as_deref().is_none_or(str::is_empty);
        let is_master = reg.broker_id == MASTER_ID;
        let is_prime_slave = reg.enable_acting_master.is_some()
            && !is_master
            && data.broker_addrs.keys().next() == Some(&reg.broker_id);
        let acting = data.enable_acting_master;

        let changed = self
            .live
            .get(&key)
            .is_none_or(|l| l.data_version != reg.topics.data_version);
        if is_master || is_prime_slave {
            for (name, tc) in &reg.topics.topic_config_table {
                let missing = self
                    .topics
                    .get(name)
                    .is_none_or(|m| !m.contains_key(&reg.broker_name));
                if !(first || changed || missing) {
                    continue;
                }
                let mut p = tc.perm;
                if is_prime_slave && acting {
                    p &= !perm::WRITE;
                }
                self.topics.entry(name.clone()).or_default().insert(
                    reg.broker_name.clone(),
                    QueueData {
                        broker_name: reg.broker_name.clone(),
                        perm: p,
                        read_queue_nums: tc.read_queue_nums,
                        topic_sys_flag: tc.topic_sys_flag,
                        write_queue_nums: tc.write_queue_nums,
                    },
                );
            }
        }
        self.live.insert(
            key.clone(),
            LiveBroker {
                last_update: now,
                timeout: reg.timeout,
                data_version: reg.topics.data_version,
                ha_server_addr: reg.ha_server_addr,
                conn_id: reg.conn_id,
                broker_name: reg.broker_name.clone(),
            },
        );
        if reg.filter_servers.is_empty() {
            self.filter_servers.remove(&key);
        } else {
            self.filter_servers.insert(key, reg.filter_servers);
        }
        let mut result = RegisterResult::default();
        if !is_master {
            let master = self
                .brokers
                .get(&reg.broker_name)
                .and_then(|d| d.broker_addrs.get(&MASTER_ID));
            if let Some(master) = master {
                if let Some(l) = self.live.get(&(reg.cluster.clone(), master.clone())) {
                    result.ha_server_addr = Some(l.ha_server_addr.clone());
                    result.master_addr = Some(master.clone());
                }
            }
        }
        Some(result)
    }

    /// Forgets one broker process, and its group and their topics when it was
    /// the last of its group.
    pub fn unregister(
        &mut self,
        cluster: &str,
        broker_addr: &str,
        broker_name: &str,
        broker_id: i64,
    ) {
        let key = (cluster.to_owned(), broker_addr.to_owned());
        self.live.remove(&key);
        self.filter_servers.remove(&key);
        let group_gone = match self.brokers.get_mut(broker_name) {
            Some(data) => {
                if data.broker_addrs.get(&broker_id).map(String::as_str) == Some(broker_addr) {
                    data.broker_addrs.remove(&broker_id);
                }
                data.broker_addrs.is_empty()
            }
            None => false,
        };
        if !group_gone {
            return;
        }
        self.brokers.remove(broker_name);
        if let Some(names) = self.clusters.get_mut(cluster) {
            names.remove(broker_name);
            if names.is_empty() {
                self.clusters.remove(cluster);
            }
        }
        self.topics.retain(|_, queues| {
            queues.remove(broker_name);
            !queues.is_empty()
        });
    }

    /// Refreshes a broker's liveness without touching its topics.
    pub fn touch(&mut self, cluster: &str, broker_addr: &str, now: Instant) {
        if let Some(l) = self
            .live
            .get_mut(&(cluster.to_owned(), broker_addr.to_owned()))
        {
            l.last_update = now;
        }
    }

    /// Whether the broker's topic table differs from `version`; the name
    /// server's own version for it is returned too.
    pub fn data_version(&self, cluster: &str, broker_addr: &str) -> Option<DataVersion> {
        self.live
            .get(&(cluster.to_owned(), broker_addr.to_owned()))
            .map(|l| l.data_version.clone())
    }

    /// Drops brokers whose last registration is older than their timeout;
    /// returns their addresses.
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        let dead: Vec<(AddrKey, String)> = self
            .live
            .iter()
            .filter(|(_, l)| now.saturating_duration_since(l.last_update) > l.timeout)
            .map(|(k, l)| (k.clone(), l.broker_name.clone()))
            .collect();
        self.drop_all(dead)
    }

    /// Drops every broker registered through connection `conn_id`.
    pub fn connection_closed(&mut self, conn_id: u64) -> Vec<String> {
        let dead: Vec<(AddrKey, String)> = self
            .live
            .iter()
            .filter(|(_, l)| l.conn_id == conn_id)
            .map(|(k, l)| (k.clone(), l.broker_name.clone()))
            .collect();
        self.drop_all(dead)
    }

    fn drop_all(&mut self, dead: Vec<(AddrKey, String)>) -> Vec<String> {
        let mut addrs = Vec::with_capacity(dead.len());
        for ((cluster, addr), name) in dead {
            let id = self
                .brokers
                .get(&name)
                .and_then(|d| d.broker_addrs.iter().find(|(_, a)| **a == addr))
                .map(|(id, _)| *id);
            match id {
                Some(id) => self.unregister(&cluster, &addr, &name, id),
                None => {
                    self.live.remove(&(cluster.clone(), addr.clone()));
                }
            }
            addrs.push(addr);
        }
        addrs
    }

    /// The route of `topic`, or `None` when no live broker group serves it.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topics.get(topic)?;
        let broker_datas: Vec<BrokerData> = queues
            .keys()
            .filter_map(|name| self.brokers.get(name).cloned())
            .collect();
        if broker_datas.is_empty() {
            return None;
        }
        let mut filter_server_table = BTreeMap::new();
        for data in &broker_datas {
            for addr in data.broker_addrs.values() {
                if let Some(list) = self
                    .filter_servers
                    .get(&(data.cluster.clone(), addr.clone()))
                {
                    filter_server_table.insert(addr.clone(), list.clone());
                }
            }
        }
        Some(TopicRouteData {
            broker_datas,
            filter_server_table,
            order_topic_conf: None,
            queue_datas: queues.values().cloned().collect(),
        })
    }

    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.brokers.clone(),
            cluster_addr_table: self.clusters.clone(),
        }
    }

    pub fn broker(&self, broker_name: &str) -> Option<&BrokerData> {
        self.brokers.get(broker_name)
    }

    /// Topic names whose queues satisfy `pred` on at least one broker.
    pub fn topics_where(&self, pred: impl Fn(&QueueData) -> bool) -> BTreeSet<String> {
        self.topics
            .iter()
            .filter(|(_, q)| q.values().any(&pred))
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Cluster and broker names: the system topics RocketMQ reports.
    pub fn system_topics(&self) -> (BTreeSet<String>, Option<String>) {
        let mut names: BTreeSet<String> = self.clusters.keys().cloned().collect();
        names.extend(self.brokers.keys().cloned());
        let addr = self
            .brokers
            .values()
            .find_map(|d| d.broker_addrs.get(&MASTER_ID).cloned());
        (names, addr)
    }

    pub fn clusters(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.clusters
    }

    /// Removes `topic`, from every broker or only those of `cluster`.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        let Some(cluster) = cluster else {
            self.topics.remove(topic);
            return;
        };
        let names = self.clusters.get(cluster).cloned().unwrap_or_default();
        if let Some(queues) = self.topics.get_mut(topic) {
            queues.retain(|name, _| !names.contains(name));
            if queues.is_empty() {
                self.topics.remove(topic);
            }
        }
    }

    /// Adds queue data for brokers this table knows (REGISTER_TOPIC_IN_NAMESRV).
    pub fn register_topic(&mut self, topic: &str, queues: Vec<QueueData>) {
        for q in queues {
            if self.brokers.contains_key(&q.broker_name) {
                self.topics
                    .entry(topic.to_owned())
                    .or_default()
                    .insert(q.broker_name.clone(), q);
            }
        }
    }

    /// Changes the perm of every topic on `broker_name`; returns how many
    /// topics were touched.
    pub fn set_write_perm(&mut self, broker_name: &str, writable: bool) -> i32 {
        let mut count = 0;
        for queues in self.topics.values_mut() {
            if let Some(q) = queues.get_mut(broker_name) {
                q.perm = if writable {
                    perm::READ | perm::WRITE
                } else {
                    q.perm & !perm::WRITE
                };
                count += 1;
            }
        }
        count
    }
}
