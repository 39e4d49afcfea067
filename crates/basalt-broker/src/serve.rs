//! Starting and stopping the broker role.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use basalt_message::UniqKeyGenerator;
use basalt_protocol::RequestCode as C;
use basalt_remoting::{Family, Router, ServerConfig};
use basalt_store::{Store, StoreConfig};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clients::Clients;
use crate::groups::Groups;
use crate::handlers::{
    add, add_async, admin, client, locks, offset, pull, query, send, send_back, transaction,
};
use crate::locks::Locks;
use crate::long_poll::Arrivals;
use crate::offsets::Offsets;
use crate::register::Registrar;
use crate::schedule::Schedule;
use crate::timer::Timers;
use crate::topics::{now_ms, Topics};
use crate::{BrokerConfig, BrokerError};

/// The broker's listeners: the main port and, optionally, the "fast" (VIP)
/// port at `listenPort - 2` that clients before 4.5.1 dial by default.
pub struct Listeners {
    pub main: TcpListener,
    pub fast: Option<TcpListener>,
}

/// A broker whose store and metadata are open and which has registered
/// with its name servers once: ready to serve.
pub struct Broker {
    config: Arc<BrokerConfig>,
    store: Store,
    groups: Arc<Groups>,
    offsets: Arc<Offsets>,
    clients: Arc<Clients>,
    router: Arc<Router>,
    registrar: Arc<Registrar>,
    reregister: Arc<Notify>,
    schedule: Arc<Schedule>,
    timers: Arc<Timers>,
    arrivals: Arc<Arrivals>,
    stop: CancellationToken,
}

/// Opens the store (recovering it if the last run crashed) and the
/// metadata files, and registers with the name servers once.
pub async fn open(config: BrokerConfig, store_config: StoreConfig) -> Result<Broker, BrokerError> {
    let store = tokio::task::spawn_blocking(move || Store::open(store_config))
        .await
        .map_err(|e| BrokerError::Startup(format!("store open task failed: {e}")))??;
    let config = Arc::new(config);
    let dir = config.config_dir();
    let topics = Arc::new(Topics::load(
        dir.join("topics.json"),
        &config.cluster_name,
        &config.broker_name,
        config.auto_create_topic_enable,
        config.default_topic_queue_nums,
    )?);
    let groups = Arc::new(Groups::load(
        dir.join("subscriptionGroup.json"),
        config.auto_create_subscription_group,
    )?);
    let offsets = Arc::new(Offsets::load(dir.join("consumerOffset.json"))?);
    let clients = Arc::new(Clients::default());
    let stop = CancellationToken::new();
    let reregister = Arc::new(Notify::new());
    let arrivals = Arrivals::spawn(&store, stop.clone());
    let schedule = Arc::new(Schedule::load(
        dir.join("delayOffset.json"),
        basalt_store::DelayLevels::parse(&config.message_delay_level)?,
    )?);
    let timers = Arc::new(Timers::load(
        dir.join("timerProgress.json"),
        store.clone(),
        config.broker_addr(),
    )?);
    let tables = Tables {
        topics,
        groups: Arc::clone(&groups),
        offsets: Arc::clone(&offsets),
        clients: Arc::clone(&clients),
        arrivals: Arc::clone(&arrivals),
        reregister: Arc::clone(&reregister),
        schedule: Arc::clone(&schedule),
    };
    let router = Arc::new(router(&config, &store, &tables));
    let topics = tables.topics;
    let registrar = Arc::new(Registrar::new(Arc::clone(&config), Arc::clone(&topics)));
    registrar.register_all().await;
    Ok(Broker {
        config,
        store,
        groups,
        offsets,
        clients,
        router,
        registrar,
        reregister,
        schedule,
        timers,
        arrivals,
        stop,
    })
}

/// The broker's shared tables, as the router hands them out.
struct Tables {
    topics: Arc<Topics>,
    groups: Arc<Groups>,
    offsets: Arc<Offsets>,
    clients: Arc<Clients>,
    arrivals: Arc<Arrivals>,
    reregister: Arc<Notify>,
    schedule: Arc<Schedule>,
}

impl Broker {
    /// Serves until `shutdown` resolves, then unregisters, persists offsets
    /// and shuts the store down cleanly (checkpoint written, abort marker
    /// removed).
    pub async fn serve(
        self,
        listeners: Listeners,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), BrokerError> {
        let Self {
            config,
            store,
            groups,
            offsets,
            clients,
            router,
            registrar,
            reregister,
            schedule,
            timers,
            arrivals,
            stop,
        } = self;
        let scheduled = tokio::spawn(schedule.run(store.clone(), stop.clone()));
        let checker = Arc::new(crate::transaction::Checker::new(
            store.clone(),
            Arc::clone(&offsets),
            Arc::clone(&clients),
            crate::transaction::CheckConfig {
                interval: Duration::from_millis(config.transaction_check_interval.max(100)),
                timeout: Duration::from_millis(config.transaction_time_out),
                max_checks: config.transaction_check_max,
            },
            config.broker_name.clone(),
        ));
        let checking = tokio::spawn(checker.run(stop.clone()));
        let timing = tokio::spawn(Arc::clone(&timers).run(Arc::clone(&arrivals), stop.clone()));
        let registration = tokio::spawn(registrar.run(reregister, stop.clone()));
        let housekeeping = tokio::spawn(housekeeping(
            Arc::clone(&offsets),
            clients,
            groups,
            Duration::from_millis(config.flush_consumer_offset_interval.max(100)),
            Duration::from_millis(config.channel_expired_timeout),
            stop.clone(),
        ));
        let fast = listeners.fast.map(|l| {
            let router = Arc::clone(&router);
            let stop = stop.clone();
            tokio::spawn(async move {
                basalt_remoting::serve(l, router, ServerConfig::default(), stop.cancelled_owned())
                    .await;
            })
        });
        tracing::info!(addr = %config.broker_addr(), name = %config.broker_name, "broker serving");
        basalt_remoting::serve(listeners.main, router, ServerConfig::default(), shutdown).await;

        stop.cancel();
        if let Some(f) = fast {
            let _ = f.await;
        }
        let _ = registration.await;
        let _ = housekeeping.await;
        let _ = scheduled.await;
        let _ = checking.await;
        let _ = timing.await;
        offsets.persist()?;
        tokio::task::spawn_blocking(move || store.shutdown())
            .await
            .map_err(|e| BrokerError::Startup(format!("store shutdown task failed: {e}")))??;
        tracing::info!("broker stopped cleanly");
        Ok(())
    }
}

async fn housekeeping(
    offsets: Arc<Offsets>,
    clients: Arc<Clients>,
    groups: Arc<Groups>,
    flush_every: Duration,
    client_timeout: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(flush_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(e) = offsets.persist() {
            tracing::error!(error = %e, "cannot persist consumer offsets");
        }
        for g in clients.expire(tokio::time::Instant::now(), client_timeout) {
            tracing::info!(group = %g, "consumer expired: no heartbeat");
            if groups
                .get(&g)
                .is_none_or(|c| c.notify_consumer_ids_changed_enable)
            {
                client::notify_ids_changed(&clients, &g);
            }
        }
    }
}

fn router(config: &Arc<BrokerConfig>, store: &Store, t: &Tables) -> Router {
    let Tables {
        topics,
        groups,
        offsets,
        clients,
        arrivals,
        reregister,
        schedule,
    } = t;
    // Families mirror Java's processor pools. Parked pulls hold their
    // permit while suspended, so the pull family is effectively unbounded;
    // the connection limit bounds it.
    let send_family = Family::new("send", 64, 10_000);
    let pull_family = Family::new("pull", 65_536, 100_000);
    let client_family = Family::new("client", 16, 50_000);
    let admin_family = Family::new("admin", 8, 10_000);
    let query_family = Family::new("query", 8, 10_000);

    let addr = config.broker_addr();
    let send_state = Arc::new(send::SendState {
        store: store.clone(),
        topics: Arc::clone(topics),
        reregister: Arc::clone(reregister),
        store_host: addr,
        cluster_name: config.cluster_name.clone(),
        broker_permission: config.broker_permission,
        auto_create_topic: config.auto_create_topic_enable,
        max_message_size: config.max_message_size,
        uniq: UniqKeyGenerator::new(addr.ip(), std::process::id(), i32::from(addr.port())),
        groups: Arc::clone(groups),
        schedule: Arc::clone(schedule),
        timer_max_delay: Duration::from_secs(config.timer_max_delay_sec),
    });
    let send_back_state = Arc::new(send_back::SendBackState {
        store: store.clone(),
        topics: Arc::clone(topics),
        groups: Arc::clone(groups),
        schedule: Arc::clone(schedule),
        reregister: Arc::clone(reregister),
        store_host: addr,
    });
    let pull_state = Arc::new(pull::PullState {
        store: store.clone(),
        topics: Arc::clone(topics),
        groups: Arc::clone(groups),
        clients: Arc::clone(clients),
        offsets: Arc::clone(offsets),
        arrivals: Arc::clone(arrivals),
        broker_permission: config.broker_permission,
        long_polling: config.long_polling_enable,
        short_polling: Duration::from_millis(config.short_polling_time_mills),
        property_filter: config.enable_property_filter,
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
    });
    let admin_state = Arc::new(admin::AdminState {
        store: store.clone(),
        topics: Arc::clone(topics),
        groups: Arc::clone(groups),
        offsets: Arc::clone(offsets),
        clients: Arc::clone(clients),
        reregister: Arc::clone(reregister),
        broker_name: config.broker_name.clone(),
        broker_permission: config.broker_permission,
        boot_ms: now_ms(),
    });
    let lock_state = Arc::new(Locks::default());
    let store_state = Arc::new(store.clone());

    let mut r = Router::new();
    for code in [C::SendMessage, C::SendMessageV2, C::SendBatchMessage] {
        r = add_async(r, code, &send_family, &send_state, send::send);
    }
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
    r = add(
        r,
        C::UpdateAndCreateTopic,
        &admin_family,
        &admin_state,
        admin::create_topic,
    );
    r = add(
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
