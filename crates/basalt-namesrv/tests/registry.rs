//! Registration, routes, cluster info, expiry and the KV config.

use std::time::Duration;

use basalt_protocol::body::cluster::ClusterInfo;
use basalt_protocol::body::register::{RegisterBrokerBody, TopicConfig};
use basalt_protocol::body::route::TopicRouteData;
use basalt_protocol::body::tables::{KvTable, TopicList};
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::namesrv::*;
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::{call, client, start};

fn register_cmd(
    cluster: &str,
    name: &str,
    addr: &str,
    id: i64,
    topics: &[&str],
    counter: i64,
) -> RemotingCommand {
    let mut body = RegisterBrokerBody::default();
    let w = &mut body.topic_config_serialize_wrapper;
    w.data_version.counter = counter;
    for t in topics {
        w.topic_config_table.insert(
            (*t).to_owned(),
            TopicConfig {
                topic_name: (*t).to_owned(),
                read_queue_nums: 4,
                write_queue_nums: 4,
                ..TopicConfig::default()
            },
        );
    }
    let raw = body.encode();
    let crc = (crc32fast_hash(&raw) & 0x7FFF_FFFF) as i32;
    RemotingCommand::request(RequestCode::RegisterBroker)
        .with_header(&RegisterBrokerRequest {
            broker_name: name.into(),
            broker_addr: addr.into(),
            cluster_name: cluster.into(),
            ha_server_addr: Some("127.0.0.1:10912".into()),
            broker_id: id,
            heartbeat_timeout_millis: None,
            enable_acting_master: Some(false),
            compressed: Some(false),
            body_crc32: Some(crc),
        })
        .with_body(raw)
}

fn crc32fast_hash(b: &[u8]) -> u32 {
    // Bitwise CRC-32 (IEEE): an independent check of the server's crc32fast.
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in b {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn route_cmd(topic: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::GetRouteinfoByTopic).with_header(&GetRouteInfoRequest {
        topic: topic.into(),
        accept_standard_json_only: None,
    })
}

#[tokio::test]
async fn brokers_from_two_clusters_register_route_and_unregister() {
    let server = start(|_| {}).await;
    let c = client(server.addr).await;

    let r = call(&c, route_cmd("T1")).await;
    assert_eq!(r.response_code(), ResponseCode::TopicNotExist);
    assert!(r.remark.unwrap().contains("T1"));

    let r = call(
        &c,
        register_cmd("c1", "broker-a", "10.0.0.1:10911", 0, &["T1", "TBW102"], 1),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let r = call(
        &c,
        register_cmd("c1", "broker-a", "10.0.0.2:10911", 1, &["T1", "TBW102"], 1),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert_eq!(r.ext_fields.get("masterAddr"), Some("10.0.0.1:10911"));
    let r = call(
        &c,
        register_cmd("c2", "broker-b", "10.0.0.3:10911", 0, &["T1", "T2"], 1),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success);

    let r = call(&c, route_cmd("T1")).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    let route = TopicRouteData::decode(&r.body).unwrap();
    assert_eq!(route.queue_datas.len(), 2);
    let a = route
        .broker_datas
        .iter()
        .find(|b| b.broker_name == "broker-a")
        .unwrap();
    assert_eq!(a.broker_addrs.len(), 2);
    assert_eq!(a.broker_addrs[&0], "10.0.0.1:10911");

    let r = call(
        &c,
        RemotingCommand::request(RequestCode::GetBrokerClusterInfo),
    )
    .await;
    let info = ClusterInfo::decode(&r.body).unwrap();
    assert_eq!(info.cluster_addr_table["c1"].len(), 1);
    assert!(info.cluster_addr_table["c2"].contains("broker-b"));

    let r = call(
        &c,
        RemotingCommand::request(RequestCode::GetTopicsByCluster).with_header(
            &GetTopicsByClusterRequest {
                cluster: "c2".into(),
            },
        ),
    )
    .await;
    let list = TopicList::decode(&r.body).unwrap();
    assert_eq!(list.topic_list.iter().collect::<Vec<_>>(), ["T1", "T2"]);

    let r = call(
        &c,
        RemotingCommand::request(RequestCode::WipeWritePermOfBroker).with_header(
            &BrokerNameRequest {
                broker_name: "broker-b".into(),
            },
        ),
    )
    .await;
    assert_eq!(r.ext_fields.get("wipeTopicCount"), Some("2"));
    let route = TopicRouteData::decode(&call(&c, route_cmd("T2")).await.body).unwrap();
    assert_eq!(route.queue_datas[0].perm & 2, 0, "write perm wiped");

    let unreg = RemotingCommand::request(RequestCode::UnregisterBroker).with_header(
        &UnregisterBrokerRequest {
            broker_name: "broker-b".into(),
            broker_addr: "10.0.0.3:10911".into(),
            cluster_name: "c2".into(),
            broker_id: 0,
        },
    );
    assert_eq!(call(&c, unreg).await.response_code(), ResponseCode::Success);
    assert_eq!(
        call(&c, route_cmd("T2")).await.response_code(),
        ResponseCode::TopicNotExist
    );
    let route = TopicRouteData::decode(&call(&c, route_cmd("T1")).await.body).unwrap();
    assert_eq!(route.broker_datas.len(), 1);

    let r = call(
        &c,
        RemotingCommand::request(RequestCode::DeleteTopicInNamesrv).with_header(
            &DeleteTopicFromNamesrvRequest {
                topic: "T1".into(),
                cluster_name: None,
            },
        ),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert_eq!(
        call(&c, route_cmd("T1")).await.response_code(),
        ResponseCode::TopicNotExist
    );
}

#[tokio::test]
async fn crc_mismatch_is_refused() {
    let server = start(|_| {}).await;
    let c = client(server.addr).await;
    let mut cmd = register_cmd("c", "b", "1.2.3.4:5", 0, &["T"], 1);
    cmd.ext_fields.insert("bodyCrc32", "12345");
    let r = call(&c, cmd).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    assert_eq!(r.remark.as_deref(), Some("crc32 not match"));
    assert_eq!(
        call(&c, route_cmd("T")).await.response_code(),
        ResponseCode::TopicNotExist
    );
}

#[tokio::test]
async fn silent_broker_expires_and_closed_connection_drops_it() {
    let server = start(|c| c.scan_not_active_broker_interval = 20).await;
    let c = client(server.addr).await;
    let mut cmd = register_cmd("c", "b1", "1.2.3.4:5", 0, &["EXP", "TBW102"], 1);
    cmd.ext_fields.insert("heartbeatTimeoutMillis", "300");
    assert_eq!(call(&c, cmd).await.response_code(), ResponseCode::Success);
    assert_eq!(
        call(&c, route_cmd("EXP")).await.response_code(),
        ResponseCode::Success
    );
    let gone = basalt_testkit::eventually(Duration::from_secs(5), || {
        let c = c.clone();
        async move {
            (call(&c, route_cmd("EXP")).await.response_code() == ResponseCode::TopicNotExist)
                .then_some(())
        }
    })
    .await;
    assert!(gone.is_ok(), "expired broker still routed");

    let other = client(server.addr).await;
    assert_eq!(
        call(
            &other,
            register_cmd("c", "b2", "1.2.3.5:5", 0, &["CLOSE", "TBW102"], 1)
        )
        .await
        .response_code(),
        ResponseCode::Success
    );
    other.close();
    let gone = basalt_testkit::eventually(Duration::from_secs(5), || {
        let c = c.clone();
        async move {
            (call(&c, route_cmd("CLOSE")).await.response_code() == ResponseCode::TopicNotExist)
                .then_some(())
        }
    })
    .await;
    assert!(gone.is_ok(), "broker of a closed connection still routed");
}

#[tokio::test]
async fn kv_config_round_trip_and_persistence() {
    let server = start(|_| {}).await;
    let c = client(server.addr).await;
    let put = RemotingCommand::request(RequestCode::PutKvConfig).with_header(&PutKvConfigRequest {
        namespace: "ns".into(),
        key: "k".into(),
        value: "v1".into(),
    });
    assert_eq!(call(&c, put).await.response_code(), ResponseCode::Success);
    let get = || {
        RemotingCommand::request(RequestCode::GetKvConfig).with_header(&KvConfigKeyRequest {
            namespace: "ns".into(),
            key: "k".into(),
        })
    };
    let r = call(&c, get()).await;
    assert_eq!(r.ext_fields.get("value"), Some("v1"));
    let list = call(
        &c,
        RemotingCommand::request(RequestCode::GetKvlistByNamespace).with_header(
            &GetKvListByNamespaceRequest {
                namespace: "ns".into(),
            },
        ),
    )
    .await;
    assert_eq!(KvTable::decode(&list.body).unwrap().table["k"], "v1");
    let file = server.dir.path().join("namesrv/kvConfig.json");
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["configTable"]["ns"]["k"], "v1");

    let del =
        RemotingCommand::request(RequestCode::DeleteKvConfig).with_header(&KvConfigKeyRequest {
            namespace: "ns".into(),
            key: "k".into(),
        });
    assert_eq!(call(&c, del).await.response_code(), ResponseCode::Success);
    assert_eq!(
        call(&c, get()).await.response_code(),
        ResponseCode::QueryNotFound
    );
}

/// An Apache broker sends a one-topic registration for each topic it
/// creates, with its current data version. From a broker the name server
/// does not know yet (after a name server restart) that is refused, so the
/// broker's next full registration is read whole; and a full registration
/// with an unchanged version still restores topics the table lacks on this
/// broker (RocketMQ's isTopicConfigChanged).
#[tokio::test]
async fn one_topic_registrations_do_not_hide_a_brokers_other_topics() {
    let server = start(|_| {}).await;
    let c = client(server.addr).await;
    let r = call(&c, register_cmd("c", "b", "1.2.3.4:5", 0, &["New"], 7)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::SystemError,
        "{:?}",
        r.remark
    );
    let all = ["New", "Old1", "Old2"];
    let r = call(&c, register_cmd("c", "b", "1.2.3.4:5", 0, &all, 7)).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    for t in all {
        assert_eq!(
            call(&c, route_cmd(t)).await.response_code(),
            ResponseCode::Success,
            "{t}"
        );
    }
    // Known now: a one-topic registration adds its topic.
    let r = call(&c, register_cmd("c", "b", "1.2.3.4:5", 0, &["Newer"], 8)).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert_eq!(
        call(&c, route_cmd("Newer")).await.response_code(),
        ResponseCode::Success
    );

    // Removed from the name server while the broker keeps it: the next full
    // registration, same version, brings it back.
    let delete = RemotingCommand::request(RequestCode::DeleteTopicInNamesrv).with_header(
        &DeleteTopicFromNamesrvRequest {
            topic: "Old1".into(),
            cluster_name: None,
        },
    );
    assert_eq!(
        call(&c, delete).await.response_code(),
        ResponseCode::Success
    );
    assert_eq!(
        call(&c, route_cmd("Old1")).await.response_code(),
        ResponseCode::TopicNotExist
    );
    let r = call(
        &c,
        register_cmd(
            "c",
            "b",
            "1.2.3.4:5",
            0,
            &["New", "Newer", "Old1", "Old2"],
            8,
        ),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert_eq!(
        call(&c, route_cmd("Old1")).await.response_code(),
        ResponseCode::Success
    );
}

/// Routes come in standard JSON to clients from 4.9.4 on (or that ask),
/// with fastjson's bare integer broker ids to older ones (the Go client
/// says 3.x and, before v2.1.2, reads a quoted id as 0); cluster info
/// always with bare ids. As RocketMQ's name server.
#[tokio::test]
async fn route_json_follows_the_client_version() {
    let server = start(|_| {}).await;
    let c = client(server.addr).await;
    for (id, addr) in [(0, "10.0.0.1:10911"), (1, "10.0.0.2:10911")] {
        let r = call(&c, register_cmd("c", "b", addr, id, &["V", "TBW102"], 1)).await;
        assert_eq!(r.response_code(), ResponseCode::Success);
    }
    let route_at = |version: i32, standard: Option<bool>| {
        let mut cmd = RemotingCommand::request(RequestCode::GetRouteinfoByTopic).with_header(
            &GetRouteInfoRequest {
                topic: "V".into(),
                accept_standard_json_only: standard,
            },
        );
        cmd.version = version;
        cmd
    };
    let body = |r: RemotingCommand| String::from_utf8_lossy(&r.body).into_owned();
    let legacy = body(call(&c, route_at(317, None)).await);
    assert!(
        legacy.contains(r#""brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}"#),
        "{legacy}"
    );
    let asked = body(call(&c, route_at(317, Some(true))).await);
    assert!(
        asked.contains(r#""brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"}"#),
        "{asked}"
    );
    let new = body(call(&c, route_at(401, None)).await);
    assert!(new.contains(r#"{"0":"10.0.0.1:10911""#), "{new}");
    let cluster = body(
        call(
            &c,
            RemotingCommand::request(RequestCode::GetBrokerClusterInfo),
        )
        .await,
    );
    assert!(cluster.contains(r#"{0:"10.0.0.1:10911""#), "{cluster}");
}

/// UPDATE_NAMESRV_CONFIG: a per-request switch applies at once, the file
/// the name server started from keeps the change (comments too), and a
/// refused update changes nothing.
#[tokio::test]
async fn an_update_applies_at_once_and_is_written_back() {
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = conf_dir.path().join("namesrv.properties");
    std::fs::write(&conf, "# ours\nlistenPort=9876\n").unwrap();
    let path = conf.clone();
    let s = start(move |c| c.config_store_path = Some(path)).await;
    let c = client(s.addr).await;
    let update = |text: &str| {
        RemotingCommand::request(RequestCode::UpdateNamesrvConfig)
            .with_body(text.as_bytes().to_vec())
    };
    let all_topics = || RemotingCommand::request(RequestCode::GetAllTopicListFromNameserver);
    assert_eq!(
        call(&c, all_topics()).await.response_code(),
        ResponseCode::Success
    );

    let r = call(&c, update("enableAllTopicList=false\nnoSuchKey=1\n")).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(
        call(&c, all_topics()).await.response_code(),
        ResponseCode::SystemError
    );
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "# ours\nlistenPort=9876\nenableAllTopicList=false\n"
    );

    let black = call(&c, update("enableAllTopicList=true\nkvConfigPath=/tmp/x\n")).await;
    assert_eq!(black.response_code(), ResponseCode::NoPermission);
    let bad = call(
        &c,
        update("enableAllTopicList=true\norderMessageEnable=maybe\n"),
    )
    .await;
    assert_eq!(bad.response_code(), ResponseCode::InvalidParameter);
    assert_eq!(
        call(&c, all_topics()).await.response_code(),
        ResponseCode::SystemError
    );
    let shown = call(&c, RemotingCommand::request(RequestCode::GetNamesrvConfig)).await;
    assert!(String::from_utf8_lossy(&shown.body).contains("enableAllTopicList=false\n"));
}
