//! OpenPIM persistence.
//!
//! One API over SQLite (the embedded default) and PostgreSQL, through sqlx's `Any` driver and
//! portable SQL (`$N` placeholders work on both). Every change goes through [`WriteTx`], which
//! commits the change, its audit record and its change-feed entries in one transaction and hands
//! back the [`IndexUpdate`]s the in-memory access index must apply.

pub mod alerts;
pub mod applications;
pub mod approvals;
pub mod arm_policies;
pub mod audit;
pub mod azure_assignments;
pub mod azure_pim;
pub mod azure_resources;
mod azure_roles;
/// Online SQLite backups (`openpim backup` / `restore`).
pub mod backup;
mod codec;
pub mod directory;
mod error;
pub mod feed;
pub mod history;
mod invariants;
mod list;
mod management_groups;
pub mod outbox;
pub mod policies;
mod protection;
pub mod records;
pub mod roles;
pub mod schedules;
pub mod schema;
pub mod sessions;
pub mod testing;
mod write;

pub use error::StoreError;
pub use list::{ListRequest, Page};
pub use write::WriteTx;
pub use write::{APPROVAL_DECISIONS, AUDITED_CHANGES, COMMIT_SECONDS, GROUP_SIZE};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer; this node's writers queue here rather than meet `SQLITE_BUSY`,
    /// and on SQLite they commit in groups (see `write.rs`). PostgreSQL relies on constraints
    /// across nodes, but the gate still orders this node's writes so the index sees them in
    /// commit order.
    gate: write::WriteGate,
    /// Kept to open the PostgreSQL LISTEN connection of the change feed.
    url: String,
}

impl Store {
    /// Opens (creating if needed) the SQLite database inside `data_dir`.
    pub async fn open_sqlite_dir(data_dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(StoreError::Io)?;
        let path = data_dir.join("openpim.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::connect(&url).await
    }

    /// Connects to `sqlite://...` or `postgres://...` and runs the migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL '{url}': use sqlite://PATH or postgres://..."
            )));
        };
        let options = AnyConnectOptions::from_str(url).map_err(StoreError::Db)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // WAL lets readers run beside the writer; FULL makes every commit durable.
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            // The OData compiler emits plain LIKE for case-sensitive string
                            // functions (startswith on ids, scopes, statuses) and LOWER(..) LIKE
                            // LOWER(..) where Graph folds case; SQLite's LIKE folds ASCII case by
                            // default, PostgreSQL's does not. This makes both answer alike.
                            conn.execute("PRAGMA case_sensitive_like = ON").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
            }
        }
        .map_err(StoreError::Db)?;
        let store =
            Self { pool, backend, gate: write::WriteGate::new(backend == Backend::Sqlite), url: url.to_string() };
        store.migrate().await?;
        store.chain_legacy_audit().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.run(&self.pool).await.map_err(StoreError::Migrate)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL this store was opened with (tools and tests open a second connection with it).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts the one write path. Hold it briefly: it serialises this node's writes.
    pub async fn begin_write(&self) -> StoreResult<WriteTx<'_>> {
        self.gate.begin(&self.pool, self.backend).await
    }

    /// Durable commits made by this node's writers so far (several writers share one when they
    /// arrive together on SQLite).
    pub fn commits(&self) -> u64 {
        self.gate.groups_committed()
    }

    /// The tenant id, if the store has been bootstrapped.
    pub async fn tenant_id(&self) -> StoreResult<Option<uuid::Uuid>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM tenant LIMIT 1").fetch_optional(&self.pool).await.map_err(StoreError::Db)?;
        row.map(|(id,)| codec::parse_id(&id)).transpose()
    }

    /// Cheap liveness probe for `/healthz`.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(StoreError::Db)?;
        Ok(())
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}
