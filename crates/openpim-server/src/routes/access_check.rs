//! `GET /v1.0/openpim/accessCheck`: OpenPIM's own extension (not in Graph). Answers whether a
//! principal may perform a resource action at a scope right now, and which assignment grants it,
//! from the in-memory access index.

use super::object_id;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::pim::{self, access::AccessAnswer, access::AccessOf};
use crate::state::AppState;
use crate::wire::datetime;
use axum::extract::{Query, State};
use axum::Json;
use openpim_core::access::GrantSource;
use openpim_core::authz::{self, cap};
use openpim_core::scope::DirectoryScope;
use openpim_core::ObjectId;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckQuery {
    principal_id: Option<String>,
    action: Option<String>,
    directory_scope_id: Option<String>,
}

pub async fn check(State(s): State<AppState>, caller: Caller, Query(q): Query<CheckQuery>) -> ApiResult<Json<Value>> {
    let principal = match q.principal_id.as_deref() {
        Some(p) => object_id(p)?,
        None => caller.id(),
    };
    let action = q.action.filter(|a| !a.trim().is_empty() && a.len() <= 300).ok_or_else(|| {
        ApiError::bad_request("Query parameter 'action' is required (e.g. microsoft.directory/users/password/update).")
    })?;
    let scope = DirectoryScope::parse(q.directory_scope_id.as_deref().unwrap_or("/"))?;
    let of = if principal == caller.id() {
        AccessOf::Own(authz::own_principal(caller.subject()))
    } else {
        let granted = s.permits::<cap::ReadRoleAssignments>(&caller).ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Checking another principal's access needs a role that reads role assignments.",
            )
        })?;
        AccessOf::Other(principal, granted)
    };
    let answer = pim::access::check(&s, &of, &action, &scope).await?;
    Ok(Json(render(principal, &action, &scope, answer)))
}

/// The answer as OpenPIM's `accessCheckResult`.
fn render(principal: ObjectId, action: &str, scope: &DirectoryScope, answer: AccessAnswer) -> Value {
    let AccessAnswer { at: now, path } = answer;
    let granted_by = path.map(|p| {
        json!({
            "roleAssignmentScheduleId": p.grant.id,
            "roleDefinitionId": p.grant.role_definition_id,
            "roleDisplayName": p.role_display_name,
            "assignmentType": match p.grant.source { GrantSource::Activated => "Activated", GrantSource::Assigned => "Assigned" },
            "memberType": if p.via_group.is_some() { "Group" } else { "Direct" },
            "groupId": p.via_group,
            "directoryScopeId": p.grant.scope.to_string(),
            "matchedPermission": p.matched_permission,
            "startDateTime": p.grant.start.map(datetime),
            "endDateTime": p.grant.end.map(datetime),
        })
    });
    json!({
        "@odata.type": "#openpim.accessCheckResult",
        "allowed": granted_by.is_some(),
        "principalId": principal,
        "action": action,
        "directoryScopeId": scope.to_string(),
        "evaluatedDateTime": datetime(now),
        "grantedBy": granted_by,
    })
}
