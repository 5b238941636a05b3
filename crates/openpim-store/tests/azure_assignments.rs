//! Azure role assignments at the store level: scope keys (ARM compares scopes
//! case-insensitively, so the live-uniqueness rule does too) and the last-Owner invariant.
//! SQLite always; PostgreSQL too when `OPENPIM_TEST_POSTGRES_URL` is set.

use openpim_core::audit::{AuditRecord, AuditResult};
use openpim_core::azure_assignment::{ArmRoleAssignment, NewArmAssignment, OWNER};
use openpim_core::directory::ObjectKind;
use openpim_core::roles::{RoleDefinition, RolePermission};
use openpim_core::scope::ArmScope;
use openpim_core::ObjectId;
use openpim_store::{Store, StoreError};
use time::OffsetDateTime;

const SUB: &str = "/subscriptions/00000000-0000-4000-8000-0000000000aa";

fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap()
}

fn record(activity: &str) -> AuditRecord {
    AuditRecord {
        id: ObjectId::new_v4(),
        at: now(),
        category: "RoleManagement",
        activity: activity.into(),
        operation_type: "Update",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: None,
        initiated_by_display_name: None,
        targets: vec![],
        additional_details: vec![],
        correlation_id: ObjectId::new_v4(),
    }
}

/// A role row with Owner's id: the store's rules look at the id only (the Azure dialect's rows
/// are another module's; the schedule tables reference the id).
fn owner_row() -> RoleDefinition {
    RoleDefinition {
        id: OWNER,
        template_id: OWNER,
        display_name: "Owner".into(),
        description: String::new(),
        is_built_in: true,
        is_enabled: true,
        is_privileged: true,
        version: None,
        dialect: Default::default(),
        role_permissions: vec![RolePermission { allowed_resource_actions: vec!["*".into()], ..Default::default() }],
        created: now(),
        modified: now(),
        azure: Default::default(),
    }
}

fn owner_at(scope: &str, principal: ObjectId) -> ArmRoleAssignment {
    let new = NewArmAssignment {
        name: ObjectId::new_v4(),
        scope: ArmScope::parse(scope).unwrap(),
        role_definition_id: OWNER,
        principal_id: principal,
        principal_type: None,
        description: Some("test".into()),
        condition: None,
        condition_version: None,
    };
    ArmRoleAssignment::new(&new, ObjectKind::User, principal, now())
}

async fn insert(store: &Store, a: &ArmRoleAssignment) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    if let Err(e) = tx.insert_arm_role_assignment(a).await {
        tx.rollback().await?;
        return Err(e);
    }
    tx.commit(&record("add"), |_| {}).await
}

async fn remove(store: &Store, a: &ArmRoleAssignment) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    tx.remove_schedule(&a.schedule).await?;
    tx.commit(&record("remove"), |_| {}).await
}

async fn check(store: &Store) {
    let mut tx = store.begin_write().await.unwrap();
    tx.insert_role_definition(&owner_row()).await.unwrap();
    tx.commit(&record("role"), |_| {}).await.unwrap();
    let (alice, bob) = (ObjectId::new_v4(), ObjectId::new_v4());

    // The same principal, role and scope in another spelling is the same assignment.
    let rg = owner_at(&format!("{SUB}/resourceGroups/Web"), alice);
    insert(store, &rg).await.unwrap();
    let again = owner_at(
        &format!("{}/RESOURCEGROUPS/web", SUB.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions")),
        alice,
    );
    assert!(matches!(insert(store, &again).await, Err(StoreError::Conflict(_))));
    let read = store.arm_role_assignment(rg.schedule.id).await.unwrap().expect("stored");
    assert_eq!(read.description.as_deref(), Some("test"));
    assert_eq!(read.schedule.scope.to_string(), format!("{SUB}/resourceGroups/Web"), "the spelling given is kept");
    let listed = store.arm_role_assignments(now(), Some(&[alice])).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(store.arm_role_assignments(now(), Some(&[bob])).await.unwrap().is_empty());

    // The last Owner: an Owner below the scope does not count, one at or above does.
    let sub_alice = owner_at(SUB, alice);
    insert(store, &sub_alice).await.unwrap();
    let refused = remove(store, &sub_alice).await;
    assert!(matches!(&refused, Err(StoreError::Invariant(e)) if e.code == "LastOwnerRoleAssignment"), "{refused:?}");
    assert!(store.arm_role_assignment(sub_alice.schedule.id).await.unwrap().is_some(), "nothing was removed");
    // The resource group's Owner is removable while the subscription's remains above it.
    remove(store, &rg).await.unwrap();
    let sub_bob = owner_at(SUB, bob);
    insert(store, &sub_bob).await.unwrap();
    remove(store, &sub_alice).await.unwrap();
    assert!(matches!(remove(store, &sub_bob).await, Err(StoreError::Invariant(_))));
}

#[tokio::test]
async fn scope_keys_and_the_last_owner_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open_sqlite_dir(dir.path()).await.unwrap();
    check(&sqlite).await;
    sqlite.close().await;
    if let Some(base) = std::env::var("OPENPIM_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
        let (name, url) = openpim_store::testing::create_postgres_schema(&base).await.unwrap();
        let pg = Store::connect(&url).await.unwrap();
        check(&pg).await;
        pg.close().await;
        openpim_store::testing::drop_postgres_schema(&base, &name).await.unwrap();
    }
}
