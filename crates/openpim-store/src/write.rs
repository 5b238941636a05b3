//! The one write path: a transaction that also records the audit entry and change-feed rows.

use crate::codec::micros;
use crate::{audit, StoreError, StoreResult};
use openpim_core::audit::AuditRecord;
use openpim_core::change::IndexUpdate;
use sqlx::{Any, AnyConnection, Transaction};
use tokio::sync::MutexGuard;

pub struct WriteTx<'s> {
    tx: Transaction<'static, Any>,
    _guard: MutexGuard<'s, ()>,
    updates: Vec<IndexUpdate>,
    feed: Vec<(&'static str, String, &'static str)>,
    backend: crate::Backend,
}

impl<'s> WriteTx<'s> {
    pub(crate) fn new(tx: Transaction<'static, Any>, guard: MutexGuard<'s, ()>, backend: crate::Backend) -> Self {
        Self { tx, _guard: guard, updates: Vec::new(), feed: Vec::new(), backend }
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Notes a change for the access index (applied by the caller after commit).
    pub(crate) fn index(&mut self, update: IndexUpdate) {
        self.updates.push(update);
    }

    /// Notes a change for the change feed that other nodes follow.
    pub(crate) fn feed(&mut self, entity: &'static str, id: impl ToString, operation: &'static str) {
        self.feed.push((entity, id.to_string(), operation));
    }

    /// Whether this change writes rows of `entity` (a change-feed entity name such as "user").
    pub fn touches(&self, entity: &str) -> bool {
        self.feed.iter().any(|(e, _, _)| *e == entity)
    }

    /// Commits the change together with its audit record, then hands the index updates to
    /// `apply` while this node's write lock is still held, so the in-memory index sees changes
    /// in exactly the order they were committed.
    pub async fn commit(mut self, record: &AuditRecord, apply: impl FnOnce(Vec<IndexUpdate>)) -> StoreResult<()> {
        audit::insert(&mut self.tx, record).await?;
        let at = micros(record.at);
        for (entity, id, op) in &self.feed {
            sqlx::query("INSERT INTO change_feed (at, entity, entity_id, operation) VALUES ($1, $2, $3, $4)")
                .bind(at)
                .bind(*entity)
                .bind(id.clone())
                .bind(*op)
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::Db)?;
        }
        if self.backend == crate::Backend::Postgres && !self.feed.is_empty() {
            // Delivered at commit: other nodes wake up and read the feed from their last seq.
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(crate::feed::CHANNEL)
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::Db)?;
        }
        self.tx.commit().await.map_err(StoreError::from_write)?;
        apply(std::mem::take(&mut self.updates));
        Ok(())
    }

    /// Abandons the change; nothing is written.
    pub async fn rollback(self) -> StoreResult<()> {
        self.tx.rollback().await.map_err(StoreError::Db)
    }
}

/// Writes a record on its own (for failures and denials, which change nothing else).
pub(crate) async fn record_only(store: &crate::Store, record: &AuditRecord) -> StoreResult<()> {
    let mut conn = store.pool().acquire().await.map_err(StoreError::Db)?;
    audit::insert(&mut conn, record).await
}
