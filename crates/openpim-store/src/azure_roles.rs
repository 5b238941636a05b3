//! Azure role definitions (`dialect = 'Azure'` rows of `role_definitions`): the reads ARM's
//! `Microsoft.Authorization/roleDefinitions` and Azure role assignments need, and the facts a
//! custom-role write or delete decides on inside its transaction.
//!
//! Writing goes through the common `insert_role_definition`/`update_role_definition`/
//! `delete_role_definition`, so the index and the change feed see Azure roles as any other.

use crate::codec::{id_text, RowExt};
use crate::roles::decode_role;
use crate::schedules::table;
use crate::{Store, StoreError, StoreResult, WriteTx};
use openpim_core::roles::{azure, RoleDefinition};
use openpim_core::schedule::Kind;
use openpim_core::ObjectId;

const AZURE: &str = "dialect = 'Azure'";

impl Store {
    /// The Azure role definition with this GUID (built-in or custom); `None` for a directory role.
    pub async fn azure_role_definition(&self, id: ObjectId) -> StoreResult<Option<RoleDefinition>> {
        let sql = format!("SELECT * FROM role_definitions WHERE id = $1 AND {AZURE}");
        let row = sqlx::query(&sql).bind(id_text(id)).fetch_optional(self.pool()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode_role).transpose()
    }

    /// The Azure role definition with this name, compared case-insensitively as ARM does.
    pub async fn azure_role_definition_by_name(&self, role_name: &str) -> StoreResult<Option<RoleDefinition>> {
        let sql = format!("SELECT * FROM role_definitions WHERE name_key = $1 AND {AZURE}");
        let row = sqlx::query(&sql)
            .bind(azure::role_name_key(role_name))
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode_role).transpose()
    }

    /// Every Azure role definition (the 928 built-ins and the tenant's custom roles, at most
    /// 5,000), ordered by name then id: ARM lists are filtered by scope in memory
    /// (`RoleDefinitionQuery::lists`), since applicability follows the hierarchy.
    pub async fn azure_role_definitions(&self) -> StoreResult<Vec<RoleDefinition>> {
        let sql = format!("SELECT * FROM role_definitions WHERE {AZURE} ORDER BY name_key, id");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        rows.iter().map(decode_role).collect()
    }
}

impl WriteTx<'_> {
    /// A role definition of either dialect, row-locked for update on PostgreSQL: a custom-role
    /// PUT or DELETE reads the role it replaces here, so concurrent writers of one role queue,
    /// and an assignment being made (which share-locks the role) waits for a delete or makes it
    /// see the assignment.
    pub async fn role_definition_for_update(&mut self, id: ObjectId) -> StoreResult<Option<RoleDefinition>> {
        let sql = format!("SELECT * FROM role_definitions WHERE id = $1{}", self.lock_rows(false));
        let row = sqlx::query(&sql).bind(id_text(id)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode_role).transpose()
    }

    /// The id of the Azure role holding this name (case-insensitively), if any. The unique
    /// index on (dialect, name_key) backs this up against a concurrent writer.
    pub async fn azure_role_named(&mut self, role_name: &str) -> StoreResult<Option<ObjectId>> {
        let sql = format!("SELECT id FROM role_definitions WHERE name_key = $1 AND {AZURE}");
        let row = sqlx::query(&sql)
            .bind(azure::role_name_key(role_name))
            .fetch_optional(self.conn())
            .await
            .map_err(StoreError::Db)?;
        row.map(|r| r.id("id")).transpose()
    }

    /// How many custom Azure roles the tenant has (ARM's limit is per tenant).
    pub async fn count_custom_azure_roles(&mut self) -> StoreResult<u64> {
        let sql = format!("SELECT COUNT(*) AS n FROM role_definitions WHERE {AZURE} AND is_built_in = 0");
        let row = sqlx::query(&sql).fetch_one(self.conn()).await.map_err(StoreError::Db)?;
        Ok(row.int("n")? as u64)
    }

    /// Schedules of the role that have not ended, assignments and eligibilities alike (active,
    /// future-dated or time-bound): while any exists, the role cannot be deleted.
    pub async fn count_live_schedules_of_role(&mut self, role: ObjectId) -> StoreResult<u64> {
        let mut n = 0;
        for kind in [Kind::Assignment, Kind::Eligibility] {
            let sql = format!(
                "SELECT COUNT(*) AS n FROM {} WHERE role_definition_id = $1 AND status <> 'Expired'",
                table(kind)
            );
            let row = sqlx::query(&sql).bind(id_text(role)).fetch_one(self.conn()).await.map_err(StoreError::Db)?;
            n += row.int("n")? as u64;
        }
        Ok(n)
    }

    /// Removes the ended schedules of a role being deleted: they reference it, grant nothing,
    /// and can no longer be renewed once the role is gone (the audit log keeps their history).
    pub async fn delete_ended_schedules_of_role(&mut self, role: ObjectId) -> StoreResult<()> {
        for kind in [Kind::Assignment, Kind::Eligibility] {
            let sql = format!("DELETE FROM {} WHERE role_definition_id = $1 AND status = 'Expired'", table(kind));
            sqlx::query(&sql).bind(id_text(role)).execute(self.conn()).await.map_err(StoreError::Db)?;
        }
        Ok(())
    }

    /// The built-in Azure roles as stored, to compare with the catalog at start.
    pub async fn stored_azure_builtin_roles(&mut self) -> StoreResult<Vec<RoleDefinition>> {
        let sql = format!("SELECT * FROM role_definitions WHERE {AZURE} AND is_built_in = 1");
        let rows = sqlx::query(&sql).fetch_all(self.conn()).await.map_err(StoreError::Db)?;
        rows.iter().map(decode_role).collect()
    }
}
