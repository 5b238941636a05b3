//! Compile a checked `$filter` to a portable SQL `WHERE` fragment.
//!
//! The target is SQLite and PostgreSQL through sqlx's Any driver, so only
//! SQL both understand is emitted, and every value goes through a numbered
//! placeholder (`$N`); literal text from the request never reaches the SQL
//! string. Each placeholder is used exactly once, even where a value could be
//! reused, so drivers that bind strictly by position also work.
//!
//! Shapes (with `first_param = 3`):
//!
//! | filter                                | SQL                                            |
//! |---------------------------------------|------------------------------------------------|
//! | `displayName eq 'x'` (case-insens.)   | `LOWER(display_name) = LOWER($3)`              |
//! | `isBuiltIn eq true`                   | `is_built_in = $3` bound `Int(1)`              |
//! | `x eq null` / `x ne null`             | `x IS NULL` / `x IS NOT NULL`                  |
//! | `id in ('a','b')`                     | `id IN ($3, $4)`                               |
//! | `startswith(displayName,'a_b')`       | `LOWER(display_name) LIKE LOWER($3) ESCAPE '\'` bound `a\_b%` |
//! | `a and b`, `a or b`, `not a`          | `(a AND b)`, `(a OR b)`, `NOT (a)`             |
//! | `scopes/any(s: s eq 'x')`             | `EXISTS (SELECT 1 FROM (<column>) AS odata_any WHERE odata_any.value = $3)` |
//!
//! Case-sensitive string functions use plain `LIKE`. PostgreSQL's `LIKE` is
//! case-sensitive; SQLite's folds ASCII case unless the connection sets
//! `PRAGMA case_sensitive_like = ON`, which the store must do for SQLite to
//! agree with PostgreSQL and with [`crate::evaluate`].
//!
//! Comparisons keep SQL's three-valued logic: a comparison with a NULL column
//! is unknown, which `NOT` leaves unknown, so such rows never match.
//! [`crate::evaluate`] implements the same logic.

use crate::check::{bind, Bound, Field, Scalar, StrFn, ANY_ALIAS};
use crate::error::ODataError;
use crate::filter::{CompareOp, Expr};
use crate::schema::EntitySchema;

/// A value to bind to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Null,
    Int(i64),
    Text(String),
    Float(f64),
}

/// SQL text with `$N` placeholders and the values to bind to them, in order:
/// `params[0]` binds to `$first_param`.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFragment {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

/// Compile into a WHERE fragment with numbered placeholders `$N` starting at
/// `first_param` (so it can be spliced into a larger statement; placeholders
/// are 1-based, so `first_param` must be at least 1). Never pastes a literal
/// into SQL text.
pub fn compile_filter(expr: &Expr, schema: &EntitySchema, first_param: usize) -> Result<SqlFragment, ODataError> {
    let bound = bind(expr, schema)?;
    compile_bound(&bound, first_param)
}

pub(crate) fn compile_bound(bound: &Bound<'_>, first_param: usize) -> Result<SqlFragment, ODataError> {
    if first_param == 0 {
        return Err(ODataError::internal("compile_filter: placeholders are 1-based; first_param must be at least 1"));
    }
    let mut w = Writer { sql: String::new(), params: Vec::new(), first: first_param };
    w.write(bound);
    Ok(SqlFragment { sql: w.sql, params: w.params })
}

struct Writer {
    sql: String,
    params: Vec<SqlParam>,
    first: usize,
}

impl Writer {
    /// Push a bound value and return its placeholder.
    fn param(&mut self, p: SqlParam) -> String {
        self.params.push(p);
        format!("${}", self.first.saturating_add(self.params.len() - 1))
    }

    fn value(&mut self, field: &Field<'_>, v: &Scalar) -> String {
        let ph = self.param(match v {
            Scalar::Int(i) => SqlParam::Int(*i),
            Scalar::Text(s) => SqlParam::Text(s.clone()),
        });
        if field.folds_case() {
            format!("LOWER({ph})")
        } else {
            ph
        }
    }

    /// Only the boolean structure is handled here, keeping the recursive
    /// frame small; leaves are written by [`Self::leaf`].
    fn write(&mut self, b: &Bound<'_>) {
        match b {
            Bound::Any { prop, inner } => {
                self.sql.push_str(&format!("EXISTS (SELECT 1 FROM ({}) AS {ANY_ALIAS} WHERE ", prop.column));
                self.write(inner);
                self.sql.push(')');
            }
            Bound::And(l, r) => self.binary(l, "AND", r),
            Bound::Or(l, r) => self.binary(l, "OR", r),
            Bound::Not(e) => {
                self.sql.push_str("NOT (");
                self.write(e);
                self.sql.push(')');
            }
            leaf => self.leaf(leaf),
        }
    }

    #[inline(never)]
    fn leaf(&mut self, b: &Bound<'_>) {
        match b {
            Bound::IsNull { field, negated } => {
                self.sql.push_str(field.column);
                self.sql.push_str(if *negated { " IS NOT NULL" } else { " IS NULL" });
            }
            Bound::Compare { field, op, value } => {
                let rhs = self.value(field, value);
                let op = match op {
                    CompareOp::Eq => "=",
                    CompareOp::Ne => "<>",
                    CompareOp::Gt => ">",
                    CompareOp::Ge => ">=",
                    CompareOp::Lt => "<",
                    CompareOp::Le => "<=",
                };
                self.sql.push_str(&format!("{} {op} {rhs}", lhs(field)));
            }
            Bound::In { field, values } => {
                let list: Vec<String> = values.iter().map(|v| self.value(field, v)).collect();
                self.sql.push_str(&format!("{} IN ({})", lhs(field), list.join(", ")));
            }
            Bound::Str { field, func, needle } => {
                let escaped = escape_like(needle);
                let pattern = match func {
                    StrFn::StartsWith => format!("{escaped}%"),
                    StrFn::EndsWith => format!("%{escaped}"),
                    StrFn::Contains => format!("%{escaped}%"),
                };
                let rhs = self.value(field, &Scalar::Text(pattern));
                self.sql.push_str(&format!("{} LIKE {rhs} ESCAPE '\\'", lhs(field)));
            }
            // Structure is handled by `write`.
            Bound::Any { .. } | Bound::And(..) | Bound::Or(..) | Bound::Not(..) => {}
        }
    }

    fn binary(&mut self, l: &Bound<'_>, op: &str, r: &Bound<'_>) {
        self.sql.push('(');
        self.write(l);
        self.sql.push_str(&format!(" {op} "));
        self.write(r);
        self.sql.push(')');
    }
}

fn lhs(field: &Field<'_>) -> String {
    if field.folds_case() {
        format!("LOWER({})", field.column)
    } else {
        field.column.to_string()
    }
}

/// Escape LIKE metacharacters so the needle matches literally under `ESCAPE '\'`.
pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
