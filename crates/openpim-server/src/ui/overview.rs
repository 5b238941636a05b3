//! Overview (`/`): what needs the signed-in person's attention (requests waiting for their
//! approval, their activations ending soon, their own pending requests) and, for those the API
//! lets read the tenant's role assignments, the counts that matter: eligible versus permanent
//! active holders of each privileged role, activations today, and active PIM alerts.

use super::api::{Api, GraphError};
use super::my_roles::span_words;
use super::page;
use super::session::Session;
use super::view::{self, Chrome};
use super::UiState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use openpim_core::schedule::{Action, AssignmentType, RequestStatus};
use openpim_proto::alerts::RoleManagementAlert;
use openpim_proto::roles::UnifiedRoleDefinition;
use openpim_proto::schedules::{
    UnifiedRoleAssignmentScheduleInstance, UnifiedRoleEligibilityScheduleInstance, UnifiedRoleScheduleRequest,
};
use std::collections::HashMap;
use uuid::Uuid;

const RM: &str = "/v1.0/roleManagement/directory";
/// Activations ending within this window are "ending soon".
const SOON: time::Duration = time::Duration::hours(24);
/// Rows shown per list (the full lists are a link away).
const SHOWN: usize = 5;

pub struct Line {
    pub title: String,
    pub detail: String,
    pub when: String,
}

/// Holders of one privileged role.
pub struct RoleCount {
    pub role_id: String,
    pub role_name: String,
    pub eligible: usize,
    pub permanent: usize,
    pub active_now: usize,
}

/// The tenant-wide figures, for those who may read them.
pub struct AdminFigures {
    pub roles: Vec<RoleCount>,
    pub activations_today: usize,
    pub waiting_today: usize,
    /// `None`: the caller may not read alerts.
    pub alerts: Option<usize>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    page: Chrome,
    approvals: Vec<Line>,
    approvals_total: usize,
    ending: Vec<Line>,
    pending: Vec<Line>,
    pending_total: usize,
    admin: Option<AdminFigures>,
    /// Why the tenant-wide figures are missing although the caller may read them.
    admin_error: Option<String>,
}

fn name_of(expanded: Option<&UnifiedRoleDefinition>, id: Uuid) -> String {
    expanded.map_or_else(|| id.to_string(), |d| d.display_name.clone())
}

/// Whether the caller may read everyone's role assignments: the right the API checks for the
/// tenant-wide lists below (asked first, so a member's overview does not log refused reads).
fn may_read_assignments(ui: &UiState, user: Uuid) -> bool {
    use openpim_core::authz::{cap, grant, Subject};
    let subject = Subject { id: user, is_member_user: true };
    grant::<cap::ReadRoleAssignments>(&ui.app.index(), subject, &[], ui.app.now()).is_ok()
}

async fn admin_figures(api: &Api<'_>, now: time::OffsetDateTime, alerts: bool) -> Result<AdminFigures, GraphError> {
    let roles: Vec<UnifiedRoleDefinition> = api.list_all_as(&format!("{RM}/roleDefinitions")).await?;
    let eligible: Vec<UnifiedRoleEligibilityScheduleInstance> =
        api.list_all_as(&format!("{RM}/roleEligibilityScheduleInstances")).await?;
    let active: Vec<UnifiedRoleAssignmentScheduleInstance> =
        api.list_all_as(&format!("{RM}/roleAssignmentScheduleInstances")).await?;
    let requests: Vec<UnifiedRoleScheduleRequest> =
        api.list_all_as(&format!("{RM}/roleAssignmentScheduleRequests")).await?;
    let mut counts: HashMap<Uuid, (usize, usize, usize)> = HashMap::new();
    for e in &eligible {
        counts.entry(e.role_definition_id).or_default().0 += 1;
    }
    for a in &active {
        let c = counts.entry(a.role_definition_id).or_default();
        let activated = a.assignment_type.as_deref().is_some_and(|t| t.parse() == Ok(AssignmentType::Activated));
        if activated {
            c.2 += 1;
        } else if a.end_date_time.is_none() {
            c.1 += 1;
        }
    }
    let mut roles: Vec<RoleCount> = roles
        .iter()
        .filter(|d| d.is_privileged == Some(true))
        .map(|d| {
            let (eligible, permanent, active_now) = counts.get(&d.id).copied().unwrap_or_default();
            RoleCount { role_id: d.id.to_string(), role_name: d.display_name.clone(), eligible, permanent, active_now }
        })
        .filter(|c| c.eligible + c.permanent + c.active_now > 0)
        .collect();
    // Permanent holders first: they are what PIM exists to reduce.
    roles.sort_by(|a, b| {
        b.permanent.cmp(&a.permanent).then(b.eligible.cmp(&a.eligible)).then(a.role_name.cmp(&b.role_name))
    });
    let midnight = now.replace_time(time::Time::MIDNIGHT);
    let today: Vec<&UnifiedRoleScheduleRequest> = requests
        .iter()
        .filter(|r| r.created_date_time >= midnight && r.action.parse() == Ok(Action::SelfActivate))
        .collect();
    let waiting_today = today.iter().filter(|r| r.status.parse() == Ok(RequestStatus::PendingApproval)).count();
    let alerts = if alerts {
        let list: Vec<RoleManagementAlert> = api.list_all_as(super::alerts::LIST).await?;
        Some(list.iter().filter(|a| a.is_active && a.incident_count > 0).count())
    } else {
        None
    };
    Ok(AdminFigures { roles, activations_today: today.len(), waiting_today, alerts })
}

pub async fn page(State(ui): State<UiState>, session: Session) -> Response {
    let (chrome, me) = match page::start(&ui, &session, "overview", "Overview").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let now = ui.app.now();
    let mine = "filterByCurrentUser(on='principal')?$expand=roleDefinition";
    let loaded = async {
        let queue = super::approvals::queue(&ui, &session).await?;
        let active: Vec<UnifiedRoleAssignmentScheduleInstance> =
            api.list_all_as(&format!("{RM}/roleAssignmentScheduleInstances/{mine}")).await?;
        let requests: Vec<UnifiedRoleScheduleRequest> =
            api.list_all_as(&format!("{RM}/roleAssignmentScheduleRequests/{mine}")).await?;
        Ok::<_, GraphError>((queue, active, requests))
    };
    let (queue, active, requests) = match loaded.await {
        Ok(x) => x,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let approvals_total = queue.len();
    let approvals = queue
        .iter()
        .take(SHOWN)
        .map(|r| Line {
            title: format!("{} for {}", r.role_name, r.requester),
            detail: r.justification.clone(),
            when: format!("waiting {}", span_words(now - r.created_at)),
        })
        .collect();
    let mut ending: Vec<&UnifiedRoleAssignmentScheduleInstance> =
        active.iter().filter(|a| a.end_date_time.is_some_and(|e| e - now <= SOON)).collect();
    ending.sort_by_key(|a| a.end_date_time);
    let ending = ending
        .iter()
        .map(|a| Line {
            title: name_of(a.role_definition.as_ref(), a.role_definition_id),
            detail: view::scope_label(&a.directory_scope_id),
            when: format!(
                "ends {} (in {})",
                view::when(a.end_date_time),
                span_words(a.end_date_time.unwrap_or(now) - now)
            ),
        })
        .collect();
    let mut pending: Vec<&UnifiedRoleScheduleRequest> = requests
        .iter()
        .filter(|r| {
            matches!(r.status.parse(), Ok(RequestStatus::PendingApproval | RequestStatus::PendingAdminDecision))
        })
        .collect();
    pending.sort_by_key(|r| r.created_date_time);
    let pending_total = pending.len();
    let pending = pending
        .iter()
        .take(SHOWN)
        .map(|r| Line {
            title: name_of(r.role_definition.as_ref(), r.role_definition_id),
            detail: view::scope_label(&r.directory_scope_id),
            when: format!("requested {} ago", span_words(now - r.created_date_time)),
        })
        .collect();
    let (admin, admin_error) = if may_read_assignments(&ui, me.id) {
        match admin_figures(&api, now, chrome.alerts).await {
            Ok(f) => (Some(f), None),
            Err(e) if e.is_unauthenticated() => return super::signin::expired(&session, &e.message),
            Err(e) => (None, Some(view::describe(&e))),
        }
    } else {
        (None, None)
    };
    let page =
        OverviewPage { page: chrome, approvals, approvals_total, ending, pending, pending_total, admin, admin_error };
    session.finish(view::render(StatusCode::OK, &page))
}
