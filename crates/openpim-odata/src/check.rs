//! Semantic checking shared by the SQL compiler and the in-memory evaluator.
//!
//! [`bind`] resolves every property against the schema, rejects what the
//! schema does not allow, and converts every literal to the exact value the
//! store holds (Bool -> 0/1, DateTime -> microseconds, Guid -> lowercase,
//! enum -> canonical casing). Both back ends consume only this bound form, so
//! they cannot disagree about what is valid or about how a value is encoded.

use crate::error::{snippet, ODataError};
use crate::filter::{CompareOp, Expr, Literal};
use crate::schema::{EntitySchema, PropType, Property};

/// Alias of the element row inside `EXISTS (SELECT 1 FROM (...) AS odata_any ...)`.
pub(crate) const ANY_ALIAS: &str = "odata_any";
const ANY_ELEMENT_COLUMN: &str = "odata_any.value";

/// A stored value: everything the store holds is TEXT or BIGINT.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Scalar {
    Text(String),
    Int(i64),
}

/// What a comparison reads: a column of the row, or the element of the
/// collection an enclosing `any()` iterates over.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'a> {
    pub wire: &'a str,
    pub column: &'a str,
    pub ty: PropType,
    pub case_insensitive: bool,
    pub element: bool,
}

impl Field<'_> {
    /// Compared through `LOWER()` on both sides.
    pub fn folds_case(&self) -> bool {
        self.case_insensitive && self.ty == PropType::String
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrFn {
    StartsWith,
    EndsWith,
    Contains,
}

impl StrFn {
    pub fn name(self) -> &'static str {
        match self {
            StrFn::StartsWith => "startswith",
            StrFn::EndsWith => "endswith",
            StrFn::Contains => "contains",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Bound<'a> {
    IsNull { field: Field<'a>, negated: bool },
    Compare { field: Field<'a>, op: CompareOp, value: Scalar },
    In { field: Field<'a>, values: Vec<Scalar> },
    Str { field: Field<'a>, func: StrFn, needle: String },
    Any { prop: &'a Property, inner: Box<Bound<'a>> },
    And(Box<Bound<'a>>, Box<Bound<'a>>),
    Or(Box<Bound<'a>>, Box<Bound<'a>>),
    Not(Box<Bound<'a>>),
}

/// Check `expr` against `schema` and produce the bound form.
pub(crate) fn bind<'a>(expr: &'a Expr, schema: &'a EntitySchema) -> Result<Bound<'a>, ODataError> {
    Binder { schema, lambda: None }.bind(expr)
}

struct Binder<'a> {
    schema: &'a EntitySchema,
    /// Inside `prop/any(var: ...)`: the variable name and the collection.
    lambda: Option<(&'a str, &'a Property)>,
}

impl<'a> Binder<'a> {
    /// Only the boolean structure is handled here, so that the frame of this
    /// recursive function stays small (debug builds give every temporary of a
    /// function its own stack slot); the leaves are bound in [`Self::leaf`].
    fn bind(&self, expr: &'a Expr) -> Result<Bound<'a>, ODataError> {
        Ok(match expr {
            Expr::And(l, r) => Bound::And(Box::new(self.bind(l)?), Box::new(self.bind(r)?)),
            Expr::Or(l, r) => Bound::Or(Box::new(self.bind(l)?), Box::new(self.bind(r)?)),
            Expr::Not(e) => Bound::Not(Box::new(self.bind(e)?)),
            Expr::Any { prop, var, inner } => {
                let p = self.lambda_collection(prop)?;
                let inner_binder = Binder { schema: self.schema, lambda: Some((var.as_str(), p)) };
                Bound::Any { prop: p, inner: Box::new(inner_binder.bind(inner)?) }
            }
            leaf => self.leaf(leaf)?,
        })
    }

    #[inline(never)]
    fn leaf(&self, expr: &'a Expr) -> Result<Bound<'a>, ODataError> {
        Ok(match expr {
            Expr::Compare { prop, op, value } => {
                let field = self.scalar_field(prop)?;
                if *value == Literal::Null {
                    return match op {
                        CompareOp::Eq | CompareOp::Ne => Ok(Bound::IsNull { field, negated: *op == CompareOp::Ne }),
                        _ => Err(ODataError::bad_request(format!(
                            "The '{op}' operator cannot be used with null on property '{}'; use 'eq null' or 'ne null'.",
                            field.wire
                        ))),
                    };
                }
                let ordered = matches!(field.ty, PropType::String | PropType::Int | PropType::DateTime);
                if !ordered && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                    return Err(ODataError::bad_request(format!(
                        "The '{op}' operator is not supported for property '{}' of type {}.",
                        field.wire,
                        field.ty.edm_name()
                    )));
                }
                Bound::Compare { field, op: *op, value: coerce(&field, value)? }
            }
            Expr::In { prop, values } => {
                let field = self.scalar_field(prop)?;
                if values.is_empty() {
                    return Err(ODataError::bad_request(format!(
                        "The 'in' operator on property '{}' requires at least one value.",
                        field.wire
                    )));
                }
                let values = values
                    .iter()
                    .map(|v| match v {
                        Literal::Null => Err(ODataError::bad_request(format!(
                            "null is not allowed in an 'in' list for property '{}'; use 'eq null'.",
                            field.wire
                        ))),
                        v => coerce(&field, v),
                    })
                    .collect::<Result<_, _>>()?;
                Bound::In { field, values }
            }
            Expr::StartsWith { prop, prefix: s } => self.str_fn(prop, StrFn::StartsWith, s)?,
            Expr::EndsWith { prop, suffix: s } => self.str_fn(prop, StrFn::EndsWith, s)?,
            Expr::Contains { prop, substring: s } => self.str_fn(prop, StrFn::Contains, s)?,
            Expr::Any { .. } | Expr::And(..) | Expr::Or(..) | Expr::Not(..) => {
                return Err(ODataError::internal("not a leaf"))
            }
        })
    }

    #[inline(never)]
    fn lambda_collection(&self, prop: &'a str) -> Result<&'a Property, ODataError> {
        let not_supported =
            || ODataError::bad_request(format!("Lambda operators are not supported on property '{}'.", snippet(prop)));
        if self.lambda.is_some() {
            return Err(not_supported());
        }
        let p = self.filterable(prop)?;
        if p.ty != PropType::StringCollection {
            return Err(not_supported());
        }
        Ok(p)
    }

    fn filterable(&self, name: &str) -> Result<&'a Property, ODataError> {
        let p = self.schema.require(name)?;
        if !p.filterable {
            return Err(ODataError::bad_request(format!(
                "Filtering on property '{}' of type '{}' is not supported.",
                p.name, self.schema.type_name
            )));
        }
        Ok(p)
    }

    /// Resolve a name used as a scalar operand.
    fn scalar_field(&self, name: &'a str) -> Result<Field<'a>, ODataError> {
        if let Some((var, coll)) = self.lambda {
            if name == var {
                return Ok(Field {
                    wire: var,
                    column: ANY_ELEMENT_COLUMN,
                    ty: PropType::String,
                    case_insensitive: coll.case_insensitive,
                    element: true,
                });
            }
            return Err(ODataError::bad_request(format!(
                "Inside any(), only the lambda variable '{var}' can be referenced, not '{}'.",
                snippet(name)
            )));
        }
        let p = self.filterable(name)?;
        if p.ty == PropType::StringCollection {
            return Err(ODataError::bad_request(format!(
                "Property '{}' is a collection; use '{}/any(x: x eq ...)'.",
                p.name, p.name
            )));
        }
        Ok(Field { wire: p.name, column: p.column, ty: p.ty, case_insensitive: p.case_insensitive, element: false })
    }

    fn str_fn(&self, prop: &'a str, func: StrFn, needle: &str) -> Result<Bound<'a>, ODataError> {
        let field = self.scalar_field(prop)?;
        if field.ty != PropType::String {
            return Err(ODataError::bad_request(format!(
                "The function '{}' requires a String property, but '{}' is of type {}.",
                func.name(),
                field.wire,
                field.ty.edm_name()
            )));
        }
        Ok(Bound::Str { field, func, needle: needle.to_string() })
    }
}

/// Convert a literal to the stored representation of `field`'s type.
fn coerce(field: &Field<'_>, lit: &Literal) -> Result<Scalar, ODataError> {
    let mismatch = || {
        ODataError::bad_request(format!(
            "Property '{}' expects {} value, but got {}.",
            field.wire,
            field.ty.edm_name_with_article(),
            snippet(&lit.to_string())
        ))
    };
    Ok(match (field.ty, lit) {
        (PropType::String, Literal::String(s)) => Scalar::Text(s.clone()),
        // An unquoted GUID compared with a text property means its text.
        (PropType::String, Literal::Guid(g)) => Scalar::Text(g.to_string()),
        (PropType::Guid, Literal::Guid(g)) => Scalar::Text(g.hyphenated().to_string()),
        (PropType::Guid, Literal::String(s)) => match uuid::Uuid::try_parse(s) {
            Ok(g) => Scalar::Text(g.hyphenated().to_string()),
            Err(_) => {
                return Err(ODataError::bad_request(format!(
                    "Property '{}' expects a Guid value, but '{}' is not a valid Guid.",
                    field.wire,
                    snippet(s)
                )))
            }
        },
        (PropType::Bool, Literal::Bool(b)) => Scalar::Int(i64::from(*b)),
        (PropType::Int, Literal::Int(i)) => Scalar::Int(*i),
        (PropType::DateTime, Literal::DateTime(dt)) => Scalar::Int(micros(*dt)),
        (PropType::DateTime, Literal::String(s)) => match crate::lexer::parse_datetime(s) {
            Some(dt) => Scalar::Int(micros(dt)),
            None => return Err(mismatch()),
        },
        (PropType::Enum(members), Literal::String(s)) => match members.iter().find(|m| m.eq_ignore_ascii_case(s)) {
            Some(m) => Scalar::Text((*m).to_string()),
            None => {
                return Err(ODataError::bad_request(format!(
                    "'{}' is not a valid value for property '{}'.",
                    snippet(s),
                    field.wire
                )))
            }
        },
        _ => return Err(mismatch()),
    })
}

/// Microseconds since the Unix epoch, rounded toward negative infinity so
/// that sub-microsecond input compares the same in SQL and in memory.
pub(crate) fn micros(dt: time::OffsetDateTime) -> i64 {
    let m = dt.unix_timestamp_nanos().div_euclid(1000);
    // time's supported range (years -9999..=9999) always fits; saturate anyway.
    i64::try_from(m).unwrap_or(if m < 0 { i64::MIN } else { i64::MAX })
}
