//! First start on an empty store: the tenant, the built-in role catalog and the first Global
//! Administrator (a permanent active assignment), all in one audited transaction.

use openpim_core::access::{Grant, GrantSource};
use openpim_core::audit::{category, AuditRecord, AuditResult, AuditTarget};
use openpim_core::catalog::{self, GLOBAL_ADMINISTRATOR};
use openpim_core::directory::{NewUser, ObjectKind};
use openpim_core::scope::DirectoryScope;
use openpim_core::{Instant, ObjectId};
use openpim_store::roles::RoleAssignment;
use openpim_store::Store;

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
    for role in &roles {
        tx.insert_role_definition(role).await?;
    }
    tx.insert_user(&admin).await?;
    tx.insert_role_assignment(&RoleAssignment {
        grant: Grant {
            id: ObjectId::new_v4(),
            principal_id: admin.id,
            role_definition_id: GLOBAL_ADMINISTRATOR,
            scope: DirectoryScope::Tenant,
            start: None,
            end: None,
            source: GrantSource::Assigned,
        },
        principal_type: ObjectKind::User,
        app_scope_id: None,
        created: now,
        created_by: None,
    })
    .await?;
    let record = AuditRecord {
        id: ObjectId::new_v4(),
        at: now,
        category: category::DIRECTORY_MANAGEMENT,
        activity: "Bootstrap tenant".into(),
        operation_type: "Add",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: None,
        targets: vec![AuditTarget {
            id: admin.id.to_string(),
            display_name: Some(admin.display_name.clone()),
            kind: "User",
            user_principal_name: Some(admin.user_principal_name.clone()),
        }],
        additional_details: vec![
            ("tenantId".into(), tenant_id.to_string()),
            ("builtInRoles".into(), role_count.to_string()),
        ],
        correlation_id: ObjectId::new_v4(),
    };
    // The index is loaded from the store after bootstrap, so nothing to apply here.
    tx.commit(&record, |_| {}).await?;
    Ok(Bootstrapped { tenant_id, created_admin: Some(admin.user_principal_name) })
}
