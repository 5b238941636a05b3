//! Evaluate a `$filter` against one in-memory row, with the same semantics as
//! the SQL that [`crate::compile_filter`] produces.
//!
//! Both run on the same bound form ([`crate::check`]), and this module mirrors
//! SQL deliberately:
//! - three-valued logic: a comparison, `in` or string function on a null value
//!   is *unknown*; `not unknown` is unknown; only `true` selects a row;
//! - case-insensitive strings compare after lowercasing both sides (Unicode
//!   lowercasing, as PostgreSQL's `LOWER`; SQLite's `LOWER` folds only ASCII,
//!   so non-ASCII case folding is the one place the back ends can differ);
//! - string ordering (`gt`, `lt`, ...) is by UTF-8 bytes, like SQLite's
//!   default collation and PostgreSQL's `C` collation;
//! - DateTimes compare as whole microseconds, GUIDs as lowercase text;
//! - `any()` over a null collection is false (an empty `EXISTS`).

use std::cmp::Ordering;

use time::OffsetDateTime;

use crate::check::{bind, micros, Bound, Field, Scalar, StrFn};
use crate::error::ODataError;
use crate::filter::{CompareOp, Expr};
use crate::schema::{EntitySchema, PropType};
use crate::sql::{compile_bound, SqlFragment};

/// A property value of one in-memory row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// For Bool properties (`Int(0|1)` is accepted too).
    Bool(bool),
    Int(i64),
    /// For String, Guid (any casing) and Enum (canonical casing) properties.
    String(String),
    /// For DateTime properties (`Int` microseconds are accepted too).
    DateTime(OffsetDateTime),
    /// For StringCollection properties.
    StringList(Vec<String>),
}

/// Evaluate `expr` for one row. `get` is called with the schema's canonical
/// wire name of a property (e.g. `displayName`, whatever casing the filter
/// used). Validation is identical to [`crate::compile_filter`]. To filter many
/// rows, check once with [`PreparedFilter`] instead.
pub fn evaluate(expr: &Expr, schema: &EntitySchema, get: &dyn Fn(&str) -> Value) -> Result<bool, ODataError> {
    PreparedFilter::new(expr, schema)?.matches(get)
}

/// A filter checked against a schema once, then compiled or evaluated many times.
#[derive(Debug, Clone)]
pub struct PreparedFilter<'a> {
    bound: Bound<'a>,
}

impl<'a> PreparedFilter<'a> {
    pub fn new(expr: &'a Expr, schema: &'a EntitySchema) -> Result<Self, ODataError> {
        Ok(PreparedFilter { bound: bind(expr, schema)? })
    }

    /// Whether the row matches (unknown counts as no match, as in SQL).
    pub fn matches(&self, get: &dyn Fn(&str) -> Value) -> Result<bool, ODataError> {
        Ok(eval(&self.bound, get, None)? == Some(true))
    }

    /// Same as [`crate::compile_filter`].
    pub fn to_sql(&self, first_param: usize) -> Result<SqlFragment, ODataError> {
        compile_bound(&self.bound, first_param)
    }
}

/// `None` is SQL's unknown. Only the boolean structure is handled here, so
/// the frame of this recursive function stays small; leaves are in [`leaf`].
fn eval(b: &Bound<'_>, get: &dyn Fn(&str) -> Value, elem: Option<&str>) -> Result<Option<bool>, ODataError> {
    Ok(match b {
        Bound::And(l, r) => match eval(l, get, elem)? {
            Some(false) => Some(false),
            left => match (left, eval(r, get, elem)?) {
                (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
        },
        Bound::Or(l, r) => match eval(l, get, elem)? {
            Some(true) => Some(true),
            left => match (left, eval(r, get, elem)?) {
                (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
        },
        Bound::Not(e) => eval(e, get, elem)?.map(|v| !v),
        Bound::Any { prop, inner } => match get(prop.name) {
            Value::Null => Some(false),
            Value::StringList(items) => {
                let mut any = false;
                for item in &items {
                    if eval(inner, get, Some(item))? == Some(true) {
                        any = true;
                        break;
                    }
                }
                Some(any)
            }
            _ => return Err(wrong_type(prop.name)),
        },
        leaf_bound => leaf(leaf_bound, get, elem)?,
    })
}

#[inline(never)]
fn leaf(b: &Bound<'_>, get: &dyn Fn(&str) -> Value, elem: Option<&str>) -> Result<Option<bool>, ODataError> {
    Ok(match b {
        Bound::IsNull { field, negated } => Some(read(field, get, elem)?.is_none() != *negated),
        Bound::Compare { field, op, value } => match read(field, get, elem)? {
            None => None,
            Some(v) => {
                let ord = compare(field, &v, value)?;
                Some(match op {
                    CompareOp::Eq => ord == Ordering::Equal,
                    CompareOp::Ne => ord != Ordering::Equal,
                    CompareOp::Gt => ord == Ordering::Greater,
                    CompareOp::Ge => ord != Ordering::Less,
                    CompareOp::Lt => ord == Ordering::Less,
                    CompareOp::Le => ord != Ordering::Greater,
                })
            }
        },
        Bound::In { field, values } => match read(field, get, elem)? {
            None => None,
            Some(v) => {
                let mut found = false;
                for candidate in values {
                    found |= compare(field, &v, candidate)? == Ordering::Equal;
                }
                Some(found)
            }
        },
        Bound::Str { field, func, needle } => match read(field, get, elem)? {
            None => None,
            Some(Scalar::Text(s)) => {
                let (hay, needle) =
                    if field.folds_case() { (s.to_lowercase(), needle.to_lowercase()) } else { (s, needle.clone()) };
                Some(match func {
                    StrFn::StartsWith => hay.starts_with(&needle),
                    StrFn::EndsWith => hay.ends_with(&needle),
                    StrFn::Contains => hay.contains(&needle),
                })
            }
            Some(Scalar::Int(_)) => return Err(wrong_type(field.wire)),
        },
        _ => return Err(ODataError::internal("not a leaf")),
    })
}

fn wrong_type(wire: &str) -> ODataError {
    ODataError::internal(format!("The row value of property '{wire}' does not match its declared type."))
}

/// Read a field of the row in its stored representation; `None` is NULL.
fn read(field: &Field<'_>, get: &dyn Fn(&str) -> Value, elem: Option<&str>) -> Result<Option<Scalar>, ODataError> {
    if field.element {
        return match elem {
            Some(e) => Ok(Some(Scalar::Text(e.to_string()))),
            None => Err(ODataError::internal("lambda variable used outside any()")),
        };
    }
    Ok(Some(match (field.ty, get(field.wire)) {
        (_, Value::Null) => return Ok(None),
        (PropType::String | PropType::Enum(_), Value::String(s)) => Scalar::Text(s),
        (PropType::Guid, Value::String(s)) => Scalar::Text(s.to_ascii_lowercase()),
        (PropType::Bool, Value::Bool(b)) => Scalar::Int(i64::from(b)),
        (PropType::Bool | PropType::Int | PropType::DateTime, Value::Int(i)) => Scalar::Int(i),
        (PropType::DateTime, Value::DateTime(dt)) => Scalar::Int(micros(dt)),
        _ => return Err(wrong_type(field.wire)),
    }))
}

fn compare(field: &Field<'_>, row: &Scalar, lit: &Scalar) -> Result<Ordering, ODataError> {
    match (row, lit) {
        (Scalar::Text(a), Scalar::Text(b)) if field.folds_case() => Ok(a.to_lowercase().cmp(&b.to_lowercase())),
        (Scalar::Text(a), Scalar::Text(b)) => Ok(a.cmp(b)),
        (Scalar::Int(a), Scalar::Int(b)) => Ok(a.cmp(b)),
        _ => Err(wrong_type(field.wire)),
    }
}
