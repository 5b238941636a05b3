//! Group commit on SQLite: concurrent writers share fsyncs, yet each one's outcome is its own.
//! Committed writes are durable and reach the index exactly once, in commit order; a writer that
//! rolls back, fails on a constraint, or is dropped half-way leaves no trace and harms nobody else.

use openpim_core::audit::{AuditRecord, AuditResult};
use openpim_core::change::IndexUpdate;
use openpim_core::directory::{Group, User};
use openpim_store::{Store, StoreError};
use std::sync::{Arc, Mutex};
use tokio::sync::Barrier;

fn user(n: usize) -> User {
    User {
        id: uuid::Uuid::new_v4(),
        user_principal_name: format!("user{n}@group-commit.test"),
        display_name: format!("User {n}"),
        mail_nickname: format!("user{n}"),
        given_name: None,
        surname: None,
        mail: None,
        job_title: None,
        department: None,
        account_enabled: true,
        user_type: Default::default(),
        im_addresses: Vec::new(),
        created: time::OffsetDateTime::now_utc(),
    }
}

/// Each writer also saves a group, which the access index hears about.
fn group(n: usize) -> Group {
    Group {
        id: uuid::Uuid::new_v4(),
        display_name: format!("Group {n}"),
        description: None,
        mail_nickname: format!("group{n}"),
        mail_enabled: false,
        security_enabled: true,
        is_assignable_to_role: false,
        unified: false,
        created: time::OffsetDateTime::now_utc(),
    }
}

fn record(activity: &str) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::new_v4(),
        at: time::OffsetDateTime::now_utc(),
        category: "UserManagement",
        activity: activity.into(),
        operation_type: "Add",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: None,
        initiated_by_display_name: None,
        targets: vec![],
        additional_details: vec![],
        correlation_id: uuid::Uuid::new_v4(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Commit,
    Rollback,
    /// Returns early after writing, dropping the transaction (as `?` in a handler does).
    Drop,
    /// Inserts a UPN that an earlier committed writer owns: the constraint says no.
    Duplicate,
}

fn fate(n: usize) -> Fate {
    match n % 10 {
        3 => Fate::Rollback,
        6 => Fate::Drop,
        9 => Fate::Duplicate,
        _ => Fate::Commit,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_share_commits_and_keep_their_own_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open_sqlite_dir(dir.path()).await.unwrap());
    // The duplicates collide with this one.
    let taken = user(1_000_000);
    let mut tx = store.begin_write().await.unwrap();
    tx.insert_user(&taken).await.unwrap();
    tx.commit(&record("seed"), |_| {}).await.unwrap();
    let commits_before = store.commits();

    const WRITERS: usize = 120;
    let applied: Arc<Mutex<Vec<IndexUpdate>>> = Arc::default();
    let start = Arc::new(Barrier::new(WRITERS));
    let mut tasks = Vec::new();
    for n in 0..WRITERS {
        let (store, applied, start, taken) = (store.clone(), applied.clone(), start.clone(), taken.clone());
        tasks.push(tokio::spawn(async move {
            let mut u = user(n);
            if fate(n) == Fate::Duplicate {
                u.user_principal_name = taken.user_principal_name.clone();
            }
            start.wait().await;
            let g = group(n);
            let mut tx = store.begin_write().await.unwrap();
            tx.insert_group(&g).await.unwrap();
            let inserted = tx.insert_user(&u).await;
            match fate(n) {
                Fate::Commit => {
                    inserted.unwrap();
                    tx.commit(&record("add"), |updates| applied.lock().unwrap().extend(updates)).await.unwrap();
                }
                Fate::Rollback => {
                    inserted.unwrap();
                    tx.rollback().await.unwrap();
                }
                Fate::Drop => {
                    inserted.unwrap();
                    drop(tx);
                }
                Fate::Duplicate => {
                    assert!(matches!(inserted, Err(StoreError::Conflict(_))), "{inserted:?}");
                    tx.rollback().await.unwrap();
                }
            }
            (u.id, g.id)
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }

    for (n, (user_id, group_id)) in ids.iter().enumerate() {
        let committed = fate(n) == Fate::Commit;
        assert_eq!(store.get_user(*user_id).await.unwrap().is_some(), committed, "writer {n} ({:?})", fate(n));
        assert_eq!(store.get_group(*group_id).await.unwrap().is_some(), committed, "writer {n} ({:?})", fate(n));
    }
    let committed = (0..WRITERS).filter(|n| fate(*n) == Fate::Commit).count();
    let applied: Vec<IndexUpdate> = std::mem::take(&mut *applied.lock().unwrap());
    let mut saved: Vec<_> = applied
        .iter()
        .map(|u| match u {
            IndexUpdate::GroupSaved { group_id, .. } => *group_id,
            other => panic!("unexpected index update {other:?}"),
        })
        .collect();
    saved.sort();
    let mut expected: Vec<_> =
        ids.iter().enumerate().filter(|(n, _)| fate(*n) == Fate::Commit).map(|(_, (_, g))| *g).collect();
    expected.sort();
    assert_eq!(saved, expected, "each committed change reaches the index once; nothing else does");
    let commits = store.commits() - commits_before;
    assert!(commits >= 1 && (commits as usize) < committed, "{commits} commits for {committed} writers: none shared");
    // The store stays usable: a later lone writer commits on its own.
    let mut tx = store.begin_write().await.unwrap();
    let last = user(2_000_000);
    tx.insert_user(&last).await.unwrap();
    tx.commit(&record("add"), |_| {}).await.unwrap();
    assert!(store.get_user(last.id).await.unwrap().is_some());
    store.close().await;
}

/// A writer dropped while others wait on its group: they are still committed, promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_whose_last_writer_vanishes_still_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open_sqlite_dir(dir.path()).await.unwrap());
    // Writer A holds the writer lock while B queues behind it; A then finishes and leaves the
    // commit to B, and B is dropped without committing.
    let a = user(1);
    let mut tx_a = store.begin_write().await.unwrap();
    tx_a.insert_user(&a).await.unwrap();
    let b_store = store.clone();
    let b = tokio::spawn(async move {
        let mut tx = b_store.begin_write().await.unwrap();
        tx.insert_user(&user(2)).await.unwrap();
        drop(tx);
    });
    // Let B queue up for the lock before A commits.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    tx_a.commit(&record("add"), |_| {}).await.unwrap();
    b.await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "A waited {:?}", started.elapsed());
    assert!(store.get_user(a.id).await.unwrap().is_some());
    assert_eq!(store.get_user_by_upn("user2@group-commit.test").await.unwrap(), None);
    store.close().await;
}
