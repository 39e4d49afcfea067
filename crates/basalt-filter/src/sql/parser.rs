//! Recursive descent over `SelectorParser.jj`'s grammar, with the checks Java
//! performs while building expressions (operand types, BETWEEN bounds, IN on a
//! property) so the same expressions are refused at subscription time.
//!
//! One deliberate difference: Java stops after the first complete expression
//! and never looks at what follows (`a = 1 ) OR b = 2` is accepted as
//! `a = 1`). Here trailing input is an error, since silently dropping part of a
//! client's condition is never what the client meant.

use super::ast::{Expr, Lit, Ord, StrOp};
use super::build::{as_bool, between, check_equal, decimal, float, order};
use super::lexer::{Tok, Token};
use super::MAX_DEPTH;
use crate::FilterError;
use std::collections::BTreeSet;

pub(crate) fn parse(tokens: &[Token]) -> Result<Expr, FilterError> {
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let start = p.pos();
    let e = p.or()?;
    if p.peek() != &Tok::Eof {
        return Err(p.unexpected("after a complete expression"));
    }
    as_bool(e, start)
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
    depth: usize,
}

type Res = Result<Expr, FilterError>;

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        self.tokens
            .get(self.at + ahead)
            .or_else(|| self.tokens.last())
            .map_or(&Tok::Eof, |t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.tokens
            .get(self.at)
            .or_else(|| self.tokens.last())
            .map_or(0, |t| t.pos)
    }

    fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<(), FilterError> {
        if self.peek() == want {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(&format!("(expected {what})")))
        }
    }

    fn unexpected(&self, context: &str) -> FilterError {
        FilterError::syntax(
            self.pos(),
            format!("unexpected {} {context}", describe(self.peek())),
        )
    }

    /// Counts one more level of nesting; the caller restores `depth`.
    fn deeper(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::TooDeep {
                position: self.pos(),
                max: MAX_DEPTH,
            });
        }
        Ok(())
    }

    fn or(&mut self) -> Res {
        let saved = self.depth;
        self.deeper()?;
        let e = self.logic(Tok::Or, Parser::and, Expr::Or)?;
        self.depth = saved;
        Ok(e)
    }

    fn and(&mut self) -> Res {
        self.logic(Tok::And, Parser::equality, Expr::And)
    }

    fn logic(
        &mut self,
        op: Tok,
        operand: fn(&mut Self) -> Res,
        make: fn(Vec<Expr>) -> Expr,
    ) -> Res {
        let start = self.pos();
        let first = operand(self)?;
        if self.peek() != &op {
            return Ok(first);
        }
        let mut items = vec![as_bool(first, start)?];
        while self.peek() == &op {
            self.bump();
            let start = self.pos();
            items.push(as_bool(operand(self)?, start)?);
        }
        Ok(make(items))
    }

    fn equality(&mut self) -> Res {
        let saved = self.depth;
        let mut left = self.comparison()?;
        loop {
            let at = self.pos();
            left = match (self.peek(), self.peek_at(1)) {
                (Tok::Eq | Tok::Ne, _) => {
                    let negated = self.bump() == Tok::Ne;
                    let right = self.comparison()?;
                    check_equal(&left, &right, at)?;
                    let eq = Expr::Eq(Box::new(left), Box::new(right));
                    if negated {
                        Expr::Not(Box::new(eq))
                    } else {
                        eq
                    }
                }
                (Tok::Is, Tok::Null) => {
                    self.at += 2;
                    Expr::IsNull(Box::new(left))
                }
                (Tok::Is, _) => {
                    self.bump();
                    self.expect(&Tok::Not, "NULL or NOT NULL after IS")?;
                    self.expect(&Tok::Null, "NULL after IS NOT")?;
                    Expr::Not(Box::new(Expr::IsNull(Box::new(left))))
                }
                _ => break,
            };
            self.deeper()?;
        }
        self.depth = saved;
        Ok(left)
    }

    fn comparison(&mut self) -> Res {
        let saved = self.depth;
        let mut left = self.unary()?;
        loop {
            let at = self.pos();
            let negated = self.peek() == &Tok::Not;
            let op_tok = self.peek_at(usize::from(negated)).clone();
            left = match op_tok {
                Tok::Gt | Tok::Ge | Tok::Lt | Tok::Le if !negated => {
                    self.bump();
                    let right = self.unary()?;
                    order(op_of(&op_tok), left, right, at)?
                }
                Tok::Contains | Tok::StartsWith | Tok::EndsWith => {
                    self.at += 1 + usize::from(negated);
                    let search = self.string_literal()?;
                    let op = match op_tok {
                        Tok::Contains => StrOp::Contains,
                        Tok::StartsWith => StrOp::StartsWith,
                        _ => StrOp::EndsWith,
                    };
                    let operand = Box::new(left);
                    Expr::Str {
                        op,
                        negated,
                        operand,
                        search,
                    }
                }
                Tok::Between => {
                    self.at += 1 + usize::from(negated);
                    let low = self.unary()?;
                    self.expect(&Tok::And, "AND between the BETWEEN bounds")?;
                    let high = self.unary()?;
                    between(negated, left, low, high, at)?
                }
                Tok::In => {
                    self.at += 1 + usize::from(negated);
                    let Expr::Prop(prop) = left else {
                        return Err(FilterError::syntax(at, "IN needs a property on its left"));
                    };
                    let list = self.in_list()?;
                    Expr::In {
                        prop,
                        list,
                        negated,
                    }
                }
                _ if negated => {
                    self.bump();
                    return Err(self.unexpected(
                        "(expected IN, BETWEEN, CONTAINS, STARTSWITH or ENDSWITH after NOT)",
                    ));
                }
                _ => break,
            };
            self.deeper()?;
        }
        self.depth = saved;
        Ok(left)
    }

    fn in_list(&mut self) -> Result<BTreeSet<String>, FilterError> {
        self.expect(&Tok::LParen, "'(' after IN")?;
        let mut list = BTreeSet::from([self.string_literal()?]);
        while self.peek() == &Tok::Comma {
            self.bump();
            list.insert(self.string_literal()?);
        }
        self.expect(&Tok::RParen, "',' or ')' in the IN list")?;
        Ok(list)
    }

    fn string_literal(&mut self) -> Result<String, FilterError> {
        match self.peek() {
            Tok::Str(s) => {
                let s = s.clone();
                self.bump();
                Ok(s)
            }
            _ => Err(self.unexpected("(expected a string literal in single quotes)")),
        }
    }

    fn unary(&mut self) -> Res {
        let saved = self.depth;
        self.deeper()?;
        let at = self.pos();
        let e = match self.peek() {
            Tok::Plus => {
                self.bump();
                self.unary()?
            }
            Tok::Minus => {
                self.bump();
                Expr::Negate(Box::new(self.unary()?))
            }
            Tok::Not => {
                self.bump();
                let start = self.pos();
                let operand = as_bool(self.unary()?, start)?;
                Expr::Not(Box::new(operand))
            }
            _ => self.primary(at)?,
        };
        self.depth = saved;
        Ok(e)
    }

    fn primary(&mut self, at: usize) -> Res {
        let e = match self.bump() {
            Tok::Str(s) => Expr::Lit(Lit::Str(s)),
            Tok::Decimal(image) => Expr::Lit(decimal(&image, at)?),
            Tok::Float(image) => Expr::Lit(float(&image, at)?),
            Tok::True => Expr::Lit(Lit::Bool(true)),
            Tok::False => Expr::Lit(Lit::Bool(false)),
            Tok::Null => Expr::Lit(Lit::Null),
            Tok::Id(name) => Expr::Prop(name),
            Tok::LParen => {
                let inner = self.or()?;
                self.expect(&Tok::RParen, "')' to close the '('")?;
                inner
            }
            _ => {
                self.at = self.at.saturating_sub(1);
                return Err(self.unexpected("(expected a literal, a property or '(')"));
            }
        };
        Ok(e)
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Eof => "end of expression".to_owned(),
        Tok::Id(name) => format!("property name '{name}'"),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Decimal(n) | Tok::Float(n) => format!("number {n}"),
        other => {
            let text = match other {
                Tok::Eq => "=",
                Tok::Ne => "<>",
                Tok::Gt => ">",
                Tok::Ge => ">=",
                Tok::Lt => "<",
                Tok::Le => "<=",
                Tok::LParen => "(",
                Tok::RParen => ")",
                Tok::Comma => ",",
                Tok::Plus => "+",
                Tok::Minus => "-",
                _ => return format!("keyword {other:?}").to_uppercase(),
            };
            format!("'{text}'")
        }
    }
}

fn op_of(t: &Tok) -> Ord {
    match t {
        Tok::Gt => Ord::Gt,
        Tok::Ge => Ord::Ge,
        Tok::Lt => Ord::Lt,
        _ => Ord::Le,
    }
}
