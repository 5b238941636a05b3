//! The Azure resource hierarchy (migration 0011): management groups, subscriptions, resource
//! groups, resources. Keys are ASCII-lowercased ids (ARM compares them ignoring case); the
//! spelling a resource was created with is kept for display.
//!
//! Every change notes a change-feed row (`azureManagementGroup`, `azureSubscription`,
//! `azureResourceGroup`, `azureResource`) and, where the ancestry of scopes changes, the
//! `ManagementGroupParentSet` index update, so this node's and other nodes' access indexes walk
//! the same management-group tree.

use crate::codec::{micros, RowExt};
use crate::schedules::table;
use crate::{Store, StoreError, StoreResult, WriteTx};
use openpim_core::azure_resources::{
    management_group_scope, subscription_scope, ManagementGroup, Resource, ResourceGroup, Subscription,
};
use openpim_core::change::IndexUpdate;
use openpim_core::schedule::{Kind, Schedule};
use openpim_core::scope::{ArmScope, ManagementGroupTree};
use sqlx::any::AnyRow;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Change-feed entity names.
pub const FEED_MANAGEMENT_GROUP: &str = "azureManagementGroup";
pub const FEED_SUBSCRIPTION: &str = "azureSubscription";
pub const FEED_RESOURCE_GROUP: &str = "azureResourceGroup";
pub const FEED_RESOURCE: &str = "azureResource";

fn key(text: &str) -> String {
    text.to_ascii_lowercase()
}

fn decode_group(r: &AnyRow) -> StoreResult<ManagementGroup> {
    Ok(ManagementGroup {
        id: r.text("id")?,
        display_name: r.text("display_name")?,
        parent_id: r.opt_text("parent_id")?,
        updated: r.time("updated_at")?,
        updated_by: r.opt_text("updated_by")?.map(|s| crate::codec::parse_id(&s)).transpose()?,
    })
}

/// Management groups with their parent's display spelling.
const GROUPS: &str = "SELECT g.*, p.id AS parent_id FROM azure_management_groups g \
                      LEFT JOIN azure_management_groups p ON p.id_key = g.parent_key";

fn decode_subscription(r: &AnyRow) -> StoreResult<Subscription> {
    let state = r.text("state")?;
    Ok(Subscription {
        id: r.id("id")?,
        display_name: r.text("display_name")?,
        management_group_id: r.text("management_group_id")?,
        state: state.parse().map_err(|_| StoreError::Corrupt(format!("subscription state '{state}'")))?,
        created: r.time("created_at")?,
        modified: r.time("modified_at")?,
    })
}

const SUBSCRIPTIONS: &str = "SELECT s.*, g.id AS management_group_id FROM azure_subscriptions s \
                             JOIN azure_management_groups g ON g.id_key = s.management_group_key";

fn tags(r: &AnyRow) -> StoreResult<BTreeMap<String, String>> {
    let text = r.text("tags")?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("tags '{text}': {e}")))
}

fn tags_text(tags: &BTreeMap<String, String>) -> String {
    serde_json::to_string(tags).expect("a map of strings serialises")
}

fn decode_resource_group(r: &AnyRow) -> StoreResult<ResourceGroup> {
    Ok(ResourceGroup {
        subscription_id: r.id("subscription_id")?,
        name: r.text("name")?,
        location: r.text("location")?,
        tags: tags(r)?,
        managed_by: r.opt_text("managed_by")?,
        created: r.time("created_at")?,
        modified: r.time("modified_at")?,
    })
}

fn decode_resource(r: &AnyRow) -> StoreResult<Resource> {
    let id = r.text("id")?;
    Ok(Resource {
        id: ArmScope::parse(&id).map_err(|e| StoreError::Corrupt(format!("resource id '{id}': {e}")))?,
        resource_type: r.text("resource_type")?,
        name: r.text("name")?,
        location: r.opt_text("location")?,
        tags: tags(r)?,
        kind: r.opt_text("kind")?,
        properties: r.opt_text("properties")?,
        sku: r.opt_text("sku")?,
        created: r.time("created_at")?,
        modified: r.time("modified_at")?,
    })
}

/// `LIKE` pattern matching every key strictly below `prefix` (`_`, `%` and `\` escaped).
fn below(prefix: &str) -> String {
    let escaped: String = prefix
        .chars()
        .flat_map(|c| match c {
            '\\' | '%' | '_' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("{escaped}/%")
}

/// The parent updates that rebuild the management-group tree from stored rows.
fn tree_updates(groups: &[ManagementGroup], subscriptions: &[Subscription]) -> Vec<IndexUpdate> {
    let mut updates = Vec::new();
    for g in groups {
        if let (Ok(child), Some(Ok(parent))) = (g.scope(), g.parent_id.as_deref().map(management_group_scope)) {
            updates.push(IndexUpdate::ManagementGroupParentSet { child, parent: Some(parent) });
        }
    }
    for s in subscriptions {
        if let Ok(parent) = management_group_scope(&s.management_group_id) {
            updates.push(IndexUpdate::ManagementGroupParentSet { child: s.scope(), parent: Some(parent) });
        }
    }
    updates
}

impl Store {
    pub async fn get_management_group(&self, id: &str) -> StoreResult<Option<ManagementGroup>> {
        let sql = format!("{GROUPS} WHERE g.id_key = $1");
        let row = sqlx::query(&sql).bind(key(id)).fetch_optional(self.pool()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode_group).transpose()
    }

    /// Every management group, ordered by id.
    pub async fn list_management_groups(&self) -> StoreResult<Vec<ManagementGroup>> {
        let sql = format!("{GROUPS} ORDER BY g.id_key");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        rows.iter().map(decode_group).collect()
    }

    pub async fn get_subscription(&self, id: Uuid) -> StoreResult<Option<Subscription>> {
        let sql = format!("{SUBSCRIPTIONS} WHERE s.id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(self.pool()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode_subscription).transpose()
    }

    /// Every subscription, ordered by id.
    pub async fn list_subscriptions(&self) -> StoreResult<Vec<Subscription>> {
        let sql = format!("{SUBSCRIPTIONS} ORDER BY s.id");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        rows.iter().map(decode_subscription).collect()
    }

    pub async fn get_resource_group(&self, subscription: Uuid, name: &str) -> StoreResult<Option<ResourceGroup>> {
        let scope_key = key(&format!("/subscriptions/{subscription}/resourceGroups/{name}"));
        let row = sqlx::query("SELECT * FROM azure_resource_groups WHERE scope_key = $1")
            .bind(scope_key)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode_resource_group).transpose()
    }

    /// The resource groups of a subscription, ordered by name (ignoring case).
    pub async fn list_resource_groups(&self, subscription: Uuid) -> StoreResult<Vec<ResourceGroup>> {
        let rows = sqlx::query("SELECT * FROM azure_resource_groups WHERE subscription_id = $1 ORDER BY scope_key")
            .bind(subscription.to_string())
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::Db)?;
        rows.iter().map(decode_resource_group).collect()
    }

    pub async fn get_resource(&self, id: &ArmScope) -> StoreResult<Option<Resource>> {
        let row = sqlx::query("SELECT * FROM azure_resources WHERE scope_key = $1")
            .bind(id.key().to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode_resource).transpose()
    }

    /// The resources (child resources included) of a resource group, ordered by id.
    pub async fn list_resources(&self, resource_group: &ArmScope) -> StoreResult<Vec<Resource>> {
        let rows = sqlx::query("SELECT * FROM azure_resources WHERE resource_group_key = $1 ORDER BY scope_key")
            .bind(resource_group.key().to_string())
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::Db)?;
        rows.iter().map(decode_resource).collect()
    }

    /// Every resource of a subscription (in all its resource groups, child resources included),
    /// ordered by id.
    pub async fn list_resources_in_subscription(&self, subscription: Uuid) -> StoreResult<Vec<Resource>> {
        let rows = sqlx::query("SELECT * FROM azure_resources WHERE scope_key LIKE $1 ESCAPE '\\' ORDER BY scope_key")
            .bind(below(&format!("/subscriptions/{subscription}")))
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::Db)?;
        rows.iter().map(decode_resource).collect()
    }

    /// The management-group tree as index updates (for loading the access index).
    pub async fn load_hierarchy(&self) -> StoreResult<Vec<IndexUpdate>> {
        Ok(tree_updates(&self.list_management_groups().await?, &self.list_subscriptions().await?))
    }

    /// What the index must do about a feed entry of the hierarchy, from current state.
    pub(crate) async fn hierarchy_updates_for(&self, entity: &str, id: &str) -> StoreResult<Vec<IndexUpdate>> {
        Ok(match entity {
            FEED_MANAGEMENT_GROUP => {
                let Ok(child) = management_group_scope(id) else { return Ok(vec![]) };
                let parent = self.get_management_group(id).await?.and_then(|g| g.parent_id);
                vec![IndexUpdate::ManagementGroupParentSet {
                    child,
                    parent: parent.as_deref().map(management_group_scope).transpose().ok().flatten(),
                }]
            }
            FEED_SUBSCRIPTION => {
                let Ok(sub) = Uuid::try_parse(id) else { return Ok(vec![]) };
                let parent = self.get_subscription(sub).await?.map(|s| s.management_group_id);
                vec![IndexUpdate::ManagementGroupParentSet {
                    child: subscription_scope(sub),
                    parent: parent.as_deref().map(management_group_scope).transpose().ok().flatten(),
                }]
            }
            _ => vec![],
        })
    }
}

impl WriteTx<'_> {
    /// A management group, read (row-locked on PostgreSQL) inside the write.
    pub async fn management_group_for_update(&mut self, id: &str) -> StoreResult<Option<ManagementGroup>> {
        let sql = format!("SELECT g.*, p.id AS parent_id FROM azure_management_groups g LEFT JOIN azure_management_groups p ON p.id_key = g.parent_key WHERE g.id_key = $1{}", self.lock_of_first(false));
        let row = sqlx::query(&sql).bind(key(id)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode_group).transpose()
    }

    /// `FOR UPDATE OF g` on PostgreSQL (a joined query locks only the named table's row).
    fn lock_of_first(&self, share: bool) -> String {
        match self.lock_rows(share) {
            "" => String::new(),
            lock => format!("{lock} OF g"),
        }
    }

    /// The management-group tree as committed, read inside the write (every group and
    /// subscription share-locked on PostgreSQL, so a concurrent move on another node waits):
    /// what a move is checked against.
    pub async fn management_group_tree(&mut self) -> StoreResult<ManagementGroupTree> {
        let sql = format!("{GROUPS}{}", self.lock_of_first(true));
        let rows = sqlx::query(&sql).fetch_all(self.conn()).await.map_err(StoreError::Db)?;
        let groups = rows.iter().map(decode_group).collect::<StoreResult<Vec<_>>>()?;
        let mut tree = ManagementGroupTree::new();
        for update in tree_updates(&groups, &[]) {
            if let IndexUpdate::ManagementGroupParentSet { child, parent } = update {
                // Stored rows were checked when written; a refusal would mean a stored cycle,
                // which the walk's depth bound keeps harmless.
                let _ = tree.set_parent(&child, parent);
            }
        }
        Ok(tree)
    }

    /// How many management groups and subscriptions sit directly in group `id`.
    pub async fn management_group_children(&mut self, id: &str) -> StoreResult<(usize, usize)> {
        let groups = sqlx::query("SELECT COUNT(*) AS n FROM azure_management_groups WHERE parent_key = $1")
            .bind(key(id))
            .fetch_one(self.conn())
            .await
            .map_err(StoreError::Db)?
            .int("n")?;
        let subscriptions =
            sqlx::query("SELECT COUNT(*) AS n FROM azure_subscriptions WHERE management_group_key = $1")
                .bind(key(id))
                .fetch_one(self.conn())
                .await
                .map_err(StoreError::Db)?
                .int("n")?;
        Ok((groups as usize, subscriptions as usize))
    }

    /// Creates or replaces a management group (its parent must exist).
    pub async fn save_management_group(&mut self, g: &ManagementGroup, created: bool) -> StoreResult<()> {
        let parent_key = g.parent_id.as_deref().map(key);
        let updated_by = g.updated_by.map(|id| id.to_string());
        let sql = if created {
            "INSERT INTO azure_management_groups (id_key, id, display_name, parent_key, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        } else {
            "UPDATE azure_management_groups SET id = $2, display_name = $3, parent_key = $4, updated_at = $5, \
             updated_by = $6 WHERE id_key = $1"
        };
        sqlx::query(sql)
            .bind(key(&g.id))
            .bind(g.id.clone())
            .bind(g.display_name.clone())
            .bind(parent_key)
            .bind(micros(g.updated))
            .bind(updated_by)
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        self.feed(FEED_MANAGEMENT_GROUP, key(&g.id), if created { "add" } else { "update" });
        if let (Ok(child), Some(Ok(parent))) = (g.scope(), g.parent_id.as_deref().map(management_group_scope)) {
            self.index(IndexUpdate::ManagementGroupParentSet { child, parent: Some(parent) });
        }
        Ok(())
    }

    /// Deletes an (empty) management group and the role assignments and eligibilities at it.
    pub async fn delete_management_group(&mut self, g: &ManagementGroup) -> StoreResult<()> {
        if let Ok(scope) = g.scope() {
            self.remove_schedules_within(&scope).await?;
            self.index(IndexUpdate::ManagementGroupParentSet { child: scope, parent: None });
        }
        sqlx::query("DELETE FROM azure_management_groups WHERE id_key = $1")
            .bind(key(&g.id))
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        self.feed(FEED_MANAGEMENT_GROUP, key(&g.id), "delete");
        Ok(())
    }

    /// A subscription, read (row-locked on PostgreSQL) inside the write.
    pub async fn subscription_for_update(&mut self, id: Uuid) -> StoreResult<Option<Subscription>> {
        let sql = format!(
            "SELECT s.*, g.id AS management_group_id FROM azure_subscriptions s \
             JOIN azure_management_groups g ON g.id_key = s.management_group_key WHERE s.id = $1{}",
            match self.lock_rows(false) {
                "" => String::new(),
                lock => format!("{lock} OF s"),
            }
        );
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode_subscription).transpose()
    }

    /// Registers or updates a subscription (its management group must exist).
    pub async fn save_subscription(&mut self, s: &Subscription, created: bool) -> StoreResult<()> {
        let sql = if created {
            "INSERT INTO azure_subscriptions (id, display_name, management_group_key, state, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        } else {
            "UPDATE azure_subscriptions SET display_name = $2, management_group_key = $3, state = $4, \
             created_at = $5, modified_at = $6 WHERE id = $1"
        };
        sqlx::query(sql)
            .bind(s.id.to_string())
            .bind(s.display_name.clone())
            .bind(key(&s.management_group_id))
            .bind(s.state.as_ref().to_string())
            .bind(micros(s.created))
            .bind(micros(s.modified))
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        self.feed(FEED_SUBSCRIPTION, s.id, if created { "add" } else { "update" });
        if let Ok(parent) = management_group_scope(&s.management_group_id) {
            self.index(IndexUpdate::ManagementGroupParentSet { child: s.scope(), parent: Some(parent) });
        }
        Ok(())
    }

    /// A resource group, read (row-locked on PostgreSQL) inside the write.
    pub async fn resource_group_for_update(&mut self, scope: &ArmScope) -> StoreResult<Option<ResourceGroup>> {
        let sql = format!("SELECT * FROM azure_resource_groups WHERE scope_key = $1{}", self.lock_rows(false));
        let row = sqlx::query(&sql)
            .bind(scope.key().to_string())
            .fetch_optional(self.conn())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode_resource_group).transpose()
    }

    /// Creates or replaces a resource group.
    pub async fn save_resource_group(&mut self, rg: &ResourceGroup, created: bool) -> StoreResult<()> {
        let scope = rg.scope().map_err(|e| StoreError::Corrupt(e.message))?;
        let sql = if created {
            "INSERT INTO azure_resource_groups (scope_key, subscription_id, name, location, tags, managed_by, \
             created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        } else {
            "UPDATE azure_resource_groups SET subscription_id = $2, name = $3, location = $4, tags = $5, \
             managed_by = $6, created_at = $7, modified_at = $8 WHERE scope_key = $1"
        };
        sqlx::query(sql)
            .bind(scope.key().to_string())
            .bind(rg.subscription_id.to_string())
            .bind(rg.name.clone())
            .bind(rg.location.clone())
            .bind(tags_text(&rg.tags))
            .bind(rg.managed_by.clone())
            .bind(micros(rg.created))
            .bind(micros(rg.modified))
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        self.feed(FEED_RESOURCE_GROUP, scope.key(), if created { "add" } else { "update" });
        Ok(())
    }

    /// Deletes a resource group with every resource in it and every role assignment and
    /// eligibility at it or below, in this write. Returns how many resources went with it.
    pub async fn delete_resource_group(&mut self, rg: &ResourceGroup) -> StoreResult<u64> {
        let scope = rg.scope().map_err(|e| StoreError::Corrupt(e.message))?;
        self.remove_schedules_within(&scope).await?;
        let resources = sqlx::query("DELETE FROM azure_resources WHERE resource_group_key = $1")
            .bind(scope.key().to_string())
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?
            .rows_affected();
        sqlx::query("DELETE FROM azure_resource_groups WHERE scope_key = $1")
            .bind(scope.key().to_string())
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        self.feed(FEED_RESOURCE_GROUP, scope.key(), "delete");
        Ok(resources)
    }

    /// A resource, read (row-locked on PostgreSQL) inside the write.
    pub async fn resource_for_update(&mut self, id: &ArmScope) -> StoreResult<Option<Resource>> {
        let sql = format!("SELECT * FROM azure_resources WHERE scope_key = $1{}", self.lock_rows(false));
        let row =
            sqlx::query(&sql).bind(id.key().to_string()).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode_resource).transpose()
    }

    /// Creates or replaces a resource in the resource group `resource_group`.
    pub async fn save_resource(&mut self, r: &Resource, resource_group: &ArmScope, created: bool) -> StoreResult<()> {
        let sql = if created {
            "INSERT INTO azure_resources (scope_key, id, resource_group_key, resource_type, name, location, tags, \
             kind, properties, sku, created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        } else {
            "UPDATE azure_resources SET id = $2, resource_group_key = $3, resource_type = $4, name = $5, \
             location = $6, tags = $7, kind = $8, properties = $9, sku = $10, created_at = $11, modified_at = $12 \
             WHERE scope_key = $1"
        };
        sqlx::query(sql)
            .bind(r.id.key().to_string())
            .bind(r.id.as_str().to_string())
            .bind(resource_group.key().to_string())
            .bind(r.resource_type.clone())
            .bind(r.name.clone())
            .bind(r.location.clone())
            .bind(tags_text(&r.tags))
            .bind(r.kind.clone())
            .bind(r.properties.clone())
            .bind(r.sku.clone())
            .bind(micros(r.created))
            .bind(micros(r.modified))
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        self.feed(FEED_RESOURCE, r.id.key(), if created { "add" } else { "update" });
        Ok(())
    }

    /// Deletes a resource, its child resources and the role assignments and eligibilities at
    /// them. Returns how many child resources went with it.
    pub async fn delete_resource(&mut self, r: &Resource) -> StoreResult<u64> {
        self.remove_schedules_within(&r.id).await?;
        let children = sqlx::query("DELETE FROM azure_resources WHERE scope_key LIKE $1 ESCAPE '\\'")
            .bind(below(r.id.key()))
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?
            .rows_affected();
        sqlx::query("DELETE FROM azure_resources WHERE scope_key = $1")
            .bind(r.id.key().to_string())
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        self.feed(FEED_RESOURCE, r.id.key(), "delete");
        Ok(children)
    }

    /// Every role assignment and eligibility (live or expired) at `scope` or below it, compared
    /// ignoring case as ARM compares scopes.
    pub async fn schedules_within(&mut self, kind: Kind, scope: &ArmScope) -> StoreResult<Vec<Schedule>> {
        let sql = format!(
            "SELECT * FROM {} WHERE LOWER(directory_scope_id) = $1 OR LOWER(directory_scope_id) LIKE $2 ESCAPE '\\'",
            table(kind)
        );
        let rows = sqlx::query(&sql)
            .bind(scope.key().to_string())
            .bind(below(scope.key()))
            .fetch_all(self.conn())
            .await
            .map_err(StoreError::Db)?;
        rows.iter().map(|r| crate::schedules::decode_schedule(r, kind, "id", "principal_id")).collect()
    }

    /// Removes what [`WriteTx::schedules_within`] finds (eligibilities take their activations
    /// with them), with their index updates and feed rows.
    async fn remove_schedules_within(&mut self, scope: &ArmScope) -> StoreResult<()> {
        for kind in [Kind::Eligibility, Kind::Assignment] {
            for schedule in self.schedules_within(kind, scope).await? {
                // An activation may already have gone with its eligibility.
                if self.schedule(kind, schedule.id).await?.is_some() {
                    self.remove_schedule(&schedule).await?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::below;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(below("/subscriptions/s/resourcegroups/a_b"), "/subscriptions/s/resourcegroups/a\\_b/%");
        assert_eq!(below("x%\\"), "x\\%\\\\/%");
    }
}
