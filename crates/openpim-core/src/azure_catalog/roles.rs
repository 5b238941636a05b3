//! The built-in Azure roles, typed, parsed once from `data/azure/builtin-roles.json`.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

const BUILTIN_ROLES_JSON: &str = include_str!("../../data/azure/builtin-roles.json");

/// ARM's `properties.type` of a built-in role definition.
pub const BUILT_IN_ROLE_TYPE: &str = "BuiltInRole";
/// ARM's `properties.type` of a custom role definition.
pub const CUSTOM_ROLE_TYPE: &str = "CustomRole";

/// An Azure role definition (`Microsoft.Authorization/roleDefinitions`), in the field names of
/// `az role definition list`, the shape the data file has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureRoleDefinition {
    /// The role definition's GUID (ARM's `name`), the same in every tenant for built-in roles.
    #[serde(rename = "name")]
    pub id: uuid::Uuid,
    pub role_name: String,
    pub description: String,
    /// [`BUILT_IN_ROLE_TYPE`] or [`CUSTOM_ROLE_TYPE`].
    pub role_type: String,
    pub assignable_scopes: Vec<String>,
    pub permissions: Vec<AzurePermission>,
}

/// One permission block of a role: what it grants is `actions − notActions` on the control
/// plane and `dataActions − notDataActions` on the data plane (`not*` are exclusions, not
/// denies).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzurePermission {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
    /// An ABAC condition limiting the block (a few built-in roles have one), kept verbatim.
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub condition_version: Option<String>,
}

#[derive(Deserialize)]
struct CatalogFile {
    roles: Vec<AzureRoleDefinition>,
}

struct Catalog {
    /// Sorted by role name, as in the file.
    roles: Vec<AzureRoleDefinition>,
    by_id: HashMap<uuid::Uuid, usize>,
    /// Keyed by the lower-cased name: ARM compares role names case-insensitively.
    by_name: HashMap<String, usize>,
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // The file is compiled in and checked by the tests below, so a parse failure is a build
        // defect, not something a running service can meet.
        let file: CatalogFile =
            serde_json::from_str(BUILTIN_ROLES_JSON).expect("data/azure/builtin-roles.json is valid");
        let roles = file.roles;
        let by_id = roles.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        let by_name = roles.iter().enumerate().map(|(i, r)| (r.role_name.to_lowercase(), i)).collect();
        Catalog { roles, by_id, by_name }
    })
}

/// Every built-in Azure role, sorted by name.
pub fn builtin_roles() -> &'static [AzureRoleDefinition] {
    &catalog().roles
}

/// The built-in role with this GUID.
pub fn builtin_role_by_id(id: uuid::Uuid) -> Option<&'static AzureRoleDefinition> {
    let catalog = catalog();
    catalog.by_id.get(&id).map(|&i| &catalog.roles[i])
}

/// The built-in role with this name, compared case-insensitively as ARM compares role names.
pub fn builtin_role_by_name(role_name: &str) -> Option<&'static AzureRoleDefinition> {
    let catalog = catalog();
    catalog.by_name.get(&role_name.to_lowercase()).map(|&i| &catalog.roles[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure_catalog::{is_known_action, is_known_data_action};
    use std::collections::BTreeSet;

    /// Microsoft's docs (`Get-AzRoleDefinition Owner`, the role-assignment REST samples) give
    /// this id, as the data does.
    const OWNER: uuid::Uuid = uuid::uuid!("8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
    const CONTRIBUTOR: uuid::Uuid = uuid::uuid!("b24988ac-6180-42a0-ab88-20f7382dd24c");
    const READER: uuid::Uuid = uuid::uuid!("acdd72a7-3385-48ef-bd42-f606fba81ae7");
    const USER_ACCESS_ADMINISTRATOR: uuid::Uuid = uuid::uuid!("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9");
    const RBAC_ADMINISTRATOR: uuid::Uuid = uuid::uuid!("f58310d9-a9f6-439a-9e8d-f62e7b41a168");

    #[test]
    fn all_928_roles_load_with_unique_ids_and_names() {
        let roles = builtin_roles();
        assert_eq!(roles.len(), 928);
        assert_eq!(catalog().by_id.len(), roles.len(), "duplicate role GUIDs");
        assert_eq!(catalog().by_name.len(), roles.len(), "role names equal up to case");
        for r in roles {
            assert_eq!(r.role_type, BUILT_IN_ROLE_TYPE, "{}", r.role_name);
            assert_eq!(r.assignable_scopes, ["/"], "{}", r.role_name);
            assert!(!r.permissions.is_empty(), "{} grants nothing", r.role_name);
        }
    }

    #[test]
    fn well_known_roles_have_their_documented_ids() {
        for (id, name) in [
            (OWNER, "Owner"),
            (CONTRIBUTOR, "Contributor"),
            (READER, "Reader"),
            (USER_ACCESS_ADMINISTRATOR, "User Access Administrator"),
            (RBAC_ADMINISTRATOR, "Role Based Access Control Administrator"),
        ] {
            let role = builtin_role_by_id(id).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(role.role_name, name);
            assert_eq!(builtin_role_by_name(name).map(|r| r.id), Some(id));
            assert_eq!(builtin_role_by_name(&name.to_uppercase()).map(|r| r.id), Some(id), "case-insensitive");
        }
        assert!(builtin_role_by_name("Owner ").is_none(), "names match exactly, only case is folded");
        assert!(builtin_role_by_id(uuid::Uuid::nil()).is_none());
    }

    #[test]
    fn owner_grants_everything_and_contributor_cannot_grant_access() {
        let owner = builtin_role_by_id(OWNER).unwrap();
        assert_eq!(owner.permissions.len(), 1);
        assert_eq!(owner.permissions[0].actions, ["*"]);
        assert!(owner.permissions[0].not_actions.is_empty());

        let contributor = &builtin_role_by_id(CONTRIBUTOR).unwrap().permissions[0];
        assert_eq!(contributor.actions, ["*"]);
        for excluded in ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"] {
            assert!(contributor.not_actions.iter().any(|a| a == excluded), "Contributor lacks {excluded}");
        }

        let reader = &builtin_role_by_id(READER).unwrap().permissions[0];
        assert_eq!(reader.actions, ["*/read"]);
    }

    #[test]
    fn conditions_are_kept() {
        let with_condition: Vec<_> = builtin_roles()
            .iter()
            .filter(|r| r.permissions.iter().any(|p| p.condition.is_some()))
            .map(|r| r.role_name.as_str())
            .collect();
        assert!(with_condition.contains(&"Key Vault Data Access Administrator"), "{with_condition:?}");
        for r in builtin_roles() {
            for p in &r.permissions {
                assert_eq!(p.condition.is_some(), p.condition_version.is_some(), "{}", r.role_name);
            }
        }
    }

    /// The distinct (lower-cased) non-wildcard entries of built-in roles that the operations
    /// snapshot does not register, per plane.
    fn unregistered_builtin_operations() -> (BTreeSet<String>, BTreeSet<String>) {
        let (mut actions, mut data_actions) = (BTreeSet::new(), BTreeSet::new());
        for p in builtin_roles().iter().flat_map(|r| &r.permissions) {
            for a in p.actions.iter().chain(&p.not_actions).filter(|a| !a.contains('*')) {
                if !is_known_action(a) {
                    actions.insert(a.to_lowercase());
                }
            }
            for a in p.data_actions.iter().chain(&p.not_data_actions).filter(|a| !a.contains('*')) {
                if !is_known_data_action(a) {
                    data_actions.insert(a.to_lowercase());
                }
            }
        }
        (actions, data_actions)
    }

    #[test]
    fn built_in_operations_are_registered_except_the_snapshot_gap() {
        // The two files are separate `az` snapshots, and Microsoft's built-in roles still name
        // operations of retired providers (Microsoft.MixedReality, Microsoft.ClassicStorage, ...)
        // or operations the provider no longer lists. data/README.md documents the gap; these
        // counts pin it so a refresh that widens it is looked at.
        let (actions, data_actions) = unregistered_builtin_operations();
        assert_eq!(actions.len(), 120, "{actions:#?}");
        assert_eq!(data_actions.len(), 51, "{data_actions:#?}");
        // No built-in role puts an operation in the wrong plane: every gap entry is unknown to
        // both planes, not a data action listed as an action or the reverse.
        for a in &actions {
            assert!(!is_known_data_action(a), "{a} is a data action in actions");
        }
        for a in &data_actions {
            assert!(!is_known_action(a), "{a} is a control-plane action in dataActions");
        }
        // The roles this module's callers lean on are complete.
        for id in [OWNER, CONTRIBUTOR, READER, USER_ACCESS_ADMINISTRATOR, RBAC_ADMINISTRATOR] {
            for p in &builtin_role_by_id(id).unwrap().permissions {
                for a in p.actions.iter().chain(&p.not_actions).filter(|a| !a.contains('*')) {
                    assert!(is_known_action(a), "{a}");
                }
            }
        }
    }
}
