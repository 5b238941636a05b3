//! Azure role assignments: create (or re-put), remove, read and list. Wire-independent: the ARM
//! handler (`crate::arm::role_assignments`) parses, authorises through `azure::authorize`
//! (`Microsoft.Authorization/roleAssignments/write|delete|read` at the scope) and renders.
//!
//! Each write opens its transaction first and reads inside it every fact that decides it (the
//! principal, the role and its assignable scopes, the assignment under the name, another one
//! with the same principal, role and scope), then core's `decide_assignment` rules, and the
//! commit carries the audit record. The last-Owner rule is the store's invariant, so it holds
//! for every path that removes an Owner assignment.

use super::AUDIT_CATEGORY;
use crate::arm::{ArmCaller, ArmError, ArmResult};
use crate::state::{AppState, Audit};
use axum::http::StatusCode;
use openpim_core::authz::AzureGranted;
use openpim_core::azure_assignment::{
    decide_assignment, ArmPrincipalType, ArmRoleAssignment, AssignmentFacts, AssignmentWrite, AzureRoleFacts,
    NewArmAssignment, StoredArmAssignment,
};
use openpim_core::schedule::Kind;
use openpim_core::scope::{ArmScope, Scope};
use openpim_core::ObjectId;
use openpim_store::{StoreError, WriteTx};

/// The audit record of a role assignment change (also of a refused attempt).
pub fn audit_of(activity: &'static str, operation: &'static str, new: &NewArmAssignment) -> Audit {
    Audit::new(AUDIT_CATEGORY, activity, operation)
        .target("Role", new.role_definition_id, None, None)
        .target(
            new.principal_type.map_or("Principal", |t| match t {
                ArmPrincipalType::User => "User",
                ArmPrincipalType::Group => "Group",
                _ => "ServicePrincipal",
            }),
            new.principal_id,
            None,
            None,
        )
        .detail("scope", new.scope.as_str())
        .detail("roleAssignmentId", new.name)
}

/// The audit record of removing `a`.
pub fn removal_audit(a: &ArmRoleAssignment) -> Audit {
    Audit::new(AUDIT_CATEGORY, "Remove Azure role assignment", "Unassign")
        .target("Role", a.schedule.role_definition_id, None, None)
        .target(principal_target(a), a.schedule.principal_id, None, None)
        .detail("scope", a.scope().map_or_else(|| a.schedule.scope.to_string(), ToString::to_string))
        .detail("roleAssignmentId", a.schedule.id)
}

fn principal_target(a: &ArmRoleAssignment) -> &'static str {
    match ArmPrincipalType::of(a.schedule.principal_kind) {
        ArmPrincipalType::User => "User",
        ArmPrincipalType::Group => "Group",
        _ => "ServicePrincipal",
    }
}

/// The attempt's audit record, for a refusal before the write.
pub fn creation_attempt(new: &NewArmAssignment) -> Audit {
    audit_of("Add Azure role assignment", "Assign", new)
}

/// Creates the assignment, or answers the same one again (a PUT may change only the
/// description). Returns it with what the PUT did (201 created, 200 otherwise).
pub async fn put(
    s: &AppState,
    granted: &AzureGranted,
    caller: &ArmCaller,
    new: NewArmAssignment,
) -> ArmResult<(ArmRoleAssignment, AssignmentWrite)> {
    debug_assert_eq!(granted.scope(), &new.scope);
    let now = s.now();
    let attempt = creation_attempt(&new);
    // ARM's SubscriptionNotFound, ResourceGroupNotFound, ... for a scope that does not exist.
    super::hierarchy::exists(s, &new.scope).await?;
    let mut tx = s.store.begin_write().await?;
    match put_in(s, &mut tx, caller, &new).await {
        Ok((assignment, write)) => {
            let activity = match write {
                AssignmentWrite::Create => attempt,
                AssignmentWrite::Update => audit_of("Update Azure role assignment", "Update", &new),
            };
            s.commit(tx, &activity.success(caller, now)).await.map_err(ArmError::from)?;
            Ok((assignment, write))
        }
        Err(e) => {
            tx.rollback().await?;
            let record = attempt.record(caller, now, openpim_core::audit::AuditResult::Failure, &e.message);
            s.record_audit(&record).await;
            Err(e)
        }
    }
}

async fn put_in(
    s: &AppState,
    tx: &mut WriteTx<'_>,
    caller: &ArmCaller,
    new: &NewArmAssignment,
) -> ArmResult<(ArmRoleAssignment, AssignmentWrite)> {
    let now = s.now();
    let principal = tx.principal_facts(new.principal_id).await?.map(|f| f.kind);
    let role = match tx.role_definition(new.role_definition_id).await? {
        Some(r) => {
            let scopes = r.azure.assignable_scopes.clone();
            AzureRoleFacts::of(&r, scopes)
        }
        None => None,
    };
    let existing = tx.arm_role_assignment(new.name).await?;
    if existing.is_none() && tx.assignment_id_taken(new.name).await? {
        // The name is a row id already used by another schedule (a directory assignment or an
        // expired one): ARM's names are unique in the tenant.
        return Err(ArmError::new(
            StatusCode::CONFLICT,
            "RoleAssignmentExists",
            format!("A role assignment with the name '{}' already exists.", new.name),
        ));
    }
    let (live, _) = tx
        .live_schedule_at(
            Kind::Assignment,
            new.principal_id,
            new.role_definition_id,
            &Scope::Arm(new.scope.clone()),
            now,
        )
        .await?;
    let facts = AssignmentFacts {
        principal,
        role,
        same_name: existing.as_ref().map(stored),
        same_trio: live.map(|l| l.id).filter(|id| *id != new.name),
    };
    let hierarchy = s.index().management_groups().clone();
    let write = decide_assignment(new, &facts, s.tenant_id, &hierarchy)?;
    let kind = principal.expect("decide_assignment refuses an unknown principal");
    match (write, existing) {
        (AssignmentWrite::Update, Some(mut current)) => {
            if current.description != new.description {
                current.description = new.description.clone();
                current.updated_by = Some(caller.id());
                current.schedule.modified = now;
                tx.update_arm_role_assignment(&current).await?;
            }
            Ok((current, write))
        }
        _ => {
            let assignment = ArmRoleAssignment::new(new, kind, caller.id(), now);
            tx.insert_arm_role_assignment(&assignment).await.map_err(|e| match e {
                StoreError::Conflict(_) => {
                    ArmError::new(StatusCode::CONFLICT, "RoleAssignmentExists", "The role assignment already exists.")
                }
                other => other.into(),
            })?;
            Ok((assignment, AssignmentWrite::Create))
        }
    }
}

fn stored(a: &ArmRoleAssignment) -> StoredArmAssignment {
    StoredArmAssignment {
        name: a.schedule.id,
        scope_key: a.schedule.scope.key(),
        role_definition_id: a.schedule.role_definition_id,
        principal_id: a.schedule.principal_id,
        description: a.description.clone(),
    }
}

/// The assignment a request names, if it exists at `scope` (a name under another scope's path
/// is not found there, as in ARM). Read before authorising, since the right depends on the scope.
pub async fn find(s: &AppState, scope: &ArmScope, name: ObjectId) -> ArmResult<Option<ArmRoleAssignment>> {
    let found = s.store.arm_role_assignment(name).await?;
    Ok(found.filter(|a| a.scope().is_some_and(|at| at == scope)))
}

/// Removes `a`; the store's last-Owner invariant refuses (400) removing the last Owner at a
/// scope and above, and that refusal is audited as a failure.
pub async fn remove(s: &AppState, granted: &AzureGranted, caller: &ArmCaller, a: &ArmRoleAssignment) -> ArmResult<()> {
    debug_assert!(a.scope().is_some_and(|at| at == granted.scope()));
    let mut tx = s.store.begin_write().await?;
    // Read again inside the write: removed meanwhile means nothing to do.
    let Some(current) = tx.arm_role_assignment(a.schedule.id).await? else {
        tx.rollback().await?;
        return Ok(());
    };
    if let Err(e) = tx.remove_schedule(&current.schedule).await {
        tx.rollback().await?;
        return Err(e.into());
    }
    s.commit(tx, &removal_audit(&current).success(caller, s.now())).await.map_err(ArmError::from)
}
