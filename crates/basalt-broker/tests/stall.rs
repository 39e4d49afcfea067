//! A CommitLog write stuck on the disk: sends are refused SYSTEM_BUSY once
//! it has lasted osPageCacheBusyTimeOutMills, sends staged before are
//! answered only once it is over (and then succeed), and requests that do
//! not write are answered meanwhile, however many connections wait on it.
//! A write the disk fails: the sends it held are answered as failed.

use std::time::{Duration, Instant};

use basalt_protocol::headers::client::QueueRequest;
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::{call, client, send_cmd, start, start_in};

/// Well above any answer's time on a loaded machine, well below the
/// stall's own limit: an answer this late waited for the stall to end.
const PROMPT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_write_refuses_sends_and_leaves_other_requests_served() {
    let b = start(|_, s| s.os_page_cache_busy_time_out_mills = 800).await;
    let c = client(b.addr).await;
    let r = call(&c, send_cmd("StallT", 0, b"first", "")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    // Connected before the stall: their sends come in before the page
    // cache counts as busy.
    let senders = [client(b.addr).await, client(b.addr).await];
    let other = client(b.addr).await;

    // Ended below, or after 60 s should the broker never answer.
    let stall = b.store.simulate_stalled_write(Duration::from_secs(60));
    // Two connections whose sends are staged and wait for the stuck write:
    // each holds a worker thread unless the wait moves off it.
    let mut waiting = Vec::new();
    for (conn, body) in senders.into_iter().zip([&b"w1"[..], b"w2"]) {
        let cmd = send_cmd("StallT", 0, body, "");
        waiting.push(tokio::spawn(async move { call(&conn, cmd).await }));
    }
    basalt_testkit::eventually(Duration::from_secs(5), || {
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
    let r = call(&other, max).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert!(
        asked.elapsed() < PROMPT,
        "answered after {:?}",
        asked.elapsed()
    );

    // Past the busy limit a send is refused at once, for the client to
    // try another broker.
    basalt_testkit::eventually(Duration::from_secs(5), || {
        let busy = b.store.page_cache_busy();
        async move { busy.then_some(()) }
    })
    .await
    .expect("page cache busy");
    let asked = Instant::now();
    let r = call(&other, send_cmd("StallT", 0, b"refused", "")).await;
    assert_eq!(r.response_code(), ResponseCode::SystemBusy);
    assert!(r.remark.unwrap_or_default().contains("[REJECTREQUEST]"));
    assert!(
        asked.elapsed() < PROMPT,
        "refused after {:?}",
        asked.elapsed()
    );

    // The staged sends are not answered before their records are written;
    // once the write is done they succeed, and the broker takes sends again.
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "a staged send answered during the stall"
    );
    stall.release();
    for w in waiting {
        let r = w.await.unwrap();
        assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    }
    assert!(!b.store.page_cache_busy());
    let r = call(&other, send_cmd("StallT", 0, b"after", "")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(r.ext_fields.get("queueOffset").unwrap(), "3");
    b.stop().await;
}

/// A send whose records the CommitLog write failed to take is not told
/// SEND_OK (the client retries elsewhere), nor is any later send; what was
/// acknowledged before is still there after a restart, and the failed
/// message is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_answers_its_sends_as_failed() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    // No commit period of the flusher's takes the failure meant for the
    // send's own commit.
    let quiet = |_: &mut _, s: &mut basalt_store::StoreConfig| {
        s.commit_interval_commit_log = 60_000;
        s.flush_interval_commit_log = 60_000;
    };
    let b = start_in(dir.clone(), quiet).await;
    let c = client(b.addr).await;
    let r = call(&c, send_cmd("FailT", 0, b"kept", "")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);

    b.store.simulate_failed_write();
    let r = call(&c, send_cmd("FailT", 0, b"lost", "")).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::ServiceNotAvailable,
        "{:?}",
        r.remark
    );
    // Refused after its write failed, not before it was staged.
    assert!(
        r.remark
            .as_deref()
            .unwrap_or_default()
            .contains("CommitLog write failed"),
        "{:?}",
        r.remark
    );
    let r = call(&c, send_cmd("FailT", 0, b"later", "")).await;
    assert_ne!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    // A poisoned store says so at shutdown, and leaves recovery to the
    // next start.
    assert!(b.stop_with().await.is_err());

    let b = start_in(dir, |_, _| {}).await;
    let c = client(b.addr).await;
    let max = RemotingCommand::request(RequestCode::GetMaxOffset).with_header(&QueueRequest {
        topic: "FailT".into(),
        queue_id: 0,
    });
    let r = call(&c, max).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert_eq!(r.ext_fields.get("offset"), Some("1"));
    let r = call(&c, send_cmd("FailT", 0, b"again", "")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(r.ext_fields.get("queueOffset").unwrap(), "1");
    b.stop().await;
}
