//! Bad input gets the documented code and a clear remark; nothing stored
//! is lost.

use basalt_protocol::headers::admin::CreateTopicRequest;
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::{call, client, pull_cmd, records, send_cmd, start};

async fn expect(
    c: &basalt_remoting::Connection,
    cmd: RemotingCommand,
    code: ResponseCode,
    remark_has: &str,
) {
    let r = call(c, cmd).await;
    assert_eq!(r.response_code(), code, "remark: {:?}", r.remark);
    let remark = r.remark.unwrap_or_default();
    assert!(
        remark.contains(remark_has),
        "remark {remark:?} lacks {remark_has:?}"
    );
}

#[tokio::test]
async fn bad_sends_and_pulls_are_refused_and_stored_data_survives() {
    let b = start(|c, _| c.max_message_size = 1024).await;
    let c = client(b.addr).await;
    assert_eq!(
        call(&c, send_cmd("Keep", 0, b"keep-me", ""))
            .await
            .response_code(),
        ResponseCode::Success
    );

    expect(
        &c,
        send_cmd("Keep", 0, &[7u8; 1025], ""),
        ResponseCode::MessageIllegal,
        "max message size",
    )
    .await;
    expect(
        &c,
        send_cmd(&"t".repeat(128), 0, b"x", ""),
        ResponseCode::InvalidParameter,
        "max length",
    )
    .await;
    expect(
        &c,
        send_cmd("bad topic!", 0, b"x", ""),
        ResponseCode::InvalidParameter,
        "illegal characters",
    )
    .await;
    expect(
        &c,
        send_cmd("", 0, b"x", ""),
        ResponseCode::InvalidParameter,
        "blank",
    )
    .await;
    expect(
        &c,
        send_cmd("SCHEDULE_TOPIC_XXXX", 0, b"x", ""),
        ResponseCode::NoPermission,
        "forbidden",
    )
    .await;
    expect(
        &c,
        send_cmd("Keep", 99, b"x", ""),
        ResponseCode::InvalidParameter,
        "queueId[99]",
    )
    .await;

    let create = RemotingCommand::request(RequestCode::UpdateAndCreateTopic).with_header(
        &CreateTopicRequest {
            topic: "ReadOnly".into(),
            read_queue_nums: 2,
            write_queue_nums: 2,
            perm: 4,
            ..CreateTopicRequest::default()
        },
    );
    assert_eq!(
        call(&c, create).await.response_code(),
        ResponseCode::Success
    );
    expect(
        &c,
        send_cmd("ReadOnly", 0, b"x", ""),
        ResponseCode::NoPermission,
        "forbidden",
    )
    .await;
    // A queue count no machine could walk is refused, not stored: the
    // topic stats request would then build a map of 2^31 queues.
    let huge = RemotingCommand::request(RequestCode::UpdateAndCreateTopic).with_header(
        &CreateTopicRequest {
            topic: "Huge".into(),
            read_queue_nums: 8,
            write_queue_nums: i32::MAX,
            perm: 6,
            ..CreateTopicRequest::default()
        },
    );
    expect(&c, huge, ResponseCode::InvalidParameter, "at most").await;

    let mut missing = send_cmd("Keep", 0, b"x", "");
    missing.ext_fields.remove("b");
    expect(
        &c,
        missing,
        ResponseCode::SystemError,
        "missing header field `b`",
    )
    .await;
    let mut garbage = send_cmd("Keep", 0, b"x", "");
    garbage.ext_fields.insert("e", "not-a-number");
    expect(&c, garbage, ResponseCode::SystemError, "invalid value").await;

    expect(
        &c,
        pull_cmd("Keep", 57, 0, 0, 0),
        ResponseCode::InvalidParameter,
        "queueId[57]",
    )
    .await;
    expect(
        &c,
        pull_cmd("NoSuchTopic", 0, 0, 0, 0),
        ResponseCode::TopicNotExist,
        "NoSuchTopic",
    )
    .await;
    let moved = call(&c, pull_cmd("Keep", 0, 500, 0, 0)).await;
    assert_eq!(moved.response_code(), ResponseCode::PullOffsetMoved);
    assert_eq!(moved.ext_fields.get("nextBeginOffset").unwrap(), "1");

    expect(
        &c,
        RemotingCommand::request(RequestCode::HeartBeat).with_body(&b"{\"clientID\":[}"[..]),
        ResponseCode::SystemError,
        "HeartbeatData",
    )
    .await;

    // Everything refused above left the stored message alone.
    let p = call(&c, pull_cmd("Keep", 0, 0, 0, 0)).await;
    let recs = records(&p.body);
    assert_eq!(recs.len(), 1);
    assert_eq!(&recs[0].body[..], b"keep-me");
    b.stop().await;
}

#[tokio::test]
async fn unknown_topics_are_refused_when_auto_create_is_off() {
    let b = start(|c, _| c.auto_create_topic_enable = false).await;
    let c = client(b.addr).await;
    expect(
        &c,
        send_cmd("Fresh", 0, b"x", ""),
        ResponseCode::TopicNotExist,
        "Fresh",
    )
    .await;
    b.stop().await;
}
