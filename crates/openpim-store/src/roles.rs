//! Role definitions and role assignments, and loading the access index at start-up.

use crate::codec::{flag, id_text, micros, RowExt};
use crate::list::{list, ListRequest, Page};
use crate::{schema, Store, StoreError, StoreResult, WriteTx};
use openpim_core::change::IndexUpdate;
use openpim_core::roles::{PermissionDialect, RoleDefinition, RolePermission};
use openpim_core::schedule::Kind;
use openpim_core::ObjectId;
use serde_json::{json, Value};
use sqlx::any::AnyRow;

/// `role_definitions` has no dialect column yet: every stored role is a directory role, so an
/// Azure role is refused rather than stored and read back as a directory role. (Azure role
/// storage comes with the Azure catalog, with its own column.)
fn directory_only(r: &RoleDefinition) -> StoreResult<()> {
    match r.dialect {
        PermissionDialect::Directory => Ok(()),
        PermissionDialect::Azure => Err(StoreError::Unsupported(format!(
            "role definition {} is an Azure role; only directory roles are stored",
            r.id
        ))),
    }
}

fn permissions_json(perms: &[RolePermission]) -> String {
    Value::Array(
        perms
            .iter()
            .map(|p| {
                json!({"allowedResourceActions": p.allowed_resource_actions,
                       "excludedResourceActions": p.excluded_resource_actions,
                       "condition": p.condition})
            })
            .collect(),
    )
    .to_string()
}

fn decode_permissions(raw: &str) -> StoreResult<Vec<RolePermission>> {
    let v: Vec<Value> = serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("role_permissions: {e}")))?;
    let strings = |p: &Value, k: &str| -> Vec<String> {
        p.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    Ok(v.iter()
        .map(|p| RolePermission {
            allowed_resource_actions: strings(p, "allowedResourceActions"),
            excluded_resource_actions: strings(p, "excludedResourceActions"),
            condition: p.get("condition").and_then(Value::as_str).map(str::to_string),
            ..Default::default()
        })
        .collect())
}

fn decode_role(r: &AnyRow) -> StoreResult<RoleDefinition> {
    Ok(RoleDefinition {
        id: r.id("id")?,
        template_id: r.id("template_id")?,
        display_name: r.text("display_name")?,
        description: r.text("description")?,
        is_built_in: r.bool("is_built_in")?,
        is_enabled: r.bool("is_enabled")?,
        is_privileged: r.bool("is_privileged")?,
        version: r.opt_text("version")?,
        dialect: PermissionDialect::Directory,
        role_permissions: decode_permissions(&r.text("role_permissions")?)?,
        created: r.time("created_at")?,
        modified: r.time("modified_at")?,
    })
}

impl Store {
    pub async fn get_role_definition(&self, id: ObjectId) -> StoreResult<Option<RoleDefinition>> {
        let row = sqlx::query("SELECT * FROM role_definitions WHERE id = $1")
            .bind(id_text(id))
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode_role).transpose()
    }

    pub async fn list_role_definitions(&self, req: &ListRequest<'_>) -> StoreResult<Page<RoleDefinition>> {
        list(self.pool(), "role_definitions", &schema::ROLE_DEFINITION, None, req, decode_role).await
    }

    /// Everything the access index needs, as updates to apply to an empty index.
    pub async fn load_index(&self) -> StoreResult<Vec<IndexUpdate>> {
        let mut updates = Vec::new();
        let roles =
            sqlx::query("SELECT * FROM role_definitions").fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        for r in &roles {
            updates.push(IndexUpdate::RoleDefinitionSaved(decode_role(r)?));
        }
        let groups = sqlx::query("SELECT id FROM directory_groups WHERE is_assignable_to_role = 1")
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::Db)?;
        for g in &groups {
            updates.push(IndexUpdate::GroupSaved { group_id: g.id("id")?, is_assignable_to_role: true });
        }
        let members = sqlx::query(
            "SELECT m.group_id, m.member_id FROM group_members m \
             JOIN directory_groups g ON g.id = m.group_id WHERE g.is_assignable_to_role = 1",
        )
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::Db)?;
        for m in &members {
            updates.push(IndexUpdate::MemberAdded { group_id: m.id("group_id")?, member_id: m.id("member_id")? });
        }
        // The management-group tree before the grants: ARM grants above a subscription are found
        // through it.
        updates.extend(self.load_hierarchy().await?);
        let grants = sqlx::query("SELECT id FROM role_assignments WHERE status <> 'Expired'")
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::Db)?;
        for g in &grants {
            if let Some(s) = self.get_schedule(Kind::Assignment, g.id("id")?).await? {
                updates.push(IndexUpdate::GrantAdded(s.to_grant()));
            }
        }
        Ok(updates)
    }
}

impl WriteTx<'_> {
    /// A role definition, read inside the write (share-locked on PostgreSQL).
    pub async fn role_definition(&mut self, id: ObjectId) -> StoreResult<Option<RoleDefinition>> {
        let sql = format!("SELECT * FROM role_definitions WHERE id = $1{}", self.lock_rows(true));
        let row = sqlx::query(&sql).bind(id_text(id)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode_role).transpose()
    }

    pub async fn insert_role_definition(&mut self, r: &RoleDefinition) -> StoreResult<()> {
        directory_only(r)?;
        sqlx::query(
            "INSERT INTO role_definitions (id, template_id, display_name, description, is_built_in, is_enabled, \
             is_privileged, version, role_permissions, created_at, modified_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        )
        .bind(id_text(r.id))
        .bind(id_text(r.template_id))
        .bind(r.display_name.clone())
        .bind(r.description.clone())
        .bind(flag(r.is_built_in))
        .bind(flag(r.is_enabled))
        .bind(flag(r.is_privileged))
        .bind(r.version.clone())
        .bind(permissions_json(&r.role_permissions))
        .bind(micros(r.created))
        .bind(micros(r.modified))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.index(IndexUpdate::RoleDefinitionSaved(r.clone()));
        self.feed("roleDefinition", r.id, "add");
        Ok(())
    }

    pub async fn update_role_definition(&mut self, r: &RoleDefinition) -> StoreResult<()> {
        directory_only(r)?;
        sqlx::query(
            "UPDATE role_definitions SET display_name=$2, description=$3, is_enabled=$4, version=$5, \
             role_permissions=$6, modified_at=$7 WHERE id=$1",
        )
        .bind(id_text(r.id))
        .bind(r.display_name.clone())
        .bind(r.description.clone())
        .bind(flag(r.is_enabled))
        .bind(r.version.clone())
        .bind(permissions_json(&r.role_permissions))
        .bind(micros(r.modified))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.index(IndexUpdate::RoleDefinitionSaved(r.clone()));
        self.feed("roleDefinition", r.id, "update");
        Ok(())
    }

    pub async fn delete_role_definition(&mut self, id: ObjectId) -> StoreResult<()> {
        sqlx::query("DELETE FROM role_definitions WHERE id = $1")
            .bind(id_text(id))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        self.index(IndexUpdate::RoleDefinitionDeleted(id));
        self.feed("roleDefinition", id, "delete");
        Ok(())
    }
}
