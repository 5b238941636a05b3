//! PIM for Azure resources (issue #16): the reads the ARM surface needs over the shared schedule
//! and request tables. Rows at ARM scopes are read whole and placed by the caller, because which
//! of them a list at a scope shows ("at, above and below") depends on the management-group
//! hierarchy the access index keeps.

use crate::codec::id_text;
use crate::schedules::{decode_request, decode_schedule, kind_text, table};
use crate::{Store, StoreError, StoreResult, WriteTx};
use openpim_core::schedule::{Action, Kind, Schedule, ScheduleRequest};
use openpim_core::scope::Scope;
use openpim_core::ObjectId;

/// How many levels of group nesting the write path follows for a principal's groups (a chain
/// deeper than this is not followed; the directory has no such chains in practice).
pub const MAX_NESTING_LEVELS: usize = 64;

/// Rows at ARM scopes (as in `azure_assignments`).
const ARM_ROWS: &str = "(scope_key LIKE '/subscriptions/%' OR scope_key LIKE '/providers/%')";

fn principal_clause(sql: &mut String, principals: Option<&[ObjectId]>, first: usize) {
    if let Some(principals) = principals {
        let list: Vec<String> = (first..first + principals.len()).map(|i| format!("${i}")).collect();
        sql.push_str(&format!(" AND principal_id IN ({})", list.join(", ")));
    }
}

impl Store {
    /// Live (not expired) schedules of `kind` at ARM scopes, of `principals` only when given,
    /// in id order.
    pub async fn arm_schedules(&self, kind: Kind, principals: Option<&[ObjectId]>) -> StoreResult<Vec<Schedule>> {
        if principals.is_some_and(<[ObjectId]>::is_empty) {
            return Ok(Vec::new());
        }
        let mut sql = format!("SELECT * FROM {} WHERE status <> 'Expired' AND {ARM_ROWS}", table(kind));
        principal_clause(&mut sql, principals, 1);
        sql.push_str(" ORDER BY id");
        let mut query = sqlx::query(&sql);
        for p in principals.unwrap_or_default() {
            query = query.bind(id_text(*p));
        }
        let rows = query.fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        rows.iter().map(|r| decode_schedule(r, kind, "id", "principal_id")).collect()
    }

    /// One schedule of `kind` at an ARM scope by id (live or expired).
    pub async fn arm_schedule(&self, kind: Kind, id: ObjectId) -> StoreResult<Option<Schedule>> {
        let sql = format!("SELECT * FROM {} WHERE id = $1 AND {ARM_ROWS}", table(kind));
        let row = sqlx::query(&sql).bind(id_text(id)).fetch_optional(self.pool()).await.map_err(StoreError::Db)?;
        row.as_ref().map(|r| decode_schedule(r, kind, "id", "principal_id")).transpose()
    }

    /// Schedule requests of `kind` at ARM scopes (of `principals` only, when given), oldest first.
    pub async fn arm_requests(&self, kind: Kind, principals: Option<&[ObjectId]>) -> StoreResult<Vec<ScheduleRequest>> {
        if principals.is_some_and(<[ObjectId]>::is_empty) {
            return Ok(Vec::new());
        }
        let mut sql = format!("SELECT * FROM schedule_requests WHERE kind = $1 AND {ARM_ROWS}");
        principal_clause(&mut sql, principals, 2);
        sql.push_str(" ORDER BY created_at, id");
        let mut query = sqlx::query(&sql).bind(kind_text(kind));
        for p in principals.unwrap_or_default() {
            query = query.bind(id_text(*p));
        }
        let rows = query.fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        rows.iter().map(decode_request).collect()
    }

    /// Whether any schedule request (of either kind, any scope) has the id `id`: ARM request
    /// names are client-chosen GUIDs and must not collide.
    pub async fn request_id_taken(&self, id: ObjectId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM schedule_requests WHERE id = $1")
            .bind(id_text(id))
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        Ok(row.is_some())
    }
}

impl WriteTx<'_> {
    /// Is a `selfExtend`/`selfRenew` request (`action`) of `kind` for this principal, role and
    /// scope already waiting for an administrator? Read inside the write.
    pub async fn pending_self_request_exists(
        &mut self,
        kind: Kind,
        (principal, role, scope): (ObjectId, ObjectId, &Scope),
        action: Action,
    ) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM schedule_requests WHERE kind = $1 AND principal_id = $2 \
             AND role_definition_id = $3 AND scope_key = $4 AND action = $5 AND status = 'PendingAdminDecision'",
        )
        .bind(kind_text(kind))
        .bind(id_text(principal))
        .bind(id_text(role))
        .bind(scope.key())
        .bind(action.as_str())
        .fetch_optional(self.conn())
        .await
        .map_err(StoreError::Db)?;
        Ok(row.is_some())
    }

    /// Every security group `member` is in, directly or through nested groups (Azure RBAC,
    /// unlike Entra roles, honours any security group, nested ones too: the access index's
    /// `security_groups_of`), read inside the write and share-locked on PostgreSQL, as
    /// `role_assignable_groups_of` is for directory roles, so a membership removed at any level
    /// concurrently either waits for this write or is seen by it. As in the index, nesting
    /// passes through any group and only security groups are returned.
    pub async fn security_groups_of(&mut self, member: ObjectId) -> StoreResult<Vec<ObjectId>> {
        let mut security: Vec<ObjectId> =
            self.groups_above(member).await?.into_iter().filter(|(_, sec)| *sec).map(|(g, _)| g).collect();
        security.sort_unstable();
        Ok(security)
    }

    /// The groups `member` is in, directly or through nested groups, with whether each is a
    /// security group, one nesting level per query. Cycle-safe (each group is visited once) and
    /// bounded: at most [`MAX_NESTING_LEVELS`] levels are followed, so a pathological chain cannot
    /// hold the writer lock unboundedly.
    async fn groups_above(&mut self, member: ObjectId) -> StoreResult<Vec<(ObjectId, bool)>> {
        use crate::codec::RowExt;
        use std::collections::HashSet;
        let lock = if self.lock_rows(true).is_empty() { "" } else { " FOR SHARE OF m" };
        let mut seen = HashSet::from([member]);
        let mut level = vec![member];
        let mut found = Vec::new();
        for _ in 0..MAX_NESTING_LEVELS {
            if level.is_empty() {
                break;
            }
            let list: Vec<String> = (1..=level.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT m.group_id, g.security_enabled FROM group_members m \
                 JOIN directory_groups g ON g.id = m.group_id WHERE m.member_id IN ({}){lock}",
                list.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in &level {
                query = query.bind(id_text(*id));
            }
            let rows = query.fetch_all(self.conn()).await.map_err(StoreError::Db)?;
            let mut next = Vec::new();
            for r in &rows {
                let group = r.id("group_id")?;
                if seen.insert(group) {
                    found.push((group, r.bool("security_enabled")?));
                    next.push(group);
                }
            }
            level = next;
        }
        Ok(found)
    }

    /// After `group` lost a member: the activations made from the eligibilities of `group` and
    /// of every group above it by a principal that no longer reaches the eligibility's holder
    /// through its (nested) groups are revoked, in the same write, as removing a direct
    /// member revokes its own (`revoke_activations_from`). Returns their ids.
    pub async fn revoke_activations_no_longer_reached(&mut self, group: ObjectId) -> StoreResult<Vec<ObjectId>> {
        use crate::codec::RowExt;
        let mut holders = vec![group];
        holders.extend(self.groups_above(group).await?.into_iter().map(|(g, _)| g));
        let mut revoked = Vec::new();
        for holder in holders {
            for eligibility in self.eligibility_ids_of(holder).await? {
                let rows = sqlx::query("SELECT id, principal_id FROM role_assignments WHERE activated_using = $1")
                    .bind(id_text(eligibility))
                    .fetch_all(self.conn())
                    .await
                    .map_err(StoreError::Db)?;
                for r in &rows {
                    let (id, principal) = (r.id("id")?, r.id("principal_id")?);
                    // Reached through any group counts (a role-assignable group's direct member
                    // keeps what it activated whatever the group's flags): revoke only what lost
                    // its path to the holder.
                    if principal != holder && !self.groups_above(principal).await?.iter().any(|(g, _)| *g == holder) {
                        revoked.push(id);
                    }
                }
            }
        }
        self.delete_activations(&revoked).await?;
        Ok(revoked)
    }
}
