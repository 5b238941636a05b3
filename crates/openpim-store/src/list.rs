//! Paged, filtered, ordered reads driven by OData query options.

use crate::{StoreError, StoreResult};
use openpim_odata::{compile_filter, compile_orderby, EntitySchema, Expr, OrderBy, SqlParam};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AnyPool};

/// What a list endpoint asks of the store (already parsed and bounded by the server).
#[derive(Debug, Clone, Copy)]
pub struct ListRequest<'a> {
    pub filter: Option<&'a Expr>,
    pub orderby: &'a [OrderBy],
    /// Page size (1..=999).
    pub top: usize,
    /// Rows to skip (decoded from the opaque `$skiptoken`).
    pub offset: u64,
    /// Whether to count all matching rows (`$count=true`).
    pub count: bool,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// True when more rows follow this page.
    pub has_more: bool,
    pub count: Option<u64>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), has_more: self.has_more, count: self.count }
    }
}

/// A fixed restriction the endpoint adds (e.g. "members of this group"), with `$1..` placeholders.
pub(crate) struct Restriction {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

pub(crate) fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    params: &[SqlParam],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for p in params {
        q = match p {
            SqlParam::Null => q.bind(Option::<String>::None),
            SqlParam::Int(i) => q.bind(*i),
            SqlParam::Text(s) => q.bind(s.clone()),
            SqlParam::Float(f) => q.bind(*f),
        };
    }
    q
}

/// Runs a list query over `table` described by `schema`.
pub(crate) async fn list<T>(
    pool: &AnyPool,
    table: &str,
    schema: &EntitySchema,
    restriction: Option<Restriction>,
    req: &ListRequest<'_>,
    map: impl Fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Page<T>> {
    let mut conn = pool.acquire().await.map_err(StoreError::Db)?;
    list_on(&mut conn, table, schema, restriction, req, map).await
}

/// [`list`] on a given connection (e.g. inside a read transaction, to page through a snapshot).
pub(crate) async fn list_on<T>(
    conn: &mut AnyConnection,
    table: &str,
    schema: &EntitySchema,
    restriction: Option<Restriction>,
    req: &ListRequest<'_>,
    map: impl Fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Page<T>> {
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    if let Some(r) = restriction {
        clauses.push(format!("({})", r.sql));
        params.extend(r.params);
    }
    if let Some(expr) = req.filter {
        let frag = compile_filter(expr, schema, params.len() + 1)?;
        clauses.push(format!("({})", frag.sql));
        params.extend(frag.params);
    }
    let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
    let order_sql = compile_orderby(req.orderby, schema)?;
    let limit = req.top as u64 + 1;
    let sql = format!("SELECT * FROM {table}{where_sql} {order_sql} LIMIT {limit} OFFSET {}", req.offset);
    let rows = bind_all(sqlx::query(&sql), &params).fetch_all(&mut *conn).await.map_err(StoreError::Db)?;
    let has_more = rows.len() > req.top;
    let items = rows.iter().take(req.top).map(map).collect::<StoreResult<Vec<T>>>()?;
    let count = if req.count {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}{where_sql}");
        let row = bind_all(sqlx::query(&sql), &params).fetch_one(&mut *conn).await.map_err(StoreError::Db)?;
        Some(crate::codec::RowExt::int(&row, "n")? as u64)
    } else {
        None
    };
    Ok(Page { items, has_more, count })
}
