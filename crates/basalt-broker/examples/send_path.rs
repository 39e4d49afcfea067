//! The broker's user-space work for one SEND_MESSAGE_V2 (binary header
//! decode, typed header, properties, store append with ConsumeQueue and
//! index, response encode) without sockets or the executor, as
//! `handlers::send` does it: a repeatable instruction count per send.
//!
//! ```text
//! cargo build --release -p basalt-broker --example send_path
//! for n in 2000 6000; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \
//!   target/release/examples/send_path $n; done   # (I(6000) - I(2000)) / 4000
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use basalt_message::{MessageExtBrokerInner, Properties};
use basalt_protocol::headers::send::{SendHeader, SendMessageRequestV2, SendMessageResponse};
use basalt_protocol::{RemotingCommand, RequestCode, SerializeType};
use basalt_store::{FlushDiskType, Store, StoreConfig};
use bytes::{Bytes, BytesMut};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10000);
    let dir = std::env::temp_dir().join(format!("sendpath-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = StoreConfig::with_root(&dir);
    cfg.flush_disk_type = FlushDiskType::AsyncFlush;
    let store = Store::open(cfg).unwrap();
    let header = SendMessageRequestV2 {
        a: "benchmark_producer_group".into(),
        b: "BenchmarkTest".into(),
        c: "TBW102".into(),
        d: 4,
        e: 2,
        f: 0,
        g: 1_764_115_200_000,
        h: 0,
        i: Some("UNIQ_KEY\u{1}7F0000010001B4AAC2A1234567890000\u{2}WAIT\u{1}true\u{2}".into()),
        j: Some(0),
        k: Some(false),
        l: None,
        m: Some(false),
    };
    let mut cmd = RemotingCommand::request(RequestCode::SendMessageV2)
        .with_header(&header)
        .with_body(Bytes::from(vec![b'x'; 124]));
    cmd.serialize_type = SerializeType::RocketMq;
    let mut buf = BytesMut::new();
    cmd.encode(&mut buf).unwrap();
    let frame = buf.freeze().slice(4..);
    let mut out = BytesMut::with_capacity(4096);
    let host: std::net::SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let mut sum = 0usize;
    for _ in 0..n {
        let c = RemotingCommand::decode(frame.clone()).unwrap();
        let h = SendHeader::decode(RequestCode::SendMessageV2, &c.ext_fields).unwrap();
        let mut m = MessageExtBrokerInner {
            topic: h.topic.to_owned(),
            queue_id: h.queue_id,
            flag: h.flag,
            body: c.body.clone(),
            properties: Properties::parse(h.properties.unwrap_or("")),
            sys_flag: h.sys_flag,
            born_timestamp: h.born_timestamp,
            born_host: host,
            store_host: host,
            reconsume_times: h.reconsume_times.unwrap_or(0),
            prepared_transaction_offset: 0,
        };
        m.properties.insert("CLUSTER", "DefaultCluster");
        let uniq = m.properties.get("UNIQ_KEY").map(str::to_owned);
        let a = store.append(&m).unwrap();
        let r0 = a.outcome.appended.first().unwrap();
        let mut r = RemotingCommand::success();
        r.ext_fields.insert("MSG_REGION", "DefaultRegion");
        r.ext_fields.insert("TRACE_ON", "true");
        let mut r = r.with_header(&SendMessageResponse {
            msg_id: basalt_message::encode_offset_msg_id(m.store_host, r0.phys_offset as i64),
            queue_id: m.queue_id,
            queue_offset: r0.queue_offset as i64,
            transaction_id: uniq,
            batch_uniq_id: None,
            recall_handle: None,
        });
        r.serialize_type = cmd.serialize_type;
        out.clear();
        r.encode(&mut out).unwrap();
        sum += out.len();
    }
    println!("{sum}");
    store.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
