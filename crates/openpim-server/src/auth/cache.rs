//! What authenticating a request costs, paid once per token and once per user.
//!
//! Checking an ES256 signature and reading the caller's user row dominated a cheap request such
//! as an access check. Both answers are cached here:
//!
//! - verified tokens, by the SHA-256 of the token text. Only tokens that passed full verification
//!   are stored, and the lifetime (`exp`/`nbf`) is checked again on every hit, so a cached token
//!   stops working at the same instant an uncached one would;
//! - users, by object id. Any committed write to a user (on this node, or on another node
//!   as seen through the change feed) empties the cache. A generation number guards the race in
//!   which a lookup reads the old row, the write commits and empties the cache, and the lookup
//!   then stores what it read: the store is refused because the generation moved.

use super::VerifiedToken;
use openpim_core::directory::User;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Bounds memory under a flood of distinct tokens; when full, expired entries go first, then all.
const MAX_TOKENS: usize = 50_000;
const MAX_USERS: usize = 100_000;

/// How a token names its user: by object id (local tokens always, see `Claims::object_id`), or
/// by userPrincipalName, lower-cased (external issuers configured to map a name claim).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserKey {
    Id(uuid::Uuid),
    Upn(String),
}

#[derive(Default)]
pub struct CallerCache {
    tokens: Mutex<HashMap<[u8; 32], Arc<VerifiedToken>>>,
    users: RwLock<HashMap<UserKey, User>>,
    generation: AtomicU64,
}

impl CallerCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn token_key(token: &str) -> [u8; 32] {
        let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        key
    }

    /// The claims of a token verified earlier, if it is still within its lifetime at `now_unix`.
    pub fn verified_token(&self, token: &str, now_unix: i64) -> Option<Arc<VerifiedToken>> {
        let key = Self::token_key(token);
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let claims = tokens.get(&key)?.clone();
        if within_lifetime(&claims, now_unix) {
            Some(claims)
        } else {
            if claims.exp.saturating_add(claims.leeway) <= now_unix {
                tokens.remove(&key);
            }
            None
        }
    }

    /// Remembers a token that passed full verification.
    pub fn remember_token(&self, token: &str, claims: Arc<VerifiedToken>, now_unix: i64) {
        let key = Self::token_key(token);
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if tokens.len() >= MAX_TOKENS {
            tokens.retain(|_, c| c.exp.saturating_add(c.leeway) > now_unix);
            if tokens.len() >= MAX_TOKENS {
                tokens.clear();
            }
        }
        tokens.insert(key, claims);
    }

    /// Read this before looking a user up in the store; pass it to [`CallerCache::remember_user`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn user(&self, key: &UserKey) -> Option<User> {
        self.users.read().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    /// Caches `user` unless a user write committed since `generation` was read.
    pub fn remember_user(&self, key: UserKey, user: User, generation: u64) {
        let mut users = self.users.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if users.len() >= MAX_USERS {
            users.clear();
        }
        users.insert(key, user);
    }

    /// A user was created, changed or deleted: forget every cached user.
    pub fn users_changed(&self) {
        let mut users = self.users.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        users.clear();
    }
}

/// The same lifetime rule `jsonwebtoken` applies on full verification (with the issuer's leeway).
fn within_lifetime(token: &VerifiedToken, now_unix: i64) -> bool {
    token.exp.saturating_add(token.leeway) > now_unix
        && token.nbf.is_none_or(|nbf| nbf.saturating_sub(token.leeway) <= now_unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEEWAY: i64 = 5;

    fn claims(nbf: i64, exp: i64) -> Arc<VerifiedToken> {
        Arc::new(VerifiedToken {
            surfaces: Default::default(),
            user: vec![UserKey::Upn("alice@contoso.test".into())],
            mfa: false,
            acrs: vec![],
            nbf: Some(nbf),
            exp,
            leeway: LEEWAY,
            jit: None,
        })
    }

    #[test]
    fn cached_tokens_expire_like_verified_ones() {
        let cache = CallerCache::new();
        cache.remember_token("tok", claims(1000, 2000), 1000);
        assert!(cache.verified_token("tok", 1500).is_some());
        assert!(cache.verified_token("other", 1500).is_none());
        // Within the leeway after exp, still valid; after it, gone for good.
        assert!(cache.verified_token("tok", 2000 + LEEWAY - 1).is_some());
        assert!(cache.verified_token("tok", 2000 + LEEWAY).is_none());
        assert!(cache.verified_token("tok", 1500).is_none(), "an expired entry is dropped");
        // Not yet valid.
        cache.remember_token("later", claims(5000, 6000), 1000);
        assert!(cache.verified_token("later", 1000).is_none());
        assert!(cache.verified_token("later", 5000).is_some());
    }

    #[test]
    fn a_user_write_during_a_lookup_keeps_the_stale_row_out() {
        let cache = CallerCache::new();
        let user = User {
            id: uuid::Uuid::new_v4(),
            user_principal_name: "alice@contoso.test".into(),
            display_name: "Alice".into(),
            mail_nickname: "alice".into(),
            given_name: None,
            surname: None,
            mail: None,
            job_title: None,
            department: None,
            account_enabled: true,
            user_type: Default::default(),
            im_addresses: Vec::new(),
            created: time::OffsetDateTime::UNIX_EPOCH,
        };
        let key = UserKey::Id(user.id);
        let generation = cache.generation();
        cache.users_changed();
        cache.remember_user(key.clone(), user.clone(), generation);
        assert!(cache.user(&key).is_none(), "read before the write, stored after: refused");
        cache.remember_user(key.clone(), user.clone(), cache.generation());
        assert_eq!(cache.user(&key).map(|u| u.id), Some(user.id));
        cache.users_changed();
        assert!(cache.user(&key).is_none());
    }
}
