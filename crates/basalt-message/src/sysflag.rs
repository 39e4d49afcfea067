//! `MessageSysFlag` bits.

/// Body is compressed (type in bits 8-10; type 0 means zlib).
pub const COMPRESSED: i32 = 0x1;
/// Topic filter type MULTI_TAG.
pub const MULTI_TAGS: i32 = 0x2;
/// Transaction type mask (bits 2-3).
pub const TRANSACTION_MASK: i32 = 0xC;
/// Not a transactional message.
pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
/// Half (prepared) message.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
/// Commit record.
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
/// Rollback record.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
/// Born host is IPv6 (16 address bytes).
pub const BORNHOST_V6: i32 = 0x10;
/// Store host is IPv6 (16 address bytes).
pub const STOREHOST_V6: i32 = 0x20;
/// Client must split an inner batch.
pub const NEED_UNWRAP: i32 = 0x40;
/// Record holds an inner batch.
pub const INNER_BATCH: i32 = 0x80;

/// The transaction type bits of `sys_flag`.
pub fn transaction_type(sys_flag: i32) -> i32 {
    sys_flag & TRANSACTION_MASK
}

/// Prepared and rollback records never enter a ConsumeQueue.
pub fn is_consumable(sys_flag: i32) -> bool {
    matches!(
        transaction_type(sys_flag),
        TRANSACTION_NOT_TYPE | TRANSACTION_COMMIT_TYPE
    )
}
