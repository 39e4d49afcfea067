//! Server and client over real sockets: routing, oneway, server-to-client
//! calls, family limits, connection limit, idle close.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use basalt_remoting::conn::ConnConfig;
use basalt_remoting::{connect, serve, Family, Router, ServerConfig};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};

mod hold;

/// `cmd` on `c`, answered within 5 s.
async fn call(c: &basalt_remoting::conn::Connection, cmd: RemotingCommand) -> RemotingCommand {
    c.invoke(cmd, Duration::from_secs(5)).await.unwrap()
}

async fn server(
    router: Router,
    config: ServerConfig,
) -> (std::net::SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, Arc::new(router), config, async {
        let _ = rx.await;
    }));
    (addr, tx)
}

fn echo_router(family: &Arc<Family>, hits: Arc<AtomicUsize>) -> Router {
    Router::new().route(RequestCode::HeartBeat, family, move |req| {
        hits.fetch_add(1, Ordering::SeqCst);
        let body = req.cmd.body.clone();
        async move { RemotingCommand::success().with_body(body) }
    })
}

#[tokio::test]
async fn request_response_unknown_code_and_oneway() {
    let hits = Arc::new(AtomicUsize::new(0));
    let fam = Family::new("t", 4, 16);
    let (addr, _stop) = server(
        echo_router(&fam, Arc::clone(&hits)),
        ServerConfig::default(),
    )
    .await;
    let c = connect(addr, Arc::new(Router::new())).await.unwrap();

    let r = call(
        &c,
        RemotingCommand::request(RequestCode::HeartBeat).with_body(&b"ping"[..]),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert_eq!(&r.body[..], b"ping");

    let r = call(&c, RemotingCommand::request(RequestCode::Unknown(9999))).await;
    assert_eq!(r.response_code(), ResponseCode::RequestCodeNotSupported);
    assert_eq!(
        r.remark.as_deref(),
        Some(" request type 9999 not supported")
    );

    c.send_oneway(RemotingCommand::request(RequestCode::HeartBeat))
        .await
        .unwrap();
    basalt_testkit::eventually(Duration::from_secs(5), || {
        let h = hits.load(Ordering::SeqCst);
        async move { (h == 2).then_some(()) }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn server_calls_the_client_back_by_opaque() {
    // The server, on a heartbeat, calls the client (as a broker does for
    // transaction check-back) and returns what the client answered.
    let fam = Family::new("t", 4, 16);
    let router = Router::new().route(RequestCode::HeartBeat, &fam, |req| async move {
        let asked = RemotingCommand::request(RequestCode::CheckTransactionState);
        match req.conn.invoke(asked, Duration::from_secs(5)).await {
            Ok(answer) => RemotingCommand::success().with_body(answer.body),
            Err(e) => RemotingCommand::response(ResponseCode::SystemError, e.to_string()),
        }
    });
    let (addr, _stop) = server(router, ServerConfig::default()).await;
    let client_fam = Family::new("client", 1, 4);
    let client_router = Router::new().route(
        RequestCode::CheckTransactionState,
        &client_fam,
        |_req| async { RemotingCommand::success().with_body(&b"COMMIT"[..]) },
    );
    let c = connect(addr, Arc::new(client_router)).await.unwrap();
    let r = call(&c, RemotingCommand::request(RequestCode::HeartBeat)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(&r.body[..], b"COMMIT");
}

/// Sends a request while another one holds `fam`'s only permit (its
/// handler waits on a gate); returns the second one's answer once the
/// first is let go and answered, checking the second never ran.
async fn answer_while_the_family_is_busy(fam: &Arc<Family>) -> RemotingCommand {
    let gate = Arc::new(Notify::new());
    let entered = Arc::new(AtomicUsize::new(0));
    let (g, e) = (Arc::clone(&gate), Arc::clone(&entered));
    let router = Router::new().route(RequestCode::HeartBeat, fam, move |_req| {
        let (g, e) = (Arc::clone(&g), Arc::clone(&e));
        async move {
            e.fetch_add(1, Ordering::SeqCst);
            g.notified().await;
            RemotingCommand::success()
        }
    });
    let (addr, _stop) = server(router, ServerConfig::default()).await;
    let c = connect(addr, Arc::new(Router::new())).await.unwrap();
    let c1 = Arc::clone(&c);
    let first = tokio::spawn(async move {
        c1.invoke(
            RemotingCommand::request(RequestCode::HeartBeat),
            Duration::from_secs(10),
        )
        .await
        .unwrap()
    });
    basalt_testkit::eventually(Duration::from_secs(5), || {
        let n = entered.load(Ordering::SeqCst);
        async move { (n == 1).then_some(()) }
    })
    .await
    .unwrap();
    let second = call(&c, RemotingCommand::request(RequestCode::HeartBeat)).await;
    assert_eq!(
        entered.load(Ordering::SeqCst),
        1,
        "the refused request must not run"
    );
    gate.notify_one();
    assert_eq!(first.await.unwrap().response_code(), ResponseCode::Success);
    second
}

#[tokio::test]
async fn family_limit_refuses_beyond_its_queue() {
    // One request at a time, none waiting.
    let refused = answer_while_the_family_is_busy(&Family::new("slow", 1, 0)).await;
    assert_eq!(refused.response_code(), ResponseCode::SystemBusy);
    assert!(refused.remark.unwrap().starts_with("[OVERLOAD]"));
}

/// A request that waits for its family longer than the family allows is
/// answered SYSTEM_BUSY `[TIMEOUT_CLEAN_QUEUE]` (RocketMQ's fast failure),
/// and does not run.
#[tokio::test]
async fn a_request_waiting_too_long_for_its_family_is_told_busy() {
    let fam = Family::with_max_wait("slow", 1, 8, Some(Duration::from_millis(100)));
    let refused = answer_while_the_family_is_busy(&fam).await;
    assert_eq!(refused.response_code(), ResponseCode::SystemBusy);
    assert!(refused.remark.unwrap().starts_with("[TIMEOUT_CLEAN_QUEUE]"));
}

#[tokio::test]
async fn connection_limit_and_idle_close() {
    let fam = Family::new("t", 4, 16);
    let config = ServerConfig {
        max_connections: 1,
        conn: ConnConfig {
            idle_timeout: Duration::from_millis(300),
            ..ConnConfig::default()
        },
    };
    let (addr, _stop) = server(echo_router(&fam, Arc::new(AtomicUsize::new(0))), config).await;
    let first = connect(addr, Arc::new(Router::new())).await.unwrap();
    let r = call(&first, RemotingCommand::request(RequestCode::HeartBeat)).await;
    assert_eq!(r.response_code(), ResponseCode::Success);

    // A second connection is over the limit: closed without a reply.
    let mut second = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0);

    // The first goes quiet and is closed as idle.
    basalt_testkit::eventually(Duration::from_secs(5), || {
        let closed = first.is_closed();
        async move { closed.then_some(()) }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn responses_use_the_request_header_format() {
    use basalt_protocol::SerializeType;
    let fam = Family::new("t", 4, 16);
    let (addr, _stop) = server(
        echo_router(&fam, Arc::new(AtomicUsize::new(0))),
        ServerConfig::default(),
    )
    .await;
    let c = connect(addr, Arc::new(Router::new())).await.unwrap();
    for format in [SerializeType::RocketMq, SerializeType::Json] {
        let mut req = RemotingCommand::request(RequestCode::HeartBeat).with_body(&b"x"[..]);
        req.serialize_type = format;
        let r = c.invoke(req, Duration::from_secs(5)).await.unwrap();
        assert_eq!(r.serialize_type, format);
        assert_eq!(r.response_code(), ResponseCode::Success);
        assert_eq!(&r.body[..], b"x");
    }
}

/// A handler that panics (inside its future or before) is answered
/// SYSTEM_ERROR, as RocketMQ answers a processor's exception, and the
/// connection goes on serving.
#[tokio::test]
async fn a_panicking_handler_is_answered_system_error_and_the_connection_goes_on() {
    let fam = Family::new("t", 4, 16);
    let router = Router::new().route(RequestCode::HeartBeat, &fam, |req| {
        let boom = &req.cmd.body[..] == b"boom";
        async move {
            if boom {
                panic!("handler bug");
            }
            RemotingCommand::success()
        }
    });
    let (addr, _stop) = server(router, ServerConfig::default()).await;
    let c = connect(addr, Arc::new(Router::new())).await.unwrap();
    let failed = c
        .invoke(
            RemotingCommand::request(RequestCode::HeartBeat).with_body(&b"boom"[..]),
            Duration::from_secs(5),
        )
        .await
        .expect("a panicked request is answered");
    assert_eq!(failed.response_code(), ResponseCode::SystemError);
    let r = c
        .invoke(
            RemotingCommand::request(RequestCode::HeartBeat),
            Duration::from_secs(5),
        )
        .await
        .expect("the connection still serves");
    assert_eq!(r.response_code(), ResponseCode::Success);
}

/// Requests read together form one burst: the router's burst hook runs
/// once for it, and before any of its responses is written.
/// A request whose family is full is called only once a permit frees (an
/// unpinned handler does its work when called), and what it left for the
/// burst hook is finished before its reply goes out.
#[tokio::test]
async fn a_request_waiting_for_a_permit_runs_after_it_and_gets_the_hook() {
    use std::sync::atomic::AtomicBool;
    let gate = Arc::new(Notify::new());
    let entered = Arc::new(AtomicUsize::new(0));
    let released = Arc::new(AtomicBool::new(false));
    let ran_after_release = Arc::new(AtomicBool::new(false));
    let hooked = Arc::new(AtomicUsize::new(0));
    let fam = Family::new("one", 1, 8);
    let (g, e) = (Arc::clone(&gate), Arc::clone(&entered));
    let (rel, after) = (Arc::clone(&released), Arc::clone(&ran_after_release));
    let h = Arc::clone(&hooked);
    let router = Router::new()
        .route(RequestCode::HeartBeat, &fam, move |_req| {
            let (g, e) = (Arc::clone(&g), Arc::clone(&e));
            async move {
                e.fetch_add(1, Ordering::SeqCst);
                g.notified().await;
                RemotingCommand::success()
            }
        })
        .route_unpin(RequestCode::SendMessageV2, &fam, move |_req| {
            after.store(rel.load(Ordering::SeqCst), Ordering::SeqCst);
            std::future::ready(basalt_remoting::Reply::Staged {
                cmd: RemotingCommand::success(),
                end: 7,
            })
        })
        .on_burst_end(
            move |end| {
                assert_eq!(end, 7);
                h.fetch_add(1, Ordering::SeqCst);
                end
            },
            never_fails,
        );
    let (addr, _stop) = server(router, ServerConfig::default()).await;
    let c = connect(addr, Arc::new(Router::new())).await.unwrap();
    let call = |code| {
        let c = Arc::clone(&c);
        tokio::spawn(async move {
            c.invoke(RemotingCommand::request(code), Duration::from_secs(10))
                .await
                .unwrap()
        })
    };
    let first = call(RequestCode::HeartBeat);
    basalt_testkit::eventually(Duration::from_secs(5), || {
        let n = entered.load(Ordering::SeqCst);
        async move { (n == 1).then_some(()) }
    })
    .await
    .unwrap();
    let second = call(RequestCode::SendMessageV2);
    basalt_testkit::eventually(Duration::from_secs(5), || {
        let n = fam.waiting();
        async move { (n == 1).then_some(()) }
    })
    .await
    .unwrap();
    released.store(true, Ordering::SeqCst);
    gate.notify_one();
    assert_eq!(first.await.unwrap().response_code(), ResponseCode::Success);
    assert_eq!(second.await.unwrap().response_code(), ResponseCode::Success);
    assert!(
        ran_after_release.load(Ordering::SeqCst),
        "the waiting request ran before its permit"
    );
    // Only the staged reply asks for the hook, once.
    assert_eq!(
        hooked.load(Ordering::SeqCst),
        1,
        "hooks after the deferred request"
    );
}

/// A handler that waits after its first poll and answers `Staged` gets
/// the hook for its own position before its reply goes out; a oneway
/// request's position counts although it has no reply.
#[tokio::test]
async fn a_staged_reply_finished_later_or_oneway_gets_the_hook() {
    let positions = Arc::new(std::sync::Mutex::new(Vec::new()));
    let fam = Family::new("t", 8, 8);
    let seen = Arc::clone(&positions);
    let router = Router::new()
        .route(RequestCode::HeartBeat, &fam, |_req| async {
            tokio::task::yield_now().await;
            basalt_remoting::Reply::Staged {
                cmd: RemotingCommand::success(),
                end: 11,
            }
        })
        .route(RequestCode::SendMessageV2, &fam, |_req| async {
            basalt_remoting::Reply::Staged {
                cmd: RemotingCommand::success(),
                end: 22,
            }
        })
        .on_burst_end(
            move |end| {
                seen.lock().unwrap().push(end);
                end
            },
            never_fails,
        );
    let (addr, _stop) = server(router, ServerConfig::default()).await;
    let c = connect(addr, Arc::new(Router::new())).await.unwrap();
    let r = call(&c, RemotingCommand::request(RequestCode::HeartBeat)).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert_eq!(*positions.lock().unwrap(), vec![11]);
    c.send_oneway(RemotingCommand::request(RequestCode::SendMessageV2).oneway())
        .await
        .unwrap();
    let p = Arc::clone(&positions);
    basalt_testkit::eventually(Duration::from_secs(5), || {
        let got = p.lock().unwrap().clone();
        async move { (got == vec![11, 22]).then_some(()) }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_burst_of_requests_runs_the_hook_once_before_its_responses() {
    const N: i32 = 50;
    let started = Arc::new(AtomicUsize::new(0));
    let committed = Arc::new(AtomicUsize::new(0));
    let hooks = Arc::new(AtomicUsize::new(0));
    let fam = Family::new("t", 64, 64);
    let s = Arc::clone(&started);
    let (c, h) = (Arc::clone(&committed), Arc::clone(&hooks));
    let router = Router::new()
        .route(RequestCode::HeartBeat, &fam, move |_req| {
            let n = s.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                basalt_remoting::Reply::Staged {
                    cmd: RemotingCommand::response(ResponseCode::Success, n.to_string()),
                    end: n as u64,
                }
            }
        })
        .on_burst_end(
            move |end| {
                h.fetch_add(1, Ordering::SeqCst);
                // The burst's furthest position (each reply below checks
                // that it covers its own request).
                c.fetch_max(end as usize, Ordering::SeqCst);
                end
            },
            never_fails,
        );
    let (addr, _stop) = server(router, ServerConfig::default()).await;
    let mut replies = send_in_one_write(addr, (0..N).map(|o| (o, RequestCode::HeartBeat))).await;
    for _ in 0..N {
        let reply = next_reply(&mut replies).await;
        let n: usize = reply.remark.as_deref().unwrap().parse().unwrap();
        // The hook that covered this request ran before its reply left.
        assert!(
            committed.load(Ordering::SeqCst) >= n,
            "reply {n} before its hook"
        );
    }
    let runs = hooks.load(Ordering::SeqCst);
    assert!(
        (1..N as usize).contains(&runs),
        "{runs} hook runs for one burst"
    );
}

type Replies = tokio_util::codec::FramedRead<TcpStream, basalt_remoting::codec::RemotingCodec>;

/// Sends `(opaque, code)` requests in one write, so the server reads them
/// together (one burst, up to its limit).
async fn send_in_one_write(
    addr: std::net::SocketAddr,
    requests: impl IntoIterator<Item = (i32, RequestCode)>,
) -> Replies {
    let mut raw = TcpStream::connect(addr).await.unwrap();
    let mut frames = bytes::BytesMut::new();
    for (opaque, code) in requests {
        let mut req = RemotingCommand::request(code);
        req.opaque = opaque;
        req.encode(&mut frames).unwrap();
    }
    tokio::io::AsyncWriteExt::write_all(&mut raw, &frames)
        .await
        .unwrap();
    tokio_util::codec::FramedRead::new(raw, basalt_remoting::codec::RemotingCodec::new(1 << 20))
}

async fn next_reply(replies: &mut Replies) -> RemotingCommand {
    use futures::StreamExt;
    tokio::time::timeout(Duration::from_secs(5), replies.next())
        .await
        .expect("a reply within the deadline")
        .expect("the connection stays open")
        .unwrap()
        .unwrap()
}

/// The failure rewrite of tests whose hook always reaches its position: a
/// reply it touched would no longer read Success.
fn never_fails(cmd: &mut RemotingCommand) {
    cmd.code = ResponseCode::SystemError.as_i32();
}

fn failed(cmd: &mut RemotingCommand) {
    cmd.code = ResponseCode::ServiceNotAvailable.as_i32();
}

/// A hook that falls short (its work failed part way) has the staged
/// replies past what it reached rewritten, in a burst and outside one;
/// replies it covered, and replies that were not staged, go out as they
/// were.
#[tokio::test]
async fn staged_replies_past_what_the_hook_reached_are_rewritten() {
    const REACHED: u64 = 3;
    let fam = Family::new("t", 64, 64);
    let router = Router::new()
        .route(RequestCode::SendMessageV2, &fam, |req| async move {
            let end = u64::try_from(req.cmd.opaque).unwrap();
            basalt_remoting::Reply::Staged {
                cmd: RemotingCommand::success(),
                end,
            }
        })
        .route(RequestCode::HeartBeat, &fam, |req| async move {
            // Finishes outside its burst.
            tokio::task::yield_now().await;
            let end = u64::try_from(req.cmd.opaque).unwrap();
            basalt_remoting::Reply::Staged {
                cmd: RemotingCommand::success(),
                end,
            }
        })
        .route(RequestCode::GetMaxOffset, &fam, |_req| async {
            RemotingCommand::success()
        })
        .on_burst_end(|end| end.min(REACHED), failed);
    let (addr, _stop) = server(router, ServerConfig::default()).await;
    // opaque = the position each staged reply waits for.
    let sent = [
        (1, RequestCode::SendMessageV2),
        (3, RequestCode::SendMessageV2),
        (4, RequestCode::SendMessageV2),
        (9, RequestCode::GetMaxOffset),
        (5, RequestCode::SendMessageV2),
        (2, RequestCode::HeartBeat),
        (7, RequestCode::HeartBeat),
    ];
    let mut replies = send_in_one_write(addr, sent).await;
    let mut got = std::collections::BTreeMap::new();
    for _ in sent {
        let reply = next_reply(&mut replies).await;
        got.insert(reply.opaque, reply.response_code());
    }
    let want = std::collections::BTreeMap::from([
        (1, ResponseCode::Success),
        (2, ResponseCode::Success),
        (3, ResponseCode::Success),
        (4, ResponseCode::ServiceNotAvailable),
        (5, ResponseCode::ServiceNotAvailable),
        (7, ResponseCode::ServiceNotAvailable),
        (9, ResponseCode::Success),
    ]);
    assert_eq!(got, want);
}
