//! The audit log table.

use crate::codec::{id_text, micros, RowExt};
use crate::list::{list, ListRequest, Page};
use crate::{schema, Store, StoreError, StoreResult};
use openpim_core::audit::{detail, AuditRecord, AuditResult, AuditTarget, ModifiedProperty};
use openpim_core::scope::DirectoryScope;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

pub(crate) async fn insert(conn: &mut AnyConnection, r: &AuditRecord) -> StoreResult<()> {
    let mut r = r.clone();
    enrich(conn, &mut r).await?;
    let targets: Vec<Value> = r
        .targets
        .iter()
        .map(|t| {
            let modified: Vec<Value> = t
                .modified_properties
                .iter()
                .map(|p| json!({"displayName": p.display_name, "oldValue": p.old_value, "newValue": p.new_value}))
                .collect();
            json!({"id": t.id, "displayName": t.display_name, "type": t.kind,
                   "userPrincipalName": t.user_principal_name, "modifiedProperties": modified})
        })
        .collect();
    let details: Vec<Value> = r.additional_details.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    sqlx::query(
        "INSERT INTO audit_log (id, activity_at, category, activity_display_name, operation_type, result, \
         result_reason, initiated_by_user_id, initiated_by_upn, target_resources, additional_details, \
         correlation_id, logged_by_service, initiated_by_display_name) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
    )
    .bind(id_text(r.id))
    .bind(micros(r.at))
    .bind(r.category)
    .bind(r.activity.clone())
    .bind(r.operation_type)
    .bind(r.result.as_str())
    .bind(r.result_reason.clone())
    .bind(r.initiated_by_id.map(id_text))
    .bind(r.initiated_by_upn.clone())
    .bind(Value::Array(targets).to_string())
    .bind(Value::Array(details).to_string())
    .bind(id_text(r.correlation_id))
    .bind(r.logged_by_service())
    .bind(r.initiated_by_display_name.clone())
    .execute(conn)
    .await
    .map_err(StoreError::Db)?;
    Ok(())
}

/// What the directory calls an object, and which kind of object it is.
struct Named {
    kind: &'static str,
    display_name: String,
    user_principal_name: Option<String>,
}

/// Looks `id` up among users, groups, service principals, role definitions, administrative units
/// and applications (ids are GUIDs, unique across them). `None` when no such object exists (deleted, or never was).
async fn lookup(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Named>> {
    let id = id.to_ascii_lowercase();
    if let Some(row) = sqlx::query("SELECT display_name, user_principal_name FROM users WHERE id = $1")
        .bind(&id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::Db)?
    {
        return Ok(Some(Named {
            kind: "User",
            display_name: row.text("display_name")?,
            user_principal_name: Some(row.text("user_principal_name")?),
        }));
    }
    for (table, kind) in [
        ("directory_groups", "Group"),
        ("service_principals", "ServicePrincipal"),
        ("role_definitions", "Role"),
        ("administrative_units", "Other"),
        ("applications", "Application"),
    ] {
        let row = sqlx::query(&format!("SELECT display_name FROM {table} WHERE id = $1"))
            .bind(&id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::Db)?;
        if let Some(row) = row {
            return Ok(Some(Named { kind, display_name: row.text("display_name")?, user_principal_name: None }));
        }
    }
    Ok(None)
}

/// The name of a directory scope: "Directory" for the tenant, else the unit's or object's name.
async fn scope_name(conn: &mut AnyConnection, raw: &str) -> StoreResult<String> {
    Ok(match DirectoryScope::parse(raw) {
        Ok(DirectoryScope::Tenant) => detail::TENANT_SCOPE_NAME.to_string(),
        Ok(DirectoryScope::AdministrativeUnit(id) | DirectoryScope::Object(id)) => {
            lookup(conn, &id.to_string()).await?.map(|n| n.display_name).unwrap_or_else(|| raw.to_string())
        }
        Err(_) => raw.to_string(),
    })
}

/// Names what the writer identified by id only: every target, the initiator, and each id detail
/// of [`detail::NAMED_IDS`] (the scope among them). Run on every record the store writes,
/// successes and refusals alike, so no writer can leave bare ids. What cannot be resolved (an
/// object deleted since, or an id a refused request made up) is named by its id.
pub(crate) async fn enrich(conn: &mut AnyConnection, r: &mut AuditRecord) -> StoreResult<()> {
    for t in &mut r.targets {
        if t.display_name.is_some() && (t.kind != "User" || t.user_principal_name.is_some()) {
            continue;
        }
        match lookup(conn, &t.id).await? {
            Some(n) => {
                // PIM writers call every principal "User"; a group principal is a Group, and a
                // service principal a ServicePrincipal.
                if t.kind == "User" && matches!(n.kind, "Group" | "ServicePrincipal") {
                    t.kind = n.kind;
                }
                t.display_name.get_or_insert(n.display_name);
                if t.user_principal_name.is_none() {
                    t.user_principal_name = n.user_principal_name;
                }
            }
            None => {
                t.display_name.get_or_insert_with(|| t.id.clone());
            }
        }
    }
    if let Some(id) = r.initiated_by_id {
        if r.initiated_by_display_name.is_none() || r.initiated_by_upn.is_none() {
            if let Some(n) = lookup(conn, &id.to_string()).await? {
                r.initiated_by_display_name.get_or_insert(n.display_name);
                if r.initiated_by_upn.is_none() {
                    r.initiated_by_upn = n.user_principal_name;
                }
            }
        }
    }
    for &(id_key, name_key) in detail::NAMED_IDS {
        let Some(pos) = r.additional_details.iter().position(|(k, _)| k == id_key) else { continue };
        if r.additional_details.iter().any(|(k, _)| k == name_key) {
            continue;
        }
        let raw = r.additional_details[pos].1.clone();
        let name = if id_key == detail::DIRECTORY_SCOPE_ID {
            scope_name(conn, &raw).await?
        } else {
            lookup(conn, &raw).await?.map(|n| n.display_name).unwrap_or(raw)
        };
        r.additional_details.insert(pos + 1, (name_key.to_string(), name));
    }
    Ok(())
}

/// An audit row as stored; the server renders it as a `directoryAudit`.
#[derive(Debug, Clone)]
pub struct StoredAudit {
    pub record: AuditRecord,
    pub logged_by_service: String,
}

fn static_str(s: &str, allowed: &[&'static str]) -> &'static str {
    allowed.iter().find(|a| **a == s).copied().unwrap_or("Other")
}

fn decode(row: &AnyRow) -> StoreResult<StoredAudit> {
    use openpim_core::audit::category::*;
    let targets: Vec<Value> = serde_json::from_str(&row.text("target_resources")?)
        .map_err(|e| StoreError::Corrupt(format!("target_resources: {e}")))?;
    let details: Vec<Value> = serde_json::from_str(&row.text("additional_details")?)
        .map_err(|e| StoreError::Corrupt(format!("additional_details: {e}")))?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(StoredAudit {
        record: AuditRecord {
            id: row.id("id")?,
            at: row.time("activity_at")?,
            category: static_str(
                &row.text("category")?,
                &[
                    USER_MANAGEMENT,
                    GROUP_MANAGEMENT,
                    ROLE_MANAGEMENT,
                    DIRECTORY_MANAGEMENT,
                    APPLICATION_MANAGEMENT,
                    AZURE_RESOURCE_MANAGEMENT,
                ],
            ),
            activity: row.text("activity_display_name")?,
            operation_type: static_str(
                &row.text("operation_type")?,
                &["Add", "Update", "Delete", "Assign", "Unassign", "Read"],
            ),
            result: if row.text("result")? == "success" { AuditResult::Success } else { AuditResult::Failure },
            result_reason: row.text("result_reason")?,
            initiated_by_id: row.opt_text("initiated_by_user_id")?.map(|s| crate::codec::parse_id(&s)).transpose()?,
            initiated_by_upn: row.opt_text("initiated_by_upn")?,
            initiated_by_display_name: row.opt_text("initiated_by_display_name")?,
            targets: targets
                .iter()
                .map(|t| AuditTarget {
                    id: s(t, "id").unwrap_or_default(),
                    display_name: s(t, "displayName"),
                    kind: static_str(
                        &s(t, "type").unwrap_or_default(),
                        &["User", "Group", "Role", "Directory", "Application", "ServicePrincipal", "Other"],
                    ),
                    user_principal_name: s(t, "userPrincipalName"),
                    modified_properties: t["modifiedProperties"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| ModifiedProperty {
                            display_name: s(p, "displayName").unwrap_or_default(),
                            old_value: s(p, "oldValue"),
                            new_value: s(p, "newValue"),
                        })
                        .collect(),
                })
                .collect(),
            additional_details: details
                .iter()
                .map(|d| (s(d, "key").unwrap_or_default(), s(d, "value").unwrap_or_default()))
                .collect(),
            correlation_id: row.id("correlation_id")?,
        },
        logged_by_service: row.text("logged_by_service")?,
    })
}

impl Store {
    /// Records an event that changes nothing else (a denied or failed attempt), through the one
    /// write path. `apply` gets the index updates of whatever group commit it joins, exactly as
    /// for [`crate::WriteTx::commit`].
    pub async fn record_audit(
        &self,
        record: &AuditRecord,
        apply: impl FnOnce(Vec<openpim_core::change::IndexUpdate>),
    ) -> StoreResult<()> {
        crate::write::record_only(self, record, apply).await
    }

    pub async fn list_audit(&self, req: &ListRequest<'_>) -> StoreResult<Page<StoredAudit>> {
        list(self.pool(), "audit_log", &schema::DIRECTORY_AUDIT, None, req, decode).await
    }

    /// Opens a consistent view of the audit log for an export: one read-only transaction, so
    /// paging through it with offsets returns every matching record exactly once, whatever is
    /// written meanwhile (WAL snapshot on SQLite, REPEATABLE READ on PostgreSQL).
    pub async fn audit_snapshot(&self) -> StoreResult<AuditSnapshot> {
        let mut tx = self.pool().begin().await.map_err(StoreError::Db)?;
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await
                .map_err(StoreError::Db)?;
        }
        Ok(AuditSnapshot { tx })
    }

    pub async fn get_audit(&self, id: openpim_core::ObjectId) -> StoreResult<Option<StoredAudit>> {
        let row = sqlx::query("SELECT * FROM audit_log WHERE id = $1")
            .bind(id_text(id))
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode).transpose()
    }
}

/// A read transaction over the audit log (see [`Store::audit_snapshot`]); dropping it ends it.
pub struct AuditSnapshot {
    tx: sqlx::Transaction<'static, sqlx::Any>,
}

impl AuditSnapshot {
    /// One page of the snapshot, as [`Store::list_audit`] pages the live table.
    pub async fn page(&mut self, req: &ListRequest<'_>) -> StoreResult<Page<StoredAudit>> {
        crate::list::list_on(&mut self.tx, "audit_log", &schema::DIRECTORY_AUDIT, None, req, decode).await
    }
}
