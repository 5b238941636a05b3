//! What makes an account worth protecting beyond the roles it holds now (see
//! `openpim_core::authz::LatentRoles`): read from the store because the access index keeps only
//! grants in effect.

use crate::codec::{id_text, RowExt};
use crate::{records, Store, StoreError, StoreResult};
use openpim_core::approval::listed_approvers;
use openpim_core::authz::LatentRoles;
use openpim_core::ObjectId;

impl Store {
    /// Roles `principal` is eligible for (live eligibilities, current or future-dated, its own or
    /// a group's it belongs to directly) and roles whose policy lists it or one of those groups
    /// as an approver.
    pub async fn latent_roles_of(&self, principal: ObjectId) -> StoreResult<LatentRoles> {
        let mut holders = vec![principal];
        holders.extend(self.group_ids_of(principal).await?);
        let eligible = sqlx::query(
            "SELECT DISTINCT role_definition_id FROM role_eligibilities WHERE status <> 'Expired' \
             AND (principal_id = $1 OR principal_id IN (SELECT group_id FROM group_members WHERE member_id = $2))",
        )
        .bind(id_text(principal))
        .bind(id_text(principal))
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::Db)?;
        let mut latent = LatentRoles {
            eligible_for: eligible.iter().map(|r| r.id("role_definition_id")).collect::<StoreResult<_>>()?,
            approver_for: Vec::new(),
        };
        // Rules are a JSON document; LIKE narrows the policies to those that mention a holder's
        // id anywhere, and decoding the rules confirms it is listed as an approver.
        for holder in &holders {
            let rows =
                sqlx::query("SELECT role_definition_id, rules FROM role_management_policies WHERE rules LIKE $1")
                    .bind(format!("%{}%", id_text(*holder)))
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::Db)?;
            for row in &rows {
                let rules = records::policy_rules::decode(&row.text("rules")?)?;
                let role = row.id("role_definition_id")?;
                if listed_approvers(&rules).contains(holder) && !latent.approver_for.contains(&role) {
                    latent.approver_for.push(role);
                }
            }
        }
        Ok(latent)
    }
}
