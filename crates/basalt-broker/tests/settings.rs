//! UPDATE_BROKER_CONFIG and GET_BROKER_CONFIG.

use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::{call, client, pull_cmd, records, send_cmd, start};

fn update(text: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::UpdateBrokerConfig).with_body(text.as_bytes().to_vec())
}

async fn shown(c: &basalt_remoting::Connection, key: &str) -> Option<String> {
    let r = call(c, RemotingCommand::request(RequestCode::GetBrokerConfig)).await;
    basalt_protocol::config_text::parse(&String::from_utf8_lossy(&r.body))
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

#[tokio::test]
async fn an_update_applies_the_permission_at_once_and_is_written_back_to_the_file() {
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = conf_dir.path().join("broker.conf");
    std::fs::write(&conf, "# mine\nbrokerPermission=6\n").unwrap();
    let path = conf.clone();
    let b = start(move |c, _| c.broker_config_path = Some(path)).await;
    let c = client(b.addr).await;
    let sent = call(&c, send_cmd("SetT", 0, b"before", "")).await;
    assert_eq!(sent.response_code(), ResponseCode::Success);

    let r = call(
        &c,
        update("brokerPermission=4\nfileReservedTime=24\nnoSuchKey=1\n"),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    // Read-only now: sends refused, pulls served.
    let refused = call(&c, send_cmd("SetT", 0, b"after", "")).await;
    assert_eq!(refused.response_code(), ResponseCode::NoPermission);
    let pulled = call(&c, pull_cmd("SetT", 0, 0, 0, 0)).await;
    assert_eq!(&records(&pulled.body)[0].body[..], b"before");
    assert_eq!(shown(&c, "brokerPermission").await.as_deref(), Some("4"));
    assert_eq!(shown(&c, "fileReservedTime").await.as_deref(), Some("24"));
    assert_eq!(shown(&c, "noSuchKey").await, None);
    // The file keeps its comment; the unknown key is not written.
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "# mine\nbrokerPermission=4\nfileReservedTime=24\n"
    );

    // Refusals change nothing, the file included.
    let bad = call(&c, update("brokerPermission=6\nfileReservedTime=soon\n")).await;
    assert_eq!(bad.response_code(), ResponseCode::InvalidParameter);
    let bad = call(&c, update("brokerPermission=read\n")).await;
    assert_eq!(bad.response_code(), ResponseCode::InvalidParameter);
    let black = call(&c, update("brokerPermission=6\nbrokerConfigPath=/tmp/x\n")).await;
    assert_eq!(black.response_code(), ResponseCode::NoPermission);
    assert_eq!(shown(&c, "brokerPermission").await.as_deref(), Some("4"));
    assert_eq!(
        call(&c, send_cmd("SetT", 0, b"after", ""))
            .await
            .response_code(),
        ResponseCode::NoPermission
    );
    assert!(std::fs::read_to_string(&conf)
        .unwrap()
        .contains("brokerPermission=4\n"));

    let r = call(&c, update("brokerPermission=6")).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert_eq!(
        call(&c, send_cmd("SetT", 0, b"after", ""))
            .await
            .response_code(),
        ResponseCode::Success
    );
    b.stop().await;
}

/// The keys RocketMQ operators change on a running broker apply at once.
#[tokio::test]
async fn auto_creation_switches_apply_at_once() {
    use basalt_protocol::headers::client::UpdateConsumerOffsetRequest;
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    let r = call(
        &c,
        update("autoCreateTopicEnable=false\nautoCreateSubscriptionGroup=false\n"),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    let refused = call(&c, send_cmd("NeverMade", 0, b"x", "")).await;
    assert_eq!(refused.response_code(), ResponseCode::TopicNotExist);
    // A topic that exists takes sends; an unknown group's offsets do not.
    let r = call(&c, update("autoCreateTopicEnable=true")).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    let sent = call(&c, send_cmd("MadeNow", 0, b"x", "")).await;
    assert_eq!(sent.response_code(), ResponseCode::Success);
    let commit = RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(
        &UpdateConsumerOffsetRequest {
            consumer_group: "group_never_made".into(),
            topic: "MadeNow".into(),
            queue_id: 0,
            commit_offset: 1,
        },
    );
    assert_eq!(
        call(&c, commit).await.response_code(),
        ResponseCode::SubscriptionGroupNotExist
    );
    b.stop().await;
}
