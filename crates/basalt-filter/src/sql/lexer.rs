//! Tokens of RocketMQ's selector grammar (`SelectorParser.jj`): keywords and
//! identifiers are ASCII and case-insensitive, `--` comments need a line end,
//! `/* */` comments must close, and the longest match wins.

use crate::FilterError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    /// A `DECIMAL_LITERAL` image, suffix included.
    Decimal(String),
    /// A `FLOATING_POINT_LITERAL` image.
    Float(String),
    /// A decoded string literal.
    Str(String),
    Id(String),
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    Comma,
    RParen,
    Plus,
    Minus,
    Eof,
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: usize,
}

pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, FilterError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        i = skip_blanks_and_comments(bytes, i)?;
        let Some(&c) = bytes.get(i) else {
            out.push(Token {
                tok: Tok::Eof,
                pos: i,
            });
            return Ok(out);
        };
        let (tok, len) = match c {
            b'\'' => string_literal(src, i)?,
            b'0'..=b'9' | b'.' => number(bytes, i)?,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$' => word(src, i),
            _ => operator(bytes, i)?,
        };
        out.push(Token { tok, pos: i });
        i += len;
    }
}

fn skip_blanks_and_comments(b: &[u8], mut i: usize) -> Result<usize, FilterError> {
    loop {
        match (b.get(i), b.get(i + 1)) {
            (Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c'), _) => i += 1,
            (Some(b'-'), Some(b'-')) => {
                // Without a line end the grammar's comment does not match and
                // the dashes are minus signs.
                match b.iter().skip(i).position(|&c| c == b'\n' || c == b'\r') {
                    Some(n) => i += n + 1,
                    None => return Ok(i),
                }
            }
            (Some(b'/'), Some(b'*')) => {
                let rest = b.get(i + 2..).unwrap_or(&[]);
                match rest.windows(2).position(|w| w == b"*/") {
                    Some(n) => i += 2 + n + 2,
                    None => return Err(FilterError::syntax(i, "unterminated /* comment")),
                }
            }
            _ => return Ok(i),
        }
    }
}

fn string_literal(src: &str, start: usize) -> Result<(Tok, usize), FilterError> {
    let mut value = String::new();
    let mut chars = src.get(start + 1..).unwrap_or("").char_indices().peekable();
    while let Some((off, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|&(_, n)| n == '\'') {
                chars.next();
            } else {
                return Ok((Tok::Str(value), off + 2));
            }
        }
        value.push(c);
    }
    Err(FilterError::syntax(start, "unterminated string literal"))
}

fn digits(b: &[u8], i: usize) -> usize {
    b.iter().skip(i).take_while(|c| c.is_ascii_digit()).count()
}

/// Longest of `DECIMAL_LITERAL` and `FLOATING_POINT_LITERAL` at `i`.
fn number(b: &[u8], i: usize) -> Result<(Tok, usize), FilterError> {
    let int_len = digits(b, i);
    let mut float_len = 0;
    let mut end = i + int_len;
    if b.get(end) == Some(&b'.') {
        let frac = digits(b, end + 1);
        if int_len > 0 || frac > 0 {
            end += 1 + frac;
            float_len = end - i + exponent(b, end);
        }
    } else if int_len > 0 {
        let e = exponent(b, end);
        if e > 0 {
            float_len = int_len + e;
        }
    }
    // DECIMAL_LITERAL is "0" or a non-zero-led run with an optional L.
    let dec_len = match b.get(i) {
        Some(b'0') => 1,
        Some(b'1'..=b'9') => int_len + usize::from(matches!(b.get(i + int_len), Some(b'l' | b'L'))),
        _ => 0,
    };
    let image = |len: usize| String::from_utf8_lossy(b.get(i..i + len).unwrap_or(&[])).into_owned();
    if float_len > dec_len {
        Ok((Tok::Float(image(float_len)), float_len))
    } else if dec_len > 0 {
        Ok((Tok::Decimal(image(dec_len)), dec_len))
    } else {
        Err(FilterError::syntax(i, "unexpected character '.'"))
    }
}

fn exponent(b: &[u8], i: usize) -> usize {
    if !matches!(b.get(i), Some(b'e' | b'E')) {
        return 0;
    }
    let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
    match digits(b, i + 1 + sign) {
        0 => 0,
        n => 1 + sign + n,
    }
}

fn word(src: &str, i: usize) -> (Tok, usize) {
    let rest = src.get(i..).unwrap_or("");
    let len = rest
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$')
        .count();
    let w = rest.get(..len).unwrap_or("");
    let keywords = [
        ("NOT", Tok::Not),
        ("AND", Tok::And),
        ("OR", Tok::Or),
        ("BETWEEN", Tok::Between),
        ("IN", Tok::In),
        ("TRUE", Tok::True),
        ("FALSE", Tok::False),
        ("NULL", Tok::Null),
        ("IS", Tok::Is),
        ("CONTAINS", Tok::Contains),
        ("STARTSWITH", Tok::StartsWith),
        ("ENDSWITH", Tok::EndsWith),
    ];
    let tok = keywords
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(w))
        .map_or_else(|| Tok::Id(w.to_owned()), |(_, t)| t);
    (tok, len)
}

fn operator(b: &[u8], i: usize) -> Result<(Tok, usize), FilterError> {
    let next = b.get(i + 1).copied();
    Ok(match (b.get(i).copied().unwrap_or(0), next) {
        (b'<', Some(b'>')) => (Tok::Ne, 2),
        (b'<', Some(b'=')) => (Tok::Le, 2),
        (b'>', Some(b'=')) => (Tok::Ge, 2),
        (b'=', _) => (Tok::Eq, 1),
        (b'<', _) => (Tok::Lt, 1),
        (b'>', _) => (Tok::Gt, 1),
        (b'(', _) => (Tok::LParen, 1),
        (b')', _) => (Tok::RParen, 1),
        (b',', _) => (Tok::Comma, 1),
        (b'+', _) => (Tok::Plus, 1),
        (b'-', _) => (Tok::Minus, 1),
        _ => {
            let shown = std::str::from_utf8(b.get(i..).unwrap_or(&[]))
                .ok()
                .and_then(|s| s.chars().next())
                .map_or_else(|| "?".to_owned(), |c| c.escape_debug().to_string());
            let hint = if matches!(shown.as_str(), "!" | "&" | "|" | "*" | "/" | "%") {
                " (operators are = <> > >= < <= AND OR NOT)"
            } else {
                ""
            };
            return Err(FilterError::syntax(
                i,
                format!("unexpected character '{shown}'{hint}"),
            ));
        }
    })
}
