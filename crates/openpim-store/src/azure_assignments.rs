//! Azure role assignments: permanent active assignment schedules at ARM scopes, with what ARM
//! adds to them (description, who last changed them). They are rows of `role_assignments`, so
//! the access index, the change feed and PIM for Azure treat them like every other schedule.

use crate::codec::{id_text, micros, RowExt};
use crate::schedules::decode_assignment;
use crate::{Store, StoreError, StoreResult, WriteTx};
use openpim_core::azure_assignment::ArmRoleAssignment;
use openpim_core::{Instant, ObjectId};
use sqlx::any::AnyRow;

/// Rows at ARM scopes: their keys start with `/subscriptions/` or `/providers/` (directory scopes
/// are `/`, `/administrativeunits/...` or `/{guid}`).
const ARM_ROWS: &str = "(scope_key LIKE '/subscriptions/%' OR scope_key LIKE '/providers/%')";

fn decode(r: &AnyRow) -> StoreResult<ArmRoleAssignment> {
    let schedule = decode_assignment(r)?;
    if schedule.scope.as_arm().is_none() {
        return Err(StoreError::Corrupt(format!("role assignment {} is not at an ARM scope", schedule.id)));
    }
    Ok(ArmRoleAssignment {
        schedule,
        description: r.opt_text("description")?,
        updated_by: r.opt_text("updated_by")?.map(|s| crate::codec::parse_id(&s)).transpose()?,
    })
}

impl Store {
    /// The Azure role assignment named `name`, if it exists (live: not expired).
    pub async fn arm_role_assignment(&self, name: ObjectId) -> StoreResult<Option<ArmRoleAssignment>> {
        let sql = format!("SELECT * FROM role_assignments WHERE id = $1 AND status <> 'Expired' AND {ARM_ROWS}");
        let row = sqlx::query(&sql).bind(id_text(name)).fetch_optional(self.pool()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode).transpose()
    }

    /// Every Azure role assignment in effect at `now` (of `principals` only, when given), in
    /// name order. Which of them a list shows depends on the management-group hierarchy, which
    /// the caller applies.
    pub async fn arm_role_assignments(
        &self,
        now: Instant,
        principals: Option<&[ObjectId]>,
    ) -> StoreResult<Vec<ArmRoleAssignment>> {
        let n = micros(now);
        let mut sql = format!(
            "SELECT * FROM role_assignments WHERE status <> 'Expired' AND start_at <= {n} \
             AND (end_at IS NULL OR end_at > {n}) AND {ARM_ROWS}"
        );
        if let Some(principals) = principals {
            if principals.is_empty() {
                return Ok(Vec::new());
            }
            let list: Vec<String> = (1..=principals.len()).map(|i| format!("${i}")).collect();
            sql.push_str(&format!(" AND principal_id IN ({})", list.join(", ")));
        }
        sql.push_str(" ORDER BY id");
        let mut query = sqlx::query(&sql);
        for p in principals.unwrap_or_default() {
            query = query.bind(id_text(*p));
        }
        let rows = query.fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        rows.iter().map(decode).collect()
    }

    /// How many live schedules (assignments or eligibilities) of `role` exist at ARM scopes.
    pub async fn count_arm_schedules_of_role(&self, role: ObjectId) -> StoreResult<u64> {
        let mut n = 0;
        for table in ["role_assignments", "role_eligibilities"] {
            let sql = format!(
                "SELECT COUNT(*) AS n FROM {table} WHERE role_definition_id = $1 AND status <> 'Expired' AND {ARM_ROWS}"
            );
            let row = sqlx::query(&sql).bind(id_text(role)).fetch_one(self.pool()).await.map_err(StoreError::Db)?;
            n += row.int("n")? as u64;
        }
        Ok(n)
    }
}

impl WriteTx<'_> {
    /// The Azure role assignment named `name`, read (and on PostgreSQL row-locked) inside the
    /// write.
    pub async fn arm_role_assignment(&mut self, name: ObjectId) -> StoreResult<Option<ArmRoleAssignment>> {
        let sql = format!(
            "SELECT * FROM role_assignments WHERE id = $1 AND status <> 'Expired' AND {ARM_ROWS}{}",
            self.lock_rows(false)
        );
        let row = sqlx::query(&sql).bind(id_text(name)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode).transpose()
    }

    /// Whether any row (at any scope, of either family) already uses the id `name`: ARM's
    /// assignment names are the rows' ids.
    pub async fn assignment_id_taken(&mut self, name: ObjectId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM role_assignments WHERE id = $1")
            .bind(id_text(name))
            .fetch_optional(self.conn())
            .await
            .map_err(StoreError::Db)?;
        Ok(row.is_some())
    }

    /// Inserts a new Azure role assignment: its schedule (index update and feed row included)
    /// and ARM's properties. A live assignment with the same principal, role and scope key is a
    /// `Conflict` from the database's unique index.
    pub async fn insert_arm_role_assignment(&mut self, a: &ArmRoleAssignment) -> StoreResult<()> {
        self.insert_schedule(&a.schedule).await?;
        sqlx::query("UPDATE role_assignments SET description = $2, updated_by = $3 WHERE id = $1")
            .bind(id_text(a.schedule.id))
            .bind(a.description.clone())
            .bind(a.updated_by.map(id_text))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        Ok(())
    }

    /// Rewrites what ARM lets a PUT change on an existing assignment: its description.
    pub async fn update_arm_role_assignment(&mut self, a: &ArmRoleAssignment) -> StoreResult<()> {
        sqlx::query("UPDATE role_assignments SET description = $2, updated_by = $3, modified_at = $4 WHERE id = $1")
            .bind(id_text(a.schedule.id))
            .bind(a.description.clone())
            .bind(a.updated_by.map(id_text))
            .bind(micros(a.schedule.modified))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        self.feed("role_assignments", a.schedule.id, "update");
        Ok(())
    }
}
