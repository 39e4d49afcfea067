//! Evaluation with Java's three-valued results: `Ok(None)` is Java's `null`
//! (unknown), `Err(Thrown)` an exception the broker would catch and count as
//! "no match". The order in which operands are evaluated follows Java, because
//! it decides whether a throwing comparison is reached at all.

use super::ast::{Expr, Ord, StrOp};
use super::build::lit_val;
use crate::java::{self, Thrown, Val};
use std::cmp::Ordering;

/// A property lookup; values borrow from the message (or anything outliving
/// the evaluation).
pub(crate) trait Props<'a>: Fn(&str) -> Option<&'a str> {}
impl<'a, F: Fn(&str) -> Option<&'a str> + ?Sized> Props<'a> for F {}

type Out<'a> = Result<Option<Val<'a>>, Thrown>;

pub(crate) fn eval<'a>(e: &'a Expr, props: &(impl Props<'a> + ?Sized)) -> Out<'a> {
    Ok(match e {
        Expr::Lit(l) => lit_val(l),
        Expr::Prop(name) => props(name).map(Val::Str),
        // A string is never a Boolean, so a present property casts to FALSE.
        Expr::BoolCast(name) => props(name).map(|_| Val::Bool(false)),
        Expr::Negate(inner) => match eval(inner, props)? {
            Some(Val::Int(v)) => Some(Val::Int(v.wrapping_neg())),
            Some(Val::Long(v)) => Some(Val::Long(v.wrapping_neg())),
            Some(Val::Double(v)) => Some(Val::Double(-v)),
            _ => None,
        },
        Expr::Not(inner) => as_bool(eval(inner, props)?)?.map(|b| Val::Bool(!b)),
        Expr::And(items) => fold(items, props, false)?.map(Val::Bool),
        Expr::Or(items) => fold(items, props, true)?.map(Val::Bool),
        Expr::Eq(l, r) => equal(eval(l, props)?, eval(r, props)?)?.map(Val::Bool),
        Expr::IsNull(inner) => Some(Val::Bool(eval(inner, props)?.is_none())),
        Expr::Order(op, l, r) => {
            let Some(lv) = eval(l, props)? else {
                return Ok(None);
            };
            order(*op, lv, r, props)?.map(Val::Bool)
        }
        Expr::Between {
            negated,
            value,
            low,
            high,
        } => between(*negated, eval(value, props)?, low, high, props)?.map(Val::Bool),
        Expr::In {
            prop,
            list,
            negated,
        } => props(prop).map(|v| Val::Bool(list.contains(v) != *negated)),
        Expr::Str {
            op,
            negated,
            operand,
            search,
        } => Some(Val::Bool(string_op(*op, *negated, operand, search, props)?)),
    })
}

/// Java casts a boolean operand's value to `Boolean`; anything else would be a
/// `ClassCastException`.
fn as_bool(v: Option<Val<'_>>) -> Result<Option<bool>, Thrown> {
    match v {
        None => Ok(None),
        Some(Val::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(Thrown),
    }
}

/// A left-leaning chain of AND (`short_on` false) or OR (`short_on` true):
/// stop at the first decisive operand, otherwise unknown if any was unknown.
fn fold<'a>(
    items: &'a [Expr],
    props: &(impl Props<'a> + ?Sized),
    short_on: bool,
) -> Result<Option<bool>, Thrown> {
    let mut acc = Some(!short_on);
    for item in items {
        if acc == Some(short_on) {
            break;
        }
        acc = combine(acc, as_bool(eval(item, props)?)?, short_on);
    }
    Ok(acc)
}

fn combine(a: Option<bool>, b: Option<bool>, short_on: bool) -> Option<bool> {
    if a == Some(short_on) || b == Some(short_on) {
        Some(short_on)
    } else if a.is_none() || b.is_none() {
        None
    } else {
        Some(!short_on)
    }
}

/// Java's equality: both null is TRUE, a null left is unknown, a null right is
/// FALSE; otherwise `equals`, then `compareTo` after conversion.
fn equal(l: Option<Val<'_>>, r: Option<Val<'_>>) -> Result<Option<bool>, Thrown> {
    Ok(match (l, r) {
        (None, None) => Some(true),
        (None, Some(_)) => None,
        (Some(_), None) => Some(false),
        (Some(a), Some(b)) => Some(java::equals(a, b) || java::compare(a, b)? == Ordering::Equal),
    })
}

fn order<'a>(
    op: Ord,
    lv: Val<'a>,
    r: &'a Expr,
    props: &(impl Props<'a> + ?Sized),
) -> Result<Option<bool>, Thrown> {
    let Some(rv) = eval(r, props)? else {
        return Ok(None);
    };
    let ordering = match (lv, rv) {
        // Two strings are only comparable as numbers.
        (Val::Str(a), Val::Str(b)) => {
            java::double_cmp(java::parse_double(a)?, java::parse_double(b)?)
        }
        _ => java::compare(lv, rv)?,
    };
    Ok(Some(match op {
        Ord::Gt => ordering == Ordering::Greater,
        Ord::Ge => ordering != Ordering::Less,
        Ord::Lt => ordering == Ordering::Less,
        Ord::Le => ordering != Ordering::Greater,
    }))
}

/// `v >= lo AND v <= hi`, or `v < lo OR v > hi` when negated, evaluated in
/// Java's order with `v` computed once.
fn between<'a>(
    negated: bool,
    v: Option<Val<'a>>,
    low: &'a Expr,
    high: &'a Expr,
    props: &(impl Props<'a> + ?Sized),
) -> Result<Option<bool>, Thrown> {
    let (low_op, high_op) = if negated {
        (Ord::Lt, Ord::Gt)
    } else {
        (Ord::Ge, Ord::Le)
    };
    let Some(v) = v else {
        return Ok(None);
    };
    let first = order(low_op, v, low, props)?;
    if first == Some(negated) {
        return Ok(first);
    }
    let second = order(high_op, v, high, props)?;
    Ok(combine(first, second, negated))
}

/// CONTAINS and friends are two-valued: an empty search, a missing value and a
/// non-string value are all FALSE, for the negated forms too.
fn string_op<'a>(
    op: StrOp,
    negated: bool,
    operand: &'a Expr,
    search: &str,
    props: &(impl Props<'a> + ?Sized),
) -> Result<bool, Thrown> {
    if search.is_empty() {
        return Ok(false);
    }
    let Some(Val::Str(s)) = eval(operand, props)? else {
        return Ok(false);
    };
    let found = match op {
        StrOp::Contains => s.contains(search),
        StrOp::StartsWith => s.starts_with(search),
        StrOp::EndsWith => s.ends_with(search),
    };
    Ok(found != negated)
}
