//! Graph beta PIM "iteration 2": `/beta/privilegedAccess/{provider}/...` (`governanceResource`,
//! `governanceRoleDefinition`, `governanceRoleSetting`, `governanceRoleAssignment`,
//! `governanceRoleAssignmentRequest`, `governanceSubject`). A second view over the same engine
//! as v1.0: the handlers parse, authorise, call one `pim` operation and render through
//! `wire::governance`; the vocabulary mapping is core's (`openpim_core::governance`).
//!
//! `aadRoles` is the tenant's directory roles at `/` (one resource: the tenant).
//! `azureResources` is the Azure hierarchy (`azure.rs`: its resources, ids and who sees them);
//! the same handlers serve it by calling the ARM side's operations (`crate::azure`: ARM PIM's
//! submit, lists and cancel, the per-(role, scope) policies) with ARM's rights. The lists are
//! read from the engine and then filtered, ordered and paged in memory with the same `$filter`
//! semantics as the v1.0 lists (`openpim_odata::PreparedFilter`): the governance properties
//! (`subject/id`, `status/subStatus`, ...) are a projection no table holds.

pub mod azure;
pub mod resources;
pub mod role_assignment_requests;
pub mod role_assignments;
pub mod role_definitions;
pub mod role_settings;
pub mod subjects;

use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::StatusCode;
use openpim_core::governance::errors::beta_code;
use openpim_core::ObjectId;
use openpim_odata::{EntitySchema, PreparedFilter, PropType, Value as FilterValue};
use openpim_store::Page;
use serde_json::Value;
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;

/// The provider a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// The tenant's directory roles; one resource, the tenant.
    AadRoles,
    /// The Azure RBAC hierarchy (management groups, subscriptions, resource groups, resources).
    AzureResources,
}

/// Where a request points: the provider and, under `resources/{id}/...`, the resource (checked
/// to be one of the provider's: 404 otherwise).
pub struct Location {
    pub provider: Provider,
    /// aadRoles: the tenant id (its one resource). azureResources: the governance id of the
    /// named resource, or of ARM's root `/` at the provider level.
    pub resource: ObjectId,
    /// azureResources under `resources/{id}`: the resource.
    pub azure: Option<azure::AzureResource>,
    /// `{id}` of the item the path names, if any.
    pub id: Option<String>,
}

fn resource_not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "ResourceNotFound", format!("The resource '{id}' was not found."))
}

impl FromRequestParts<AppState> for Location {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, s)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let provider = match params.get("provider").map(String::as_str) {
            Some(p) if p.eq_ignore_ascii_case("aadRoles") => Provider::AadRoles,
            Some(p) if p.eq_ignore_ascii_case("azureResources") => Provider::AzureResources,
            Some(p) if p.eq_ignore_ascii_case("aadGroups") => {
                return Err(ApiError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    "NotSupported",
                    format!(
                        "The '{p}' provider is not served by this OpenPIM version; use aadRoles or azureResources."
                    ),
                ));
            }
            _ => return Err(crate::routes::not_found().await),
        };
        let id = params.get("id").cloned();
        match provider {
            Provider::AadRoles => {
                let tenant = s.tenant_id;
                if let Some(rid) = params.get("rid") {
                    if !ObjectId::parse_str(rid).is_ok_and(|r| r == tenant) {
                        return Err(resource_not_found(rid));
                    }
                }
                Ok(Location { provider, resource: tenant, azure: None, id })
            }
            Provider::AzureResources => {
                let root = openpim_core::governance::ids::azure_resource_id(&openpim_core::scope::ArmScope::root());
                let Some(rid) = params.get("rid") else {
                    return Ok(Location { provider, resource: root, azure: None, id });
                };
                let found = azure::find(s, rid).await?.ok_or_else(|| resource_not_found(rid))?;
                Ok(Location { provider, resource: found.id(), azure: Some(found), id })
            }
        }
    }
}

impl Location {
    /// The path's `{id}`.
    pub fn id(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }

    /// The ARM scope azureResources reads are made at: the resource the path names, or ARM's
    /// root `/` at the provider level.
    pub fn azure_scope(&self) -> openpim_core::scope::ArmScope {
        self.azure.as_ref().map_or_else(openpim_core::scope::ArmScope::root, |r| r.scope.clone())
    }

    /// The azureResources resource the path names, checked to be visible to `caller` (an
    /// invisible one answers as a missing one).
    pub async fn visible_azure(&self, s: &AppState, caller: ObjectId) -> ApiResult<Option<&azure::AzureResource>> {
        match &self.azure {
            Some(r) if !azure::visible(s, caller, &r.scope).await? => Err(resource_not_found(&r.id().to_string())),
            other => Ok(other.as_ref()),
        }
    }
}

/// An ARM operation's refusal (`crate::azure`) in Graph's error shape, same status and code.
pub fn from_arm(e: crate::arm::ArmError) -> ApiError {
    ApiError::new(e.status, e.code, e.message)
}

/// An engine error in the beta API's vocabulary (`RoleNotFound` for v1.0's
/// `RoleDefinitionDoesNotExist`, ...).
pub fn beta_error(mut e: ApiError) -> ApiError {
    if let Some(code) = beta_code(&e.code) {
        e.code = code.to_string();
        e.status = StatusCode::BAD_REQUEST;
    }
    e
}

/// The value of property `name` (a path such as `status/subStatus`) of a rendered entity, as the
/// filter evaluator reads it.
fn lookup(item: &Value, schema: &EntitySchema, name: &str) -> FilterValue {
    let mut v = item;
    for part in name.split('/') {
        match v.get(part) {
            Some(inner) => v = inner,
            None => {
                // `subject/id` (and `roleDefinition/id`, `resource/id`) filter on the navigation's
                // key, which the entity carries as `subjectId` whether or not it is expanded.
                match name.strip_suffix("/id").and_then(|nav| item.get(format!("{nav}Id"))) {
                    Some(key) => {
                        v = key;
                        break;
                    }
                    None => return FilterValue::Null,
                }
            }
        }
    }
    let is_time = schema.property(name).is_some_and(|p| p.ty == PropType::DateTime);
    match v {
        Value::String(s) if is_time => {
            time::OffsetDateTime::parse(s, &Rfc3339).map(FilterValue::DateTime).unwrap_or(FilterValue::Null)
        }
        Value::String(s) => FilterValue::String(s.clone()),
        Value::Bool(b) => FilterValue::Bool(*b),
        Value::Number(n) => n.as_i64().map(FilterValue::Int).unwrap_or(FilterValue::Null),
        _ => FilterValue::Null,
    }
}

fn sort_key(v: &FilterValue) -> String {
    match v {
        FilterValue::String(s) => s.to_lowercase(),
        FilterValue::DateTime(t) => format!("{:020}", t.unix_timestamp_nanos()),
        FilterValue::Int(i) => format!("{:020}", i),
        FilterValue::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// `$filter`, `$orderby`, `$count`, `$skip`/`$skiptoken` and `$top` over rendered entities, as
/// the store applies them to its tables. Returns the page and its offset (for the next link).
pub fn page_in_memory(q: &OData, items: Vec<Value>, schema: &EntitySchema) -> ApiResult<(Page<Value>, u64)> {
    let req = q.list_request(schema)?;
    let mut kept = match req.filter {
        None => items,
        Some(f) => {
            let prepared = PreparedFilter::new(f, schema)?;
            let mut kept = Vec::new();
            for item in items {
                if prepared.matches(&|name| lookup(&item, schema, name))? {
                    kept.push(item);
                }
            }
            kept
        }
    };
    if !req.orderby.is_empty() {
        openpim_odata::compile_orderby(req.orderby, schema)?;
        let canonical: Vec<(String, bool)> = req
            .orderby
            .iter()
            .map(|o| (schema.property(&o.prop).map_or(o.prop.clone(), |p| p.name.to_string()), o.descending))
            .collect();
        kept.sort_by(|a, b| {
            for (prop, descending) in &canonical {
                let (ka, kb) = (sort_key(&lookup(a, schema, prop)), sort_key(&lookup(b, schema, prop)));
                let ord = if *descending { kb.cmp(&ka) } else { ka.cmp(&kb) };
                if ord.is_ne() {
                    return ord;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let count = req.count.then_some(kept.len() as u64);
    let offset = usize::try_from(req.offset).unwrap_or(usize::MAX);
    let rest: Vec<Value> = kept.into_iter().skip(offset).collect();
    let has_more = rest.len() > req.top;
    let items = rest.into_iter().take(req.top).collect();
    Ok((Page { items, has_more, count }, req.offset))
}

/// Everything from the engine: the in-memory paging above does the rest.
pub const ALL: openpim_store::ListRequest<'static> =
    openpim_store::ListRequest { filter: None, orderby: &[], top: 100_000, offset: 0, count: false };

/// Does `filter` keep only `who`'s items (`subjectId eq '{who}'` or `subject/id eq '{who}'`,
/// alone or and-ed)? How a caller who reads only their own lists them, as the docs' "my
/// assignments" form does.
pub fn pins_subject(filter: Option<&openpim_odata::Expr>, who: ObjectId) -> bool {
    crate::pim::reads::filter_pins(filter, "subjectId", who)
        || crate::pim::reads::filter_pins(filter, "subject/id", who)
}

impl super::GraphRoutes {
    /// The `privilegedAccess` routes, beta-only: each collection at the provider and under
    /// `resources/{rid}` (the same handler; the resource must be the provider's).
    pub(crate) fn governance(self) -> Self {
        use axum::routing::{get, post};
        self.beta_route("/beta/privilegedAccess/{provider}/resources", get(resources::list))
            .beta_route("/beta/privilegedAccess/{provider}/resources/register", post(resources::register))
            .beta_route("/beta/privilegedAccess/{provider}/resources/{rid}", get(resources::get))
            .beta_route("/beta/privilegedAccess/{provider}/roleDefinitions", get(role_definitions::list))
            .beta_route("/beta/privilegedAccess/{provider}/roleDefinitions/{id}", get(role_definitions::get))
            .beta_route(
                "/beta/privilegedAccess/{provider}/roleDefinitions/{id}/resource",
                get(role_definitions::resource),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/resources/{rid}/roleDefinitions",
                get(role_definitions::list),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/resources/{rid}/roleDefinitions/{id}",
                get(role_definitions::get),
            )
            .beta_route("/beta/privilegedAccess/{provider}/roleSettings", get(role_settings::list))
            .beta_route(
                "/beta/privilegedAccess/{provider}/roleSettings/{id}",
                get(role_settings::get).patch(role_settings::update),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/roleSettings/{id}/roleDefinition",
                get(role_settings::role_definition),
            )
            .beta_route("/beta/privilegedAccess/{provider}/resources/{rid}/roleSettings", get(role_settings::list))
            .beta_route(
                "/beta/privilegedAccess/{provider}/resources/{rid}/roleSettings/{id}",
                get(role_settings::get).patch(role_settings::update),
            )
            .beta_route("/beta/privilegedAccess/{provider}/roleAssignments", get(role_assignments::list))
            .beta_route("/beta/privilegedAccess/{provider}/roleAssignments/export()", get(role_assignments::export))
            .beta_route("/beta/privilegedAccess/{provider}/roleAssignments/{id}", get(role_assignments::get))
            .beta_route(
                "/beta/privilegedAccess/{provider}/roleAssignments/{id}/subject",
                get(role_assignments::subject),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/resources/{rid}/roleAssignments",
                get(role_assignments::list),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/resources/{rid}/roleAssignments/export()",
                get(role_assignments::export),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/resources/{rid}/roleAssignments/{id}",
                get(role_assignments::get),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/roleAssignmentRequests",
                get(role_assignment_requests::list).post(role_assignment_requests::create),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/roleAssignmentRequests/{id}",
                get(role_assignment_requests::get),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/roleAssignmentRequests/{id}/cancel",
                post(role_assignment_requests::cancel),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/roleAssignmentRequests/{id}/updateRequest",
                post(role_assignment_requests::update_request),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/resources/{rid}/roleAssignmentRequests",
                get(role_assignment_requests::list).post(role_assignment_requests::create),
            )
            .beta_route(
                "/beta/privilegedAccess/{provider}/resources/{rid}/roleAssignmentRequests/{id}",
                get(role_assignment_requests::get),
            )
            .beta_route("/beta/governanceSubjects/{id}", get(subjects::get))
    }
}
