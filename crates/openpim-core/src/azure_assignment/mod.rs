//! Azure role assignments (`Microsoft.Authorization/roleAssignments`): the rules for giving a
//! principal an Azure role at an ARM scope, the last-Owner rule, and the effective permissions
//! ARM's `permissions` endpoint answers.
//!
//! An Azure role assignment is a permanent active assignment schedule (the rows PIM for Azure,
//! issue #16, will also write), so its identity is the schedule id: ARM's assignment `name` is a
//! client-chosen GUID unique in the tenant, and it is the row id. Error codes are ARM's where a
//! source gives them (`RoleAssignmentExists`, `RoleAssignmentUpdateNotPermitted`,
//! `PrincipalNotFound`, `RoleDefinitionDoesNotExist`); where none does, the code chosen here is
//! named in the function's documentation.

use crate::access::{AccessIndex, EffectiveGrant};
use crate::directory::ObjectKind;
use crate::error::{DomainError, DomainResult};
use crate::roles::{PermissionDialect, RoleDefinition, RolePermission};
use crate::schedule::{AssignmentType, ExpirationType, Kind, Schedule, ScheduleStatus};
use crate::scope::{ArmScope, ArmScopeKind, Scope, ScopeHierarchy};
use crate::{Instant, ObjectId};
use uuid::{uuid, Uuid};

/// Owner: full access, including assigning roles.
pub const OWNER: Uuid = uuid!("8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
/// User Access Administrator: manages access (what `elevateAccess` grants at the root).
pub const USER_ACCESS_ADMINISTRATOR: Uuid = uuid!("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9");

/// ARM's `principalType` values (azure-mgmt-authorization's `PrincipalType` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::AsRefStr)]
#[strum(ascii_case_insensitive)]
pub enum ArmPrincipalType {
    User,
    Group,
    ServicePrincipal,
    ForeignGroup,
    Device,
}

impl ArmPrincipalType {
    /// The type of a principal of OpenPIM's directory.
    pub fn of(kind: ObjectKind) -> Self {
        match kind {
            ObjectKind::User => Self::User,
            ObjectKind::Group => Self::Group,
            ObjectKind::ServicePrincipal => Self::ServicePrincipal,
        }
    }
}

/// An Azure role assignment as stored: a permanent active assignment schedule at an ARM scope
/// (its id is ARM's assignment name) and what ARM adds to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmRoleAssignment {
    pub schedule: Schedule,
    pub description: Option<String>,
    pub updated_by: Option<ObjectId>,
}

impl ArmRoleAssignment {
    /// The schedule of a new assignment made through ARM's `roleAssignments` PUT.
    pub fn new(new: &NewArmAssignment, principal_kind: ObjectKind, caller: ObjectId, now: Instant) -> Self {
        let schedule = Schedule {
            id: new.name,
            kind: Kind::Assignment,
            principal_id: new.principal_id,
            principal_kind,
            role_definition_id: new.role_definition_id,
            scope: Scope::Arm(new.scope.clone()),
            assignment_type: Some(AssignmentType::Assigned),
            start: now,
            end: None,
            expiration_type: ExpirationType::NoExpiration,
            duration: None,
            status: ScheduleStatus::Provisioned,
            created_using: None,
            activated_using: None,
            created: now,
            modified: now,
            created_by: Some(caller),
        };
        Self { schedule, description: new.description.clone(), updated_by: Some(caller) }
    }

    /// The ARM scope (always one: the store reads only ARM rows into this type).
    pub fn scope(&self) -> Option<&ArmScope> {
        self.schedule.scope.as_arm()
    }
}

/// What an Azure role definition says about where it may be assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct AzureRoleFacts {
    pub id: Uuid,
    pub role_name: String,
    pub is_custom: bool,
    /// Scopes the role may be assigned at or below; built-in roles have `/` (everywhere).
    pub assignable_scopes: Vec<String>,
    pub has_data_actions: bool,
}

impl AzureRoleFacts {
    /// The facts of an engine role definition with the Azure dialect, given its assignable
    /// scopes (kept beside the definition by the store).
    pub fn of(role: &RoleDefinition, assignable_scopes: Vec<String>) -> Option<Self> {
        (role.dialect == PermissionDialect::Azure).then(|| Self {
            id: role.id,
            role_name: role.display_name.clone(),
            is_custom: !role.is_built_in,
            assignable_scopes,
            has_data_actions: role.role_permissions.iter().any(|p| !p.allowed_data_actions.is_empty()),
        })
    }
}

/// A `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}` as core sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewArmAssignment {
    pub name: Uuid,
    pub scope: ArmScope,
    pub role_definition_id: Uuid,
    pub principal_id: ObjectId,
    pub principal_type: Option<ArmPrincipalType>,
    pub description: Option<String>,
    pub condition: Option<String>,
    pub condition_version: Option<String>,
}

/// An assignment already stored, as far as the rules need it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredArmAssignment {
    pub name: Uuid,
    pub scope_key: String,
    pub role_definition_id: Uuid,
    pub principal_id: ObjectId,
    pub description: Option<String>,
}

/// What the store knows that decides a PUT, read inside the write transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentFacts {
    /// The principal's kind in the directory, `None` when it does not exist.
    pub principal: Option<ObjectKind>,
    /// The role, `None` when no Azure role has that id.
    pub role: Option<AzureRoleFacts>,
    /// The assignment stored under the PUT's name, if any.
    pub same_name: Option<StoredArmAssignment>,
    /// Another name holding the same principal, role and scope, if any.
    pub same_trio: Option<Uuid>,
}

/// What a PUT does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentWrite {
    /// A new assignment (201).
    Create,
    /// The same assignment again: only its description may change (200).
    Update,
}

/// Longest description ARM documents for role assignments' sibling resources (role definitions
/// take 2,048 characters); OpenPIM applies the same bound.
pub const MAX_DESCRIPTION_CHARS: usize = 2048;

/// Decides a role assignment PUT. `tenant_id` appears in ARM's `PrincipalNotFound` message;
/// `hierarchy` places subscriptions in management groups for the assignable-scope check.
pub fn decide_assignment<H: ScopeHierarchy + ?Sized>(
    new: &NewArmAssignment,
    facts: &AssignmentFacts,
    tenant_id: Uuid,
    hierarchy: &H,
) -> DomainResult<AssignmentWrite> {
    if new.condition.is_some() || new.condition_version.is_some() {
        // No source gives ARM's code for a server that does not evaluate conditions; this one
        // says what is missing rather than storing a condition nothing would enforce.
        return Err(DomainError::invalid(
            "RoleAssignmentConditionNotSupported",
            "OpenPIM does not evaluate attribute-based access control conditions: remove 'condition' and \
             'conditionVersion' from the role assignment.",
        ));
    }
    if new.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(DomainError::invalid(
            "InvalidRequestContent",
            format!("The role assignment description must be at most {MAX_DESCRIPTION_CHARS} characters."),
        ));
    }
    if let Some(existing) = &facts.same_name {
        // A name is one assignment for good: ARM refuses to point it elsewhere.
        let same = existing.principal_id == new.principal_id
            && existing.role_definition_id == new.role_definition_id
            && existing.scope_key == new.scope.key();
        if !same {
            return Err(DomainError::invalid(
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            ));
        }
    }
    let kind = facts.principal.ok_or_else(|| principal_not_found(new.principal_id, tenant_id))?;
    let actual = ArmPrincipalType::of(kind);
    if let Some(given) = new.principal_type {
        if given != actual {
            return Err(DomainError::invalid(
                "UnmatchedPrincipalType",
                format!(
                    "The PrincipalId '{}' has type '{actual}', which is different from specified PrincipalType '{given}'.",
                    new.principal_id
                ),
            ));
        }
    }
    let role = facts.role.as_ref().ok_or_else(|| role_definition_does_not_exist(new.role_definition_id))?;
    check_assignable_scope(role, &new.scope, hierarchy)?;
    if facts.same_name.is_some() {
        return Ok(AssignmentWrite::Update);
    }
    if facts.same_trio.is_some() {
        return Err(DomainError::conflict("RoleAssignmentExists", "The role assignment already exists."));
    }
    Ok(AssignmentWrite::Create)
}

/// ARM's `PrincipalNotFound`, with its documented message.
pub fn principal_not_found(principal: ObjectId, tenant_id: Uuid) -> DomainError {
    DomainError::invalid(
        "PrincipalNotFound",
        format!(
            "Principal {} does not exist in the directory {tenant_id}. Check that you have the correct principal ID.",
            principal.simple()
        ),
    )
}

/// ARM's `RoleDefinitionDoesNotExist`, with its documented message.
pub fn role_definition_does_not_exist(id: Uuid) -> DomainError {
    DomainError::invalid(
        "RoleDefinitionDoesNotExist",
        format!("The specified role definition with ID '{id}' does not exist."),
    )
}

/// A role may be assigned at a scope at or below one of its assignable scopes (`/` is every
/// scope), and a custom role with data actions never at a management group (see
/// `azure_catalog::check_assignment_at_management_group`). No source gives ARM's code for the
/// first; `InvalidRoleAssignmentScope` is the one core already uses for the second.
pub fn check_assignable_scope<H: ScopeHierarchy + ?Sized>(
    role: &AzureRoleFacts,
    scope: &ArmScope,
    hierarchy: &H,
) -> DomainResult<()> {
    let assignable = role
        .assignable_scopes
        .iter()
        .any(|s| s == "/" || ArmScope::parse(s).is_ok_and(|assignable| assignable.covers(scope, hierarchy)));
    if !assignable {
        return Err(DomainError::invalid(
            "InvalidRoleAssignmentScope",
            format!(
                "The role '{}' cannot be assigned at scope '{scope}': it is assignable only at or below {}.",
                role.role_name,
                role.assignable_scopes.join(", ")
            ),
        ));
    }
    if role.is_custom && role.has_data_actions && scope.kind() == ArmScopeKind::ManagementGroup {
        return Err(DomainError::invalid(
            "InvalidRoleAssignmentScope",
            format!(
                "The custom role '{}' has data actions and cannot be assigned at a management group scope; \
                 assign it at a subscription below the management group instead.",
                role.role_name
            ),
        ));
    }
    Ok(())
}

/// The last-Owner rule: removing an Owner assignment at a scope must leave a permanent Owner
/// assignment in effect at that scope or above it, so nobody removes the last person who can
/// manage access there (a caller who is Owner above the scope is such a remaining Owner). The
/// store counts the remaining ones inside the write after every removal of an Owner assignment
/// (its `invariants` module) and refuses the write when none is left. Azure's message is
/// documented ("Cannot delete the last RBAC admin assignment"), its code is not:
/// `LastOwnerRoleAssignment` is OpenPIM's.
pub fn check_owner_remains(scope: &str, remaining_owners: u64) -> DomainResult<()> {
    if remaining_owners == 0 {
        return Err(DomainError::invalid(
            "LastOwnerRoleAssignment",
            format!(
                "Cannot delete the last RBAC admin assignment: '{scope}' would be left without an Owner at it or \
                 above it. Assign Owner to someone else at this scope or above first."
            ),
        ));
    }
    Ok(())
}

/// A role assignment list's `$filter`: ARM's documented forms `atScope()`,
/// `principalId eq '{id}'`, `assignedTo('{id}')`, joined with `and`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only assignments at the scope or above it (not below).
    pub at_scope: bool,
    /// Only this principal's own assignments.
    pub principal_id: Option<ObjectId>,
    /// Only assignments that apply to this user or service principal: its own and those of the
    /// security groups it is in (transitively).
    pub assigned_to: Option<ObjectId>,
}

impl ListFilter {
    /// Reads `$filter`; anything else is ARM's `UnsupportedQuery` (ids compare as GUIDs, so any
    /// case is accepted).
    pub fn parse(raw: Option<&str>) -> DomainResult<Self> {
        let mut filter = Self::default();
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(filter) };
        let unsupported = || {
            DomainError::invalid(
                "UnsupportedQuery",
                format!(
                    "The filter '{raw}' is not supported. Supported filters are 'atScope()', \
                     'principalId eq '{{value}}'' and 'assignedTo('{{value}}')', joined with 'and'."
                ),
            )
        };
        for term in split_and(raw) {
            let term = term.trim();
            let lower = term.to_ascii_lowercase();
            if lower.replace(' ', "") == "atscope()" && !filter.at_scope {
                filter.at_scope = true;
            } else if let Some(rest) = strip_prefix_ci(term, "principalId") {
                let value = strip_eq(rest).ok_or_else(unsupported)?;
                let id = quoted_guid(value).ok_or_else(unsupported)?;
                if filter.principal_id.replace(id).is_some() {
                    return Err(unsupported());
                }
            } else if let Some(rest) = strip_prefix_ci(term, "assignedTo") {
                let inner = rest.trim().strip_prefix('(').and_then(|r| r.strip_suffix(')')).ok_or_else(unsupported)?;
                let id = quoted_guid(inner).ok_or_else(unsupported)?;
                if filter.assigned_to.replace(id).is_some() {
                    return Err(unsupported());
                }
            } else {
                return Err(unsupported());
            }
        }
        Ok(filter)
    }

    /// Does the filter keep an assignment of `principal` at `at`, listed at `target` (`None`:
    /// the tenant, where every scope is below)? `groups_of_assignee` are the security groups of
    /// the `assignedTo` principal.
    pub fn keeps<H: ScopeHierarchy + ?Sized>(
        &self,
        principal: ObjectId,
        at: &ArmScope,
        target: Option<&ArmScope>,
        groups_of_assignee: &[ObjectId],
        hierarchy: &H,
    ) -> bool {
        let scope_ok = match target {
            None => true,
            Some(t) if self.at_scope => at.covers(t, hierarchy),
            Some(t) => at.covers(t, hierarchy) || t.covers(at, hierarchy),
        };
        let principal_ok = self.principal_id.is_none_or(|p| p == principal);
        let assignee_ok = self.assigned_to.is_none_or(|p| p == principal || groups_of_assignee.contains(&principal));
        scope_ok && principal_ok && assignee_ok
    }
}

/// The terms of `raw` separated by the word `and` (any case), outside quotes.
fn split_and(raw: &str) -> Vec<&str> {
    let lower = raw.to_ascii_lowercase();
    let (mut terms, mut start, mut quoted) = (Vec::new(), 0, false);
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b' ' if !quoted && lower[i..].starts_with(" and ") => {
                terms.push(&raw[start..i]);
                i += " and ".len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    terms.push(&raw[start..]);
    terms
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s.is_char_boundary(prefix.len()) && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

/// `eq '...'` -> `'...'`
fn strip_eq(s: &str) -> Option<&str> {
    let rest = strip_prefix_ci(s.trim_start(), "eq")?;
    rest.starts_with(' ').then(|| rest.trim())
}

/// A GUID in single quotes.
fn quoted_guid(value: &str) -> Option<ObjectId> {
    let inner = value.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    (inner.len() == 36).then(|| Uuid::try_parse(inner).ok()).flatten()
}

/// One entry of ARM's `permissions` answer: a permission block of a role in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionBlock {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}

impl From<&RolePermission> for PermissionBlock {
    fn from(p: &RolePermission) -> Self {
        Self {
            actions: p.allowed_resource_actions.clone(),
            not_actions: p.excluded_resource_actions.clone(),
            data_actions: p.allowed_data_actions.clone(),
            not_data_actions: p.excluded_data_actions.clone(),
        }
    }
}

/// The caller's permissions at `scope` as ARM's `permissions` endpoint lists them: each
/// permission block of each Azure role assigned in effect at the scope or above, to the
/// principal or a security group it is in. An Azure role reached through two assignments is
/// listed once per assignment, as ARM lists one entry per assignment in effect.
pub fn permissions_at(
    index: &AccessIndex,
    principal: ObjectId,
    scope: &ArmScope,
    now: Instant,
) -> Vec<PermissionBlock> {
    index
        .arm_grants_at(principal, scope, now)
        .iter()
        .filter_map(|e: &EffectiveGrant<'_>| index.role(&e.grant.role_definition_id))
        .filter(|role| role.dialect == PermissionDialect::Azure && role.is_enabled)
        .flat_map(|role| role.role_permissions.iter().map(PermissionBlock::from))
        .collect()
}

/// `elevateAccess` is for Entra Global Administrators only (Azure's documented rule). No source
/// gives ARM's refusal code beyond the 403; `AuthorizationFailed` is ARM's generic one.
pub fn check_may_elevate(holds_global_administrator: bool, caller: ObjectId) -> DomainResult<()> {
    if !holds_global_administrator {
        return Err(DomainError {
            kind: crate::ErrorKind::Forbidden,
            code: "AuthorizationFailed",
            message: format!(
                "The client '{caller}' with object id '{caller}' does not have authorization to perform action \
                 'Microsoft.Authorization/elevateAccess/action' over scope '/': only a Global Administrator of the \
                 directory can elevate access."
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
