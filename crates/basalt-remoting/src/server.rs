//! Accept loop with a connection limit and graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::conn::{start, ConnConfig};
use crate::Router;

/// Settings of a remoting server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Connections beyond this are closed right after accept. Default: 10,000.
    pub max_connections: usize,
    pub conn: ConnConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            conn: ConnConfig::default(),
        }
    }
}

/// Serves `listener` with `router` until `shutdown` resolves; then stops
/// accepting, closes every connection and waits for their tasks to end.
pub async fn serve(
    listener: TcpListener,
    router: Arc<Router>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: keep the listener,
                // but do not spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(%peer, max = config.max_connections, "connection limit reached; closing");
            continue;
        };
        match start(
            stream,
            Arc::clone(&router),
            config.conn.clone(),
            stop.clone(),
        ) {
            Ok((_conn, task)) => {
                tracker.spawn(async move {
                    let _ = task.await;
                    drop(slot);
                });
            }
            Err(e) => tracing::debug!(%peer, error = %e, "connection setup failed"),
        }
    }
    stop.cancel();
    tracker.close();
    tracker.wait().await;
}
