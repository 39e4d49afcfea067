//! The router table: every request code the broker serves, the handler
//! family (concurrency limit) it runs under, and the state each handler
//! family is given. The only list of codes in the broker.

use std::sync::Arc;
use std::time::Duration;

use basalt_message::properties::Pair;
use basalt_message::UniqKeyGenerator;
use basalt_protocol::RequestCode as C;
use basalt_protocol::{RemotingCommand, ResponseCode};
use basalt_remoting::{Family, Gate, GateSender, Router};
use basalt_store::{DurabilityListener, Store};

use crate::handlers::{
    add, add_async, add_unpin, admin, broker_wide, client, consumer_admin, consumer_call, locks,
    offset, pull, query, queue_view, recall, reply, send, send_back, stats, transaction,
};
use crate::locks::Locks;
use crate::serve::Tables;
use crate::topics::now_ms;
use crate::BrokerConfig;

pub(crate) fn router(config: &Arc<BrokerConfig>, store: &Store, t: &Tables) -> Router {
    let Tables {
        topics,
        groups,
        offsets,
        clients,
        reregister,
        schedule,
        settings,
        stats,
        timers,
    } = t;
    // Families mirror Java's processor pools. Parked pulls hold their
    // permit while suspended, so the pull family is effectively unbounded;
    // the connection limit bounds it. Sends hold theirs while a SYNC_FLUSH
    // put waits for its group commit, and every waiter joins the same
    // fsync, so a small limit would cap a group commit at that many records
    // (Java's send path waits on a future, not a pool thread).
    // How long a request may wait for its family, as RocketMQ's fast
    // failure cleans its queues (waitTimeMillsInSendQueue 200 ms,
    // ...PullQueue 5 s, ...HeartbeatQueue 31 s): past it the client is
    // told SYSTEM_BUSY and retries elsewhere instead of timing out.
    let send_family = Family::with_max_wait("send", 4096, 10_000, Some(Duration::from_millis(200)));
    let pull_family = Family::with_max_wait("pull", 65_536, 100_000, Some(Duration::from_secs(5)));
    let client_family = Family::with_max_wait("client", 16, 50_000, Some(Duration::from_secs(31)));
    let admin_family = Family::new("admin", 8, 10_000);
    let query_family = Family::new("query", 8, 10_000);

    let addr = config.broker_addr();
    let lock_state = Arc::new(Locks::default());
    let send_state = Arc::new(send::SendState {
        store: store.clone(),
        topics: Arc::clone(topics),
        reregister: Arc::clone(reregister),
        store_host: addr,
        cluster: Pair::new("CLUSTER", &config.cluster_name),
        settings: Arc::clone(settings),
        max_message_size: config.max_message_size,
        uniq: UniqKeyGenerator::new(addr.ip(), std::process::id(), i32::from(addr.port())),
        groups: Arc::clone(groups),
        schedule: Arc::clone(schedule),
        timer_max_delay: Duration::from_secs(config.timer_max_delay_sec),
        locks: Arc::clone(&lock_state),
        region_id: config.region_id.clone(),
        trace_on: if config.trace_on { "true" } else { "false" },
        broker_name: config.broker_name.clone(),
    });
    let send_back_state = Arc::new(send_back::SendBackState {
        store: store.clone(),
        topics: Arc::clone(topics),
        groups: Arc::clone(groups),
        schedule: Arc::clone(schedule),
        reregister: Arc::clone(reregister),
        store_host: addr,
        settings: Arc::clone(settings),
    });
    let pull_state = Arc::new(pull::PullState {
        store: store.clone(),
        topics: Arc::clone(topics),
        groups: Arc::clone(groups),
        clients: Arc::clone(clients),
        offsets: Arc::clone(offsets),
        settings: Arc::clone(settings),
        long_polling: config.long_polling_enable,
        short_polling: Duration::from_millis(config.short_polling_time_mills),
        property_filter: config.enable_property_filter,
        stats: Arc::clone(stats),
    });
    let client_state = Arc::new(client::ClientState {
        clients: Arc::clone(clients),
        groups: Arc::clone(groups),
        topics: Arc::clone(topics),
        reregister: Arc::clone(reregister),
        property_filter: config.enable_property_filter,
    });
    let offset_state = Arc::new(offset::OffsetState {
        store: store.clone(),
        offsets: Arc::clone(offsets),
        groups: Arc::clone(groups),
        topics: Arc::clone(topics),
    });
    let admin_state = Arc::new(admin::AdminState {
        store: store.clone(),
        topics: Arc::clone(topics),
        groups: Arc::clone(groups),
        offsets: Arc::clone(offsets),
        clients: Arc::clone(clients),
        reregister: Arc::clone(reregister),
        broker_name: config.broker_name.clone(),
        broker_addr: config.advertised_addr(),
        boot_ms: now_ms(),
        settings: Arc::clone(settings),
        stats: Arc::clone(stats),
    });
    let consumer_call_state = Arc::new(consumer_call::ConsumerCallState {
        clients: Arc::clone(clients),
        store: store.clone(),
        broker_name: config.broker_name.clone(),
    });
    let store_state = Arc::new(store.clone());

    // Sends stage their records; each connection's burst of requests is
    // committed in one write before its replies go out.
    let staged = store.clone();
    let mut r = Router::new()
        .with_gate(durability_gate(store))
        // A stuck commit is waited for off the async worker (see
        // `Store::commit_staged`); sends are refused while it is stuck (see
        // `send::send`). A failure poisons the store (and says so): the
        // sends it did not write are answered as failed, later ones fail.
        .on_burst_end(
            move |end| match staged.commit_through(end) {
                Ok(()) => end,
                Err(_) => staged.commit_log_max_offset(),
            },
            commit_failed,
        );
    for code in [C::SendMessage, C::SendMessageV2, C::SendBatchMessage] {
        r = add_unpin(r, code, &send_family, &send_state, send::send);
    }
    let reply_state = Arc::new(reply::ReplyState {
        send: Arc::clone(&send_state),
        clients: Arc::clone(clients),
    });
    for code in [C::SendReplyMessage, C::SendReplyMessageV2] {
        r = add_async(r, code, &send_family, &reply_state, reply::reply);
    }
    let recall_state = Arc::new(recall::RecallState {
        store: store.clone(),
        topics: Arc::clone(topics),
        settings: Arc::clone(settings),
        timers: Arc::clone(timers),
        broker_name: config.broker_name.clone(),
        store_host: addr,
        region_id: config.region_id.clone(),
        timer_max_delay: Duration::from_secs(config.timer_max_delay_sec),
    });
    r = add_async(
        r,
        C::RecallMessage,
        &send_family,
        &recall_state,
        recall::recall,
    );
    let end_state = Arc::new(transaction::EndState {
        store: store.clone(),
        schedule: Arc::clone(schedule),
        store_host: addr,
    });
    r = add_async(
        r,
        C::EndTransaction,
        &send_family,
        &end_state,
        transaction::end,
    );
    r = add_async(
        r,
        C::ResumeCheckHalfMessage,
        &admin_family,
        &end_state,
        transaction::resume_check,
    );
    r = add_async(
        r,
        C::ConsumerSendMsgBack,
        &send_family,
        &send_back_state,
        send_back::send_back,
    );
    for code in [C::PullMessage, C::LitePullMessage] {
        r = add_async(r, code, &pull_family, &pull_state, pull::pull);
    }
    r = add(
        r,
        C::HeartBeat,
        &client_family,
        &client_state,
        client::heartbeat,
    );
    r = add(
        r,
        C::UnregisterClient,
        &client_family,
        &client_state,
        client::unregister,
    );
    r = add(
        r,
        C::GetConsumerListByGroup,
        &client_family,
        &client_state,
        client::consumer_list,
    );
    r = add(
        r,
        C::CheckClientConfig,
        &client_family,
        &client_state,
        client::check_client_config,
    );
    r = add(
        r,
        C::QueryConsumerOffset,
        &client_family,
        &offset_state,
        offset::query,
    );
    r = add(
        r,
        C::UpdateConsumerOffset,
        &client_family,
        &offset_state,
        offset::update,
    );
    r = add(
        r,
        C::GetMaxOffset,
        &client_family,
        &offset_state,
        offset::max,
    );
    r = add(
        r,
        C::GetMinOffset,
        &client_family,
        &offset_state,
        offset::min,
    );
    r = add(
        r,
        C::SearchOffsetByTimestamp,
        &client_family,
        &offset_state,
        offset::search,
    );
    r = add(
        r,
        C::GetEarliestMsgStoretime,
        &client_family,
        &offset_state,
        offset::earliest_time,
    );
    r = add(r, C::LockBatchMq, &client_family, &lock_state, locks::lock);
    r = add(
        r,
        C::UnlockBatchMq,
        &client_family,
        &lock_state,
        locks::unlock,
    );
    r = add(
        r,
        C::QueryMessage,
        &query_family,
        &store_state,
        query::query_message,
    );
    r = add(
        r,
        C::ViewMessageById,
        &query_family,
        &store_state,
        query::view_by_id,
    );
    r = add_async(
        r,
        C::UpdateAndCreateTopic,
        &admin_family,
        &admin_state,
        admin::create_topic,
    );
    r = add_async(
        r,
        C::DeleteTopicInBroker,
        &admin_family,
        &admin_state,
        admin::delete_topic,
    );
    r = add(
        r,
        C::GetAllTopicConfig,
        &admin_family,
        &admin_state,
        admin::all_topic_config,
    );
    r = add(
        r,
        C::GetTopicConfig,
        &admin_family,
        &admin_state,
        admin::topic_config,
    );
    r = add(
        r,
        C::GetTopicStatsInfo,
        &admin_family,
        &admin_state,
        admin::topic_stats,
    );
    r = add(
        r,
        C::GetConsumeStats,
        &admin_family,
        &admin_state,
        admin::consume_stats,
    );
    r = add(
        r,
        C::GetConsumerConnectionList,
        &admin_family,
        &admin_state,
        admin::consumer_connections,
    );
    r = add(
        r,
        C::GetProducerConnectionList,
        &admin_family,
        &admin_state,
        admin::producer_connections,
    );
    r = add(
        r,
        C::GetBrokerRuntimeInfo,
        &admin_family,
        &admin_state,
        admin::runtime_info,
    );
    r = add(
        r,
        C::GetBrokerConfig,
        &admin_family,
        &admin_state,
        admin::broker_config,
    );
    r = add(
        r,
        C::ViewBrokerStatsData,
        &admin_family,
        &admin_state,
        stats::view,
    );
    r = add(
        r,
        C::GetBrokerConsumeStats,
        &admin_family,
        &admin_state,
        broker_wide::consume_stats,
    );
    r = add(
        r,
        C::GetAllProducerInfo,
        &admin_family,
        &admin_state,
        broker_wide::producers,
    );
    r = add_async(
        r,
        C::DeleteExpiredCommitlog,
        &admin_family,
        &admin_state,
        broker_wide::delete_expired_commit_log,
    );
    r = add(
        r,
        C::QueryTopicConsumeByWho,
        &admin_family,
        &admin_state,
        consumer_admin::consumed_by,
    );
    r = add(
        r,
        C::QueryTopicsByConsumer,
        &admin_family,
        &admin_state,
        consumer_admin::topics_of,
    );
    r = add(
        r,
        C::GetSubscriptionGroupConfig,
        &admin_family,
        &admin_state,
        consumer_admin::group_config,
    );
    r = add(
        r,
        C::CloneGroupOffset,
        &admin_family,
        &admin_state,
        consumer_admin::clone_offsets,
    );
    r = add_async(
        r,
        C::GetConsumerRunningInfo,
        &admin_family,
        &consumer_call_state,
        consumer_call::running_info,
    );
    r = add_async(
        r,
        C::ConsumeMessageDirectly,
        &admin_family,
        &consumer_call_state,
        consumer_call::consume_directly,
    );
    r = add(
        r,
        C::UpdateBrokerConfig,
        &admin_family,
        &admin_state,
        admin::update_broker_config,
    );
    r = add(
        r,
        C::InvokeBrokerToResetOffset,
        &admin_family,
        &admin_state,
        admin::reset_offset,
    );
    r = add(
        r,
        C::UpdateAndCreateSubscriptionGroup,
        &admin_family,
        &admin_state,
        admin::upsert_group,
    );
    r = add(
        r,
        C::GetAllSubscriptionGroupConfig,
        &admin_family,
        &admin_state,
        admin::all_groups,
    );
    r = add(
        r,
        C::DeleteSubscriptionGroup,
        &admin_family,
        &admin_state,
        admin::delete_group,
    );
    r = add_async(
        r,
        C::UpdateAndCreateTopicList,
        &admin_family,
        &admin_state,
        admin::create_topic_list,
    );
    r = add(
        r,
        C::UpdateAndCreateSubscriptionGroupList,
        &admin_family,
        &admin_state,
        admin::upsert_group_list,
    );
    r = add(
        r,
        C::QueryConsumeQueue,
        &admin_family,
        &admin_state,
        queue_view::consume_queue,
    );
    r = add(
        r,
        C::QueryConsumeTimeSpan,
        &admin_family,
        &admin_state,
        queue_view::consume_time_span,
    );
    r = add(
        r,
        C::QuerySubscriptionByConsumer,
        &admin_family,
        &admin_state,
        queue_view::subscription,
    );
    r = add(
        r,
        C::GetSystemTopicListFromBroker,
        &admin_family,
        &admin_state,
        queue_view::system_topics,
    );
    r = add_async(
        r,
        C::CleanExpiredConsumeQueue,
        &admin_family,
        &admin_state,
        broker_wide::clean_expired_queues,
    );
    r = add_async(
        r,
        C::CleanUnusedTopic,
        &admin_family,
        &admin_state,
        broker_wide::clean_unused_topics,
    );
    r = add_async(
        r,
        C::InvokeBrokerToGetConsumerStatus,
        &admin_family,
        &consumer_call_state,
        consumer_call::consumer_status,
    );
    let clients = Arc::clone(clients);
    let groups = Arc::clone(groups);
    r.on_close(move |conn| {
        for g in clients.connection_closed(conn.id()) {
            tracing::info!(group = %g, peer = %conn.peer(), "consumer connection closed");
            if groups
                .get(&g)
                .is_none_or(|c| c.notify_consumer_ids_changed_enable)
            {
                client::notify_ids_changed(&clients, &g);
            }
        }
    })
}

/// The gate SYNC_FLUSH send replies wait at: the store's durable offset.
/// A reply still held after `syncFlushTimeout` is answered
/// FLUSH_DISK_TIMEOUT (the record stays stored), as Java's broker does; a
/// failed sync answers SERVICE_NOT_AVAILABLE, which producers retry on
/// another broker.
fn durability_gate(store: &Store) -> Gate {
    let timeout = Duration::from_millis(store.config().sync_flush_timeout);
    let (tx, gate) = Gate::new(0, timeout, flush_timed_out, flush_failed);
    store.listen_durability(Arc::new(GateListener(tx)));
    gate
}

fn flush_timed_out(cmd: &mut RemotingCommand) {
    cmd.code = ResponseCode::FlushDiskTimeout.as_i32();
}

/// A staged send whose records the CommitLog write did not take: the
/// client retries elsewhere, as after a failed flush.
fn commit_failed(cmd: &mut RemotingCommand) {
    cmd.code = ResponseCode::ServiceNotAvailable.as_i32();
    cmd.remark = Some("CommitLog write failed; store poisoned".into());
}

fn flush_failed(cmd: &mut RemotingCommand) {
    cmd.code = ResponseCode::ServiceNotAvailable.as_i32();
    cmd.remark = Some("store poisoned by a failed flush".into());
}

struct GateListener(GateSender);

impl DurabilityListener for GateListener {
    fn durable(&self, offset: u64) {
        self.0.advance(offset);
    }

    fn failed(&self) {
        self.0.fail();
    }
}
