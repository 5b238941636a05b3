//! `elevateAccess`: an Entra Global Administrator (holding the directory role in effect now)
//! gets User Access Administrator at ARM's root scope `/`, audited, as Azure records it
//! (Microsoft's "Elevate access to manage all Azure subscriptions and management groups"):
//! listed with `GET /providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq
//! '{id}'` and removed with `DELETE /providers/Microsoft.Authorization/roleAssignments/{name}`.
//! ARM's root is not the directory tenant (`Scope::TENANT`), so the grant gives nothing in Entra.

use super::AUDIT_CATEGORY;
use crate::arm::{ArmCaller, ArmError, ArmResult};
use crate::state::{AppState, Audit};
use openpim_core::audit::AuditResult;
use openpim_core::azure_assignment::{
    check_may_elevate, ArmRoleAssignment, NewArmAssignment, USER_ACCESS_ADMINISTRATOR,
};
use openpim_core::catalog::GLOBAL_ADMINISTRATOR;
use openpim_core::directory::ObjectKind;
use openpim_core::schedule::Kind;
use openpim_core::scope::{ArmScope, Scope};
use openpim_core::ObjectId;

fn audit(root: &ArmScope) -> Audit {
    Audit::new(AUDIT_CATEGORY, "Elevate access", "Assign")
        .target("Role", USER_ACCESS_ADMINISTRATOR, Some("User Access Administrator"), None)
        .detail("scope", root.as_str())
}

/// Elevates the caller; idempotent (an elevated caller keeps their one assignment).
pub async fn elevate(s: &AppState, caller: &ArmCaller) -> ArmResult<()> {
    let now = s.now();
    let root = ArmScope::root();
    let record = audit(&root);
    let is_global_admin = s.index().holds_role(caller.id(), GLOBAL_ADMINISTRATOR, now);
    if let Err(refused) = check_may_elevate(is_global_admin, caller.id()) {
        s.record_audit(&record.record(caller, now, AuditResult::Failure, &refused.message)).await;
        return Err(refused.into());
    }
    let mut tx = s.store.begin_write().await?;
    let (live, _) = tx
        .live_schedule_at(Kind::Assignment, caller.id(), USER_ACCESS_ADMINISTRATOR, &Scope::Arm(root.clone()), now)
        .await?;
    if live.is_some() {
        tx.rollback().await?;
        return Ok(());
    }
    let new = NewArmAssignment {
        name: ObjectId::new_v4(),
        scope: root,
        role_definition_id: USER_ACCESS_ADMINISTRATOR,
        principal_id: caller.id(),
        principal_type: None,
        description: Some("Elevated access of a Global Administrator (elevateAccess).".into()),
        condition: None,
        condition_version: None,
    };
    let assignment = ArmRoleAssignment::new(&new, ObjectKind::User, caller.id(), now);
    if let Err(e) = tx.insert_arm_role_assignment(&assignment).await {
        tx.rollback().await?;
        return Err(ArmError::from(e));
    }
    s.commit(tx, &record.detail("roleAssignmentId", new.name).success(caller, now)).await.map_err(ArmError::from)
}
