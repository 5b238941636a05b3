//! Role settings of Azure resource roles (issue #16): one policy per (role definition, ARM
//! scope), not inherited down the hierarchy, as Azure documents. Wire-independent: the ARM
//! handlers (`crate::arm::role_management_policies`, `role_management_policy_assignments`) parse
//! and render; reads are authorised here (`Microsoft.Authorization/roleManagementPolicies/read`
//! at the scope), writes take the proof of `.../roleManagementPolicies/write`.
//!
//! A policy that nobody changed answers Azure's defaults (core's `azure_default_rules`) under a
//! GUID derived from the role and the scope (a UUID v5), so its name is the same before and
//! after the first PATCH; the store keeps a row only for changed policies. The PIM engine reads
//! the same rules through `WriteTx::policy_rules_at`.

use super::{authorize_read, AUDIT_CATEGORY};
use crate::arm::{ArmCaller, ArmError, ArmResult};
use crate::state::{AppState, Audit};
use axum::http::StatusCode;
use openpim_core::audit::{detail, AuditResult};
use openpim_core::authz::AzureGranted;
use openpim_core::policy::rules::{azure_default_rules, merge_update, PolicyRule, RuleKind};
use openpim_core::roles::azure::RoleDefinitionQuery;
use openpim_core::roles::RoleDefinition;
use openpim_core::scope::ArmScope;
use openpim_core::{Instant, ObjectId};
use openpim_store::arm_policies::{ArmPolicyWrite, StoredArmPolicy};
use std::collections::{HashMap, HashSet};

pub const READ: &str = "Microsoft.Authorization/roleManagementPolicies/read";
pub const WRITE: &str = "Microsoft.Authorization/roleManagementPolicies/write";
pub const ASSIGNMENTS_READ: &str = "Microsoft.Authorization/roleManagementPolicyAssignments/read";

/// The namespace of policy GUIDs (UUID v5), fixed so names never change.
const POLICY_NAMESPACE: uuid::Uuid = uuid::uuid!("5d0e5a43-4f7e-4f59-9d3a-6b2c0a6f1e16");

/// The GUID (ARM name) of `role`'s policy at `scope`: UUID v5 of the role and the scope key
/// (ARM compares scopes ignoring case, so every spelling of a scope names one policy).
pub fn policy_id(role: ObjectId, scope: &ArmScope) -> ObjectId {
    uuid::Uuid::new_v5(&POLICY_NAMESPACE, format!("{role}|{}", scope.key()).as_bytes())
}

/// A policy as ARM shows it: a role at a scope, its rules, who changed it last.
#[derive(Debug, Clone)]
pub struct ArmPolicy {
    pub id: ObjectId,
    pub role: RoleDefinition,
    pub scope: ArmScope,
    pub rules: Vec<PolicyRule>,
    pub last_modified: Option<Instant>,
    pub last_modified_by: Option<(ObjectId, String)>,
}

impl ArmPolicy {
    fn of(role: RoleDefinition, scope: &ArmScope, stored: Option<StoredArmPolicy>) -> Self {
        let id = policy_id(role.id, scope);
        match stored {
            Some(p) => Self {
                id,
                role,
                scope: scope.clone(),
                rules: p.rules,
                last_modified: p.last_modified,
                last_modified_by: p.last_modified_by,
            },
            None => Self {
                id,
                role,
                scope: scope.clone(),
                rules: azure_default_rules(),
                last_modified: None,
                last_modified_by: None,
            },
        }
    }
}

/// Not found: no policy of that name at the scope. No source gives ARM's code; OpenPIM answers
/// 404 `RoleManagementPolicyNotFound`.
pub fn policy_not_found(name: &str) -> ArmError {
    ArmError::new(
        StatusCode::NOT_FOUND,
        "RoleManagementPolicyNotFound",
        format!("The role management policy '{name}' does not exist at this scope."),
    )
}

/// The Azure roles that have a policy at `scope`: every role assignable there.
async fn roles_at(s: &AppState, scope: &ArmScope) -> ArmResult<Vec<RoleDefinition>> {
    let all = s.store.azure_role_definitions().await?;
    let index = s.index();
    let hierarchy = index.management_groups();
    let query = RoleDefinitionQuery::default();
    Ok(all.into_iter().filter(|r| query.lists(r, Some(scope), hierarchy)).collect())
}

/// Checks the read right and that the scope exists.
async fn readable(s: &AppState, caller: &ArmCaller, scope: &ArmScope, action: &str) -> ArmResult<()> {
    authorize_read(s, caller, action, scope)?;
    super::hierarchy::exists(s, scope).await
}

/// The roles whose policies a list at `scope` shows (all, or the one of `role`), in order.
pub async fn list_roles(
    s: &AppState,
    caller: &ArmCaller,
    scope: &ArmScope,
    role: Option<ObjectId>,
    action: &str,
) -> ArmResult<Vec<RoleDefinition>> {
    readable(s, caller, scope, action).await?;
    let mut roles = roles_at(s, scope).await?;
    if let Some(role) = role {
        roles.retain(|r| r.id == role);
    }
    Ok(roles)
}

/// The policies of `roles` at `scope` (a page of [`list_roles`]).
pub async fn policies_of(s: &AppState, scope: &ArmScope, roles: Vec<RoleDefinition>) -> ArmResult<Vec<ArmPolicy>> {
    let mut changed: HashMap<ObjectId, StoredArmPolicy> =
        s.store.arm_policies_at(scope).await?.into_iter().map(|p| (p.role_definition_id, p)).collect();
    Ok(roles
        .into_iter()
        .map(|r| {
            let stored = changed.remove(&r.id);
            ArmPolicy::of(r, scope, stored)
        })
        .collect())
}

/// The policy named `name` at `scope` (for a reader at the scope).
pub async fn get(s: &AppState, caller: &ArmCaller, scope: &ArmScope, name: &str) -> ArmResult<ArmPolicy> {
    readable(s, caller, scope, READ).await?;
    find(s, scope, name).await
}

/// The policy named `name` at `scope`, before any right is checked (a write's audit names it).
pub async fn find(s: &AppState, scope: &ArmScope, name: &str) -> ArmResult<ArmPolicy> {
    let wanted = uuid::Uuid::try_parse(name).map_err(|_| policy_not_found(name))?;
    let role = roles_at(s, scope).await?.into_iter().find(|r| policy_id(r.id, scope) == wanted);
    let role = role.ok_or_else(|| policy_not_found(name))?;
    let stored = s.store.arm_policy(role.id, scope).await?;
    Ok(ArmPolicy::of(role, scope, stored))
}

/// `role`'s policy at `scope` (for a reader at the scope); 404 for a role not assignable there.
pub async fn get_for_role(
    s: &AppState,
    caller: &ArmCaller,
    scope: &ArmScope,
    role: ObjectId,
    action: &str,
) -> ArmResult<ArmPolicy> {
    readable(s, caller, scope, action).await?;
    let found = roles_at(s, scope).await?.into_iter().find(|r| r.id == role);
    let role = found.ok_or_else(|| policy_not_found(&role.to_string()))?;
    let stored = s.store.arm_policy(role.id, scope).await?;
    Ok(ArmPolicy::of(role, scope, stored))
}

/// The audit record of a change to `p` (also of a refused attempt).
pub fn change_audit(p: &ArmPolicy) -> Audit {
    Audit::new(AUDIT_CATEGORY, "Update role setting in PIM", "Update")
        .target("Role", p.role.id, Some(&p.role.display_name), None)
        .detail(detail::POLICY_ID, p.id)
        .detail("scope", p.scope.as_str())
}

/// How a rule is shown in an audit record's changed properties (ARM's JSON of the rule).
pub type RuleRenderer = fn(&PolicyRule) -> serde_json::Value;

/// Merges `incoming` into `p`'s rules by id (ARM's PATCH), validated by core's rules against
/// the rules read inside the write, and stores the result. A refusal is audited.
pub async fn update(
    s: &AppState,
    granted: &AzureGranted,
    caller: &ArmCaller,
    p: &ArmPolicy,
    incoming: Vec<PolicyRule>,
    render: RuleRenderer,
) -> ArmResult<ArmPolicy> {
    debug_assert_eq!(granted.scope(), &p.scope);
    let now = s.now();
    let attempt = change_audit(p);
    let mut known = HashSet::new();
    for rule in &incoming {
        known.extend(crate::pim::policies::existing_approvers(s, &rule.kind).await?);
    }
    let mut tx = s.store.begin_write().await?;
    let read = tx.arm_policy_for_update(p.role.id, &p.scope, false).await;
    let current = match read {
        Ok(stored) => stored.map(|st| st.rules).unwrap_or_else(azure_default_rules),
        Err(e) => {
            tx.rollback().await?;
            return Err(e.into());
        }
    };
    let merged = match merge_update(&current, incoming, &known) {
        Ok(m) => m,
        Err(e) => {
            tx.rollback().await?;
            let error = ArmError::from(e);
            s.record_audit(&attempt.record(caller, now, AuditResult::Failure, &error.message)).await;
            return Err(error);
        }
    };
    let by = (caller.id(), caller.user.display_name.as_str());
    let write = ArmPolicyWrite { id: p.id, role_definition_id: p.role.id, scope: &p.scope, rules: &merged, by, now };
    if let Err(e) = tx.put_arm_policy(&write).await {
        tx.rollback().await?;
        return Err(e.into());
    }
    let mut audit = attempt;
    for (before, after) in current.iter().zip(&merged) {
        if before != after {
            audit = crate::audit_detail::rule_change(audit, &after.id, &render(before), &render(after))
                .detail(detail::RULE_ID, &after.id);
        }
    }
    s.commit(tx, &audit.success(caller, now)).await.map_err(ArmError::from)?;
    Ok(ArmPolicy {
        rules: merged,
        last_modified: Some(now),
        last_modified_by: Some((caller.id(), caller.user.display_name.clone())),
        ..p.clone()
    })
}

/// Resets `p` to Azure's defaults (ARM's DELETE). True if it had been changed.
pub async fn reset(s: &AppState, granted: &AzureGranted, caller: &ArmCaller, p: &ArmPolicy) -> ArmResult<bool> {
    debug_assert_eq!(granted.scope(), &p.scope);
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    let removed = match tx.delete_arm_policy(p.role.id, &p.scope).await {
        Ok(r) => r,
        Err(e) => {
            tx.rollback().await?;
            return Err(e.into());
        }
    };
    if !removed {
        tx.rollback().await?;
        return Ok(false);
    }
    let audit = Audit::new(AUDIT_CATEGORY, "Update role setting in PIM", "Delete")
        .target("Role", p.role.id, Some(&p.role.display_name), None)
        .detail(detail::POLICY_ID, p.id)
        .detail("scope", p.scope.as_str())
        .detail("reset", "Azure defaults");
    s.commit(tx, &audit.success(caller, now)).await.map_err(ArmError::from)?;
    Ok(true)
}

/// Whether `kind` is the kind of `existing` (a PATCH cannot change a rule's type).
pub fn same_kind(existing: &RuleKind, kind: &RuleKind) -> bool {
    std::mem::discriminant(existing) == std::mem::discriminant(kind)
}
