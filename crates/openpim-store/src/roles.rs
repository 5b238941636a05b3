//! Role definitions and role assignments, and loading the access index at start-up.

use crate::codec::{flag, id_text, micros, RowExt};
use crate::list::{list, ListRequest, Page};
use crate::{schema, Store, StoreError, StoreResult, WriteTx};
use openpim_core::access::{Grant, GrantSource};
use openpim_core::change::IndexUpdate;
use openpim_core::directory::ObjectKind;
use openpim_core::roles::{RoleDefinition, RolePermission};
use openpim_core::scope::DirectoryScope;
use openpim_core::ObjectId;
use serde_json::{json, Value};
use sqlx::any::AnyRow;

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
        role_permissions: decode_permissions(&r.text("role_permissions")?)?,
        created: r.time("created_at")?,
        modified: r.time("modified_at")?,
    })
}

/// A role assignment row.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleAssignment {
    pub grant: Grant,
    pub principal_type: ObjectKind,
    pub app_scope_id: Option<String>,
    pub created: openpim_core::Instant,
    pub created_by: Option<ObjectId>,
}

fn decode_assignment(r: &AnyRow) -> StoreResult<RoleAssignment> {
    let scope_raw = r.text("directory_scope_id")?;
    let scope = DirectoryScope::parse(&scope_raw).map_err(|_| StoreError::Corrupt(format!("scope '{scope_raw}'")))?;
    let source = match r.text("source")?.as_str() {
        "activated" => GrantSource::Activated,
        _ => GrantSource::Assigned,
    };
    let principal_type = ObjectKind::parse(&r.text("principal_type")?)
        .ok_or_else(|| StoreError::Corrupt("principal_type".into()))?;
    Ok(RoleAssignment {
        grant: Grant {
            id: r.id("id")?,
            principal_id: r.id("principal_id")?,
            role_definition_id: r.id("role_definition_id")?,
            scope,
            start: r.opt_time("start_at")?,
            end: r.opt_time("end_at")?,
            source,
        },
        principal_type,
        app_scope_id: r.opt_text("app_scope_id")?,
        created: r.time("created_at")?,
        created_by: r.opt_text("created_by")?.map(|s| crate::codec::parse_id(&s)).transpose()?,
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

    pub async fn get_role_assignment(&self, id: ObjectId) -> StoreResult<Option<RoleAssignment>> {
        let row = sqlx::query("SELECT * FROM role_assignments WHERE id = $1")
            .bind(id_text(id))
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode_assignment).transpose()
    }

    pub async fn list_role_assignments(&self, req: &ListRequest<'_>) -> StoreResult<Page<RoleAssignment>> {
        list(self.pool(), "role_assignments", &schema::ROLE_ASSIGNMENT, None, req, decode_assignment).await
    }

    pub async fn count_assignments_of_role(&self, role: ObjectId) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM role_assignments WHERE role_definition_id = $1")
            .bind(id_text(role))
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::Db)?;
        Ok(row.int("n")? as u64)
    }

    /// Everything the access index needs, as updates to apply to an empty index.
    pub async fn load_index(&self) -> StoreResult<Vec<IndexUpdate>> {
        let mut updates = Vec::new();
        let roles = sqlx::query("SELECT * FROM role_definitions").fetch_all(self.pool()).await.map_err(StoreError::Db)?;
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
        let grants = sqlx::query("SELECT * FROM role_assignments").fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        for g in &grants {
            updates.push(IndexUpdate::GrantAdded(decode_assignment(g)?.grant));
        }
        Ok(updates)
    }
}

impl WriteTx<'_> {
    pub async fn insert_role_definition(&mut self, r: &RoleDefinition) -> StoreResult<()> {
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

    /// Is there already an assignment of `role` to `principal` at `scope`?
    pub async fn assignment_exists(&mut self, principal: ObjectId, role: ObjectId, scope: &DirectoryScope) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM role_assignments WHERE principal_id = $1 AND role_definition_id = $2 AND directory_scope_id = $3",
        )
        .bind(id_text(principal))
        .bind(id_text(role))
        .bind(scope.to_string())
        .fetch_optional(self.conn())
        .await
        .map_err(StoreError::Db)?;
        Ok(row.is_some())
    }

    /// Tenant-wide assignments of `role` (for the last-Global-Administrator rule), read inside
    /// the write transaction so two concurrent removals cannot both see "one more left".
    pub async fn count_tenant_assignments_of_role(&mut self, role: ObjectId) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM role_assignments WHERE role_definition_id = $1 AND directory_scope_id = '/'",
        )
        .bind(id_text(role))
        .fetch_one(self.conn())
        .await
        .map_err(StoreError::Db)?;
        Ok(row.int("n")? as u64)
    }

    /// Inserts an assignment; a duplicate (principal, role, scope) is a `Conflict`.
    pub async fn insert_role_assignment(&mut self, a: &RoleAssignment) -> StoreResult<()> {
        let g = &a.grant;
        sqlx::query(
            "INSERT INTO role_assignments (id, principal_id, principal_type, role_definition_id, directory_scope_id, \
             app_scope_id, source, start_at, end_at, created_at, created_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        )
        .bind(id_text(g.id))
        .bind(id_text(g.principal_id))
        .bind(a.principal_type.as_str())
        .bind(id_text(g.role_definition_id))
        .bind(g.scope.to_string())
        .bind(a.app_scope_id.clone())
        .bind(match g.source {
            GrantSource::Assigned => "assigned",
            GrantSource::Activated => "activated",
        })
        .bind(g.start.map(micros))
        .bind(g.end.map(micros))
        .bind(micros(a.created))
        .bind(a.created_by.map(id_text))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.index(IndexUpdate::GrantAdded(g.clone()));
        self.feed("roleAssignment", g.id, "add");
        Ok(())
    }

    pub async fn delete_role_assignment(&mut self, id: ObjectId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM role_assignments WHERE id = $1")
            .bind(id_text(id))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        self.index(IndexUpdate::GrantRemoved(id));
        self.feed("roleAssignment", id, "delete");
        Ok(true)
    }
}
