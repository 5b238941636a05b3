//! Role settings of Azure resource roles: one policy per (role definition, ARM scope), stored
//! only once changed (migration 0015). Every other (role, scope) has Azure's defaults
//! (`openpim_core::policy::rules::azure_default_rules`), so readers get `None` and fill them in.
//!
//! [`WriteTx::policy_rules_at`] is the one place the PIM engine reads a role's rules inside a
//! write, for either scope family.

use crate::codec::{id_text, micros, RowExt};
use crate::{records, Store, StoreError, StoreResult, WriteTx};
use openpim_core::policy::rules::{azure_default_rules, PolicyRule};
use openpim_core::scope::{ArmScope, Scope};
use openpim_core::{Instant, ObjectId};
use sqlx::any::AnyRow;

/// A changed Azure role policy as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredArmPolicy {
    /// The policy's ARM name.
    pub id: ObjectId,
    pub role_definition_id: ObjectId,
    /// The scope as first written.
    pub scope_id: String,
    pub last_modified: Option<Instant>,
    pub last_modified_by: Option<(ObjectId, String)>,
    pub rules: Vec<PolicyRule>,
}

fn decode(r: &AnyRow) -> StoreResult<StoredArmPolicy> {
    let by = match (r.opt_text("last_modified_by_id")?, r.opt_text("last_modified_by_name")?) {
        (Some(id), name) => Some((crate::codec::parse_id(&id)?, name.unwrap_or_default())),
        _ => None,
    };
    Ok(StoredArmPolicy {
        id: r.id("id")?,
        role_definition_id: r.id("role_definition_id")?,
        scope_id: r.text("scope_id")?,
        last_modified: r.opt_time("last_modified_at")?,
        last_modified_by: by,
        rules: records::policy_rules::decode(&r.text("rules")?)?,
    })
}

/// What a writer of an Azure role policy records.
#[derive(Debug, Clone)]
pub struct ArmPolicyWrite<'a> {
    pub id: ObjectId,
    pub role_definition_id: ObjectId,
    pub scope: &'a ArmScope,
    pub rules: &'a [PolicyRule],
    pub by: (ObjectId, &'a str),
    pub now: Instant,
}

impl Store {
    /// The changed policy of `role` at `scope`, if it was changed.
    pub async fn arm_policy(&self, role: ObjectId, scope: &ArmScope) -> StoreResult<Option<StoredArmPolicy>> {
        let row =
            sqlx::query("SELECT * FROM arm_role_management_policies WHERE role_definition_id = $1 AND scope_key = $2")
                .bind(id_text(role))
                .bind(scope.key().to_string())
                .fetch_optional(self.pool())
                .await
                .map_err(StoreError::Db)?;
        row.as_ref().map(decode).transpose()
    }

    /// Every changed policy at exactly `scope` (not above or below it: settings are not
    /// inherited).
    pub async fn arm_policies_at(&self, scope: &ArmScope) -> StoreResult<Vec<StoredArmPolicy>> {
        let rows = sqlx::query("SELECT * FROM arm_role_management_policies WHERE scope_key = $1 ORDER BY id")
            .bind(scope.key().to_string())
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::Db)?;
        rows.iter().map(decode).collect()
    }
}

impl WriteTx<'_> {
    /// The rules a request for `role` at `scope` is checked against, read inside the write
    /// (row-locked on PostgreSQL). Directory scopes: the role's policy (None if it has none; the
    /// caller uses Entra's defaults). ARM scopes: the policy of exactly that (role, scope), or
    /// Azure's defaults when it was never changed (settings are not inherited from above).
    pub async fn policy_rules_at(&mut self, role: ObjectId, scope: &Scope) -> StoreResult<Option<Vec<PolicyRule>>> {
        match scope {
            Scope::Directory(_) => self.policy_rules_of(role).await,
            Scope::Arm(arm) => {
                let changed = self.arm_policy_for_update(role, arm, true).await?;
                Ok(Some(changed.map(|p| p.rules).unwrap_or_else(azure_default_rules)))
            }
        }
    }

    /// The changed policy of `role` at `scope`, read inside the write and locked (`share`:
    /// `FOR SHARE`, else `FOR UPDATE` on PostgreSQL).
    pub async fn arm_policy_for_update(
        &mut self,
        role: ObjectId,
        scope: &ArmScope,
        share: bool,
    ) -> StoreResult<Option<StoredArmPolicy>> {
        let lock = self.lock_rows(share);
        let sql = format!(
            "SELECT * FROM arm_role_management_policies WHERE role_definition_id = $1 AND scope_key = $2{lock}"
        );
        let row = sqlx::query(&sql)
            .bind(id_text(role))
            .bind(scope.key().to_string())
            .fetch_optional(self.conn())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode).transpose()
    }

    /// Writes the rules of a policy (creating its row on its first change).
    pub async fn put_arm_policy(&mut self, w: &ArmPolicyWrite<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO arm_role_management_policies \
             (id, role_definition_id, scope_id, scope_key, last_modified_at, last_modified_by_id, \
              last_modified_by_name, rules) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET rules = excluded.rules, last_modified_at = excluded.last_modified_at, \
             last_modified_by_id = excluded.last_modified_by_id, last_modified_by_name = excluded.last_modified_by_name",
        )
        .bind(id_text(w.id))
        .bind(id_text(w.role_definition_id))
        .bind(w.scope.as_str().to_string())
        .bind(w.scope.key().to_string())
        .bind(micros(w.now))
        .bind(id_text(w.by.0))
        .bind(w.by.1.to_string())
        .bind(records::policy_rules::encode(w.rules)?)
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.feed("arm_role_management_policies", w.id, "update");
        Ok(())
    }

    /// Removes a changed policy (it answers Azure's defaults again). True if there was one.
    pub async fn delete_arm_policy(&mut self, role: ObjectId, scope: &ArmScope) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM arm_role_management_policies WHERE role_definition_id = $1 AND scope_key = $2")
                .bind(id_text(role))
                .bind(scope.key().to_string())
                .execute(self.conn())
                .await
                .map_err(StoreError::Db)?;
        let removed = done.rows_affected() > 0;
        if removed {
            self.feed("arm_role_management_policies", format!("{role}:{}", scope.key()), "delete");
        }
        Ok(removed)
    }
}
