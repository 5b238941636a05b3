//! Azure role definitions (`Microsoft.Authorization/roleDefinitions`): reading the built-in and
//! custom roles at a scope, and writing and deleting custom roles. Wire-independent: the ARM
//! handler (`arm/role_definitions.rs`) parses, obtains the proofs and renders.
//!
//! Writes follow the house rule: core builds the role (`CustomRoleWrite::build`, the catalog's
//! custom-role rules), the caller's rights on every assignable scope are proven
//! ([`ScopeRights`]), then the write transaction opens and reads inside it every fact that
//! decides the outcome (the role being replaced, row-locked; the name's holder; the number of
//! custom roles; live schedules of a role being deleted) before it writes and commits with its
//! audit record. A refusal is audited too.

use super::AUDIT_CATEGORY;
use crate::arm::{ArmCaller, ArmError, ArmResult};
use crate::state::{AppState, Audit};
use axum::http::StatusCode;
use openpim_core::audit::AuditResult;
use openpim_core::authz::AzureGranted;
use openpim_core::roles::azure::{self, CustomRoleWrite, RoleDefinitionQuery};
use openpim_core::roles::{PermissionDialect, RoleDefinition};
use openpim_core::scope::ArmScope;
use openpim_core::{DomainError, ObjectId};

/// The Azure operations this area checks.
pub mod actions {
    pub const READ: &str = "Microsoft.Authorization/roleDefinitions/read";
    pub const WRITE: &str = "Microsoft.Authorization/roleDefinitions/write";
    pub const DELETE: &str = "Microsoft.Authorization/roleDefinitions/delete";
}

/// ARM's answer for a role definition id nobody holds (captured ARM responses, Azure's
/// Enterprise-Scale docs).
pub fn does_not_exist(id: &str) -> ArmError {
    ArmError::new(
        StatusCode::NOT_FOUND,
        "RoleDefinitionDoesNotExist",
        format!("The specified role definition with ID '{id}' does not exist."),
    )
}

/// Reading role definitions: at a scope, `Microsoft.Authorization/roleDefinitions/read` there
/// (Reader's `*/read` has it); at the tenant level (`/providers/Microsoft.Authorization/...`),
/// any signed-in caller, as ARM serves the tenant's role catalog to every user of the tenant.
fn authorize_read(state: &AppState, caller: &ArmCaller, scope: Option<&ArmScope>) -> ArmResult<()> {
    if let Some(scope) = scope {
        super::authorize_read(state, caller, actions::READ, scope)?;
    }
    Ok(())
}

/// The Azure role definition `id`, read at `scope` (`None`: the tenant level). The GUID is the
/// role's identity in the tenant, so any Azure role is found by it wherever it is read.
pub async fn get(
    state: &AppState,
    caller: &ArmCaller,
    scope: Option<&ArmScope>,
    id: ObjectId,
) -> ArmResult<RoleDefinition> {
    authorize_read(state, caller, scope)?;
    state.store.azure_role_definition(id).await?.ok_or_else(|| does_not_exist(&id.to_string()))
}

/// The Azure role definitions ARM lists at `scope` under `query` (see
/// [`RoleDefinitionQuery::lists`]), ordered by name.
pub async fn list(
    state: &AppState,
    caller: &ArmCaller,
    scope: Option<&ArmScope>,
    query: &RoleDefinitionQuery,
) -> ArmResult<Vec<RoleDefinition>> {
    authorize_read(state, caller, scope)?;
    let all = state.store.azure_role_definitions().await?;
    let index = state.index();
    let hierarchy = index.management_groups();
    Ok(all.into_iter().filter(|r| query.lists(r, scope, hierarchy)).collect())
}

/// Proof that the caller holds one Azure operation on each scope of a set: what writing or
/// deleting a custom role needs ("`Microsoft.Authorization/roleDefinitions/write` on all
/// assignable scopes"). Made only by [`authorize_on_all`].
pub struct ScopeRights {
    action: &'static str,
    grants: Vec<AzureGranted>,
}

impl ScopeRights {
    /// True when `scope` is one the proof was obtained for.
    fn covers(&self, scope: &ArmScope) -> bool {
        self.grants.iter().any(|g| g.scope() == scope)
    }

    fn check_covers<'a>(&self, scopes: impl IntoIterator<Item = &'a ArmScope>) -> ArmResult<()> {
        match scopes.into_iter().find(|s| !self.covers(s)) {
            None => Ok(()),
            // The role changed between the check and the write (another writer added a scope).
            Some(s) => Err(ArmError::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!(
                    "The role definition changed while '{}' was being checked at '{s}'; retry the request.",
                    self.action
                ),
            )),
        }
    }
}

/// Checks `action` on every scope; the first refusal is audited and answered
/// `AuthorizationFailed` naming that scope.
pub async fn authorize_on_all(
    state: &AppState,
    caller: &ArmCaller,
    action: &'static str,
    scopes: &[ArmScope],
    audit: &Audit,
) -> ArmResult<ScopeRights> {
    let mut grants = Vec::with_capacity(scopes.len());
    for scope in scopes {
        grants.push(super::authorize(state, caller, action, scope, audit).await?);
    }
    Ok(ScopeRights { action, grants })
}

/// The scopes a write to `id` must be authorised on: the new role's assignable scopes and, for
/// an update, the ones it replaces (removing a scope from a role is a change at that scope).
pub fn scopes_to_authorize(role: &RoleDefinition, existing: Option<&RoleDefinition>) -> Vec<ArmScope> {
    let mut scopes = azure::assignable_arm_scopes(role);
    if let Some(old) = existing.filter(|e| e.dialect == PermissionDialect::Azure && !e.is_built_in) {
        for s in azure::assignable_arm_scopes(old) {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
    }
    scopes
}

/// Every assignable scope of a custom role must exist in OpenPIM's resource hierarchy (a role
/// assignable where nothing exists would be a role nobody can see being used). A refusal is
/// audited and answered with the hierarchy's own error (`SubscriptionNotFound`, ...).
pub async fn check_scopes_exist(
    state: &AppState,
    caller: &ArmCaller,
    scopes: &[ArmScope],
    audit: &Audit,
) -> ArmResult<()> {
    for scope in scopes {
        if let Err(error) = super::hierarchy::exists(state, scope).await {
            return Err(refused(state, caller, audit, error).await);
        }
    }
    Ok(())
}

/// The audit entry of a custom-role write or delete.
pub fn audit_of(activity: &'static str, operation_type: &'static str, id: ObjectId, name: &str) -> Audit {
    Audit::new(AUDIT_CATEGORY, activity, operation_type).target("AzureRoleDefinition", id, Some(name), None)
}

/// Audits a refusal (`failure`, with its reason) and returns it.
async fn refused(state: &AppState, caller: &ArmCaller, audit: &Audit, error: ArmError) -> ArmError {
    let record = audit.record(caller, state.now(), AuditResult::Failure, &error.message);
    state.record_audit(&record).await;
    error
}

/// The outcome of a PUT: the stored role and whether it was created.
pub struct Written {
    pub role: RoleDefinition,
    pub created: bool,
}

/// Creates or replaces the custom role `write.id`. `rights` must cover the role's assignable
/// scopes and, for an update, those it had. Inside the write: the role under the id (locked),
/// core's rules again against it, the name unique among Azure roles, the 5,000-role limit for a
/// new role.
pub async fn put(
    state: &AppState,
    caller: &ArmCaller,
    rights: &ScopeRights,
    write: CustomRoleWrite,
    audit: &Audit,
) -> ArmResult<Written> {
    let now = state.now();
    let mut tx = state.store.begin_write().await?;
    let decided: Result<Written, ArmError> = async {
        let existing = tx.role_definition_for_update(write.id).await?;
        let role = write.build(existing.as_ref(), caller.id(), now)?;
        rights.check_covers(scopes_to_authorize(&role, existing.as_ref()).iter())?;
        if let Some(holder) = tx.azure_role_named(&role.display_name).await? {
            if holder != role.id {
                return Err(azure::name_taken(&role.display_name).into());
            }
        }
        match existing {
            Some(_) => tx.update_role_definition(&role).await?,
            None => {
                if tx.count_custom_azure_roles().await? >= azure::MAX_CUSTOM_ROLES {
                    return Err(azure::limit_exceeded().into());
                }
                tx.insert_role_definition(&role).await?;
            }
        }
        Ok(Written { created: existing.is_none(), role })
    }
    .await;
    match decided {
        Ok(written) => {
            state.commit(tx, &audit.success(caller, now)).await?;
            Ok(written)
        }
        Err(error) => {
            drop(tx);
            Err(refused(state, caller, audit, error).await)
        }
    }
}

/// Deletes the custom role `id` if it exists (`None` when it does not: ARM answers 204).
/// Refused while any schedule that has not ended uses it (`RoleDefinitionHasAssignments`),
/// eligibilities included; ended schedules go with it. `rights` must cover its assignable
/// scopes as read before the write; a role changed meanwhile is answered 409 (retry).
pub async fn delete(
    state: &AppState,
    caller: &ArmCaller,
    rights: &ScopeRights,
    id: ObjectId,
    audit: &Audit,
) -> ArmResult<Option<RoleDefinition>> {
    let mut tx = state.store.begin_write().await?;
    let decided: Result<Option<RoleDefinition>, ArmError> = async {
        let Some(role) = tx.role_definition_for_update(id).await?.filter(|r| r.dialect == PermissionDialect::Azure)
        else {
            return Ok(None);
        };
        azure::check_writable(&role)?;
        rights.check_covers(azure::assignable_arm_scopes(&role).iter())?;
        if tx.count_live_schedules_of_role(id).await? > 0 {
            return Err(azure::has_assignments().into());
        }
        tx.delete_ended_schedules_of_role(id).await?;
        tx.delete_role_definition(id).await?;
        Ok(Some(role))
    }
    .await;
    match decided {
        Ok(None) => Ok(None),
        Ok(Some(role)) => {
            state.commit(tx, &audit.success(caller, state.now())).await?;
            Ok(Some(role))
        }
        Err(error) => {
            drop(tx);
            Err(refused(state, caller, audit, error).await)
        }
    }
}

/// Audits and returns a refusal decided before the write (core's rules on the body).
pub async fn refuse(state: &AppState, caller: &ArmCaller, audit: &Audit, error: DomainError) -> ArmError {
    refused(state, caller, audit, error.into()).await
}
