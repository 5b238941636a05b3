//! First start on an empty store: the tenant, the built-in role catalog and the first Global
//! Administrator (a permanent active assignment), all in one audited transaction.

use openpim_core::audit::{category, AuditRecord, AuditResult, AuditTarget};
use openpim_core::catalog::{self, GLOBAL_ADMINISTRATOR};
use openpim_core::directory::{NewUser, ObjectKind};
use openpim_core::roles::{azure, RoleDefinition};
use openpim_core::schedule::{AssignmentType, ExpirationType, Kind, Schedule, ScheduleStatus};
use openpim_core::scope::DirectoryScope;
use openpim_core::{Instant, ObjectId};
use openpim_store::Store;

/// A permanent, active, admin-made assignment (what `POST /roleAssignments` creates).
pub fn direct_assignment(
    principal: ObjectId,
    principal_kind: ObjectKind,
    role: ObjectId,
    scope: DirectoryScope,
    created_by: Option<ObjectId>,
    now: Instant,
) -> Schedule {
    Schedule {
        id: ObjectId::new_v4(),
        kind: Kind::Assignment,
        principal_id: principal,
        principal_kind,
        role_definition_id: role,
        scope: scope.into(),
        assignment_type: Some(AssignmentType::Assigned),
        start: now,
        end: None,
        expiration_type: ExpirationType::NoExpiration,
        duration: None,
        status: ScheduleStatus::Provisioned,
        created_using: None,
        activated_using: None,
        created: now,
        modified: now,
        created_by,
    }
}

pub struct Bootstrapped {
    pub tenant_id: ObjectId,
    /// Set when this start created the tenant.
    pub created_admin: Option<String>,
}

/// Ensures the store is bootstrapped; returns the tenant id.
pub async fn ensure(store: &Store, admin_upn: &str, now: Instant) -> anyhow::Result<Bootstrapped> {
    if let Some(tenant_id) = store.tenant_id().await? {
        return Ok(Bootstrapped { tenant_id, created_admin: None });
    }
    let tenant_id = ObjectId::new_v4();
    let display = admin_upn.split('@').next().unwrap_or("admin").to_string();
    let admin = NewUser {
        user_principal_name: Some(admin_upn.to_string()),
        display_name: Some(format!("{display} (bootstrap administrator)")),
        ..Default::default()
    }
    .build(ObjectId::new_v4(), now)
    .map_err(|e| anyhow::anyhow!("--bootstrap-admin '{admin_upn}': {}", e.message))?;

    let mut tx = store.begin_write().await?;
    tx.insert_tenant(tenant_id, now).await?;
    let roles = catalog::builtin_roles(now);
    let role_count = roles.len();
    let default_rules = openpim_core::policy::rules::default_rules();
    for role in &roles {
        tx.insert_role_definition(role).await?;
        tx.insert_policy(tenant_id, role.id, &default_rules).await?;
    }
    tx.insert_user(&admin).await?;
    tx.insert_schedule(&direct_assignment(
        admin.id,
        ObjectKind::User,
        GLOBAL_ADMINISTRATOR,
        DirectoryScope::Tenant,
        None,
        now,
    ))
    .await?;
    let record = system_record(
        now,
        category::DIRECTORY_MANAGEMENT,
        "Bootstrap tenant",
        "Add",
        &admin,
        vec![("tenantId".into(), tenant_id.to_string()), ("builtInRoles".into(), role_count.to_string())],
    );
    // The index is loaded from the store after bootstrap, so nothing to apply here.
    tx.commit(&record, |_| {}).await?;
    Ok(Bootstrapped { tenant_id, created_admin: Some(admin.user_principal_name) })
}

/// What loading the Azure catalog changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AzureCatalogLoad {
    pub added: usize,
    pub updated: usize,
}

/// Brings the store's built-in Azure roles in line with core's catalog (`azure_catalog`, 928
/// roles): on every start, in one transaction, adding the roles it lacks and rewriting those
/// that differ (a newer catalog after an upgrade). Unchanged roles are not touched, so a restart
/// writes nothing and audits nothing; a start that changes roles records one audit entry. Custom
/// roles are never touched: the catalog's names are refused for them, and the GUIDs are
/// Microsoft's.
pub async fn ensure_azure_catalog(store: &Store, now: Instant) -> anyhow::Result<AzureCatalogLoad> {
    let mut tx = store.begin_write().await?;
    let stored: std::collections::HashMap<ObjectId, RoleDefinition> =
        tx.stored_azure_builtin_roles().await?.into_iter().map(|r| (r.id, r)).collect();
    let mut load = AzureCatalogLoad::default();
    for role in azure::builtin_roles(now) {
        match stored.get(&role.id) {
            None => {
                tx.insert_role_definition(&role).await?;
                load.added += 1;
            }
            Some(existing) if !azure::same_as_catalog(existing, &role) => {
                // Keep when it was first stored; the rest is the catalog's.
                let next = RoleDefinition { created: existing.created, ..role };
                tx.update_role_definition(&next).await?;
                load.updated += 1;
            }
            Some(_) => {}
        }
    }
    if load == AzureCatalogLoad::default() {
        // Nothing to write: dropping the transaction rolls it back.
        return Ok(load);
    }
    let record = AuditRecord {
        id: ObjectId::new_v4(),
        at: now,
        category: category::ROLE_MANAGEMENT,
        activity: "Load Azure built-in roles".into(),
        operation_type: "Add",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: None,
        initiated_by_display_name: None,
        targets: Vec::new(),
        additional_details: vec![
            ("added".into(), load.added.to_string()),
            ("updated".into(), load.updated.to_string()),
        ],
        correlation_id: ObjectId::new_v4(),
    };
    // The index is loaded from the store after this, so nothing to apply here.
    tx.commit(&record, |_| {}).await?;
    Ok(load)
}

/// A successful record of something the server or a local operator did (no signed-in caller),
/// about one user: the tenant's bootstrap and break-glass recovery.
pub(crate) fn system_record(
    now: time::OffsetDateTime,
    category: &'static str,
    activity: &str,
    operation_type: &'static str,
    user: &openpim_core::directory::User,
    additional_details: Vec<(String, String)>,
) -> AuditRecord {
    AuditRecord {
        id: ObjectId::new_v4(),
        at: now,
        category,
        activity: activity.into(),
        operation_type,
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: None,
        initiated_by_display_name: None,
        targets: vec![AuditTarget {
            id: user.id.to_string(),
            display_name: Some(user.display_name.clone()),
            kind: "User",
            user_principal_name: Some(user.user_principal_name.clone()),
            modified_properties: Vec::new(),
        }],
        additional_details,
        correlation_id: ObjectId::new_v4(),
    }
}

/// The display name Azure gives the tenant root management group.
pub const ROOT_GROUP_DISPLAY_NAME: &str = "Tenant Root Group";

/// Ensures the tenant root management group exists (its id is the tenant id, as in Azure):
/// on every start, so stores bootstrapped before the Azure hierarchy existed get it too. Two
/// nodes starting together may race; the loser finds the winner's group.
pub async fn ensure_root_management_group(store: &Store, tenant_id: ObjectId, now: Instant) -> anyhow::Result<()> {
    use openpim_core::azure_resources::ManagementGroup;
    let id = tenant_id.to_string();
    let mut tx = store.begin_write().await?;
    if tx.management_group_for_update(&id).await?.is_some() {
        tx.rollback().await?;
        return Ok(());
    }
    let root = ManagementGroup {
        id: id.clone(),
        display_name: ROOT_GROUP_DISPLAY_NAME.into(),
        parent_id: None,
        updated: now,
        updated_by: None,
    };
    tx.save_management_group(&root, true).await?;
    let record = AuditRecord {
        id: ObjectId::new_v4(),
        at: now,
        category: crate::azure::AUDIT_CATEGORY,
        activity: "Create tenant root management group".into(),
        operation_type: "Add",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: None,
        initiated_by_display_name: None,
        targets: vec![AuditTarget {
            id: format!("/providers/Microsoft.Management/managementGroups/{id}"),
            display_name: Some(ROOT_GROUP_DISPLAY_NAME.into()),
            kind: "Other",
            user_principal_name: None,
            modified_properties: Vec::new(),
        }],
        additional_details: Vec::new(),
        correlation_id: ObjectId::new_v4(),
    };
    match tx.commit(&record, |_| {}).await {
        Ok(()) => Ok(()),
        Err(openpim_store::StoreError::Conflict(_)) if store.get_management_group(&id).await?.is_some() => Ok(()),
        Err(e) => Err(e.into()),
    }
}
