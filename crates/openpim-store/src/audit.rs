//! The audit log table.

use crate::codec::{id_text, micros, RowExt};
use crate::list::{list, ListRequest, Page};
use crate::{schema, Store, StoreError, StoreResult};
use openpim_core::audit::chain::{ChainedRecord, Checkpoint};
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
    // Exactly the values stored, so the hash can be recomputed from the row.
    let mut row = ChainedRecord {
        chain_seq: None,
        chain_prev_hash: None,
        chain_hash: None,
        id: id_text(r.id),
        activity_at: micros(r.at),
        category: r.category.to_string(),
        activity_display_name: r.activity.clone(),
        operation_type: r.operation_type.to_string(),
        result: r.result.as_str().to_string(),
        result_reason: r.result_reason.clone(),
        initiated_by_user_id: r.initiated_by_id.map(id_text),
        initiated_by_upn: r.initiated_by_upn.clone(),
        initiated_by_display_name: r.initiated_by_display_name.clone(),
        target_resources: Value::Array(targets).to_string(),
        additional_details: Value::Array(details).to_string(),
        correlation_id: id_text(r.correlation_id),
        logged_by_service: r.logged_by_service().to_string(),
    };
    // The caller holds the write path's order: SQLite's one writer, and on PostgreSQL the
    // commit-order advisory lock (`WriteTx::commit`), so no other transaction moves the head
    // between this read and the update below.
    let head = read_head(&mut *conn).await?;
    link(&mut row, &head)?;
    sqlx::query(
        "INSERT INTO audit_log (id, activity_at, category, activity_display_name, operation_type, result, \
         result_reason, initiated_by_user_id, initiated_by_upn, target_resources, additional_details, \
         correlation_id, logged_by_service, initiated_by_display_name, chain_seq, chain_prev_hash, chain_hash) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)",
    )
    .bind(row.id.clone())
    .bind(row.activity_at)
    .bind(row.category.clone())
    .bind(row.activity_display_name.clone())
    .bind(row.operation_type.clone())
    .bind(row.result.clone())
    .bind(row.result_reason.clone())
    .bind(row.initiated_by_user_id.clone())
    .bind(row.initiated_by_upn.clone())
    .bind(row.target_resources.clone())
    .bind(row.additional_details.clone())
    .bind(row.correlation_id.clone())
    .bind(row.logged_by_service.clone())
    .bind(row.initiated_by_display_name.clone())
    .bind(row.chain_seq)
    .bind(row.chain_prev_hash.clone())
    .bind(row.chain_hash.clone())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::Db)?;
    advance_head(conn, &row).await
}

/// Gives `row` the next place in the chain after `head`.
fn link(row: &mut ChainedRecord, head: &ChainHead) -> StoreResult<()> {
    let seq = head.seq + 1;
    let hash = row
        .hash_after(&head.hash, seq)
        .ok_or_else(|| StoreError::Corrupt(format!("audit_chain_head.hash is not a SHA-256 hash: {}", head.hash)))?;
    row.chain_seq = Some(seq);
    row.chain_prev_hash = Some(head.hash.clone());
    row.chain_hash = Some(hash);
    Ok(())
}

async fn advance_head(conn: &mut AnyConnection, row: &ChainedRecord) -> StoreResult<()> {
    sqlx::query("UPDATE audit_chain_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(row.chain_seq)
        .bind(row.chain_hash.clone())
        .execute(conn)
        .await
        .map_err(StoreError::Db)?;
    Ok(())
}

/// The chain's head: the last record's seq and hash (seq 0 and the genesis hash when empty), and
/// which records were chained after the fact when the chain was introduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub chain_version: i64,
    pub seq: i64,
    pub hash: String,
    /// Records 1..=this were written before the chain existed and chained on upgrade.
    pub legacy_through: Option<i64>,
    pub legacy_chained_at: Option<openpim_core::Instant>,
}

async fn read_head(conn: &mut AnyConnection) -> StoreResult<ChainHead> {
    let row = sqlx::query(
        "SELECT chain_version, seq, hash, legacy_through, legacy_chained_at FROM audit_chain_head WHERE id = 1",
    )
    .fetch_optional(conn)
    .await
    .map_err(StoreError::Db)?
    .ok_or_else(|| StoreError::Corrupt("audit_chain_head has no row".into()))?;
    Ok(ChainHead {
        chain_version: row.int("chain_version")?,
        seq: row.int("seq")?,
        hash: row.text("hash")?,
        legacy_through: row.opt_int("legacy_through")?,
        legacy_chained_at: row.opt_time("legacy_chained_at")?,
    })
}

const CHAIN_COLUMNS: &str = "chain_seq, chain_prev_hash, chain_hash, id, activity_at, category, \
     activity_display_name, operation_type, result, result_reason, initiated_by_user_id, initiated_by_upn, \
     initiated_by_display_name, target_resources, additional_details, correlation_id, logged_by_service";

fn decode_chained(row: &AnyRow) -> StoreResult<ChainedRecord> {
    Ok(ChainedRecord {
        chain_seq: row.opt_int("chain_seq")?,
        chain_prev_hash: row.opt_text("chain_prev_hash")?,
        chain_hash: row.opt_text("chain_hash")?,
        id: row.text("id")?,
        activity_at: row.int("activity_at")?,
        category: row.text("category")?,
        activity_display_name: row.text("activity_display_name")?,
        operation_type: row.text("operation_type")?,
        result: row.text("result")?,
        result_reason: row.text("result_reason")?,
        initiated_by_user_id: row.opt_text("initiated_by_user_id")?,
        initiated_by_upn: row.opt_text("initiated_by_upn")?,
        initiated_by_display_name: row.opt_text("initiated_by_display_name")?,
        target_resources: row.text("target_resources")?,
        additional_details: row.text("additional_details")?,
        correlation_id: row.text("correlation_id")?,
        logged_by_service: row.text("logged_by_service")?,
    })
}

/// Everything a verifier needs about a range of the chain, read in one transaction.
#[derive(Debug, Clone)]
pub struct ChainExcerpt {
    pub head: ChainHead,
    /// In seq order; rows without a chain position (inserted around the write path) last.
    pub records: Vec<ChainedRecord>,
    pub checkpoints: Vec<Checkpoint>,
}

/// Records with `from <= chain_seq <= to` (and every unchained row), and the checkpoints in
/// that range, from `conn` (a read transaction, or a read-only connection).
async fn read_excerpt(conn: &mut AnyConnection, from: i64, to: Option<i64>) -> StoreResult<ChainExcerpt> {
    let head = read_head(&mut *conn).await?;
    let to = to.unwrap_or(i64::MAX);
    let rows = sqlx::query(&format!(
        "SELECT {CHAIN_COLUMNS} FROM audit_log WHERE chain_seq IS NULL OR (chain_seq >= $1 AND chain_seq <= $2) \
         ORDER BY chain_seq IS NULL, chain_seq, id"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::Db)?;
    let records = rows.iter().map(decode_chained).collect::<StoreResult<Vec<_>>>()?;
    let checkpoints = read_checkpoints(conn, from, to, i64::MAX, 0).await?;
    Ok(ChainExcerpt { head, records, checkpoints })
}

async fn read_checkpoints(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<Checkpoint>> {
    let rows = sqlx::query(
        "SELECT seq, chain_hash, created_at, key_id, signature FROM audit_checkpoints \
         WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3 OFFSET $4",
    )
    .bind(from)
    .bind(to)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
    .map_err(StoreError::Db)?;
    rows.iter().map(decode_checkpoint).collect()
}

fn decode_checkpoint(row: &AnyRow) -> StoreResult<Checkpoint> {
    Ok(Checkpoint {
        seq: row.int("seq")?,
        chain_hash: row.text("chain_hash")?,
        created_at: row.int("created_at")?,
        key_id: row.text("key_id")?,
        signature: row.text("signature")?,
    })
}

/// Reads the chain of the SQLite database `db` without writing to it (no migration, read-only
/// connection), for `openpim audit verify --data DIR` while a server may be running on it.
pub async fn read_sqlite_chain_readonly(db: &std::path::Path) -> StoreResult<ChainExcerpt> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    if !db.exists() {
        return Err(StoreError::Config(format!("no database at {}", db.display())));
    }
    let mut conn =
        AnyConnection::connect(&format!("sqlite://{}?mode=ro", db.display())).await.map_err(StoreError::Db)?;
    sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut conn).await.map_err(StoreError::Db)?;
    let mut tx = conn.begin().await.map_err(StoreError::Db)?;
    let excerpt = read_excerpt(&mut tx, 1, None).await;
    drop(tx);
    excerpt
}

/// What the directory calls an object, and which kind of object it is.
#[derive(Clone)]
struct Named {
    kind: &'static str,
    display_name: String,
    user_principal_name: Option<String>,
}

/// Looks `id` up among users, groups, service principals, role definitions, administrative units
/// and applications (ids are GUIDs, unique across them), in one statement: every audit record
/// names its ids inside the write, under the writer lock, where each round trip to the database
/// counts (a role id used to cost four). `None` when no such object exists (deleted, or never was).
async fn lookup(conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Named>> {
    let id = id.to_ascii_lowercase();
    let row = sqlx::query(
        "SELECT 0 AS o, 'User' AS kind, display_name, user_principal_name FROM users WHERE id = $1 \
         UNION ALL SELECT 1, 'Group', display_name, NULL FROM directory_groups WHERE id = $1 \
         UNION ALL SELECT 2, 'ServicePrincipal', display_name, NULL FROM service_principals WHERE id = $1 \
         UNION ALL SELECT 3, 'Role', display_name, NULL FROM role_definitions WHERE id = $1 \
         UNION ALL SELECT 4, 'Other', display_name, NULL FROM administrative_units WHERE id = $1 \
         UNION ALL SELECT 5, 'Application', display_name, NULL FROM applications WHERE id = $1 \
         ORDER BY o LIMIT 1",
    )
    .bind(&id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::Db)?;
    let Some(row) = row else { return Ok(None) };
    let kind = static_str(&row.text("kind")?, &["User", "Group", "ServicePrincipal", "Role", "Application"]);
    Ok(Some(Named {
        kind,
        display_name: row.text("display_name")?,
        user_principal_name: row.opt_text("user_principal_name")?,
    }))
}

/// The lookups of one record: a record often names one object several times (a
/// self-activation's target, requestor and principal are one user), and each costs a statement
/// under the writer lock, so each id is looked up once per record.
#[derive(Default)]
struct Lookups(std::collections::HashMap<String, Option<Named>>);

impl Lookups {
    async fn get(&mut self, conn: &mut AnyConnection, id: &str) -> StoreResult<Option<Named>> {
        let key = id.to_ascii_lowercase();
        if let Some(found) = self.0.get(&key) {
            return Ok(found.clone());
        }
        let found = lookup(conn, &key).await?;
        self.0.insert(key, found.clone());
        Ok(found)
    }
}

/// The name of a directory scope: "Directory" for the tenant, else the unit's or object's name.
async fn scope_name(conn: &mut AnyConnection, known: &mut Lookups, raw: &str) -> StoreResult<String> {
    Ok(match DirectoryScope::parse(raw) {
        Ok(DirectoryScope::Tenant) => detail::TENANT_SCOPE_NAME.to_string(),
        Ok(DirectoryScope::AdministrativeUnit(id) | DirectoryScope::Object(id)) => {
            known.get(conn, &id.to_string()).await?.map(|n| n.display_name).unwrap_or_else(|| raw.to_string())
        }
        Err(_) => raw.to_string(),
    })
}

/// Names what the writer identified by id only: every target, the initiator, and each id detail
/// of [`detail::NAMED_IDS`] (the scope among them). Run on every record the store writes,
/// successes and refusals alike, so no writer can leave bare ids. What cannot be resolved (an
/// object deleted since, or an id a refused request made up) is named by its id.
pub(crate) async fn enrich(conn: &mut AnyConnection, r: &mut AuditRecord) -> StoreResult<()> {
    let mut known = Lookups::default();
    for t in &mut r.targets {
        if t.display_name.is_some() && (t.kind != "User" || t.user_principal_name.is_some()) {
            continue;
        }
        match known.get(conn, &t.id).await? {
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
            if let Some(n) = known.get(conn, &id.to_string()).await? {
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
            scope_name(conn, &mut known, &raw).await?
        } else {
            known.get(conn, &raw).await?.map(|n| n.display_name).unwrap_or(raw)
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
    /// The record's place in the audit chain (`None`: a row inserted around the write path).
    pub chain_seq: Option<i64>,
    pub chain_hash: Option<String>,
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
        chain_seq: row.opt_int("chain_seq")?,
        chain_hash: row.opt_text("chain_hash")?,
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

    /// The audit chain's head.
    pub async fn audit_chain_head(&self) -> StoreResult<ChainHead> {
        let mut conn = self.pool().acquire().await.map_err(StoreError::Db)?;
        read_head(&mut conn).await
    }

    /// Records `from..=to` of the audit chain (to the head when `to` is `None`), every row
    /// without a chain position, the checkpoints in that range, and the head, all from one
    /// snapshot (as [`Store::audit_snapshot`]).
    pub async fn audit_chain_excerpt(&self, from: i64, to: Option<i64>) -> StoreResult<ChainExcerpt> {
        let mut snapshot = self.audit_snapshot().await?;
        read_excerpt(&mut snapshot.tx, from, to).await
    }

    /// Checkpoints in seq order, `top` from `offset`.
    pub async fn audit_checkpoints(&self, top: i64, offset: i64) -> StoreResult<Vec<Checkpoint>> {
        let mut conn = self.pool().acquire().await.map_err(StoreError::Db)?;
        read_checkpoints(&mut conn, 1, i64::MAX, top, offset).await
    }

    /// Checkpoints as an OData collection (oldest first unless `$orderby` says otherwise).
    pub async fn list_audit_checkpoints(&self, req: &ListRequest<'_>) -> StoreResult<Page<Checkpoint>> {
        list(self.pool(), "audit_checkpoints", &schema::AUDIT_CHECKPOINT, None, req, decode_checkpoint).await
    }

    /// The newest checkpoint.
    pub async fn latest_audit_checkpoint(&self) -> StoreResult<Option<Checkpoint>> {
        let row = sqlx::query(
            "SELECT seq, chain_hash, created_at, key_id, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::Db)?;
        row.as_ref().map(decode_checkpoint).transpose()
    }

    /// Stores a signed checkpoint; one already stored at that seq (another node signed it
    /// first) is kept. Returns whether this one was stored.
    pub async fn insert_audit_checkpoint(&self, cp: &Checkpoint) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO audit_checkpoints (seq, chain_hash, created_at, key_id, signature) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
        )
        .bind(cp.seq)
        .bind(cp.chain_hash.clone())
        .bind(cp.created_at)
        .bind(cp.key_id.clone())
        .bind(cp.signature.clone())
        .execute(self.pool())
        .await
        .map_err(StoreError::Db)?;
        Ok(done.rows_affected() == 1)
    }

    /// Chains the audit records written before the chain existed (oldest first, by time then
    /// id), once, when a server first opens the database after the upgrade; records how far
    /// (`legacy_through`) so verification can say that the chain proves them only from then on.
    /// Does nothing when every row is chained.
    pub(crate) async fn chain_legacy_audit(&self) -> StoreResult<()> {
        let unchained = sqlx::query("SELECT id FROM audit_log WHERE chain_seq IS NULL LIMIT 1")
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        if unchained.is_none() {
            return Ok(());
        }
        // Whole microseconds, the store's precision.
        let now = time::OffsetDateTime::now_utc();
        let now = now.replace_nanosecond(now.nanosecond() / 1000 * 1000).unwrap_or(now);
        let mut tx = self.begin_write().await?;
        tx.lock_commit_order().await?;
        let conn = tx.conn();
        let mut head = read_head(&mut *conn).await?;
        // Only before any record was chained: afterwards an unchained row was inserted around
        // the write path, and chaining it would hide that.
        if head.seq != 0 {
            return tx.rollback().await;
        }
        {
            let rows = sqlx::query(&format!(
                "SELECT {CHAIN_COLUMNS} FROM audit_log WHERE chain_seq IS NULL ORDER BY activity_at, id"
            ))
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::Db)?;
            for row in &rows {
                let mut r = decode_chained(row)?;
                link(&mut r, &head)?;
                sqlx::query("UPDATE audit_log SET chain_seq = $1, chain_prev_hash = $2, chain_hash = $3 WHERE id = $4")
                    .bind(r.chain_seq)
                    .bind(r.chain_prev_hash.clone())
                    .bind(r.chain_hash.clone())
                    .bind(r.id.clone())
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::Db)?;
                head.seq += 1;
                head.hash = r.chain_hash.clone().unwrap_or_default();
                advance_head(conn, &r).await?;
            }
            sqlx::query("UPDATE audit_chain_head SET legacy_through = $1, legacy_chained_at = $2 WHERE id = 1")
                .bind(head.seq)
                .bind(micros(now))
                .execute(&mut *conn)
                .await
                .map_err(StoreError::Db)?;
            tracing::info!(records = rows.len(), "chained the audit records written before the audit chain existed");
        }
        // The chaining is itself audited, as the first record chained after the old ones.
        let record = AuditRecord {
            id: uuid::Uuid::new_v4(),
            at: now,
            category: openpim_core::audit::category::DIRECTORY_MANAGEMENT,
            activity: "Chain audit records written before the audit chain".into(),
            operation_type: "Update",
            result: AuditResult::Success,
            result_reason: String::new(),
            initiated_by_id: None,
            initiated_by_upn: None,
            initiated_by_display_name: None,
            targets: Vec::new(),
            additional_details: Vec::new(),
            correlation_id: uuid::Uuid::new_v4(),
        };
        tx.commit(&record, |_| {}).await
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
    pub(crate) tx: sqlx::Transaction<'static, sqlx::Any>,
}

impl AuditSnapshot {
    /// One page of the snapshot, as [`Store::list_audit`] pages the live table.
    pub async fn page(&mut self, req: &ListRequest<'_>) -> StoreResult<Page<StoredAudit>> {
        crate::list::list_on(&mut self.tx, "audit_log", &schema::DIRECTORY_AUDIT, None, req, decode).await
    }
}
