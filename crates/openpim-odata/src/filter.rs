//! The `$filter` AST, its canonical printer, and a recursive-descent parser.
//!
//! Grammar (lowest precedence first):
//!
//! ```text
//! or      := and ( "or" and )*
//! and     := unary ( "and" unary )*
//! unary   := "not" unary | primary
//! primary := "(" or ")"
//!          | fn "(" path "," string ")" [ ("eq"|"ne") ("true"|"false") ]
//!          | path "/any(" var ":" or ")"
//!          | path cmp value | value cmp path | path "in" "(" value ("," value)* ")"
//! ```
//!
//! `not` applies to the comparison that follows it (`not a eq 1` is
//! `not (a eq 1)`): the AST has no boolean-valued properties, so that is the
//! only reading that means anything.
//!
//! The parser recurses only through parentheses, `not` and lambdas, and each
//! of those counts towards [`crate::MAX_FILTER_DEPTH`], so hostile input such
//! as `((((((...` is rejected long before the stack is at risk. `and`/`or`
//! chains are parsed iteratively, and the number of operators and
//! comparisons is capped at [`crate::MAX_FILTER_NODES`] (as ASP.NET OData's
//! `MaxNodeCount`, which Graph enforces), which bounds the depth of the tree
//! every later pass recurses over.

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ODataError;
use crate::lexer::{tokenize, Tok, Token};
use crate::{MAX_FILTER_DEPTH, MAX_FILTER_LEN, MAX_FILTER_NODES};

/// A literal value as written in the filter. Quoted text is always
/// `String`; coercion to the property's type (e.g. a quoted GUID) happens when
/// the filter is checked against a schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Guid(Uuid),
    DateTime(OffsetDateTime),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A parsed `$filter`. Property paths are kept as written (`initiatedBy/user/id`);
/// names are resolved case-insensitively against a schema later.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Compare {
        prop: String,
        op: CompareOp,
        value: Literal,
    },
    In {
        prop: String,
        values: Vec<Literal>,
    },
    StartsWith {
        prop: String,
        prefix: String,
    },
    EndsWith {
        prop: String,
        suffix: String,
    },
    Contains {
        prop: String,
        substring: String,
    },
    /// `prop/any(var: inner)`; inside `inner` the element is referenced as a
    /// property named `var`.
    Any {
        prop: String,
        var: String,
        inner: Box<Expr>,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

impl CompareOp {
    pub fn keyword(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        [CompareOp::Eq, CompareOp::Ne, CompareOp::Gt, CompareOp::Ge, CompareOp::Lt, CompareOp::Le]
            .into_iter()
            .find(|op| word.eq_ignore_ascii_case(op.keyword()))
    }

    /// The operator to use when the operands are swapped (`5 lt p` is `p gt 5`).
    pub fn flipped(self) -> Self {
        match self {
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            other => other,
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// Prints the literal in OData URL syntax, so that it parses back to itself.
impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            // `{:?}` keeps a '.' or an exponent, so the text re-lexes as a float.
            Literal::Float(x) => write!(f, "{x:?}"),
            Literal::String(s) => write_quoted(f, s),
            Literal::Guid(g) => write!(f, "{g}"),
            Literal::DateTime(dt) => match dt.format(&Rfc3339) {
                Ok(s) => f.write_str(&s),
                // Only reachable for values no parser produced (e.g. year 10000);
                // Display must not fail, so print something diagnosable instead.
                Err(_) => write!(f, "{dt:?}"),
            },
        }
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "'{}'", s.replace('\'', "''"))
}

/// Prints canonical OData: lowercase keywords, minimal parentheses.
/// `parse_filter(&e.to_string()) == Ok(e)` for every `e` the parser can produce.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Compare { prop, op, value } => write!(f, "{prop} {op} {value}"),
            Expr::In { prop, values } => {
                write!(f, "{prop} in (")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Expr::StartsWith { prop, prefix: s }
            | Expr::EndsWith { prop, suffix: s }
            | Expr::Contains { prop, substring: s } => {
                let name = match self {
                    Expr::StartsWith { .. } => "startswith",
                    Expr::EndsWith { .. } => "endswith",
                    _ => "contains",
                };
                write!(f, "{name}({prop},")?;
                write_quoted(f, s)?;
                f.write_str(")")
            }
            Expr::Any { prop, var, inner } => write!(f, "{prop}/any({var}:{inner})"),
            Expr::And(l, r) => {
                write_operand(f, l, matches!(**l, Expr::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(f, r, matches!(**r, Expr::Or(..) | Expr::And(..)))
            }
            Expr::Or(l, r) => {
                write_operand(f, l, false)?;
                f.write_str(" or ")?;
                write_operand(f, r, matches!(**r, Expr::Or(..)))
            }
            Expr::Not(inner) => write!(f, "not ({inner})"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, e: &Expr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

/// Parse a `$filter` value (already percent-decoded).
pub fn parse_filter(input: &str) -> Result<Expr, ODataError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(ODataError::bad_request(format!(
            "Invalid $filter: the expression is {} bytes long; the maximum is {MAX_FILTER_LEN}",
            input.len()
        )));
    }
    let tokens = tokenize(input)?;
    let mut p = Parser { src: input, tokens, pos: 0, depth: 0, nodes: 0 };
    if p.peek().tok == Tok::Eof {
        return Err(ODataError::bad_request("Invalid $filter: the expression is empty"));
    }
    let expr = p.parse_or()?;
    let t = p.peek();
    if t.tok != Tok::Eof {
        return Err(p.err(&t, format!("expected 'and', 'or' or the end of the expression but found {}", t.text(input))));
    }
    Ok(expr)
}

/// Operator keywords, which cannot start a property path.
const RESERVED: [&str; 10] = ["and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "in"];

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    nodes: usize,
}

/// The left side of a comparison before we know which kind it is.
enum Operand {
    Path(String),
    Value(Literal),
}

impl Parser<'_> {
    fn peek(&self) -> Token {
        self.peek_at(0)
    }

    fn peek_at(&self, k: usize) -> Token {
        // The token list always ends with Eof, so clamp to it.
        let last = self.tokens.len().saturating_sub(1);
        self.tokens.get((self.pos + k).min(last)).cloned().unwrap_or(Token {
            tok: Tok::Eof,
            start: self.src.len(),
            end: self.src.len(),
        })
    }

    fn bump(&mut self) -> Token {
        let t = self.peek();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn err(&self, at: &Token, what: impl fmt::Display) -> ODataError {
        ODataError::filter_syntax(at.start, what)
    }

    fn is_keyword(t: &Token, kw: &str) -> bool {
        matches!(&t.tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn expect(&mut self, tok: Tok, shown: &str) -> Result<(), ODataError> {
        let t = self.bump();
        if t.tok == tok {
            Ok(())
        } else {
            Err(self.err(&t, format!("expected '{shown}' but found {}", t.text(self.src))))
        }
    }

    /// Track one level of nesting; errors once [`MAX_FILTER_DEPTH`] is exceeded.
    fn enter(&mut self, at: &Token) -> Result<(), ODataError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(self.err(at, format!("the expression is nested more than {MAX_FILTER_DEPTH} levels deep")));
        }
        Ok(())
    }

    /// Count one operator or comparison at the current token; errors once
    /// [`MAX_FILTER_NODES`] is exceeded.
    fn count_node(&mut self) -> Result<(), ODataError> {
        self.nodes += 1;
        let t = self.peek();
        if self.nodes > MAX_FILTER_NODES {
            return Err(
                self.err(&t, format!("the expression has more than {MAX_FILTER_NODES} operators and comparisons"))
            );
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn parse_or(&mut self) -> Result<Expr, ODataError> {
        let mut left = self.parse_and()?;
        while Self::is_keyword(&self.peek(), "or") {
            self.count_node()?;
            self.bump();
            let right = self.parse_and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Expr, ODataError> {
        let mut left = self.parse_unary()?;
        while Self::is_keyword(&self.peek(), "and") {
            self.count_node()?;
            self.bump();
            let right = self.parse_unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Result<Expr, ODataError> {
        let t = self.peek();
        if Self::is_keyword(&t, "not") {
            self.count_node()?;
            self.bump();
            self.enter(&t)?;
            let inner = self.parse_unary()?;
            self.leave();
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.parse_primary()
    }

    fn parse_primary(&mut self) -> Result<Expr, ODataError> {
        let t = self.peek();
        match &t.tok {
            Tok::LParen => {
                self.bump();
                self.enter(&t)?;
                let e = self.parse_or()?;
                self.leave();
                self.expect(Tok::RParen, ")")?;
                Ok(e)
            }
            Tok::Ident(name) if self.peek_at(1).tok == Tok::LParen => {
                let name = name.clone();
                self.parse_function(&name)
            }
            Tok::Eof => Err(self.err(&t, "expected an expression but reached the end of the input")),
            _ => self.parse_comparison(),
        }
    }

    fn parse_comparison(&mut self) -> Result<Expr, ODataError> {
        self.count_node()?;
        let first = self.peek();
        let left = match self.parse_operand()? {
            Err(lambda) => return Ok(lambda),
            Ok(op) => op,
        };
        let op_tok = self.peek();
        let op_word = match &op_tok.tok {
            Tok::Ident(w) => w.clone(),
            _ => String::new(),
        };
        match left {
            Operand::Path(prop) => {
                if op_word.eq_ignore_ascii_case("in") {
                    self.bump();
                    let values = self.parse_in_list()?;
                    return Ok(Expr::In { prop, values });
                }
                let Some(op) = CompareOp::from_keyword(&op_word) else {
                    return Err(self.err(
                        &op_tok,
                        format!(
                            "expected a comparison operator (eq, ne, gt, ge, lt, le, in) after '{prop}' but found {}",
                            op_tok.text(self.src)
                        ),
                    ));
                };
                self.bump();
                let value = self.parse_value(op)?;
                Ok(Expr::Compare { prop, op, value })
            }
            Operand::Value(value) => {
                let Some(op) = CompareOp::from_keyword(&op_word) else {
                    return Err(self.err(
                        &op_tok,
                        format!(
                            "expected a comparison operator after {} but found {}",
                            first.text(self.src),
                            op_tok.text(self.src)
                        ),
                    ));
                };
                self.bump();
                let t = self.peek();
                match self.parse_operand()? {
                    Ok(Operand::Path(prop)) => Ok(Expr::Compare { prop, op: op.flipped(), value }),
                    _ => Err(self.err(&t, format!("expected a property on one side of '{op}'"))),
                }
            }
        }
    }

    /// A property path or a literal. A lambda (`p/any(...)`) is a complete
    /// boolean expression and is returned as `Err(expr)` to short-circuit.
    fn parse_operand(&mut self) -> Result<Result<Operand, Expr>, ODataError> {
        if let Some(lit) = self.try_literal() {
            return Ok(Ok(Operand::Value(lit)));
        }
        let t = self.bump();
        let first = match &t.tok {
            Tok::Ident(w) if !RESERVED.iter().any(|r| w.eq_ignore_ascii_case(r)) => w,
            _ => return Err(self.err(&t, format!("expected a property or a value but found {}", t.text(self.src)))),
        };
        let mut path = first.clone();
        let mut end = t.end;
        // Path segments are written without spaces: `a/b`, never `a / b`.
        while self.peek().tok == Tok::Slash && self.peek().start == end {
            let slash = self.bump();
            let seg = self.bump();
            end = seg.end;
            let (Tok::Ident(name), true) = (&seg.tok, seg.start == slash.end) else {
                return Err(
                    self.err(&seg, format!("expected a property name after '/' but found {}", seg.text(self.src)))
                );
            };
            if self.peek().tok == Tok::LParen {
                if name.eq_ignore_ascii_case("any") {
                    return self.parse_lambda(path, &slash).map(Err);
                }
                let what = if name.eq_ignore_ascii_case("all") {
                    "the 'all' lambda operator is not supported".to_string()
                } else {
                    format!("'{name}' is not a supported function")
                };
                return Err(self.err(&seg, what));
            }
            path.push('/');
            path.push_str(name);
        }
        Ok(Ok(Operand::Path(path)))
    }

    fn try_literal(&mut self) -> Option<Literal> {
        let lit = match &self.peek().tok {
            Tok::Str(s) => Literal::String(s.clone()),
            Tok::Int(i) => Literal::Int(*i),
            Tok::Float(x) => Literal::Float(*x),
            Tok::Guid(g) => Literal::Guid(*g),
            Tok::DateTime(d) => Literal::DateTime(*d),
            Tok::Ident(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Ident(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Ident(w) if w.eq_ignore_ascii_case("null") => Literal::Null,
            _ => return None,
        };
        self.bump();
        Some(lit)
    }

    fn parse_value(&mut self, after: impl fmt::Display) -> Result<Literal, ODataError> {
        if let Some(lit) = self.try_literal() {
            return Ok(lit);
        }
        let t = self.peek();
        let what = match &t.tok {
            Tok::Eof => format!("expected a value after '{after}'"),
            Tok::Ident(name) => format!(
                "expected a value after '{after}' but found property '{name}' (comparing two properties is not supported)"
            ),
            _ => format!("expected a value after '{after}' but found {}", t.text(self.src)),
        };
        Err(self.err(&t, what))
    }

    fn parse_in_list(&mut self) -> Result<Vec<Literal>, ODataError> {
        self.expect(Tok::LParen, "(")?;
        let mut values = Vec::new();
        if self.peek().tok == Tok::RParen {
            let t = self.peek();
            return Err(self.err(&t, "the 'in' operator needs at least one value"));
        }
        loop {
            values.push(self.parse_value(if values.is_empty() { "in (" } else { "," })?);
            let t = self.bump();
            match t.tok {
                Tok::Comma => continue,
                Tok::RParen => return Ok(values),
                _ => {
                    return Err(
                        self.err(&t, format!("expected ',' or ')' in the 'in' list but found {}", t.text(self.src)))
                    )
                }
            }
        }
    }

    fn parse_function(&mut self, name: &str) -> Result<Expr, ODataError> {
        self.count_node()?;
        let name_tok = self.bump();
        let func = name.to_ascii_lowercase();
        if !matches!(func.as_str(), "startswith" | "endswith" | "contains") {
            return Err(self.err(&name_tok, format!("'{name}' is not a supported function")));
        }
        self.expect(Tok::LParen, "(")?;
        let t = self.peek();
        let prop = match self.parse_operand()? {
            Ok(Operand::Path(p)) => p,
            _ => return Err(self.err(&t, format!("the first argument of {func} must be a property"))),
        };
        self.expect(Tok::Comma, ",")?;
        let t = self.bump();
        let Tok::Str(arg) = t.tok.clone() else {
            return Err(self.err(
                &t,
                format!("the second argument of {func} must be a string literal but found {}", t.text(self.src)),
            ));
        };
        self.expect(Tok::RParen, ")")?;
        let expr = match func.as_str() {
            "startswith" => Expr::StartsWith { prop, prefix: arg },
            "endswith" => Expr::EndsWith { prop, suffix: arg },
            _ => Expr::Contains { prop, substring: arg },
        };
        // Some clients write `startswith(p,'x') eq true`; accept that spelling.
        let (op, lit) = (self.peek(), self.peek_at(1));
        let negate = match (&op.tok, &lit.tok) {
            (Tok::Ident(o), Tok::Ident(b))
                if matches!(CompareOp::from_keyword(o), Some(CompareOp::Eq | CompareOp::Ne)) =>
            {
                let is_eq = o.eq_ignore_ascii_case("eq");
                if b.eq_ignore_ascii_case("true") {
                    Some(!is_eq)
                } else if b.eq_ignore_ascii_case("false") {
                    Some(is_eq)
                } else {
                    None
                }
            }
            _ => None,
        };
        Ok(match negate {
            None => expr,
            Some(negate) => {
                self.bump();
                self.bump();
                if negate {
                    Expr::Not(Box::new(expr))
                } else {
                    expr
                }
            }
        })
    }

    /// After `path/any`, at the `(`.
    fn parse_lambda(&mut self, prop: String, at: &Token) -> Result<Expr, ODataError> {
        self.expect(Tok::LParen, "(")?;
        let t = self.bump();
        let var = match &t.tok {
            Tok::Ident(v) => v.clone(),
            Tok::RParen => return Err(self.err(&t, "any() without a lambda expression is not supported")),
            _ => return Err(self.err(&t, format!("expected a lambda variable name but found {}", t.text(self.src)))),
        };
        self.expect(Tok::Colon, ":")?;
        self.enter(at)?;
        let inner = self.parse_or()?;
        self.leave();
        self.expect(Tok::RParen, ")")?;
        Ok(Expr::Any { prop, var, inner: Box::new(inner) })
    }
}
