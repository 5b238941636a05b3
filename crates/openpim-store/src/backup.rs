//! Online backups of the SQLite store: a consistent snapshot taken beside a running server, and
//! the checks a restore makes on one. (PostgreSQL is backed up with `pg_dump`; see
//! docs/OPERATIONS.md.)
//!
//! The snapshot is SQLite's `VACUUM INTO`: it reads the database in one read transaction, so the
//! copy holds exactly the transactions committed when it started (WAL included) and none of the
//! writes that commit while it runs, and it never blocks the server's writer. The connection is
//! opened without creating anything and without the data directory's lock (the server holds it).

use crate::{codec, StoreError, StoreResult};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use std::path::Path;
use std::time::Duration;

/// What a database says about itself, read by `inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteFacts {
    /// `PRAGMA integrity_check`'s answer: `["ok"]` for a sound database.
    pub integrity: Vec<String>,
    /// The highest migration applied (0 for a database never migrated).
    pub schema_version: i64,
    /// The tenant, once the store has been bootstrapped.
    pub tenant_id: Option<uuid::Uuid>,
}

impl SqliteFacts {
    pub fn is_sound(&self) -> bool {
        self.integrity == ["ok"]
    }
}

/// The newest migration this build knows: a database at a higher version was written by a
/// newer OpenPIM and must not be opened by this one.
pub fn latest_sqlite_schema_version() -> i64 {
    sqlx::migrate!("./migrations/sqlite").migrations.iter().map(|m| m.version).max().unwrap_or(0)
}

async fn open_existing(db: &Path) -> StoreResult<SqliteConnection> {
    if !db.is_file() {
        return Err(StoreError::Config(format!("no SQLite database at {}", db.display())));
    }
    SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(false)
        // The server may be committing; wait for its lock rather than fail.
        .busy_timeout(Duration::from_secs(30))
        .disable_statement_logging()
        .connect()
        .await
        .map_err(StoreError::Db)
}

/// Writes a consistent copy of the database `db` to `into` (which must not exist), while
/// servers keep reading and writing `db`; returns what the copy holds.
pub async fn sqlite_snapshot(db: &Path, into: &Path) -> StoreResult<SqliteFacts> {
    if into.exists() {
        return Err(StoreError::Config(format!("{} exists already", into.display())));
    }
    let mut conn = open_existing(db).await?;
    let target = into.to_str().ok_or_else(|| StoreError::Config(format!("{} is not UTF-8", into.display())))?;
    let result = sqlx::query("VACUUM INTO ?").bind(target).execute(&mut conn).await;
    let _ = conn.close().await;
    result.map_err(StoreError::Db)?;
    inspect(into).await
}

/// Reads the integrity check, schema version and tenant of the database file `db`.
pub async fn inspect(db: &Path) -> StoreResult<SqliteFacts> {
    let mut conn = open_existing(db).await?;
    let facts = async {
        let integrity: Vec<(String,)> =
            sqlx::query_as("PRAGMA integrity_check").fetch_all(&mut conn).await.map_err(StoreError::Db)?;
        let integrity: Vec<String> = integrity.into_iter().map(|(line,)| line).collect();
        if integrity != ["ok"] {
            // The tables below may be what is damaged; report the check, not a read error.
            return Ok(SqliteFacts { integrity, schema_version: 0, tenant_id: None });
        }
        let has = |table: &'static str| {
            sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
                .bind(table)
        };
        let (migrations,) = has("_sqlx_migrations").fetch_one(&mut conn).await.map_err(StoreError::Db)?;
        let schema_version = if migrations == 0 {
            0
        } else {
            let (v,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
                .fetch_one(&mut conn)
                .await
                .map_err(StoreError::Db)?;
            v
        };
        let (tenants,) = has("tenant").fetch_one(&mut conn).await.map_err(StoreError::Db)?;
        let tenant_id = if tenants == 0 {
            None
        } else {
            let row: Option<(String,)> = sqlx::query_as("SELECT id FROM tenant LIMIT 1")
                .fetch_optional(&mut conn)
                .await
                .map_err(StoreError::Db)?;
            row.map(|(id,)| codec::parse_id(&id)).transpose()?
        };
        Ok(SqliteFacts { integrity, schema_version, tenant_id })
    }
    .await;
    let _ = conn.close().await;
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_snapshot_holds_the_committed_data_and_passes_the_integrity_check() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_sqlite_dir(dir.path()).await.unwrap();
        let tenant = uuid::Uuid::new_v4();
        sqlx::query("INSERT INTO tenant (id, created_at) VALUES ($1, 0)")
            .bind(tenant.to_string())
            .execute(&store.pool)
            .await
            .unwrap();
        let copy = dir.path().join("copy.db");
        // The store stays open (and its WAL unmerged) while the snapshot is taken.
        let facts = sqlite_snapshot(&dir.path().join("openpim.db"), &copy).await.unwrap();
        assert!(facts.is_sound(), "{facts:?}");
        assert_eq!(facts.tenant_id, Some(tenant));
        assert_eq!(facts.schema_version, latest_sqlite_schema_version());
        assert!(sqlite_snapshot(&dir.path().join("openpim.db"), &copy).await.is_err(), "never overwrites");
        store.close().await;

        // Damaged pages (every one after the schema's) fail the check, or cannot even be read.
        let mut bytes = std::fs::read(&copy).unwrap();
        let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
        for b in &mut bytes[page..] {
            *b = 0xA5;
        }
        std::fs::write(&copy, &bytes).unwrap();
        match inspect(&copy).await {
            Ok(facts) => assert!(!facts.is_sound(), "{facts:?}"),
            Err(e) => assert!(e.to_string().contains("database"), "{e}"),
        }
    }
}
