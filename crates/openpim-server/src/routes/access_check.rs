//! `GET /v1.0/openpim/accessCheck`: OpenPIM's own extension (not in Graph). Answers whether a
//! principal may perform a resource action at a scope right now, and which assignment grants it,
//! from the in-memory access index.
//!
//! Two forms: an Entra resource action at a directory scope (`action`, `directoryScopeId`), or an
//! Azure operation at an ARM scope (`action` or `dataAction`, with `scope=/subscriptions/...`),
//! answered with Azure's inheritance down the hierarchy and its group rules.

use super::object_id;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::pim::{self, access::AccessAnswer, access::AccessOf};
use crate::state::AppState;
use crate::wire::datetime;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use openpim_core::access::GrantSource;
use openpim_core::authz::{self, cap};
use openpim_core::roles::Permission;
use openpim_core::scope::{ArmScope, DirectoryScope, Scope};
use openpim_core::ObjectId;
use serde::Deserialize;
use serde_json::{json, Value};

/// Longest action string accepted (Azure's longest operation is about 200 characters).
const MAX_ACTION_CHARS: usize = 300;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckQuery {
    principal_id: Option<String>,
    action: Option<String>,
    data_action: Option<String>,
    directory_scope_id: Option<String>,
    /// An ARM scope (`/subscriptions/...`, `/providers/Microsoft.Management/managementGroups/...`).
    scope: Option<String>,
    /// A past instant (RFC 3339): answer as of then, from the access history (an extension).
    at: Option<String>,
}

/// What is asked: an Entra action at a directory scope, or an Azure (data) action at an ARM scope.
enum Question {
    Directory { action: String, scope: DirectoryScope },
    Azure { operation: String, data_plane: bool, scope: Scope },
}

fn non_blank(v: Option<String>) -> Option<String> {
    v.filter(|a| !a.trim().is_empty())
}

fn question(q: CheckQuery) -> ApiResult<Question> {
    let (action, data_action) = (non_blank(q.action), non_blank(q.data_action));
    if [&action, &data_action].into_iter().flatten().any(|a| a.chars().count() > MAX_ACTION_CHARS) {
        return Err(ApiError::bad_request(format!("An action is at most {MAX_ACTION_CHARS} characters.")));
    }
    let arm_scope = non_blank(q.scope);
    if arm_scope.is_none() && data_action.is_none() {
        let action = action.ok_or_else(|| {
            ApiError::bad_request(
                "Query parameter 'action' is required (e.g. microsoft.directory/users/password/update), or \
                 'action'/'dataAction' with an ARM 'scope'.",
            )
        })?;
        let scope = DirectoryScope::parse(q.directory_scope_id.as_deref().unwrap_or("/"))?;
        return Ok(Question::Directory { action, scope });
    }
    if q.directory_scope_id.is_some() {
        return Err(ApiError::bad_request("Give either 'directoryScopeId' (Entra) or 'scope' (Azure), not both."));
    }
    let raw = arm_scope
        .ok_or_else(|| ApiError::bad_request("'dataAction' needs an ARM 'scope' (e.g. /subscriptions/{id})."))?;
    // `scope` names an ARM scope, so `/` is ARM's root here (never the directory tenant, which
    // `directoryScopeId` names).
    let scope = if raw == "/" { Scope::Arm(ArmScope::root()) } else { Scope::parse(&raw)? };
    if scope.as_arm().is_none() {
        return Err(ApiError::bad_request(format!(
            "'{raw}' is not an Azure resource scope: expected /subscriptions/... or \
             /providers/Microsoft.Management/managementGroups/..."
        )));
    }
    match (action, data_action) {
        (Some(operation), None) => Ok(Question::Azure { operation, data_plane: false, scope }),
        (None, Some(operation)) => Ok(Question::Azure { operation, data_plane: true, scope }),
        (Some(_), Some(_)) => Err(ApiError::bad_request("Give either 'action' or 'dataAction', not both.")),
        (None, None) => Err(ApiError::bad_request("Query parameter 'action' or 'dataAction' is required.")),
    }
}

pub async fn check(State(s): State<AppState>, caller: Caller, Query(q): Query<CheckQuery>) -> ApiResult<Json<Value>> {
    let principal = match q.principal_id.as_deref() {
        Some(p) => object_id(p)?,
        None => caller.id(),
    };
    let at = q.at.as_deref().map(|raw| past_instant(&s, raw, "at")).transpose()?;
    let question = question(q)?;
    let of = whose(&s, &caller, principal, &question)?;
    let permission = match &question {
        Question::Directory { action, .. } => Permission::Directory(action),
        Question::Azure { operation, data_plane: true, .. } => Permission::AzureDataAction(operation),
        Question::Azure { operation, data_plane: false, .. } => Permission::AzureAction(operation),
    };
    let scope = match &question {
        Question::Directory { scope, .. } => Scope::Directory(*scope),
        Question::Azure { scope, .. } => scope.clone(),
    };
    let Some(at) = at else {
        let answer = pim::access::check_permission(&s, &of, permission, &scope).await?;
        return Ok(Json(render(principal, &question, answer)));
    };
    let answer = pim::access::check_permission_at(&s, &of, permission, &scope, at).await?;
    let starts = pim::access::history_start(&s).await?;
    let mut body = render(principal, &question, answer);
    // Before the history began, a grant that had ended by then is not in it: say so.
    body["historyStartsDateTime"] = json!(datetime(starts));
    body["historyComplete"] = json!(at >= starts);
    Ok(Json(body))
}

/// Parses an instant given as a query parameter (RFC 3339, e.g. `2026-03-01T10:00:00Z`) that
/// must not be in the future: the history knows only what happened.
pub(crate) fn past_instant(s: &AppState, raw: &str, name: &str) -> ApiResult<openpim_core::Instant> {
    let t = time::OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339).map_err(|_| {
        ApiError::bad_request(format!(
            "Query parameter '{name}' must be a date and time in RFC 3339 form, e.g. 2026-03-01T10:00:00Z; got '{raw}'."
        ))
    })?;
    let t = pim::access::to_store_precision(t.to_offset(time::UtcOffset::UTC));
    if t > s.now() {
        return Err(ApiError::bad_request(format!(
            "Query parameter '{name}' is in the future ({}): access history answers about the past and present.",
            datetime(t)
        )));
    }
    Ok(t)
}

/// Anyone checks their own access. Another principal's needs the right to read role assignments:
/// Entra's for a directory question, or Azure's `roleAssignments/read` at the ARM scope (or
/// Entra's, which reads every assignment).
fn whose(s: &AppState, caller: &Caller, principal: ObjectId, question: &Question) -> ApiResult<AccessOf> {
    if principal == caller.id() {
        return Ok(AccessOf::Own(authz::own_principal(caller.subject())));
    }
    if let Some(granted) = s.permits::<cap::ReadRoleAssignments>(caller) {
        return Ok(AccessOf::Other(principal, granted));
    }
    if let Question::Azure { scope: Scope::Arm(scope), .. } = question {
        let read = "Microsoft.Authorization/roleAssignments/read";
        if let Ok(granted) = authz::grant_azure(&s.index(), caller.id(), read, scope, s.now()) {
            return Ok(AccessOf::OtherAtArmScope(principal, granted));
        }
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Checking another principal's access needs a role that reads role assignments (at the ARM scope, \
         Microsoft.Authorization/roleAssignments/read).",
    ))
}

/// The answer as OpenPIM's `accessCheckResult`.
fn render(principal: ObjectId, question: &Question, answer: AccessAnswer) -> Value {
    let AccessAnswer { at: now, path } = answer;
    let is_arm = matches!(question, Question::Azure { .. });
    let granted_by = path.map(|p| {
        let mut granted = json!({
            "roleAssignmentScheduleId": p.grant.id,
            "roleDefinitionId": p.grant.role_definition_id,
            "roleDisplayName": p.role_display_name,
            "assignmentType": match p.grant.source { GrantSource::Activated => "Activated", GrantSource::Assigned => "Assigned" },
            "memberType": if p.via_group.is_some() { "Group" } else { "Direct" },
            "groupId": p.via_group,
            "matchedPermission": p.matched_permission,
            "startDateTime": p.grant.start.map(datetime),
            "endDateTime": p.grant.end.map(datetime),
        });
        let scope_key = if is_arm { "scope" } else { "directoryScopeId" };
        granted[scope_key] = json!(wire_scope(&p.grant.scope));
        granted
    });
    let mut body = json!({
        "@odata.type": "#openpim.accessCheckResult",
        "allowed": granted_by.is_some(),
        "principalId": principal,
        "evaluatedDateTime": datetime(now),
        "grantedBy": granted_by,
    });
    match question {
        Question::Directory { action, scope } => {
            body["action"] = json!(action);
            body["directoryScopeId"] = json!(scope.to_string());
        }
        Question::Azure { operation, data_plane, scope } => {
            body[if *data_plane { "dataAction" } else { "action" }] = json!(operation);
            body["scope"] = json!(wire_scope(scope));
        }
    }
    body
}

/// A scope as its API writes it: ARM's root is `/` on ARM's side (a `Scope` prints it otherwise,
/// so it is never read as the directory tenant).
fn wire_scope(scope: &Scope) -> String {
    match scope {
        Scope::Arm(a) => a.to_string(),
        Scope::Directory(d) => d.to_string(),
    }
}
