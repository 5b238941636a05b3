//! Role management policies: storage of each role's rules.

use crate::codec::{id_text, micros, RowExt};
use crate::list::{list, ListRequest, Page};
use crate::{records, schema, Store, StoreError, StoreResult, WriteTx};
use openpim_core::policy::rules::PolicyRule;
use openpim_core::{Instant, ObjectId};
use sqlx::any::AnyRow;

/// A stored policy, as seen through one of its two scope types.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPolicy {
    /// `DirectoryRole_{suffix}` or `Directory_{suffix}`.
    pub id: String,
    pub suffix: String,
    /// `DirectoryRole` or `Directory`.
    pub scope_type: String,
    pub role_definition_id: ObjectId,
    pub scope_id: String,
    pub is_organization_default: bool,
    pub last_modified: Option<Instant>,
    pub last_modified_by: Option<(ObjectId, String)>,
    pub rules: Vec<PolicyRule>,
}

/// Both scope types of every policy, so Graph's `scopeType eq 'Directory'` and
/// `eq 'DirectoryRole'` filters each find the policies under their own id prefix.
const VIEW: &str = "(SELECT 'DirectoryRole_' || id_suffix AS id, 'DirectoryRole' AS scope_type, p.* \
                     FROM role_management_policies p \
                     UNION ALL \
                     SELECT 'Directory_' || id_suffix AS id, 'Directory' AS scope_type, p.* \
                     FROM role_management_policies p) policies";

fn decode(r: &AnyRow) -> StoreResult<StoredPolicy> {
    let rules = records::policy_rules::decode(&r.text("rules")?)?;
    let by = match (r.opt_text("last_modified_by_id")?, r.opt_text("last_modified_by_name")?) {
        (Some(id), name) => Some((crate::codec::parse_id(&id)?, name.unwrap_or_default())),
        _ => None,
    };
    Ok(StoredPolicy {
        id: r.text("id")?,
        suffix: r.text("id_suffix")?,
        scope_type: r.text("scope_type")?,
        role_definition_id: r.id("role_definition_id")?,
        scope_id: r.text("scope_id")?,
        is_organization_default: r.bool("is_organization_default")?,
        last_modified: r.opt_time("last_modified_at")?,
        last_modified_by: by,
        rules,
    })
}

impl Store {
    pub async fn list_policies(&self, req: &ListRequest<'_>) -> StoreResult<Page<StoredPolicy>> {
        list(self.pool(), VIEW, &schema::POLICY, None, req, decode).await
    }

    pub async fn list_policy_assignments(&self, req: &ListRequest<'_>) -> StoreResult<Page<StoredPolicy>> {
        list(self.pool(), VIEW, &schema::POLICY_ASSIGNMENT, None, req, decode).await
    }

    /// A policy by either of its ids.
    pub async fn get_policy(&self, id: &str) -> StoreResult<Option<StoredPolicy>> {
        let sql = format!("SELECT * FROM {VIEW} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(self.pool()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode).transpose()
    }

    /// The rules of `role`'s policy (None if the role has none).
    pub async fn policy_rules_of(&self, role: ObjectId) -> StoreResult<Option<Vec<PolicyRule>>> {
        let sql = format!("SELECT * FROM {VIEW} WHERE role_definition_id = $1 AND scope_type = 'DirectoryRole'");
        let row = sqlx::query(&sql).bind(id_text(role)).fetch_optional(self.pool()).await.map_err(StoreError::Db)?;
        Ok(row.as_ref().map(decode).transpose()?.map(|p| p.rules))
    }
}

impl WriteTx<'_> {
    /// A policy by either of its ids, read inside the write (row-locked on PostgreSQL), so a
    /// read-modify-write of its rules cannot lose a concurrent change to another rule.
    pub async fn policy_for_update(&mut self, id: &str) -> StoreResult<Option<StoredPolicy>> {
        let suffix = id.strip_prefix("DirectoryRole_").or_else(|| id.strip_prefix("Directory_"));
        let Some(suffix) = suffix else { return Ok(None) };
        let lock = self.lock_rows(false);
        let sql = format!("SELECT id_suffix FROM role_management_policies WHERE id_suffix = $1{lock}");
        let locked =
            sqlx::query(&sql).bind(suffix.to_string()).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        if locked.is_none() {
            return Ok(None);
        }
        let sql = format!("SELECT * FROM {VIEW} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode).transpose()
    }

    /// The rules of `role`'s policy, read inside the write (None if the role has none).
    pub async fn policy_rules_of(&mut self, role: ObjectId) -> StoreResult<Option<Vec<PolicyRule>>> {
        let lock = self.lock_rows(true);
        let sql = format!("SELECT rules FROM role_management_policies WHERE role_definition_id = $1{lock}");
        let row = sqlx::query(&sql).bind(id_text(role)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.map(|r| records::policy_rules::decode(&r.text("rules")?)).transpose()
    }

    /// Creates `role`'s policy at scope '/' with `rules`.
    pub async fn insert_policy(
        &mut self,
        tenant: ObjectId,
        role: ObjectId,
        rules: &[PolicyRule],
    ) -> StoreResult<String> {
        let suffix = format!("{tenant}_{}", ObjectId::new_v4());
        sqlx::query(
            "INSERT INTO role_management_policies (id_suffix, role_definition_id, scope_id, is_organization_default, rules) \
             VALUES ($1, $2, '/', 0, $3)",
        )
        .bind(suffix.clone())
        .bind(id_text(role))
        .bind(records::policy_rules::encode(rules)?)
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.feed("role_management_policies", &suffix, "add");
        Ok(suffix)
    }

    /// Replaces a policy's rules, recording who changed them.
    pub async fn update_policy_rules(
        &mut self,
        suffix: &str,
        rules: &[PolicyRule],
        by: (ObjectId, &str),
        now: Instant,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE role_management_policies SET rules = $2, last_modified_at = $3, last_modified_by_id = $4, \
             last_modified_by_name = $5 WHERE id_suffix = $1",
        )
        .bind(suffix.to_string())
        .bind(records::policy_rules::encode(rules)?)
        .bind(micros(now))
        .bind(id_text(by.0))
        .bind(by.1.to_string())
        .execute(self.conn())
        .await
        .map_err(StoreError::Db)?;
        self.feed("role_management_policies", suffix, "update");
        Ok(())
    }

    pub async fn delete_policy_of(&mut self, role: ObjectId) -> StoreResult<()> {
        sqlx::query("DELETE FROM role_management_policies WHERE role_definition_id = $1")
            .bind(id_text(role))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        self.feed("role_management_policies", role, "delete");
        Ok(())
    }
}
