//! Break-glass recovery (`openpim recover --grant-global-admin UPN`): when nobody can sign in as
//! a Global Administrator any more, the local operator, with the server stopped, gives one user a
//! permanent tenant-wide Global Administrator assignment. It goes through the store's normal write
//! path (one transaction, change feed, audit record "Break-glass recovery"), so other nodes on a
//! shared PostgreSQL database pick it up like any other change.

use crate::bootstrap::direct_assignment;
use crate::datadir::DataDirLock;
use openpim_core::audit::category;
use openpim_core::catalog::GLOBAL_ADMINISTRATOR;
use openpim_core::directory::{NewUser, ObjectKind};
use openpim_core::schedule::{AssignmentType, Kind, ScheduleStatus};
use openpim_core::scope::{DirectoryScope, Scope};
use openpim_core::{Instant, ObjectId};
use openpim_store::Store;
use std::path::PathBuf;

/// The audit activity of a recovery.
pub const ACTIVITY: &str = "Break-glass recovery";

/// What `recover` is asked to do.
#[derive(Debug, Clone)]
pub struct RecoverConfig {
    pub data_dir: PathBuf,
    /// `postgres://...` or `sqlite://...`; defaults to SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub upn: String,
    /// Who ran it, for the audit record (e.g. the OS account).
    pub operator: String,
}

/// What a recovery changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub user_id: ObjectId,
    pub created_user: bool,
    pub re_enabled: bool,
    /// False when the user already held a permanent tenant-wide Global Administrator assignment.
    pub granted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error(transparent)]
    DataDir(#[from] crate::datadir::DataDirError),
    #[error("the store has no tenant yet (wrong --data or --database?): start `openpim serve` once to bootstrap it")]
    NotBootstrapped,
    #[error("--grant-global-admin '{0}': {1}")]
    InvalidUser(String, String),
    #[error(transparent)]
    Store(#[from] openpim_store::StoreError),
}

/// Runs a recovery offline: takes the data directory's lock (so it refuses while a server holds
/// it), opens the store, applies [`grant_global_admin`] and closes the store.
pub async fn run(config: &RecoverConfig, now: Instant) -> Result<Recovery, RecoverError> {
    // Nothing to recover in a directory no server ever used: leave it untouched.
    if config.database_url.is_none() && !config.data_dir.join(crate::datadir::SQLITE_FILE).exists() {
        return Err(RecoverError::NotBootstrapped);
    }
    let lock = DataDirLock::acquire(&config.data_dir)?;
    let store = match &config.database_url {
        Some(url) => Store::connect(url).await?,
        None => {
            lock.precreate_sqlite()?;
            Store::open_sqlite_dir(&config.data_dir).await?
        }
    };
    let result = grant_global_admin(&store, &config.upn, &config.operator, now).await;
    store.close().await;
    drop(lock);
    result
}

/// Creates or re-enables `upn` and gives it a permanent Global Administrator assignment at `/`,
/// in one audited transaction.
pub async fn grant_global_admin(
    store: &Store,
    upn: &str,
    operator: &str,
    now: Instant,
) -> Result<Recovery, RecoverError> {
    let tenant_id = store.tenant_id().await?.ok_or(RecoverError::NotBootstrapped)?;
    let existing = store.get_user_by_upn(upn).await?;
    let mut tx = store.begin_write().await?;
    let (user, created_user, re_enabled) = match existing {
        None => {
            let local = upn.split('@').next().unwrap_or(upn);
            let user = NewUser {
                user_principal_name: Some(upn.to_string()),
                display_name: Some(format!("{local} (break-glass)")),
                account_enabled: Some(true),
                ..Default::default()
            }
            .build(ObjectId::new_v4(), now)
            .map_err(|e| RecoverError::InvalidUser(upn.to_string(), e.message))?;
            tx.insert_user(&user).await?;
            (user, true, false)
        }
        Some(mut user) if !user.account_enabled => {
            user.account_enabled = true;
            tx.update_user(&user).await?;
            (user, false, true)
        }
        Some(user) => (user, false, false),
    };
    let (live, _ended) =
        tx.live_schedule_at(Kind::Assignment, user.id, GLOBAL_ADMINISTRATOR, &Scope::TENANT, now).await?;
    let already_permanent = live.as_ref().is_some_and(|s| {
        s.end.is_none()
            && s.assignment_type == Some(AssignmentType::Assigned)
            && s.status == ScheduleStatus::Provisioned
    });
    if !already_permanent {
        // A time-bound or activated assignment gives way to the permanent one (one live schedule
        // per principal, role and scope).
        if let Some(s) = &live {
            tx.remove_schedule(s).await?;
        }
        tx.insert_schedule(&direct_assignment(
            user.id,
            ObjectKind::User,
            GLOBAL_ADMINISTRATOR,
            DirectoryScope::Tenant,
            None,
            now,
        ))
        .await?;
    }
    let record = crate::bootstrap::system_record(
        now,
        category::ROLE_MANAGEMENT,
        ACTIVITY,
        "Add",
        &user,
        vec![
            ("initiatedBy".into(), format!("local operator ({operator}) via `openpim recover`")),
            ("tenantId".into(), tenant_id.to_string()),
            ("roleDefinitionId".into(), GLOBAL_ADMINISTRATOR.to_string()),
            ("directoryScopeId".into(), "/".into()),
            ("userCreated".into(), created_user.to_string()),
            ("userReEnabled".into(), re_enabled.to_string()),
            ("assignmentGranted".into(), (!already_permanent).to_string()),
        ],
    );
    // Offline: a server loads the index from the store when it starts; other nodes on a shared
    // database follow the change feed.
    tx.commit(&record, |_| {}).await?;
    Ok(Recovery { user_id: user.id, created_user, re_enabled, granted: !already_permanent })
}
