//! Bearer tokens: the local issuer (mints and verifies ES256 JWTs with a key kept in the data
//! directory) and the `Caller` extractor that turns a verified token into a directory user.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use openpim_core::directory::User;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod cache;
pub use cache::{CallerCache, UserKey};

/// Audiences we accept: Graph's URL and its well-known application id, as Entra issues them.
pub const AUDIENCES: [&str; 2] = ["https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"];
const KEY_FILE: &str = "issuer-key.p8";
const META_FILE: &str = "issuer.json";
/// Tolerated clock skew when checking exp/nbf.
const LEEWAY_SECS: u64 = 5;
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Authentication methods; contains "mfa" when the session passed multi-factor authentication.
    #[serde(default)]
    pub amr: Vec<String>,
    /// Authentication context class references satisfied by the session (e.g. "c1").
    #[serde(default)]
    pub acrs: Vec<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct IssuerMeta {
    issuer: String,
}

/// What `openpim token` asks for.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub upn: String,
    pub mfa: bool,
    pub acrs: Vec<String>,
    pub ttl: Duration,
}

pub struct LocalIssuer {
    issuer: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    #[error("no issuer key in {0}: start `openpim serve` with this data directory first")]
    Missing(PathBuf),
    #[error("issuer key files in {0} are unreadable or corrupt: {1}")]
    Corrupt(PathBuf, String),
    #[error("I/O error on {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

impl LocalIssuer {
    /// Loads the issuer key from `data_dir`, creating it (mode 0600) on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, IssuerError> {
        let key_path = data_dir.join(KEY_FILE);
        if !key_path.exists() {
            std::fs::create_dir_all(data_dir).map_err(|e| IssuerError::Io(data_dir.into(), e))?;
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| IssuerError::Corrupt(key_path.clone(), "key generation failed".into()))?;
            write_private(&key_path, pkcs8.as_ref())?;
            let meta = IssuerMeta { issuer: format!("https://openpim.local/{}/v2.0", uuid::Uuid::new_v4()) };
            let meta_json = serde_json::to_vec_pretty(&meta).expect("issuer metadata serialises");
            // Owner-only like the key (a stale copy left without its key is replaced).
            let meta_path = data_dir.join(META_FILE);
            let _ = std::fs::remove_file(&meta_path);
            write_private(&meta_path, &meta_json)?;
        }
        Self::load(data_dir)
    }

    /// Loads an existing issuer key (for `openpim token`).
    pub fn load(data_dir: &Path) -> Result<Self, IssuerError> {
        let key_path = data_dir.join(KEY_FILE);
        if !key_path.exists() {
            return Err(IssuerError::Missing(data_dir.into()));
        }
        let pkcs8 = std::fs::read(&key_path).map_err(|e| IssuerError::Io(key_path.clone(), e))?;
        let meta_path = data_dir.join(META_FILE);
        let meta: IssuerMeta =
            std::fs::read(&meta_path).map_err(|e| IssuerError::Io(meta_path.clone(), e)).and_then(|b| {
                serde_json::from_slice(&b).map_err(|e| IssuerError::Corrupt(meta_path.clone(), e.to_string()))
            })?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &SystemRandom::new())
            .map_err(|e| IssuerError::Corrupt(key_path.clone(), e.to_string()))?;
        Ok(Self {
            issuer: meta.issuer,
            encoding: EncodingKey::from_ec_der(&pkcs8),
            decoding: DecodingKey::from_ec_der(pair.public_key().as_ref()),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Signs a token for `req.upn`, valid from `now` for `req.ttl`.
    pub fn mint(&self, req: &TokenRequest, now: time::OffsetDateTime) -> String {
        let iat = now.unix_timestamp();
        let mut amr = vec!["pwd".to_string()];
        if req.mfa {
            amr.push("mfa".to_string());
        }
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: AUDIENCES[0].to_string(),
            sub: req.upn.to_lowercase(),
            oid: None,
            upn: Some(req.upn.clone()),
            preferred_username: Some(req.upn.clone()),
            amr,
            acrs: req.acrs.clone(),
            iat,
            nbf: iat,
            exp: iat + req.ttl.as_secs().min(MAX_TTL.as_secs()) as i64,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.encoding)
            .expect("ES256 signing with a valid key cannot fail")
    }

    /// Verifies signature, algorithm, issuer, audience, expiry and not-before.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let mut v = Validation::new(Algorithm::ES256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&AUDIENCES);
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        v.validate_nbf = true;
        v.leeway = LEEWAY_SECS;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map(|d| d.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            let why = match e.kind() {
                K::ExpiredSignature | K::ImmatureSignature => {
                    "Lifetime validation failed, the token is expired or not yet valid."
                }
                K::InvalidSignature => "Signature validation failed.",
                K::InvalidIssuer => "Issuer validation failed: the token was not issued by a trusted issuer.",
                K::InvalidAudience => "Audience validation failed.",
                K::InvalidAlgorithm => "The token's signing algorithm is not accepted.",
                _ => "The access token is malformed.",
            };
            ApiError::unauthorized(why)
        })
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), IssuerError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| IssuerError::Io(path.into(), e))?;
    f.write_all(bytes).map_err(|e| IssuerError::Io(path.into(), e))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), IssuerError> {
    std::fs::write(path, bytes).map_err(|e| IssuerError::Io(path.into(), e))
}

/// Parses a TTL such as `90s`, `30m`, `1h`, `8h`, `1d` (bounded by [`MAX_TTL`]).
pub fn parse_ttl(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (num, unit) = raw.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("'{raw}' is not a duration like 30m, 1h or 1d"))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86400),
        _ => return Err(format!("'{raw}': unknown unit '{unit}' (use s, m, h or d)")),
    };
    if secs == 0 || secs > MAX_TTL.as_secs() {
        return Err(format!("'{raw}': the lifetime must be between 1s and 30d"));
    }
    Ok(Duration::from_secs(secs))
}

/// The authenticated caller of a request: a verified token mapped to an enabled directory user.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub mfa: bool,
    pub acrs: Vec<String>,
}

impl Caller {
    pub fn id(&self) -> openpim_core::ObjectId {
        self.user.id
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("Access token is empty."))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("The Authorization header must be 'Bearer <token>'."))?;
        let claims = verified_claims(state, token)?;
        let key = match claims.oid.as_deref().and_then(|o| uuid::Uuid::parse_str(o).ok()) {
            Some(oid) => UserKey::Id(oid),
            None => UserKey::Upn(
                claims.upn.as_deref().or(claims.preferred_username.as_deref()).unwrap_or(&claims.sub).to_lowercase(),
            ),
        };
        let user = match state.callers.user(&key) {
            Some(user) => Some(user),
            None => {
                let generation = state.callers.generation();
                let found = match &key {
                    UserKey::Id(oid) => state.store.get_user(*oid).await?,
                    UserKey::Upn(upn) => state.store.get_user_by_upn(upn).await?,
                };
                if let Some(user) = &found {
                    state.callers.remember_user(key, user.clone(), generation);
                }
                found
            }
        };
        let user = user.filter(|u| u.account_enabled).ok_or_else(|| {
            ApiError::unauthorized("The token's user does not exist in this directory or is disabled.")
        })?;
        Ok(Caller { mfa: claims.amr.iter().any(|m| m == "mfa"), acrs: claims.acrs.clone(), user })
    }
}

/// Full verification the first time a token is seen; the cached claims afterwards.
fn verified_claims(state: &AppState, token: &str) -> Result<Arc<Claims>, ApiError> {
    let now_unix = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Some(claims) = state.callers.verified_token(token, now_unix) {
        return Ok(claims);
    }
    let claims = Arc::new(state.issuer.verify(token)?);
    state.callers.remember_token(token, claims.clone(), now_unix);
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mint_verify_and_reject_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let issuer = LocalIssuer::load_or_create(dir.path()).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let req =
            TokenRequest { upn: "alice@contoso.test".into(), mfa: true, acrs: vec![], ttl: Duration::from_secs(600) };
        let tok = issuer.mint(&req, now);
        let claims = issuer.verify(&tok).unwrap();
        assert_eq!(claims.upn.as_deref(), Some("alice@contoso.test"));
        assert!(claims.amr.contains(&"mfa".to_string()));
        // The same key reloads from disk.
        let again = LocalIssuer::load(dir.path()).unwrap();
        again.verify(&tok).unwrap();
        // A key from another data directory does not verify it.
        let other_dir = tempfile::tempdir().unwrap();
        let other = LocalIssuer::load_or_create(other_dir.path()).unwrap();
        assert_eq!(other.verify(&tok).unwrap_err().status, axum::http::StatusCode::UNAUTHORIZED);
        // Expired.
        let old = issuer.mint(&req, now - time::Duration::hours(1));
        assert!(issuer.verify(&old).unwrap_err().message.contains("expired"));
        // Flipped payload byte.
        let mut parts: Vec<String> = tok.split('.').map(str::to_string).collect();
        parts[1] = parts[1].replacen('e', "f", 1);
        assert!(issuer.verify(&parts.join(".")).is_err());
        assert!(issuer.verify("garbage").is_err());
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_ttl("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_ttl("2d").unwrap(), Duration::from_secs(172800));
        for bad in ["", "h", "0s", "1y", "999d", "-1h"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
