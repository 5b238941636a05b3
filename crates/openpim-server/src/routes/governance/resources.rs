//! `privilegedAccess/{provider}/resources`: list, get, `register`.

use super::{azure, page_in_memory, Location, Provider};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::AppState;
use crate::wire::body::{Body, JsonObject};
use crate::wire::governance as wire;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openpim_core::scope::ArmScope;
use openpim_odata::{EntitySchema, PropType, Property};
use serde_json::Value;

pub const CONTEXT: &str = "governanceResources";

const fn p(name: &'static str, ty: PropType) -> Property {
    Property::new(name, name, ty)
}

pub static SCHEMA: EntitySchema = EntitySchema {
    type_name: wire::RESOURCE_TYPE,
    key_column: "id",
    properties: &[
        p("id", PropType::Guid),
        p("externalId", PropType::String).case_insensitive(),
        p("type", PropType::String).case_insensitive(),
        p("displayName", PropType::String).case_insensitive(),
        p("status", PropType::String),
        p("registeredDateTime", PropType::DateTime),
        p("registeredRoot", PropType::String),
    ],
};

/// The provider's resources the caller may read, with their parent when `with_parent`.
/// aadRoles: the tenant (no parent); every signed-in member of the tenant holds something there
/// (default user permissions), so anyone may read it. azureResources: the Azure scopes the
/// caller may see (`azure::Viewer`); a parent they may not see shows as `null`.
async fn resources(s: &AppState, caller: &Caller, loc: &Location, with_parent: bool) -> ApiResult<Vec<Value>> {
    if loc.provider == Provider::AadRoles {
        let mut v = wire::json(&wire::tenant_resource(loc.resource));
        if with_parent {
            v["parent"] = Value::Null;
        }
        return Ok(vec![v]);
    }
    let viewer = azure::Viewer::of(s, caller.id()).await?;
    let all = azure::all(s).await?;
    let mut items = Vec::new();
    for r in all.iter().filter(|r| viewer.sees(s, &r.scope)) {
        let mut v = wire::json(&r.render());
        if with_parent {
            v["parent"] = visible_parent(s, &viewer, &all, r);
        }
        items.push(v);
    }
    Ok(items)
}

fn visible_parent(
    s: &AppState,
    viewer: &azure::Viewer,
    all: &[azure::AzureResource],
    r: &azure::AzureResource,
) -> Value {
    match azure::parent_in(s, all, r) {
        Some(p) if viewer.sees(s, &p.scope) => wire::json(&p.render()),
        _ => Value::Null,
    }
}

pub async fn list(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    q.check_expand(wire::RESOURCE_TYPE, &["parent"])?;
    let items = resources(&s, &caller, &loc, q.expands("parent")).await?;
    let (page, offset) = page_in_memory(&q, items, &SCHEMA)?;
    Ok(q.collection(CONTEXT, page, offset))
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    q.check_expand(wire::RESOURCE_TYPE, &["parent"])?;
    let mut v = match loc.visible_azure(&s, caller.id()).await? {
        Some(r) => wire::json(&r.render()),
        None => wire::json(&wire::tenant_resource(loc.resource)),
    };
    if q.expands("parent") {
        // The tenant has no parent resource.
        v["parent"] = match &loc.azure {
            Some(r) => {
                let viewer = azure::Viewer::of(&s, caller.id()).await?;
                visible_parent(&s, &viewer, &azure::all(&s).await?, r)
            }
            None => Value::Null,
        };
    }
    Ok(q.entity(&format!("{CONTEXT}/$entity"), v))
}

/// The resource a row (schedule or request) at `scope` belongs to, rendered: the Azure resource
/// of an ARM scope, the tenant otherwise.
pub async fn of_row(s: &AppState, loc: &Location, scope: &openpim_core::scope::Scope) -> ApiResult<Value> {
    Ok(match scope.as_arm() {
        Some(at) => azure::at_scope(s, at).await?.map_or(Value::Null, |r| wire::json(&r.render())),
        None => wire::json(&wire::tenant_resource(loc.resource)),
    })
}

fn not_a_resource(external_id: &str, loc: &Location) -> ApiError {
    let hint = match loc.provider {
        Provider::AadRoles => format!("aadRoles has one resource, the tenant '{}'", loc.resource),
        Provider::AzureResources => {
            "azureResources registers an existing Azure scope you hold an active role on".to_string()
        }
    };
    ApiError::bad_request_code(
        "ResourceNotFound",
        format!("'{external_id}' is not a resource of this provider; {hint}."),
    )
}

/// `resources/register`: brings a resource under PIM. Every resource OpenPIM holds is already
/// under PIM (the tenant for aadRoles, which Microsoft cannot onboard programmatically either;
/// every Azure scope of the hierarchy), so registering one again succeeds and changes nothing.
/// For azureResources the caller needs an active role at the scope or above, as Microsoft's docs
/// require; a scope that does not exist, or that the caller holds nothing on, answers the same
/// `ResourceNotFound` so the answer tells nobody more than they may read.
pub async fn register(
    State(s): State<AppState>,
    caller: Caller,
    loc: Location,
    body: JsonObject,
) -> ApiResult<Response> {
    let external_id = wire::read_register(Body::new(body, "microsoft.graph.registerPostRequestBody"))?;
    let known = match loc.provider {
        Provider::AadRoles => external_id.trim().eq_ignore_ascii_case(&loc.resource.to_string()),
        Provider::AzureResources => match ArmScope::parse(external_id.trim()) {
            Ok(scope) => {
                azure::at_scope(&s, &scope).await?.is_some() && azure::holds_active_role(&s, caller.id(), &scope)
            }
            Err(_) => false,
        },
    };
    if !known {
        return Err(not_a_resource(&external_id, &loc));
    }
    Ok(StatusCode::OK.into_response())
}
