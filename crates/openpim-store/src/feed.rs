//! The change feed other nodes follow: every committed write appends rows `(seq, entity, id,
//! operation)`. A follower turns each row into index updates by reading the entity's *current*
//! state, so replaying a row twice, or out of order with this node's own writes, is harmless.

use crate::codec::{parse_id, RowExt};
use crate::{Backend, Store, StoreError, StoreResult};
use openpim_core::change::IndexUpdate;
use openpim_core::schedule::Kind;
use openpim_core::ObjectId;

/// See [`Store::feed_lag`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedLag {
    pub head: i64,
    pub oldest_pending: Option<openpim_core::Instant>,
}

/// The PostgreSQL NOTIFY channel that wakes followers up.
pub const CHANNEL: &str = "openpim_changes";

/// The PostgreSQL advisory lock every writer holds from the start of its commit until it ends
/// (`pg_advisory_xact_lock`), so change-feed sequence numbers are allocated in commit order.
pub const COMMIT_ORDER_LOCK: i64 = 0x0_9e11_0100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub operation: String,
}

impl Store {
    /// The highest sequence number written so far (0 for an empty feed).
    pub async fn feed_head(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS head FROM change_feed")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.int("head")
    }

    /// How far a follower at `position` is behind: the feed head, and when the oldest entry it
    /// has not applied yet was written (`None` when it is up to date).
    pub async fn feed_lag(&self, position: i64) -> StoreResult<FeedLag> {
        let row = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM change_feed) AS head, \
             (SELECT MIN(at) FROM change_feed WHERE seq > $1) AS oldest_pending",
        )
        .bind(position)
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::Db)?;
        Ok(FeedLag {
            head: row.int("head")?,
            oldest_pending: row.opt_int("oldest_pending")?.map(crate::codec::from_micros).transpose()?,
        })
    }

    /// Entries after `seq`, oldest first.
    pub async fn feed_since(&self, seq: i64, limit: u32) -> StoreResult<Vec<FeedEntry>> {
        let sql = format!("SELECT * FROM change_feed WHERE seq > $1 ORDER BY seq LIMIT {limit}");
        let rows = sqlx::query(&sql).bind(seq).fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        rows.iter()
            .map(|r| {
                Ok(FeedEntry {
                    seq: r.int("seq")?,
                    entity: r.text("entity")?,
                    entity_id: r.text("entity_id")?,
                    operation: r.text("operation")?,
                })
            })
            .collect()
    }

    /// What the access index must do about one feed entry, from the entity's current state.
    pub async fn index_updates_for(&self, e: &FeedEntry) -> StoreResult<Vec<IndexUpdate>> {
        let id = || parse_id(&e.entity_id);
        Ok(match e.entity.as_str() {
            "role_assignments" => {
                let id = id()?;
                match self.get_schedule(Kind::Assignment, id).await? {
                    Some(s) if s.status != openpim_core::schedule::ScheduleStatus::Expired => {
                        vec![IndexUpdate::GrantAdded(s.to_grant())]
                    }
                    _ => vec![IndexUpdate::GrantRemoved(id)],
                }
            }
            "roleDefinition" => match self.get_role_definition(id()?).await? {
                Some(r) => vec![IndexUpdate::RoleDefinitionSaved(r)],
                None => vec![IndexUpdate::RoleDefinitionDeleted(id()?)],
            },
            "group" => match self.get_group(id()?).await? {
                Some(g) => {
                    vec![IndexUpdate::GroupSaved {
                        group_id: g.id,
                        is_assignable_to_role: g.is_assignable_to_role,
                        is_security_enabled: g.security_enabled,
                    }]
                }
                None => vec![IndexUpdate::GroupDeleted(id()?)],
            },
            "groupMember" => {
                let (group, member) = e
                    .entity_id
                    .split_once('/')
                    .ok_or_else(|| StoreError::Corrupt(format!("feed groupMember id '{}'", e.entity_id)))?;
                let (group_id, member_id): (ObjectId, ObjectId) = (parse_id(group)?, parse_id(member)?);
                if self.is_group_member(group_id, member_id).await? {
                    vec![IndexUpdate::MemberAdded { group_id, member_id }]
                } else {
                    vec![IndexUpdate::MemberRemoved { group_id, member_id }]
                }
            }
            crate::azure_resources::FEED_MANAGEMENT_GROUP | crate::azure_resources::FEED_SUBSCRIPTION => {
                self.hierarchy_updates_for(&e.entity, &e.entity_id).await?
            }
            // A service principal holds roles like a user: its deletion drops what it held.
            "user" | "servicePrincipal" if e.operation == "delete" => vec![IndexUpdate::PrincipalDeleted(id()?)],
            _ => vec![],
        })
    }

    /// A LISTEN connection on [`CHANNEL`] (PostgreSQL only).
    pub async fn listen(&self) -> StoreResult<Option<sqlx::postgres::PgListener>> {
        if self.backend() != Backend::Postgres {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(&self.url).await.map_err(StoreError::Db)?;
        listener.listen(CHANNEL).await.map_err(StoreError::Db)?;
        Ok(Some(listener))
    }
}

/// A cluster-wide lock for a background job: on PostgreSQL a session advisory lock, so only one
/// node runs the job at a time; on SQLite (one node) always granted.
pub struct JobLock {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
    key: i64,
}

impl Store {
    /// Tries to take the lock for job `key`; `None` when another node holds it.
    pub async fn try_job_lock(&self, key: i64) -> StoreResult<Option<JobLock>> {
        if self.backend() != Backend::Postgres {
            return Ok(Some(JobLock { conn: None, key }));
        }
        let mut conn = self.pool().acquire().await.map_err(StoreError::Db)?;
        let row = sqlx::query("SELECT pg_try_advisory_lock($1) AS locked")
            .bind(key)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::Db)?;
        let locked: bool = sqlx::Row::try_get(&row, "locked").map_err(StoreError::Db)?;
        Ok(locked.then_some(JobLock { conn: Some(conn), key }))
    }
}

impl Drop for JobLock {
    fn drop(&mut self) {
        // Dropped without `release` (the job panicked or was cancelled): the session still holds
        // the advisory lock, so the connection must not go back to the pool, where it would keep
        // the job locked for every node. Closing it ends the session and frees the lock.
        if let Some(conn) = self.conn.as_mut() {
            conn.close_on_drop();
        }
    }
}

impl JobLock {
    pub async fn release(mut self) -> StoreResult<()> {
        if let Some(mut conn) = self.conn.take() {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::Db)?;
        }
        Ok(())
    }
}
