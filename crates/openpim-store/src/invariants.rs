//! Cross-entity invariants, checked inside the write transaction by [`crate::WriteTx::commit`].
//!
//! A rule that spans entities (the tenant keeps a Global Administrator) cannot be left to the
//! handlers: any new path that removes an assignment, a group, a member or a user would have to
//! remember it. So every commit whose change-feed entities include what an invariant watches
//! runs that invariant's check on the transaction's own view of the data, after the change and
//! before the SQL `COMMIT` (in the spirit of Kanidm's write plugins). A violation rolls the writer
//! back and surfaces as [`crate::StoreError::Invariant`], carrying the domain error core decides.
//!
//! On PostgreSQL several nodes commit at once, so two writers could each remove one of two Global
//! Administrators and each still see the other's: the commit path first takes a transaction-scoped
//! advisory lock (the one that also orders the change feed, see `write.rs`), so the check runs
//! after every earlier commit is visible.

use crate::codec::{id_text, RowExt};
use crate::{StoreError, StoreResult};
use openpim_core::assignment::check_global_administrator_remains;
use openpim_core::azure_assignment::{check_owner_remains, OWNER};
use openpim_core::catalog::GLOBAL_ADMINISTRATOR;
use openpim_core::error::DomainResult;
use openpim_core::scope::ArmScope;
use sqlx::AnyConnection;
use std::future::Future;
use std::pin::Pin;

type Check = for<'c> fn(
    &'c mut AnyConnection,
    i64,
    &'c Touched,
) -> Pin<Box<dyn Future<Output = StoreResult<DomainResult<()>>> + Send + 'c>>;

/// What a change did that the feed's entity names do not say, noted by the write path.
#[derive(Debug, Clone, Default)]
pub(crate) struct Touched {
    /// ARM scopes at which an Owner assignment was removed (`WriteTx::remove_schedule`).
    pub owner_removals: Vec<ArmScope>,
}

/// One invariant: the change-feed entities whose writes can break it, and its check, run on the
/// writer's connection with `now` (microseconds) and answering with core's verdict.
pub(crate) struct Invariant {
    pub name: &'static str,
    pub watches: &'static [&'static str],
    pub check: Check,
}

/// Every invariant the write path enforces.
pub(crate) const INVARIANTS: &[Invariant] = &[
    Invariant {
        name: "last Global Administrator",
        watches: &["role_assignments", "role_eligibilities", "groupMember", "group", "user", "roleDefinition"],
        check: |conn, now, _| Box::pin(global_administrator_remains(conn, now)),
    },
    Invariant {
        name: "last Owner",
        watches: &["role_assignments"],
        check: |conn, now, touched| Box::pin(owners_remain(conn, now, &touched.owner_removals)),
    },
];

/// The invariants a change to `entities` must be checked against.
pub(crate) fn affected<'a>(entities: impl Iterator<Item = &'a str> + Clone) -> Vec<&'static Invariant> {
    INVARIANTS.iter().filter(|inv| entities.clone().any(|e| inv.watches.contains(&e))).collect()
}

/// Counts enabled users holding Global Administrator at `/`, in effect now and without end,
/// directly or as members of a role-assignable group holding it. A store not bootstrapped yet
/// (no tenant row: store-level tests, the bootstrap transaction itself before its assignment) has
/// nothing to protect.
async fn global_administrator_remains(conn: &mut AnyConnection, now: i64) -> StoreResult<DomainResult<()>> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM tenant) AS tenants, \
         (SELECT COUNT(*) FROM role_assignments ra \
          WHERE ra.role_definition_id = $1 AND ra.directory_scope_id = '/' AND ra.status <> 'Expired' \
            AND ra.end_at IS NULL AND ra.start_at <= $2 \
            AND (EXISTS (SELECT 1 FROM users u WHERE u.id = ra.principal_id AND u.account_enabled = 1) \
              OR EXISTS (SELECT 1 FROM directory_groups g \
                         JOIN group_members m ON m.group_id = g.id \
                         JOIN users u ON u.id = m.member_id \
                         WHERE g.id = ra.principal_id AND g.is_assignable_to_role = 1 \
                           AND u.account_enabled = 1))) AS holders",
    )
    .bind(id_text(GLOBAL_ADMINISTRATOR))
    .bind(now)
    .fetch_one(conn)
    .await
    .map_err(StoreError::Db)?;
    if row.int("tenants")? == 0 {
        return Ok(Ok(()));
    }
    Ok(check_global_administrator_remains(row.int("holders")? as u64))
}

/// For each ARM scope that lost an Owner assignment in this change, counts the permanent Owner
/// assignments in effect at that scope or above it (`azure_assignment::check_owner_remains`).
/// The scopes above are those the scope string names and the management groups above its
/// subscription or group (`management_groups::ancestor_keys`).
async fn owners_remain(conn: &mut AnyConnection, now: i64, removed_at: &[ArmScope]) -> StoreResult<DomainResult<()>> {
    for scope in removed_at {
        let keys = crate::management_groups::self_and_ancestor_keys(conn, scope).await?;
        let placeholders: Vec<String> = (0..keys.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM role_assignments WHERE role_definition_id = $1 AND status <> 'Expired' \
             AND end_at IS NULL AND start_at <= $2 AND scope_key IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(id_text(OWNER)).bind(now);
        for key in keys {
            query = query.bind(key);
        }
        let row = query.fetch_one(&mut *conn).await.map_err(StoreError::Db)?;
        if let Err(e) = check_owner_remains(scope.as_str(), row.int("n")? as u64) {
            return Ok(Err(e));
        }
    }
    Ok(Ok(()))
}
