//! A CommitLog write stuck on the disk: sends are refused SYSTEM_BUSY once
//! it has lasted osPageCacheBusyTimeOutMills, sends staged before still
//! succeed once it is over, and requests that do not write are answered
//! meanwhile, however many connections wait on the write.

use std::time::{Duration, Instant};

use basalt_protocol::headers::client::QueueRequest;
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::{call, client, send_cmd, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_write_refuses_sends_and_leaves_other_requests_served() {
    let b = start(|_, s| s.os_page_cache_busy_time_out_mills = 800).await;
    let c = client(b.addr).await;
    let r = call(&c, send_cmd("StallT", 0, b"first", "")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    // Connected before the stall: their sends must come in before the
    // page cache counts as busy.
    let senders = [client(b.addr).await, client(b.addr).await];
    let other = client(b.addr).await;

    let stall_for = Duration::from_secs(4);
    let stalled_at = Instant::now();
    let stall = b.store.simulate_stalled_write(stall_for);
    // Two connections whose sends are staged and wait for the stuck write:
    // each holds a worker thread unless the wait moves off it.
    let mut waiting = Vec::new();
    for (conn, body) in senders.into_iter().zip([&b"w1"[..], b"w2"]) {
        let cmd = send_cmd("StallT", 0, body, "");
        waiting.push(tokio::spawn(async move { call(&conn, cmd).await }));
    }
    basalt_testkit::eventually(Duration::from_secs(2), || {
        let staged = b.store.max_offset("StallT", 0);
        async move { (staged == 3).then_some(()) }
    })
    .await
    .expect("both sends staged");

    // A request that does not write is answered during the stall.
    let max = RemotingCommand::request(RequestCode::GetMaxOffset).with_header(&QueueRequest {
        topic: "StallT".into(),
        queue_id: 0,
    });
    let asked = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(1), call(&other, max))
        .await
        .expect("answered while the write is stuck");
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert!(asked.elapsed() < stall_for);

    // Past the busy limit a send is refused at once, for the client to
    // try another broker.
    basalt_testkit::eventually(Duration::from_secs(2), || {
        let busy = b.store.page_cache_busy();
        async move { busy.then_some(()) }
    })
    .await
    .expect("page cache busy");
    let r = tokio::time::timeout(
        Duration::from_secs(1),
        call(&other, send_cmd("StallT", 0, b"refused", "")),
    )
    .await
    .expect("refused at once");
    assert_eq!(r.response_code(), ResponseCode::SystemBusy);
    assert!(r.remark.unwrap_or_default().contains("[REJECTREQUEST]"));
    assert!(
        stalled_at.elapsed() < stall_for,
        "the stall ended before the checks"
    );

    // The staged sends succeed once the write is done, and the broker
    // takes sends again.
    for w in waiting {
        let r = w.await.unwrap();
        assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    }
    assert!(stalled_at.elapsed() >= stall_for);
    stall.join().unwrap();
    let r = call(&other, send_cmd("StallT", 0, b"after", "")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(r.ext_fields.get("queueOffset").unwrap(), "3");
    b.stop().await;
}
