//! Role definitions and role assignments, and loading the access index at start-up.

use crate::codec::{flag, id_text, micros, RowExt};
use crate::list::{list, ListRequest, Page, Restriction};
use crate::schedules::{decode_grant, GRANT_COLUMNS};
use crate::{records, schema, Store, StoreError, StoreResult, WriteTx};
use futures_util::stream::TryStreamExt;
use openpim_core::change::IndexUpdate;
use openpim_core::roles::{azure, AzureRoleProperties, PermissionDialect, RoleDefinition};
use openpim_core::ObjectId;
use sqlx::any::AnyRow;

pub(crate) fn dialect_text(d: PermissionDialect) -> &'static str {
    match d {
        PermissionDialect::Directory => "Directory",
        PermissionDialect::Azure => "Azure",
    }
}

fn decode_dialect(raw: &str) -> StoreResult<PermissionDialect> {
    match raw {
        "Directory" => Ok(PermissionDialect::Directory),
        "Azure" => Ok(PermissionDialect::Azure),
        other => Err(StoreError::Corrupt(format!("role_definitions.dialect: '{other}'"))),
    }
}

/// What a role's name is unique by within its dialect: a directory name exactly (as it always
/// was), an Azure name case-insensitively (ARM's rule).
fn name_key(r: &RoleDefinition) -> String {
    match r.dialect {
        PermissionDialect::Directory => r.display_name.clone(),
        PermissionDialect::Azure => azure::role_name_key(&r.display_name),
    }
}

pub(crate) fn decode_role(r: &AnyRow) -> StoreResult<RoleDefinition> {
    Ok(RoleDefinition {
        id: r.id("id")?,
        template_id: r.id("template_id")?,
        display_name: r.text("display_name")?,
        description: r.text("description")?,
        is_built_in: r.bool("is_built_in")?,
        is_enabled: r.bool("is_enabled")?,
        is_privileged: r.bool("is_privileged")?,
        version: r.opt_text("version")?,
        dialect: decode_dialect(&r.text("dialect")?)?,
        role_permissions: records::role_permissions::decode(&r.text("role_permissions")?)?,
        created: r.time("created_at")?,
        modified: r.time("modified_at")?,
        azure: AzureRoleProperties {
            assignable_scopes: records::string_list::decode(&r.text("assignable_scopes")?)?,
            created_by: r.opt_id("created_by")?,
            updated_by: r.opt_id("updated_by")?,
        },
    })
}

/// Graph's role-definition lists show directory roles only.
fn directory_roles_only() -> Restriction {
    Restriction { sql: "dialect = 'Directory'".into(), params: Vec::new() }
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

    /// A directory role definition (what Graph shows): `None` for an Azure role.
    pub async fn get_directory_role_definition(&self, id: ObjectId) -> StoreResult<Option<RoleDefinition>> {
        Ok(self.get_role_definition(id).await?.filter(|r| r.dialect == PermissionDialect::Directory))
    }

    /// Graph's list of role definitions: directory roles only.
    pub async fn list_role_definitions(&self, req: &ListRequest<'_>) -> StoreResult<Page<RoleDefinition>> {
        list(self.pool(), "role_definitions", &schema::ROLE_DEFINITION, Some(directory_roles_only()), req, decode_role)
            .await
    }

    /// Everything the access index needs, as updates to apply to an empty index (collected; the
    /// server streams them with [`Store::load_index_into`]).
    pub async fn load_index(&self) -> StoreResult<Vec<IndexUpdate>> {
        let mut updates = Vec::new();
        self.load_index_into(|u| updates.push(u)).await?;
        Ok(updates)
    }

    /// Hands every update the access index needs to `apply`, in the order an empty index must
    /// see them, as the rows stream in: one query per table, so a million live assignments cost
    /// one scan, not a million single-row queries through sqlx's worker thread (the start-up
    /// profile of issue #18), and no vector of every update sits beside the index being built.
    pub async fn load_index_into(&self, mut apply: impl FnMut(IndexUpdate)) -> StoreResult<()> {
        let mut roles = sqlx::query("SELECT * FROM role_definitions").fetch(self.pool());
        while let Some(r) = roles.try_next().await.map_err(StoreError::Db)? {
            apply(IndexUpdate::RoleDefinitionSaved(decode_role(&r)?));
        }
        drop(roles);
        // Security groups pass Azure roles on to their (nested) members, role-assignable groups
        // directory roles too; other groups matter as links in a nesting chain.
        let mut groups =
            sqlx::query("SELECT id, is_assignable_to_role, security_enabled FROM directory_groups").fetch(self.pool());
        while let Some(g) = groups.try_next().await.map_err(StoreError::Db)? {
            apply(IndexUpdate::GroupSaved {
                group_id: g.id("id")?,
                is_assignable_to_role: g.bool("is_assignable_to_role")?,
                is_security_enabled: g.bool("security_enabled")?,
            });
        }
        drop(groups);
        let mut members = sqlx::query("SELECT group_id, member_id FROM group_members").fetch(self.pool());
        while let Some(m) = members.try_next().await.map_err(StoreError::Db)? {
            apply(IndexUpdate::MemberAdded { group_id: m.id("group_id")?, member_id: m.id("member_id")? });
        }
        drop(members);
        // The management-group tree before the grants: ARM grants above a subscription are found
        // through it.
        self.load_hierarchy().await?.into_iter().for_each(&mut apply);
        let sql = format!("SELECT {GRANT_COLUMNS} FROM role_assignments WHERE status <> 'Expired'");
        let mut grants = sqlx::query(&sql).fetch(self.pool());
        while let Some(g) = grants.try_next().await.map_err(StoreError::Db)? {
            apply(IndexUpdate::GrantAdded(decode_grant(&g)?));
        }
        Ok(())
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
        sqlx::query(
            "INSERT INTO role_definitions (id, template_id, display_name, description, is_built_in, is_enabled, \
             is_privileged, version, role_permissions, created_at, modified_at, dialect, name_key, \
             assignable_scopes, created_by, updated_by) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
        )
        .bind(id_text(r.id))
        .bind(id_text(r.template_id))
        .bind(r.display_name.clone())
        .bind(r.description.clone())
        .bind(flag(r.is_built_in))
        .bind(flag(r.is_enabled))
        .bind(flag(r.is_privileged))
        .bind(r.version.clone())
        .bind(records::role_permissions::encode(&r.role_permissions)?)
        .bind(micros(r.created))
        .bind(micros(r.modified))
        .bind(dialect_text(r.dialect))
        .bind(name_key(r))
        .bind(records::string_list::encode(&r.azure.assignable_scopes)?)
        .bind(r.azure.created_by.map(id_text))
        .bind(r.azure.updated_by.map(id_text))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.index(IndexUpdate::RoleDefinitionSaved(r.clone()));
        self.feed("roleDefinition", r.id, "add");
        Ok(())
    }

    /// Updates what may change: names, description, state, permissions, assignable scopes and
    /// the updater (the dialect, built-in flag, creation facts and id stay).
    pub async fn update_role_definition(&mut self, r: &RoleDefinition) -> StoreResult<()> {
        sqlx::query(
            "UPDATE role_definitions SET display_name=$2, description=$3, is_enabled=$4, version=$5, \
             role_permissions=$6, modified_at=$7, name_key=$8, assignable_scopes=$9, updated_by=$10 WHERE id=$1",
        )
        .bind(id_text(r.id))
        .bind(r.display_name.clone())
        .bind(r.description.clone())
        .bind(flag(r.is_enabled))
        .bind(r.version.clone())
        .bind(records::role_permissions::encode(&r.role_permissions)?)
        .bind(micros(r.modified))
        .bind(name_key(r))
        .bind(records::string_list::encode(&r.azure.assignable_scopes)?)
        .bind(r.azure.updated_by.map(id_text))
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
