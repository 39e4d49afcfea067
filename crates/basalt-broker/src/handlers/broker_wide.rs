//! Whole-broker admin calls: GET_BROKER_CONSUME_STATS (317, `mqadmin
//! brokerConsumeStats`), GET_ALL_PRODUCER_INFO (328, `mqadmin producer`),
//! DELETE_EXPIRED_COMMITLOG (329, `mqadmin deleteExpiredCommitLog`),
//! CLEAN_EXPIRED_CONSUMEQUEUE (306, `mqadmin cleanExpiredCQ`) and
//! CLEAN_UNUSED_TOPIC (316, `mqadmin cleanUnusedTopic`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use basalt_protocol::headers::admin::BrokerConsumeStatsRequest;
use basalt_protocol::RemotingCommand;
use basalt_remoting::Request;
use serde::Serialize;

use crate::handlers::admin::{consume_stats_json, offset_table, AdminState};
use crate::handlers::Outcome;
use crate::topics::{self, now_ms};

/// Every group's consume stats, topic by topic (RocketMQ's
/// `fetchAllConsumeStatsInBroker`): the topics each group has offsets on,
/// skipping those an online group does not subscribe to, and with
/// `isOrder` those that are not order topics; the write queues.
pub fn consume_stats(s: &AdminState, req: &Request) -> Outcome {
    let h: BrokerConsumeStatsRequest = req.cmd.header()?;
    let order_only = h.is_order == Some(true);
    let mut total_diff = 0i64;
    let mut groups = Vec::new();
    for group in s.groups.names() {
        let mut per_topic = Vec::new();
        for topic in s.offsets.topics_of(&group) {
            let Some(config) = s.topics.get(&topic) else {
                continue;
            };
            if order_only && !config.order {
                continue;
            }
            if s.clients.subscribes_elsewhere(&group, &topic) {
                continue;
            }
            let topics = [topic];
            let table = offset_table(s, &group, &topics, |c| c.write_queue_nums);
            total_diff += table
                .values()
                .map(|o| o.broker_offset - o.consumer_offset)
                .sum::<i64>();
            per_topic.push(consume_stats_json(s, &group, &topics, &table));
        }
        groups.push((group, per_topic));
    }
    let mut list = String::from("[");
    for (i, (group, stats)) in groups.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        let name = serde_json::to_string(group).unwrap_or_default();
        let _ = write!(list, "{{{name}:[{}]}}", stats.join(","));
    }
    list.push(']');
    let addr = serde_json::to_string(&s.broker_addr).unwrap_or_default();
    let body = format!(
        "{{\"brokerAddr\":{addr},\"consumeStatsList\":{list},\"totalDiff\":{total_diff},\"totalInflightDiff\":0}}"
    );
    Ok(RemotingCommand::success().with_body(body.into_bytes()))
}

/// `ProducerInfo`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProducerInfo {
    client_id: String,
    #[serde(rename = "remoteIP")]
    remote_ip: String,
    language: &'static str,
    version: i32,
    last_update_timestamp: i64,
}

/// Every producer group with its live members (`ProducerTableInfo`).
pub fn producers(s: &AdminState, _req: &Request) -> Outcome {
    let now = now_ms();
    let data: BTreeMap<String, Vec<ProducerInfo>> = s
        .clients
        .all_producers()
        .into_iter()
        .filter(|(_, members)| !members.is_empty())
        .map(|(group, members)| {
            let infos = members
                .into_iter()
                .map(|c| ProducerInfo {
                    client_id: c.client_id,
                    // Java's `remoteAddress().toString()`: "/ip:port".
                    remote_ip: format!("/{}", c.conn.peer()),
                    language: c.language.name(),
                    version: c.version,
                    last_update_timestamp: now.saturating_sub(
                        i64::try_from(c.last_update.elapsed().as_millis()).unwrap_or(i64::MAX),
                    ),
                })
                .collect();
            (group, infos)
        })
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({ "data": data })).unwrap_or_default();
    Ok(RemotingCommand::success().with_body(body))
}

/// Retention passes now, deleting what `fileReservedTime` has expired
/// whatever `deleteWhen` says: up to 20 passes of a batch each, as
/// RocketMQ's `executeDeleteFilesManually` marks its next 20 passes.
pub async fn delete_expired_commit_log(s: Arc<AdminState>, _req: Request) -> Outcome {
    tracing::warn!("deleteExpiredCommitLog: retention passes requested");
    let store = s.store.clone();
    let deleted = tokio::task::spawn_blocking(move || {
        let mut deleted = 0;
        for _ in 0..20 {
            match store.clean_expired(false)? {
                0 => break,
                n => deleted += n,
            }
        }
        Ok::<_, basalt_store::StoreError>(deleted)
    })
    .await??;
    tracing::warn!(deleted, "deleteExpiredCommitLog: done");
    Ok(RemotingCommand::success())
}

/// Removes the ConsumeQueues whose every record retention has taken
/// (system topics' kept, as in RocketMQ); a later message to such a queue
/// starts at offset 0 again.
pub async fn clean_expired_queues(s: Arc<AdminState>, _req: Request) -> Outcome {
    let store = s.store.clone();
    let removed =
        tokio::task::spawn_blocking(move || store.clean_expired_queues(topics::is_system))
            .await??;
    tracing::info!(removed, "cleanExpiredCQ: done");
    Ok(RemotingCommand::success())
}

/// Deletes the ConsumeQueues of topics the topic table no longer has
/// (left by a topic deleted elsewhere, or a table edited by hand), except
/// system topics, as RocketMQ's `cleanUnusedTopic`. Their records stay in
/// the CommitLog until retention. The groups' offsets on them go too (as
/// with a deleted topic; RocketMQ keeps them), so a topic created again
/// under the name does not start its consumers past its end.
pub async fn clean_unused_topics(s: Arc<AdminState>, _req: Request) -> Outcome {
    let unused: Vec<String> = s
        .store
        .queue_topics()
        .into_iter()
        .filter(|t| !topics::is_system(t) && s.topics.get(t).is_none())
        .collect();
    let state = Arc::clone(&s);
    let deleted = tokio::task::spawn_blocking(move || {
        let mut deleted = 0;
        for topic in unused {
            // Checked again where no put can run: a topic is in the table
            // before its first message is stored, so one created since the
            // list was made keeps its queues.
            let unused = || state.topics.get(&topic).is_none();
            if state.store.delete_topic_if(&topic, unused)? {
                state.offsets.remove_topic(&topic);
                deleted += 1;
            }
        }
        Ok::<_, basalt_store::StoreError>(deleted)
    })
    .await??;
    tracing::warn!(deleted, "cleanUnusedTopic: done");
    Ok(RemotingCommand::success())
}
