//! Bad input and faults around delays, timers, transactions and filters.

use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::body::client::{
    CheckClientRequest, HeartbeatData, ProducerData, SubscriptionData,
};
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::transaction::{CheckTransactionStateRequest, EndTransactionRequest};
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use basalt_remoting::{Family, Router};

use crate::{call, client, pull_cmd, records, send_cmd, start};

#[tokio::test]
async fn delay_and_timer_properties_are_checked() {
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    let r = call(&c, send_cmd("D", 0, b"x", "DELAY\u{1}soon\u{2}")).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::MessageIllegal,
        "{:?}",
        r.remark
    );
    assert!(r.remark.unwrap().contains("delay level"));
    let r = call(
        &c,
        send_cmd("D", 0, b"x", "TIMER_DELAY_SEC\u{1}999999999\u{2}"),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::MessageIllegal);
    assert!(r.remark.unwrap().contains("timerMaxDelaySec"));
    let r = call(
        &c,
        send_cmd("D", 0, b"x", "TIMER_DELIVER_MS\u{1}tomorrow\u{2}"),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::MessageIllegal);
    // A delivery time in the past, or a negative delay, is simply due now.
    let r = call(&c, send_cmd("D", 0, b"past", "TIMER_DELAY_SEC\u{1}-5\u{2}")).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    let p = call(&c, pull_cmd("D", 0, 0, 0, 0)).await;
    assert_eq!(&records(&p.body)[0].body[..], b"past");
    b.stop().await;
}

#[tokio::test]
async fn end_transaction_for_an_unknown_offset_is_refused() {
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    let end =
        RemotingCommand::request(RequestCode::EndTransaction).with_header(&EndTransactionRequest {
            producer_group: "pg".into(),
            tran_state_table_offset: 7,
            commit_log_offset: 123_456,
            commit_or_rollback: 8,
            ..EndTransactionRequest::default()
        });
    let r = call(&c, end).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    assert!(r.remark.unwrap().contains("prepared transaction message"));
    b.stop().await;
}

#[tokio::test]
async fn sql_filters_are_refused_clearly_when_property_filtering_is_off() {
    let b = start(|c, _| c.enable_property_filter = false).await;
    let c = client(b.addr).await;
    let body = CheckClientRequest {
        client_id: "c".into(),
        group: "g".into(),
        subscription_data: SubscriptionData {
            expression_type: "SQL92".into(),
            sub_string: "a > 1".into(),
            topic: "T".into(),
            ..SubscriptionData::default()
        },
    };
    let r = call(
        &c,
        RemotingCommand::request(RequestCode::CheckClientConfig).with_body(body.encode()),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    assert!(r.remark.unwrap().contains("does not support"));
    b.stop().await;
}

/// Connects with `router` (answering the broker's calls) and registers
/// as client `id` of producer group pg.
async fn producer_of_pg(
    addr: std::net::SocketAddr,
    id: &str,
    router: Router,
) -> Arc<basalt_remoting::Connection> {
    let producer = basalt_remoting::connect(addr, Arc::new(router))
        .await
        .unwrap();
    let hb = HeartbeatData {
        client_id: id.into(),
        producer_data_set: vec![ProducerData {
            group_name: "pg".into(),
        }],
        ..HeartbeatData::default()
    };
    let r = call(
        &producer,
        RemotingCommand::request(RequestCode::HeartBeat).with_body(hb.encode()),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    producer
}

/// A producer of group pg (client `id`) that never answers check-backs
/// and counts them.
async fn silent_producer(
    addr: std::net::SocketAddr,
    id: &str,
) -> (
    Arc<basalt_remoting::Connection>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let fam = Family::new("checks", 4, 16);
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let router = Router::new().route(RequestCode::CheckTransactionState, &fam, move |_req| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { RemotingCommand::success() }
    });
    (producer_of_pg(addr, id, router).await, count)
}

/// Whether `n` check-backs have arrived, waiting up to 10 s.
async fn checks_reach(count: &Arc<std::sync::atomic::AtomicUsize>, n: usize) -> bool {
    basalt_testkit::eventually(Duration::from_secs(10), || {
        let count = Arc::clone(count);
        async move { (count.load(std::sync::atomic::Ordering::SeqCst) >= n).then_some(()) }
    })
    .await
    .is_ok()
}

/// A half message whose producer group has no live producer stays; once a
/// producer of the group heartbeats, the check-back reaches it and its
/// commit delivers the message.
#[tokio::test]
async fn check_back_waits_for_a_live_producer_and_then_commits() {
    let b = start(|c, _| {
        c.transaction_check_interval = 200;
        c.transaction_time_out = 200;
        c.transaction_check_max = 1000;
    })
    .await;
    let c = client(b.addr).await;
    let mut prepared = send_cmd("TxT", 0, b"tx", "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}pg\u{2}");
    prepared.ext_fields.insert("f", "4");
    prepared.ext_fields.insert("g", &now_ms().to_string());
    let r = call(&c, prepared).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    // Nothing is visible in the real topic while the transaction is open.
    assert_eq!(
        call(&c, pull_cmd("TxT", 0, 0, 0, 0)).await.response_code(),
        ResponseCode::PullNotFound
    );

    // A producer of group pg appears later and answers every check: commit.
    let fam = Family::new("checks", 4, 16);
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&answered);
    let addr = b.addr;
    let router = Router::new().route(RequestCode::CheckTransactionState, &fam, move |req| {
        let counter = Arc::clone(&counter);
        async move {
            let h: CheckTransactionStateRequest = req.cmd.header().unwrap();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let end = RemotingCommand::request(RequestCode::EndTransaction).with_header(
                &EndTransactionRequest {
                    producer_group: "pg".into(),
                    tran_state_table_offset: h.tran_state_table_offset,
                    commit_log_offset: h.commit_log_offset,
                    commit_or_rollback: 8,
                    from_transaction_check: Some(true),
                    ..EndTransactionRequest::default()
                },
            );
            let _ = req.conn.send_oneway(end).await;
            RemotingCommand::success()
        }
    });
    let _producer = producer_of_pg(addr, "late-producer", router).await;
    let found = basalt_testkit::eventually(Duration::from_secs(10), || {
        let c = c.clone();
        async move {
            let p = call(&c, pull_cmd("TxT", 0, 0, 0, 0)).await;
            (p.response_code() == ResponseCode::Success).then_some(p)
        }
    })
    .await
    .expect("committed through the check-back");
    let recs = records(&found.body);
    assert_eq!(&recs[0].body[..], b"tx");
    assert!(answered.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    b.stop().await;
}

/// Prepares a transactional message born now; returns (half queue
/// offset, half commit-log offset) from the send response.
async fn prepare(c: &basalt_remoting::Connection, body: &[u8]) -> (i64, i64) {
    prepare_with(c, body, "", 0).await
}

/// `prepare` with more properties and a born time `age_ms` ago.
async fn prepare_with(
    c: &basalt_remoting::Connection,
    body: &[u8],
    props: &str,
    age_ms: i64,
) -> (i64, i64) {
    let props = format!("TRAN_MSG\u{1}true\u{2}PGROUP\u{1}pg\u{2}{props}");
    let mut prepared = send_cmd("TxOps", 0, body, &props);
    prepared.ext_fields.insert("f", "4");
    prepared
        .ext_fields
        .insert("g", &(now_ms() - age_ms).to_string());
    let r = call(c, prepared).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let queue_offset = r.ext_fields.get("queueOffset").unwrap().parse().unwrap();
    let (_, phys) =
        basalt_message::decode_offset_msg_id(r.ext_fields.get("msgId").unwrap()).unwrap();
    (queue_offset, phys)
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

async fn commit(c: &basalt_remoting::Connection, (queue_offset, phys): (i64, i64)) {
    let end =
        RemotingCommand::request(RequestCode::EndTransaction).with_header(&EndTransactionRequest {
            producer_group: "pg".into(),
            tran_state_table_offset: queue_offset,
            commit_log_offset: phys,
            commit_or_rollback: 8,
            ..EndTransactionRequest::default()
        });
    assert_eq!(call(c, end).await.response_code(), ResponseCode::Success);
}

/// The checker's consumer offset on `topic` once it equals `want`.
async fn checker_offset_reaches(c: &Arc<basalt_remoting::Connection>, topic: &str, want: &str) {
    use basalt_protocol::headers::client::QueryConsumerOffsetRequest;
    let query = RemotingCommand::request(RequestCode::QueryConsumerOffset).with_header(
        &QueryConsumerOffsetRequest {
            consumer_group: "CID_RMQ_SYS_TRANS".into(),
            topic: topic.into(),
            queue_id: 0,
            set_zero_if_not_found: None,
        },
    );
    let got = basalt_testkit::eventually(Duration::from_secs(10), || {
        let (c, query) = (Arc::clone(c), query.clone());
        async move {
            let r = call(&c, query).await;
            (r.ext_fields.get("offset") == Some(want)).then_some(())
        }
    })
    .await;
    assert!(got.is_ok(), "{topic} offset never reached {want}");
}

#[tokio::test]
async fn op_queue_progress_is_kept_and_waits_for_halves_not_yet_passed() {
    const OPS: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
    const HALVES: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let tune = |c: &mut basalt_broker::BrokerConfig, _: &mut basalt_store::StoreConfig| {
        c.transaction_check_interval = 100;
        // The open half is never old enough to be checked.
        c.transaction_time_out = 3_600_000;
    };
    let b = crate::start_in(Arc::clone(&dir), tune).await;
    let c = client(b.addr).await;
    let h0 = prepare(&c, b"h0").await;
    let h1 = prepare(&c, b"h1").await;
    let h2 = prepare(&c, b"h2").await;
    assert_eq!((h0.0, h1.0, h2.0), (0, 1, 2));
    // Op 0 names half 0, op 1 names half 2; half 1 stays open, so the scan
    // stops at 1 and op 1 is still needed: the op progress is 1, not 2.
    commit(&c, h0).await;
    commit(&c, h2).await;
    checker_offset_reaches(&c, HALVES, "1").await;
    checker_offset_reaches(&c, OPS, "1").await;
    // Half 1 resolved (op 2): the scan passes every half, every op is done.
    commit(&c, h1).await;
    checker_offset_reaches(&c, HALVES, "3").await;
    checker_offset_reaches(&c, OPS, "3").await;
    b.stop().await;

    // Kept across a restart; the checker goes on from there.
    let b = crate::start_in(dir, tune).await;
    let c = client(b.addr).await;
    checker_offset_reaches(&c, OPS, "3").await;
    let h3 = prepare(&c, b"h3").await;
    commit(&c, h3).await;
    checker_offset_reaches(&c, HALVES, "4").await;
    checker_offset_reaches(&c, OPS, "4").await;
    b.stop().await;
}

/// Saved checker progress beyond `topic`'s end (a crash that lost ops, or
/// a store that lost its tail) is read from the end on restart: the op or
/// half written next is seen, the half counts as resolved and the scan
/// passes it (it is too young to be checked otherwise).
async fn progress_past_the_end_reads_from_the_end(topic: &str) {
    use basalt_protocol::headers::client::UpdateConsumerOffsetRequest;
    let dir = Arc::new(tempfile::tempdir().unwrap());
    // No check pass runs here to overwrite the saved progress.
    let b = crate::start_in(Arc::clone(&dir), |c, _| {
        c.transaction_check_interval = 3_600_000;
    })
    .await;
    let c = client(b.addr).await;
    let upd = RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(
        &UpdateConsumerOffsetRequest {
            consumer_group: "CID_RMQ_SYS_TRANS".into(),
            topic: topic.into(),
            queue_id: 0,
            commit_offset: 100,
        },
    );
    assert_eq!(call(&c, upd).await.response_code(), ResponseCode::Success);
    b.stop().await;
    let b = crate::start_in(dir, |c, _| {
        c.transaction_check_interval = 100;
        c.transaction_time_out = 3_600_000;
    })
    .await;
    let c = client(b.addr).await;
    let h0 = prepare(&c, b"h0").await;
    commit(&c, h0).await;
    checker_offset_reaches(&c, "RMQ_SYS_TRANS_HALF_TOPIC", "1").await;
    b.stop().await;
}

#[tokio::test]
async fn half_queue_progress_past_the_queue_end_reads_from_the_end() {
    progress_past_the_end_reads_from_the_end("RMQ_SYS_TRANS_HALF_TOPIC").await;
}

#[tokio::test]
async fn op_queue_progress_past_the_queue_end_reads_from_the_end() {
    progress_past_the_end_reads_from_the_end("RMQ_SYS_TRANS_OP_HALF_TOPIC").await;
}

#[tokio::test]
async fn check_backs_go_round_the_groups_producers() {
    let b = start(|c, _| {
        c.transaction_check_interval = 100;
        c.transaction_time_out = 100;
        c.transaction_check_max = 1000;
    })
    .await;
    let c = client(b.addr).await;
    // Two instances of group pg; neither answers, so the half is checked
    // again and again.
    let mut counters = Vec::new();
    let mut producers = Vec::new();
    for id in ["producer-a", "producer-b"] {
        let (producer, count) = silent_producer(b.addr, id).await;
        producers.push(producer);
        counters.push(count);
    }
    prepare(&c, b"open").await;
    let both = basalt_testkit::eventually(Duration::from_secs(15), || {
        let counters = counters.clone();
        async move {
            counters
                .iter()
                .all(|n| n.load(std::sync::atomic::Ordering::SeqCst) > 0)
                .then_some(())
        }
    })
    .await;
    let seen: Vec<_> = counters
        .iter()
        .map(|n| n.load(std::sync::atomic::Ordering::SeqCst))
        .collect();
    assert!(both.is_ok(), "checks per producer: {seen:?}");
    b.stop().await;
}

/// A producer of group pg that answers every check-back with a commit and
/// keeps the bodies it was asked about.
async fn committing_producer(
    addr: std::net::SocketAddr,
) -> (
    Arc<basalt_remoting::Connection>,
    Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
) {
    let fam = Family::new("checks", 4, 16);
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&asked);
    let router = Router::new().route(RequestCode::CheckTransactionState, &fam, move |req| {
        let seen = Arc::clone(&seen);
        async move {
            let h: CheckTransactionStateRequest = req.cmd.header().unwrap();
            for rec in records(&req.cmd.body) {
                seen.lock().unwrap().push(rec.body.to_vec());
            }
            let end = RemotingCommand::request(RequestCode::EndTransaction).with_header(
                &EndTransactionRequest {
                    producer_group: "pg".into(),
                    tran_state_table_offset: h.tran_state_table_offset,
                    commit_log_offset: h.commit_log_offset,
                    commit_or_rollback: 8,
                    from_transaction_check: Some(true),
                    ..EndTransactionRequest::default()
                },
            );
            let _ = req.conn.send_oneway(end).await;
            RemotingCommand::success()
        }
    });
    (producer_of_pg(addr, "committer", router).await, asked)
}

/// The bodies in `topic`'s queue 0 from `offset` once there are `n`.
async fn bodies_in(
    c: &Arc<basalt_remoting::Connection>,
    topic: &str,
    offset: i64,
    n: usize,
) -> Vec<basalt_message::Record> {
    let got = basalt_testkit::eventually(Duration::from_secs(10), || {
        let c = Arc::clone(c);
        let topic = topic.to_owned();
        async move {
            let p = call(&c, pull_cmd(&topic, 0, offset, 0, 0)).await;
            let recs = records(&p.body);
            (recs.len() >= n).then_some(recs)
        }
    })
    .await;
    got.unwrap_or_else(|_| panic!("{topic} never held {n} records from {offset}"))
}

/// RocketMQ puts a half whose CHECK_IMMUNITY_TIME_IN_SECONDS has not
/// passed back at the half queue's end, marked with its first offset, and
/// goes on: the halves after it are checked in the same pass.
#[tokio::test]
async fn an_immune_half_is_put_back_and_does_not_hold_up_the_halves_after_it() {
    let b = start(|c, _| {
        c.transaction_check_interval = 100;
        c.transaction_time_out = 100;
        c.transaction_check_max = 1000;
    })
    .await;
    let c = client(b.addr).await;
    let (_producer, asked) = committing_producer(b.addr).await;
    // A pass may run between the two (and put the immune half back first).
    let immune = prepare_with(
        &c,
        b"immune",
        "CHECK_IMMUNITY_TIME_IN_SECONDS\u{1}3600\u{2}",
        0,
    )
    .await;
    assert_eq!(immune.0, 0);
    prepare(&c, b"plain").await;

    let committed = bodies_in(&c, "TxOps", 0, 1).await;
    assert_eq!(&committed[0].body[..], b"plain");
    assert!(
        asked.lock().unwrap().iter().all(|b| b == b"plain"),
        "the immune half was checked"
    );
    // Put back at every pass; each copy carries the first offset.
    let copies = basalt_testkit::eventually(Duration::from_secs(10), || {
        let c = Arc::clone(&c);
        async move {
            let p = call(&c, pull_cmd("RMQ_SYS_TRANS_HALF_TOPIC", 0, 1, 0, 0)).await;
            let copies: Vec<_> = records(&p.body)
                .into_iter()
                .filter(|r| &r.body[..] == b"immune")
                .collect();
            (copies.len() >= 2).then_some(copies)
        }
    })
    .await
    .expect("the immune half is put back at each pass");
    for copy in copies {
        assert_eq!(
            copy.properties().get("TRAN_PREPARED_QUEUE_OFFSET"),
            Some("0")
        );
    }
    b.stop().await;
}

/// Ages count from the producer's born time (RocketMQ's rule): a half born
/// long ago is checked at once, and the copy a check leaves is due again
/// at the next pass, not a whole `transactionTimeOut` after it was stored.
#[tokio::test]
async fn half_ages_count_from_the_born_time() {
    let b = start(|c, _| {
        c.transaction_check_interval = 100;
        c.transaction_time_out = 3_600_000;
        c.transaction_check_max = 1000;
    })
    .await;
    let c = client(b.addr).await;
    let (_producer, count) = silent_producer(b.addr, "silent").await;
    prepare_with(&c, b"old", "", 2 * 3_600_000).await;
    assert!(checks_reach(&count, 2).await, "checks: {count:?}");
    b.stop().await;
}

/// A half older than the CommitLog keeps its files (`fileReservedTime`)
/// goes to TRANS_CHECK_MAX_TIME_TOPIC unchecked, as RocketMQ's `needSkip`.
#[tokio::test]
async fn a_half_older_than_the_file_reserved_time_is_parked_unchecked() {
    let b = start(|c, s| {
        c.transaction_check_interval = 100;
        c.transaction_time_out = 100;
        s.file_reserved_time = 1;
    })
    .await;
    let c = client(b.addr).await;
    let (_producer, asked) = committing_producer(b.addr).await;
    prepare_with(&c, b"stale", "", 2 * 3_600_000).await;
    let parked = bodies_in(&c, "TRANS_CHECK_MAX_TIME_TOPIC", 0, 1).await;
    assert_eq!(&parked[0].body[..], b"stale");
    assert!(asked.lock().unwrap().is_empty());
    b.stop().await;
}

/// transactionTimeOut changed on a running broker (updateBrokerConfig)
/// applies at the checker's next pass.
#[tokio::test]
async fn the_check_timeout_follows_an_update() {
    let b = start(|c, _| {
        c.transaction_check_interval = 100;
        c.transaction_time_out = 3_600_000;
    })
    .await;
    let c = client(b.addr).await;
    let (_producer, _asked) = committing_producer(b.addr).await;
    prepare(&c, b"late").await;
    let update = RemotingCommand::request(RequestCode::UpdateBrokerConfig)
        .with_body(b"transactionTimeOut=0\n".to_vec());
    assert_eq!(
        call(&c, update).await.response_code(),
        ResponseCode::Success
    );
    let committed = bodies_in(&c, "TxOps", 0, 1).await;
    assert_eq!(&committed[0].body[..], b"late");
    b.stop().await;
}

/// RESUME_CHECK_HALF_MESSAGE (mqadmin resumeCheckHalfMessage): a half
/// parked after too many checks goes back to the half queue with its
/// check count at 0 and is asked about again.
#[tokio::test]
async fn a_parked_half_resumed_is_checked_again() {
    let b = start(|c, _| {
        c.transaction_check_interval = 100;
        c.transaction_time_out = 100;
        c.transaction_check_max = 1;
    })
    .await;
    let c = client(b.addr).await;
    let (_producer, count) = silent_producer(b.addr, "silent").await;
    prepare(&c, b"parked").await;
    let parked = bodies_in(&c, "TRANS_CHECK_MAX_TIME_TOPIC", 0, 1).await;
    let checks_before = count.load(std::sync::atomic::Ordering::SeqCst);
    let id = basalt_message::encode_offset_msg_id(parked[0].store_host, parked[0].physical_offset);
    let resume = |msg_id: &str| {
        RemotingCommand::request(RequestCode::ResumeCheckHalfMessage).with_header(
            &basalt_protocol::headers::transaction::ResumeCheckHalfMessageRequest {
                topic: Some("TRANS_CHECK_MAX_TIME_TOPIC".into()),
                msg_id: msg_id.into(),
            },
        )
    };
    let r = call(&c, resume(&id)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert!(
        checks_reach(&count, checks_before + 1).await,
        "the resumed half was never checked"
    );
    let unknown = basalt_message::encode_offset_msg_id(parked[0].store_host, 1 << 40);
    assert_eq!(
        call(&c, resume(&unknown)).await.response_code(),
        ResponseCode::SystemError
    );
    b.stop().await;
}
