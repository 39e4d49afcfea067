//! RECALL_MESSAGE: a timer message's send result carries a recall handle;
//! recalling with it before the deadline keeps the message from being
//! delivered, also across a restart; handles that are not this broker's,
//! not for this topic or past their time are refused, and so is every
//! recall while `recallMessageEnable` is off.

use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::headers::client::QueueRequest;
use basalt_protocol::headers::send::RecallMessageRequest;
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use basalt_remoting::conn::Connection;

use crate::{call, client, pull_cmd, records, send_cmd, start, start_in};

fn recall_cmd(topic: &str, handle: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::RecallMessage).with_header(&RecallMessageRequest {
        producer_group: Some("pg".into()),
        topic: topic.into(),
        recall_handle: handle.into(),
    })
}

/// Sends a timer message due `delay_ms` from now; returns its recall
/// handle.
async fn send_timer(c: &Connection, topic: &str, body: &[u8], uniq: &str, delay_ms: u64) -> String {
    let props = format!("TIMER_DELAY_MS\u{1}{delay_ms}\u{2}UNIQ_KEY\u{1}{uniq}\u{2}");
    let r = call(c, send_cmd(topic, 0, body, &props)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    r.ext_fields
        .get("recallHandle")
        .expect("a timer message's send result carries a recall handle")
        .to_owned()
}

async fn max_offset(c: &Connection, topic: &str) -> String {
    let cmd = RemotingCommand::request(RequestCode::GetMaxOffset).with_header(&QueueRequest {
        topic: topic.into(),
        queue_id: 0,
    });
    let r = call(c, cmd).await;
    r.ext_fields.get("offset").unwrap_or_default().to_owned()
}

/// Waits until `topic` queue 0 holds `n` messages; returns their bodies.
async fn delivered(c: &Arc<Connection>, topic: &str, n: usize) -> Vec<Vec<u8>> {
    basalt_testkit::eventually(Duration::from_secs(20), || {
        let c = Arc::clone(c);
        let topic = topic.to_owned();
        async move { (max_offset(&c, &topic).await == n.to_string()).then_some(()) }
    })
    .await
    .expect("timer messages delivered");
    let p = call(c, pull_cmd(topic, 0, 0, 0, 0)).await;
    records(&p.body).iter().map(|r| r.body.to_vec()).collect()
}

#[tokio::test]
async fn a_recalled_timer_message_is_not_delivered_even_after_a_restart() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let b = start_in(Arc::clone(&dir), |c, _| c.recall_message_enable = true).await;
    let c = client(b.addr).await;
    // Plain sends create the topics and get no handle.
    for topic in ["RecallT", "RecallU"] {
        let r = call(&c, send_cmd(topic, 0, b"now", "")).await;
        assert_eq!(r.response_code(), ResponseCode::Success);
        assert!(r.ext_fields.get("recallHandle").is_none());
    }
    let sent = std::time::Instant::now();
    let kept = send_timer(&c, "RecallT", b"kept", "UNIQ-KEPT", 5000).await;
    let gone = send_timer(&c, "RecallT", b"recalled", "UNIQ-GONE", 5000).await;
    // Due after the others: once it is out, theirs has passed.
    send_timer(&c, "RecallT", b"last", "UNIQ-LAST", 6000).await;

    // Refusals first: a handle for another topic, a broken one, one whose
    // time has passed, and a topic that does not exist.
    let r = call(&c, recall_cmd("RecallU", &gone)).await;
    assert_eq!(r.response_code(), ResponseCode::IllegalOperation);
    assert!(r.remark.unwrap().contains("topic not match"));
    let r = call(&c, recall_cmd("RecallT", "not base64 !")).await;
    assert_eq!(r.response_code(), ResponseCode::IllegalOperation);
    assert!(r.remark.unwrap().contains("recall handle is invalid"));
    let past = basalt_broker::recall::build("RecallT", "broker-a", 1_000, "UNIQ-GONE");
    let r = call(&c, recall_cmd("RecallT", &past)).await;
    assert_eq!(r.response_code(), ResponseCode::IllegalOperation);
    assert!(r.remark.unwrap().contains("timestamp invalid"));
    let other_broker = basalt_broker::recall::parse(&gone).unwrap();
    let elsewhere = basalt_broker::recall::build(
        "RecallT",
        "broker-b",
        other_broker.timestamp.parse::<i64>().unwrap(),
        "UNIQ-GONE",
    );
    let r = call(&c, recall_cmd("RecallT", &elsewhere)).await;
    assert_eq!(r.response_code(), ResponseCode::IllegalOperation);
    let r = call(&c, recall_cmd("NoSuchTopic", &gone)).await;
    assert_eq!(r.response_code(), ResponseCode::TopicNotExist);

    let r = call(&c, recall_cmd("RecallT", &gone)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(r.ext_fields.get("msgId"), Some("UNIQ-GONE"));
    assert!(!kept.is_empty());
    // The same message sent again after the recall (the Java client keeps
    // a Message's UNIQ_KEY) is a new send, not cancelled, though due
    // before the marker.
    send_timer(&c, "RecallT", b"again", "UNIQ-GONE", 4500).await;
    // A marker a client sends itself for another topic's message cancels
    // nothing; one already past its time is refused.
    let foreign = "TIMER_DELAY_MS\u{1}5500\u{2}TIMER_DEL_UNIQKEY\u{1}RecallT+UNIQ-KEPT\u{2}";
    let r = call(&c, send_cmd("RecallU", 0, b"0", foreign)).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let stale = "TIMER_DELAY_MS\u{1}-5\u{2}TIMER_DEL_UNIQKEY\u{1}RecallT+UNIQ-KEPT\u{2}";
    let r = call(&c, send_cmd("RecallT", 0, b"0", stale)).await;
    assert_eq!(r.response_code(), ResponseCode::MessageIllegal);

    // The cancellation is stored: a restart before the deadline keeps it.
    b.stop().await;
    let b = start_in(dir, |c, _| c.recall_message_enable = true).await;
    assert!(
        sent.elapsed() < Duration::from_millis(4000),
        "restarted too late to show the cancellation outlives the process"
    );
    let c = client(b.addr).await;
    let bodies = delivered(&c, "RecallT", 4).await;
    assert_eq!(bodies, [&b"now"[..], b"again", b"kept", b"last"]);
    // Markers never reach their topic.
    assert_eq!(max_offset(&c, "RecallU").await, "1");
    b.stop().await;
}

#[tokio::test]
async fn recalls_are_refused_while_recall_is_disabled() {
    let b = start(|_, _| {}).await;
    let c = client(b.addr).await;
    let handle = send_timer(&c, "RecallOff", b"x", "UNIQ-OFF", 60_000).await;
    let r = call(&c, recall_cmd("RecallOff", &handle)).await;
    assert_eq!(r.response_code(), ResponseCode::NoPermission);
    assert!(r.remark.unwrap().contains("forbidden"));
    b.stop().await;
}
