//! Role definitions and permission matching.
//!
//! A role definition is a named set of permissions in one of two dialects ([`PermissionDialect`]):
//! Entra resource actions (`microsoft.directory/users/create`) for directory roles, or Azure
//! operations (`Microsoft.Compute/virtualMachines/read`) for Azure resource roles. Built-in roles
//! come from the catalog and are read-only; custom roles are made by admins and may use only the
//! actions Entra allows in custom roles.

use crate::catalog;
use crate::error::{DomainError, DomainResult};
use crate::{Instant, ObjectId};

pub mod azure;

/// One permission block. For directory roles these are Graph's `unifiedRolePermission` fields.
/// For Azure roles they hold ARM's `permissions[]` entry: `actions` and `notActions` are the
/// resource-action lists, `dataActions` and `notDataActions` the data-action lists (always
/// empty for directory roles: Entra has no data plane).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RolePermission {
    pub allowed_resource_actions: Vec<String>,
    pub excluded_resource_actions: Vec<String>,
    pub allowed_data_actions: Vec<String>,
    pub excluded_data_actions: Vec<String>,
    pub condition: Option<String>,
    /// ARM's `conditionVersion` of `condition` (`"2.0"`); Entra has none.
    pub condition_version: Option<String>,
}

/// Which language a role definition's permissions are written in, and so how they match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PermissionDialect {
    /// Entra resource actions, matched by [`action_matches`].
    #[default]
    Directory,
    /// Azure operations, matched by [`operation_matches`]; control and data plane kept apart.
    Azure,
}

/// What an access check asks for. Each kind is answered only by roles of its dialect, and an
/// Azure action never by a data action (nor the other way round).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission<'a> {
    /// An Entra resource action (`microsoft.directory/users/create`).
    Directory(&'a str),
    /// An Azure control-plane operation (`Microsoft.Compute/virtualMachines/start/action`).
    AzureAction(&'a str),
    /// An Azure data-plane operation (`Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read`).
    AzureDataAction(&'a str),
}

impl Permission<'_> {
    pub fn dialect(self) -> PermissionDialect {
        match self {
            Self::Directory(_) => PermissionDialect::Directory,
            Self::AzureAction(_) | Self::AzureDataAction(_) => PermissionDialect::Azure,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Directory(a) | Self::AzureAction(a) | Self::AzureDataAction(a) => a,
        }
    }

    /// Does the granted `pattern` cover this permission, in this permission's dialect?
    pub fn matched_by(self, pattern: &str) -> bool {
        match self {
            Self::Directory(a) => action_matches(pattern, a),
            Self::AzureAction(a) | Self::AzureDataAction(a) => operation_matches(pattern, a),
        }
    }
}

impl RolePermission {
    /// The (allowed, excluded) pattern lists that answer `permission`.
    pub fn lists_for(&self, permission: Permission<'_>) -> (&[String], &[String]) {
        match permission {
            Permission::Directory(_) | Permission::AzureAction(_) => {
                (&self.allowed_resource_actions, &self.excluded_resource_actions)
            }
            Permission::AzureDataAction(_) => (&self.allowed_data_actions, &self.excluded_data_actions),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoleDefinition {
    pub id: ObjectId,
    pub template_id: ObjectId,
    pub display_name: String,
    pub description: String,
    pub is_built_in: bool,
    pub is_enabled: bool,
    pub is_privileged: bool,
    pub version: Option<String>,
    pub dialect: PermissionDialect,
    pub role_permissions: Vec<RolePermission>,
    pub created: Instant,
    pub modified: Instant,
    /// ARM's properties of an Azure role (empty for directory roles).
    pub azure: AzureRoleProperties,
}

/// What ARM keeps of an Azure role definition beyond the common fields: where it may be
/// assigned and who made or last changed it (`createdBy`/`updatedBy`; unset for built-ins).
/// Its `type` is `is_built_in` (`BuiltInRole`/`CustomRole`), `createdOn`/`updatedOn` are
/// `created`/`modified`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AzureRoleProperties {
    /// ARM's `assignableScopes` as stored: `/` for built-in roles, canonical ARM scope text
    /// for custom roles.
    pub assignable_scopes: Vec<String>,
    pub created_by: Option<ObjectId>,
    pub updated_by: Option<ObjectId>,
}

impl RoleDefinition {
    /// True when this role's permissions grant the directory `action` (exclusions win over grants).
    pub fn grants(&self, action: &str) -> bool {
        self.granting_pattern(action).is_some()
    }

    /// The first allowed action pattern that grants the directory `action`, for explanations.
    pub fn granting_pattern(&self, action: &str) -> Option<&str> {
        self.granting_pattern_for(Permission::Directory(action))
    }

    pub fn grants_permission(&self, permission: Permission<'_>) -> bool {
        self.granting_pattern_for(permission).is_some()
    }

    /// The first allowed pattern that grants `permission`, in the role's order: a permission
    /// block grants when one of its allowed patterns matches and none of its excluded ones does
    /// (Azure's "actions minus notActions", evaluated per block as Entra does). A role of the
    /// other dialect, or a disabled role, grants nothing.
    pub fn granting_pattern_for(&self, permission: Permission<'_>) -> Option<&str> {
        if !self.is_enabled || self.dialect != permission.dialect() {
            return None;
        }
        self.role_permissions.iter().find_map(|p| {
            let (allowed, excluded) = p.lists_for(permission);
            if excluded.iter().any(|a| permission.matched_by(a)) {
                return None;
            }
            allowed.iter().find(|a| permission.matched_by(a)).map(String::as_str)
        })
    }
}

/// Does the granted action pattern `pattern` cover the requested `action`?
///
/// Entra's action strings are `namespace/entity[/propertySet]/verb`. Besides exact matches,
/// patterns use three generalisations that we honour:
/// * `*` as a whole segment matches any one segment (`microsoft.directory/*/read`),
///   and a trailing `*` matches the rest;
/// * `.../allProperties/allTasks` covers every action on that entity;
/// * `.../allProperties/read` covers every read of that entity (`.../standard/read`, ...).
///
/// Matching is case-insensitive, as Entra's is.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let a: Vec<&str> = action.split('/').collect();
    if p.len() >= 3 && p[p.len() - 2].eq_ignore_ascii_case("allProperties") {
        let entity = &p[..p.len() - 2];
        let last = p[p.len() - 1];
        if a.len() > entity.len() && segments_match(entity, &a[..entity.len()]) {
            if last.eq_ignore_ascii_case("allTasks") {
                return true;
            }
            if last.eq_ignore_ascii_case("read") {
                return a.last().is_some_and(|v| v.eq_ignore_ascii_case("read"));
            }
        }
    }
    if p.last() == Some(&"*") && a.len() >= p.len() {
        return segments_match(&p[..p.len() - 1], &a[..p.len() - 1]);
    }
    p.len() == a.len() && segments_match(&p, &a)
}

fn segments_match(pattern: &[&str], action: &[&str]) -> bool {
    pattern.iter().zip(action).all(|(p, a)| *p == "*" || p.eq_ignore_ascii_case(a))
}

/// Does the Azure operation pattern cover the operation? The Azure catalog's matcher (one
/// matcher for catalog expansion and access checks): `*` matches any run of characters, `/`
/// included, and the rest compares case-insensitively.
pub use crate::azure_catalog::pattern_matches as operation_matches;

/// Input for a new custom role or an update of one.
#[derive(Debug, Clone, Default)]
pub struct CustomRoleInput {
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_enabled: Option<bool>,
    pub role_permissions: Option<Vec<RolePermission>>,
    pub template_id: Option<ObjectId>,
    pub version: Option<Option<String>>,
}

const MAX_ACTIONS: usize = 400;

/// Validates the permissions of a custom role: at least one allowed action, each of them one
/// that Entra permits in custom roles, no duplicates, and no conditions (unsupported here).
pub fn validate_custom_permissions(perms: &[RolePermission]) -> DomainResult<()> {
    let total: usize = perms.iter().map(|p| p.allowed_resource_actions.len()).sum();
    if perms.is_empty() || total == 0 {
        return Err(DomainError::bad_request(
            "rolePermissions must contain at least one allowedResourceActions entry.",
        ));
    }
    if total > MAX_ACTIONS {
        return Err(DomainError::bad_request(format!(
            "A custom role can contain at most {MAX_ACTIONS} resource actions."
        )));
    }
    for p in perms {
        if p.condition.as_deref().is_some_and(|c| !c.trim().is_empty()) {
            return Err(DomainError::bad_request(
                "Conditions on role permissions are not supported for custom directory roles.",
            ));
        }
        if !p.allowed_data_actions.is_empty() || !p.excluded_data_actions.is_empty() {
            return Err(DomainError::bad_request("Directory roles have no data actions."));
        }
        for action in p.allowed_resource_actions.iter().chain(&p.excluded_resource_actions) {
            if !catalog::is_custom_role_action(action) {
                return Err(DomainError::bad_request(format!(
                    "The resource action '{action}' is not valid for a custom role. Custom roles \
                     may use only the microsoft.directory/... actions that Entra documents."
                )));
            }
        }
    }
    Ok(())
}

fn check_display_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(DomainError::bad_request("displayName is required and must be 1-256 printable characters."));
    }
    Ok(name.to_string())
}

impl CustomRoleInput {
    /// Builds a new custom role. For custom roles Graph shows `templateId == id`.
    pub fn build(self, id: ObjectId, now: Instant) -> DomainResult<RoleDefinition> {
        let display_name = check_display_name(
            self.display_name
                .as_deref()
                .ok_or_else(|| DomainError::bad_request("Property 'displayName' is required."))?,
        )?;
        let role_permissions =
            self.role_permissions.ok_or_else(|| DomainError::bad_request("Property 'rolePermissions' is required."))?;
        validate_custom_permissions(&role_permissions)?;
        Ok(RoleDefinition {
            id,
            template_id: self.template_id.unwrap_or(id),
            display_name,
            description: self.description.flatten().unwrap_or_default(),
            is_built_in: false,
            is_enabled: self.is_enabled.unwrap_or(true),
            is_privileged: false,
            version: self.version.flatten(),
            dialect: PermissionDialect::Directory,
            role_permissions,
            created: now,
            modified: now,
            azure: AzureRoleProperties::default(),
        })
    }

    /// Applies an update; built-in roles are read-only.
    pub fn apply(self, role: &RoleDefinition, now: Instant) -> DomainResult<RoleDefinition> {
        if role.is_built_in {
            return Err(built_in_read_only(role));
        }
        let mut next = role.clone();
        if let Some(name) = self.display_name {
            next.display_name = check_display_name(&name)?;
        }
        if let Some(d) = self.description {
            next.description = d.unwrap_or_default();
        }
        if let Some(e) = self.is_enabled {
            next.is_enabled = e;
        }
        if let Some(perms) = self.role_permissions {
            validate_custom_permissions(&perms)?;
            next.role_permissions = perms;
        }
        if let Some(v) = self.version {
            next.version = v;
        }
        if self.template_id.is_some_and(|t| t != role.template_id) {
            return Err(DomainError::bad_request("templateId cannot be changed."));
        }
        next.modified = now;
        Ok(next)
    }
}

pub fn built_in_read_only(role: &RoleDefinition) -> DomainError {
    DomainError::invalid(
        "Request_BadRequest",
        format!("'{}' is a built-in role definition and cannot be modified or deleted.", role.display_name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_generalised_matches() {
        assert!(action_matches("microsoft.directory/users/create", "microsoft.directory/users/create"));
        assert!(action_matches("microsoft.directory/users/create", "Microsoft.Directory/Users/Create"));
        assert!(!action_matches("microsoft.directory/users/create", "microsoft.directory/users/delete"));
        assert!(action_matches(
            "microsoft.directory/roleAssignments/allProperties/allTasks",
            "microsoft.directory/roleAssignments/standard/read"
        ));
        assert!(!action_matches(
            "microsoft.directory/roleAssignments/allProperties/allTasks",
            "microsoft.directory/roleDefinitions/standard/read"
        ));
        assert!(action_matches(
            "microsoft.directory/users/allProperties/read",
            "microsoft.directory/users/standard/read"
        ));
        assert!(!action_matches(
            "microsoft.directory/users/allProperties/read",
            "microsoft.directory/users/password/update"
        ));
        assert!(action_matches("microsoft.directory/*/read", "microsoft.directory/groups/read"));
        assert!(action_matches("microsoft.office365.*/*", "microsoft.office365.*/anything"));
        assert!(action_matches("microsoft.directory/*", "microsoft.directory/users/password/update"));
        assert!(!action_matches("microsoft.directory/users", "microsoft.directory/users/create"));
    }

    fn role(allowed: &[&str], excluded: &[&str]) -> RoleDefinition {
        let now = time::macros::datetime!(2026-01-01 00:00 UTC);
        RoleDefinition {
            id: ObjectId::new_v4(),
            template_id: ObjectId::new_v4(),
            display_name: "r".into(),
            description: String::new(),
            is_built_in: false,
            is_enabled: true,
            is_privileged: false,
            version: None,
            dialect: PermissionDialect::Directory,
            role_permissions: vec![RolePermission {
                allowed_resource_actions: allowed.iter().map(|s| s.to_string()).collect(),
                excluded_resource_actions: excluded.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }],
            created: now,
            modified: now,
            azure: AzureRoleProperties::default(),
        }
    }

    #[test]
    fn exclusions_win_and_disabled_roles_grant_nothing() {
        let mut r = role(&["microsoft.directory/users/allProperties/allTasks"], &["microsoft.directory/users/delete"]);
        assert!(r.grants("microsoft.directory/users/create"));
        assert!(!r.grants("microsoft.directory/users/delete"));
        assert_eq!(
            r.granting_pattern("microsoft.directory/users/create"),
            Some("microsoft.directory/users/allProperties/allTasks")
        );
        r.is_enabled = false;
        assert!(!r.grants("microsoft.directory/users/create"));
    }

    #[test]
    fn azure_wildcards_match_across_segments_case_insensitively() {
        let yes = [
            ("*", "Microsoft.Compute/virtualMachines/read"),
            ("*/read", "Microsoft.Network/virtualNetworks/subnets/read"),
            ("Microsoft.Compute/*", "Microsoft.Compute/virtualMachines/start/action"),
            ("Microsoft.Network/*/read", "Microsoft.Network/virtualNetworks/subnets/read"),
            ("Microsoft.CostManagement/exports/*", "Microsoft.CostManagement/exports/run/action"),
            ("Microsoft.Authorization/*/Delete", "microsoft.authorization/roleAssignments/delete"),
            ("microsoft.compute/virtualmachines/read", "Microsoft.Compute/virtualMachines/read"),
            ("Microsoft.*/read", "Microsoft.Web/sites/read"),
            ("a*b*c", "a/x/b/y/c"),
            ("a*", "a"),
        ];
        for (pattern, operation) in yes {
            assert!(operation_matches(pattern, operation), "{pattern} should cover {operation}");
        }
        let no = [
            ("*/read", "Microsoft.Compute/virtualMachines/write"),
            ("Microsoft.Compute/*", "Microsoft.ComputeSchedule/actions/read"),
            ("Microsoft.Network/*/read", "Microsoft.Network/virtualNetworks/write"),
            ("Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/read/extra"),
            ("Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines"),
            ("a*b*c", "a/x/b/y/d"),
            ("", "x"),
        ];
        for (pattern, operation) in no {
            assert!(!operation_matches(pattern, operation), "{pattern} must not cover {operation}");
        }
        // `*` in the operation is no wildcard.
        assert!(!operation_matches("Microsoft.Compute/read", "Microsoft.*/read"));
    }

    fn azure_role(permission: RolePermission) -> RoleDefinition {
        let mut r = role(&[], &[]);
        r.dialect = PermissionDialect::Azure;
        r.role_permissions = vec![permission];
        r
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn azure_roles_subtract_not_actions_and_keep_the_planes_apart() {
        // Contributor's shape: everything but authorization writes, no data plane.
        let contributor = azure_role(RolePermission {
            allowed_resource_actions: strings(&["*"]),
            excluded_resource_actions: strings(&[
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
            ]),
            ..Default::default()
        });
        assert!(contributor.grants_permission(Permission::AzureAction("Microsoft.Compute/virtualMachines/write")));
        assert!(
            !contributor.grants_permission(Permission::AzureAction("Microsoft.Authorization/roleAssignments/write"))
        );
        assert!(contributor.grants_permission(Permission::AzureAction("Microsoft.Authorization/roleAssignments/read")));
        // `*` in actions never grants a data action.
        let blob_read = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read";
        assert!(!contributor.grants_permission(Permission::AzureDataAction(blob_read)));
        // Nor does a data action grant the control-plane operation of the same name.
        let reader = azure_role(RolePermission {
            allowed_data_actions: strings(&["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"]),
            excluded_data_actions: strings(&["*/delete"]),
            ..Default::default()
        });
        assert_eq!(
            reader.granting_pattern_for(Permission::AzureDataAction(blob_read)),
            Some("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*")
        );
        assert!(!reader.grants_permission(Permission::AzureAction(blob_read)));
        let blob_delete = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete";
        assert!(!reader.grants_permission(Permission::AzureDataAction(blob_delete)));
        // The dialects never answer for each other.
        assert!(!contributor.grants("microsoft.directory/users/create"));
        let ga_like = role(&["microsoft.directory/*"], &[]);
        assert!(!ga_like.grants_permission(Permission::AzureAction("microsoft.directory/users/create")));
        assert!(ga_like.grants_permission(Permission::Directory("microsoft.directory/users/create")));
    }

    #[test]
    fn custom_roles_reject_unknown_actions_and_empty_permissions() {
        let now = time::macros::datetime!(2026-01-01 00:00 UTC);
        let perms = |a: &str| vec![RolePermission { allowed_resource_actions: vec![a.into()], ..Default::default() }];
        let ok = CustomRoleInput {
            display_name: Some("App support".into()),
            role_permissions: Some(perms("microsoft.directory/applications/basic/update")),
            ..Default::default()
        };
        let r = ok.build(ObjectId::new_v4(), now).unwrap();
        assert_eq!(r.id, r.template_id);
        assert!(!r.is_built_in);
        // roleAssignments/allProperties/allTasks used to be refused here; issue #13: every
        // documented directory action (a built-in role holds this one) is now allowed, and only
        // undocumented or non-directory actions are refused.
        for bad in [
            "microsoft.directory/bogus/thing",
            "not-an-action",
            "microsoft.office365.supportTickets/allEntities/allTasks",
        ] {
            let e = CustomRoleInput {
                display_name: Some("x".into()),
                role_permissions: Some(perms(bad)),
                ..Default::default()
            }
            .build(ObjectId::new_v4(), now)
            .unwrap_err();
            assert!(e.message.contains(bad), "{bad}: {e}");
        }
        let e =
            CustomRoleInput { display_name: Some("x".into()), role_permissions: Some(vec![]), ..Default::default() }
                .build(ObjectId::new_v4(), now)
                .unwrap_err();
        assert!(e.message.contains("at least one"));
    }

    #[test]
    fn built_in_roles_are_read_only() {
        let now = time::macros::datetime!(2026-01-01 00:00 UTC);
        let mut r = role(&["microsoft.directory/users/create"], &[]);
        r.is_built_in = true;
        let e = CustomRoleInput { display_name: Some("x".into()), ..Default::default() }.apply(&r, now).unwrap_err();
        assert!(e.message.contains("built-in"));
    }
}
