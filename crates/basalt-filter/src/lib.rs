//! Broker-side message filters: RocketMQ tag expressions and its SQL92 subset.
//!
//! Where this sits on the data path: a consumer announces its subscription
//! (topic, expression type, expression) in a heartbeat or a
//! `CHECK_CLIENT_CONFIG` request. The broker parses the expression there, once,
//! with [`Filter::parse`] and refuses a bad one with the [`FilterError`] text.
//! On every pull or pop it then asks the parsed filter whether a message
//! qualifies: a [`TagFilter`] against the ConsumeQueue tags code first (a hash,
//! so cheap), an [`SqlExpr`] against the message's properties read from the
//! CommitLog record.
//!
//! The behaviour follows Apache RocketMQ's `filter` module (a JMS-selector
//! derivative), including its odd corners: Java number conversions when a
//! property string meets a numeric literal, three-valued logic where a missing
//! property is `NULL`, and comparisons that throw in Java (the broker then
//! drops the message) modelled as "does not match".
//!
//! This crate is pure: no I/O, no async, no dependency on any other Basalt
//! crate. Expressions come from clients, so parsing is bounded in length
//! ([`MAX_EXPRESSION_LEN`]) and nesting ([`MAX_DEPTH`]) and never panics.

mod error;
mod java;
mod sql;
mod tag;

pub use error::FilterError;
pub use sql::{SqlExpr, MAX_DEPTH, MAX_EXPRESSION_LEN};
pub use tag::{java_string_hash, TagFilter};

/// The `expressionType` RocketMQ uses for tag subscriptions.
pub const EXPRESSION_TYPE_TAG: &str = "TAG";
/// The `expressionType` RocketMQ uses for SQL92 property subscriptions.
pub const EXPRESSION_TYPE_SQL92: &str = "SQL92";

/// Whether `expression_type` names tag subscriptions: `TAG` in any case,
/// or empty (Java's `ExpressionType.isTagType`).
pub fn is_tag_type(expression_type: &str) -> bool {
    expression_type.is_empty() || expression_type.eq_ignore_ascii_case(EXPRESSION_TYPE_TAG)
}

/// A parsed subscription filter, ready to be evaluated for each message.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `TagA || TagB`, `*` or empty.
    Tag(TagFilter),
    /// A SQL92 condition over message properties.
    Sql(SqlExpr),
}

impl Filter {
    /// Parses `expr` as a filter of `expression_type`.
    ///
    /// `expression_type` is `"TAG"` or `"SQL92"`, compared case-insensitively;
    /// an empty type means `TAG`, as Java's `ExpressionType.isTagType` has it.
    /// Anything else is [`FilterError::UnknownType`].
    pub fn parse(expression_type: &str, expr: &str) -> Result<Filter, FilterError> {
        if is_tag_type(expression_type) {
            Ok(Filter::Tag(TagFilter::parse(expr)))
        } else if expression_type.eq_ignore_ascii_case(EXPRESSION_TYPE_SQL92) {
            SqlExpr::parse(expr).map(Filter::Sql)
        } else {
            Err(FilterError::UnknownType(expression_type.to_owned()))
        }
    }
}
