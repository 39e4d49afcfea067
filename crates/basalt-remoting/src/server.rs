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
    /// Connections beyond this are closed right after accept. Default:
    /// what the process's open-file limit leaves after a reserve for the
    /// store's files ([`connection_cap`]).
    pub max_connections: usize,
    pub conn: ConnConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: connection_cap(),
            conn: ConnConfig::default(),
        }
    }
}

/// File descriptors kept for everything but connections (CommitLog,
/// ConsumeQueue and index files, metadata).
const FD_RESERVE: u64 = 4096;

/// RocketMQ limits connections by nothing but file descriptors; a fixed
/// cap (10,000 before) refused large fleets on hosts set up for them
/// (`ulimit -n 655350` is RocketMQ's advice). Connections may use what the
/// soft open-file limit leaves after a reserve, so running out of
/// descriptors never stops the store from opening its next file; at least
/// 512.
pub fn connection_cap() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let cap = limit.saturating_sub(FD_RESERVE).max(512);
    // An unlimited limit is still bounded by what a semaphore can count.
    usize::try_from(cap)
        .unwrap_or(usize::MAX)
        .min(Semaphore::MAX_PERMITS)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_follows_the_open_file_limit() {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        let cap = connection_cap();
        assert!((512..=Semaphore::MAX_PERMITS).contains(&cap));
        if let Some(limit) = limit.filter(|l| *l > FD_RESERVE + 512) {
            assert_eq!(cap as u64, limit - FD_RESERVE);
        }
        // What the accept loop builds from it.
        assert_eq!(Semaphore::new(cap).available_permits(), cap);
    }
}
