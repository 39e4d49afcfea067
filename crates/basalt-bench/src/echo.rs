//! `basalt bench echo`: the same framing as a broker, no store behind it.
//!
//! Every send is answered SEND_OK with a made-up offset; routes for any
//! topic point at this server, which also answers the client's name-server
//! and heartbeat calls, so Apache's own producer can load it. It measures
//! the ceiling of the client + loopback + remoting path.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use basalt_protocol::body::route::{BrokerData, QueueData, TopicRouteData, MASTER_ID};
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::send::SendMessageResponse;
use basalt_protocol::{RemotingCommand, RequestCode};
use basalt_remoting::{Family, Request, Router, ServerConfig};
use tokio::net::TcpListener;

use crate::cli::EchoArgs;
use crate::BenchError;

/// A fixed offset message id (32 hex digits, as the broker's are).
const MSG_ID: &str = "7F00000100002A9F0000000000000000";

fn send_ok(req: &Request, offsets: &AtomicI64) -> RemotingCommand {
    let ext = &req.cmd.ext_fields;
    let queue_id = ext
        .get("e")
        .or_else(|| ext.get("queueId"))
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    RemotingCommand::success().with_header(&SendMessageResponse {
        msg_id: MSG_ID.into(),
        queue_id,
        queue_offset: offsets.fetch_add(1, Ordering::Relaxed),
        transaction_id: None,
        batch_uniq_id: None,
        recall_handle: None,
    })
}

/// The route every topic gets: `queues` queues on this one server.
fn route(addr: &str, queues: i32) -> Vec<u8> {
    TopicRouteData {
        broker_datas: vec![BrokerData {
            broker_addrs: [(MASTER_ID, addr.to_owned())].into(),
            broker_name: "echo".into(),
            cluster: "EchoCluster".into(),
            enable_acting_master: false,
            zone_name: None,
        }],
        queue_datas: vec![QueueData {
            broker_name: "echo".into(),
            perm: 6,
            read_queue_nums: queues,
            topic_sys_flag: 0,
            write_queue_nums: queues,
        }],
        ..TopicRouteData::default()
    }
    .encode()
}

/// Builds the echo router for a server reachable at `addr`.
pub fn router(addr: &str, queues: i32) -> Router {
    let family = Family::new("echo", 4096, 65_536);
    let offsets = Arc::new(AtomicI64::new(0));
    let route_body = bytes::Bytes::from(route(addr, queues));
    let mut router = Router::new();
    for code in [
        RequestCode::SendMessage,
        RequestCode::SendMessageV2,
        RequestCode::SendBatchMessage,
    ] {
        let offsets = Arc::clone(&offsets);
        // Answered in the first poll and never boxed, as the broker's send
        // handler is: the ceiling should not pay a cost the broker does not.
        router = router.route_unpin(code, &family, move |req| {
            std::future::ready(send_ok(&req, &offsets))
        });
    }
    router
        .route(RequestCode::GetRouteinfoByTopic, &family, move |_req| {
            let body = route_body.clone();
            async move { RemotingCommand::success().with_body(body) }
        })
        .route(RequestCode::HeartBeat, &family, |_req| async {
            RemotingCommand::success()
        })
        .route(RequestCode::UnregisterClient, &family, |_req| async {
            RemotingCommand::success()
        })
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn run(a: EchoArgs) -> Result<(), BenchError> {
    let want = format!("{}:{}", a.bind, a.port);
    let listener = TcpListener::bind(&want)
        .await
        .map_err(|source| BenchError::Bind {
            addr: want.clone(),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| BenchError::Bind { addr: want, source })?
        .to_string();
    let router = Arc::new(router(&addr, a.queues));
    if let Some(path) = &a.ready_file {
        let ready = serde_json::json!({
            "pid": std::process::id(),
            "namesrv": addr,
            "broker": addr,
        });
        crate::report::write_json(path, &ready)?;
    }
    println!("echo server on {addr}");
    basalt_remoting::serve(listener, router, ServerConfig::default(), shutdown()).await;
    if let Some(path) = &a.ready_file {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

async fn shutdown() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
