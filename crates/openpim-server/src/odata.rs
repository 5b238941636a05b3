//! The OData layer every endpoint shares: parsing query options, paging with next links,
//! `@odata.context`, `$select`, `$count`, and rendering entities and collections.

use crate::error::{ApiError, ApiResult};
use crate::routes::GraphVersion;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use openpim_odata::{
    decode_skiptoken, encode_skiptoken, parse_query, validate_select, EntitySchema, ExpandItem, QueryOptions,
};
use openpim_store::{ListRequest, Page};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// `$expand=*`: every navigation property the entity set supports (Graph PowerShell's
/// `-ExpandProperty "*"`).
pub const EXPAND_ALL: &str = "*";

/// Graph's default page size for directory collections.
pub const DEFAULT_TOP: u32 = 100;

/// The parsed query options of a request, plus what is needed to build absolute links.
pub struct OData {
    pub options: QueryOptions,
    /// The API version the request came in on: `@odata.context` and next links name it.
    pub version: GraphVersion,
    /// `http://host:port/v1.0` or `http://host:port/beta`.
    pub base: String,
    /// `http://host:port`.
    origin: String,
    /// The request path, e.g. `/v1.0/users`.
    pub path: String,
    /// The raw query string as received (still percent-encoded).
    pub raw_query: String,
    /// `ConsistencyLevel: eventual` was sent (Graph requires it for `$count` on directory objects).
    pub eventual: bool,
    /// The navigation properties of the entity served, as its handler declared them to
    /// [`OData::check_expand`]: what `$expand=*` expands and what `$select` keeps when expanded.
    navigation: OnceLock<Vec<&'static str>>,
}

impl FromRequestParts<AppState> for OData {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let raw_query = parts.uri.query().unwrap_or("").to_string();
        let options = parse_query(&raw_query)?;
        // Never from the `Host` header: a forged Host would put the attacker's origin into the
        // next links a client follows with its bearer token.
        let origin = match &state.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => state.listen_origin.clone(),
        };
        let eventual = parts
            .headers
            .get("consistencylevel")
            .and_then(|h| h.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
        let version = parts.extensions.get::<GraphVersion>().copied().unwrap_or_default();
        Ok(OData {
            options,
            version,
            base: format!("{origin}/{}", version.segment()),
            origin,
            path: parts.uri.path().to_string(),
            raw_query,
            eventual,
            navigation: OnceLock::new(),
        })
    }
}

impl OData {
    /// `{base}/$metadata#{fragment}`, with the projection Graph writes for `$select` and
    /// `$expand` (`#users(id,displayName)`, `#roleManagement/directory/roleAssignments(principal())`,
    /// `...roleAssignments(principal())/$entity`).
    pub fn context(&self, fragment: &str) -> String {
        let projection = projection(&self.options.select, &self.options.expand, self.navigation());
        match fragment.strip_suffix("/$entity") {
            Some(set) => format!("{}/$metadata#{set}{projection}/$entity", self.base),
            None => format!("{}/$metadata#{fragment}{projection}", self.base),
        }
    }

    /// The context of a function's result, e.g. `filterByCurrentUser`:
    /// `{base}/$metadata#Collection(microsoft.graph.unifiedRoleAssignmentScheduleInstance)`.
    pub fn function_context(type_name: &str) -> String {
        format!("Collection({type_name})")
    }

    fn navigation(&self) -> &[&'static str] {
        self.navigation.get().map(Vec::as_slice).unwrap_or(&[])
    }

    /// Checks options against `schema` and turns them into a store request.
    pub fn list_request(&self, schema: &EntitySchema) -> ApiResult<ListRequest<'_>> {
        if self.options.search.is_some() {
            return Err(ApiError::bad_request(
                "$search is not supported; use $filter (e.g. startswith(displayName,'a')) instead.",
            ));
        }
        validate_select(&self.options.select, schema)?;
        let token_offset = match &self.options.skiptoken {
            Some(t) => decode_skiptoken(t)?,
            None => 0,
        };
        // A well-formed token can still carry an offset no database accepts (SQL integers are
        // signed 64-bit); that is a bad token, not a server fault.
        let offset = token_offset
            .checked_add(u64::from(self.options.skip.unwrap_or(0)))
            .filter(|o| i64::try_from(*o).is_ok())
            .ok_or_else(|| ApiError::bad_request("Invalid $skiptoken"))?;
        Ok(ListRequest {
            filter: self.options.filter.as_ref(),
            orderby: &self.options.orderby,
            top: self.options.top.unwrap_or(DEFAULT_TOP) as usize,
            offset,
            count: self.options.count,
        })
    }

    /// `/$count` on directory objects, which Graph serves only with `ConsistencyLevel: eventual`.
    pub fn directory_count_request(&self, schema: &EntitySchema) -> ApiResult<ListRequest<'_>> {
        if !self.eventual {
            return Err(ApiError::bad_request(
                "Counting directory objects requires the request header 'ConsistencyLevel: eventual'.",
            ));
        }
        Ok(self.count_request(self.directory_list_request(schema)?))
    }

    /// Like [`Self::list_request`], for directory objects: `$count` needs `ConsistencyLevel: eventual`,
    /// and no navigation property of users, groups or units can be expanded here.
    pub fn directory_list_request(&self, schema: &EntitySchema) -> ApiResult<ListRequest<'_>> {
        self.check_expand(schema.type_name, &[])?;
        if self.options.count && !self.eventual {
            return Err(ApiError::bad_request(
                "$count on directory objects requires the request header 'ConsistencyLevel: eventual'.",
            ));
        }
        self.list_request(schema)
    }

    /// Rejects `$expand` items other than `allowed` (Graph's message for an unknown navigation),
    /// and records `allowed` as the entity's navigation properties (what `*` expands).
    pub fn check_expand(&self, type_name: &str, allowed: &[&'static str]) -> ApiResult<()> {
        // The first declaration stands (a handler that delegates declares the same list again).
        let _ = self.navigation.set(allowed.to_vec());
        for item in &self.options.expand {
            if item.name != EXPAND_ALL && !allowed.iter().any(|a| a.eq_ignore_ascii_case(&item.name)) {
                return Err(ApiError::bad_request(format!(
                    "Could not find a navigation property named '{}' on type '{type_name}'.",
                    item.name
                )));
            }
        }
        Ok(())
    }

    /// Was navigation property `name` asked for: by name, or by `$expand=*` when it is one of
    /// the entity's navigation properties?
    pub fn expands(&self, name: &str) -> bool {
        let declared = || self.navigation().iter().any(|n| n.eq_ignore_ascii_case(name));
        self.options.expand.iter().any(|e| e.name.eq_ignore_ascii_case(name) || (e.name == EXPAND_ALL && declared()))
    }

    /// `$select` applied to one rendered entity: the selected properties, plus the navigation
    /// properties that were expanded (Graph keeps them: `$select=id&$expand=principal`).
    fn project(&self, item: Value) -> Value {
        if self.options.select.is_empty() {
            return item;
        }
        let mut keep = self.options.select.clone();
        keep.extend(self.navigation().iter().filter(|n| self.expands(n)).map(|n| n.to_string()));
        keep.extend(self.options.expand.iter().filter(|e| e.name != EXPAND_ALL).map(|e| e.name.clone()));
        select(item, &keep)
    }

    /// The link to the page after one that started at `offset` and held `len` items.
    pub(crate) fn next_link(&self, offset: u64, len: usize) -> String {
        let token = encode_skiptoken(offset + len as u64);
        let mut kept: Vec<&str> = self
            .raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| {
                // Decoded as `parse_query` decodes keys (`+` is a space, `$skip = 5` is `$skip`).
                let raw_key = p.split('=').next().unwrap_or("");
                let key = openpim_odata::decode_component(raw_key).unwrap_or_default().trim().to_ascii_lowercase();
                key != "$skiptoken" && key != "skiptoken" && key != "$skip" && key != "skip"
            })
            .collect();
        let token_param = format!("$skiptoken={token}");
        kept.push(&token_param);
        // The request's own path, so a /beta page links to the next /beta page.
        format!("{}{}?{}", self.origin, self.path, kept.join("&"))
    }

    /// A request for just the number of matching items (the `/$count` path segment).
    pub fn count_request<'a>(&self, req: ListRequest<'a>) -> ListRequest<'a> {
        ListRequest { top: 1, offset: 0, count: true, ..req }
    }

    /// Graph answers `/$count` with the bare number as text.
    pub fn count_response(count: Option<u64>) -> Response {
        let n = count.unwrap_or(0).to_string();
        ([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], n).into_response()
    }

    /// Renders one page of a collection.
    pub fn collection(&self, context_fragment: &str, page: Page<Value>, offset: u64) -> Response {
        let mut body = Map::new();
        body.insert("@odata.context".into(), Value::String(self.context(context_fragment)));
        if let Some(n) = page.count {
            body.insert("@odata.count".into(), Value::from(n));
        }
        if page.has_more {
            body.insert("@odata.nextLink".into(), Value::String(self.next_link(offset, page.items.len())));
        }
        let items = page.items.into_iter().map(|v| self.project(v)).collect();
        body.insert("value".into(), Value::Array(items));
        Json(Value::Object(body)).into_response()
    }

    /// Renders a single entity with `$select` applied.
    pub fn entity(&self, context_fragment: &str, item: Value) -> Response {
        entity_response(StatusCode::OK, &self.context(context_fragment), self.project(item))
    }

    /// Renders a created entity (201).
    pub fn created(&self, context_fragment: &str, item: Value) -> Response {
        entity_response(StatusCode::CREATED, &self.context(context_fragment), item)
    }
}

fn entity_response(status: StatusCode, context: &str, item: Value) -> Response {
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(context.to_string()));
    if let Value::Object(m) = item {
        body.extend(m);
    }
    (status, Json(Value::Object(body))).into_response()
}

/// The projection part of a context URL: `(id,displayName,principal(),policy(rules()))`, empty
/// without `$select` and `$expand`. `*` lists the navigation properties it expanded.
fn projection(select: &[String], expand: &[ExpandItem], navigation: &[&str]) -> String {
    let mut parts: Vec<String> = select.to_vec();
    for item in expand {
        if item.name == EXPAND_ALL {
            parts.extend(navigation.iter().map(|n| format!("{n}()")));
        } else {
            // In the entity's own casing when it declared the property.
            let name = navigation.iter().find(|n| n.eq_ignore_ascii_case(&item.name)).copied().unwrap_or(&item.name);
            let inner = projection(&item.options.select, &item.options.expand, &[]);
            parts.push(if inner.is_empty() { format!("{name}()") } else { format!("{name}{inner}") });
        }
    }
    parts.dedup();
    if parts.is_empty() {
        String::new()
    } else {
        format!("({})", parts.join(","))
    }
}

/// Keeps only the selected properties (and annotations such as `@odata.type`).
pub fn select(item: Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return item;
    }
    match item {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| k.starts_with('@') || fields.iter().any(|f| f.eq_ignore_ascii_case(k)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expand(name: &str, inner: &str) -> ExpandItem {
        let options = if inner.is_empty() { QueryOptions::default() } else { parse_query(inner).unwrap() };
        ExpandItem { name: name.into(), options }
    }

    #[test]
    fn projections_as_graph_writes_them() {
        assert_eq!(projection(&[], &[], &[]), "");
        assert_eq!(projection(&["id".into(), "displayName".into()], &[], &[]), "(id,displayName)");
        assert_eq!(projection(&[], &[expand("principal", "")], &["principal"]), "(principal())");
        assert_eq!(projection(&[], &[expand("policy", "$expand=rules")], &["policy"]), "(policy(rules()))");
        assert_eq!(
            projection(&["id".into()], &[expand("PRINCIPAL", "$select=id,displayName")], &["principal"]),
            "(id,principal(id,displayName))"
        );
        assert_eq!(
            projection(&[], &[expand("*", "")], &["principal", "roleDefinition"]),
            "(principal(),roleDefinition())"
        );
    }

    #[test]
    fn select_keeps_annotations_and_named_fields() {
        let v = json!({"@odata.type": "#microsoft.graph.user", "id": "1", "displayName": "A", "mail": "x"});
        assert_eq!(
            select(v, &["displayName".into()]),
            json!({"@odata.type": "#microsoft.graph.user", "displayName": "A"})
        );
    }
}
