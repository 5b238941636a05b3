//! The checks ARM runs on a custom Azure role definition before it stores it.
//!
//! Only documented rules are implemented. The rules come from Microsoft's "Azure custom roles"
//! page (MicrosoftDocs/azure-docs, `articles/role-based-access-control/custom-roles.md`,
//! ms.date 11/15/2023, sections "Custom role properties" and "Custom role limits"), also
//! summarised in `/work/shared/azure/arm-pim-api.md` §3. The one exception is "a role must grant
//! something", which Azure PowerShell checks before calling ARM (see `check_permissions`).
//! Rules that need the store (a name unique among the tenant's custom roles, at most 5,000 of
//! them, write rights on every assignable scope, no delete while assigned) are the caller's:
//! issue #15.
//!
//! Error codes: `InvalidActionOrNotAction` (with ARM's message text) and
//! `RoleDefinitionWithSameNameExists` (409) are the codes ARM returns, seen in captured ARM
//! responses and in the Azure SDK's own tests. For the other rules no source gives ARM's code;
//! the codes used are Azure PowerShell's names for the same client-side checks
//! (`InvalidAssignableScopes`, `InvalidActions`, `InvalidRoleDefinitionName`,
//! `InvalidRoleDefinitionDescription`) or, for data actions, named after the action code
//! (`InvalidDataActionOrNotDataAction`). Each such place says so.

use super::operations::{is_known_action, is_known_data_action};
use super::roles::{builtin_role_by_name, AzureRoleDefinition, CUSTOM_ROLE_TYPE};
use crate::error::{DomainError, DomainResult};

/// "Custom role properties": a role name is at most 512 characters.
pub const MAX_ROLE_NAME_CHARS: usize = 512;
/// "Custom role properties": a description is at most 2,048 characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2048;
/// "Custom role properties": at most 2,000 assignable scopes.
pub const MAX_ASSIGNABLE_SCOPES: usize = 2000;

/// How ARM writes a management-group scope; compared case-insensitively like every ARM scope.
const MANAGEMENT_GROUP_SCOPE_PREFIX: &str = "/providers/microsoft.management/managementgroups/";

/// Refuses a custom role ARM would refuse, with the first rule it breaks. Checks the role on
/// its own plus its name against the built-in roles; see the module comment for what is left to
/// the caller.
pub fn validate_custom_role(role: &AzureRoleDefinition) -> DomainResult<()> {
    check_name_and_description(role)?;
    check_permissions(role)?;
    check_assignable_scopes(role)
}

fn check_name_and_description(role: &AzureRoleDefinition) -> DomainResult<()> {
    // "Custom role properties": `Name` (roleName) is required. Code: Azure PowerShell's.
    if role.role_name.trim().is_empty() {
        return Err(DomainError::invalid("InvalidRoleDefinitionName", "The role name must not be empty."));
    }
    if role.role_name.chars().count() > MAX_ROLE_NAME_CHARS {
        return Err(DomainError::invalid(
            "InvalidRoleDefinitionName",
            format!("The role name must be at most {MAX_ROLE_NAME_CHARS} characters."),
        ));
    }
    // "Custom role properties": the name must be unique to the tenant, which holds every
    // built-in role. ARM answers 409 RoleDefinitionWithSameNameExists (Azure SDK for .NET's
    // RoleDefinitionTests assert the code and the Conflict status).
    if let Some(builtin) = builtin_role_by_name(&role.role_name) {
        return Err(DomainError::conflict(
            "RoleDefinitionWithSameNameExists",
            format!("A role definition with the name '{}' already exists in this directory.", builtin.role_name),
        ));
    }
    if role.description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(DomainError::invalid(
            "InvalidRoleDefinitionDescription",
            format!("The description must be at most {MAX_DESCRIPTION_CHARS} characters."),
        ));
    }
    Ok(())
}

fn check_permissions(role: &AzureRoleDefinition) -> DomainResult<()> {
    // Not in Microsoft's docs: Azure PowerShell (Az.Resources' role definition validation)
    // refuses a role with neither `Actions` nor `DataActions` before it calls ARM, so no
    // Microsoft client sends one. Code: Azure PowerShell's.
    let grants_something = role.permissions.iter().any(|p| !p.actions.is_empty() || !p.data_actions.is_empty());
    if !grants_something {
        return Err(DomainError::invalid("InvalidActions", "The role must grant at least one action or data action."));
    }
    for p in &role.permissions {
        for action in p.actions.iter().chain(&p.not_actions) {
            check_operation(action, "InvalidActionOrNotAction", "actions", is_known_action)?;
        }
        for action in p.data_actions.iter().chain(&p.not_data_actions) {
            // ARM's code for an unknown data action is not in any source found; named after
            // the control-plane code.
            check_operation(action, "InvalidDataActionOrNotDataAction", "data actions", is_known_data_action)?;
        }
    }
    Ok(())
}

/// One entry of `actions`/`notActions` (or the data lists): at most one `*` ("Custom role
/// limits": "You can have only one wildcard in an action string"); without one, an operation
/// some provider registers in that plane (so a data action in `actions` is refused, and the
/// reverse). Entries with a wildcard are not checked against the catalog: `*` also covers
/// operations registered later.
fn check_operation(action: &str, code: &'static str, plane: &str, is_known: fn(&str) -> bool) -> DomainResult<()> {
    match action.matches('*').count() {
        // The code ARM uses for a second wildcard is not documented; the list's code is used.
        2.. => {
            Err(DomainError::invalid(code, format!("'{action}' has more than one wildcard (*); only one is allowed.")))
        }
        1 => Ok(()),
        // Message text as ARM writes it for actions (captured ARM responses).
        0 if !is_known(action) => Err(DomainError::invalid(
            code,
            format!("'{action}' does not match any of the {plane} supported by the providers."),
        )),
        0 => Ok(()),
    }
}

fn check_assignable_scopes(role: &AzureRoleDefinition) -> DomainResult<()> {
    // No source gives ARM's code for these; Azure PowerShell calls its own check of them
    // InvalidAssignableScopes.
    let refuse = |message: String| Err(DomainError::invalid("InvalidAssignableScopes", message));
    let scopes = &role.assignable_scopes;
    // "Custom role properties": `AssignableScopes` is required.
    if scopes.is_empty() {
        return refuse("A custom role needs at least one assignable scope.".into());
    }
    if scopes.len() > MAX_ASSIGNABLE_SCOPES {
        return refuse(format!("A custom role can have at most {MAX_ASSIGNABLE_SCOPES} assignable scopes."));
    }
    for scope in scopes {
        // "Custom role limits": "You cannot set `AssignableScopes` to the root scope" ...
        if scope.trim_end_matches('/').is_empty() {
            return refuse("The root scope '/' is reserved for built-in roles.".into());
        }
        // ... "You cannot use wildcards (`*`) in `AssignableScopes`".
        if scope.contains('*') {
            return refuse(format!("The assignable scope '{scope}' contains a wildcard (*)."));
        }
    }
    // "Custom role limits": only one management group in AssignableScopes. A role with
    // DataActions may name one too: only assigning it *at* the management group is refused
    // (`check_assignment_at_management_group`).
    if scopes.iter().filter(|s| is_management_group_scope(s)).count() > 1 {
        return refuse("A custom role can have at most one management group in its assignable scopes.".into());
    }
    Ok(())
}

/// Refuses assigning `role` at a management-group scope when it is a custom role with data
/// actions. "Custom role limits": "Custom roles with `DataActions` can't be assigned at the
/// management group scope", although they may list one management group as assignable and be
/// assigned at its subscriptions. The caller (issue #15's assignment path) knows the scope is a
/// management group. No source gives ARM's code; `InvalidRoleAssignmentScope` is this module's.
pub fn check_assignment_at_management_group(role: &AzureRoleDefinition) -> DomainResult<()> {
    let is_custom = role.role_type.eq_ignore_ascii_case(CUSTOM_ROLE_TYPE);
    if is_custom && role.permissions.iter().any(|p| !p.data_actions.is_empty()) {
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

fn is_management_group_scope(scope: &str) -> bool {
    let lower = scope.to_ascii_lowercase();
    lower.starts_with(MANAGEMENT_GROUP_SCOPE_PREFIX) && lower.len() > MANAGEMENT_GROUP_SCOPE_PREFIX.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure_catalog::AzurePermission;
    use crate::ErrorKind;

    const SUBSCRIPTION: &str = "/subscriptions/00000000-0000-0000-0000-000000000001";
    const MANAGEMENT_GROUP: &str = "/providers/Microsoft.Management/managementGroups/marketing";

    fn permission(actions: &[&str], data_actions: &[&str]) -> AzurePermission {
        AzurePermission {
            actions: actions.iter().map(|a| a.to_string()).collect(),
            data_actions: data_actions.iter().map(|a| a.to_string()).collect(),
            ..AzurePermission::default()
        }
    }

    /// The walk-through: Contributor minus `Microsoft.Authorization/*/Delete`.
    fn custom_contributor() -> AzureRoleDefinition {
        AzureRoleDefinition {
            id: uuid::Uuid::new_v4(),
            role_name: "Contributor (JIT)".into(),
            description: "Contributor for the on-call group".into(),
            role_type: CUSTOM_ROLE_TYPE.into(),
            assignable_scopes: vec![SUBSCRIPTION.into()],
            permissions: vec![AzurePermission {
                not_actions: vec!["Microsoft.Authorization/*/Delete".into()],
                ..permission(&["*"], &[])
            }],
        }
    }

    fn refused_with(role: &AzureRoleDefinition) -> &'static str {
        validate_custom_role(role).expect_err("refused").code
    }

    #[test]
    fn a_well_formed_custom_role_is_accepted() {
        assert_eq!(validate_custom_role(&custom_contributor()), Ok(()));
        let mut exact = custom_contributor();
        exact.permissions = vec![AzurePermission {
            not_data_actions: vec!["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete".into()],
            ..permission(
                &["microsoft.compute/virtualmachines/restart/action", "Microsoft.Network/*/read"],
                &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
            )
        }];
        exact.assignable_scopes = vec![SUBSCRIPTION.into(), format!("{SUBSCRIPTION}/resourceGroups/rg1")];
        assert_eq!(validate_custom_role(&exact), Ok(()));
    }

    #[test]
    fn name_is_required_and_bounded() {
        let mut role = custom_contributor();
        role.role_name = "  ".into();
        assert_eq!(refused_with(&role), "InvalidRoleDefinitionName");
        role.role_name = "n".repeat(MAX_ROLE_NAME_CHARS);
        assert_eq!(validate_custom_role(&role), Ok(()));
        role.role_name.push('n');
        assert_eq!(refused_with(&role), "InvalidRoleDefinitionName");
    }

    #[test]
    fn a_built_in_role_name_is_taken_in_any_case() {
        let mut role = custom_contributor();
        role.role_name = "contributor".into();
        let err = validate_custom_role(&role).unwrap_err();
        assert_eq!((err.code, err.kind), ("RoleDefinitionWithSameNameExists", ErrorKind::Conflict));
        assert!(err.message.contains("'Contributor'"), "{}", err.message);
    }

    #[test]
    fn description_is_bounded() {
        let mut role = custom_contributor();
        role.description = "d".repeat(MAX_DESCRIPTION_CHARS);
        assert_eq!(validate_custom_role(&role), Ok(()));
        role.description.push('d');
        assert_eq!(refused_with(&role), "InvalidRoleDefinitionDescription");
    }

    #[test]
    fn a_role_must_grant_something() {
        let mut role = custom_contributor();
        role.permissions = vec![];
        assert_eq!(refused_with(&role), "InvalidActions");
        // Exclusions alone grant nothing.
        role.permissions = vec![AzurePermission { not_actions: vec!["*/delete".into()], ..Default::default() }];
        assert_eq!(refused_with(&role), "InvalidActions");
        // Data actions alone are a grant.
        role.permissions =
            vec![permission(&[], &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"])];
        assert_eq!(validate_custom_role(&role), Ok(()));
    }

    #[test]
    fn unknown_operations_are_refused_in_every_list() {
        let unknown = "Microsoft.Compute/virtualMachines/fly/action";
        let mut role = custom_contributor();
        role.permissions = vec![permission(&[unknown], &[])];
        let err = validate_custom_role(&role).unwrap_err();
        assert_eq!(err.code, "InvalidActionOrNotAction");
        assert_eq!(err.message, format!("'{unknown}' does not match any of the actions supported by the providers."));

        role.permissions = vec![AzurePermission { not_actions: vec![unknown.into()], ..permission(&["*"], &[]) }];
        assert_eq!(refused_with(&role), "InvalidActionOrNotAction");

        let blob = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";
        role.permissions = vec![permission(&[], &[&format!("{blob}/fly/action")])];
        assert_eq!(refused_with(&role), "InvalidDataActionOrNotDataAction");
        role.permissions = vec![AzurePermission {
            not_data_actions: vec![format!("{blob}/fly/action")],
            ..permission(&[], &[&format!("{blob}/*")])
        }];
        assert_eq!(refused_with(&role), "InvalidDataActionOrNotDataAction");
    }

    #[test]
    fn operations_belong_to_their_plane() {
        let mut role = custom_contributor();
        role.permissions =
            vec![permission(&["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"], &[])];
        assert_eq!(refused_with(&role), "InvalidActionOrNotAction", "a data action in actions");
        role.permissions = vec![permission(&[], &["Microsoft.Compute/virtualMachines/read"])];
        assert_eq!(refused_with(&role), "InvalidDataActionOrNotDataAction", "an action in dataActions");
    }

    #[test]
    fn only_one_wildcard_per_string() {
        let mut role = custom_contributor();
        role.permissions = vec![permission(&["Microsoft.Network/*/subnets/*"], &[])];
        assert_eq!(refused_with(&role), "InvalidActionOrNotAction");
        role.permissions = vec![permission(&[], &["*/blobs/*"])];
        assert_eq!(refused_with(&role), "InvalidDataActionOrNotDataAction");
        // A pattern with one wildcard is not checked against the catalog: it may cover
        // operations registered later.
        role.permissions = vec![permission(&["Contoso.FutureProvider/*"], &[])];
        assert_eq!(validate_custom_role(&role), Ok(()));
    }

    #[test]
    fn assignable_scopes_are_required_and_bounded() {
        let mut role = custom_contributor();
        role.assignable_scopes = vec![];
        assert_eq!(refused_with(&role), "InvalidAssignableScopes");
        role.assignable_scopes =
            (0..MAX_ASSIGNABLE_SCOPES).map(|i| format!("{SUBSCRIPTION}/resourceGroups/rg{i}")).collect();
        assert_eq!(validate_custom_role(&role), Ok(()));
        role.assignable_scopes.push(SUBSCRIPTION.into());
        assert_eq!(refused_with(&role), "InvalidAssignableScopes");
    }

    #[test]
    fn root_and_wildcard_scopes_are_refused() {
        let mut role = custom_contributor();
        for scope in ["/", "//", "/subscriptions/*", "/subscriptions/0000/resourceGroups/rg-*"] {
            role.assignable_scopes = vec![SUBSCRIPTION.into(), scope.into()];
            assert_eq!(refused_with(&role), "InvalidAssignableScopes", "{scope}");
        }
    }

    #[test]
    fn at_most_one_management_group() {
        let mut role = custom_contributor();
        role.assignable_scopes = vec![MANAGEMENT_GROUP.into(), SUBSCRIPTION.into()];
        assert_eq!(validate_custom_role(&role), Ok(()));
        role.assignable_scopes.push("/PROVIDERS/microsoft.management/MANAGEMENTGROUPS/sales".into());
        assert_eq!(refused_with(&role), "InvalidAssignableScopes");
    }

    #[test]
    fn a_role_with_data_actions_may_list_a_management_group_but_not_be_assigned_there() {
        let mut role = custom_contributor();
        role.assignable_scopes = vec![MANAGEMENT_GROUP.into()];
        assert_eq!(check_assignment_at_management_group(&role), Ok(()), "control-plane only");
        role.permissions
            .push(permission(&[], &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]));
        assert_eq!(validate_custom_role(&role), Ok(()), "the definition itself is accepted");
        let err = check_assignment_at_management_group(&role).unwrap_err();
        assert_eq!(err.code, "InvalidRoleAssignmentScope");
        // The rule is about custom roles: built-in roles with data actions are assignable there.
        let blob_owner = builtin_role_by_name("Storage Blob Data Owner").unwrap();
        assert!(!blob_owner.permissions[0].data_actions.is_empty());
        assert_eq!(check_assignment_at_management_group(blob_owner), Ok(()));
    }
}
