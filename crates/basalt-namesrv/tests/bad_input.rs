//! Raw bad bytes: each gets an error reply or a clean close, and the server
//! keeps answering valid requests.

use std::time::Duration;

use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{call, client, start};

fn frame(serialize: u8, header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((4 + header.len() + body.len()) as i32).to_be_bytes());
    v.extend_from_slice(&((u32::from(serialize) << 24) | header.len() as u32).to_be_bytes());
    v.extend_from_slice(header);
    v.extend_from_slice(body);
    v
}

enum Expect {
    /// A reply with this code (and a remark).
    Reply(ResponseCode),
    /// The server closes the connection.
    Close,
}

/// Sends `raw` on a fresh connection and checks what comes back.
async fn probe(addr: std::net::SocketAddr, raw: &[u8], expect: Expect) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = BytesMut::new();
    let outcome = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let n = s.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return None;
            }
            got.extend_from_slice(&buf[..n]);
            if let Ok(Some(size)) = basalt_protocol::frame::frame_size(&got, 1 << 24) {
                if got.len() >= size {
                    return Some(
                        RemotingCommand::decode(got.split_to(size).freeze().slice(4..)).unwrap(),
                    );
                }
            }
        }
    })
    .await
    .expect("server neither replied nor closed within 5 s");
    match (expect, outcome) {
        (Expect::Reply(code), Some(reply)) => {
            assert_eq!(reply.response_code(), code, "remark: {:?}", reply.remark);
            assert!(reply.is_response());
            assert!(reply.remark.is_some_and(|r| !r.is_empty()));
        }
        (Expect::Close, None) => {}
        (Expect::Reply(code), None) => panic!("expected {code:?}, connection closed"),
        (Expect::Close, Some(r)) => panic!("expected close, got {r:?}"),
    }
}

#[tokio::test]
async fn every_bad_frame_is_answered_or_closed_and_service_goes_on() {
    let server = start(|_| {}).await;
    let a = server.addr;

    // Announced length over the 16 MiB limit: closed before buffering.
    probe(a, &(64 * 1024 * 1024i32).to_be_bytes(), Expect::Close).await;
    // Negative and too-small lengths.
    probe(a, &(-1i32).to_be_bytes(), Expect::Close).await;
    probe(a, &[0, 0, 0, 2, 0, 0], Expect::Close).await;
    // Header length larger than the frame.
    let mut raw = 8i32.to_be_bytes().to_vec();
    raw.extend_from_slice(&500u32.to_be_bytes());
    raw.extend_from_slice(b"{}{}");
    probe(a, &raw, Expect::Reply(ResponseCode::SystemError)).await;
    // Truncated frame, then the peer goes quiet and closes its side.
    let mut s = TcpStream::connect(a).await.unwrap();
    s.write_all(&[0, 0, 0, 100, 0, 0]).await.unwrap();
    s.shutdown().await.unwrap();
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
    // Invalid JSON header.
    probe(
        a,
        &frame(0, b"{\"code\":105,", b""),
        Expect::Reply(ResponseCode::SystemError),
    )
    .await;
    // Binary header whose remark length runs past the end.
    let mut bin = vec![0, 105, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    bin.extend_from_slice(&1000i32.to_be_bytes());
    probe(
        a,
        &frame(1, &bin, b""),
        Expect::Reply(ResponseCode::SystemError),
    )
    .await;
    // Unknown serialize type.
    probe(
        a,
        &frame(7, b"{\"code\":105}", b""),
        Expect::Reply(ResponseCode::SystemError),
    )
    .await;
    // Unknown request code.
    probe(
        a,
        &frame(0, b"{\"code\":4242,\"opaque\":3,\"flag\":0}", b""),
        Expect::Reply(ResponseCode::RequestCodeNotSupported),
    )
    .await;
    // Missing required header fields.
    probe(
        a,
        &frame(
            0,
            b"{\"code\":103,\"opaque\":4,\"flag\":0,\"extFields\":{}}",
            b"",
        ),
        Expect::Reply(ResponseCode::SystemError),
    )
    .await;
    probe(
        a,
        &frame(0, b"{\"code\":105,\"opaque\":5,\"flag\":0}", b""),
        Expect::Reply(ResponseCode::SystemError),
    )
    .await;
    // Broken JSON body.
    let hdr = br#"{"code":103,"opaque":6,"flag":0,"version":479,"extFields":{"brokerName":"b","brokerAddr":"1.1.1.1:1","clusterName":"c","brokerId":"0"}}"#;
    probe(
        a,
        &frame(0, hdr, b"{\"topicConfigSerializeWrapper\":[}"),
        Expect::Reply(ResponseCode::SystemError),
    )
    .await;

    // After all that, a valid request still gets a proper answer, on both
    // header formats.
    let c = client(a).await;
    let r = call(
        &c,
        RemotingCommand::request(RequestCode::GetBrokerClusterInfo),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    let mut bin_req = RemotingCommand::request(RequestCode::GetBrokerClusterInfo);
    bin_req.serialize_type = SerializeType::RocketMq;
    let r = call(&c, bin_req).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
}

#[tokio::test]
async fn oneway_requests_get_no_reply_even_on_error() {
    let server = start(|_| {}).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    // Oneway unknown code, then a normal request on the same connection:
    // the first reply to arrive must be the second request's.
    s.write_all(&frame(0, b"{\"code\":4242,\"opaque\":1,\"flag\":2}", b""))
        .await
        .unwrap();
    s.write_all(&frame(0, b"{\"code\":106,\"opaque\":2,\"flag\":0}", b""))
        .await
        .unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.unwrap();
    let mut rest = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut rest).await.unwrap();
    let reply = RemotingCommand::decode(bytes::Bytes::from(rest)).unwrap();
    assert_eq!(reply.opaque, 2);
    assert_eq!(reply.response_code(), ResponseCode::Success);
}
