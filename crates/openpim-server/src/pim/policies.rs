//! Role settings (role management policies and their rules). Every role's settings are for
//! Entra's PIM readers and role administrators (`ReadRolePolicies`); anyone reads the settings
//! of the roles they are eligible for, which say what activating them asks (what Entra's PIM
//! shows its users under "My roles"). Changing a rule needs `ManageRolePolicies`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Audit};
use openpim_core::authz::{cap, Granted, OwnPrincipal};
use openpim_core::policy::rules::{apply_update, Approver, PolicyRule, RuleKind};
use openpim_core::ObjectId;
use openpim_store::policies::StoredPolicy;
use openpim_store::{ListRequest, Page, WriteTx};
use std::collections::HashSet;

/// On what grounds role settings are read.
#[derive(Debug, Clone)]
pub enum PolicyReader {
    /// Every role's settings.
    Reader(Granted<cap::ReadRolePolicies>),
    /// The settings of the roles the caller is eligible for (now or later, directly or through
    /// a group).
    Eligible(OwnPrincipal),
}

impl PolicyReader {
    pub fn of(s: &AppState, caller: &Caller) -> Self {
        match s.permits::<cap::ReadRolePolicies>(caller) {
            Some(granted) => Self::Reader(granted),
            None => Self::Eligible(openpim_core::authz::own_principal(caller.subject())),
        }
    }
}

fn refused() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Reading role settings needs a role that grants \
         'microsoft.directory/privilegedIdentityManagement/allProperties/read' (Global Reader, Security \
         Reader, Privileged Role Administrator, ...). Without one, you may read the settings of the roles you \
         are eligible for, by roleDefinitionId.",
    )
}

/// The roles `own` is eligible for, now or later, directly or through a group.
async fn eligible_roles(s: &AppState, own: &OwnPrincipal) -> ApiResult<Vec<ObjectId>> {
    Ok(s.store.latent_roles_of(own.principal()).await?.eligible_for)
}

/// Every role's policies (this collection names no role, so it is for readers only).
pub async fn list(
    s: &AppState,
    _granted: &Granted<cap::ReadRolePolicies>,
    req: &ListRequest<'_>,
) -> ApiResult<Page<StoredPolicy>> {
    Ok(s.store.list_policies(req).await?)
}

/// Policy assignments: every role's for a reader; for anyone else, those whose `$filter` keeps
/// only a role they are eligible for (`roleDefinitionId eq '...'`).
pub async fn list_assignments(
    s: &AppState,
    reader: &PolicyReader,
    req: &ListRequest<'_>,
) -> ApiResult<Page<StoredPolicy>> {
    if let PolicyReader::Eligible(own) = reader {
        let mine = eligible_roles(s, own).await?;
        if !mine.iter().any(|role| super::reads::filter_pins(req.filter, "roleDefinitionId", *role)) {
            return Err(refused());
        }
    }
    Ok(s.store.list_policy_assignments(req).await?)
}

/// Every directory role's policy the reader may read, once each (the `DirectoryRole_` form of
/// its id): all of them for a reader, those of the roles they are eligible for otherwise. For
/// surfaces that list role settings per role (the beta governanceRoleSettings).
pub async fn readable(s: &AppState, reader: &PolicyReader) -> ApiResult<Vec<StoredPolicy>> {
    let all = ListRequest { filter: None, orderby: &[], top: 100_000, offset: 0, count: false };
    let policies = s.store.list_policies(&all).await?.items.into_iter().filter(|p| p.scope_type == "DirectoryRole");
    Ok(match reader {
        PolicyReader::Reader(_) => policies.collect(),
        PolicyReader::Eligible(own) => {
            let mine = eligible_roles(s, own).await?;
            policies.filter(|p| mine.contains(&p.role_definition_id)).collect()
        }
    })
}

/// One policy by id: any for a reader; for anyone else, only a role's they are eligible for (403
/// for the others: every role has a policy, so its existence tells nothing).
pub async fn get(s: &AppState, reader: &PolicyReader, id: &str) -> ApiResult<Option<StoredPolicy>> {
    let Some(p) = s.store.get_policy(id).await? else { return Ok(None) };
    if let PolicyReader::Eligible(own) = reader {
        if !eligible_roles(s, own).await?.contains(&p.role_definition_id) {
            return Err(refused());
        }
    }
    Ok(Some(p))
}

/// The rule a PATCH names, with its policy, before the caller's right to change it is checked
/// (the audit record of a refusal names them).
pub async fn rule_to_update(s: &AppState, policy_id: &str, rule_id: &str) -> ApiResult<(StoredPolicy, PolicyRule)> {
    let p = s.store.get_policy(policy_id).await?.ok_or_else(|| policy_missing(policy_id))?;
    let rule = p.rules.iter().find(|r| r.id.eq_ignore_ascii_case(rule_id)).cloned();
    Ok((p, rule.ok_or_else(|| rule_missing(rule_id))?))
}

fn policy_missing(id: &str) -> ApiError {
    ApiError::not_found("unifiedRoleManagementPolicy", id)
}

fn rule_missing(id: &str) -> ApiError {
    ApiError::not_found("unifiedRoleManagementPolicyRule", id)
}

/// A rule as it was and as it is after a PATCH.
pub struct RuleChange {
    pub before: PolicyRule,
    pub updated: PolicyRule,
}

/// Applies `incoming` to the rule `rule_id` of policy `policy_id` (the v1.0 rule PATCH): one
/// rule through [`update_rules`].
pub async fn update_rule(
    s: &AppState,
    granted: &Granted<cap::ManageRolePolicies>,
    caller: &Caller,
    (policy_id, existing): (&str, &PolicyRule),
    mut incoming: PolicyRule,
    audit: impl FnOnce(&RuleChange) -> Audit,
) -> ApiResult<()> {
    let known = existing_approvers(s, &incoming.kind).await?;
    // Validated first against the rule as read so far: a bad body is refused without taking
    // the writer.
    apply_update(existing, incoming.clone(), &known)?;
    incoming.id = existing.id.clone();
    update_rules(s, granted, caller, policy_id, vec![incoming], |changes| audit(&changes[0])).await
}

/// Applies several rules (each by its id) to policy `policy_id` in one write: all of them or,
/// when one is refused, none. Read-modify-write inside the transaction: each is validated
/// against its current value there, and the other rules are written back as they are now, so
/// concurrent PATCHes of different rules of one policy all stick. (The beta roleSetting PATCH
/// changes several rules at once.)
pub async fn update_rules(
    s: &AppState,
    _granted: &Granted<cap::ManageRolePolicies>,
    caller: &Caller,
    policy_id: &str,
    incoming: Vec<PolicyRule>,
    audit: impl FnOnce(&[RuleChange]) -> Audit,
) -> ApiResult<()> {
    let mut known = HashSet::new();
    for rule in &incoming {
        known.extend(existing_approvers(s, &rule.kind).await?);
    }
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    let changes = match patch_rules_in(&mut tx, policy_id, incoming, &known).await {
        Ok(patched) => {
            let by = (caller.id(), caller.user.display_name.as_str());
            tx.update_policy_rules(&patched.suffix, &patched.rules, by, now).await?;
            patched.changes
        }
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    s.commit(tx, &audit(&changes).success(caller, now)).await
}

/// Which listed approvers exist in the directory.
pub async fn existing_approvers(s: &AppState, kind: &RuleKind) -> ApiResult<HashSet<uuid::Uuid>> {
    let mut listed: Vec<Approver> = Vec::new();
    if let RuleKind::Approval(a) = kind {
        for stage in &a.stages {
            listed.extend(stage.primary_approvers.iter().chain(&stage.escalation_approvers).cloned());
        }
    }
    let mut found = HashSet::new();
    for approver in listed {
        let exists = match approver {
            Approver::SingleUser { user_id, .. } => s.store.get_user(user_id).await?.is_some(),
            Approver::GroupMembers { group_id, .. } => s.store.get_group(group_id).await?.is_some(),
        };
        if exists {
            found.insert(approver.object_id());
        }
    }
    Ok(found)
}

/// A policy's rules after a PATCH.
struct PatchedRules {
    suffix: String,
    rules: Vec<PolicyRule>,
    changes: Vec<RuleChange>,
}

/// The policy's rules with each of `incoming` (named by id) applied to its current value.
async fn patch_rules_in(
    tx: &mut WriteTx<'_>,
    id: &str,
    incoming: Vec<PolicyRule>,
    known: &HashSet<uuid::Uuid>,
) -> ApiResult<PatchedRules> {
    let p = tx.policy_for_update(id).await?.ok_or_else(|| policy_missing(id))?;
    let mut rules = p.rules;
    let mut changes = Vec::with_capacity(incoming.len());
    for mut rule in incoming {
        let slot =
            rules.iter_mut().find(|r| r.id.eq_ignore_ascii_case(&rule.id)).ok_or_else(|| rule_missing(&rule.id))?;
        rule.id = slot.id.clone();
        let updated = apply_update(slot, rule, known)?;
        changes.push(RuleChange { before: slot.clone(), updated: updated.clone() });
        *slot = updated;
    }
    Ok(PatchedRules { suffix: p.suffix, rules, changes })
}
