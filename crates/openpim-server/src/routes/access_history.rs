//! `GET /v1.0/openpim/accessHistory`: OpenPIM's own extension (not in Graph). The intervals in
//! which a principal held roles, or in which principals held one role, from the access history:
//! directly, activated, or through a group (`memberType: Group`, `groupId`), merged per path and
//! paged like Graph's lists (`$top`, `@odata.nextLink` with `$skiptoken`).

use super::access_check::past_instant;
use super::object_id;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::{OData, DEFAULT_TOP};
use crate::pim;
use crate::state::AppState;
use crate::wire::datetime;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use openpim_core::access::GrantSource;
use openpim_core::authz::cap;
use openpim_core::history::{held_intervals, order, HeldInterval, Interval};
use openpim_core::scope::{ArmScope, Scope};
use serde::Deserialize;
use serde_json::{json, Value};

/// Most intervals on one page.
const MAX_TOP: u32 = 999;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryQuery {
    principal_id: Option<String>,
    role_definition_id: Option<String>,
    directory_scope_id: Option<String>,
    /// An ARM scope, to keep only Azure intervals there.
    scope: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    odata: OData,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    let principal = q.principal_id.as_deref().filter(|p| !p.trim().is_empty()).map(object_id).transpose()?;
    let role = q.role_definition_id.as_deref().filter(|p| !p.trim().is_empty()).map(object_id).transpose()?;
    if principal.is_none() && role.is_none() {
        return Err(ApiError::bad_request("Query parameter 'principalId' or 'roleDefinitionId' is required."));
    }
    let scope = match (non_blank(q.directory_scope_id), non_blank(q.scope)) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("Give either 'directoryScopeId' (Entra) or 'scope' (Azure), not both."))
        }
        (Some(d), None) => Some(Scope::Directory(openpim_core::scope::DirectoryScope::parse(&d)?)),
        (None, Some(a)) if a == "/" => Some(Scope::Arm(ArmScope::root())),
        (None, Some(a)) => match Scope::parse(&a)? {
            arm @ Scope::Arm(_) => Some(arm),
            Scope::Directory(_) => {
                return Err(ApiError::bad_request(format!("'{a}' is not an Azure resource scope.")));
            }
        },
        (None, None) => None,
    };
    // A principal reads its own history; anyone else's (or a role's) reveals what others held,
    // which needs the right to read role assignments (as the access check does).
    if principal != Some(caller.id()) && s.permits::<cap::ReadRoleAssignments>(&caller).is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Reading another principal's or a role's access history needs a role that reads role assignments.",
        ));
    }
    let starts = pim::access::history_start(&s).await?;
    let from = q.from.as_deref().map(|raw| past_instant(&s, raw, "from")).transpose()?.unwrap_or(starts);
    let to = q.to.as_deref().map(|raw| instant(raw, "to")).transpose()?;
    if to.is_some_and(|to| to <= from) {
        return Err(ApiError::bad_request("'to' must come after 'from'."));
    }
    let top = odata.options.top.unwrap_or(DEFAULT_TOP);
    if top == 0 || top > MAX_TOP {
        return Err(ApiError::bad_request(format!("$top must be between 1 and {MAX_TOP}.")));
    }
    let offset = match &odata.options.skiptoken {
        Some(t) => openpim_odata::decode_skiptoken(t)?,
        None => 0,
    };
    let window = Interval::new(from, to);
    let mut intervals: Vec<HeldInterval> = match principal {
        Some(p) => {
            let facts = s.store.history_of_principal(p, window).await?;
            held_intervals(p, &facts, window, role)
        }
        None => {
            let role = role.expect("one of the two is given");
            let (principals, facts) = s.store.history_of_role(role, window).await?;
            principals.into_iter().flat_map(|p| held_intervals(p, &facts, window, Some(role))).collect()
        }
    };
    if let Some(scope) = &scope {
        intervals.retain(|h| h.scope.key() == scope.key());
    }
    order(&mut intervals);
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(intervals.len());
    let end = start.saturating_add(top as usize).min(intervals.len());
    let index = s.index();
    let value: Vec<Value> =
        intervals[start..end].iter().map(|h| render(h, index.role(&h.role_definition_id))).collect();
    drop(index);
    let mut body = json!({
        "@odata.context": format!("{}/$metadata#Collection(openpim.accessHistoryInterval)", odata.base),
        "historyStartsDateTime": datetime(starts),
        "historyComplete": from >= starts,
        "value": value,
    });
    if end < intervals.len() {
        body["@odata.nextLink"] = json!(odata.next_link(start as u64, end - start));
    }
    Ok(Json(body))
}

fn non_blank(v: Option<String>) -> Option<String> {
    v.filter(|a| !a.trim().is_empty())
}

/// An RFC 3339 instant (the end of the window may be in the future: planned ends show).
fn instant(raw: &str, name: &str) -> ApiResult<openpim_core::Instant> {
    let t = time::OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339).map_err(|_| {
        ApiError::bad_request(format!(
            "Query parameter '{name}' must be a date and time in RFC 3339 form, e.g. 2026-03-01T10:00:00Z; got '{raw}'."
        ))
    })?;
    Ok(pim::access::to_store_precision(t.to_offset(time::UtcOffset::UTC)))
}

fn render(h: &HeldInterval, role: Option<&std::sync::Arc<openpim_core::roles::RoleDefinition>>) -> Value {
    let mut item = json!({
        "@odata.type": "#openpim.accessHistoryInterval",
        "principalId": h.principal_id,
        "roleDefinitionId": h.role_definition_id,
        "roleDisplayName": role.map(|r| r.display_name.clone()),
        "assignmentType": match h.source { GrantSource::Activated => "Activated", GrantSource::Assigned => "Assigned" },
        "memberType": if h.via_group.is_some() { "Group" } else { "Direct" },
        "groupId": h.via_group,
        "startDateTime": datetime(h.during.from),
        "endDateTime": h.during.to.map(datetime),
    });
    match &h.scope {
        Scope::Directory(d) => item["directoryScopeId"] = json!(d.to_string()),
        Scope::Arm(a) => item["scope"] = json!(a.to_string()),
    }
    item
}
