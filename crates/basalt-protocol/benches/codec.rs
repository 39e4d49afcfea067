//! Frame codec: a SEND_MESSAGE_V2 request (124-byte body) and its response,
//! decoded and encoded in both header formats. Run:
//! `cargo bench -p basalt-protocol --bench codec`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use basalt_protocol::headers::send::{SendMessageRequestV2, SendMessageResponse};
use basalt_protocol::{RemotingCommand, RequestCode, SerializeType};
use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn send_request(format: SerializeType) -> RemotingCommand {
    let header = SendMessageRequestV2 {
        a: "benchmark_producer".into(),
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
    cmd.opaque = 42;
    cmd.serialize_type = format;
    cmd
}

fn send_response(format: SerializeType) -> RemotingCommand {
    let mut cmd = RemotingCommand::success().with_header(&SendMessageResponse {
        msg_id: "7F00000100002A9F0000000000012345".into(),
        queue_id: 2,
        queue_offset: 123_456,
        transaction_id: Some("7F0000010001B4AAC2A1234567890000".into()),
        batch_uniq_id: None,
        recall_handle: None,
    });
    cmd.opaque = 42;
    cmd.serialize_type = format;
    cmd
}

fn frame_of(cmd: &RemotingCommand) -> Bytes {
    let mut buf = BytesMut::new();
    cmd.encode(&mut buf).unwrap();
    // decode() takes the frame after the 4-byte length prefix.
    buf.freeze().slice(4..)
}

fn bench_codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(1));
    for (name, format) in [
        ("binary", SerializeType::RocketMq),
        ("json", SerializeType::Json),
    ] {
        let req = frame_of(&send_request(format));
        group.bench_function(format!("decode_send_v2/{name}"), |b| {
            b.iter(|| {
                let cmd = RemotingCommand::decode(black_box(req.clone())).unwrap();
                let h: SendMessageRequestV2 = cmd.header().unwrap();
                black_box(h);
            });
        });
        let resp = send_response(format);
        let mut buf = BytesMut::with_capacity(4096);
        group.bench_function(format!("encode_send_response/{name}"), |b| {
            b.iter(|| {
                buf.clear();
                black_box(&resp).encode(&mut buf).unwrap();
                black_box(buf.len());
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_codec);
criterion_main!(benches);
