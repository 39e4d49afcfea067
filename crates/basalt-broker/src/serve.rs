//! Starting and stopping the broker role.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use basalt_remoting::{Router, ServerConfig};
use basalt_store::{Store, StoreConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clients::Clients;
use crate::groups::Groups;
use crate::handlers::client;
use crate::offsets::Offsets;
use crate::register::Registrar;
use crate::schedule::Schedule;
use crate::timer::Timers;
use crate::topics::Topics;
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
    reregister: Arc<crate::register::Reregister>,
    schedule: Arc<Schedule>,
    timers: Arc<Timers>,
    topics: Arc<Topics>,
    stats: Arc<crate::stats::Stats>,
    settings: Arc<crate::settings::Settings>,
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
    let reregister = Arc::new(crate::register::Reregister::default());
    let schedule = Arc::new(Schedule::load(
        dir.join("delayOffset.json"),
        basalt_store::DelayLevels::parse(&config.message_delay_level)?,
        &store,
    )?);
    let timers = Arc::new(Timers::load(
        dir.join("timerProgress.json"),
        store.clone(),
        config.broker_addr(),
    )?);
    let settings = Arc::new(crate::settings::Settings::new(
        BrokerConfig::clone(&config),
        store.config().clone(),
    ));
    let stats = Arc::new(crate::stats::Stats::new(
        &config.cluster_name,
        &config.broker_name,
        config.stats_sample_period,
    ));
    let tables = Tables {
        topics,
        settings,
        stats: Arc::clone(&stats),
        groups: Arc::clone(&groups),
        offsets: Arc::clone(&offsets),
        clients: Arc::clone(&clients),
        reregister: Arc::clone(&reregister),
        schedule: Arc::clone(&schedule),
        timers: Arc::clone(&timers),
    };
    let router = Arc::new(crate::routes::router(&config, &store, &tables));
    let topics = tables.topics;
    let registrar = Arc::new(Registrar::new(
        Arc::clone(&config),
        Arc::clone(&tables.settings),
        Arc::clone(&topics),
    ));
    // Registered before serving, as RocketMQ does, but a name server that
    // does not answer does not hold the start for the 24 s registration
    // timeout: the others are done by then (all go at once), and the
    // periodic registration retries it.
    let _ = tokio::time::timeout(crate::register::REGISTER_WAIT, registrar.register_all()).await;
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
        topics,
        stats,
        settings: Arc::clone(&tables.settings),
        stop,
    })
}

/// The broker's shared tables, as the router hands them out.
pub(crate) struct Tables {
    pub(crate) topics: Arc<Topics>,
    pub(crate) groups: Arc<Groups>,
    pub(crate) offsets: Arc<Offsets>,
    pub(crate) clients: Arc<Clients>,
    pub(crate) reregister: Arc<crate::register::Reregister>,
    pub(crate) schedule: Arc<Schedule>,
    pub(crate) settings: Arc<crate::settings::Settings>,
    pub(crate) stats: Arc<crate::stats::Stats>,
    pub(crate) timers: Arc<Timers>,
}

impl Broker {
    /// The broker's store (a handle to it).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

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
            topics,
            stats,
            settings,
            stop,
        } = self;
        let sampling = tokio::spawn(stats.run(store.clone(), Arc::clone(&topics), stop.clone()));
        let scheduled = tokio::spawn(schedule.run(store.clone(), stop.clone()));
        let checker = Arc::new(crate::transaction::Checker::new(
            store.clone(),
            Arc::clone(&offsets),
            Arc::clone(&clients),
            Arc::clone(&settings),
            config.broker_name.clone(),
            topics,
            Arc::clone(&reregister),
        ));
        let checking = tokio::spawn(checker.run(stop.clone()));
        let timing = tokio::spawn(Arc::clone(&timers).run(stop.clone()));
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
        let _ = sampling.await;
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
