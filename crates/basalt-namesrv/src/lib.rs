//! The name server role: brokers register here, clients ask for routes.
//!
//! Data path: `basalt-remoting` delivers decoded commands to the handlers in
//! [`handlers`] through the router built by [`router`]; handlers read typed
//! headers and bodies from `basalt-protocol`, act on the [`RouteTable`] or
//! the [`KvConfig`], and [`respond`] turns every outcome into a reply.
//!
//! Depends on protocol and remoting only; nothing here knows the broker or
//! the store.

pub mod config;
pub mod error;
pub mod handlers;
pub mod kv;
pub mod respond;
pub mod routes;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use basalt_remoting::{Router, ServerConfig};
use parking_lot::RwLock;
use tokio::net::TcpListener;

pub use config::NamesrvConfig;
pub use error::NamesrvError;
pub use kv::KvConfig;
pub use routes::RouteTable;

/// Serves the name server on `listener` until `shutdown` resolves.
///
/// Loads the KV config from `config.kv_config_path`, and runs the scan that
/// drops brokers which stopped registering.
pub async fn serve(
    config: NamesrvConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NamesrvError> {
    let kv = Arc::new(KvConfig::load(config.kv_config_path.clone())?);
    let routes = Arc::new(RwLock::new(RouteTable::default()));
    let router = Arc::new(handlers::router(&config, Arc::clone(&routes), kv));
    let scan = tokio::spawn(scan_inactive(
        Arc::clone(&routes),
        Duration::from_millis(config.scan_not_active_broker_interval),
    ));
    basalt_remoting::serve(listener, router, ServerConfig::default(), shutdown).await;
    scan.abort();
    Ok(())
}

/// Builds the router alone, for embedding and tests.
pub fn router(config: &NamesrvConfig) -> Result<(Router, Arc<RwLock<RouteTable>>), NamesrvError> {
    let kv = Arc::new(KvConfig::load(config.kv_config_path.clone())?);
    let routes = Arc::new(RwLock::new(RouteTable::default()));
    Ok((handlers::router(config, Arc::clone(&routes), kv), routes))
}

async fn scan_inactive(routes: Arc<RwLock<RouteTable>>, every: Duration) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let expired = routes.write().expire(tokio::time::Instant::now());
        for addr in expired {
            tracing::warn!(broker = %addr, "broker expired: no registration within its timeout");
        }
    }
}
