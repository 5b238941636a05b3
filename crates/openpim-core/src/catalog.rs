//! The built-in Entra role catalog (real template ids) and the custom-role action namespace.
//!
//! The data files under `data/` are taken from Microsoft's public permissions reference; see
//! `data/README.md` for provenance and how to regenerate them.

use crate::roles::{PermissionDialect, RoleDefinition, RolePermission};
use crate::{Instant, ObjectId};
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::OnceLock;

pub const GLOBAL_ADMINISTRATOR: ObjectId = uuid::uuid!("62e90394-69f5-4237-9190-012177145e10");
pub const PRIVILEGED_ROLE_ADMINISTRATOR: ObjectId = uuid::uuid!("e8611ab8-c189-46e8-94e1-60213ab1f814");
pub const GLOBAL_READER: ObjectId = uuid::uuid!("f2ef992c-3afb-46b9-b7cf-a126ee74c451");
pub const DIRECTORY_READERS: ObjectId = uuid::uuid!("88d8e3e3-8f55-4a1e-953a-9b9898b8876b");
pub const USER_ADMINISTRATOR: ObjectId = uuid::uuid!("fe930be7-5e62-47db-91af-98c3a49a38b1");
pub const HELPDESK_ADMINISTRATOR: ObjectId = uuid::uuid!("729827e3-9c14-49f7-bb1b-9608f156bbb8");
pub const GROUPS_ADMINISTRATOR: ObjectId = uuid::uuid!("fdd7a751-b60b-444a-984c-02652fe8fa1c");

const BUILTIN_ROLES_JSON: &str = include_str!("../data/builtin_roles.json");
const CUSTOM_ROLE_ACTIONS: &str = include_str!("../data/custom_role_actions.txt");

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CatalogEntry {
    id: ObjectId,
    display_name: String,
    description: String,
    allowed_resource_actions: Vec<String>,
    #[serde(default)]
    is_privileged: bool,
    /// The built-in roles whose permissions this one inherits, where Microsoft documents it.
    #[serde(default)]
    inherits_permissions_from: Vec<ObjectId>,
}

fn entries() -> &'static [CatalogEntry] {
    static ENTRIES: OnceLock<Vec<CatalogEntry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        // The file is compiled in and checked by a unit test, so a parse failure is a build defect.
        serde_json::from_str(BUILTIN_ROLES_JSON).expect("data/builtin_roles.json is valid")
    })
}

/// Every built-in role, as role definitions created at `now`.
pub fn builtin_roles(now: Instant) -> Vec<RoleDefinition> {
    entries()
        .iter()
        .map(|e| RoleDefinition {
            id: e.id,
            template_id: e.id,
            display_name: e.display_name.clone(),
            description: e.description.clone(),
            is_built_in: true,
            is_enabled: true,
            is_privileged: e.is_privileged,
            version: Some("1".to_string()),
            dialect: PermissionDialect::Directory,
            role_permissions: vec![RolePermission {
                allowed_resource_actions: e.allowed_resource_actions.clone(),
                ..Default::default()
            }],
            created: now,
            modified: now,
            azure: Default::default(),
        })
        .collect()
}

/// The built-in roles `template_id` inherits permissions from (Graph's
/// `unifiedRoleDefinition.inheritsPermissionsFrom`). Only built-in roles inherit, so any other id
/// (a custom role) gets the empty list.
pub fn inherits_permissions_from(template_id: ObjectId) -> &'static [ObjectId] {
    entries().iter().find(|e| e.id == template_id).map_or(&[], |e| e.inherits_permissions_from.as_slice())
}

/// The directory-object action namespace custom roles may use: every `microsoft.directory/...`
/// action Entra documents, i.e. the union of the built-in roles' actions and the custom-role
/// pages' lists (plus the actions Microsoft's own role-definition examples use; see
/// `data/README.md`). Computed once, lower-cased, from the compiled-in data.
fn custom_actions() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let listed = CUSTOM_ROLE_ACTIONS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
        let built_in = entries().iter().flat_map(|e| e.allowed_resource_actions.iter().map(String::as_str));
        listed.chain(built_in).map(str::to_ascii_lowercase).filter(|a| a.starts_with(DIRECTORY_NAMESPACE)).collect()
    })
}

/// Custom directory roles hold only actions on directory objects.
const DIRECTORY_NAMESPACE: &str = "microsoft.directory/";

/// Is `action` one Entra documents for directory objects, and so allowed in a custom role?
pub fn is_custom_role_action(action: &str) -> bool {
    custom_actions().contains(&action.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_the_well_known_roles_with_real_ids() {
        let now = time::macros::datetime!(2026-01-01 00:00 UTC);
        let roles = builtin_roles(now);
        assert!(roles.len() >= 60, "only {} built-in roles", roles.len());
        let ids: HashSet<_> = roles.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), roles.len(), "duplicate template ids");
        for (id, name) in [
            (GLOBAL_ADMINISTRATOR, "Global Administrator"),
            (PRIVILEGED_ROLE_ADMINISTRATOR, "Privileged Role Administrator"),
            (GLOBAL_READER, "Global Reader"),
            (USER_ADMINISTRATOR, "User Administrator"),
            (HELPDESK_ADMINISTRATOR, "Helpdesk Administrator"),
            (GROUPS_ADMINISTRATOR, "Groups Administrator"),
        ] {
            let r = roles.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(r.display_name, name);
            assert!(r.is_built_in);
        }
        for r in &roles {
            for a in &r.role_permissions[0].allowed_resource_actions {
                assert!(a.starts_with("microsoft."), "{}: {a}", r.display_name);
            }
        }
    }

    #[test]
    fn documented_inheritance_points_at_built_in_roles() {
        let directory_readers = uuid::uuid!("88d8e3e3-8f55-4a1e-953a-9b9898b8876b");
        assert_eq!(inherits_permissions_from(GROUPS_ADMINISTRATOR), &[directory_readers]);
        assert_eq!(inherits_permissions_from(HELPDESK_ADMINISTRATOR), &[directory_readers]);
        assert!(inherits_permissions_from(GLOBAL_ADMINISTRATOR).is_empty());
        assert!(inherits_permissions_from(ObjectId::new_v4()).is_empty());
        let ids: HashSet<_> = entries().iter().map(|e| e.id).collect();
        for e in entries() {
            for parent in &e.inherits_permissions_from {
                assert!(ids.contains(parent), "{} inherits from unknown {parent}", e.display_name);
                assert_ne!(*parent, e.id, "{} inherits from itself", e.display_name);
            }
        }
    }

    #[test]
    fn custom_action_namespace_is_loaded() {
        assert!(is_custom_role_action("microsoft.directory/applications/basic/update"));
        assert!(is_custom_role_action("Microsoft.Directory/Applications/Basic/Update"));
        assert!(!is_custom_role_action(""));
    }

    #[test]
    fn custom_action_namespace_is_the_union_of_the_documented_actions() {
        // Graph's create-roleDefinition example (and Entra PowerShell's tests) use this one.
        assert!(is_custom_role_action("microsoft.directory/applications/basic/read"));
        // Every directory action a built-in role holds is documented, hence allowed ...
        for role in entries() {
            for a in role.allowed_resource_actions.iter().filter(|a| a.starts_with(DIRECTORY_NAMESPACE)) {
                assert!(is_custom_role_action(a), "{}: {a}", role.display_name);
            }
        }
        assert!(is_custom_role_action("microsoft.directory/roleAssignments/allProperties/allTasks"));
        // ... but actions outside the directory namespace, and made-up ones, are not.
        assert!(!is_custom_role_action("microsoft.office365.supportTickets/allEntities/allTasks"));
        assert!(!is_custom_role_action("microsoft.directory/applications/bogus/read"));
        assert!(!is_custom_role_action("microsoft.directory/*"));
    }
}
