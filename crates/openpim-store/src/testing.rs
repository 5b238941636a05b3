//! Support for tests that run against PostgreSQL: each test server gets a schema of its own.

use crate::{StoreError, StoreResult};
use sqlx::{AnyConnection, Connection, Executor};

/// Prefix of every schema made here, so a CI run can sweep up leftovers.
pub const SCHEMA_PREFIX: &str = "openpim_test_";

/// Creates a fresh schema on the server at `base_url` (a `postgres://` URL) and returns the
/// schema's name and a URL whose connections use it (`search_path`).
pub async fn create_postgres_schema(base_url: &str) -> StoreResult<(String, String)> {
    sqlx::any::install_default_drivers();
    let schema = format!("{SCHEMA_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let mut conn = AnyConnection::connect(base_url).await.map_err(StoreError::Db)?;
    conn.execute(format!("CREATE SCHEMA {schema}").as_str()).await.map_err(StoreError::Db)?;
    conn.close().await.map_err(StoreError::Db)?;
    let separator = if base_url.contains('?') { '&' } else { '?' };
    Ok((schema.clone(), format!("{base_url}{separator}options=-c%20search_path%3D{schema}")))
}

/// Drops a schema made by [`create_postgres_schema`].
pub async fn drop_postgres_schema(base_url: &str, schema: &str) -> StoreResult<()> {
    if !schema.starts_with(SCHEMA_PREFIX) || !schema[SCHEMA_PREFIX.len()..].chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(StoreError::Config(format!("refusing to drop '{schema}': not a test schema")));
    }
    let mut conn = AnyConnection::connect(base_url).await.map_err(StoreError::Db)?;
    conn.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.map_err(StoreError::Db)?;
    conn.close().await.map_err(StoreError::Db)?;
    Ok(())
}

impl crate::Store {
    /// Test hook: the next commit through the write path stops after writing its audit and
    /// change-feed rows, just before the SQL `COMMIT`. The first receiver fires when it got
    /// there; sending on (or dropping) the returned sender lets it go on. Used to reproduce
    /// interleavings such as "the earlier feed sequence number commits later".
    #[doc(hidden)]
    pub fn pause_next_commit(&self) -> (tokio::sync::oneshot::Receiver<()>, tokio::sync::oneshot::Sender<()>) {
        let (reached, reached_rx) = tokio::sync::oneshot::channel();
        let (resume_tx, resume) = tokio::sync::oneshot::channel();
        self.gate.set_pause(crate::write::CommitPause { reached, resume });
        (reached_rx, resume_tx)
    }
}
