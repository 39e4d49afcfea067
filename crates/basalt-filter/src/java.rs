//! The slice of Java value semantics RocketMQ's SQL filter leans on: boxed
//! `Integer` / `Long` / `Double` / `Boolean` / `String` values, `equals`,
//! `compareTo`, and the `valueOf(String)` conversions used when a property
//! (always a string) meets a literal of another type.

use std::cmp::Ordering;

/// A non-null Java value produced while evaluating an expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val<'a> {
    Int(i32),
    Long(i64),
    Double(f64),
    Bool(bool),
    Str(&'a str),
}

/// A Java exception escaped the evaluation. The broker catches it, logs it and
/// treats the message as not matching, so there is nothing to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Thrown;

/// `Object.equals` between two boxed values: different boxes are never equal.
pub(crate) fn equals(a: Val<'_>, b: Val<'_>) -> bool {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => x == y,
        (Val::Long(x), Val::Long(y)) => x == y,
        (Val::Double(x), Val::Double(y)) => double_bits(x) == double_bits(y),
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        _ => false,
    }
}

/// RocketMQ's `ComparisonExpression.__compare` with string conversion on: the
/// left value's type decides how the right one is converted. Incompatible types
/// compare as "less" (Java returns -1); failed string conversions and the
/// Boolean-vs-String cast throw.
pub(crate) fn compare(l: Val<'_>, r: Val<'_>) -> Result<Ordering, Thrown> {
    use Val::{Bool, Double, Int, Long, Str};
    Ok(match (l, r) {
        (Int(a), Int(b)) => a.cmp(&b),
        (Long(a), Long(b)) => a.cmp(&b),
        (Double(a), Double(b)) => double_cmp(a, b),
        (Bool(a), Bool(b)) => a.cmp(&b),
        (Str(a), Str(b)) => a.cmp(b),
        (Int(a), Long(b)) => i64::from(a).cmp(&b),
        (Long(a), Int(b)) => a.cmp(&i64::from(b)),
        (Int(a), Double(b)) => double_cmp(f64::from(a), b),
        (Double(a), Int(b)) => double_cmp(a, f64::from(b)),
        // Java widens long to double here, losing precision like this cast.
        #[allow(clippy::cast_precision_loss)]
        (Long(a), Double(b)) => double_cmp(a as f64, b),
        #[allow(clippy::cast_precision_loss)]
        (Double(a), Long(b)) => double_cmp(a, b as f64),
        (Int(a), Str(b)) => a.cmp(&parse_int(b)?),
        (Long(a), Str(b)) => a.cmp(&parse_long(b)?),
        (Double(a), Str(b)) => double_cmp(a, parse_double(b)?),
        (Str(a), Int(b)) => parse_int(a)?.cmp(&b),
        (Str(a), Long(b)) => parse_long(a)?.cmp(&b),
        (Str(a), Double(b)) => double_cmp(parse_double(a)?, b),
        (Str(a), Bool(b)) => boolean_value_of(a).cmp(&b),
        // Java casts the Boolean to String: ClassCastException.
        (Bool(_), Str(_)) => return Err(Thrown),
        (Bool(_), _) | (_, Bool(_)) => Ordering::Less,
    })
}

/// `Double.compareTo`: numeric order, except NaN is above everything and equal
/// to itself, and -0.0 is below 0.0.
pub(crate) fn double_cmp(a: f64, b: f64) -> Ordering {
    match a.partial_cmp(&b) {
        Some(Ordering::Equal) | None => double_bits(a).cmp(&double_bits(b)),
        Some(o) => o,
    }
}

/// `Double.doubleToLongBits`: every NaN collapses to one pattern.
fn double_bits(d: f64) -> i64 {
    if d.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        // Reinterpreting the bits is the point.
        #[allow(clippy::cast_possible_wrap)]
        let bits = d.to_bits() as i64;
        bits
    }
}

/// `Boolean.valueOf(String)`.
pub(crate) fn boolean_value_of(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

/// `Integer.valueOf(String)`.
pub(crate) fn parse_int(s: &str) -> Result<i32, Thrown> {
    i32::try_from(parse_long(s)?).map_err(|_| Thrown)
}

/// `Long.valueOf(String)`: an optional sign and ASCII digits, nothing else (no
/// whitespace).
pub(crate) fn parse_long(s: &str) -> Result<i64, Thrown> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Thrown);
    }
    s.parse::<i64>().map_err(|_| Thrown)
}

/// `Double.valueOf(String)` for decimal notation: surrounding chars up to
/// U+0020 are trimmed, then an optional sign and either `NaN`, `Infinity`, or
/// digits with an optional point and exponent, and an optional `f`/`d` suffix.
pub(crate) fn parse_double(s: &str) -> Result<f64, Thrown> {
    let t = s.trim_matches(|c: char| c <= ' ');
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..).unwrap_or("")),
        Some(b'+') => (false, t.get(1..).unwrap_or("")),
        _ => (false, t),
    };
    let magnitude = match body {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => {
            let number = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
            if !is_java_decimal(number) {
                return Err(Thrown);
            }
            number.parse::<f64>().map_err(|_| Thrown)?
        }
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// `digits [. digits] [e [sign] digits]` with at least one mantissa digit.
fn is_java_decimal(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i + 1..)),
        None => (s, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int_part = parts.next().unwrap_or("");
    let frac_part = parts.next().unwrap_or("");
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int_part)
        && all_digits(frac_part)
        && !(int_part.is_empty() && frac_part.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let d = e.strip_prefix(['+', '-']).unwrap_or(e);
        !d.is_empty() && all_digits(d)
    });
    mantissa_ok && exponent_ok
}
