//! Azure role definitions in the engine: the built-in roles of the Azure catalog as
//! [`RoleDefinition`]s of the Azure dialect, custom roles written through ARM's
//! `PUT {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}`, and which roles ARM lists
//! at a scope.
//!
//! The catalog's own checks (`azure_catalog::validate_custom_role`) run here; what needs the
//! store (a name unique among the tenant's custom roles, at most [`MAX_CUSTOM_ROLES`], every
//! assignable scope existing, the caller's rights on them, no delete while assigned) is the
//! service's, which gathers those facts inside its write.
//!
//! Error codes: ARM's where a source gives them (`RoleDefinitionWithSameNameExists`,
//! `RoleDefinitionLimitExceeded`, `RoleDefinitionHasAssignments`, the catalog's); where none
//! does, the place says which name OpenPIM chose.

use super::{AzureRoleProperties, PermissionDialect, RoleDefinition, RolePermission};
use crate::azure_catalog::{self, AzurePermission, AzureRoleDefinition, BUILT_IN_ROLE_TYPE, CUSTOM_ROLE_TYPE};
use crate::error::{DomainError, DomainResult};
use crate::scope::{ArmScope, ScopeHierarchy};
use crate::{Instant, ObjectId};

/// The tenant root in `assignableScopes`: only built-in roles are assignable there.
pub const ROOT_SCOPE: &str = "/";

/// "Custom role limits": up to 5,000 custom roles per tenant (the public cloud's number).
pub const MAX_CUSTOM_ROLES: u64 = 5000;

/// ARM's `properties.type` of a role definition.
pub fn role_type(role: &RoleDefinition) -> &'static str {
    if role.is_built_in {
        BUILT_IN_ROLE_TYPE
    } else {
        CUSTOM_ROLE_TYPE
    }
}

fn permission_from_catalog(p: &AzurePermission) -> RolePermission {
    let AzurePermission { actions, not_actions, data_actions, not_data_actions, condition, condition_version } = p;
    RolePermission {
        allowed_resource_actions: actions.clone(),
        excluded_resource_actions: not_actions.clone(),
        allowed_data_actions: data_actions.clone(),
        excluded_data_actions: not_data_actions.clone(),
        condition: condition.clone(),
        condition_version: condition_version.clone(),
    }
}

fn permission_to_catalog(p: &RolePermission) -> AzurePermission {
    let RolePermission {
        allowed_resource_actions,
        excluded_resource_actions,
        allowed_data_actions,
        excluded_data_actions,
        condition,
        condition_version,
    } = p;
    AzurePermission {
        actions: allowed_resource_actions.clone(),
        not_actions: excluded_resource_actions.clone(),
        data_actions: allowed_data_actions.clone(),
        not_data_actions: excluded_data_actions.clone(),
        condition: condition.clone(),
        condition_version: condition_version.clone(),
    }
}

/// A built-in Azure role of the catalog as an engine role, first stored at `now`. Built-in Azure
/// roles are enabled, have no version and no author, and are not Entra-privileged (that flag
/// protects accounts in the directory; Azure's privileged administrator roles are a separate
/// notion).
pub fn from_catalog(def: &AzureRoleDefinition, now: Instant) -> RoleDefinition {
    RoleDefinition {
        id: def.id,
        template_id: def.id,
        display_name: def.role_name.clone(),
        description: def.description.clone(),
        is_built_in: def.role_type.eq_ignore_ascii_case(BUILT_IN_ROLE_TYPE),
        is_enabled: true,
        is_privileged: false,
        version: None,
        dialect: PermissionDialect::Azure,
        role_permissions: def.permissions.iter().map(permission_from_catalog).collect(),
        created: now,
        modified: now,
        azure: AzureRoleProperties {
            assignable_scopes: def.assignable_scopes.clone(),
            created_by: None,
            updated_by: None,
        },
    }
}

/// The 928 built-in Azure roles as engine roles, first stored at `now`.
pub fn builtin_roles(now: Instant) -> Vec<RoleDefinition> {
    azure_catalog::builtin_roles().iter().map(|def| from_catalog(def, now)).collect()
}

/// True when the stored built-in role says what the catalog says (name, description,
/// assignable scopes, permissions): loading the catalog at start rewrites only roles that differ.
pub fn same_as_catalog(stored: &RoleDefinition, catalog: &RoleDefinition) -> bool {
    stored.dialect == PermissionDialect::Azure
        && stored.is_built_in
        && stored.display_name == catalog.display_name
        && stored.description == catalog.description
        && stored.azure.assignable_scopes == catalog.azure.assignable_scopes
        && stored.role_permissions == catalog.role_permissions
}

/// The role in the catalog's record shape, which `validate_custom_role` and
/// `check_assignment_at_management_group` read.
pub fn catalog_shape(role: &RoleDefinition) -> AzureRoleDefinition {
    AzureRoleDefinition {
        id: role.id,
        role_name: role.display_name.clone(),
        description: role.description.clone(),
        role_type: role_type(role).to_string(),
        assignable_scopes: role.azure.assignable_scopes.clone(),
        permissions: role.role_permissions.iter().map(permission_to_catalog).collect(),
    }
}

/// The ARM scopes a role lists as assignable (`/` is the tenant root, not an ARM scope, so it is
/// reported by [`assignable_at_root`]). Stored scopes are canonical; one that no longer parses is
/// skipped rather than failing every read.
pub fn assignable_arm_scopes(role: &RoleDefinition) -> Vec<ArmScope> {
    role.azure.assignable_scopes.iter().filter_map(|s| ArmScope::parse(s).ok()).collect()
}

/// True when `/` is among the role's assignable scopes (every built-in role).
pub fn assignable_at_root(role: &RoleDefinition) -> bool {
    role.azure.assignable_scopes.iter().any(|s| s == ROOT_SCOPE)
}

/// Where a role may be assigned: at or below one of its assignable scopes (`/` covers every
/// scope).
pub fn assignable_at<H: ScopeHierarchy + ?Sized>(role: &RoleDefinition, scope: &ArmScope, hierarchy: &H) -> bool {
    role.dialect == PermissionDialect::Azure
        && (assignable_at_root(role) || assignable_arm_scopes(role).iter().any(|a| a.covers(scope, hierarchy)))
}

/// ARM's `properties.type`, as a list filter compares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AzureRoleType {
    BuiltInRole,
    CustomRole,
}

impl AzureRoleType {
    /// Reads ARM's spelling, case-insensitively as ARM compares enum values.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.eq_ignore_ascii_case(BUILT_IN_ROLE_TYPE) {
            Some(Self::BuiltInRole)
        } else if raw.eq_ignore_ascii_case(CUSTOM_ROLE_TYPE) {
            Some(Self::CustomRole)
        } else {
            None
        }
    }

    pub fn of(role: &RoleDefinition) -> Self {
        if role.is_built_in {
            Self::BuiltInRole
        } else {
            Self::CustomRole
        }
    }
}

/// What a role-definition list asks for: ARM's `$filter` (`roleName eq '...'`,
/// `type eq 'CustomRole'`, `atScopeAndBelow()`) at a scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleDefinitionQuery {
    pub role_name: Option<String>,
    pub role_type: Option<AzureRoleType>,
    /// `atScopeAndBelow()`: also the roles assignable only below the scope.
    pub at_scope_and_below: bool,
}

impl RoleDefinitionQuery {
    /// Does ARM list `role` at `scope` (`None`: the tenant root, `/providers/...`)?
    ///
    /// At a scope ARM lists "all role definitions applicable at scope and above": those with an
    /// assignable scope at or above it (built-ins, assignable at `/`, everywhere);
    /// `atScopeAndBelow()` adds those assignable below it. At the tenant root every role is
    /// listed: Microsoft's docs list the tenant's custom roles there
    /// (`GET /providers/Microsoft.Authorization/roleDefinitions?$filter=type+eq+'CustomRole'`).
    /// Role names compare case-insensitively, as ARM's uniqueness does.
    pub fn lists<H: ScopeHierarchy + ?Sized>(
        &self,
        role: &RoleDefinition,
        scope: Option<&ArmScope>,
        hierarchy: &H,
    ) -> bool {
        if role.dialect != PermissionDialect::Azure {
            return false;
        }
        if self.role_name.as_deref().is_some_and(|n| !same_role_name(n, &role.display_name)) {
            return false;
        }
        if self.role_type.is_some_and(|t| t != AzureRoleType::of(role)) {
            return false;
        }
        let Some(scope) = scope else { return true };
        if assignable_at(role, scope, hierarchy) {
            return true;
        }
        self.at_scope_and_below && assignable_arm_scopes(role).iter().any(|a| scope.covers(a, hierarchy))
    }
}

/// ARM compares role names case-insensitively (one name per tenant, whatever its case).
pub fn same_role_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// The key a role name is unique by among Azure roles.
pub fn role_name_key(name: &str) -> String {
    name.to_lowercase()
}

/// A custom role as `PUT {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}` sends
/// it, read from the body by the wire layer.
#[derive(Debug, Clone)]
pub struct CustomRoleWrite {
    /// The GUID in the path: the role's identity.
    pub id: ObjectId,
    /// The scope the PUT was sent at; `None` for the tenant-level form
    /// (`/providers/Microsoft.Authorization/roleDefinitions/{id}`).
    pub scope: Option<ArmScope>,
    pub role_name: String,
    pub description: String,
    /// `properties.type` if the body sent one: only `CustomRole` can be written.
    pub role_type: Option<String>,
    pub assignable_scopes: Vec<String>,
    pub permissions: Vec<RolePermission>,
}

impl CustomRoleWrite {
    /// The role this PUT stores, given the role already under its id (if any), checked by every
    /// rule that needs no store: the catalog's custom-role rules, assignable scopes that parse
    /// as ARM scopes (kept in canonical text, duplicates dropped), the PUT's scope among them, no
    /// conditions, and built-in or directory roles not writable.
    pub fn build(
        self,
        existing: Option<&RoleDefinition>,
        caller: ObjectId,
        now: Instant,
    ) -> DomainResult<RoleDefinition> {
        if let Some(existing) = existing {
            check_writable(existing)?;
        }
        if let Some(t) = self.role_type.as_deref() {
            if AzureRoleType::parse(t) != Some(AzureRoleType::CustomRole) {
                // No source gives ARM's code; named after the property.
                return Err(DomainError::invalid(
                    "InvalidRoleDefinitionType",
                    format!("The role definition type '{t}' cannot be written: only '{CUSTOM_ROLE_TYPE}' roles can be created or updated."),
                ));
            }
        }
        if self.permissions.iter().any(|p| p.condition.is_some() || p.condition_version.is_some()) {
            // Only some built-in roles carry ABAC conditions; no source documents them on custom
            // roles. Code: OpenPIM's.
            return Err(DomainError::invalid(
                "InvalidRoleDefinitionPermissions",
                "Conditions on the permissions of a custom role are not supported.",
            ));
        }
        let role_name = self.role_name.trim().to_string();
        let mut role = RoleDefinition {
            id: self.id,
            template_id: self.id,
            display_name: role_name,
            description: self.description,
            is_built_in: false,
            is_enabled: true,
            is_privileged: false,
            version: None,
            dialect: PermissionDialect::Azure,
            role_permissions: self.permissions,
            created: existing.map_or(now, |e| e.created),
            modified: now,
            azure: AzureRoleProperties {
                assignable_scopes: self.assignable_scopes,
                created_by: existing.map_or(Some(caller), |e| e.azure.created_by),
                updated_by: Some(caller),
            },
        };
        azure_catalog::validate_custom_role(&catalog_shape(&role))?;
        role.azure.assignable_scopes = canonical_scopes(&role.azure.assignable_scopes)?;
        if let Some(scope) = &self.scope {
            check_put_scope(&role, scope)?;
        } else {
            return Err(put_scope_error("/"));
        }
        Ok(role)
    }
}

/// Built-in roles and directory roles cannot be written through ARM. No source gives ARM's
/// code for a write to a built-in role; OpenPIM answers `BuiltInRoleDefinitionCannotBeModified`.
pub fn check_writable(existing: &RoleDefinition) -> DomainResult<()> {
    if existing.dialect != PermissionDialect::Azure {
        // A directory role holds this GUID (the two worlds share one id space).
        return Err(DomainError::conflict(
            "RoleDefinitionIdInUse",
            format!("The role definition id '{}' is used by a directory role.", existing.id),
        ));
    }
    if existing.is_built_in {
        return Err(DomainError::invalid(
            "BuiltInRoleDefinitionCannotBeModified",
            format!("'{}' is a built-in role definition and cannot be modified or deleted.", existing.display_name),
        ));
    }
    Ok(())
}

/// The assignable scopes as canonical ARM scope text, duplicates (up to case) dropped, order kept.
fn canonical_scopes(raw: &[String]) -> DomainResult<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for s in raw {
        let scope = ArmScope::parse(s).map_err(|e| {
            // Same code as the catalog's assignable-scope checks (Azure PowerShell's name).
            DomainError::invalid("InvalidAssignableScopes", format!("The assignable scope '{s}' is not valid: {e}."))
        })?;
        if seen.insert(scope.key().to_string()) {
            out.push(scope.as_str().to_string());
        }
    }
    Ok(out)
}

/// Microsoft's REST how-to sends a custom role's PUT at its first assignable scope; a PUT at a
/// scope the role is not assignable at would make a role its writer need not control, so the
/// scope must be one of them. No source gives ARM's code; OpenPIM answers
/// `InvalidRoleDefinitionScope`.
fn check_put_scope(role: &RoleDefinition, scope: &ArmScope) -> DomainResult<()> {
    if assignable_arm_scopes(role).iter().any(|a| a == scope) {
        Ok(())
    } else {
        Err(put_scope_error(scope.as_str()))
    }
}

fn put_scope_error(scope: &str) -> DomainError {
    DomainError::invalid(
        "InvalidRoleDefinitionScope",
        format!(
            "The role definition is written at scope '{scope}', which is not one of its assignable scopes. \
             Send the request at one of the role's assignableScopes."
        ),
    )
}

/// A custom role's name must be unique in the tenant (built-in names are the catalog's check).
pub fn name_taken(role_name: &str) -> DomainError {
    DomainError::conflict(
        "RoleDefinitionWithSameNameExists",
        format!("A role definition with the name '{role_name}' already exists in this directory."),
    )
}

/// "No more role definitions can be created (code: RoleDefinitionLimitExceeded)" (Microsoft's
/// custom-roles troubleshooting). The status is not documented; 400 as for other limits.
pub fn limit_exceeded() -> DomainError {
    DomainError::invalid(
        "RoleDefinitionLimitExceeded",
        format!("Role definition limit exceeded. No more role definitions can be created (at most {MAX_CUSTOM_ROLES} custom roles per tenant)."),
    )
}

/// "There are existing role assignments referencing role (code: RoleDefinitionHasAssignments)".
/// The status is not documented; 409, as ARM answers other deletes refused by dependents.
pub fn has_assignments() -> DomainError {
    DomainError::conflict("RoleDefinitionHasAssignments", "There are existing role assignments referencing role.")
}

#[cfg(test)]
mod tests;
