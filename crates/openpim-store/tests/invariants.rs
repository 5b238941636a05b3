//! The write path's invariants at the store level: the commit that would leave the tenant
//! without a permanent, enabled Global Administrator fails with `StoreError::Invariant` and
//! leaves nothing behind, and under SQLite's group commit only that writer is rolled back.
//! SQLite always; PostgreSQL too when `OPENPIM_TEST_POSTGRES_URL` is set.

use openpim_core::audit::{AuditRecord, AuditResult};
use openpim_core::catalog::{self, GLOBAL_ADMINISTRATOR};
use openpim_core::directory::{ObjectKind, User};
use openpim_core::schedule::{AssignmentType, ExpirationType, Kind, Schedule, ScheduleStatus};
use openpim_core::scope::DirectoryScope;
use openpim_core::ObjectId;
use openpim_store::{Store, StoreError};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::Barrier;

fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap()
}

fn user(upn: &str) -> User {
    User {
        id: ObjectId::new_v4(),
        user_principal_name: upn.into(),
        display_name: upn.into(),
        mail_nickname: upn.split('@').next().unwrap().into(),
        given_name: None,
        surname: None,
        mail: None,
        job_title: None,
        department: None,
        account_enabled: true,
        user_type: Default::default(),
        im_addresses: Vec::new(),
        created: now(),
    }
}

fn global_admin(principal: ObjectId, end: Option<OffsetDateTime>) -> Schedule {
    Schedule {
        id: ObjectId::new_v4(),
        kind: Kind::Assignment,
        principal_id: principal,
        principal_kind: ObjectKind::User,
        role_definition_id: GLOBAL_ADMINISTRATOR,
        scope: DirectoryScope::Tenant.into(),
        assignment_type: Some(AssignmentType::Assigned),
        start: now(),
        end,
        expiration_type: if end.is_some() { ExpirationType::AfterDateTime } else { ExpirationType::NoExpiration },
        duration: None,
        status: ScheduleStatus::Provisioned,
        created_using: None,
        activated_using: None,
        created: now(),
        modified: now(),
        created_by: None,
    }
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

/// A bootstrapped store: the tenant, the role catalog, and one permanent Global Administrator.
async fn bootstrapped(store: &Store) -> (User, Schedule) {
    let admin = user("admin@invariants.test");
    let ga = global_admin(admin.id, None);
    let mut tx = store.begin_write().await.unwrap();
    tx.insert_tenant(ObjectId::new_v4(), now()).await.unwrap();
    for role in catalog::builtin_roles(now()) {
        tx.insert_role_definition(&role).await.unwrap();
    }
    tx.insert_user(&admin).await.unwrap();
    tx.insert_schedule(&ga).await.unwrap();
    tx.commit(&record("bootstrap"), |_| {}).await.unwrap();
    (admin, ga)
}

fn is_last_ga(result: Result<(), StoreError>) -> bool {
    matches!(result, Err(StoreError::Invariant(e)) if e.code == "LastGlobalAdministrator")
}

type Stores = Vec<(&'static str, Arc<Store>)>;

async fn stores() -> (Stores, tempfile::TempDir, Option<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let mut stores = vec![("sqlite", Arc::new(Store::open_sqlite_dir(dir.path()).await.unwrap()))];
    let mut schema = None;
    if let Some(base) = std::env::var("OPENPIM_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
        let (name, url) = openpim_store::testing::create_postgres_schema(&base).await.unwrap();
        stores.push(("postgres", Arc::new(Store::connect(&url).await.unwrap())));
        schema = Some((base, name));
    }
    (stores, dir, schema)
}

async fn cleanup(stores: Stores, schema: Option<(String, String)>) {
    for (_, s) in stores {
        s.close().await;
    }
    if let Some((base, name)) = schema {
        openpim_store::testing::drop_postgres_schema(&base, &name).await.unwrap();
    }
}

#[tokio::test]
async fn every_write_that_removes_the_last_global_administrator_is_refused() {
    let (stores, _dir, schema) = stores().await;
    for (backend, store) in &stores {
        let (admin, ga) = bootstrapped(store).await;
        let head_before = store.feed_head().await.unwrap();

        let mut tx = store.begin_write().await.unwrap();
        tx.remove_schedule(&ga).await.unwrap();
        assert!(is_last_ga(tx.commit(&record("remove"), |_| panic!("nothing to apply")).await), "{backend}");

        let mut tx = store.begin_write().await.unwrap();
        tx.replace_schedule(&Schedule { end: Some(now() + time::Duration::days(1)), ..ga.clone() }).await.unwrap();
        assert!(is_last_ga(tx.commit(&record("time-bound"), |_| {}).await), "{backend}");

        let mut tx = store.begin_write().await.unwrap();
        tx.update_user(&User { account_enabled: false, ..admin.clone() }).await.unwrap();
        assert!(is_last_ga(tx.commit(&record("disable"), |_| {}).await), "{backend}");

        let mut tx = store.begin_write().await.unwrap();
        tx.delete_user(admin.id, now()).await.unwrap();
        assert!(is_last_ga(tx.commit(&record("delete"), |_| {}).await), "{backend}");

        // Nothing of the refused writes remains: no feed rows, the admin and the assignment as before.
        assert_eq!(store.feed_head().await.unwrap(), head_before, "{backend}");
        assert_eq!(store.get_user(admin.id).await.unwrap().unwrap(), admin, "{backend}");
        let kept = store.get_schedule(Kind::Assignment, ga.id).await.unwrap().unwrap();
        assert_eq!((kept.end, kept.status), (None, ScheduleStatus::Provisioned), "{backend}");

        // A time-bound second Global Administrator does not count; a permanent one does.
        let second = user("second@invariants.test");
        let mut tx = store.begin_write().await.unwrap();
        tx.insert_user(&second).await.unwrap();
        tx.insert_schedule(&global_admin(second.id, Some(now() + time::Duration::days(1)))).await.unwrap();
        tx.remove_schedule(&ga).await.unwrap();
        assert!(is_last_ga(tx.commit(&record("swap to time-bound"), |_| {}).await), "{backend}");
        let mut tx = store.begin_write().await.unwrap();
        tx.insert_user(&second).await.unwrap();
        tx.insert_schedule(&global_admin(second.id, None)).await.unwrap();
        tx.remove_schedule(&ga).await.unwrap();
        tx.commit(&record("swap"), |_| {}).await.unwrap();
    }
    cleanup(stores, schema).await;
}

/// Under SQLite's group commit, concurrent writers share one transaction: the writers that break
/// the invariant are rolled back alone (their savepoints), everyone else's writes commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_writer_rolls_back_alone() {
    let (stores, _dir, schema) = stores().await;
    for (backend, store) in &stores {
        let (_admin, ga) = bootstrapped(store).await;
        let writers = 12;
        let barrier = Arc::new(Barrier::new(writers));
        let tasks: Vec<_> = (0..writers)
            .map(|n| {
                let (store, barrier, ga) = (store.clone(), barrier.clone(), ga.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let mut tx = store.begin_write().await.unwrap();
                    if n % 3 == 0 {
                        tx.remove_schedule(&ga).await.unwrap();
                    } else {
                        tx.insert_user(&user(&format!("writer{n}@invariants.test"))).await.unwrap();
                    }
                    (n, tx.commit(&record("concurrent"), |_| {}).await)
                })
            })
            .collect();
        for t in tasks {
            let (n, result) = t.await.unwrap();
            if n % 3 == 0 {
                assert!(is_last_ga(result), "{backend}: writer {n} removes the last Global Administrator");
            } else {
                result.unwrap_or_else(|e| panic!("{backend}: writer {n} must commit: {e}"));
            }
        }
        let all = openpim_store::ListRequest { filter: None, orderby: &[], top: 999, offset: 0, count: false };
        let users = store.list_users(&all).await.unwrap().items;
        assert_eq!(users.len(), 1 + writers - writers / 3, "{backend}: the admin and every other writer's user");
        let kept = store.get_schedule(Kind::Assignment, ga.id).await.unwrap().unwrap();
        assert_eq!(kept.status, ScheduleStatus::Provisioned, "{backend}");
    }
    cleanup(stores, schema).await;
}

/// Data that already breaks the invariant (written before it was enforced) does not block
/// unrelated writes; the write that repairs it commits too.
#[tokio::test]
async fn an_already_broken_tenant_is_not_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let (admin, ga) = bootstrapped(&store).await;
    // Remove the only Global Administrator behind the write path's back.
    let url = format!("sqlite://{}", dir.path().join("openpim.db").display());
    let mut raw = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM role_assignments").execute(&mut raw).await.unwrap();

    let mut tx = store.begin_write().await.unwrap();
    tx.insert_user(&user("unrelated@invariants.test")).await.unwrap();
    tx.commit(&record("unrelated"), |_| {}).await.unwrap();
    let repaired = global_admin(admin.id, None);
    let mut tx = store.begin_write().await.unwrap();
    tx.insert_schedule(&repaired).await.unwrap();
    tx.commit(&record("repair"), |_| {}).await.unwrap();
    // Repaired: from now on the invariant holds and is enforced again.
    let mut tx = store.begin_write().await.unwrap();
    tx.remove_schedule(&repaired).await.unwrap();
    assert!(is_last_ga(tx.commit(&record("remove again"), |_| {}).await));
    assert!(store.get_schedule(Kind::Assignment, ga.id).await.unwrap().is_none(), "the raw delete stays");
    store.close().await;
}
