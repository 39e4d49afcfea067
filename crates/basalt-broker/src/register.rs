//! Registration with every configured name server: at start, every
//! `registerNameServerPeriod`, and right after the topic table changes;
//! UNREGISTER_BROKER at shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::body::register::RegisterBrokerBody;
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::namesrv::{RegisterBrokerRequest, UnregisterBrokerRequest};
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use basalt_remoting::{Connection, Router};
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use crate::topics::Topics;
use crate::BrokerConfig;

/// How long a request that changed the topic table waits for the name
/// servers to learn it before answering anyway.
pub const REGISTER_WAIT: Duration = Duration::from_secs(3);

/// Java's timeout for REGISTER_BROKER.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(24);
/// Connecting to a name server (RocketMQ's `connectTimeoutMillis`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Asks the registrar to register again now; [`Reregister::registered`]
/// also waits for it, as Java's send path does after creating a topic (its
/// response goes out once the name servers know the route, so a client can
/// subscribe right away).
pub struct Reregister {
    trigger: Notify,
    /// Registrations asked for so far.
    requested: AtomicU64,
    /// The request count a finished registration had read before it began.
    done: watch::Sender<u64>,
}

impl Default for Reregister {
    fn default() -> Self {
        Self {
            trigger: Notify::new(),
            requested: AtomicU64::new(0),
            done: watch::Sender::new(0),
        }
    }
}

impl Reregister {
    /// Registers again soon, without waiting.
    pub fn notify_one(&self) {
        self.requested.fetch_add(1, Ordering::AcqRel);
        self.trigger.notify_one();
    }

    /// Registers again and waits until a registration that began after this
    /// call has finished (or `limit` passed: a name server that does not
    /// answer must not hold a send for REGISTER_TIMEOUT).
    pub async fn registered(&self, limit: Duration) {
        let target = self.requested.fetch_add(1, Ordering::AcqRel) + 1;
        let mut done = self.done.subscribe();
        self.trigger.notify_one();
        let _ = tokio::time::timeout(limit, done.wait_for(|d| *d >= target)).await;
    }
}

pub struct Registrar {
    config: Arc<BrokerConfig>,
    /// `brokerPermission` as it is now.
    settings: Arc<crate::settings::Settings>,
    topics: Arc<Topics>,
    conns: tokio::sync::Mutex<HashMap<String, Arc<Connection>>>,
}

impl Registrar {
    pub fn new(
        config: Arc<BrokerConfig>,
        settings: Arc<crate::settings::Settings>,
        topics: Arc<Topics>,
    ) -> Self {
        Self {
            config,
            settings,
            topics,
            conns: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Re-registers every period and on `trigger` until `stop`, then
    /// unregisters. The first registration is the caller's (at open).
    pub async fn run(self: Arc<Self>, trigger: Arc<Reregister>, stop: CancellationToken) {
        let period = Duration::from_millis(
            self.config
                .register_name_server_period
                .clamp(10_000, 60_000),
        );
        loop {
            tokio::select! {
                () = tokio::time::sleep(period) => {}
                () = trigger.trigger.notified() => {}
                () = stop.cancelled() => break,
            }
            let asked = trigger.requested.load(Ordering::Acquire);
            // A shutdown does not wait out a name server that is slow to
            // answer (up to the 24 s registration timeout).
            tokio::select! {
                () = self.register_all() => {}
                () = stop.cancelled() => break,
            }
            trigger.done.send_modify(|d| *d = (*d).max(asked));
        }
        self.unregister_all().await;
    }

    /// The connection to one name server, opened if needed. The connect is
    /// bounded (RocketMQ: 3 s) and holds no lock: a name server whose host
    /// drops packets made it wait out the kernel's SYN retries (~2 min)
    /// while the others went without a heartbeat long enough to expire the
    /// broker.
    async fn conn(&self, addr: &str) -> Option<Arc<Connection>> {
        if let Some(c) = self.conns.lock().await.get(addr).filter(|c| !c.is_closed()) {
            return Some(Arc::clone(c));
        }
        let connect = basalt_remoting::connect(addr, Arc::new(Router::new()));
        match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(c)) => {
                self.conns
                    .lock()
                    .await
                    .insert(addr.to_owned(), Arc::clone(&c));
                Some(c)
            }
            Ok(Err(e)) => {
                tracing::warn!(namesrv = addr, error = %e, "cannot reach name server");
                None
            }
            Err(_) => {
                tracing::warn!(
                    namesrv = addr,
                    "name server did not answer the connect in time"
                );
                None
            }
        }
    }

    /// One REGISTER_BROKER to every name server; failures are logged and
    /// retried at the next period.
    pub async fn register_all(&self) {
        let wrapper = self.topics.wrapper(self.settings.permission());
        let body = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: wrapper,
        }
        .encode();
        let crc = i32::try_from(crc32fast::hash(&body) & 0x7FFF_FFFF).unwrap_or(0);
        let header = RegisterBrokerRequest {
            broker_name: self.config.broker_name.clone(),
            broker_addr: self.config.advertised_addr(),
            cluster_name: self.config.cluster_name.clone(),
            ha_server_addr: Some(
                self.config
                    .advertised_at(self.config.listen_port.saturating_add(1)),
            ),
            broker_id: self.config.broker_id,
            heartbeat_timeout_millis: None,
            enable_acting_master: Some(false),
            compressed: Some(false),
            body_crc32: Some(crc),
        };
        // All name servers at once (as RocketMQ): a slow one must not
        // delay the others' heartbeat.
        let calls = self.config.namesrv_addr.iter().map(|ns| {
            let cmd = RemotingCommand::request(RequestCode::RegisterBroker)
                .with_header(&header)
                .with_body(body.clone());
            self.register_with(ns, cmd)
        });
        futures::future::join_all(calls).await;
    }

    async fn register_with(&self, ns: &str, cmd: RemotingCommand) {
        let Some(conn) = self.conn(ns).await else {
            return;
        };
        match conn.invoke(cmd, REGISTER_TIMEOUT).await {
            Ok(r) if r.response_code() == ResponseCode::Success => {
                tracing::debug!(namesrv = %ns, "registered");
            }
            Ok(r) => {
                tracing::warn!(namesrv = %ns, code = r.code, remark = ?r.remark, "registration refused")
            }
            Err(e) => tracing::warn!(namesrv = %ns, error = %e, "registration failed"),
        }
    }

    async fn unregister_all(&self) {
        let header = UnregisterBrokerRequest {
            broker_name: self.config.broker_name.clone(),
            broker_addr: self.config.advertised_addr(),
            cluster_name: self.config.cluster_name.clone(),
            broker_id: self.config.broker_id,
        };
        let calls = self.config.namesrv_addr.iter().map(|ns| {
            let cmd = RemotingCommand::request(RequestCode::UnregisterBroker).with_header(&header);
            self.unregister_with(ns, cmd)
        });
        futures::future::join_all(calls).await;
    }

    async fn unregister_with(&self, ns: &str, cmd: RemotingCommand) {
        let Some(conn) = self.conn(ns).await else {
            return;
        };
        if let Err(e) = conn.invoke(cmd, Duration::from_secs(3)).await {
            tracing::warn!(namesrv = %ns, error = %e, "unregister failed");
        }
    }
}
