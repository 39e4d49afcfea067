//! The name server served over TCP, driven by the remoting client and by raw
//! bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod bad_input;
mod registry;

use std::sync::Arc;
use std::time::Duration;

use basalt_namesrv::NamesrvConfig;
use basalt_protocol::RemotingCommand;
use basalt_remoting::{Connection, Router};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub struct Server {
    pub addr: std::net::SocketAddr,
    _stop: oneshot::Sender<()>,
    pub dir: tempfile::TempDir,
}

pub async fn start(tune: impl FnOnce(&mut NamesrvConfig)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = NamesrvConfig::new(dir.path());
    tune(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(basalt_namesrv::serve(config, listener, async {
        let _ = rx.await;
    }));
    Server {
        addr,
        _stop: tx,
        dir,
    }
}

pub async fn client(addr: std::net::SocketAddr) -> Arc<Connection> {
    basalt_remoting::connect(addr, Arc::new(Router::new()))
        .await
        .unwrap()
}

pub async fn call(conn: &Connection, cmd: RemotingCommand) -> RemotingCommand {
    conn.invoke(cmd, Duration::from_secs(5)).await.unwrap()
}
