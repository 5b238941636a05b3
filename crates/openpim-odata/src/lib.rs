//! OData v4 system query options for OpenPIM's Microsoft Graph-compatible API.
//!
//! Every list endpoint runs the request's query string through this crate:
//!
//! 1. [`parse_query`] decodes and splits it into [`QueryOptions`]
//!    (`$filter` is parsed into an [`Expr`] right away, so syntax errors
//!    surface before any schema is consulted);
//! 2. [`compile_filter`] checks the filter against an [`EntitySchema`] and
//!    turns it into a parameterised SQL fragment, or [`evaluate`] /
//!    [`PreparedFilter`] applies it to rows held in memory, with identical
//!    validation and semantics;
//! 3. [`validate_select`] and [`compile_orderby`] check the other options, and
//!    [`encode_skiptoken`] / [`decode_skiptoken`] carry the paging position.
//!
//! The input is untrusted: nothing here panics, recursion is bounded
//! ([`MAX_FILTER_DEPTH`], [`MAX_FILTER_NODES`]), input size is bounded
//! ([`MAX_FILTER_LEN`], [`MAX_QUERY_LEN`]), and request text never becomes SQL
//! text. (An [`Expr`] built by hand rather than parsed is trusted: the checker
//! rejects trees deeper than [`MAX_FILTER_NODES`], but printing or dropping an
//! absurdly deep hand-built tree can still exhaust the stack.) All errors
//! are [`ODataError`]s whose messages can be returned to the client as is.
//!
//! Storage conventions assumed by the SQL compiler (SQLite and PostgreSQL):
//! Bool is BIGINT 0/1, DateTime is BIGINT microseconds since the Unix epoch
//! (UTC), Guid is lowercase hyphenated TEXT, Enum is TEXT in the schema's
//! canonical casing.
//!
//! Supported `$filter` syntax: `eq ne gt ge lt le`, `in (...)`, `and or not`,
//! parentheses, `startswith/endswith/contains(prop,'text')`,
//! `prop/any(x: ...)` over string collections, string/number/boolean/null
//! literals, and unquoted GUIDs and DateTimeOffsets. Not supported: arithmetic
//! (`add`, `mul`, ...), other functions (`tolower`, `length`, ...), `all()`,
//! `has`, comparisons between two properties, parameter aliases (`@p`), and
//! casts.

mod check;
mod error;
mod eval;
mod filter;
mod lexer;
mod options;
mod schema;
mod skiptoken;
mod sql;

pub use error::ODataError;
pub use eval::{evaluate, PreparedFilter, Value};
pub use filter::{parse_filter, CompareOp, Expr, Literal};
pub use options::{
    compile_orderby, decode_component, parse_query, validate_select, ExpandItem, OrderBy, QueryOptions,
    MAX_EXPAND_DEPTH, MAX_QUERY_LEN, MAX_TOP,
};
pub use schema::{EntitySchema, PropType, Property};
pub use skiptoken::{decode_skiptoken, encode_skiptoken};
pub use sql::{compile_filter, SqlFragment, SqlParam};

/// Longest `$filter` accepted, in bytes (after percent-decoding).
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses, `not` and `any()` in a `$filter`.
pub const MAX_FILTER_DEPTH: usize = 32;
/// Most operators (`and`, `or`, `not`) plus comparisons, `in`s, function
/// calls and lambdas in one `$filter`. This bounds the AST's size and depth,
/// which the checker, compiler, evaluator and printer recurse over.
pub const MAX_FILTER_NODES: usize = 100;
