//! OpenPIM's access index, casbin-rs and cedar-policy answer identically on thousands of random
//! Azure queries, and the sample exercises what makes Azure RBAC hard: notActions, the data vs
//! control plane, `*` across `/`, case-insensitivity, inheritance down the ARM hierarchy
//! (management groups included) and group membership (nested groups included).

use openpim_bench::agreement::{compare, describe};
use openpim_bench::azure::casbin::CasbinAzure;
use openpim_bench::azure::cedar::CedarAzure;
use openpim_bench::azure::engine::OpenPimAzure;
use openpim_bench::azure::{AzureQuery, AzureSpec, AzureWorkload, Intent, Plane};
use openpim_core::access::AccessPath;
use openpim_core::roles::Permission;
use openpim_core::scope::{ArmScope, Scope};
use std::time::Instant;

fn path(o: &OpenPimAzure, q: &AzureQuery) -> Option<AccessPath> {
    let permission = match q.plane {
        Plane::Action => Permission::AzureAction(&q.operation),
        Plane::Data => Permission::AzureDataAction(&q.operation),
    };
    let scope = Scope::Arm(ArmScope::parse(&q.scope).expect("generated scopes parse"));
    o.index.check_permission(q.principal, permission, &scope, o.now)
}

#[test]
fn openpim_casbin_and_cedar_agree_on_azure_queries() {
    let t = Instant::now();
    let w = AzureWorkload::generate(&AzureSpec::small());
    let openpim = OpenPimAzure::load(&w);
    let casbin = CasbinAzure::load(&w).expect("casbin loads");
    let cedar = CedarAzure::load(&w).expect("cedar loads");
    eprintln!(
        "loaded in {:?}: casbin {} p lines, cedar {} linked policies",
        t.elapsed(),
        casbin.policy_lines,
        cedar.linked_policies
    );
    let queries = w.queries(2_500, 11);
    let t = Instant::now();
    let agreement = compare(&queries, &openpim, &casbin, &cedar).unwrap_or_else(|m| panic!("{}", describe(&m)));
    eprintln!("{} queries agreed ({} allowed) in {:?}", agreement.checked, agreement.allowed, t.elapsed());
    assert_eq!(agreement.checked, 2_500);
    assert!(
        (500..2_000).contains(&agreement.allowed),
        "{} allowed: the sample must exercise both answers",
        agreement.allowed
    );

    // What the agreed sample covered, read from OpenPIM's explanation of each allowed query.
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    let mut count = |what: &'static str, yes: bool| *seen.entry(what).or_default() += usize::from(yes);
    for q in &queries {
        let p = path(&openpim, q);
        let allowed = p.is_some();
        count("allowed data action", allowed && q.plane == Plane::Data);
        count("denied plane swap", !allowed && q.intent == Intent::PlaneSwap);
        count("denied by notActions", !allowed && q.intent == Intent::Excluded);
        count("denied outside window", !allowed && q.intent == Intent::OutsideWindow);
        count("allowed with changed case", allowed && q.case_changed);
        let Some(p) = p else { continue };
        let granted_at = p.grant.scope.as_arm().expect("an ARM grant").clone();
        let target = ArmScope::parse(&q.scope).expect("parses");
        count("allowed below the grant's scope", granted_at != target);
        count(
            "allowed through a management group",
            granted_at.kind() == openpim_core::scope::ArmScopeKind::ManagementGroup && granted_at != target,
        );
        count("allowed through a group", p.via_group.is_some());
        let nested = p.via_group.is_some_and(|g| {
            let u = q.user as usize;
            !w.user_groups[u].iter().any(|&d| w.groups[d as usize].id == g)
        });
        count("allowed through a nested group", nested);
        let wildcard_across_slash = p.matched_permission.contains('*')
            && p.matched_permission.split('*').next().is_some_and(|prefix| {
                let rest = &q.operation[prefix.len().min(q.operation.len())..];
                rest.matches('/').count() >= 2
            });
        count("allowed by a wildcard spanning '/'", wildcard_across_slash);
        count("allowed by a custom role", p.role_display_name.starts_with("Bench "));
    }
    eprintln!("{seen:#?}");
    for (what, n) in &seen {
        assert!(*n >= 5, "only {n} queries: {what}");
    }
}

/// The comparison can fail: an OpenPIM index that lost the management-group tree answers
/// differently from the anchors, and the mismatches name the queries.
#[test]
fn a_wrong_engine_is_caught() {
    let w = AzureWorkload::generate(&AzureSpec::small());
    let mut broken = OpenPimAzure::load(&w);
    broken.index = openpim_core::access::AccessIndex::new();
    for u in w.index_updates() {
        if !matches!(u, openpim_core::change::IndexUpdate::ManagementGroupParentSet { .. }) {
            broken.index.apply(u);
        }
    }
    let casbin = CasbinAzure::load(&w).expect("casbin loads");
    let cedar = CedarAzure::load(&w).expect("cedar loads");
    let mismatches = compare(&w.queries(1_000, 11), &broken, &casbin, &cedar).expect_err("must disagree");
    assert!(mismatches.iter().all(|m| !m.openpim && m.casbin && m.cedar), "{}", describe(&mismatches));
    assert!(describe(&mismatches).contains("queries answered differently"));
}
