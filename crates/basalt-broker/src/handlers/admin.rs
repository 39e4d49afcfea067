//! Admin codes: topics, subscription groups, stats, connections, runtime info.

use std::collections::BTreeMap;
use std::sync::Arc;

use basalt_protocol::body::client::MessageQueue;
use basalt_protocol::body::register::{perm, TopicConfig};
use basalt_protocol::body::JsonBody;
use basalt_protocol::fastjson::object_key_map;
use basalt_protocol::headers::admin::{
    ConsumeStatsRequest, CreateTopicRequest, DeleteGroupRequest, ResetOffsetRequest, TopicRequest,
};
use basalt_protocol::headers::client::{ConsumerGroupRequest, ProducerGroupRequest};
use basalt_protocol::{RemotingCommand, BASALT_VERSION};
use basalt_remoting::Request;
use basalt_store::Store;
use serde::Serialize;

use super::Outcome;
use crate::clients::{ClientChannel, Clients};
use crate::groups::{GroupConfig, Groups};
use crate::offsets::Offsets;
use crate::stats::{
    BROKER_GET_NUMS, BROKER_GET_NUMS_WITHOUT_SYSTEM_TOPIC, BROKER_PUT_NUMS,
    BROKER_PUT_NUMS_WITHOUT_SYSTEM_TOPIC, GROUP_GET_NUMS,
};
use crate::topics::{self, now_ms, Topics};
use crate::BrokerError;

pub struct AdminState {
    pub store: Store,
    pub topics: Arc<Topics>,
    pub groups: Arc<Groups>,
    pub offsets: Arc<Offsets>,
    pub clients: Arc<Clients>,
    pub reregister: Arc<crate::register::Reregister>,
    pub broker_name: String,
    /// `brokerIP1:listenPort`, as registered.
    pub broker_addr: String,
    pub boot_ms: i64,
    /// The broker's settings (GET/UPDATE_BROKER_CONFIG).
    pub settings: Arc<crate::settings::Settings>,
    pub stats: Arc<crate::stats::Stats>,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub async fn create_topic(s: Arc<AdminState>, req: Request) -> Outcome {
    let h: CreateTopicRequest = req.cmd.header()?;
    let config = checked_topic(TopicConfig {
        topic_name: h.topic,
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm,
        topic_filter_type: h.topic_filter_type.unwrap_or_else(|| "SINGLE_TAG".into()),
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order.unwrap_or(false),
        ..TopicConfig::default()
    })?;
    s.topics.upsert(config)?;
    // Answered once the name servers know the route, as in Java.
    s.reregister
        .registered(crate::register::REGISTER_WAIT)
        .await;
    Ok(RemotingCommand::success())
}

/// UPDATE_AND_CREATE_TOPIC_LIST (`mqadmin updateTopicList`): every topic
/// is checked before any is written. RocketMQ answers at the first topic
/// that is already as asked and skips the rest of the list; here every
/// topic of the list is written.
pub async fn create_topic_list(s: Arc<AdminState>, req: Request) -> Outcome {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct CreateTopicListBody {
        #[serde(default)]
        topic_config_list: Vec<TopicConfig>,
    }
    let body: CreateTopicListBody =
        basalt_protocol::fastjson::from_slice("CreateTopicListRequestBody", &req.cmd.body)?;
    let configs = body
        .topic_config_list
        .into_iter()
        .map(checked_topic)
        .collect::<Result<Vec<_>, _>>()?;
    s.topics.upsert_all(configs)?;
    s.reregister
        .registered(crate::register::REGISTER_WAIT)
        .await;
    Ok(RemotingCommand::success())
}

/// A topic an admin may create or change, as RocketMQ checks it. Topic
/// attributes (`+message.type=...`) are not kept: Basalt does not act on
/// them, and UPDATE_AND_CREATE_TOPIC has never stored them either.
fn checked_topic(mut config: TopicConfig) -> Result<TopicConfig, BrokerError> {
    config.attributes.clear();
    let topic = &config.topic_name;
    topics::validate(topic)?;
    if topics::check_send_allowed(topic).is_err() || topic == topics::TBW102 {
        return Err(BrokerError::InvalidParameter(format!(
            "The topic[{topic}] is conflict with system topic."
        )));
    }
    if config.read_queue_nums <= 0 || config.write_queue_nums <= 0 {
        return Err(BrokerError::InvalidParameter(
            "queue nums must be positive".into(),
        ));
    }
    if config.read_queue_nums.max(config.write_queue_nums) > topics::MAX_QUEUE_NUMS {
        return Err(BrokerError::InvalidParameter(format!(
            "queue nums must be at most {}",
            topics::MAX_QUEUE_NUMS
        )));
    }
    Ok(config)
}

/// Drops the topic's config, consumer offsets and ConsumeQueues (RocketMQ
/// `deleteTopicInBroker` + `deleteTopics`); a later send starts at offset 0.
pub async fn delete_topic(s: Arc<AdminState>, req: Request) -> Outcome {
    let h: TopicRequest = req.cmd.header()?;
    if topics::check_send_allowed(&h.topic).is_err() {
        return Err(BrokerError::InvalidParameter(format!(
            "The topic[{}] is conflict with system topic.",
            h.topic
        )));
    }
    s.topics.delete(&h.topic)?;
    s.offsets.remove_topic(&h.topic);
    s.stats.topic_deleted(&h.topic);
    s.reregister.notify_one();
    let store = s.store.clone();
    // Removing files blocks: off the executor.
    tokio::task::spawn_blocking(move || store.delete_topic(&h.topic)).await??;
    Ok(RemotingCommand::success())
}

pub fn all_topic_config(s: &AdminState, _req: &Request) -> Outcome {
    let wrapper = s.topics.wrapper(perm::READ | perm::WRITE);
    let total = wrapper.topic_config_table.len();
    let mut reply = RemotingCommand::success().with_body(wrapper.encode());
    reply.ext_fields.insert("totalTopicNum", &total.to_string());
    Ok(reply)
}

pub fn topic_config(s: &AdminState, req: &Request) -> Outcome {
    let h: TopicRequest = req.cmd.header()?;
    let config = s
        .topics
        .get(&h.topic)
        .ok_or(BrokerError::TopicNotExist(h.topic))?;
    Ok(RemotingCommand::success().with_body(serde_json::to_vec(&config).unwrap_or_default()))
}

pub(crate) fn mq(topic: &str, broker: &str, queue_id: i32) -> MessageQueue {
    MessageQueue {
        broker_name: broker.to_owned(),
        queue_id,
        topic: topic.to_owned(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicOffset {
    last_update_timestamp: i64,
    max_offset: i64,
    min_offset: i64,
}

pub fn topic_stats(s: &AdminState, req: &Request) -> Outcome {
    let h: TopicRequest = req.cmd.header()?;
    let config = s
        .topics
        .get(&h.topic)
        .ok_or_else(|| BrokerError::TopicNotExist(h.topic.clone()))?;
    let mut table = BTreeMap::new();
    // Every queue either side counts (RocketMQ: max of read and write), so
    // the queues a shrinking topic still drains show.
    for q in 0..config.write_queue_nums.max(config.read_queue_nums) {
        let max = s.store.max_offset(&h.topic, q);
        let last = max
            .checked_sub(1)
            .and_then(|o| s.store.store_timestamp(&h.topic, q, o))
            .unwrap_or(0);
        table.insert(
            mq(&h.topic, &s.broker_name, q),
            TopicOffset {
                last_update_timestamp: last,
                max_offset: to_i64(max),
                min_offset: to_i64(s.store.min_offset(&h.topic, q)),
            },
        );
    }
    let body = format!(
        "{{\"offsetTable\":{},\"topicPutTps\":0.0}}",
        object_key_map(&table)
    );
    Ok(RemotingCommand::success().with_body(body.into_bytes()))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OffsetWrapper {
    pub(crate) broker_offset: i64,
    pub(crate) consumer_offset: i64,
    last_timestamp: i64,
    pull_offset: i64,
}

/// One group's committed offsets, the queues' ends and the store time of
/// the last consumed record, on the first `queues(config)` queues of each
/// of `topics` that exists.
pub(crate) fn offset_table(
    s: &AdminState,
    group: &str,
    topics: &[String],
    queues: impl Fn(&TopicConfig) -> i32,
) -> BTreeMap<MessageQueue, OffsetWrapper> {
    let mut table = BTreeMap::new();
    for topic in topics {
        let Some(config) = s.topics.get(topic) else {
            continue;
        };
        let committed = s.offsets.of(group, topic);
        for q in 0..queues(&config) {
            let max = to_i64(s.store.max_offset(topic, q));
            let consumer = committed.get(&q).copied().unwrap_or(0);
            let last = u64::try_from(consumer - 1)
                .ok()
                .and_then(|o| s.store.store_timestamp(topic, q, o))
                .unwrap_or(0);
            table.insert(
                mq(topic, &s.broker_name, q),
                OffsetWrapper {
                    broker_offset: max,
                    consumer_offset: consumer,
                    last_timestamp: last,
                    pull_offset: consumer,
                },
            );
        }
    }
    table
}

/// A `ConsumeStats` body: the table and RocketMQ's consume TPS, the
/// group's pulls per second over the last minute on the topics asked
/// about.
pub(crate) fn consume_stats_json(
    s: &AdminState,
    group: &str,
    topics: &[String],
    table: &BTreeMap<MessageQueue, OffsetWrapper>,
) -> String {
    let consume_tps: f64 = topics
        .iter()
        .filter(|t| s.topics.get(t).is_some())
        .filter_map(|t| s.stats.windows(GROUP_GET_NUMS, &format!("{t}@{group}")))
        .map(|w| w.minute.tps)
        .sum();
    format!(
        "{{\"consumeTps\":{consume_tps:?},\"offsetTable\":{}}}",
        object_key_map(table)
    )
}

pub fn consume_stats(s: &AdminState, req: &Request) -> Outcome {
    let h: ConsumeStatsRequest = req.cmd.header()?;
    let topics = match h.topic.filter(|t| !t.is_empty()) {
        Some(t) => vec![t],
        None => {
            let mut ts = s.offsets.topics_of(&h.consumer_group);
            if let Some(g) = s.clients.consumer_group(&h.consumer_group) {
                ts.extend(g.subscriptions.into_keys());
            }
            ts.sort();
            ts.dedup();
            ts
        }
    };
    // The queues consumers read (RocketMQ's readQueueNums): after
    // `updateTopic -w 4 -r 8` queues 4-7 still hold a backlog.
    let table = offset_table(s, &h.consumer_group, &topics, |c| c.read_queue_nums);
    let topics_asked = topics;
    let body = consume_stats_json(s, &h.consumer_group, &topics_asked, &table);
    Ok(RemotingCommand::success().with_body(body.into_bytes()))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Connection {
    client_addr: String,
    client_id: String,
    language: &'static str,
    version: i32,
}

fn connections(chs: impl IntoIterator<Item = ClientChannel>) -> Vec<Connection> {
    chs.into_iter()
        .map(|c| Connection {
            client_addr: c.conn.peer().to_string(),
            client_id: c.client_id,
            language: c.language.name(),
            version: c.version,
        })
        .collect()
}

pub fn consumer_connections(s: &AdminState, req: &Request) -> Outcome {
    let h: ConsumerGroupRequest = req.cmd.header()?;
    let g = s
        .clients
        .consumer_group(&h.consumer_group)
        .filter(|g| !g.channels.is_empty())
        .ok_or_else(|| BrokerError::ConsumerNotOnline(h.consumer_group.clone()))?;
    let body = serde_json::json!({
        "connectionSet": connections(g.channels.into_values()),
        "consumeFromWhere": g.consume_from_where,
        "consumeType": g.consume_type,
        "messageModel": g.message_model,
        "subscriptionTable": g.subscriptions,
    });
    Ok(RemotingCommand::success().with_body(body.to_string().into_bytes()))
}

pub fn producer_connections(s: &AdminState, req: &Request) -> Outcome {
    let h: ProducerGroupRequest = req.cmd.header()?;
    let body = serde_json::json!({ "connectionSet": connections(s.clients.producer_group(&h.producer_group)) });
    Ok(RemotingCommand::success().with_body(body.to_string().into_bytes()))
}

pub fn runtime_info(s: &AdminState, _req: &Request) -> Outcome {
    let mut table: BTreeMap<String, String> = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        table.insert(k.to_owned(), v);
    };
    put("brokerVersionDesc", "V5_3_3".to_owned());
    put("brokerVersion", BASALT_VERSION.to_string());
    put("bootTimestamp", s.boot_ms.to_string());
    put("runtime", format!("{} ms", now_ms() - s.boot_ms));
    put(
        "commitLogMinOffset",
        s.store.commit_log_min_offset().to_string(),
    );
    put(
        "commitLogMaxOffset",
        s.store.commit_log_max_offset().to_string(),
    );
    put("brokerActive", "true".to_owned());
    put("brokerPermission", s.settings.permission().to_string());
    put("server", "basalt".to_owned());
    // `mqadmin brokerStatus` and the console's dashboard: totals since
    // start and at the last two midnights, and rates over the last 10 s,
    // minute and hour (RocketMQ: 10 s, 1 min, 10 min).
    let cluster = s.stats.cluster();
    let m = s.stats.mornings();
    for (prefix, name, today, yesterday) in [
        (
            "msgPut",
            BROKER_PUT_NUMS_WITHOUT_SYSTEM_TOPIC,
            m.put_today,
            m.put_yesterday,
        ),
        (
            "msgGet",
            BROKER_GET_NUMS_WITHOUT_SYSTEM_TOPIC,
            m.get_today,
            m.get_yesterday,
        ),
    ] {
        put(
            &format!("{prefix}TotalTodayNow"),
            s.stats.total(name, cluster).to_string(),
        );
        put(&format!("{prefix}TotalTodayMorning"), today.to_string());
        put(
            &format!("{prefix}TotalYesterdayMorning"),
            yesterday.to_string(),
        );
    }
    for (key, name) in [
        ("putTps", BROKER_PUT_NUMS),
        ("getTransferredTps", BROKER_GET_NUMS),
    ] {
        let [ten_s, minute, ten_min] = s.stats.recent_tps(name, cluster);
        put(key, format!("{ten_s:.2} {minute:.2} {ten_min:.2}"));
    }
    let body = serde_json::json!({ "table": table });
    Ok(RemotingCommand::success().with_body(body.to_string().into_bytes()))
}

pub fn upsert_group(s: &AdminState, req: &Request) -> Outcome {
    let config: GroupConfig =
        basalt_protocol::fastjson::from_slice("SubscriptionGroupConfig", &req.cmd.body)?;
    crate::groups::validate_name(&config.group_name)?;
    s.groups.upsert_all(vec![config])?;
    Ok(RemotingCommand::success())
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (`mqadmin updateSubGroupList`):
/// every name is checked before any group is written.
pub fn upsert_group_list(s: &AdminState, req: &Request) -> Outcome {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct SubscriptionGroupList {
        #[serde(default)]
        group_config_list: Vec<GroupConfig>,
    }
    let body: SubscriptionGroupList =
        basalt_protocol::fastjson::from_slice("SubscriptionGroupList", &req.cmd.body)?;
    for config in &body.group_config_list {
        crate::groups::validate_name(&config.group_name)?;
    }
    s.groups.upsert_all(body.group_config_list)?;
    Ok(RemotingCommand::success())
}

pub fn all_groups(s: &AdminState, _req: &Request) -> Outcome {
    Ok(RemotingCommand::success().with_body(s.groups.encode_all()))
}

pub fn delete_group(s: &AdminState, req: &Request) -> Outcome {
    let h: DeleteGroupRequest = req.cmd.header()?;
    s.groups.delete(&h.group_name)?;
    s.stats.group_deleted(&h.group_name);
    if h.clean_offset == Some(true) {
        s.offsets.remove_group(&h.group_name);
    }
    Ok(RemotingCommand::success())
}

/// INVOKE_BROKER_TO_RESET_OFFSET (`mqadmin resetOffsetByTime`), the way
/// RocketMQ 5.x does it by default (`useServerSideResetOffset`): the broker
/// sets the group's offsets (by timestamp for every read queue, or one
/// queue to a given offset) and the next pull of each queue moves the
/// consumer there (PULL_OFFSET_MOVED). Answers the offsets set.
pub fn reset_offset(s: &AdminState, req: &Request) -> Outcome {
    let h: ResetOffsetRequest = req.cmd.header()?;
    let config = s
        .topics
        .get(&h.topic)
        .ok_or_else(|| BrokerError::TopicNotExist(h.topic.clone()))?;
    if s.groups.get(&h.group).is_none() {
        return Err(BrokerError::GroupNotExist(h.group));
    }
    // A negative timestamp means the queue's end (RocketMQ's
    // searchOffsetByTimestamp).
    let by_time = |q: i32| {
        if h.timestamp < 0 {
            s.store.max_offset(&h.topic, q)
        } else {
            s.store.offset_by_time(&h.topic, q, h.timestamp)
        }
    };
    let mut offsets = BTreeMap::new();
    match h.queue_id.filter(|q| *q >= 0) {
        Some(q) => {
            let offset = match h.offset.filter(|o| *o != -1) {
                Some(o) => {
                    let (min, max) = (
                        to_i64(s.store.min_offset(&h.topic, q)),
                        to_i64(s.store.max_offset(&h.topic, q)),
                    );
                    if o < min || o > max.saturating_add(1) {
                        return Err(BrokerError::MessageNotFound(format!(
                            "Target offset {o} not in consume queue range [{min}-{max}]"
                        )));
                    }
                    o
                }
                None => to_i64(by_time(q)),
            };
            offsets.insert(q, offset);
        }
        None => {
            for q in 0..config.read_queue_nums {
                offsets.insert(q, to_i64(by_time(q)));
            }
        }
    }
    if offsets.is_empty() {
        return Err(BrokerError::MessageNotFound("No queues to reset.".into()));
    }
    let mut table = BTreeMap::new();
    for (q, offset) in offsets {
        s.offsets.assign_reset(&h.group, &h.topic, q, offset);
        table.insert(mq(&h.topic, &s.broker_name, q), offset);
    }
    tracing::info!(group = %h.group, topic = %h.topic, timestamp = h.timestamp, "consumer offsets reset");
    let body = format!("{{\"offsetTable\":{}}}", object_key_map(&table));
    Ok(RemotingCommand::success().with_body(body.into_bytes()))
}

/// GET_BROKER_CONFIG (`mqadmin getBrokerConfig`): every broker and store
/// setting as `key=value` lines, as RocketMQ answers (its properties text;
/// the header's version is the configuration's data version).
pub fn broker_config(s: &AdminState, _req: &Request) -> Outcome {
    // Sorted, one key once (the broker's value where both roles list it).
    let mut lines: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in s.settings.pairs() {
        lines.entry(k).or_insert(v);
    }
    let body: String = lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let version = format!(
        "{{\"counter\":0,\"stateVersion\":0,\"timestamp\":{}}}",
        s.boot_ms
    );
    let mut reply = RemotingCommand::success().with_body(body.into_bytes());
    reply.ext_fields.insert("version", &version);
    Ok(reply)
}

/// UPDATE_BROKER_CONFIG: the body is `key=value` lines (see
/// [`crate::settings`]). A permission change is registered at once.
pub fn update_broker_config(s: &AdminState, req: &Request) -> Outcome {
    let pairs = basalt_protocol::config_text::parse(&String::from_utf8_lossy(&req.cmd.body));
    tracing::info!(caller = %req.conn.peer(), ?pairs, "updateBrokerConfig");
    // The keys that apply at once beyond the settings' own (see
    // `crate::settings`).
    let updated = s.settings.update(&pairs, |broker, store| {
        s.groups
            .set_auto_create(broker.auto_create_subscription_group);
        s.store.set_retention(basalt_store::Retention::of(store));
    })?;
    if updated.permission {
        // The change is made; a topics file that cannot be written only
        // delays the name servers' re-read to the next change.
        if let Err(e) = s.topics.touch() {
            tracing::warn!(error = %e, "cannot persist the topics' new data version");
        }
        s.reregister.notify_one();
    }
    Ok(RemotingCommand::success())
}
