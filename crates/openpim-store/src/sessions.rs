//! Web UI sessions: the server side of the browser's session cookie (see migrations 0006 and
//! 0014), and sign-ins sent to an external provider and not yet back.
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
    /// The external provider the user signed in through, if any (not the local issuer).
    pub issuer: Option<String>,
    /// That sign-in's ID token, sent back to the provider as `id_token_hint` at sign-out.
    pub id_token: Option<String>,
}

impl Store {
    /// Records a new session under `id_hash` (the SHA-256 of the cookie's session id).
    pub async fn insert_ui_session(&self, id_hash: &str, s: &UiSession) -> StoreResult<()> {
        let acrs = records::string_list::encode(&s.acrs)?;
        sqlx::query(
            "INSERT INTO ui_sessions (id_hash, user_id, mfa, acrs, created_at, expires_at, issuer, id_token) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id_hash.to_string())
        .bind(id_text(s.user_id))
        .bind(flag(s.mfa))
        .bind(acrs)
        .bind(micros(s.created))
        .bind(micros(s.expires))
        .bind(s.issuer.clone())
        .bind(s.id_token.clone())
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
                issuer: r.opt_text("issuer")?,
                id_token: r.opt_text("id_token")?,
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

/// A sign-in sent to an external OpenID provider and not yet back (see migration 0014).
#[derive(Debug, Clone, PartialEq)]
pub struct OidcAuthRequest {
    /// SHA-256 (hex) of the random value in the browser's sign-in cookie.
    pub browser_hash: String,
    pub issuer: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The UI session a step-up replaces (its `id_hash`).
    pub replaces_session: Option<String>,
    /// What to do after the sign-in (JSON, the UI's business).
    pub pending_action: Option<String>,
    pub created: Instant,
    pub expires: Instant,
}

impl Store {
    /// Records a sign-in sent to a provider under `state_hash` (the SHA-256 of its `state`),
    /// forgetting expired ones on the way.
    pub async fn insert_oidc_auth_request(&self, state_hash: &str, r: &OidcAuthRequest) -> StoreResult<()> {
        sqlx::query("DELETE FROM oidc_auth_requests WHERE expires_at <= $1")
            .bind(micros(r.created))
            .execute(self.pool())
            .await
            .map_err(StoreError::Db)?;
        sqlx::query(
            "INSERT INTO oidc_auth_requests (state_hash, browser_hash, issuer, nonce, pkce_verifier, \
             replaces_session, pending_action, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(state_hash.to_string())
        .bind(r.browser_hash.clone())
        .bind(r.issuer.clone())
        .bind(r.nonce.clone())
        .bind(r.pkce_verifier.clone())
        .bind(r.replaces_session.clone())
        .bind(r.pending_action.clone())
        .bind(micros(r.created))
        .bind(micros(r.expires))
        .execute(self.pool())
        .await
        .map_err(StoreError::Db)?;
        Ok(())
    }

    /// Takes the sign-in stored under `state_hash` out of the store: it is deleted whatever the
    /// caller does next, so a callback can be answered once. Of two concurrent takers (on any
    /// nodes) only the one whose delete removed the row gets it. `None` when there is none or it
    /// expired by `now`.
    pub async fn take_oidc_auth_request(&self, state_hash: &str, now: Instant) -> StoreResult<Option<OidcAuthRequest>> {
        let row = sqlx::query("SELECT * FROM oidc_auth_requests WHERE state_hash = $1")
            .bind(state_hash.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        let Some(row) = row else { return Ok(None) };
        let taken = sqlx::query("DELETE FROM oidc_auth_requests WHERE state_hash = $1")
            .bind(state_hash.to_string())
            .execute(self.pool())
            .await
            .map_err(StoreError::Db)?;
        if taken.rows_affected() != 1 {
            return Ok(None);
        }
        let request = OidcAuthRequest {
            browser_hash: row.text("browser_hash")?,
            issuer: row.text("issuer")?,
            nonce: row.text("nonce")?,
            pkce_verifier: row.text("pkce_verifier")?,
            replaces_session: row.opt_text("replaces_session")?,
            pending_action: row.opt_text("pending_action")?,
            created: row.time("created_at")?,
            expires: row.time("expires_at")?,
        };
        Ok((request.expires > now).then_some(request))
    }
}
