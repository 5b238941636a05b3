use super::*;
use proptest::prelude::*;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

const SUB: &str = "9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";

fn arm(raw: &str) -> ArmScope {
    ArmScope::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn hash_of<T: Hash>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

#[test]
fn parses_every_arm_level_and_prints_the_canonical_keywords() {
    let cases = [
        ("/providers/Microsoft.Management/managementGroups/Contoso-Root", ArmScopeKind::ManagementGroup),
        (&format!("/subscriptions/{SUB}"), ArmScopeKind::Subscription),
        (&format!("/subscriptions/{SUB}/resourceGroups/RG-1"), ArmScopeKind::ResourceGroup),
        (&format!("/subscriptions/{SUB}/resourceGroups/RG-1/providers/Microsoft.Compute/virtualMachines/vm1"), ArmScopeKind::Resource),
        (
            &format!(
                "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/c1"
            ),
            ArmScopeKind::Resource,
        ),
        (&format!("/subscriptions/{SUB}/providers/Microsoft.Security/pricings/VirtualMachines"), ArmScopeKind::Resource),
    ];
    for (raw, kind) in cases {
        let scope = arm(raw);
        assert_eq!(scope.to_string(), raw);
        assert_eq!(scope.kind(), kind, "{raw}");
    }
    // Keywords in any case print in their documented spelling; names keep theirs.
    let lowered = arm(&format!("/SUBSCRIPTIONS/{SUB}/resourcegroups/My-RG/PROVIDERS/Microsoft.Web/sites/App1"));
    assert_eq!(
        lowered.to_string(),
        format!("/subscriptions/{SUB}/resourceGroups/My-RG/providers/Microsoft.Web/sites/App1")
    );
    // The provider-qualified subscription form PIM clients send is the same scope.
    let qualified = arm(&format!("/providers/Microsoft.Subscription/subscriptions/{SUB}/resourceGroups/RG-1"));
    assert_eq!(qualified.to_string(), format!("/subscriptions/{SUB}/resourceGroups/RG-1"));
    assert_eq!(qualified.subscription_id(), Some(SUB.parse().unwrap()));
    assert_eq!(arm("/providers/Microsoft.Management/managementGroups/g").subscription_id(), None);
}

#[test]
fn malformed_arm_scopes_get_typed_errors() {
    use ArmScopeError::*;
    let sub = format!("/subscriptions/{SUB}");
    let cases: Vec<(String, ArmScopeError)> = vec![
        ("".into(), NotAbsolute),
        ("subscriptions/x".into(), NotAbsolute),
        (format!("{sub}/"), TrailingSlash),
        (format!("{sub}//resourceGroups/rg"), EmptySegment),
        ("//subscriptions".into(), EmptySegment),
        ("/tenants/x".into(), UnknownRoot("/tenants".into())),
        (
            "/providers/Microsoft.Compute/virtualMachines/vm".into(),
            UnknownRoot("/providers/Microsoft.Compute/virtualMachines".into()),
        ),
        ("/subscriptions".into(), Missing("subscription id")),
        ("/subscriptions/not-a-guid".into(), InvalidSubscriptionId("not-a-guid".into())),
        (
            "/subscriptions/9a1f2c3d4e5f4a6b8c7d0e1f2a3b4c5d".into(),
            InvalidSubscriptionId("9a1f2c3d4e5f4a6b8c7d0e1f2a3b4c5d".into()),
        ),
        (format!("/subscriptions/{{{SUB}}}"), InvalidSubscriptionId(format!("{{{SUB}}}"))),
        (format!("{sub}/resourceGroups"), Missing("resource group name")),
        (format!("{sub}/resourceGroups/rg/providers"), Missing("provider namespace")),
        (format!("{sub}/resourceGroups/rg/providers/Microsoft.Compute"), Missing("resource type")),
        (format!("{sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"), Missing("resource name")),
        (format!("{sub}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1/databases"), Missing("resource name")),
        (format!("{sub}/resourceGroups/rg/extra"), UnexpectedSegment("extra".into())),
        (
            format!("{sub}/resourceGroups/rg/providers/Ms.X/t/n/providers/Ms.Y/u/m"),
            UnexpectedSegment("providers".into()),
        ),
        ("/providers/Microsoft.Management/managementGroups".into(), Missing("management group id")),
        (
            "/providers/Microsoft.Management/managementGroups/g/subscriptions/x".into(),
            UnexpectedSegment("subscriptions".into()),
        ),
        (format!("{sub}/resourceGroups/r\u{7}g"), InvalidCharacter("r\u{7}g".into())),
        (format!("{sub}/resourceGroups/rg?api-version=1"), InvalidCharacter("rg?api-version=1".into())),
    ];
    for (raw, expected) in cases {
        assert_eq!(ArmScope::parse(&raw).unwrap_err(), expected, "{raw:?}");
    }
}

#[test]
fn scope_parse_tells_the_families_apart() {
    assert_eq!(Scope::parse("/").unwrap(), Scope::TENANT);
    let au = "/administrativeUnits/3fbd929d-8c56-4462-851e-0eb9a7b3a2a5";
    assert!(matches!(Scope::parse(au).unwrap(), Scope::Directory(DirectoryScope::AdministrativeUnit(_))));
    let object = "/3fbd929d-8c56-4462-851e-0eb9a7b3a2a5";
    assert!(matches!(Scope::parse(object).unwrap(), Scope::Directory(DirectoryScope::Object(_))));
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg");
    assert_eq!(Scope::parse(&rg).unwrap().as_arm().map(ArmScope::kind), Some(ArmScopeKind::ResourceGroup));
    for raw in [au, object, "/", &rg] {
        assert_eq!(Scope::parse(raw).unwrap().to_string(), raw);
    }
    // Each family reports its own error.
    assert_eq!(Scope::parse("/subscriptions/nope").unwrap_err().code, "InvalidScope");
    assert_eq!(Scope::parse("/nope/x").unwrap_err().code, "InvalidDirectoryScope");
    // Graph's directoryScopeId parser still refuses every ARM scope.
    assert_eq!(DirectoryScope::parse(&rg).unwrap_err().code, "InvalidDirectoryScope");
}

#[test]
fn parents_follow_the_string_then_the_hierarchy() {
    let vm = arm(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1/databases/db1"));
    let chain: Vec<String> = vm.ancestors(&NoManagementGroups).map(|s| s.to_string()).collect();
    assert_eq!(
        chain,
        [
            format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1"),
            format!("/subscriptions/{SUB}/resourceGroups/rg"),
            format!("/subscriptions/{SUB}"),
            "/".to_string(),
        ]
    );
    let server = vm.parent().unwrap();
    assert_eq!(server.kind(), ArmScopeKind::Resource);
    assert_eq!(server.parent().unwrap().kind(), ArmScopeKind::ResourceGroup);
    let subscription = arm(&format!("/subscriptions/{SUB}"));
    assert_eq!(subscription.parent(), None);

    let mut tree = ManagementGroupTree::new();
    let root = arm("/providers/Microsoft.Management/managementGroups/root");
    let finance = arm("/providers/Microsoft.Management/managementGroups/Finance");
    tree.set_parent(&finance, Some(root.clone())).unwrap();
    tree.set_parent(&subscription, Some(finance.clone())).unwrap();
    assert_eq!(subscription.parent_in(&tree), Some(finance.clone()));
    let chain: Vec<ArmScope> = vm.ancestors(&tree).collect();
    assert_eq!(&chain[2..], [subscription.clone(), finance.clone(), root.clone(), ArmScope::root()]);
    let keys: Vec<&str> = vm.self_and_ancestor_keys(&tree).collect();
    assert_eq!(keys.len(), 7);
    assert_eq!(keys[0], vm.key());
    assert_eq!(keys[5], root.key());
    assert_eq!(keys[6], ArmScope::root().key());

    // Management groups cover what is in them (at any depth); nothing covers upwards.
    let other_sub = arm("/subscriptions/00000000-0000-4000-8000-000000000001");
    assert!(root.covers(&vm, &tree));
    assert!(finance.covers(&vm, &tree));
    assert!(!finance.covers(&vm, &NoManagementGroups), "without the hierarchy a group covers only itself");
    assert!(!finance.covers(&other_sub, &tree));
    assert!(!vm.covers(&subscription, &tree));
    assert!(vm.covers(&vm, &tree));
    assert!(!finance.covers(&root, &tree));
    assert!(root.covers(&finance, &tree));

    // Moving a subscription out moves its resources with it; ARM's root still covers them.
    tree.set_parent(&subscription, None).unwrap();
    assert!(!root.covers(&vm, &tree));
    assert!(ArmScope::root().covers(&vm, &tree));
    assert!(ArmScope::root().covers(&vm, &NoManagementGroups));
}

#[test]
fn arm_root_is_above_everything_and_never_the_directory_tenant() {
    let root = arm("/");
    assert_eq!(root, ArmScope::root());
    assert!(root.is_root());
    assert_eq!((root.kind(), root.to_string(), root.id_prefix()), (ArmScopeKind::Root, "/".to_string(), ""));
    assert_eq!(root.key(), ROOT_STORED.to_ascii_lowercase());
    assert_eq!((root.parent(), root.subscription_id()), (None, None));
    assert_eq!(root.ancestors(&NoManagementGroups).count(), 0);
    assert_eq!(root.self_and_ancestor_keys(&NoManagementGroups).collect::<Vec<_>>(), [root.key()]);
    let mg = arm("/providers/Microsoft.Management/managementGroups/g");
    let rg = arm(&format!("/subscriptions/{SUB}/resourceGroups/rg"));
    for below in [&mg, &rg] {
        assert!(root.covers(below, &NoManagementGroups));
        assert!(!below.covers(&root, &NoManagementGroups));
        assert_eq!(below.ancestors(&NoManagementGroups).last(), Some(root.clone()));
    }
    assert!(root.covers(&root, &NoManagementGroups));
    // The stored text is not a scope on ARM's wire.
    assert!(ArmScope::parse(ROOT_STORED).is_err());

    // Graph's `/` and ARM's `/`: one text on the two wires, two scopes; a `Scope` never prints
    // ARM's root as `/`, so its text and key never read back as the directory tenant.
    let arm_root = Scope::Arm(root.clone());
    assert_ne!(arm_root, Scope::TENANT);
    assert_eq!(Scope::parse("/").unwrap(), Scope::TENANT);
    assert_eq!(Scope::TENANT.to_string(), "/");
    assert_eq!(arm_root.to_string(), ROOT_STORED);
    assert_ne!(arm_root.key(), Scope::TENANT.key());
    assert_eq!(Scope::parse(&arm_root.to_string()).unwrap(), arm_root);
    assert_eq!(Scope::parse(&arm_root.key()).unwrap(), arm_root);
    let au = Scope::Directory(DirectoryScope::AdministrativeUnit(uuid::Uuid::new_v4()));
    for directory in [Scope::TENANT, au] {
        assert!(!arm_root.covers(&directory, &NoManagementGroups));
        assert!(!directory.covers(&arm_root, &NoManagementGroups));
    }
    assert_eq!(DirectoryScope::parse(ROOT_STORED).unwrap_err().code, "InvalidDirectoryScope");
}

#[test]
fn the_hierarchy_refuses_cycles_and_non_groups() {
    let mut tree = ManagementGroupTree::new();
    let group = |id: &str| arm(&format!("/providers/Microsoft.Management/managementGroups/{id}"));
    let (a, b, c) = (group("a"), group("b"), group("c"));
    tree.set_parent(&b, Some(a.clone())).unwrap();
    tree.set_parent(&c, Some(b.clone())).unwrap();
    assert!(matches!(tree.set_parent(&a, Some(c.clone())), Err(HierarchyError::Cycle { .. })));
    assert!(
        matches!(tree.set_parent(&a, Some(group("A"))), Err(HierarchyError::Cycle { .. })),
        "ids are case-insensitive"
    );
    let rg = arm(&format!("/subscriptions/{SUB}/resourceGroups/rg"));
    assert_eq!(tree.set_parent(&rg, Some(a.clone())), Err(HierarchyError::NotContainable(rg.clone())));
    let sub = arm(&format!("/subscriptions/{SUB}"));
    assert_eq!(tree.set_parent(&sub, Some(rg.clone())), Err(HierarchyError::NotAManagementGroup(rg)));
    // The refused cycle left the tree as it was.
    assert_eq!(c.ancestors(&tree).collect::<Vec<_>>(), [b, a, ArmScope::root()]);
}

#[test]
fn the_two_families_never_cover_each_other() {
    let tenant = Scope::TENANT;
    let sub = Scope::Arm(arm(&format!("/subscriptions/{SUB}")));
    let au = Scope::Directory(DirectoryScope::AdministrativeUnit(uuid::Uuid::new_v4()));
    assert!(!tenant.covers(&sub, &NoManagementGroups));
    assert!(!sub.covers(&tenant, &NoManagementGroups));
    assert!(!sub.covers(&au, &NoManagementGroups));
    assert!(tenant.covers(&au, &NoManagementGroups));
    assert!(sub.covers(&sub, &NoManagementGroups));
}

/// A name segment: letters of both cases, digits and ARM's punctuation.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9._()-]{0,11}"
}

fn guid() -> impl Strategy<Value = String> {
    any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string())
}

/// A canonical ARM scope string of any level: keywords spelled as ARM documents them, names in
/// mixed case, up to three levels of child resources.
fn canonical_scope() -> impl Strategy<Value = String> {
    let group = name().prop_map(|id| format!("/providers/Microsoft.Management/managementGroups/{id}"));
    // `providers` as a child type would start an extension resource, which is not a scope.
    let resource_type = name().prop_filter("not a keyword", |t| !t.eq_ignore_ascii_case("providers"));
    let resources = proptest::collection::vec((resource_type, name()), 1..4);
    let below_subscription =
        (proptest::option::of(name()), proptest::option::of((name(), resources))).prop_map(|(group, provider)| {
            let mut s = group.map(|g| format!("/resourceGroups/{g}")).unwrap_or_default();
            if let Some((namespace, pairs)) = provider {
                s.push_str(&format!("/providers/{namespace}"));
                pairs.iter().for_each(|(t, n)| s.push_str(&format!("/{t}/{n}")));
            }
            s
        });
    let in_subscription = (guid(), below_subscription).prop_map(|(sub, rest)| format!("/subscriptions/{sub}{rest}"));
    prop_oneof![1 => group, 4 => in_subscription]
}

/// `raw` with each ASCII letter's case flipped where `flips` says so.
fn recase(raw: &str, flips: &[bool]) -> String {
    raw.chars()
        .zip(flips.iter().cycle())
        .map(|(c, &flip)| match (flip, c.is_ascii_uppercase()) {
            (false, _) => c,
            (true, true) => c.to_ascii_lowercase(),
            (true, false) => c.to_ascii_uppercase(),
        })
        .collect()
}

proptest! {
    #[test]
    fn canonical_scopes_round_trip(raw in canonical_scope()) {
        let scope = ArmScope::parse(&raw).unwrap();
        prop_assert_eq!(scope.to_string(), raw.clone());
        prop_assert_eq!(ArmScope::parse(&scope.to_string()).unwrap(), scope.clone());
        prop_assert_eq!(Scope::parse(&raw).unwrap(), Scope::Arm(scope));
    }

    #[test]
    fn case_never_changes_identity(raw in canonical_scope(), flips in proptest::collection::vec(any::<bool>(), 1..32)) {
        let scope = ArmScope::parse(&raw).unwrap();
        let other = ArmScope::parse(&recase(&raw, &flips)).unwrap();
        prop_assert_eq!(&scope, &other);
        prop_assert_eq!(hash_of(&scope), hash_of(&other));
        prop_assert_eq!(scope.cmp(&other), std::cmp::Ordering::Equal);
        // Names keep the spelling they were given.
        prop_assert!(other.to_string().eq_ignore_ascii_case(&raw));
    }

    #[test]
    fn every_ancestor_covers_and_is_a_parseable_prefix(raw in canonical_scope()) {
        let scope = ArmScope::parse(&raw).unwrap();
        let mut below = scope.clone();
        for ancestor in scope.ancestors(&NoManagementGroups).filter(|a| !a.is_root()) {
            prop_assert!(raw.starts_with(&ancestor.to_string()));
            prop_assert_eq!(ArmScope::parse(&ancestor.to_string()).unwrap().kind(), ancestor.kind());
            prop_assert_eq!(below.parent(), Some(ancestor.clone()));
            prop_assert!(ancestor.covers(&scope, &NoManagementGroups));
            prop_assert!(!scope.covers(&ancestor, &NoManagementGroups));
            below = ancestor;
        }
        prop_assert!(matches!(below.kind(), ArmScopeKind::Subscription | ArmScopeKind::ManagementGroup));
        prop_assert!(ArmScope::root().covers(&scope, &NoManagementGroups));
        let root = ArmScope::root();
        prop_assert_eq!(scope.self_and_ancestor_keys(&NoManagementGroups).last(), Some(root.key()));
    }

    #[test]
    fn arbitrary_text_never_panics(raw in "(/|[a-zA-Z]|-|\\.){0,40}") {
        let _ = ArmScope::parse(&raw);
        let _ = Scope::parse(&raw);
    }
}

#[test]
fn resource_ids_at_every_scope_kind_and_never_a_doubled_root() {
    let group = "/providers/Microsoft.Management/managementGroups/Marketing";
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg");
    let vm = format!("{rg}/providers/Microsoft.Compute/virtualMachines/vm1");
    let cases = [
        ("/".to_string(), ArmScopeKind::Root, "/providers/Microsoft.Authorization/roleAssignments/a1".to_string()),
        (
            group.to_string(),
            ArmScopeKind::ManagementGroup,
            format!("{group}/providers/Microsoft.Authorization/roleAssignments/a1"),
        ),
        (
            format!("/subscriptions/{SUB}"),
            ArmScopeKind::Subscription,
            format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/a1"),
        ),
        (rg.clone(), ArmScopeKind::ResourceGroup, format!("{rg}/providers/Microsoft.Authorization/roleAssignments/a1")),
        (vm.clone(), ArmScopeKind::Resource, format!("{vm}/providers/Microsoft.Authorization/roleAssignments/a1")),
    ];
    for (raw, kind, expected) in cases {
        let scope = arm(&raw);
        assert_eq!(scope.kind(), kind, "{raw}");
        let id = scope.resource_id("roleAssignments", "a1");
        assert_eq!(id, expected, "{raw}");
        assert!(!id.contains("//"), "{id}");
        assert_eq!(scope.collection_id("roleAssignments") + "/a1", id);
        // What the builder writes reads back: the scope (nothing at the root), type and name.
        let back = AuthorizationResourceId::parse(&id).unwrap();
        let scope_text = if scope.is_root() { String::new() } else { scope.to_string() };
        assert_eq!((back.scope, back.resource_type, back.name), (scope_text.as_str(), "roleAssignments", "a1"));
        if !scope.is_root() {
            assert_eq!(arm(back.scope), scope);
        }
    }
    // Names are written as given: GUIDs, request ids, `{policy}_{role}` assignment names.
    let id = uuid::Uuid::parse_str("b24988ac-6180-42a0-ab88-20f7382dd24c").unwrap();
    assert_eq!(
        ArmScope::root().resource_id("roleDefinitions", id),
        "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
    );
}

#[test]
fn the_subscription_constructor_matches_the_parsed_scope() {
    let id = uuid::Uuid::parse_str(SUB).unwrap();
    let built = ArmScope::subscription(id);
    assert_eq!(built, arm(&format!("/subscriptions/{}", SUB.to_ascii_uppercase())));
    assert_eq!(
        (built.kind(), built.subscription_id(), built.to_string()),
        (ArmScopeKind::Subscription, Some(id), format!("/subscriptions/{SUB}"))
    );
    assert_eq!(built.self_and_ancestor_keys(&NoManagementGroups).count(), 2);
}

#[test]
fn authorization_ids_read_back_leniently_but_only_in_their_namespace() {
    let guid = "b24988ac-6180-42a0-ab88-20f7382dd24c";
    for raw in [
        format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        format!("/PROVIDERS/microsoft.authorization/ROLEDEFINITIONS/{guid}/"),
        format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        format!(" {guid} "),
    ] {
        assert_eq!(AuthorizationResourceId::name_of(&raw, "roleDefinitions"), Some(guid), "{raw}");
    }
    for bad in [
        format!("/providers/Microsoft.Authorization/roleAssignments/{guid}"),
        format!("/providers/Microsoft.Compute/roleDefinitions/{guid}"),
        format!("/subscriptions/{SUB}/Microsoft.Authorization/roleDefinitions/{guid}"),
        "/providers/Microsoft.Authorization/roleDefinitions/".to_string(),
        "/providers/Microsoft.Authorization/roleDefinitions//".to_string(),
        "Microsoft.Authorization/roleDefinitions".to_string(),
        String::new(),
    ] {
        assert_eq!(AuthorizationResourceId::name_of(&bad, "roleDefinitions"), None, "{bad}");
    }
    assert_eq!(AuthorizationResourceId::parse("/providers/Microsoft.Authorization"), None);
    let upper = format!("/providers/Microsoft.Authorization/roleDefinitions/{}", guid.to_ascii_uppercase());
    assert_eq!(AuthorizationResourceId::guid_of(&upper, "roleDefinitions"), uuid::Uuid::parse_str(guid).ok());
    for not_a_guid in [
        "/providers/Microsoft.Authorization/roleDefinitions/Contributor",
        "Contributor",
        "{b24988ac-6180-42a0-ab88-20f7382dd24c}",
    ] {
        assert_eq!(AuthorizationResourceId::guid_of(not_a_guid, "roleDefinitions"), None, "{not_a_guid}");
    }
}
