//! PIM for Azure resources (issue #16): the reads the ARM surface needs over the shared schedule
//! and request tables. Rows at ARM scopes are read whole and placed by the caller, because which
//! of them a list at a scope shows ("at, above and below") depends on the management-group
//! hierarchy the access index keeps.

use crate::codec::id_text;
use crate::schedules::{decode_request, decode_schedule, kind_text, table};
use crate::{Store, StoreError, StoreResult, WriteTx};
use openpim_core::schedule::{Kind, Schedule, ScheduleRequest};
use openpim_core::ObjectId;

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
    /// Every group `member` belongs to directly (Azure RBAC, unlike Entra roles, honours any
    /// group), read inside the write and share-locked on PostgreSQL, as
    /// `role_assignable_groups_of` is for directory roles.
    pub async fn groups_of(&mut self, member: ObjectId) -> StoreResult<Vec<ObjectId>> {
        let lock = if self.lock_rows(true).is_empty() { "" } else { " FOR SHARE OF m" };
        let sql = format!(
            "SELECT m.group_id FROM group_members m JOIN directory_groups g ON g.id = m.group_id \
             WHERE m.member_id = $1{lock}"
        );
        let rows = sqlx::query(&sql).bind(id_text(member)).fetch_all(self.conn()).await.map_err(StoreError::Db)?;
        use crate::codec::RowExt;
        rows.iter().map(|r| r.id("group_id")).collect()
    }
}
