//! The SQL92 subset RocketMQ accepts for property subscriptions.

mod ast;
mod build;
mod eval;
mod lexer;
mod parser;

use crate::java::Val;
use crate::FilterError;

/// Longest SQL92 expression accepted, in bytes. Java has no limit; this one is
/// far above any hand-written condition and keeps a hostile client from making
/// the broker parse megabytes per heartbeat.
pub const MAX_EXPRESSION_LEN: usize = 64 * 1024;

/// Deepest nesting accepted (each parenthesis level counts two, as does each
/// prefix `NOT` / `-` and each chained comparison). Parsing and evaluation
/// recurse, so this bounds their stack use; AND / OR chains of any length are
/// flat and do not count.
pub const MAX_DEPTH: usize = 256;

/// A parsed SQL92 filter expression.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlExpr {
    source: String,
    root: ast::Expr,
}

impl SqlExpr {
    /// Parses `expr`, refusing what RocketMQ's `SelectorParser` refuses (plus
    /// trailing input, which Java silently ignores) with the offset and reason.
    pub fn parse(expr: &str) -> Result<SqlExpr, FilterError> {
        if expr.len() > MAX_EXPRESSION_LEN {
            return Err(FilterError::TooLong {
                len: expr.len(),
                max: MAX_EXPRESSION_LEN,
            });
        }
        let tokens = lexer::tokenize(expr)?;
        let root = parser::parse(&tokens)?;
        Ok(SqlExpr {
            source: expr.to_owned(),
            root,
        })
    }

    /// The expression text as the client sent it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether a message with these properties qualifies: only when the
    /// expression is TRUE. Unknown (a missing property reached a comparison)
    /// and the cases where Java throws (e.g. `a > 5` with `a = 'abc'`) do not.
    ///
    /// `props` looks a property up by name. Its results may borrow from
    /// anything that outlives the call, typically the message's property map:
    /// `expr.evaluate(&|k| map.get(k).map(String::as_str))`.
    pub fn evaluate<'p>(&'p self, props: &dyn Fn(&str) -> Option<&'p str>) -> bool {
        matches!(eval::eval(&self.root, props), Ok(Some(Val::Bool(true))))
    }
}
