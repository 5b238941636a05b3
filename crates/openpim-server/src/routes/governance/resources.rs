//! `privilegedAccess/{provider}/resources`: list, get, `register`.

use super::{page_in_memory, Location};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::wire::body::{Body, JsonObject};
use crate::wire::governance as wire;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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

/// The provider's resources (aadRoles: the tenant). Every signed-in member of the tenant holds
/// something there (default user permissions), so anyone may read it.
fn resources(loc: &Location) -> Vec<Value> {
    vec![wire::json(&wire::tenant_resource(loc.resource))]
}

pub async fn list(_caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    q.check_expand(wire::RESOURCE_TYPE, &["parent"])?;
    let (page, offset) = page_in_memory(&q, resources(&loc), &SCHEMA)?;
    Ok(q.collection(CONTEXT, page, offset))
}

pub async fn get(_caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    q.check_expand(wire::RESOURCE_TYPE, &["parent"])?;
    let mut v = resources(&loc).remove(0);
    if q.expands("parent") {
        // The tenant has no parent resource.
        v["parent"] = Value::Null;
    }
    Ok(q.entity(&format!("{CONTEXT}/$entity"), v))
}

/// `resources/register`: brings a resource under PIM. The tenant is always under PIM (Microsoft
/// has no programmatic onboarding of Entra roles either), so registering it again succeeds and
/// changes nothing; any other externalId is not a resource of this provider.
pub async fn register(_caller: Caller, loc: Location, body: JsonObject) -> ApiResult<Response> {
    let external_id = wire::read_register(Body::new(body, "microsoft.graph.registerPostRequestBody"))?;
    if !external_id.trim().eq_ignore_ascii_case(&loc.resource.to_string()) {
        return Err(ApiError::bad_request_code(
            "ResourceNotFound",
            format!(
                "'{external_id}' is not a resource of this provider; aadRoles has one resource, the tenant '{}'.",
                loc.resource
            ),
        ));
    }
    Ok(StatusCode::OK.into_response())
}
