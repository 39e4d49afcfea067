//! The JSON header in the shape clients write it, read without serde.
//!
//! Java applications send JSON headers by default. Through serde_json a
//! send's header cost ~13 K instructions, over a third of the broker's
//! work for the send: a UTF-8 check per string, generic field matching, a
//! visitor per value.
//! Clients all write one flat object: integers and strings at the top,
//! `extFields` an object of strings (C++: some integers). This reader takes
//! that shape, checks the whole header as UTF-8 once and finds string ends
//! eight bytes at a time. Anything outside it (a nested value, a fraction or
//! exponent, a surrogate escape, whitespace other than spaces, a repeated
//! top-level key, an error of any kind) yields `None`, and the header goes
//! through serde_json, which reads it or reports the error. A property test
//! holds the two readers to the same result on every input this one takes.

use std::borrow::Cow;

use crate::ext_fields::ExtFieldsBuilder;
use crate::json_header::{ExtIn, Field, In};
use crate::ExtFields;

/// Reads `header` if it has the common shape; `None` leaves it to serde.
pub(crate) fn scan(header: &[u8]) -> Option<In<'_>> {
    // A byte below 0x20 is whitespace Java never writes, or a raw control
    // character, which is an error inside a string. Folded, not `any`: the
    // loop then has no early exit and compiles to vector compares.
    if header.iter().fold(false, |seen, &b| seen | (b < 0x20)) {
        return None;
    }
    let text = std::str::from_utf8(header).ok()?;
    let mut s = Scanner { text, at: 0 };
    let mut h = In::default();
    s.eat(b'{')?;
    if s.eat(b'}').is_none() {
        loop {
            let key = s.string()?;
            s.eat(b':')?;
            match &*key {
                "code" => put(&mut h.code, s.field()?)?,
                "language" => put(&mut h.language, s.field()?)?,
                "version" => put(&mut h.version, s.field()?)?,
                "opaque" => put(&mut h.opaque, s.field()?)?,
                "flag" => put(&mut h.flag, s.field()?)?,
                "remark" => put(&mut h.remark, s.field()?)?,
                "extFields" => put(&mut h.ext_fields, ExtIn(s.ext_fields()?))?,
                // Unknown keys are ignored, as serde ignores them.
                _ => drop(s.field()?),
            }
            if s.eat(b',').is_none() {
                s.eat(b'}')?;
                break;
            }
        }
    }
    s.skip_spaces();
    (s.at == text.len()).then_some(h)
}

/// A repeated key is serde's "duplicate field" error: not ours to report.
fn put<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

struct Scanner<'a> {
    /// The whole header, checked as UTF-8.
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    /// Consumes `b` (after spaces) if it is next.
    fn eat(&mut self, b: u8) -> Option<()> {
        self.skip_spaces();
        (self.peek()? == b).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let rest = self.text.get(self.at..)?;
        rest.starts_with(word).then(|| self.at += word.len())
    }

    /// A top-level value.
    fn field(&mut self) -> Option<Field<'a>> {
        self.skip_spaces();
        match self.peek()? {
            b'"' => self.string().map(Field::Str),
            b'-' | b'0'..=b'9' => self.integer().map(|(_, field)| field),
            b't' => self.literal("true").map(|()| Field::Other),
            b'f' => self.literal("false").map(|()| Field::Other),
            b'n' => self.literal("null").map(|()| Field::Null),
            _ => None,
        }
    }

    /// `extFields`: an object, or null (no fields).
    fn ext_fields(&mut self) -> Option<ExtFields> {
        self.skip_spaces();
        if self.peek()? == b'n' {
            self.literal("null")?;
            return Some(ExtFields::new());
        }
        self.eat(b'{')?;
        // Unescaping only shortens text: the header's length is enough.
        let mut text = String::with_capacity(self.text.len());
        let mut ext = ExtFieldsBuilder::with_capacity(16);
        if self.eat(b'}').is_none() {
            loop {
                let start = text.len();
                self.string_into(&mut text)?;
                let key = (start, text.len());
                self.eat(b':')?;
                // A null value is dropped, as Java drops null fields.
                if let Some(value) = self.ext_value(&mut text)? {
                    ext.push(key, value);
                }
                if self.eat(b',').is_none() {
                    self.eat(b'}')?;
                    break;
                }
            }
        }
        Some(ext.finish_own(text))
    }

    /// One `extFields` value appended to `text` as Java's `toString()`
    /// would have written it; `Some(None)` for null.
    fn ext_value(&mut self, text: &mut String) -> Option<Option<(usize, usize)>> {
        self.skip_spaces();
        let start = text.len();
        match self.peek()? {
            b'"' => self.string_into(text)?,
            // The literal is the integer's canonical text (no leading zero,
            // no "-0": `integer` leaves those to serde).
            b'-' | b'0'..=b'9' => text.push_str(self.integer()?.0),
            b't' => {
                self.literal("true")?;
                text.push_str("true");
            }
            b'f' => {
                self.literal("false")?;
                text.push_str("false");
            }
            b'n' => {
                self.literal("null")?;
                return Some(None);
            }
            _ => return None,
        }
        Some(Some((start, text.len())))
    }

    /// An integer in its canonical form, `-?(0|[1-9][0-9]*)`, that fits
    /// serde_json's i64 (negative) or u64: its text and value.
    fn integer(&mut self) -> Option<(&'a str, Field<'a>)> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let digits_at = self.at;
        let mut value = 0u64;
        while let Some(d) = self
            .peek()
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|d| *d <= 9)
        {
            value = value.checked_mul(10)?.checked_add(u64::from(d))?;
            self.at += 1;
        }
        let digits = self.text.get(digits_at..self.at)?;
        let leading_zero = digits.starts_with('0') && (digits.len() > 1 || negative);
        if digits.is_empty() || leading_zero || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let literal = self.text.get(start..self.at)?;
        let field = if negative {
            Field::Int(i64::try_from(-i128::from(value)).ok()?)
        } else {
            Field::Uint(value)
        };
        Some((literal, field))
    }

    /// A string, borrowed from the header when it has no escape.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.at;
        let rest = self.text.as_bytes().get(start..)?;
        let end = plain_len(rest);
        if rest.get(end) == Some(&b'"') {
            self.at = start + end + 1;
            return self.text.get(start..start + end).map(Cow::Borrowed);
        }
        let mut own = String::new();
        self.at = start - 1;
        self.string_into(&mut own)?;
        Some(Cow::Owned(own))
    }

    /// Appends a string's text, unescaped, to `out`.
    fn string_into(&mut self, out: &mut String) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let rest = self.text.as_bytes().get(self.at..)?;
            let n = plain_len(rest);
            // Quote and backslash are ASCII: both ends are char boundaries.
            out.push_str(self.text.get(self.at..self.at + n)?);
            self.at += n + 1;
            if rest.get(n) == Some(&b'"') {
                return Some(());
            }
            self.escape(out)?;
        }
    }

    /// The escape after a backslash. `\u` of a surrogate is left to serde
    /// (pairs, and its errors for lone halves).
    fn escape(&mut self, out: &mut String) -> Option<()> {
        let c = self.peek()?;
        self.at += 1;
        let ch = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hex = self.text.get(self.at..self.at + 4)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                self.at += 4;
                char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
            }
            _ => return None,
        };
        out.push(ch);
        Some(())
    }
}

/// How many bytes of `s` come before the first quote or backslash (all of
/// them if none does). Eight bytes at a time: header strings are short
/// (one-letter keys, values of a few dozen bytes), too short for
/// `memchr`'s vector loop to pay for its setup.
fn plain_len(s: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // High bit set in each zero byte of `v`; exact up to the first one,
    // which is all that is read.
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let hits =
            zero_bytes(v ^ (ONES * u64::from(b'"'))) | zero_bytes(v ^ (ONES * u64::from(b'\\')));
        if hits != 0 {
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .unwrap_or(chunks.remainder().len())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn plain_len_finds_the_first_quote_or_backslash(s in prop::collection::vec(prop::sample::select(vec![b'a', b'"', b'\\', 0x22 ^ 0x80, 0x5c ^ 0x01, 0x00, 0xff, 0x21, 0x23]), 0..40)) {
            let want = s.iter().position(|&b| b == b'"' || b == b'\\').unwrap_or(s.len());
            prop_assert_eq!(super::plain_len(&s), want);
        }
    }
}
