//! Web UI sessions: the server side of the browser's session cookie (see migration 0006).
//! Stored by the hash of the session id, so the table alone lets nobody sign in.

use crate::codec::{flag, id_text, micros, RowExt};
use crate::{records, Store, StoreError, StoreResult};
use openpim_core::{Instant, ObjectId};

/// A signed-in browser: who, how they authenticated, and until when.
#[derive(Debug, Clone, PartialEq)]
pub struct UiSession {
    pub user_id: ObjectId,
    /// The signing-in token carried `amr: mfa`.
    pub mfa: bool,
    /// Authentication contexts the signing-in token satisfied.
    pub acrs: Vec<String>,
    pub created: Instant,
    pub expires: Instant,
}

impl Store {
    /// Records a new session under `id_hash` (the SHA-256 of the cookie's session id).
    pub async fn insert_ui_session(&self, id_hash: &str, s: &UiSession) -> StoreResult<()> {
        let acrs = records::string_list::encode(&s.acrs)?;
        sqlx::query(
            "INSERT INTO ui_sessions (id_hash, user_id, mfa, acrs, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id_hash.to_string())
        .bind(id_text(s.user_id))
        .bind(flag(s.mfa))
        .bind(acrs)
        .bind(micros(s.created))
        .bind(micros(s.expires))
        .execute(self.pool())
        .await
        .map_err(StoreError::Db)?;
        Ok(())
    }

    /// The session stored under `id_hash`, unless it has expired by `now`.
    pub async fn ui_session(&self, id_hash: &str, now: Instant) -> StoreResult<Option<UiSession>> {
        let row = sqlx::query("SELECT * FROM ui_sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(id_hash.to_string())
            .bind(micros(now))
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.map(|r| {
            Ok(UiSession {
                user_id: r.id("user_id")?,
                mfa: r.bool("mfa")?,
                acrs: records::string_list::decode(&r.text("acrs")?)?,
                created: r.time("created_at")?,
                expires: r.time("expires_at")?,
            })
        })
        .transpose()
    }

    /// Ends a session (sign-out). Returns whether there was one.
    pub async fn delete_ui_session(&self, id_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM ui_sessions WHERE id_hash = $1")
            .bind(id_hash.to_string())
            .execute(self.pool())
            .await
            .map_err(StoreError::Db)?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets sessions that expired before `now` (housekeeping; expired ones are refused anyway).
    pub async fn delete_expired_ui_sessions(&self, now: Instant) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM ui_sessions WHERE expires_at <= $1")
            .bind(micros(now))
            .execute(self.pool())
            .await
            .map_err(StoreError::Db)?;
        Ok(done.rows_affected())
    }
}
