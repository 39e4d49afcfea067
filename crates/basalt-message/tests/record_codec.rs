use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use basalt_message::{
    decode_batch, encode_batch, record_len, BatchItem, BlankOrRecord, EncodeParams,
    MessageExtBrokerInner, Properties, Record, MAGIC_CODE_V1,
};
use bytes::Bytes;
use proptest::prelude::*;

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), p)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), p)),
    ]
}

fn message() -> impl Strategy<Value = MessageExtBrokerInner> {
    (
        "[a-zA-Z0-9_%-]{1,200}",
        any::<i32>(),
        any::<i32>(),
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::btree_map("[A-Z_]{1,6}", "[^\u{1}\u{2}]{1,10}", 0..5),
        (0i32..4).prop_map(|t| t << 2),
        any::<i64>(),
        addr(),
        addr(),
        any::<i32>(),
        any::<i64>(),
    )
        .prop_map(|(topic, q, flag, body, props, tx, born, bh, sh, rt, pto)| {
            let mut m = MessageExtBrokerInner::new(topic, q, body);
            m.flag = flag;
            m.properties = props.into_iter().collect();
            m.sys_flag = tx;
            m.born_timestamp = born;
            m.born_host = bh;
            m.store_host = sh;
            m.reconsume_times = rt;
            m.prepared_transaction_offset = pto;
            m
        })
}

proptest! {
    #[test]
    fn record_round_trip(m in message(), qo in any::<i64>(), po in any::<i64>(), st in any::<i64>()) {
        let params = EncodeParams { queue_offset: qo, physical_offset: po, store_timestamp: st };
        let buf = Record::encode(&m, params).unwrap();
        // Planned, then written after other bytes as the store stages it:
        // the same record, exactly as long as planned.
        let plan = Record::plan(&m).unwrap();
        let mut staged = b"earlier".to_vec();
        plan.write_into(params, &mut staged);
        prop_assert_eq!(plan.len(), buf.len());
        prop_assert_eq!(&staged[7..], &buf[..]);
        let v2 = m.topic.len() > 127;
        let props = m.properties.encode();
        let expected_len = record_len(v2, buf[36..40].iter().fold(0i32, |a, b| a << 8 | i32::from(*b)),
            m.body.len(), m.topic.len(), props.len());
        prop_assert_eq!(buf.len(), expected_len);
        let bytes = Bytes::from(buf);
        let BlankOrRecord::Record(r) = BlankOrRecord::decode(&bytes, true).unwrap() else {
            panic!("blank")
        };
        prop_assert_eq!(r.v2, v2);
        prop_assert_eq!(&r.topic, &m.topic);
        prop_assert_eq!(r.queue_id, m.queue_id);
        prop_assert_eq!(r.flag, m.flag);
        prop_assert_eq!(r.queue_offset, qo);
        prop_assert_eq!(r.physical_offset, po);
        prop_assert_eq!(r.store_timestamp, st);
        prop_assert_eq!(r.born_timestamp, m.born_timestamp);
        prop_assert_eq!(r.born_host, m.born_host);
        prop_assert_eq!(r.store_host, m.store_host);
        prop_assert_eq!(r.reconsume_times, m.reconsume_times);
        prop_assert_eq!(r.prepared_transaction_offset, m.prepared_transaction_offset);
        prop_assert_eq!(&r.body, &m.body);
        prop_assert_eq!(r.properties(), m.properties.clone());
        prop_assert_eq!(r.sys_flag & 0xC, m.sys_flag & 0xC);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), crc in any::<bool>()) {
        let _ = BlankOrRecord::decode(&Bytes::from(bytes.clone()), crc);
        let _ = decode_batch(&Bytes::from(bytes));
    }

    #[test]
    fn mutated_records_never_panic(m in message(), pos in any::<prop::sample::Index>(), val in any::<u8>()) {
        let mut buf = Record::encode(&m, EncodeParams::default()).unwrap();
        let i = pos.index(buf.len());
        buf[i] = val;
        let _ = BlankOrRecord::decode(&Bytes::from(buf), true);
    }

    #[test]
    fn batch_round_trip(items in proptest::collection::vec((any::<i32>(), proptest::collection::vec(any::<u8>(), 0..50),
        proptest::collection::btree_map("[A-Z]{1,4}", "[a-z]{1,4}", 0..3)), 0..6)) {
        let items: Vec<BatchItem> = items.into_iter().map(|(flag, body, p)| BatchItem {
            flag, body: Bytes::from(body), properties: p.into_iter().collect::<Properties>() }).collect();
        let enc = Bytes::from(encode_batch(&items).unwrap());
        prop_assert_eq!(decode_batch(&enc).unwrap(), items);
    }
}

#[test]
fn v1_ipv4_layout_is_91_plus_fields() {
    let m = MessageExtBrokerInner::new("T", 3, &b"hello"[..]);
    let buf = Record::encode(&m, EncodeParams::default()).unwrap();
    assert_eq!(buf.len(), 91 + 5 + 1);
    assert_eq!(&buf[4..8], &MAGIC_CODE_V1.to_be_bytes());
    // crc32("hello") = 0x3610A686
    assert_eq!(&buf[8..12], &0x3610_A686u32.to_be_bytes());
    assert_eq!(buf[88 + 5], 1);
}

#[test]
fn corrupted_body_fails_crc() {
    let m = MessageExtBrokerInner::new("T", 0, &b"payload"[..]);
    let mut buf = Record::encode(&m, EncodeParams::default()).unwrap();
    buf[90] ^= 0xFF;
    let err = BlankOrRecord::decode(&Bytes::from(buf), true).unwrap_err();
    assert!(matches!(
        err,
        basalt_message::MessageError::CrcMismatch { .. }
    ));
}

#[test]
fn blank_marker_decodes() {
    let b = Bytes::copy_from_slice(&BlankOrRecord::blank_marker(1234));
    assert_eq!(
        BlankOrRecord::decode(&b, true).unwrap(),
        BlankOrRecord::Blank { size: 1234 }
    );
}

#[test]
fn oversize_properties_is_an_error() {
    let mut m = MessageExtBrokerInner::new("T", 0, Bytes::new());
    m.properties.insert("K", "v".repeat(40_000));
    assert!(Record::encode(&m, EncodeParams::default()).is_err());
}
