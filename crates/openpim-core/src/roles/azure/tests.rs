use super::*;
use crate::azure_catalog::builtin_role_by_name;
use crate::scope::{ManagementGroupTree, NoManagementGroups};
use crate::ErrorKind;
use time::macros::datetime;

const NOW: Instant = datetime!(2026-03-01 12:00 UTC);
const SUB: &str = "/subscriptions/9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
const OTHER_SUB: &str = "/subscriptions/11111111-2222-4333-8444-555555555555";
const CALLER: ObjectId = uuid::uuid!("6a7f3c51-0b2e-4d8a-9f1c-2e3d4c5b6a79");

fn arm(s: &str) -> ArmScope {
    ArmScope::parse(s).unwrap()
}

fn write(scope: &str, assignable: &[&str]) -> CustomRoleWrite {
    CustomRoleWrite {
        id: uuid::uuid!("0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f"),
        scope: Some(arm(scope)),
        role_name: "Contributor (JIT)".into(),
        description: "Contributor minus authorization deletes".into(),
        role_type: Some("customrole".into()),
        assignable_scopes: assignable.iter().map(|s| s.to_string()).collect(),
        permissions: vec![RolePermission {
            allowed_resource_actions: vec!["*".into()],
            excluded_resource_actions: vec!["Microsoft.Authorization/*/Delete".into()],
            ..Default::default()
        }],
    }
}

#[test]
fn built_ins_become_azure_roles_assignable_everywhere() {
    let roles = builtin_roles(NOW);
    assert_eq!(roles.len(), 928);
    let owner = roles.iter().find(|r| r.display_name == "Owner").unwrap();
    assert_eq!(owner.id, uuid::uuid!("8e3af657-a8ff-443c-a75c-2fe8c4bcb635"));
    assert_eq!(owner.dialect, PermissionDialect::Azure);
    assert!(owner.is_built_in && owner.is_enabled);
    assert_eq!(role_type(owner), "BuiltInRole");
    assert_eq!(owner.azure.assignable_scopes, ["/"]);
    assert!(assignable_at(owner, &arm(&format!("{SUB}/resourceGroups/rg")), &NoManagementGroups));
    // The catalog shape round-trips exactly, conditions included.
    for def in crate::azure_catalog::builtin_roles() {
        assert_eq!(&catalog_shape(&from_catalog(def, NOW)), def, "{}", def.role_name);
    }
    let stored = from_catalog(builtin_role_by_name("Reader").unwrap(), NOW);
    let mut changed = stored.clone();
    assert!(same_as_catalog(&stored, &changed));
    changed.role_permissions[0].allowed_resource_actions.push("x".into());
    assert!(!same_as_catalog(&changed, &stored));
}

#[test]
fn a_custom_role_is_built_with_canonical_scopes_and_its_author() {
    let rg = format!("{SUB}/resourcegroups/Prod");
    let role = write(SUB, &[SUB, &rg, &SUB.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions")])
        .build(None, CALLER, NOW)
        .unwrap();
    assert!(!role.is_built_in);
    assert_eq!(role.dialect, PermissionDialect::Azure);
    assert_eq!(role.display_name, "Contributor (JIT)");
    // Canonical keyword spelling, names as given, case-insensitive duplicates dropped.
    assert_eq!(role.azure.assignable_scopes, [SUB.to_string(), format!("{SUB}/resourceGroups/Prod")]);
    assert_eq!((role.azure.created_by, role.azure.updated_by), (Some(CALLER), Some(CALLER)));
    assert_eq!((role.created, role.modified), (NOW, NOW));

    // An update keeps the creation facts and records the updater.
    let later = NOW + time::Duration::hours(1);
    let other = uuid::uuid!("3f2e1d0c-9b8a-4766-8544-332211009988");
    let updated = write(SUB, &[SUB]).build(Some(&role), other, later).unwrap();
    assert_eq!((updated.created, updated.modified), (NOW, later));
    assert_eq!((updated.azure.created_by, updated.azure.updated_by), (Some(CALLER), Some(other)));
}

#[test]
fn the_put_scope_must_be_an_assignable_scope() {
    let e = write(OTHER_SUB, &[SUB]).build(None, CALLER, NOW).unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::Invalid, "InvalidRoleDefinitionScope"));
    let mut tenant_level = write(SUB, &[SUB]);
    tenant_level.scope = None;
    assert_eq!(tenant_level.build(None, CALLER, NOW).unwrap_err().code, "InvalidRoleDefinitionScope");
    // Case does not matter.
    assert!(write(&SUB.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions"), &[SUB])
        .build(None, CALLER, NOW)
        .is_ok());
}

#[test]
fn catalog_rules_and_write_rules_refuse() {
    let e = write(SUB, &["/"]).build(None, CALLER, NOW).unwrap_err();
    assert_eq!(e.code, "InvalidAssignableScopes");
    let e = write(SUB, &[SUB, "/subscriptions/not-a-guid"]).build(None, CALLER, NOW).unwrap_err();
    assert_eq!(e.code, "InvalidAssignableScopes");
    assert!(e.message.contains("not-a-guid"), "{e}");

    let mut bad_action = write(SUB, &[SUB]);
    bad_action.permissions[0].allowed_resource_actions = vec!["Microsoft.Nothing/things/read".into()];
    assert_eq!(bad_action.build(None, CALLER, NOW).unwrap_err().code, "InvalidActionOrNotAction");

    let mut builtin_name = write(SUB, &[SUB]);
    builtin_name.role_name = "reader".into();
    let e = builtin_name.build(None, CALLER, NOW).unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::Conflict, "RoleDefinitionWithSameNameExists"));

    let mut built_in_type = write(SUB, &[SUB]);
    built_in_type.role_type = Some("BuiltInRole".into());
    assert_eq!(built_in_type.build(None, CALLER, NOW).unwrap_err().code, "InvalidRoleDefinitionType");

    let mut with_condition = write(SUB, &[SUB]);
    with_condition.permissions[0].condition = Some("@Resource[x] StringEquals 'y'".into());
    assert_eq!(with_condition.build(None, CALLER, NOW).unwrap_err().code, "InvalidRoleDefinitionPermissions");

    let owner = from_catalog(builtin_role_by_name("Owner").unwrap(), NOW);
    let e = write(SUB, &[SUB]).build(Some(&owner), CALLER, NOW).unwrap_err();
    assert_eq!(e.code, "BuiltInRoleDefinitionCannotBeModified");
    let directory = &crate::catalog::builtin_roles(NOW)[0];
    let e = write(SUB, &[SUB]).build(Some(directory), CALLER, NOW).unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::Conflict, "RoleDefinitionIdInUse"));
}

#[test]
fn lists_follow_assignable_scopes_up_and_optionally_down() {
    let rg = format!("{SUB}/resourceGroups/Prod");
    let at_rg = write(&rg, &[&rg]).build(None, CALLER, NOW).unwrap();
    let reader = from_catalog(builtin_role_by_name("Reader").unwrap(), NOW);
    let plain = RoleDefinitionQuery::default();
    let below = RoleDefinitionQuery { at_scope_and_below: true, ..Default::default() };
    let h = NoManagementGroups;
    // At the resource group and below it: listed; at the subscription only with atScopeAndBelow().
    assert!(plain.lists(&at_rg, Some(&arm(&rg)), &h));
    assert!(plain.lists(&at_rg, Some(&arm(&format!("{rg}/providers/Microsoft.Compute/virtualMachines/vm1"))), &h));
    assert!(!plain.lists(&at_rg, Some(&arm(SUB)), &h));
    assert!(below.lists(&at_rg, Some(&arm(SUB)), &h));
    assert!(!below.lists(&at_rg, Some(&arm(OTHER_SUB)), &h));
    // Built-ins everywhere; everything at the tenant root.
    assert!(plain.lists(&reader, Some(&arm(OTHER_SUB)), &h));
    assert!(plain.lists(&at_rg, None, &h));

    let custom_only = RoleDefinitionQuery { role_type: Some(AzureRoleType::CustomRole), ..Default::default() };
    assert!(custom_only.lists(&at_rg, None, &h) && !custom_only.lists(&reader, None, &h));
    let by_name = RoleDefinitionQuery { role_name: Some("READER".into()), ..Default::default() };
    assert!(by_name.lists(&reader, None, &h) && !by_name.lists(&at_rg, None, &h));
    // Directory roles are never listed by ARM.
    assert!(!plain.lists(&crate::catalog::builtin_roles(NOW)[0], None, &h));
}

#[test]
fn management_groups_cover_their_subscriptions_in_lists() {
    let group = "/providers/Microsoft.Management/managementGroups/marketing";
    let mut tree = ManagementGroupTree::new();
    tree.set_parent(&arm(SUB), Some(arm(group))).unwrap();
    let at_group = write(group, &[group]).build(None, CALLER, NOW).unwrap();
    let plain = RoleDefinitionQuery::default();
    assert!(plain.lists(&at_group, Some(&arm(SUB)), &tree));
    assert!(!plain.lists(&at_group, Some(&arm(SUB)), &NoManagementGroups));
    assert!(assignable_at(&at_group, &arm(&format!("{SUB}/resourceGroups/x")), &tree));
}

#[test]
fn role_type_filters_parse_case_insensitively() {
    assert_eq!(AzureRoleType::parse("customrole"), Some(AzureRoleType::CustomRole));
    assert_eq!(AzureRoleType::parse("BuiltInRole"), Some(AzureRoleType::BuiltInRole));
    assert_eq!(AzureRoleType::parse("Custom"), None);
}

/// The walk-through: a copy of Contributor (every block as the catalog has it) plus
/// `Microsoft.Authorization/*/Delete` passes the custom-role rules.
#[test]
fn a_copy_of_contributor_is_a_valid_custom_role() {
    let contributor = from_catalog(builtin_role_by_name("Contributor").unwrap(), NOW);
    let mut copy = write(SUB, &[SUB]);
    copy.permissions = contributor.role_permissions.clone();
    copy.permissions[0].excluded_resource_actions.push("Microsoft.Authorization/*/Delete".into());
    let role = copy.build(None, CALLER, NOW).unwrap();
    assert_eq!(role.role_permissions[0].allowed_resource_actions, ["*"]);
}
