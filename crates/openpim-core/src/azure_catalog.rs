//! The Azure (ARM `Microsoft.Authorization`) side of the catalog: the 928 built-in Azure roles,
//! every resource-provider operation, ARM's permission-pattern wildcards and the checks ARM runs
//! on a custom role definition.
//!
//! This is data and pure functions only: nothing here knows scopes' hierarchy, assignments or
//! the access index. Issue #15 plugs it into the matcher. The data files under
//! `data/azure/` come from `az role definition list` and `az provider operation list`; see
//! `data/README.md` for provenance and how to refresh them.

mod custom_role;
mod operations;
mod pattern;
mod roles;

pub use custom_role::{
    check_assignment_at_management_group, validate_custom_role, MAX_ASSIGNABLE_SCOPES, MAX_DESCRIPTION_CHARS,
    MAX_ROLE_NAME_CHARS,
};
pub use operations::{expand, is_known_action, is_known_data_action, operations, OperationKind};
pub use pattern::pattern_matches;
pub use roles::{
    builtin_role_by_id, builtin_role_by_name, builtin_roles, AzurePermission, AzureRoleDefinition, BUILT_IN_ROLE_TYPE,
    CUSTOM_ROLE_TYPE,
};
