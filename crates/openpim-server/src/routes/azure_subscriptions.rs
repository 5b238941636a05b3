//! The OpenPIM extension that registers Azure subscriptions with the resource hierarchy:
//! `PUT /openpim/azure/subscriptions/{subscriptionId}` with `displayName` and an optional
//! `managementGroupId` (the tenant root group when absent). ARM has no API that creates
//! subscriptions (billing does), so this is OpenPIM's own, on Graph's rules: a Graph token, the
//! `RegisterAzureSubscriptions` capability (Global Administrators), Graph error bodies. A second
//! PUT renames the subscription or moves it to another management group. It answers 201 when it
//! registered the subscription, 200 when it updated it, with ARM's subscription shape.

use crate::arm::ArmError;
use crate::auth::Caller;
use crate::azure::hierarchy;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use openpim_core::authz::cap;

const TYPE_NAME: &str = "openpim.azureSubscription";

fn graph(e: ArmError) -> ApiError {
    ApiError::new(e.status, e.code, e.message)
}

pub async fn put(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let subscription = (id.len() == 36)
        .then(|| uuid::Uuid::try_parse(&id).ok())
        .flatten()
        .ok_or_else(|| graph(crate::arm::path::invalid_subscription_id(&id)))?;
    let mut body = Body::new(body, TYPE_NAME);
    let display_name = body.string("displayName")?;
    let management_group = body.string("managementGroupId")?;
    body.finish()?;
    let display_name = display_name.ok_or_else(|| ApiError::bad_request("The property 'displayName' is required."))?;
    let audit = Audit::new(crate::azure::AUDIT_CATEGORY, "Register Azure subscription", "Add").target(
        "Other",
        format!("/subscriptions/{subscription}"),
        Some(&display_name),
        None,
    );
    let granted = s.authorize::<cap::RegisterAzureSubscriptions>(&caller, &[], &audit).await?;
    let (registered, created) = hierarchy::register_subscription(
        &s,
        &caller,
        &granted,
        subscription,
        &display_name,
        management_group.as_deref(),
    )
    .await
    .map_err(graph)?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(crate::arm::render_subscription(&s, &registered))).into_response())
}
