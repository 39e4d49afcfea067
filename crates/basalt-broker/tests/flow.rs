//! The normal paths: send, pull, long poll, offsets, heartbeats, restart.

use std::time::Duration;

use basalt_protocol::body::client::{
    ConsumerData, ConsumerListBody, HeartbeatData, SubscriptionData,
};
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::client::{
    ConsumerGroupRequest, QueryConsumerOffsetRequest, UpdateConsumerOffsetRequest,
};
use basalt_protocol::headers::pull::{sys_flag, PullMessageRequest};
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::{call, client, pull_cmd, records, send_cmd, start, start_in};

#[tokio::test]
async fn send_then_pull_returns_the_record_byte_for_byte() {
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    let r = call(
        &c,
        send_cmd("FlowT", 1, b"hello", "TAGS\u{1}A\u{2}KEYS\u{1}k1\u{2}"),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(r.ext_fields.get("queueId").unwrap(), "1");
    assert_eq!(r.ext_fields.get("queueOffset").unwrap(), "0");
    assert_eq!(r.ext_fields.get("msgId").unwrap().len(), 32);
    assert_eq!(r.ext_fields.get("MSG_REGION").unwrap(), "DefaultRegion");
    // Empty bodies are stored too, as in RocketMQ.
    let r = call(&c, send_cmd("FlowT", 1, b"", "")).await;
    assert_eq!(r.response_code(), ResponseCode::Success);

    let p = call(&c, pull_cmd("FlowT", 1, 0, 0, 0)).await;
    assert_eq!(p.response_code(), ResponseCode::Success, "{:?}", p.remark);
    assert_eq!(p.ext_fields.get("nextBeginOffset").unwrap(), "2");
    let recs = records(&p.body);
    assert_eq!(recs.len(), 2);
    assert_eq!(&recs[0].body[..], b"hello");
    assert_eq!(recs[0].topic, "FlowT");
    let props = recs[0].properties();
    assert_eq!(props.get("KEYS"), Some("k1"));
    assert!(props.get("UNIQ_KEY").is_some(), "broker adds a UNIQ_KEY");
    assert!(recs[1].body.is_empty());
    b.stop().await;
}

#[tokio::test]
async fn suspended_pull_wakes_on_arrival_and_survives_a_vanished_client() {
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    assert_eq!(
        call(&c, send_cmd("LP", 0, b"m0", "")).await.response_code(),
        ResponseCode::Success
    );

    // A pull at the end parks; a message for the queue answers it with
    // FOUND, well before its 15 s suspend timeout would answer NOT_FOUND.
    let parked = {
        let c = c.clone();
        tokio::spawn(async move { call(&c, pull_cmd("LP", 0, 1, sys_flag::SUSPEND, 15_000)).await })
    };
    // A client that disconnects while its pull is parked.
    let gone = client(b.addr).await;
    let gone_pull = {
        let g = gone.clone();
        tokio::spawn(async move {
            g.invoke(
                pull_cmd("LP", 0, 1, sys_flag::SUSPEND, 15_000),
                Duration::from_secs(30),
            )
            .await
        })
    };
    gone.close();
    let _ = gone_pull.await;

    let sender = client(b.addr).await;
    // The send may race the parking; either way the pull must see m1.
    assert_eq!(
        call(&sender, send_cmd("LP", 0, b"m1", ""))
            .await
            .response_code(),
        ResponseCode::Success
    );
    let r = tokio::time::timeout(Duration::from_secs(10), parked)
        .await
        .expect("parked pull woke")
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(&records(&r.body)[0].body[..], b"m1");
    b.stop().await;
}

/// With the transient store pool a send is answered once staged, and its
/// record becomes readable at the next commit. A pull parked at it waits
/// for that commit and gets the message; it used to be answered NOT_FOUND
/// at once (the queue's max offset already counted the entry), which sent
/// the client straight back, round after round.
#[tokio::test]
async fn a_pull_at_a_sent_but_uncommitted_message_waits_for_it() {
    let b = start(|_, store| {
        store.transient_store_pool_enable = true;
        store.commit_interval_commit_log = 1_000;
    })
    .await;
    let c = client(b.addr).await;
    assert_eq!(
        call(&c, send_cmd("Staged", 0, b"m0", ""))
            .await
            .response_code(),
        ResponseCode::Success
    );
    let r = call(&c, pull_cmd("Staged", 0, 0, sys_flag::SUSPEND, 15_000)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(&records(&r.body)[0].body[..], b"m0");
    b.stop().await;
}

fn heartbeat(client_id: &str, group: &str, topic: &str) -> RemotingCommand {
    heartbeat_with(
        client_id,
        group,
        SubscriptionData {
            topic: topic.into(),
            sub_version: 1,
            ..SubscriptionData::default()
        },
    )
}

fn heartbeat_with(client_id: &str, group: &str, sub: SubscriptionData) -> RemotingCommand {
    let hb = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            group_name: group.into(),
            message_model: "CLUSTERING".into(),
            subscription_data_set: vec![sub],
            unit_mode: false,
        }],
        ..HeartbeatData::default()
    };
    RemotingCommand::request(RequestCode::HeartBeat).with_body(hb.encode())
}

/// A pull as the Java push consumer sends it: no subscription of its own,
/// the version of the one it heartbeats.
fn versioned_pull(topic: &str, sub_version: i64, expression_type: &str) -> RemotingCommand {
    let mut h: PullMessageRequest = pull_cmd(topic, 0, 0, 0, 0).header().unwrap();
    h.sys_flag &= !sys_flag::SUBSCRIPTION;
    h.subscription = None;
    h.sub_version = sub_version;
    h.expression_type = Some(expression_type.into());
    RemotingCommand::request(RequestCode::PullMessage).with_header(&h)
}

#[tokio::test]
async fn a_pull_newer_than_the_heartbeat_is_served_only_under_a_subscription_to_everything() {
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    let r = call(&c, send_cmd("SubV", 0, b"m0", "TAGS\u{1}A\u{2}")).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    let sub = |expr: &str, version| SubscriptionData {
        topic: "SubV".into(),
        sub_string: expr.into(),
        tags_set: std::iter::once(expr.to_owned())
            .filter(|e| e != "*")
            .collect(),
        sub_version: version,
        ..SubscriptionData::default()
    };
    // The Java client raised its version at a rebalance and the heartbeat
    // carrying it was lost: everything stored still covers what it wants.
    let r = call(&c, heartbeat_with("cid-v", "cg", sub("*", 1))).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    let p = call(&c, versioned_pull("SubV", 5, "TAG")).await;
    assert_eq!(p.response_code(), ResponseCode::Success, "{:?}", p.remark);
    assert_eq!(&records(&p.body)[0].body[..], b"m0");
    // Not for SQL92: the client does not filter that itself.
    let p = call(&c, versioned_pull("SubV", 5, "SQL92")).await;
    assert_eq!(p.response_code(), ResponseCode::SubscriptionNotLatest);
    // Nor under a narrower stored expression (the newer one may be wider).
    let r = call(&c, heartbeat_with("cid-v", "cg", sub("A", 6))).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    let p = call(&c, versioned_pull("SubV", 9, "TAG")).await;
    assert_eq!(p.response_code(), ResponseCode::SubscriptionNotLatest);
    // The heartbeat with the version the pull carries mends it.
    let r = call(&c, heartbeat_with("cid-v", "cg", sub("A", 9))).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    let p = call(&c, versioned_pull("SubV", 9, "TAG")).await;
    assert_eq!(p.response_code(), ResponseCode::Success, "{:?}", p.remark);
    b.stop().await;
}

#[tokio::test]
async fn heartbeat_offsets_and_restart_keep_state() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let b = start_in(dir.clone(), |_, _| {}).await;
    let c = client(b.addr).await;
    for i in 0..3 {
        let body = format!("r{i}");
        assert_eq!(
            call(&c, send_cmd("RT", 0, body.as_bytes(), ""))
                .await
                .response_code(),
            ResponseCode::Success
        );
    }
    let r = call(&c, heartbeat("cid-1", "g1", "RT")).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert_eq!(
        r.ext_fields.get("IS_SUPPORT_HEART_BEAT_V2").unwrap(),
        "true"
    );
    let r = call(
        &c,
        RemotingCommand::request(RequestCode::GetConsumerListByGroup).with_header(
            &ConsumerGroupRequest {
                consumer_group: "g1".into(),
            },
        ),
    )
    .await;
    assert_eq!(
        ConsumerListBody::decode(&r.body).unwrap().consumer_id_list,
        vec!["cid-1".to_owned()]
    );

    let query = || {
        RemotingCommand::request(RequestCode::QueryConsumerOffset).with_header(
            &QueryConsumerOffsetRequest {
                consumer_group: "g1".into(),
                topic: "RT".into(),
                queue_id: 0,
                set_zero_if_not_found: None,
            },
        )
    };
    // A new group on a queue that still holds its first message starts at 0.
    let r = call(&c, query()).await;
    assert_eq!(
        (r.response_code(), r.ext_fields.get("offset").unwrap()),
        (ResponseCode::Success, "0")
    );
    let upd = RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(
        &UpdateConsumerOffsetRequest {
            consumer_group: "g1".into(),
            topic: "RT".into(),
            queue_id: 0,
            commit_offset: 2,
        },
    );
    c.send_oneway(upd).await.unwrap();
    basalt_testkit::eventually(Duration::from_secs(5), || {
        let c = c.clone();
        async move { (call(&c, query()).await.ext_fields.get("offset") == Some("2")).then_some(()) }
    })
    .await
    .unwrap();
    // Offsets of unknown groups or topics are refused, as RocketMQ does.
    let commit = |group: &str, topic: &str| {
        RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(
            &UpdateConsumerOffsetRequest {
                consumer_group: group.into(),
                topic: topic.into(),
                queue_id: 0,
                commit_offset: 2,
            },
        )
    };
    assert_eq!(
        call(&c, commit("nobody", "RT")).await.response_code(),
        ResponseCode::SubscriptionGroupNotExist
    );
    assert_eq!(
        call(&c, commit("g1", "NoSuchTopic")).await.response_code(),
        ResponseCode::TopicNotExist
    );
    assert_eq!(
        call(&c, commit("g1", "RT")).await.response_code(),
        ResponseCode::Success
    );
    b.stop().await;

    // After a clean restart: messages and the committed offset are there.
    let b = start_in(dir, |_, _| {}).await;
    let c = client(b.addr).await;
    let r = call(&c, query()).await;
    assert_eq!(r.ext_fields.get("offset").unwrap(), "2");
    let p = call(&c, pull_cmd("RT", 0, 0, 0, 0)).await;
    let bodies: Vec<_> = records(&p.body).iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies, vec!["r0", "r1", "r2"]);
    b.stop().await;
}

#[tokio::test]
async fn delete_topic_drops_its_queue_files_and_sends_start_again_at_zero() {
    use basalt_protocol::headers::admin::TopicRequest;
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    for _ in 0..3 {
        let r = call(&c, send_cmd("DelT", 0, b"old", "")).await;
        assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    }
    let queue_dir = b.dir.path().join("store/consumequeue/DelT");
    assert!(queue_dir.exists());
    let delete =
        RemotingCommand::request(RequestCode::DeleteTopicInBroker).with_header(&TopicRequest {
            topic: "DelT".into(),
        });
    let r = call(&c, delete).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert!(!queue_dir.exists());
    let r = call(&c, send_cmd("DelT", 0, b"new", "")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(r.ext_fields.get("queueOffset").unwrap(), "0");
    let p = call(&c, pull_cmd("DelT", 0, 0, 0, 0)).await;
    let recs = records(&p.body);
    assert_eq!(recs.len(), 1);
    assert_eq!(&recs[0].body[..], b"new");
    b.stop().await;
}

/// Like Java, a send that creates its topic (and UPDATE_AND_CREATE_TOPIC)
/// answers once the name servers have the new route: a client may
/// subscribe right after (the Go client's consumer start fails otherwise).
#[tokio::test]
async fn topic_creation_answers_after_the_name_server_has_the_route() {
    use std::sync::{Arc, Mutex};

    use basalt_remoting::{Family, Router, ServerConfig};

    // A stand-in name server that takes its time, then keeps the
    // REGISTER_BROKER body it answers: a creation answered before the
    // registration finished cannot find its topic there.
    let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&bodies);
    let family = Family::new("ns", 4, 64);
    let router = Router::new().route(RequestCode::RegisterBroker, &family, move |req| {
        let seen = Arc::clone(&seen);
        let body = String::from_utf8_lossy(&req.cmd.body).into_owned();
        async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            seen.lock().unwrap().push(body);
            RemotingCommand::success()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ns = listener.local_addr().unwrap();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(basalt_remoting::serve(
        listener,
        Arc::new(router),
        ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let b = start(|c, _| c.namesrv_addr = vec![ns.to_string()]).await;
    let conn = client(b.addr).await;
    let registered = |topic: &str| {
        let needle = format!("\"{topic}\"");
        bodies.lock().unwrap().iter().any(|b| b.contains(&needle))
    };

    let r = call(&conn, send_cmd("CreatedBySend", 0, b"x", "")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert!(registered("CreatedBySend"));

    let create = RemotingCommand::request(RequestCode::UpdateAndCreateTopic).with_header(
        &basalt_protocol::headers::admin::CreateTopicRequest {
            topic: "CreatedByAdmin".into(),
            read_queue_nums: 2,
            write_queue_nums: 2,
            perm: 6,
            ..Default::default()
        },
    );
    let r = call(&conn, create).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert!(registered("CreatedByAdmin"));
    b.stop().await;
}

/// A client re-sending a message to its group's retry topic at the
/// maximum reconsume count (not above it: Java's orderly consumers before
/// 5.1.1) keeps it in the retry topic, unless the group holds a live queue
/// lock: then it is an orderly consumer, which would consume it again and
/// again, and the message goes to the DLQ (RocketMQ's handleRetryAndDLQ).
#[tokio::test]
async fn an_orderly_groups_exhausted_resend_goes_to_its_dlq() {
    use basalt_protocol::body::client::{LockBatchRequest, MessageQueue};
    use basalt_protocol::headers::send::SendMessageRequestV2;
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    let resend = |body: &'static [u8]| {
        RemotingCommand::request(RequestCode::SendMessageV2)
            .with_header(&SendMessageRequestV2 {
                a: "og".into(),
                b: "%RETRY%og".into(),
                c: "TBW102".into(),
                d: 4,
                e: 0,
                g: 1_700_000_000_000,
                i: Some(String::new()),
                j: Some(16),
                l: Some(16),
                ..SendMessageRequestV2::default()
            })
            .with_body(body)
    };
    let first = |topic: &str| {
        let topic = topic.to_owned();
        let c = c.clone();
        async move { call(&c, pull_cmd(&topic, 0, 0, 0, 0)).await }
    };

    let r = call(&c, resend(b"plain")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let r = first("%RETRY%og").await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(&records(&r.body)[0].body[..], b"plain");

    let lock = RemotingCommand::request(RequestCode::LockBatchMq).with_body(
        LockBatchRequest {
            client_id: "c1".into(),
            consumer_group: "og".into(),
            mq_set: [MessageQueue {
                broker_name: "broker-a".into(),
                queue_id: 0,
                topic: "Orders".into(),
            }]
            .into(),
            only_this_broker: true,
        }
        .encode(),
    );
    assert_eq!(call(&c, lock).await.response_code(), ResponseCode::Success);
    let r = call(&c, resend(b"orderly")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let r = first("%DLQ%og").await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(&records(&r.body)[0].body[..], b"orderly");
    b.stop().await;
}

/// A group configured without retry queues does not retry: a message it
/// sends back is answered SUCCESS and dropped, as RocketMQ does; a group
/// with them gets it scheduled (delay level 3 + reconsume times).
#[tokio::test]
async fn a_group_without_retry_queues_drops_what_it_sends_back() {
    use basalt_protocol::headers::client::QueueRequest;
    use basalt_protocol::headers::send::ConsumerSendMsgBackRequest;
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    for body in [
        &br#"{"groupName":"noretry","retryQueueNums":0,"consumeEnable":true}"#[..],
        &br#"{"groupName":"retry","retryQueueNums":1,"consumeEnable":true}"#[..],
    ] {
        let create =
            RemotingCommand::request(RequestCode::UpdateAndCreateSubscriptionGroup).with_body(body);
        assert_eq!(
            call(&c, create).await.response_code(),
            ResponseCode::Success
        );
    }
    assert_eq!(
        call(&c, send_cmd("SB", 0, b"m", "")).await.response_code(),
        ResponseCode::Success
    );
    let r = call(&c, pull_cmd("SB", 0, 0, 0, 0)).await;
    let phys = records(&r.body)[0].physical_offset;
    let scheduled = || {
        let c = c.clone();
        async move {
            let q =
                RemotingCommand::request(RequestCode::GetMaxOffset).with_header(&QueueRequest {
                    topic: "SCHEDULE_TOPIC_XXXX".into(),
                    queue_id: 2,
                });
            call(&c, q)
                .await
                .ext_fields
                .get("offset")
                .map(str::to_owned)
        }
    };
    let back = |group: &str| {
        RemotingCommand::request(RequestCode::ConsumerSendMsgBack).with_header(
            &ConsumerSendMsgBackRequest {
                offset: phys,
                group: group.into(),
                ..ConsumerSendMsgBackRequest::default()
            },
        )
    };
    let r = call(&c, back("noretry")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(scheduled().await.as_deref(), Some("0"));
    let r = call(&c, back("retry")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(scheduled().await.as_deref(), Some("1"));
    b.stop().await;
}

/// A name server that takes connections but never answers does not keep
/// the broker from the others: registrations go to all at once (they went
/// one after another, and the silent one held the next for its 24 s
/// timeout, past the 120 s expiry once connects hung too).
#[tokio::test]
async fn a_silent_name_server_does_not_delay_registration_with_the_others() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use basalt_remoting::{Family, Router, ServerConfig};

    // Completes handshakes (the kernel does) and never reads.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&seen);
    let family = Family::new("ns", 4, 64);
    let router = Router::new().route(RequestCode::RegisterBroker, &family, move |_req| {
        count.fetch_add(1, Ordering::AcqRel);
        async { RemotingCommand::success() }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let good = listener.local_addr().unwrap();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(basalt_remoting::serve(
        listener,
        Arc::new(router),
        ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let silent_addr = silent.local_addr().unwrap().to_string();
    // Started and registered well within the silent one's 24 s.
    let b = tokio::time::timeout(Duration::from_secs(10), async {
        let b = start(move |c, _| c.namesrv_addr = vec![silent_addr, good.to_string()]).await;
        basalt_testkit::eventually(Duration::from_secs(10), || {
            let seen = Arc::clone(&seen);
            async move { (seen.load(Ordering::Acquire) > 0).then_some(()) }
        })
        .await
        .expect("registered with the answering name server");
        b
    })
    .await
    .expect("start and registration within 10 s");
    drop(silent);
    tokio::time::timeout(Duration::from_secs(10), b.stop())
        .await
        .expect("stopped within 10 s");
}

/// consumerProgress counts the queues consumers read (a topic being shrunk
/// with `-w 2 -r 4` still shows queues 2-3), and `deleteSubGroup -r true`
/// drops the group's offsets, as RocketMQ does.
#[tokio::test]
async fn consume_stats_cover_read_queues_and_a_group_deletion_can_drop_offsets() {
    use basalt_protocol::headers::admin::{
        ConsumeStatsRequest, CreateTopicRequest, DeleteGroupRequest,
    };
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    let create = RemotingCommand::request(RequestCode::UpdateAndCreateTopic).with_header(
        &CreateTopicRequest {
            topic: "Shrink".into(),
            read_queue_nums: 4,
            write_queue_nums: 2,
            perm: 6,
            ..Default::default()
        },
    );
    assert_eq!(
        call(&c, create).await.response_code(),
        ResponseCode::Success
    );
    let group = RemotingCommand::request(RequestCode::UpdateAndCreateSubscriptionGroup)
        .with_body(&br#"{"groupName":"gs","consumeEnable":true,"retryQueueNums":1}"#[..]);
    assert_eq!(call(&c, group).await.response_code(), ResponseCode::Success);
    let commit = RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(
        &UpdateConsumerOffsetRequest {
            consumer_group: "gs".into(),
            topic: "Shrink".into(),
            queue_id: 3,
            commit_offset: 5,
        },
    );
    assert_eq!(
        call(&c, commit).await.response_code(),
        ResponseCode::Success
    );
    let stats =
        RemotingCommand::request(RequestCode::GetConsumeStats).with_header(&ConsumeStatsRequest {
            consumer_group: "gs".into(),
            topic: Some("Shrink".into()),
        });
    let r = call(&c, stats).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let body = String::from_utf8_lossy(&r.body);
    assert_eq!(body.matches("\"queueId\":").count(), 4, "{body}");
    assert!(body.contains("\"consumerOffset\":5"), "{body}");

    let query = || {
        RemotingCommand::request(RequestCode::QueryConsumerOffset).with_header(
            &QueryConsumerOffsetRequest {
                consumer_group: "gs".into(),
                topic: "Shrink".into(),
                queue_id: 3,
                set_zero_if_not_found: Some(false),
            },
        )
    };
    assert_eq!(call(&c, query()).await.ext_fields.get("offset"), Some("5"));
    let delete = RemotingCommand::request(RequestCode::DeleteSubscriptionGroup).with_header(
        &DeleteGroupRequest {
            group_name: "gs".into(),
            clean_offset: Some(true),
        },
    );
    assert_eq!(
        call(&c, delete).await.response_code(),
        ResponseCode::Success
    );
    assert_eq!(
        call(&c, query()).await.response_code(),
        ResponseCode::QueryNotFound
    );
    b.stop().await;
}

/// `mqadmin resetOffsetByTime` as RocketMQ 5.x does it by default: the
/// broker sets the group's offsets, ignores commits from before the reset,
/// and moves each queue's next pull there (PULL_OFFSET_MOVED).
#[tokio::test]
async fn an_admin_reset_moves_the_next_pull_and_outlasts_stale_commits() {
    use basalt_protocol::headers::admin::ResetOffsetRequest;
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    let group = RemotingCommand::request(RequestCode::UpdateAndCreateSubscriptionGroup)
        .with_body(&br#"{"groupName":"cg","consumeEnable":true,"retryQueueNums":1}"#[..]);
    assert_eq!(call(&c, group).await.response_code(), ResponseCode::Success);
    for body in [&b"r0"[..], b"r1", b"r2"] {
        assert_eq!(
            call(&c, send_cmd("RS", 0, body, "")).await.response_code(),
            ResponseCode::Success
        );
    }
    let commit = |offset: i64| {
        RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(
            &UpdateConsumerOffsetRequest {
                consumer_group: "cg".into(),
                topic: "RS".into(),
                queue_id: 0,
                commit_offset: offset,
            },
        )
    };
    let query = || {
        RemotingCommand::request(RequestCode::QueryConsumerOffset).with_header(
            &QueryConsumerOffsetRequest {
                consumer_group: "cg".into(),
                topic: "RS".into(),
                queue_id: 0,
                set_zero_if_not_found: Some(false),
            },
        )
    };
    assert_eq!(
        call(&c, commit(3)).await.response_code(),
        ResponseCode::Success
    );

    let reset = |queue_id: Option<i32>, offset: Option<i64>| {
        RemotingCommand::request(RequestCode::InvokeBrokerToResetOffset).with_header(
            &ResetOffsetRequest {
                group: "cg".into(),
                topic: "RS".into(),
                queue_id,
                offset,
                timestamp: 0,
                is_force: Some(true),
            },
        )
    };
    let r = call(&c, reset(None, None)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert!(String::from_utf8_lossy(&r.body).contains("\"offsetTable\""));
    assert_eq!(call(&c, query()).await.ext_fields.get("offset"), Some("0"));
    // A consumer still committing its old position does not undo it.
    assert_eq!(
        call(&c, commit(3)).await.response_code(),
        ResponseCode::Success
    );
    assert_eq!(call(&c, query()).await.ext_fields.get("offset"), Some("0"));
    // Its next pull is moved to the reset offset, once.
    let r = call(&c, pull_cmd("RS", 0, 3, 0, 0)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::PullOffsetMoved,
        "{:?}",
        r.remark
    );
    assert_eq!(r.ext_fields.get("nextBeginOffset"), Some("0"));
    let r = call(&c, pull_cmd("RS", 0, 0, 0, 0)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(&records(&r.body)[0].body[..], b"r0");
    // One queue to a given offset, within the queue's range only.
    let r = call(&c, reset(Some(0), Some(2))).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(call(&c, query()).await.ext_fields.get("offset"), Some("2"));
    let r = call(&c, reset(Some(0), Some(9))).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    b.stop().await;
}

/// As RocketMQ: a batch's messages are stored with the properties they
/// were sent with (no broker-made UNIQ_KEY: the Go client sets none and
/// its send result names the offset ids), and `__STARTDELIVERTIME` is not
/// a timer (RocketMQ's broker delivers such a message at once).
#[tokio::test]
async fn batch_properties_are_kept_and_start_deliver_time_is_not_a_timer() {
    use basalt_message::{encode_batch, BatchItem, Properties};
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    let items: Vec<BatchItem> = (0..2)
        .map(|i| BatchItem {
            flag: 0,
            body: bytes::Bytes::from(format!("b{i}")),
            properties: Properties::default(),
        })
        .collect();
    let mut batch = send_cmd("Batched", 0, b"", "");
    batch.code = RequestCode::SendBatchMessage.as_i32();
    batch.body = encode_batch(&items).unwrap().into();
    let r = call(&c, batch).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let r = call(&c, pull_cmd("Batched", 0, 0, 0, 0)).await;
    let recs = records(&r.body);
    assert_eq!(recs.len(), 2);
    for rec in &recs {
        assert_eq!(rec.properties().get("UNIQ_KEY"), None);
        assert!(rec.properties().get("CLUSTER").is_some());
    }

    let later = (basalt_broker::topics::now_ms() + 3_600_000).to_string();
    let props = format!("__STARTDELIVERTIME\u{1}{later}\u{2}");
    let r = call(&c, send_cmd("NotTimer", 0, b"now", &props)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let r = call(&c, pull_cmd("NotTimer", 0, 0, 0, 0)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(&records(&r.body)[0].body[..], b"now");
    b.stop().await;
}

/// `regionId` and `traceOn` are answered to every send (RocketMQ's
/// MSG_REGION and TRACE_ON, read by message tracing).
#[tokio::test]
async fn sends_answer_the_configured_region_and_trace_switch() {
    let b = start(|c, _| {
        c.set("regionId", "eu-west").unwrap();
        c.set("traceOn", "false").unwrap();
    })
    .await;
    let c = client(b.addr).await;
    let r = call(&c, send_cmd("Region", 0, b"x", "")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(r.ext_fields.get("MSG_REGION"), Some("eu-west"));
    assert_eq!(r.ext_fields.get("TRACE_ON"), Some("false"));
    b.stop().await;
}

/// QUERY_MESSAGE as RocketMQ 5.5: `indexType` "T" looks the key up as a
/// tag (`mqadmin queryMsgByKey -p T`), and matches come oldest first.
#[tokio::test]
async fn queries_by_tag_and_in_store_order() {
    use basalt_protocol::headers::client::QueryMessageRequest;
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    for body in [&b"first"[..], b"second"] {
        let props = "KEYS\u{1}order-1\u{2}TAGS\u{1}TagA\u{2}";
        let r = call(&c, send_cmd("Queried", 0, body, props)).await;
        assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    }
    let query = |key: &str, index_type: Option<&str>| {
        RemotingCommand::request(RequestCode::QueryMessage).with_header(&QueryMessageRequest {
            topic: "Queried".into(),
            key: key.into(),
            max_num: 32,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
            index_type: index_type.map(str::to_owned),
        })
    };
    for (key, index_type) in [("order-1", None), ("TagA", Some("T"))] {
        let r = call(&c, query(key, index_type)).await;
        assert_eq!(
            r.response_code(),
            ResponseCode::Success,
            "{key}: {:?}",
            r.remark
        );
        let bodies: Vec<_> = records(&r.body).into_iter().map(|r| r.body).collect();
        assert_eq!(bodies, [&b"first"[..], &b"second"[..]], "{key}");
    }
    let r = call(&c, query("TagA", None)).await;
    assert_eq!(r.response_code(), ResponseCode::QueryNotFound);
    b.stop().await;
}

/// GET_CONSUMER_RUNNING_INFO goes to the named consumer over its own
/// connection, and its answer comes back as it was; a client not online is
/// refused, as RocketMQ's `callConsumer` does.
#[tokio::test]
async fn running_info_is_asked_of_the_consumer_itself() {
    use basalt_protocol::headers::admin::ConsumerRunningInfoRequest;
    let b = start(|_, _| {}).await;
    let fam = basalt_remoting::Family::new("calls", 4, 16);
    let router = basalt_remoting::Router::new().route(
        RequestCode::GetConsumerRunningInfo,
        &fam,
        |req| async move {
            let h: ConsumerRunningInfoRequest = req.cmd.header().unwrap();
            RemotingCommand::success().with_body(format!("running:{}", h.client_id).into_bytes())
        },
    );
    let consumer = basalt_remoting::connect(b.addr, std::sync::Arc::new(router))
        .await
        .unwrap();
    let hb = heartbeat("cid-running", "cg-running", "RunT");
    assert_eq!(
        call(&consumer, hb).await.response_code(),
        ResponseCode::Success
    );

    let admin = client(b.addr).await;
    let ask = |client_id: &str| {
        RemotingCommand::request(RequestCode::GetConsumerRunningInfo).with_header(
            &ConsumerRunningInfoRequest {
                consumer_group: "cg-running".into(),
                client_id: client_id.into(),
                jstack_enable: Some(false),
            },
        )
    };
    let r = call(&admin, ask("cid-running")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(&r.body[..], b"running:cid-running");
    let r = call(&admin, ask("cid-gone")).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    assert!(r.remark.unwrap_or_default().contains("not online"));
    b.stop().await;
}

/// VIEW_BROKER_STATS_DATA: puts (read off the queues) and gets (counted by
/// pulls) in the minute window once sampled; the runtime info's totals
/// and the consume stats' TPS follow.
#[tokio::test]
async fn puts_and_gets_show_in_the_broker_stats() {
    use basalt_protocol::headers::admin::ViewBrokerStatsDataRequest;
    // A minute window of 1.2 s: long enough to poll within.
    let b = start(|c, _| c.stats_sample_period = Duration::from_millis(200)).await;
    let c = client(b.addr).await;
    for body in [b"s0", b"s1", b"s2"] {
        let r = call(&c, send_cmd("StatsT", 0, body, "")).await;
        assert_eq!(r.response_code(), ResponseCode::Success);
    }
    let pulled = call(&c, pull_cmd("StatsT", 0, 0, 0, 0)).await;
    assert_eq!(records(&pulled.body).len(), 3);
    let view = |name: &str, key: &str| {
        RemotingCommand::request(RequestCode::ViewBrokerStatsData).with_header(
            &ViewBrokerStatsDataRequest {
                stats_name: name.into(),
                stats_key: key.into(),
            },
        )
    };
    for (name, key) in [
        ("TOPIC_PUT_NUMS", "StatsT"),
        ("GROUP_GET_NUMS", "StatsT@cg"),
    ] {
        let seen = basalt_testkit::eventually(Duration::from_secs(10), || {
            let (c, cmd) = (c.clone(), view(name, key));
            async move {
                let r = call(&c, cmd).await;
                let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
                (v["statsMinute"]["sum"] == 3).then_some(v)
            }
        })
        .await;
        assert!(seen.is_ok(), "{name} {key} never summed 3 in its minute");
    }
    let missing = call(&c, view("TOPIC_PUT_NUMS", "NoSuchTopic")).await;
    assert_eq!(missing.response_code(), ResponseCode::SystemError);

    let info = call(
        &c,
        RemotingCommand::request(RequestCode::GetBrokerRuntimeInfo),
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&info.body).unwrap();
    let total = |k: &str| {
        v["table"][k]
            .as_str()
            .unwrap_or("0")
            .parse::<u64>()
            .unwrap()
    };
    assert!(total("msgPutTotalTodayNow") >= 3, "{v}");
    assert!(total("msgGetTotalTodayNow") >= 3, "{v}");
    assert_eq!(v["table"]["putTps"].as_str().unwrap().split(' ').count(), 3);
    b.stop().await;
}
