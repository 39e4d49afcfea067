//! Producers and consumers known from heartbeats, per group, with the
//! connection each heartbeat came on (RocketMQ's `ProducerManager` and
//! `ConsumerManager`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::body::client::{ConsumerData, SubscriptionData};
use basalt_protocol::LanguageCode;
use basalt_remoting::Connection;
use parking_lot::RwLock;
use tokio::time::Instant;

/// One client process on one connection.
#[derive(Clone)]
pub struct ClientChannel {
    pub client_id: String,
    pub conn: Arc<Connection>,
    pub language: LanguageCode,
    pub version: i32,
    pub last_update: Instant,
}

/// A consumer group: its live members and their subscriptions.
#[derive(Clone, Default)]
pub struct ConsumerGroup {
    /// By connection id.
    pub channels: BTreeMap<u64, ClientChannel>,
    pub subscriptions: BTreeMap<String, SubscriptionData>,
    pub consume_type: String,
    pub message_model: String,
    pub consume_from_where: String,
}

impl ConsumerGroup {
    pub fn is_broadcast(&self) -> bool {
        self.message_model == "BROADCASTING"
    }

    /// Client ids, sorted, as GET_CONSUMER_LIST_BY_GROUP answers.
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .channels
            .values()
            .map(|c| c.client_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

#[derive(Default)]
pub struct Clients {
    consumers: RwLock<HashMap<String, ConsumerGroup>>,
    producers: RwLock<HashMap<String, BTreeMap<u64, ClientChannel>>>,
}

/// What a consumer registration changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Changed {
    pub members: bool,
    pub subscriptions: bool,
}

impl Clients {
    pub fn register_consumer(
        &self,
        channel: ClientChannel,
        data: &ConsumerData,
        with_subs: bool,
    ) -> Changed {
        let mut consumers = self.consumers.write();
        let group = consumers.entry(data.group_name.clone()).or_default();
        group.consume_type.clone_from(&data.consume_type);
        group.message_model.clone_from(&data.message_model);
        group
            .consume_from_where
            .clone_from(&data.consume_from_where);
        let id = channel.conn.id();
        let members = match group.channels.get_mut(&id) {
            Some(existing) if existing.client_id == channel.client_id => {
                existing.last_update = channel.last_update;
                false
            }
            _ => {
                group.channels.insert(id, channel);
                true
            }
        };
        let mut subscriptions = false;
        if with_subs {
            let new: BTreeMap<String, SubscriptionData> = data
                .subscription_data_set
                .iter()
                .map(|s| (s.topic.clone(), s.clone()))
                .collect();
            for (topic, sub) in &new {
                let replace = group.subscriptions.get(topic).is_none_or(|old| {
                    old.sub_version < sub.sub_version || old.sub_string != sub.sub_string
                });
                if replace {
                    group.subscriptions.insert(topic.clone(), sub.clone());
                    subscriptions = true;
                }
            }
            let before = group.subscriptions.len();
            group.subscriptions.retain(|t, _| new.contains_key(t));
            subscriptions |= before != group.subscriptions.len();
        }
        Changed {
            members,
            subscriptions,
        }
    }

    pub fn register_producer(&self, group: &str, channel: ClientChannel) {
        self.producers
            .write()
            .entry(group.to_owned())
            .or_default()
            .insert(channel.conn.id(), channel);
    }

    /// Removes `client_id`'s membership; returns whether the consumer group
    /// lost a member.
    pub fn unregister(
        &self,
        client_id: &str,
        producer: Option<&str>,
        consumer: Option<&str>,
    ) -> bool {
        if let Some(g) = producer {
            if let Some(chs) = self.producers.write().get_mut(g) {
                chs.retain(|_, c| c.client_id != client_id);
            }
        }
        let Some(g) = consumer else { return false };
        let mut consumers = self.consumers.write();
        let Some(group) = consumers.get_mut(g) else {
            return false;
        };
        let before = group.channels.len();
        group.channels.retain(|_, c| c.client_id != client_id);
        let changed = before != group.channels.len();
        if group.channels.is_empty() {
            consumers.remove(g);
        }
        changed
    }

    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroup> {
        self.consumers.read().get(group).cloned()
    }

    /// Whether `group` is online with subscriptions, none of them to
    /// `topic` (RocketMQ then leaves the topic out of the group's admin
    /// views and offset clones).
    pub fn subscribes_elsewhere(&self, group: &str, topic: &str) -> bool {
        self.consumers
            .read()
            .get(group)
            .is_some_and(|g| !g.subscriptions.is_empty() && !g.subscriptions.contains_key(topic))
    }

    /// Consumer groups online with a subscription to `topic`.
    pub fn groups_subscribing(&self, topic: &str) -> Vec<String> {
        self.consumers
            .read()
            .iter()
            .filter(|(_, g)| g.subscriptions.contains_key(topic))
            .map(|(name, _)| name.clone())
            .collect()
    }

    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.consumers
            .read()
            .get(group)?
            .subscriptions
            .get(topic)
            .cloned()
    }

    /// The connection of consumer `client_id` in `group`, with the
    /// client's version.
    pub fn consumer_channel(&self, group: &str, client_id: &str) -> Option<ClientChannel> {
        self.consumers
            .read()
            .get(group)?
            .channels
            .values()
            .find(|c| c.client_id == client_id)
            .cloned()
    }

    /// The connection of the producer with `client_id`, in any group
    /// (RocketMQ's `ProducerManager.findChannel`: where a requester waits
    /// for its replies).
    pub fn producer_by_client_id(&self, client_id: &str) -> Option<Arc<Connection>> {
        self.producers
            .read()
            .values()
            .flat_map(|members| members.values())
            .find(|c| c.client_id == client_id)
            .map(|c| Arc::clone(&c.conn))
    }

    /// Every producer group with its live members.
    pub fn all_producers(&self) -> BTreeMap<String, Vec<ClientChannel>> {
        self.producers
            .read()
            .iter()
            .map(|(g, m)| (g.clone(), m.values().cloned().collect()))
            .collect()
    }

    pub fn producer_group(&self, group: &str) -> Vec<ClientChannel> {
        self.producers
            .read()
            .get(group)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets every membership on `conn_id`; returns consumer groups that
    /// lost a member.
    pub fn connection_closed(&self, conn_id: u64) -> Vec<String> {
        self.drop_where(|id, _| id == conn_id)
    }

    /// Forgets clients silent for longer than `timeout`.
    pub fn expire(&self, now: Instant, timeout: Duration) -> Vec<String> {
        self.drop_where(|_, c| now.saturating_duration_since(c.last_update) > timeout)
    }

    fn drop_where(&self, dead: impl Fn(u64, &ClientChannel) -> bool) -> Vec<String> {
        for chs in self.producers.write().values_mut() {
            chs.retain(|id, c| !dead(*id, c));
        }
        let mut changed = Vec::new();
        self.consumers.write().retain(|name, group| {
            let before = group.channels.len();
            group.channels.retain(|id, c| !dead(*id, c));
            if before != group.channels.len() {
                changed.push(name.clone());
            }
            !group.channels.is_empty()
        });
        changed
    }
}
