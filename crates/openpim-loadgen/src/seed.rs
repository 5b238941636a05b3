//! `seed`: generates part A's deterministic workload and bulk-loads it into a fresh OpenPIM SQLite
//! data directory.
//!
//! OpenPIM itself creates the schema, bootstraps the tenant (built-in roles, their policies, the
//! first Global Administrator, the token issuer key) and stores the custom roles through its own
//! write path. The bulk (users, groups, memberships, units, eligibilities and assignments) goes in
//! with raw multi-row INSERTs in large transactions, with `synchronous=OFF` and the secondary
//! indexes dropped during the load and then re-created from their own stored SQL (which also
//! re-checks the "one live schedule per principal, role and scope" rule). Rows are encoded as the
//! store's codec writes them: ids as lowercase hyphenated text, instants as microseconds, 0/1
//! booleans, and the enum texts of `openpim-core` itself.
//!
//! Time: the workload's windows are minutes relative to its own `now`; they are placed around
//! the moment of seeding, so "current" activations are current when the benchmark runs.

use crate::args::Size;
use crate::hist::round3;
use openpim_bench::workload::{InstanceKind, Workload, WorkloadSpec, OPEN_END, OPEN_START};
use openpim_core::audit::{category, AuditRecord, AuditResult};
use openpim_core::directory::{NewGroup, NewUser, ObjectKind};
use openpim_core::schedule::{AssignmentType, ExpirationType, ScheduleStatus};
use openpim_core::{Instant, ObjectId};
use openpim_server::auth::LocalIssuer;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use std::collections::HashSet;
use std::path::Path;
use std::time::Instant as Clock;

pub const ADMIN_UPN: &str = "admin@openpim.local";

/// Rows per transaction: large enough that commits do not matter, small enough that the WAL
/// does not grow to the size of the whole database.
const ROWS_PER_TX: usize = 200_000;
/// SQLite's bound-parameter limit is 32766; stay well below it.
const MAX_PARAMS: usize = 30_000;

#[derive(Debug, Serialize, Default)]
pub struct SeedReport {
    pub mode: &'static str,
    pub data_dir: String,
    /// The instant the workload's `now` was placed at (RFC 3339).
    pub seeded_at: String,
    /// The same, in microseconds since the epoch.
    pub seeded_at_us: i64,
    pub users: u64,
    pub groups: u64,
    pub group_members: u64,
    pub administrative_units: u64,
    pub administrative_unit_members: u64,
    pub custom_roles: u64,
    pub eligibilities: u64,
    pub assignments: u64,
    /// Instances dropped because an earlier live one had the same principal, role and scope.
    pub skipped_duplicates: u64,
    /// Rows of the access history (grants, memberships, group kinds) recorded for the bulk.
    pub history_rows: u64,
    pub generate_s: f64,
    pub load_s: f64,
    pub index_s: f64,
    pub total_s: f64,
    pub database_bytes: u64,
}

pub fn spec_for(size: Size) -> WorkloadSpec {
    match size {
        Size::Small => WorkloadSpec::small(),
        Size::Large => WorkloadSpec::large(),
        // Same shape as small and large: five instances per user.
        Size::Users(n) => {
            let users = u32::try_from(n).unwrap_or(u32::MAX);
            WorkloadSpec::sized(users, users.saturating_mul(5))
        }
    }
}

/// One SQL value of a bulk row.
enum Val {
    Text(String),
    Int(i64),
    Null,
}

fn opt_text(s: Option<String>) -> Val {
    s.map_or(Val::Null, Val::Text)
}

fn id(id: ObjectId) -> Val {
    Val::Text(id.hyphenated().to_string())
}

fn micros(t: Instant) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

/// Multi-row INSERTs into one table, committed every [`ROWS_PER_TX`] rows.
struct Bulk<'c> {
    conn: &'c mut SqliteConnection,
    table: &'static str,
    cols: &'static [&'static str],
    rows: Vec<Vec<Val>>,
    rows_per_stmt: usize,
    in_tx: usize,
    written: u64,
}

impl<'c> Bulk<'c> {
    async fn new(
        conn: &'c mut SqliteConnection,
        table: &'static str,
        cols: &'static [&'static str],
    ) -> anyhow::Result<Self> {
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        let rows_per_stmt = (MAX_PARAMS / cols.len()).min(1000);
        Ok(Self { conn, table, cols, rows: Vec::with_capacity(rows_per_stmt), rows_per_stmt, in_tx: 0, written: 0 })
    }

    async fn push(&mut self, row: Vec<Val>) -> anyhow::Result<()> {
        debug_assert_eq!(row.len(), self.cols.len());
        self.rows.push(row);
        if self.rows.len() >= self.rows_per_stmt {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let n = self.cols.len();
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", self.table, self.cols.join(", "));
        // Anonymous `?` placeholders: SQLite resolves named ones (`$N`) by a linear search per
        // name, which makes preparing and binding a statement of thousands of them quadratic.
        let group = format!("({})", vec!["?"; n].join(","));
        for r in 0..self.rows.len() {
            if r > 0 {
                sql.push(',');
            }
            sql.push_str(&group);
        }
        let mut q = sqlx::query(&sql);
        for row in self.rows.drain(..) {
            for v in row {
                q = match v {
                    Val::Text(s) => q.bind(s),
                    Val::Int(i) => q.bind(i),
                    Val::Null => q.bind(Option::<String>::None),
                };
            }
        }
        let done = q.execute(&mut *self.conn).await?;
        self.written += done.rows_affected();
        self.in_tx += done.rows_affected() as usize;
        if self.in_tx >= ROWS_PER_TX {
            sqlx::query("COMMIT").execute(&mut *self.conn).await?;
            sqlx::query("BEGIN").execute(&mut *self.conn).await?;
            self.in_tx = 0;
        }
        Ok(())
    }

    async fn finish(mut self) -> anyhow::Result<u64> {
        self.flush().await?;
        sqlx::query("COMMIT").execute(&mut *self.conn).await?;
        Ok(self.written)
    }
}

const USER_COLS: &[&str] = &[
    "id",
    "user_principal_name",
    "upn_lower",
    "display_name",
    "mail_nickname",
    "given_name",
    "surname",
    "mail",
    "job_title",
    "department",
    "account_enabled",
    "created_at",
];
const GROUP_COLS: &[&str] = &[
    "id",
    "display_name",
    "description",
    "mail_nickname",
    "mail_enabled",
    "security_enabled",
    "is_assignable_to_role",
    "created_at",
];
const MEMBER_COLS: &[&str] = &["group_id", "member_id", "member_type", "added_at"];
const UNIT_COLS: &[&str] = &["id", "display_name", "description", "created_at"];
const UNIT_MEMBER_COLS: &[&str] = &["unit_id", "member_id", "member_type", "added_at"];
const SCHEDULE_COLS: &[&str] = &[
    "id",
    "principal_id",
    "principal_type",
    "role_definition_id",
    "directory_scope_id",
    "app_scope_id",
    "status",
    "assignment_type",
    "start_at",
    "end_at",
    "expiration_type",
    "duration",
    "created_using",
    "activated_using",
    "created_at",
    "modified_at",
    "created_by",
    "scope_key",
];
/// Tables whose secondary indexes are dropped during the load and re-created after it.
const BULK_TABLES: &[&str] = &[
    "users",
    "directory_groups",
    "group_members",
    "administrative_unit_members",
    "role_assignments",
    "role_eligibilities",
];

/// Generates the workload for `spec` and loads it into `data_dir`, which must not hold a database.
pub async fn run(data_dir: &Path, spec: &WorkloadSpec) -> anyhow::Result<SeedReport> {
    let t_total = Clock::now();
    anyhow::ensure!(
        !data_dir.join("openpim.db").exists(),
        "{} already holds an OpenPIM database: seed needs a fresh data directory",
        data_dir.display()
    );
    let t = Clock::now();
    let w = Workload::generate(spec);
    let generate_s = t.elapsed().as_secs_f64();
    // The store keeps microseconds; truncate like the server's clock does.
    let now_raw = time::OffsetDateTime::now_utc();
    let now = now_raw.replace_nanosecond(now_raw.nanosecond() / 1000 * 1000)?;

    let custom_roles = bootstrap(data_dir, &w, now).await?;

    let mut conn = SqliteConnectOptions::new()
        .filename(data_dir.join("openpim.db"))
        .journal_mode(SqliteJournalMode::Wal)
        // Only for the load: a crash half-way leaves a directory to throw away, not a real store.
        .synchronous(SqliteSynchronous::Off)
        .foreign_keys(false)
        .pragma("cache_size", "-1000000")
        .pragma("temp_store", "MEMORY")
        .connect()
        .await?;
    let indexes = drop_indexes(&mut conn).await?;

    let t = Clock::now();
    let mut report = load(&mut conn, &w, now).await?;
    report.history_rows = record_history(&mut conn, now).await?;
    let load_s = t.elapsed().as_secs_f64();

    let t = Clock::now();
    for sql in &indexes {
        sqlx::query(sql).execute(&mut conn).await?;
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await?;
    let index_s = t.elapsed().as_secs_f64();
    conn.close().await?;

    report.mode = "seed";
    report.data_dir = data_dir.display().to_string();
    report.custom_roles = custom_roles;
    report.seeded_at = now.format(&time::format_description::well_known::Rfc3339)?;
    report.seeded_at_us = micros(now);
    report.generate_s = round3(generate_s);
    report.load_s = round3(load_s);
    report.index_s = round3(index_s);
    report.total_s = round3(t_total.elapsed().as_secs_f64());
    report.database_bytes = std::fs::metadata(data_dir.join("openpim.db"))?.len();
    Ok(report)
}

/// Lets OpenPIM create the store (migrations, tenant, catalog, policies, first admin, issuer key)
/// and adds the workload's custom roles with their default policies through its write path.
async fn bootstrap(data_dir: &Path, w: &Workload, now: Instant) -> anyhow::Result<u64> {
    let store = openpim_store::Store::open_sqlite_dir(data_dir).await?;
    LocalIssuer::load_or_create(data_dir)?;
    let boot = openpim_server::bootstrap::ensure(&store, ADMIN_UPN, now).await?;
    let custom: Vec<_> = w.roles.iter().filter(|r| !r.is_built_in).collect();
    let mut tx = store.begin_write().await?;
    let rules = openpim_core::policy::rules::default_rules();
    for role in &custom {
        tx.insert_role_definition(role).await?;
        tx.insert_policy(boot.tenant_id, role.id, &rules).await?;
    }
    let record = AuditRecord {
        id: ObjectId::new_v4(),
        at: now,
        category: category::ROLE_MANAGEMENT,
        activity: "Add role definition".into(),
        operation_type: "Add",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: Some("openpim-loadgen seed".into()),
        initiated_by_display_name: None,
        targets: vec![],
        additional_details: vec![("customRoles".into(), custom.len().to_string())],
        correlation_id: ObjectId::new_v4(),
    };
    tx.commit(&record, |_| {}).await?;
    store.close().await;
    Ok(custom.len() as u64)
}

/// The access history of the bulk (issue #21), as the server records it for rows written through
/// its write path (`openpim-store/src/history.rs`): every grant over its whole window (expired and
/// future ones too: a grant that ran to its end keeps `closed_at` NULL), every membership and
/// group kind since the directory's creation, and that instant as the history's start. Without
/// it the server's first start would find no history start and record only what is live then,
/// one row at a time, inside the measured cold start, and the past windows the history benchmark
/// asks about would not be on record. Built from the loaded tables themselves, so the history
/// and the instances agree by construction; the bootstrap's own rows (recorded by its commit)
/// are left as they are.
async fn record_history(conn: &mut SqliteConnection, now: Instant) -> anyhow::Result<u64> {
    let created = micros(now - time::Duration::days(400));
    let statements = [
        "INSERT INTO grant_history (grant_id, principal_id, role_definition_id, scope, source, grant_start, \
         valid_from, valid_to, recorded_at) \
         SELECT id, principal_id, role_definition_id, directory_scope_id, \
         CASE WHEN assignment_type = 'Activated' THEN 'Activated' ELSE 'Assigned' END, \
         start_at, start_at, end_at, created_at FROM role_assignments \
         WHERE (end_at IS NULL OR end_at > start_at) \
         AND id NOT IN (SELECT grant_id FROM grant_history)",
        "INSERT INTO membership_history (group_id, member_id, valid_from, recorded_at) \
         SELECT group_id, member_id, added_at, added_at FROM group_members m WHERE NOT EXISTS \
         (SELECT 1 FROM membership_history h WHERE h.group_id = m.group_id AND h.member_id = m.member_id)",
        "INSERT INTO group_kind_history (group_id, is_assignable_to_role, is_security_enabled, valid_from, \
         recorded_at) SELECT id, is_assignable_to_role, security_enabled, created_at, created_at \
         FROM directory_groups g WHERE NOT EXISTS (SELECT 1 FROM group_kind_history h WHERE h.group_id = g.id)",
    ];
    let mut rows = 0;
    sqlx::query("BEGIN").execute(&mut *conn).await?;
    for sql in statements {
        rows += sqlx::query(sql).execute(&mut *conn).await?.rows_affected();
    }
    sqlx::query("INSERT INTO access_history_start (id, started_at) VALUES (1, $1)")
        .bind(created)
        .execute(&mut *conn)
        .await?;
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(rows)
}

async fn drop_indexes(conn: &mut SqliteConnection) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for table in BULK_TABLES {
        // Automatic indexes (primary keys, UNIQUE columns) have no SQL and cannot be dropped.
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL",
        )
        .bind(*table)
        .fetch_all(&mut *conn)
        .await?;
        for (name, sql) in rows {
            sqlx::query(&format!("DROP INDEX \"{name}\"")).execute(&mut *conn).await?;
            out.push(sql);
        }
    }
    Ok(out)
}

async fn load(conn: &mut SqliteConnection, w: &Workload, now: Instant) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    let at = |min: i32| now + time::Duration::minutes(i64::from(min));
    let created = micros(now - time::Duration::days(400));

    let mut b = Bulk::new(conn, "users", USER_COLS).await?;
    for u in 0..w.user_count() {
        let user = NewUser {
            user_principal_name: Some(w.user_principal_name(u)),
            display_name: Some(w.user_display_name(u)),
            ..Default::default()
        }
        .build(w.user_id(u), now)
        .map_err(|e| anyhow::anyhow!("workload user {u}: {}", e.message))?;
        b.push(vec![
            id(user.id),
            Val::Text(user.user_principal_name.clone()),
            Val::Text(user.user_principal_name.to_lowercase()),
            Val::Text(user.display_name),
            Val::Text(user.mail_nickname),
            opt_text(user.given_name),
            opt_text(user.surname),
            opt_text(user.mail),
            opt_text(user.job_title),
            opt_text(user.department),
            Val::Int(i64::from(user.account_enabled)),
            Val::Int(created),
        ])
        .await?;
    }
    report.users = b.finish().await?;

    let mut b = Bulk::new(conn, "directory_groups", GROUP_COLS).await?;
    for g in &w.groups {
        let group = NewGroup {
            display_name: Some(g.display_name.clone()),
            mail_enabled: Some(false),
            security_enabled: Some(true),
            is_assignable_to_role: Some(g.is_assignable_to_role),
            ..Default::default()
        }
        .build(g.id, now)
        .map_err(|e| anyhow::anyhow!("workload group {}: {}", g.display_name, e.message))?;
        b.push(vec![
            id(group.id),
            Val::Text(group.display_name),
            opt_text(group.description),
            Val::Text(group.mail_nickname),
            Val::Int(i64::from(group.mail_enabled)),
            Val::Int(i64::from(group.security_enabled)),
            Val::Int(i64::from(group.is_assignable_to_role)),
            Val::Int(created),
        ])
        .await?;
    }
    report.groups = b.finish().await?;

    let mut b = Bulk::new(conn, "group_members", MEMBER_COLS).await?;
    for g in &w.groups {
        for &m in &g.members {
            b.push(vec![id(g.id), id(w.user_id(m)), Val::Text(ObjectKind::User.as_str().into()), Val::Int(created)])
                .await?;
        }
        // Ordinary groups nest in ordinary groups (never in role-assignable ones).
        if let Some(parent) = g.parent {
            let parent = &w.groups[parent as usize];
            b.push(vec![id(parent.id), id(g.id), Val::Text(ObjectKind::Group.as_str().into()), Val::Int(created)])
                .await?;
        }
    }
    report.group_members = b.finish().await?;

    let mut b = Bulk::new(conn, "administrative_units", UNIT_COLS).await?;
    for u in &w.administrative_units {
        b.push(vec![id(u.id), Val::Text(u.display_name.clone()), Val::Null, Val::Int(created)]).await?;
    }
    report.administrative_units = b.finish().await?;

    let mut b = Bulk::new(conn, "administrative_unit_members", UNIT_MEMBER_COLS).await?;
    for u in &w.administrative_units {
        for &m in &u.members {
            b.push(vec![id(u.id), id(w.user_id(m)), Val::Text(ObjectKind::User.as_str().into()), Val::Int(created)])
                .await?;
        }
    }
    report.administrative_unit_members = b.finish().await?;

    // The store allows one live (not Expired) schedule per principal, role and scope; the
    // generator draws instances independently, so later duplicates of a live one are skipped.
    let now_us = micros(now);
    for kind in [InstanceKind::Eligibility, InstanceKind::Active] {
        let table = if kind == InstanceKind::Active { "role_assignments" } else { "role_eligibilities" };
        let mut live = HashSet::new();
        let mut b = Bulk::new(conn, table, SCHEDULE_COLS).await?;
        for (idx, inst) in w.instances.iter().enumerate().filter(|(_, i)| i.kind == kind) {
            let start = if inst.start_min == OPEN_START { created } else { micros(at(inst.start_min)) };
            let end = (inst.end_min != OPEN_END).then(|| micros(at(inst.end_min)));
            let status = if end.is_some_and(|e| e <= now_us) {
                ScheduleStatus::Expired
            } else if start > now_us {
                ScheduleStatus::Granted
            } else {
                ScheduleStatus::Provisioned
            };
            if status != ScheduleStatus::Expired && !live.insert((inst.principal, inst.role, inst.scope)) {
                report.skipped_duplicates += 1;
                continue;
            }
            let (principal_type, principal) = match inst.principal {
                openpim_bench::workload::PrincipalRef::User(_) => (ObjectKind::User, w.principal_id(inst.principal)),
                openpim_bench::workload::PrincipalRef::Group(_) => (ObjectKind::Group, w.principal_id(inst.principal)),
            };
            let assignment_type = match kind {
                InstanceKind::Eligibility => None,
                // The same rule as the workload's grants: bounded windows of up to 8 h are activations.
                InstanceKind::Active => Some(if w.grant(idx).source == openpim_core::access::GrantSource::Activated {
                    AssignmentType::Activated
                } else {
                    AssignmentType::Assigned
                }),
            };
            let expiration = if end.is_some() { ExpirationType::AfterDateTime } else { ExpirationType::NoExpiration };
            let role = &w.roles[inst.role as usize];
            let scope = openpim_core::scope::Scope::Directory(w.directory_scope(inst.scope));
            b.push(vec![
                id(w.instance_id(idx)),
                id(principal),
                Val::Text(principal_type.as_str().into()),
                id(role.id),
                Val::Text(scope.to_string()),
                Val::Null,
                Val::Text(status.as_str().into()),
                assignment_type.map_or(Val::Null, |a| Val::Text(a.as_str().into())),
                Val::Int(start),
                end.map_or(Val::Null, Val::Int),
                Val::Text(expiration.as_str().into()),
                Val::Null,
                Val::Null,
                Val::Null,
                Val::Int(created.max(start.min(now_us))),
                Val::Int(created.max(start.min(now_us))),
                Val::Null,
                Val::Text(scope.key()),
            ])
            .await?;
        }
        let n = b.finish().await?;
        match kind {
            InstanceKind::Eligibility => report.eligibilities = n,
            InstanceKind::Active => report.assignments = n,
        }
    }
    Ok(report)
}
