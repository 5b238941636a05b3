use super::*;
use crate::change::IndexUpdate;
use crate::scope::{ManagementGroupTree, NoManagementGroups, Scope};
use crate::ErrorKind;
use time::macros::datetime;

const SUB: &str = "/subscriptions/00000000-0000-4000-8000-000000000001";
const MG: &str = "/providers/Microsoft.Management/managementGroups/platform";
const TENANT: Uuid = uuid!("11111111-1111-4111-8111-111111111111");

fn arm(raw: &str) -> ArmScope {
    ArmScope::parse(raw).unwrap()
}

fn builtin_reader() -> AzureRoleFacts {
    AzureRoleFacts {
        id: uuid!("acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        role_name: "Reader".into(),
        is_custom: false,
        assignable_scopes: vec!["/".into()],
        has_data_actions: false,
    }
}

fn custom(assignable: &[&str], has_data_actions: bool) -> AzureRoleFacts {
    AzureRoleFacts {
        id: Uuid::new_v4(),
        role_name: "Contributor (JIT)".into(),
        is_custom: true,
        assignable_scopes: assignable.iter().map(|s| s.to_string()).collect(),
        has_data_actions,
    }
}

fn new_at(scope: &str, role: &AzureRoleFacts, principal: ObjectId) -> NewArmAssignment {
    NewArmAssignment {
        name: Uuid::new_v4(),
        scope: arm(scope),
        role_definition_id: role.id,
        principal_id: principal,
        principal_type: None,
        description: None,
        condition: None,
        condition_version: None,
    }
}

fn facts(role: &AzureRoleFacts) -> AssignmentFacts {
    AssignmentFacts { principal: Some(ObjectKind::User), role: Some(role.clone()), same_name: None, same_trio: None }
}

fn code(r: DomainResult<AssignmentWrite>) -> &'static str {
    r.unwrap_err().code
}

#[test]
fn a_new_assignment_is_created_and_the_same_one_again_is_an_update() {
    let role = builtin_reader();
    let new = new_at(SUB, &role, ObjectId::new_v4());
    assert_eq!(decide_assignment(&new, &facts(&role), TENANT, &NoManagementGroups), Ok(AssignmentWrite::Create));
    let stored = StoredArmAssignment {
        name: new.name,
        // The stored key is lowercase; the request may spell the scope any way.
        scope_key: new.scope.key().to_string(),
        role_definition_id: role.id,
        principal_id: new.principal_id,
        description: None,
    };
    let mut again = new.clone();
    again.scope = arm(&SUB.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions"));
    let f = AssignmentFacts { same_name: Some(stored.clone()), ..facts(&role) };
    assert_eq!(decide_assignment(&again, &f, TENANT, &NoManagementGroups), Ok(AssignmentWrite::Update));
    // The name cannot be pointed at another principal, role or scope.
    let mut other = new.clone();
    other.principal_id = ObjectId::new_v4();
    assert_eq!(code(decide_assignment(&other, &f, TENANT, &NoManagementGroups)), "RoleAssignmentUpdateNotPermitted");
    let mut elsewhere = new.clone();
    elsewhere.scope = arm(&format!("{SUB}/resourceGroups/rg"));
    assert_eq!(
        code(decide_assignment(&elsewhere, &f, TENANT, &NoManagementGroups)),
        "RoleAssignmentUpdateNotPermitted"
    );
}

#[test]
fn the_same_trio_under_another_name_is_a_conflict() {
    let role = builtin_reader();
    let new = new_at(SUB, &role, ObjectId::new_v4());
    let f = AssignmentFacts { same_trio: Some(Uuid::new_v4()), ..facts(&role) };
    let err = decide_assignment(&new, &f, TENANT, &NoManagementGroups).unwrap_err();
    assert_eq!((err.kind, err.code), (ErrorKind::Conflict, "RoleAssignmentExists"));
}

#[test]
fn unknown_principals_roles_and_mismatched_types_are_refused() {
    let role = builtin_reader();
    let principal = ObjectId::new_v4();
    let new = new_at(SUB, &role, principal);
    let err =
        decide_assignment(&new, &AssignmentFacts { principal: None, ..facts(&role) }, TENANT, &NoManagementGroups)
            .unwrap_err();
    assert_eq!((err.kind, err.code), (ErrorKind::Invalid, "PrincipalNotFound"));
    assert!(err.message.contains(&principal.simple().to_string()) && err.message.contains(&TENANT.to_string()));
    let no_role = AssignmentFacts { role: None, ..facts(&role) };
    assert_eq!(code(decide_assignment(&new, &no_role, TENANT, &NoManagementGroups)), "RoleDefinitionDoesNotExist");
    let mut typed = new.clone();
    typed.principal_type = Some(ArmPrincipalType::Group);
    assert_eq!(code(decide_assignment(&typed, &facts(&role), TENANT, &NoManagementGroups)), "UnmatchedPrincipalType");
    typed.principal_type = Some(ArmPrincipalType::User);
    assert!(decide_assignment(&typed, &facts(&role), TENANT, &NoManagementGroups).is_ok());
    assert_eq!("serviceprincipal".parse::<ArmPrincipalType>(), Ok(ArmPrincipalType::ServicePrincipal));
}

#[test]
fn conditions_are_refused_rather_than_stored_unenforced() {
    let role = builtin_reader();
    let mut new = new_at(SUB, &role, ObjectId::new_v4());
    new.condition =
        Some("@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'c'".into());
    new.condition_version = Some("2.0".into());
    assert_eq!(
        code(decide_assignment(&new, &facts(&role), TENANT, &NoManagementGroups)),
        "RoleAssignmentConditionNotSupported"
    );
}

#[test]
fn custom_roles_are_assignable_only_at_or_below_their_assignable_scopes() {
    let role = custom(&[SUB], false);
    let principal = ObjectId::new_v4();
    for ok in [
        SUB.to_string(),
        format!("{SUB}/resourceGroups/RG"),
        format!("{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app"),
    ] {
        assert!(
            decide_assignment(&new_at(&ok, &role, principal), &facts(&role), TENANT, &NoManagementGroups).is_ok(),
            "{ok}"
        );
    }
    let other = "/subscriptions/00000000-0000-4000-8000-000000000002";
    assert_eq!(
        code(decide_assignment(&new_at(other, &role, principal), &facts(&role), TENANT, &NoManagementGroups)),
        "InvalidRoleAssignmentScope"
    );
    // Assignable at a management group: its subscriptions are below it through the hierarchy.
    let at_group = custom(&[MG], false);
    let mut tree = ManagementGroupTree::new();
    assert!(check_assignable_scope(&at_group, &arm(SUB), &tree).is_err());
    tree.set_parent(&arm(SUB), Some(arm(MG))).unwrap();
    assert!(check_assignable_scope(&at_group, &arm(SUB), &tree).is_ok());
    assert!(check_assignable_scope(&at_group, &arm(MG), &tree).is_ok());
    // ... but a custom role with data actions never at the management group itself.
    let data = custom(&[MG], true);
    assert!(check_assignable_scope(&data, &arm(SUB), &tree).is_ok());
    assert_eq!(check_assignable_scope(&data, &arm(MG), &tree).unwrap_err().code, "InvalidRoleAssignmentScope");
    // Built-in roles with data actions may be assigned there.
    let builtin_data = AzureRoleFacts { is_custom: false, assignable_scopes: vec!["/".into()], ..data };
    assert!(check_assignable_scope(&builtin_data, &arm(MG), &tree).is_ok());
    // ARM's root `/`: built-in roles (assignable at "/") may be assigned there, a custom role
    // never, not even one assignable at the top management group.
    let root = ArmScope::root();
    assert!(check_assignable_scope(&builtin_reader(), &root, &tree).is_ok());
    for role in [&at_group, &role] {
        assert_eq!(check_assignable_scope(role, &root, &tree).unwrap_err().code, "InvalidRoleAssignmentScope");
    }
}

#[test]
fn the_last_owner_rule_needs_one_remaining_owner() {
    assert!(check_owner_remains(SUB, 1).is_ok());
    let err = check_owner_remains(SUB, 0).unwrap_err();
    assert_eq!((err.kind, err.code), (ErrorKind::Invalid, "LastOwnerRoleAssignment"));
    assert!(err.message.contains(SUB));
}

#[test]
fn only_global_administrators_elevate() {
    let caller = ObjectId::new_v4();
    assert!(check_may_elevate(true, caller).is_ok());
    let err = check_may_elevate(false, caller).unwrap_err();
    assert_eq!((err.kind, err.code), (ErrorKind::Forbidden, "AuthorizationFailed"));
}

fn azure_role(actions: &[&str], not_actions: &[&str], data: &[&str]) -> RoleDefinition {
    let now = datetime!(2026-01-01 00:00 UTC);
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    RoleDefinition {
        id: ObjectId::new_v4(),
        template_id: ObjectId::new_v4(),
        display_name: "r".into(),
        description: String::new(),
        is_built_in: true,
        is_enabled: true,
        is_privileged: false,
        version: None,
        dialect: PermissionDialect::Azure,
        role_permissions: vec![RolePermission {
            allowed_resource_actions: strings(actions),
            excluded_resource_actions: strings(not_actions),
            allowed_data_actions: strings(data),
            ..Default::default()
        }],
        created: now,
        modified: now,
        azure: Default::default(),
    }
}

fn grant(principal: ObjectId, role: ObjectId, scope: &str) -> crate::access::Grant {
    crate::access::Grant {
        id: ObjectId::new_v4(),
        principal_id: principal,
        role_definition_id: role,
        scope: Scope::Arm(arm(scope)),
        start: None,
        end: None,
        source: crate::access::GrantSource::Assigned,
    }
}

#[test]
fn permissions_list_each_block_in_effect_at_the_scope_and_above() {
    let now = datetime!(2026-01-01 10:00 UTC);
    let mut idx = AccessIndex::new();
    let reader = azure_role(&["*/read"], &[], &[]);
    let blob = azure_role(&[], &[], &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"]);
    let contributor = azure_role(&["*"], &["Microsoft.Authorization/*/Delete"], &[]);
    let (alice, team) = (ObjectId::new_v4(), ObjectId::new_v4());
    for r in [&reader, &blob, &contributor] {
        idx.apply(IndexUpdate::RoleDefinitionSaved(r.clone()));
    }
    idx.apply(IndexUpdate::GroupSaved { group_id: team, is_assignable_to_role: false, is_security_enabled: true });
    idx.apply(IndexUpdate::MemberAdded { group_id: team, member_id: alice });
    let rg = format!("{SUB}/resourceGroups/rg");
    idx.apply(IndexUpdate::GrantAdded(grant(alice, reader.id, SUB)));
    idx.apply(IndexUpdate::GrantAdded(grant(team, blob.id, &rg)));
    idx.apply(IndexUpdate::GrantAdded(grant(alice, contributor.id, &format!("{SUB}/resourceGroups/other"))));
    let at_rg = permissions_at(&idx, alice, &arm(&rg.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions")), now);
    assert_eq!(at_rg.len(), 2, "reader from the subscription, blob data through the group: {at_rg:?}");
    assert!(at_rg.iter().any(|b| b.actions == ["*/read"]));
    assert!(at_rg
        .iter()
        .any(|b| b.data_actions == ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"]));
    let at_sub = permissions_at(&idx, alice, &arm(SUB), now);
    assert_eq!(
        at_sub,
        vec![PermissionBlock {
            actions: vec!["*/read".into()],
            not_actions: vec![],
            data_actions: vec![],
            not_data_actions: vec![]
        }]
    );
    let at_other = permissions_at(&idx, alice, &arm(&format!("{SUB}/resourceGroups/other")), now);
    assert!(at_other.iter().any(|b| b.not_actions == ["Microsoft.Authorization/*/Delete"]));
    assert!(permissions_at(&idx, ObjectId::new_v4(), &arm(SUB), now).is_empty());
}

#[test]
fn list_filters_read_every_documented_form_and_refuse_others() {
    let id = uuid!("a3bb8764-cb92-4276-9d2a-ca1e895e55ea");
    assert_eq!(ListFilter::parse(None), Ok(ListFilter::default()));
    assert_eq!(ListFilter::parse(Some("atScope()")), Ok(ListFilter { at_scope: true, ..Default::default() }));
    let upper = "principalId eq 'A3BB8764-CB92-4276-9D2A-CA1E895E55EA'";
    assert_eq!(ListFilter::parse(Some(upper)), Ok(ListFilter { principal_id: Some(id), ..Default::default() }));
    let both = "atScope() and assignedTo('a3bb8764-cb92-4276-9d2a-ca1e895e55ea')";
    assert_eq!(
        ListFilter::parse(Some(both)),
        Ok(ListFilter { at_scope: true, assigned_to: Some(id), ..Default::default() })
    );
    let both = "assignedTo('a3bb8764-cb92-4276-9d2a-ca1e895e55ea') AND atScope()";
    assert_eq!(ListFilter::parse(Some(both)).unwrap().assigned_to, Some(id));
    for bad in [
        "roleName eq 'x'",
        "principalId eq 'nope'",
        "principalId 'a3bb8764-cb92-4276-9d2a-ca1e895e55ea'",
        "atScope() and atScope()",
        "assignedTo(a3bb8764-cb92-4276-9d2a-ca1e895e55ea)",
        "atScope() or principalId eq 'a3bb8764-cb92-4276-9d2a-ca1e895e55ea'",
    ] {
        assert_eq!(ListFilter::parse(Some(bad)).unwrap_err().code, "UnsupportedQuery", "{bad}");
    }
}

#[test]
fn list_filters_select_by_scope_and_principal() {
    let tree = NoManagementGroups;
    let (sub, rg, other) = (
        arm(SUB),
        arm(&format!("{SUB}/resourceGroups/rg")),
        arm("/subscriptions/00000000-0000-4000-8000-000000000002"),
    );
    let (alice, group) = (ObjectId::new_v4(), ObjectId::new_v4());
    let all = ListFilter::default();
    // No filter: at, above and below; never beside.
    assert!(all.keeps(alice, &sub, Some(&rg), &[], &tree));
    assert!(all.keeps(alice, &rg, Some(&sub), &[], &tree));
    assert!(!all.keeps(alice, &other, Some(&sub), &[], &tree));
    assert!(all.keeps(alice, &other, None, &[], &tree));
    // atScope(): at or above only.
    let at = ListFilter { at_scope: true, ..Default::default() };
    assert!(at.keeps(alice, &sub, Some(&rg), &[], &tree));
    assert!(!at.keeps(alice, &rg, Some(&sub), &[], &tree));
    // principalId: that principal only; assignedTo: it and its groups.
    let of_alice = ListFilter { principal_id: Some(alice), ..Default::default() };
    assert!(of_alice.keeps(alice, &sub, Some(&sub), &[], &tree));
    assert!(!of_alice.keeps(group, &sub, Some(&sub), &[group], &tree));
    let to_alice = ListFilter { assigned_to: Some(alice), ..Default::default() };
    assert!(to_alice.keeps(group, &sub, Some(&sub), &[group], &tree));
    assert!(!to_alice.keeps(group, &sub, Some(&sub), &[], &tree));
}
