use thiserror::Error;

/// Why a subscription expression was refused.
///
/// The text is meant to be sent back to the client as the remark of the
/// refused heartbeat / `CHECK_CLIENT_CONFIG`, so it names the place and the
/// problem in the client's own expression.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    /// The expression type is neither `TAG` nor `SQL92`.
    #[error("unknown filter expression type {0:?} (expected TAG or SQL92)")]
    UnknownType(String),
    /// The SQL92 expression is malformed or ill-typed. `position` is the
    /// 0-based byte offset in the expression where the problem was found.
    #[error("invalid SQL92 expression at offset {position}: {message}")]
    Syntax {
        /// 0-based byte offset into the expression.
        position: usize,
        /// What is wrong there.
        message: String,
    },
    /// The expression exceeds [`crate::MAX_EXPRESSION_LEN`] bytes.
    #[error("SQL92 expression is {len} bytes long, the limit is {max}")]
    TooLong {
        /// Length of the refused expression in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The expression nests deeper than [`crate::MAX_DEPTH`].
    #[error("SQL92 expression nests too deeply at offset {position} (limit {max})")]
    TooDeep {
        /// 0-based byte offset where the limit was crossed.
        position: usize,
        /// The limit.
        max: usize,
    },
}

impl FilterError {
    pub(crate) fn syntax(position: usize, message: impl Into<String>) -> Self {
        FilterError::Syntax {
            position,
            message: message.into(),
        }
    }
}
