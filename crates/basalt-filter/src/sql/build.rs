//! The checks Java's expression factories make while the parser builds nodes
//! (`asBooleanExpression`, `checkEqualOperand`, `checkLessThanOperand`,
//! `createBetween`, literal creation): the same expressions are refused here,
//! at subscription time, with a message saying why.

use super::ast::{Expr, Lit, Ord};
use crate::java::{self, Val};
use crate::FilterError;
use std::cmp::Ordering;

type Res = Result<Expr, FilterError>;

/// Java's `asBooleanExpression`.
pub(super) fn as_bool(e: Expr, at: usize) -> Res {
    match e {
        Expr::Prop(name) => Ok(Expr::BoolCast(name)),
        e if e.is_boolean() => Ok(e),
        _ => Err(FilterError::syntax(
            at,
            "this operand does not produce a boolean value",
        )),
    }
}

fn lit_text(l: &Lit) -> String {
    match l {
        Lit::Int(v) => v.to_string(),
        Lit::Long(v) => v.to_string(),
        Lit::Double(v) => v.to_string(),
        Lit::Bool(v) => v.to_string().to_uppercase(),
        Lit::Str(s) => format!("'{s}'"),
        Lit::Null => "NULL".to_owned(),
    }
}

/// Java's `checkEqualOperand` and `checkEqualOperandCompatability`.
pub(super) fn check_equal(l: &Expr, r: &Expr, at: usize) -> Result<(), FilterError> {
    if matches!(l, Expr::Lit(Lit::Null)) || matches!(r, Expr::Lit(Lit::Null)) {
        return Err(FilterError::syntax(
            at,
            "NULL cannot be compared with = or <>; use IS NULL / IS NOT NULL",
        ));
    }
    if let (Expr::Lit(a @ Lit::Bool(_)), Expr::Lit(b)) = (l, r) {
        if !matches!(b, Lit::Bool(_)) {
            let msg = format!("{} cannot be compared with {}", lit_text(a), lit_text(b));
            return Err(FilterError::syntax(at, msg));
        }
    }
    Ok(())
}

/// Java's `checkLessThanOperand`: only numbers, properties and arithmetic.
fn check_order_operand(e: &Expr, at: usize) -> Result<(), FilterError> {
    let bad = match e {
        Expr::Lit(Lit::Int(_) | Lit::Long(_) | Lit::Double(_)) => None,
        Expr::Lit(l) => Some(lit_text(l)),
        e if e.is_boolean() => Some("a boolean condition".to_owned()),
        _ => None,
    };
    match bad {
        Some(what) => Err(FilterError::syntax(
            at,
            format!("{what} cannot be compared with <, <=, >, >= or BETWEEN; only numbers can"),
        )),
        None => Ok(()),
    }
}

pub(super) fn order(op: Ord, l: Expr, r: Expr, at: usize) -> Res {
    check_order_operand(&l, at)?;
    check_order_operand(&r, at)?;
    Ok(Expr::Order(op, Box::new(l), Box::new(r)))
}

pub(super) fn between(negated: bool, value: Expr, low: Expr, high: Expr, at: usize) -> Res {
    // Only the positive form checks its literal bounds, as in Java.
    if let (false, Expr::Lit(lo), Expr::Lit(hi)) = (negated, &low, &high) {
        let (Some(lo_v), Some(hi_v)) = (lit_val(lo), lit_val(hi)) else {
            return Err(FilterError::syntax(at, "BETWEEN bounds cannot be NULL"));
        };
        let ordering = java::compare(hi_v, lo_v).map_err(|_| {
            FilterError::syntax(
                at,
                format!(
                    "BETWEEN bounds {} and {} cannot be compared",
                    lit_text(lo),
                    lit_text(hi)
                ),
            )
        })?;
        if ordering == Ordering::Less {
            let msg = format!(
                "BETWEEN lower bound {} is greater than upper bound {}",
                lit_text(lo),
                lit_text(hi)
            );
            return Err(FilterError::syntax(at, msg));
        }
    }
    for e in [&value, &low, &high] {
        check_order_operand(e, at)?;
    }
    Ok(Expr::Between {
        negated,
        value: Box::new(value),
        low: Box::new(low),
        high: Box::new(high),
    })
}

pub(crate) fn lit_val(l: &Lit) -> Option<Val<'_>> {
    Some(match l {
        Lit::Int(v) => Val::Int(*v),
        Lit::Long(v) => Val::Long(*v),
        Lit::Double(v) => Val::Double(*v),
        Lit::Bool(v) => Val::Bool(*v),
        Lit::Str(s) => Val::Str(s),
        Lit::Null => return None,
    })
}

/// Java's `ConstantExpression.createFromDecimal`.
pub(super) fn decimal(image: &str, at: usize) -> Result<Lit, FilterError> {
    let digits = image.strip_suffix(['l', 'L']).unwrap_or(image);
    let v: i64 = digits.parse().map_err(|_| {
        FilterError::syntax(
            at,
            format!("integer {image} is out of range (at most {})", i64::MAX),
        )
    })?;
    Ok(i32::try_from(v).map_or(Lit::Long(v), Lit::Int))
}

/// Java's `ConstantExpression.createFloat`, which also refuses zero (it is
/// below `Double.MIN_VALUE`).
pub(super) fn float(image: &str, at: usize) -> Result<Lit, FilterError> {
    let v: f64 = image
        .parse()
        .map_err(|_| FilterError::syntax(at, format!("malformed number {image}")))?;
    if v.is_infinite() {
        return Err(FilterError::syntax(
            at,
            format!("number {image} is larger than the largest double"),
        ));
    }
    if v < f64::from_bits(1) {
        return Err(FilterError::syntax(at, format!("number {image} is smaller than the smallest positive double (RocketMQ refuses 0.0 and underflows)")));
    }
    Ok(Lit::Double(v))
}
