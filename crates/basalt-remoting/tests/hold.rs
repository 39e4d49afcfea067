//! Held replies: written once the router's gate passes their position,
//! rewritten on timeout or failure, and counted against their family's
//! limit while held.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use basalt_remoting::{connect, Connection, Family, Gate, GateSender, Reply, Router, ServerConfig};

use crate::server;

fn timed_out(cmd: &mut RemotingCommand) {
    cmd.code = ResponseCode::FlushDiskTimeout.as_i32();
}

fn failed(cmd: &mut RemotingCommand) {
    cmd.code = ResponseCode::ServiceNotAvailable.as_i32();
}

struct Held {
    conn: Arc<Connection>,
    gate: GateSender,
    /// Requests that reached the handler.
    handled: Arc<AtomicUsize>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A server whose HEART_BEAT reply is held until the position in its body.
async fn held_server(family: &Arc<Family>, timeout: Duration) -> Held {
    let (gate, rx) = Gate::new(0, timeout, timed_out, failed);
    let handled = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&handled);
    let router = Router::new()
        .with_gate(rx)
        .route(RequestCode::HeartBeat, family, move |req| {
            count.fetch_add(1, Ordering::SeqCst);
            async move {
                let until = std::str::from_utf8(&req.cmd.body).unwrap().parse().unwrap();
                Reply::Held {
                    cmd: RemotingCommand::success().with_body(req.cmd.body.clone()),
                    until,
                }
            }
        });
    let (addr, stop) = server(router, ServerConfig::default()).await;
    let conn = connect(addr, Arc::new(Router::new())).await.unwrap();
    Held {
        conn,
        gate,
        handled,
        _stop: stop,
    }
}

fn ask(
    conn: &Arc<Connection>,
    until: u64,
) -> tokio::task::JoinHandle<Result<RemotingCommand, basalt_remoting::RemotingError>> {
    let conn = Arc::clone(conn);
    tokio::spawn(async move {
        let cmd = RemotingCommand::request(RequestCode::HeartBeat).with_body(until.to_string());
        conn.invoke(cmd, Duration::from_secs(30)).await
    })
}

#[tokio::test]
async fn a_held_reply_waits_for_the_gate() {
    let fam = Family::new("send", 16, 16);
    let h = held_server(&fam, Duration::from_secs(30)).await;
    let (conn, gate) = (&h.conn, &h.gate);
    let late = ask(conn, 10);
    gate.advance(5);
    // Reached already: answered at once, on the same connection.
    let early = ask(conn, 5).await.unwrap().unwrap();
    assert_eq!(early.response_code(), ResponseCode::Success);
    assert_eq!(&early.body[..], b"5");
    // The gate is below 10, so nothing can have answered this one yet.
    assert!(!late.is_finished());
    gate.advance(10);
    let late = late.await.unwrap().unwrap();
    assert_eq!(late.response_code(), ResponseCode::Success);
    assert_eq!(&late.body[..], b"10");
}

#[tokio::test]
async fn a_reply_held_too_long_is_rewritten_and_a_failed_gate_answers_all() {
    let fam = Family::new("send", 16, 16);
    let short = held_server(&fam, Duration::from_millis(200)).await;
    let r = ask(&short.conn, 7).await.unwrap().unwrap();
    assert_eq!(r.response_code(), ResponseCode::FlushDiskTimeout);

    let h = held_server(&fam, Duration::from_secs(30)).await;
    let (conn, gate2) = (&h.conn, &h.gate);
    let waiting = ask(conn, 9);
    let also = ask(conn, 12);
    gate2.advance(9);
    assert_eq!(
        waiting.await.unwrap().unwrap().response_code(),
        ResponseCode::Success
    );
    gate2.fail();
    assert_eq!(
        also.await.unwrap().unwrap().response_code(),
        ResponseCode::ServiceNotAvailable
    );
    // After the failure nothing is held any more.
    let after = ask(conn, 1).await.unwrap().unwrap();
    assert_eq!(after.response_code(), ResponseCode::ServiceNotAvailable);
}

#[tokio::test]
async fn a_held_reply_keeps_its_family_permit() {
    // One at a time, none queued: while the first reply is held, a second
    // request is refused as if the first handler were still running.
    let fam = Family::new("send", 1, 0);
    let h = held_server(&fam, Duration::from_secs(30)).await;
    let (conn, gate, handled) = (&h.conn, &h.gate, &h.handled);
    let first = ask(conn, 3);
    basalt_testkit::eventually(Duration::from_secs(5), || {
        let n = handled.load(Ordering::SeqCst);
        async move { (n == 1).then_some(()) }
    })
    .await
    .unwrap();
    let busy = ask(conn, 0).await.unwrap().unwrap();
    assert_eq!(busy.response_code(), ResponseCode::SystemBusy);
    assert!(busy.remark.unwrap().contains("system busy"));
    gate.advance(3);
    assert_eq!(
        first.await.unwrap().unwrap().response_code(),
        ResponseCode::Success
    );
    let free = ask(conn, 0).await.unwrap().unwrap();
    assert_eq!(free.response_code(), ResponseCode::Success);
}
