//! CommitLog record codec: encode and decode (CRC checked) of a 124-byte
//! and a 4 KiB message with the properties a Java producer sets. Run:
//! `cargo bench -p basalt-message --bench record`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use basalt_message::{BlankOrRecord, EncodeParams, MessageExtBrokerInner, Record};
use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn message(body: usize) -> MessageExtBrokerInner {
    let mut m = MessageExtBrokerInner::new("BenchmarkTest", 2, Bytes::from(vec![b'x'; body]));
    m.properties
        .insert("UNIQ_KEY", "7F0000010001B4AAC2A1234567890000");
    m.properties.insert("KEYS", "order-1234");
    m.properties.insert("TAGS", "TagA");
    m.properties.insert("WAIT", "true");
    m.born_timestamp = 1_764_115_200_000;
    m
}

fn bench_record(c: &mut Criterion) {
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Elements(1));
    for body in [124usize, 4096] {
        let m = message(body);
        group.bench_with_input(BenchmarkId::new("encode", body), &m, |b, m| {
            b.iter(|| black_box(Record::encode(black_box(m), EncodeParams::default()).unwrap()));
        });
        let bytes = Bytes::from(Record::encode(&m, EncodeParams::default()).unwrap());
        group.bench_with_input(BenchmarkId::new("decode_crc", body), &bytes, |b, bytes| {
            b.iter(|| black_box(BlankOrRecord::decode(black_box(bytes), true).unwrap()));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_record);
criterion_main!(benches);
