//! Admin codes over queues and metadata lists: topic and group lists,
//! queryCq, consume time spans, system topics, cleanUnusedTopic and the
//! consumers' own offsets (getConsumerStatus).

use basalt_protocol::body::client::{ConsumerData, HeartbeatData, SubscriptionData};
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::admin::{GroupTopicRequest, QueryConsumeQueueRequest, TopicRequest};
use basalt_protocol::headers::client::UpdateConsumerOffsetRequest;
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use serde_json::Value;

use crate::{call, client, pull_cmd, records, send_cmd, start, start_in};

fn json(cmd: &RemotingCommand) -> Value {
    basalt_protocol::fastjson::parse(&cmd.body).unwrap()
}

fn with_body(code: RequestCode, body: Value) -> RemotingCommand {
    RemotingCommand::request(code).with_body(body.to_string().into_bytes())
}

#[tokio::test]
async fn topic_and_group_lists_are_checked_whole_before_any_is_written() {
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    let topic = |name: &str| serde_json::json!({"topicName": name, "readQueueNums": 2, "writeQueueNums": 3, "perm": 6});
    let topic_config = |name: &str| {
        RemotingCommand::request(RequestCode::GetTopicConfig)
            .with_header(&TopicRequest { topic: name.into() })
    };
    let bad = with_body(
        RequestCode::UpdateAndCreateTopicList,
        serde_json::json!({"topicConfigList": [topic("ListA"), topic("bad topic")]}),
    );
    let r = call(&c, bad).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::InvalidParameter,
        "{:?}",
        r.remark
    );
    let r = call(&c, topic_config("ListA")).await;
    assert_eq!(r.response_code(), ResponseCode::TopicNotExist);
    let good = with_body(
        RequestCode::UpdateAndCreateTopicList,
        serde_json::json!({"topicConfigList": [topic("ListA"), topic("ListB")]}),
    );
    let r = call(&c, good).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    for name in ["ListA", "ListB"] {
        let r = call(&c, topic_config(name)).await;
        assert_eq!(r.response_code(), ResponseCode::Success, "{name}");
        assert_eq!(json(&r)["writeQueueNums"], 3);
    }

    let groups = |names: &[&str]| {
        let list: Vec<Value> = names
            .iter()
            .map(|n| serde_json::json!({"groupName": n, "retryMaxTimes": 5}))
            .collect();
        with_body(
            RequestCode::UpdateAndCreateSubscriptionGroupList,
            serde_json::json!({ "groupConfigList": list }),
        )
    };
    let all_groups = || RemotingCommand::request(RequestCode::GetAllSubscriptionGroupConfig);
    for bad in [
        &["gl1", "bad group"][..],
        &["gl1", ""],
        &["gl1", &"g".repeat(121)],
    ] {
        let r = call(&c, groups(bad)).await;
        assert_eq!(r.response_code(), ResponseCode::InvalidParameter, "{bad:?}");
    }
    let r = call(&c, all_groups()).await;
    assert!(json(&r)["subscriptionGroupTable"].get("gl1").is_none());
    let r = call(&c, groups(&["gl1", "gl2"])).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let table = json(&call(&c, all_groups()).await)["subscriptionGroupTable"].clone();
    assert_eq!(table["gl1"]["retryMaxTimes"], 5);
    assert_eq!(table["gl2"]["retryMaxTimes"], 5);
    b.stop().await;
}

fn query_cq(
    topic: &str,
    queue_id: i32,
    index: i64,
    count: i32,
    group: Option<&str>,
) -> RemotingCommand {
    RemotingCommand::request(RequestCode::QueryConsumeQueue).with_header(
        &QueryConsumeQueueRequest {
            topic: topic.into(),
            queue_id,
            index,
            count,
            consumer_group: group.map(Into::into),
        },
    )
}

#[tokio::test]
async fn query_cq_shows_raw_entries_and_time_spans_follow_offsets() {
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    for i in 0..5 {
        let r = call(
            &c,
            send_cmd("CqT", 0, format!("m{i}").as_bytes(), "TAGS\u{1}red\u{2}"),
        )
        .await;
        assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    }
    let pulled = records(&call(&c, pull_cmd("CqT", 0, 0, 0, 0)).await.body);
    let phys: Vec<i64> = pulled.iter().map(|r| r.physical_offset).collect();
    assert_eq!(phys.len(), 5);
    let r = call(&c, query_cq("CqT", 0, 1, 3, Some("cg-none"))).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let body = json(&r);
    assert_eq!(
        (
            body["minQueueIndex"].as_i64(),
            body["maxQueueIndex"].as_i64()
        ),
        (Some(0), Some(5))
    );
    assert_eq!(body["filterData"], "cg-none@CqT is not online!");
    let entries = body["queueData"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["physicOffset"].as_i64(), Some(phys[i + 1]));
        assert!(e["physicSize"].as_i64().unwrap() > 0);
        assert_eq!(
            e["tagsCode"].as_i64(),
            Some(i64::from(basalt_message::java_string_hash("red")))
        );
    }
    // Past the end: no entries, and a remark saying so.
    let r = call(&c, query_cq("CqT", 0, 9, 3, None)).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert!(r
        .remark
        .clone()
        .unwrap_or_default()
        .contains("is not exist"));
    assert!(json(&r)["queueData"].as_array().unwrap().is_empty());
    let r = call(&c, query_cq("CqT", 3, 0, 3, None)).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);

    // The group has consumed two messages of queue 0.
    let group = with_body(
        RequestCode::UpdateAndCreateSubscriptionGroup,
        serde_json::json!({"groupName": "cg-span"}),
    );
    assert_eq!(call(&c, group).await.response_code(), ResponseCode::Success);
    let commit = RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(
        &UpdateConsumerOffsetRequest {
            consumer_group: "cg-span".into(),
            topic: "CqT".into(),
            queue_id: 0,
            commit_offset: 2,
        },
    );
    assert_eq!(
        call(&c, commit).await.response_code(),
        ResponseCode::Success
    );
    let span = |topic: &str| {
        RemotingCommand::request(RequestCode::QueryConsumeTimeSpan).with_header(
            &GroupTopicRequest {
                topic: topic.into(),
                group: "cg-span".into(),
                client_addr: None,
            },
        )
    };
    let r = call(&c, span("CqT")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let spans = json(&r)["consumeTimeSpanSet"].as_array().unwrap().clone();
    assert_eq!(spans.len(), 4, "one per write queue");
    let q0 = spans
        .iter()
        .find(|s| s["messageQueue"]["queueId"] == 0)
        .unwrap();
    let (min, max, consumed) = (
        q0["minTimeStamp"].as_i64().unwrap(),
        q0["maxTimeStamp"].as_i64().unwrap(),
        q0["consumeTimeStamp"].as_i64().unwrap(),
    );
    assert!(min > 0 && min <= consumed && consumed <= max, "{q0}");
    assert!(q0["delayTime"].as_i64().unwrap() >= 0);
    let q1 = spans
        .iter()
        .find(|s| s["messageQueue"]["queueId"] == 1)
        .unwrap();
    assert_eq!(
        (q1["minTimeStamp"].as_i64(), q1["maxTimeStamp"].as_i64()),
        (Some(-1), Some(-1))
    );
    assert_eq!(q1["delayTime"], 0);
    assert_eq!(
        call(&c, span("NoSuchT")).await.response_code(),
        ResponseCode::TopicNotExist
    );

    let r = call(
        &c,
        RemotingCommand::request(RequestCode::GetSystemTopicListFromBroker),
    )
    .await;
    let list = json(&r)["topicList"].clone();
    for t in ["TBW102", "SCHEDULE_TOPIC_XXXX", "RMQ_SYS_TRANS_HALF_TOPIC"] {
        assert!(
            list.as_array().unwrap().iter().any(|v| v == t),
            "{t} in {list}"
        );
    }
    b.stop().await;
}

#[tokio::test]
async fn clean_unused_topic_drops_queues_the_table_lost_and_keeps_system_ones() {
    let b = start(|_, _| {}).await;
    let dir = b.dir.clone();
    let c = client(b.addr).await;
    for topic in ["KeepT", "GoneT"] {
        let r = call(&c, send_cmd(topic, 0, b"x", "")).await;
        assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    }
    // A delayed message: its queue is SCHEDULE_TOPIC_XXXX's, in no table.
    let r = call(&c, send_cmd("KeepT", 0, b"later", "DELAY\u{1}3\u{2}")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    b.stop().await;
    // The table loses GoneT (edited by hand, or a restore of an old copy).
    let table = dir.path().join("store/config/topics.json");
    let mut topics: Value = serde_json::from_slice(&std::fs::read(&table).unwrap()).unwrap();
    topics["topicConfigTable"]
        .as_object_mut()
        .unwrap()
        .remove("GoneT")
        .unwrap();
    std::fs::write(&table, topics.to_string()).unwrap();

    let b = start_in(dir.clone(), |_, _| {}).await;
    let c = client(b.addr).await;
    let queues = dir.path().join("store/consumequeue");
    assert!(queues.join("GoneT").exists());
    let r = call(&c, RemotingCommand::request(RequestCode::CleanUnusedTopic)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert!(!queues.join("GoneT").exists());
    assert!(queues.join("KeepT").exists());
    assert!(queues.join("SCHEDULE_TOPIC_XXXX").exists());
    // Nothing else to clean; expired queues: none either (no retention ran).
    for code in [
        RequestCode::CleanUnusedTopic,
        RequestCode::CleanExpiredConsumeQueue,
    ] {
        let r = call(&c, RemotingCommand::request(code)).await;
        assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    }
    assert!(queues.join("KeepT").exists());
    b.stop().await;
}

#[tokio::test]
async fn consumer_status_gathers_each_consumers_offsets() {
    let b = start(|_, _| {}).await;
    let fam = basalt_remoting::Family::new("calls", 4, 16);
    let router = basalt_remoting::Router::new().route(
        RequestCode::GetConsumerStatusFromClient,
        &fam,
        |req| async move {
            let h: GroupTopicRequest = req.cmd.header().unwrap();
            let body = format!(
                r#"{{"consumerTable":{{}},"messageQueueTable":{{{{"brokerName":"b","queueId":1,"topic":"{}"}}:7}}}}"#,
                h.topic
            );
            RemotingCommand::success().with_body(body.into_bytes())
        },
    );
    let consumer = basalt_remoting::connect(b.addr, std::sync::Arc::new(router))
        .await
        .unwrap();
    let hb = HeartbeatData {
        client_id: "cid-status".into(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            group_name: "cg-status".into(),
            message_model: "CLUSTERING".into(),
            subscription_data_set: vec![SubscriptionData {
                topic: "StatusT".into(),
                ..SubscriptionData::default()
            }],
            unit_mode: false,
        }],
        ..HeartbeatData::default()
    };
    let r = call(
        &consumer,
        RemotingCommand::request(RequestCode::HeartBeat).with_body(hb.encode()),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success);

    let admin = client(b.addr).await;
    let ask = |group: &str, client_addr: Option<&str>| {
        RemotingCommand::request(RequestCode::InvokeBrokerToGetConsumerStatus).with_header(
            &GroupTopicRequest {
                topic: "StatusT".into(),
                group: group.into(),
                client_addr: client_addr.map(Into::into),
            },
        )
    };
    let r = call(&admin, ask("cg-status", None)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let queue = r#"{"brokerName":"b","queueId":1,"topic":"StatusT"}"#;
    assert_eq!(
        json(&r)["consumerTable"]["cid-status"][queue],
        7,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = call(&admin, ask("cg-status", Some("cid-other"))).await;
    assert_eq!(json(&r)["consumerTable"], serde_json::json!({}));
    let r = call(&admin, ask("cg-nobody", None)).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    assert!(r
        .remark
        .unwrap_or_default()
        .contains("No Any Consumer online"));

    // The subscription as the broker holds it (QUERY_SUBSCRIPTION_BY_CONSUMER).
    let sub = RemotingCommand::request(RequestCode::QuerySubscriptionByConsumer).with_header(
        &basalt_protocol::headers::admin::QuerySubscriptionRequest {
            group: "cg-status".into(),
            topic: Some("StatusT".into()),
        },
    );
    let r = call(&admin, sub).await;
    assert_eq!(json(&r)["subscriptionData"]["topic"], "StatusT");
    b.stop().await;
}
