//! Reading PIM state: role assignments, eligibility and assignment schedules and their instances
//! (held directly or through a group), and schedule requests. One operation per kind of item,
//! whatever the surface (Graph v1.0 today; beta, governance and ARM later) and whatever the
//! window (schedules: not expired; instances: in effect now). Each takes the [`Visibility`] the
//! caller proved, and restricts to the caller's own principal when that is all they may see.

use super::Visibility;
use crate::error::ApiResult;
use crate::state::AppState;
use openpim_core::authz::{cap, Granted, OwnPrincipal};
use openpim_core::schedule::{Kind, Schedule, ScheduleRequest};
use openpim_core::ObjectId;
use openpim_odata::{CompareOp, Expr, Literal};
use openpim_store::schedules::{HeldSchedule, RequestFilter, Window};
use openpim_store::{ListRequest, Page};

/// Does `filter` keep only items whose `prop` is `id`? True for `prop eq 'id'`, alone or as a
/// conjunct of an `and` (anything `or`-ed could let other items in). This is how a caller who
/// may read only their own can still list with a plain `$filter=principalId eq '{me}'`.
pub fn filter_pins(filter: Option<&Expr>, prop: &str, id: ObjectId) -> bool {
    match filter {
        Some(Expr::Compare { prop: p, op: CompareOp::Eq, value }) if p.eq_ignore_ascii_case(prop) => match value {
            Literal::Guid(g) => *g == id,
            Literal::String(s) => uuid::Uuid::parse_str(s).is_ok_and(|g| g == id),
            _ => false,
        },
        Some(Expr::And(a, b)) => filter_pins(Some(a), prop, id) || filter_pins(Some(b), prop, id),
        _ => false,
    }
}

/// Schedules (`Window::Live`) or instances (`Window::EffectiveAt`) of `kind`, filtered and paged
/// as `req` says; held through a group, they are listed once per member (`memberType: Group`).
pub async fn held(
    s: &AppState,
    kind: Kind,
    window: Window,
    visibility: &Visibility,
    req: &ListRequest<'_>,
) -> ApiResult<Page<HeldSchedule>> {
    Ok(s.store.list_held(kind, window, s.now(), visibility.holder(), req).await?)
}

/// One schedule or instance by id, if `visibility` shows it.
pub async fn held_one(
    s: &AppState,
    kind: Kind,
    window: Window,
    visibility: &Visibility,
    id: &str,
) -> ApiResult<Option<HeldSchedule>> {
    let found = s.store.get_held(kind, window, s.now(), id).await?;
    Ok(found.filter(|h| visibility.shows(h.principal_id)))
}

/// Role assignments in effect now (direct assignments and active PIM schedules alike).
pub async fn role_assignments(
    s: &AppState,
    visibility: &Visibility,
    req: &ListRequest<'_>,
) -> ApiResult<Page<Schedule>> {
    Ok(s.store.list_role_assignments(s.now(), visibility.holder(), req).await?)
}

/// One role assignment in effect now, if `visibility` shows it.
pub async fn role_assignment(s: &AppState, visibility: &Visibility, id: ObjectId) -> ApiResult<Option<Schedule>> {
    let found = s.store.get_role_assignment(id, s.now()).await?;
    Ok(found.filter(|a| visibility.shows(a.principal_id)))
}

/// Which schedule requests a list returns.
#[derive(Debug, Clone)]
pub enum RequestsOf {
    /// Everyone's (the caller reads role assignments tenant-wide).
    Everyone(Granted<cap::ReadRoleAssignments>),
    /// The caller's own: `filterByCurrentUser(on='principal')`.
    Principal(OwnPrincipal),
    /// Those the caller made: `filterByCurrentUser(on='createdBy')`.
    CreatedBy(OwnPrincipal),
}

pub async fn requests(
    s: &AppState,
    kind: Kind,
    of: &RequestsOf,
    req: &ListRequest<'_>,
) -> ApiResult<Page<ScheduleRequest>> {
    let filter = match of {
        RequestsOf::Everyone(_) => RequestFilter::All,
        RequestsOf::Principal(own) => RequestFilter::Principal(own.principal()),
        RequestsOf::CreatedBy(own) => RequestFilter::CreatedBy(own.principal()),
    };
    Ok(s.store.list_requests(kind, filter, req).await?)
}

/// One schedule request by id. Its principal and its creator see it; to anyone else who may not
/// read everyone's requests it does not exist.
pub async fn request(
    s: &AppState,
    kind: Kind,
    visibility: &Visibility,
    id: ObjectId,
) -> ApiResult<Option<ScheduleRequest>> {
    let found = s.store.get_request(kind, id).await?;
    Ok(found.filter(|r| match visibility {
        Visibility::Everyone(_) => true,
        Visibility::Own(own) => r.concerns(own.principal()),
    }))
}

/// The activation requests waiting for the caller's decision now
/// (`filterByCurrentUser(on='approver')`).
pub async fn requests_awaiting(s: &AppState, own: &OwnPrincipal) -> ApiResult<Vec<ScheduleRequest>> {
    let (approvals, _) = super::approvals::awaiting(s, own).await?;
    let mut out = Vec::with_capacity(approvals.len());
    for a in &approvals {
        if let Some(r) = s.store.get_request(Kind::Assignment, a.request_id).await? {
            out.push(r);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Expr {
        openpim_odata::parse_filter(raw).unwrap()
    }

    #[test]
    fn a_filter_pins_a_principal_only_when_every_match_has_it() {
        let me = ObjectId::new_v4();
        let other = ObjectId::new_v4();
        let pins = |raw: &str| filter_pins(Some(&parse(raw)), "principalId", me);
        assert!(pins(&format!("principalId eq '{me}'")));
        assert!(pins(&format!("roleDefinitionId eq '{other}' and principalId eq '{me}'")));
        assert!(!pins(&format!("principalId eq '{other}'")));
        assert!(!pins(&format!("principalId eq '{me}' or principalId eq '{other}'")));
        assert!(!pins(&format!("principalId ne '{me}'")));
        assert!(!pins(&format!("not (principalId eq '{me}')")));
        assert!(!filter_pins(None, "principalId", me));
    }
}
