//! END_TRANSACTION (37) and CHECK_TRANSACTION_STATE (39, broker to client).

use crate::command_header;

command_header! {
    /// END_TRANSACTION request (usually oneway).
    pub struct EndTransactionRequest {
        pub topic: Option<String> => "topic",
        pub producer_group: String => "producerGroup",
        pub tran_state_table_offset: i64 => "tranStateTableOffset",
        pub commit_log_offset: i64 => "commitLogOffset",
        pub commit_or_rollback: i32 => "commitOrRollback",
        pub from_transaction_check: Option<bool> => "fromTransactionCheck",
        pub msg_id: Option<String> => "msgId",
        pub transaction_id: Option<String> => "transactionId",
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE request the broker sends to a producer.
    pub struct CheckTransactionStateRequest {
        pub topic: String => "topic",
        pub tran_state_table_offset: i64 => "tranStateTableOffset",
        pub commit_log_offset: i64 => "commitLogOffset",
        pub msg_id: String => "msgId",
        pub transaction_id: String => "transactionId",
        pub offset_msg_id: String => "offsetMsgId",
        pub bname: Option<String> => "bname",
    }
}

command_header! {
    /// RESUME_CHECK_HALF_MESSAGE (323): `mqadmin resumeCheckHalfMessage`.
    pub struct ResumeCheckHalfMessageRequest {
        pub topic: Option<String> => "topic",
        pub msg_id: String => "msgId",
    }
}
