//! Request handlers, one file per family, and the router table: the only
//! list of codes the name server serves.

pub mod broker;
pub mod config;
pub mod kv;
pub mod route;

use std::sync::Arc;

use basalt_protocol::{RemotingCommand, RequestCode as C};
use basalt_remoting::{Family, Request, Router};
use parking_lot::RwLock;

use crate::respond::reply;
use crate::{KvConfig, NamesrvConfig, NamesrvError, RouteTable};

type Outcome = Result<RemotingCommand, NamesrvError>;

/// Adds a synchronous handler that sees only the state `S` it needs.
fn add<S: Send + Sync + 'static>(
    router: Router,
    code: C,
    family: &Arc<Family>,
    state: &Arc<S>,
    handler: fn(&S, &Request) -> Outcome,
) -> Router {
    router.route_sync(code, family, state, move |s, req| reply(handler(s, req)))
}

/// What the broker-facing handlers use.
pub struct BrokerState {
    pub routes: Arc<RwLock<RouteTable>>,
    pub kv: Arc<KvConfig>,
    /// The settings as they are now (UPDATE_NAMESRV_CONFIG changes them).
    pub config: Arc<RwLock<NamesrvConfig>>,
}

/// What the route-reading handlers use.
pub struct RouteState {
    pub routes: Arc<RwLock<RouteTable>>,
    pub kv: Arc<KvConfig>,
    /// The settings as they are now (UPDATE_NAMESRV_CONFIG changes them).
    pub config: Arc<RwLock<NamesrvConfig>>,
    /// Serialises writes of the config file.
    pub config_file: parking_lot::Mutex<()>,
}

/// The name server's router.
pub fn router(
    config: &NamesrvConfig,
    routes: Arc<RwLock<RouteTable>>,
    kv: Arc<KvConfig>,
) -> Router {
    // Java runs the name server on one default pool (8 threads) plus a
    // client pool for route queries; the limits mirror that split.
    let admin = Family::new("namesrv-default", 8, 10_000);
    let client = Family::new("namesrv-client", 8, 50_000);
    let live = Arc::new(RwLock::new(config.clone()));
    let brokers = Arc::new(BrokerState {
        routes: Arc::clone(&routes),
        kv: Arc::clone(&kv),
        config: Arc::clone(&live),
    });
    let reads = Arc::new(RouteState {
        routes: Arc::clone(&routes),
        kv: Arc::clone(&kv),
        config: live,
        config_file: parking_lot::Mutex::new(()),
    });
    let mut r = Router::new();
    r = add(r, C::RegisterBroker, &admin, &brokers, broker::register);
    r = add(r, C::UnregisterBroker, &admin, &brokers, broker::unregister);
    r = add(r, C::BrokerHeartbeat, &admin, &brokers, broker::heartbeat);
    r = add(
        r,
        C::QueryDataVersion,
        &admin,
        &brokers,
        broker::query_data_version,
    );
    r = add(
        r,
        C::WipeWritePermOfBroker,
        &admin,
        &brokers,
        broker::wipe_write_perm,
    );
    r = add(
        r,
        C::AddWritePermOfBroker,
        &admin,
        &brokers,
        broker::add_write_perm,
    );
    r = add(
        r,
        C::GetBrokerMemberGroup,
        &admin,
        &brokers,
        broker::member_group,
    );
    r = add(
        r,
        C::GetRouteinfoByTopic,
        &client,
        &reads,
        route::route_by_topic,
    );
    r = add(
        r,
        C::GetBrokerClusterInfo,
        &admin,
        &reads,
        route::cluster_info,
    );
    r = add(
        r,
        C::GetAllTopicListFromNameserver,
        &admin,
        &reads,
        route::all_topics,
    );
    r = add(
        r,
        C::GetTopicsByCluster,
        &admin,
        &reads,
        route::topics_by_cluster,
    );
    r = add(
        r,
        C::GetSystemTopicListFromNs,
        &admin,
        &reads,
        route::system_topics,
    );
    r = add(r, C::GetUnitTopicList, &admin, &reads, route::unit_topics);
    r = add(
        r,
        C::GetHasUnitSubTopicList,
        &admin,
        &reads,
        route::unit_sub_topics,
    );
    r = add(
        r,
        C::GetHasUnitSubUnunitTopicList,
        &admin,
        &reads,
        route::unit_sub_ununit_topics,
    );
    r = add(
        r,
        C::DeleteTopicInNamesrv,
        &admin,
        &reads,
        route::delete_topic,
    );
    r = add(
        r,
        C::RegisterTopicInNamesrv,
        &admin,
        &reads,
        route::register_topic,
    );
    r = add(
        r,
        C::GetNamesrvConfig,
        &admin,
        &reads,
        route::namesrv_config,
    );
    r = add(r, C::UpdateNamesrvConfig, &admin, &reads, config::update);
    r = add(r, C::PutKvConfig, &admin, &kv, kv::put);
    r = add(r, C::GetKvConfig, &admin, &kv, kv::get);
    r = add(r, C::DeleteKvConfig, &admin, &kv, kv::delete);
    r = add(r, C::GetKvlistByNamespace, &admin, &kv, kv::list);
    r.on_close(move |conn| {
        for addr in routes.write().connection_closed(conn.id()) {
            tracing::info!(broker = %addr, "broker connection closed; route removed");
        }
    })
}
