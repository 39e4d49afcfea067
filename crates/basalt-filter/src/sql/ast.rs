//! The parsed form of an SQL92 filter. Node kinds mirror the Java expression
//! classes closely enough that the evaluator can follow Java's evaluation
//! order (which decides whether a throwing comparison is reached at all).

use std::collections::BTreeSet;

/// A literal. Integers keep Java's `Integer` / `Long` split because the box
/// type decides how a property string is converted when compared with it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Int(i32),
    Long(i64),
    Double(f64),
    Bool(bool),
    Str(String),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ord {
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Lit(Lit),
    Prop(String),
    /// A property used where a boolean is expected: never TRUE, since
    /// property values are strings.
    BoolCast(String),
    Negate(Box<Expr>),
    Not(Box<Expr>),
    /// Left-to-right chains of AND; folding them keeps evaluation depth flat.
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Eq(Box<Expr>, Box<Expr>),
    Order(Ord, Box<Expr>, Box<Expr>),
    IsNull(Box<Expr>),
    /// `v BETWEEN lo AND hi`, which Java rewrites to `v >= lo AND v <= hi`
    /// (or `v < lo OR v > hi` when negated). Kept as one node so `v` is
    /// stored and evaluated once; its value cannot change in between.
    Between {
        negated: bool,
        value: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    In {
        prop: String,
        /// A set: lists can be long and are probed once per message.
        list: BTreeSet<String>,
        negated: bool,
    },
    Str {
        op: StrOp,
        negated: bool,
        operand: Box<Expr>,
        search: String,
    },
}

impl Expr {
    /// Whether Java's parser would see a `BooleanExpression` here.
    pub(crate) fn is_boolean(&self) -> bool {
        match self {
            Expr::Lit(l) => matches!(l, Lit::Bool(_) | Lit::Null),
            Expr::Prop(_) | Expr::Negate(_) => false,
            _ => true,
        }
    }
}
