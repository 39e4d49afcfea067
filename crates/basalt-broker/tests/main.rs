//! The broker served over TCP, driven with raw remoting commands: sends,
//! pulls, long polling, offsets, heartbeats and bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod bad_input;
mod flow;
mod queue_admin;
mod recall;
mod semantics;
mod settings;
mod stall;

use std::sync::Arc;
use std::time::Duration;

use basalt_broker::{BrokerConfig, Listeners};
use basalt_message::{BlankOrRecord, Record};
use basalt_protocol::headers::pull::{sys_flag, PullMessageRequest};
use basalt_protocol::headers::send::SendMessageRequestV2;
use basalt_protocol::{RemotingCommand, RequestCode};
use basalt_remoting::{Connection, Router};
use basalt_store::StoreConfig;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub struct TestBroker {
    pub addr: std::net::SocketAddr,
    pub dir: Arc<tempfile::TempDir>,
    pub store: basalt_store::Store,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), basalt_broker::BrokerError>>>,
}

impl TestBroker {
    /// Stops the broker cleanly and waits for it.
    pub async fn stop(self) {
        self.stop_with().await.unwrap();
    }

    /// Stops the broker and returns how its shutdown ended.
    pub async fn stop_with(mut self) -> Result<(), basalt_broker::BrokerError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.task.take() {
            Some(t) => t.await.unwrap(),
            None => Ok(()),
        }
    }
}

pub async fn start(tune: impl FnOnce(&mut BrokerConfig, &mut StoreConfig)) -> TestBroker {
    start_in(Arc::new(tempfile::tempdir().unwrap()), tune).await
}

pub async fn start_in(
    dir: Arc<tempfile::TempDir>,
    tune: impl FnOnce(&mut BrokerConfig, &mut StoreConfig),
) -> TestBroker {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = BrokerConfig::new(dir.path());
    config.listen_port = addr.port();
    let mut store = StoreConfig::with_root(dir.path().join("store"));
    store.mapped_file_size_commit_log = 1 << 20;
    store.mapped_file_size_consume_queue = 20 * 1000;
    store.max_hash_slot_num = 1000;
    store.max_index_num = 4000;
    tune(&mut config, &mut store);
    let broker = basalt_broker::open(config, store).await.unwrap();
    let store = broker.store();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        broker
            .serve(
                Listeners {
                    main: listener,
                    fast: None,
                },
                async {
                    let _ = rx.await;
                },
            )
            .await
    });
    TestBroker {
        addr,
        dir,
        store,
        stop: Some(tx),
        task: Some(task),
    }
}

pub async fn client(addr: std::net::SocketAddr) -> Arc<Connection> {
    basalt_remoting::connect(addr, Arc::new(Router::new()))
        .await
        .unwrap()
}

pub async fn call(conn: &Connection, cmd: RemotingCommand) -> RemotingCommand {
    conn.invoke(cmd, Duration::from_secs(20)).await.unwrap()
}

pub fn send_cmd(topic: &str, queue_id: i32, body: &[u8], props: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::SendMessageV2)
        .with_header(&SendMessageRequestV2 {
            a: "pg".into(),
            b: topic.into(),
            c: "TBW102".into(),
            d: 4,
            e: queue_id,
            f: 0,
            g: 1_700_000_000_000,
            h: 0,
            i: Some(props.into()),
            ..SendMessageRequestV2::default()
        })
        .with_body(Bytes::copy_from_slice(body))
}

pub fn pull_cmd(
    topic: &str,
    queue_id: i32,
    offset: i64,
    flags: i32,
    suspend_ms: i64,
) -> RemotingCommand {
    RemotingCommand::request(RequestCode::PullMessage).with_header(&PullMessageRequest {
        consumer_group: "cg".into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: flags | sys_flag::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: suspend_ms,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
    })
}

/// Splits a pull body into records.
pub fn records(body: &Bytes) -> Vec<Record> {
    let mut out = Vec::new();
    let mut rest = body.clone();
    while rest.len() >= 4 {
        let size = i32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        let one = rest.split_to(size);
        match BlankOrRecord::decode(&one, true).unwrap() {
            BlankOrRecord::Record(r) => out.push(*r),
            BlankOrRecord::Blank { .. } => panic!("blank marker in a pull body"),
        }
    }
    out
}
