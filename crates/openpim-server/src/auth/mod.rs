//! Bearer tokens: the local issuer (mints and verifies ES256 JWTs with a key kept in the data
//! directory), external OpenID Connect issuers ([`external`]), and the `Caller` extractor that
//! turns a verified token from either into a directory user.

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
pub mod discovery;
pub mod external;
pub mod issuer_file;
mod jit;
mod jwks;
pub use cache::{CallerCache, UserKey};

/// Audiences Graph routes accept: Graph's URL and its well-known application id, as Entra
/// issues them.
pub const AUDIENCES: [&str; 2] = ["https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"];
/// Audiences Azure Resource Manager routes accept: what Entra issues for the scope
/// `https://management.azure.com/.default` (with and without the trailing slash) and for the
/// classic `https://management.core.windows.net/` resource, which ARM also takes.
pub const ARM_AUDIENCES: [&str; 4] = [
    "https://management.azure.com/",
    "https://management.azure.com",
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
];

/// The two API surfaces, each accepting tokens for its own audience: a Graph token is refused by
/// ARM routes and an ARM token by Graph routes, as Entra's resource servers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Graph,
    Arm,
}

/// Which surfaces a verified token's audience admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Surfaces {
    pub graph: bool,
    pub arm: bool,
}

impl Surfaces {
    /// The surfaces of a token whose `aud` is `audience` on the local issuer: Graph's audiences
    /// admit Graph, ARM's admit ARM.
    pub fn of_audience(audience: &str) -> Self {
        Self { graph: AUDIENCES.contains(&audience), arm: ARM_AUDIENCES.contains(&audience) }
    }

    pub fn admits(self, surface: Surface) -> bool {
        match surface {
            Surface::Graph => self.graph,
            Surface::Arm => self.arm,
        }
    }
}

/// The audience a local token is minted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenAudience {
    /// `https://graph.microsoft.com` (the default).
    #[default]
    Graph,
    /// `https://management.azure.com/`.
    Arm,
}

impl TokenAudience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Graph => AUDIENCES[0],
            Self::Arm => ARM_AUDIENCES[0],
        }
    }

    /// The audience named by a URL or Graph's application id, as `openpim token --audience`
    /// takes it: any accepted spelling of either resource.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let matches = |list: &[&str]| list.iter().any(|a| a.eq_ignore_ascii_case(raw));
        if matches(&AUDIENCES) || raw.eq_ignore_ascii_case("https://graph.microsoft.com/") {
            Ok(Self::Graph)
        } else if matches(&ARM_AUDIENCES) {
            Ok(Self::Arm)
        } else {
            Err(format!(
                "'{raw}' is not an audience this server accepts: use {} (Graph) or {} (Azure Resource Manager)",
                AUDIENCES[0], ARM_AUDIENCES[0]
            ))
        }
    }
}
pub const KEY_FILE: &str = "issuer-key.p8";
pub const META_FILE: &str = "issuer.json";
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

/// What `openpim token` asks for. The token names its user by `oid`, the immutable object id:
/// a UPN can be changed or reused, so a token bound to one would follow the name to whichever
/// account holds it next. `upn` only fills the informational `upn`/`preferred_username` claims.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub oid: uuid::Uuid,
    pub upn: String,
    pub mfa: bool,
    pub acrs: Vec<String>,
    pub ttl: Duration,
}

/// Why a token could not be requested for a UPN.
#[derive(Debug, thiserror::Error)]
pub enum TokenSubjectError {
    #[error("no user '{0}' in this directory (tokens are minted for existing users only)")]
    UnknownUser(String),
    #[error("the user '{0}' is disabled")]
    Disabled(String),
    #[error(transparent)]
    Store(#[from] openpim_store::StoreError),
}

impl TokenRequest {
    /// A request for the user who holds `upn` in `store` now, bound to that user's object id:
    /// a later rename, or another account taking the name, does not move the token.
    pub async fn for_upn(
        store: &openpim_store::Store,
        upn: &str,
        mfa: bool,
        acrs: Vec<String>,
        ttl: Duration,
    ) -> Result<Self, TokenSubjectError> {
        let user = store.get_user_by_upn(upn).await?.ok_or_else(|| TokenSubjectError::UnknownUser(upn.into()))?;
        if !user.account_enabled {
            return Err(TokenSubjectError::Disabled(user.user_principal_name));
        }
        Ok(Self { oid: user.id, upn: user.user_principal_name, mfa, acrs, ttl })
    }
}

pub struct LocalIssuer {
    issuer: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The public key as an uncompressed P-256 point (`0x04 || x || y`), for its JWK.
    public: Vec<u8>,
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
            public: pair.public_key().as_ref().to_vec(),
        })
    }

    /// The issuer's public key as a JWK (ES256), `kid` = its RFC 7638 thumbprint: what checks
    /// the audit chain's checkpoints. An auditor who keeps the thumbprint can pin the key.
    pub fn public_jwk(&self) -> jsonwebtoken::jwk::Jwk {
        use base64::Engine;
        use jsonwebtoken::jwk::{
            AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType,
            Jwk, KeyAlgorithm, PublicKeyUse,
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        // ring's public key is the uncompressed point: 0x04, then 32 bytes of x and 32 of y.
        let (x, y) = (b64.encode(&self.public[1..33]), b64.encode(&self.public[33..65]));
        // RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = b64.encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref());
        Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::ES256),
                key_id: Some(kid),
                ..Default::default()
            },
            algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x,
                y,
            }),
        }
    }

    /// Signs an audit-chain checkpoint: a compact JWS (ES256) whose header names the key.
    pub fn sign_checkpoint(&self, claims: &openpim_core::audit::chain::CheckpointClaims) -> (String, String) {
        let kid = self.public_jwk().common.key_id.unwrap_or_default();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.clone());
        header.typ = Some(openpim_core::audit::chain::CHECKPOINT_TYPE.into());
        let jws =
            jsonwebtoken::encode(&header, claims, &self.encoding).expect("ES256 signing with a valid key cannot fail");
        (kid, jws)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Signs a Graph token for the user `req.oid`, valid from `now` for `req.ttl`.
    pub fn mint(&self, req: &TokenRequest, now: time::OffsetDateTime) -> String {
        self.mint_for(req, TokenAudience::Graph, now)
    }

    /// Signs a token for the user `req.oid` with audience `audience`.
    pub fn mint_for(&self, req: &TokenRequest, audience: TokenAudience, now: time::OffsetDateTime) -> String {
        let iat = now.unix_timestamp();
        let mut amr = vec!["pwd".to_string()];
        if req.mfa {
            amr.push("mfa".to_string());
        }
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: audience.as_str().to_string(),
            sub: req.oid.to_string(),
            oid: Some(req.oid.to_string()),
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

    /// Verifies signature, algorithm, issuer, audience, expiry and not-before, that the lifetime
    /// (`exp - iat`) is at most [`MAX_TTL`], and that the token names its user by object id.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let claims = self.verify_signature_and_times(token)?;
        check_lifetime(&claims)?;
        claims.object_id()?;
        Ok(claims)
    }

    fn verify_signature_and_times(&self, token: &str) -> Result<Claims, ApiError> {
        let mut v = Validation::new(Algorithm::ES256);
        v.set_issuer(&[&self.issuer]);
        let accepted: Vec<&str> = AUDIENCES.iter().chain(ARM_AUDIENCES.iter()).copied().collect();
        v.set_audience(&accepted);
        // `iat` is not a claim `jsonwebtoken` knows how to require, but `Claims::iat` is not
        // optional, so a token without it fails to decode.
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        v.validate_nbf = true;
        v.leeway = LEEWAY_SECS;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map(|d| d.claims).map_err(jwt_error)
    }
}

/// Why a bearer token (or a web sign-in's ID token) was refused: the `reason` label of
/// `openpim_token_rejections_total`, a closed set so no token content becomes a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum TokenRejection {
    /// No `Authorization` header.
    Missing,
    /// Not `Bearer <token>`, not a JWT, undecodable claims, or no object id for the user.
    Malformed,
    /// Past `exp` or before `nbf` (with the issuer's leeway).
    Expired,
    /// Valid for longer than the maximum token lifetime.
    LifetimeTooLong,
    BadSignature,
    /// Not issued by this server's issuer or a configured external issuer.
    WrongIssuer,
    /// Not for this API (or not for this surface: Graph vs ARM).
    WrongAudience,
    /// Signed with an algorithm OpenPIM does not accept (`none`, HS256, ...).
    AlgNotAllowed,
    /// No `kid`, or a key the issuer does not publish (or of the wrong type).
    UnknownKey,
    /// The external issuer's keys could not be fetched.
    IssuerUnreachable,
    /// A local-issuer token while the local issuer is closed (`--local-issuer=false`).
    IssuerDisabled,
    /// A valid token for a user that does not exist here or is disabled.
    UnknownUser,
    /// Web sign-in only: wrong nonce, another client's ID token, no web client configured.
    SignInMismatch,
}

/// Counter: refused tokens, by `reason` ([`TokenRejection`]).
pub const TOKEN_REJECTIONS: &str = "openpim_token_rejections_total";

/// A refused token as the 401 a client sees, counted by reason. Every refusal is built here,
/// once per verification (a token's verification is cached only when it succeeds).
pub(crate) fn rejected(reason: TokenRejection, message: impl Into<String>) -> ApiError {
    let label: &'static str = reason.into();
    metrics::counter!(TOKEN_REJECTIONS, "reason" => label).increment(1);
    ApiError::unauthorized(message)
}

/// A refused JWT as the 401 a client sees.
fn jwt_error(e: jsonwebtoken::errors::Error) -> ApiError {
    use jsonwebtoken::errors::ErrorKind as K;
    use TokenRejection as R;
    let (reason, why) = match e.kind() {
        K::ExpiredSignature | K::ImmatureSignature => {
            (R::Expired, "Lifetime validation failed, the token is expired or not yet valid.")
        }
        K::InvalidSignature => (R::BadSignature, "Signature validation failed."),
        K::InvalidIssuer => (R::WrongIssuer, "Issuer validation failed: the token was not issued by a trusted issuer."),
        K::InvalidAudience => (R::WrongAudience, "Audience validation failed."),
        K::InvalidAlgorithm => (R::AlgNotAllowed, "The token's signing algorithm is not accepted."),
        _ => (R::Malformed, "The access token is malformed."),
    };
    rejected(reason, why)
}

/// Refuses a token that lives longer than [`MAX_TTL`]: a stolen long-lived token signed with the
/// right key would otherwise stay good for years. Measured from the earlier of `iat` and `nbf`,
/// so neither can be moved to shorten the apparent lifetime.
fn check_lifetime(claims: &Claims) -> Result<(), ApiError> {
    let start = claims.iat.min(claims.nbf);
    let lifetime = claims.exp.saturating_sub(start);
    if lifetime > MAX_TTL.as_secs() as i64 + LEEWAY_SECS as i64 {
        return Err(rejected(
            TokenRejection::LifetimeTooLong,
            format!(
                "Lifetime validation failed: the token is valid for {lifetime} seconds, more than the maximum of {} \
             ({} days).",
                MAX_TTL.as_secs(),
                MAX_TTL.as_secs() / 86400
            ),
        ));
    }
    Ok(())
}

impl Claims {
    /// What the caller extractor needs from a verified local token.
    fn into_verified(self) -> Result<VerifiedToken, ApiError> {
        Ok(VerifiedToken {
            surfaces: Surfaces::of_audience(&self.aud),
            user: vec![UserKey::Id(self.object_id()?)],
            mfa: self.amr.iter().any(|m| m == "mfa"),
            acrs: self.acrs,
            nbf: Some(self.nbf),
            exp: self.exp,
            leeway: LEEWAY_SECS as i64,
            jit: None,
            local: true,
        })
    }

    /// The user the token is for: the `oid` claim, an object id. Never a name (`upn`, `sub` of
    /// an unknown shape), since names can be changed and reused.
    pub fn object_id(&self) -> Result<uuid::Uuid, ApiError> {
        self.oid.as_deref().and_then(|o| uuid::Uuid::parse_str(o).ok()).ok_or_else(|| {
            rejected(
                TokenRejection::Malformed,
                "The token does not name its user by object id: the 'oid' claim is missing or invalid.",
            )
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

    /// The facts authorization needs about the caller.
    pub fn subject(&self) -> openpim_core::authz::Subject {
        openpim_core::authz::Subject {
            id: self.user.id,
            is_member_user: self.user.user_type == openpim_core::directory::UserType::Member,
        }
    }
}

/// A signed-in caller holding capability `C` at the tenant, checked before the handler runs:
/// a handler that takes `Authorized<C>` shows its requirement in its signature, and the
/// [`Granted`](openpim_core::authz::Granted) it carries is what operations needing `C` accept.
/// A refusal is a 403 in Graph's shape (not audited: reads change nothing).
pub struct Authorized<C: openpim_core::authz::Capability> {
    pub caller: Caller,
    pub granted: openpim_core::authz::Granted<C>,
}

impl<C: openpim_core::authz::Capability> FromRequestParts<AppState> for Authorized<C> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let granted = openpim_core::authz::grant::<C>(&state.index(), caller.subject(), &[], state.now())?;
        Ok(Self { caller, granted })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Caller::authenticate(parts, state, Surface::Graph).await
    }
}

impl Caller {
    /// The caller a request's bearer token names, for routes of `surface`: the token verified
    /// (signature, issuer, lifetime, and an audience of that surface), its user found (or
    /// created, for just-in-time issuers) and enabled, and the caller not over its refusal
    /// budget. Errors are Graph-shaped; ARM's extractor restates them.
    pub async fn authenticate(parts: &Parts, state: &AppState, surface: Surface) -> Result<Caller, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| rejected(TokenRejection::Missing, "Access token is empty."))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| rejected(TokenRejection::Malformed, "The Authorization header must be 'Bearer <token>'."))?;
        let verified = verified_token(state, token).await?;
        if !verified.surfaces.admits(surface) {
            return Err(rejected(
                TokenRejection::WrongAudience,
                match surface {
                    Surface::Graph => "Audience validation failed: the token is not for Microsoft Graph.",
                    Surface::Arm => "Audience validation failed: the token is not for Azure Resource Manager.",
                },
            ));
        }
        // The UI's in-process calls carry tokens of the local issuer even when it is closed to
        // everyone else; only they can set the marker (it is not a header).
        if verified.local && !state.local_issuer_enabled && parts.extensions.get::<InProcessCall>().is_none() {
            return Err(rejected(
                TokenRejection::IssuerDisabled,
                "Tokens from this server's local issuer are not accepted (the server runs with --local-issuer=false).",
            ));
        }
        let user = resolve_user(state, &verified).await?;
        crate::transport::note_caller(user.id);
        if let Some(wait) = state.limits.caller_wait(user.id) {
            return Err(ApiError::too_many_requests(
                "Too many refused requests from this caller; retry after the time in Retry-After.",
                wait,
            ));
        }
        // The stale-account alert's "last sign-in": noted in memory, written by the next scan.
        state.sign_ins.seen(user.id, state.now());
        Ok(Caller { mfa: verified.mfa, acrs: verified.acrs.clone(), user })
    }
}

/// Marks a request the web UI sends in-process through the API router (see `ui::api`).
#[derive(Debug, Clone, Copy)]
pub struct InProcessCall;

/// The enabled directory user a verified token (or ID token) names: found by its keys in order,
/// or created just in time when its issuer is configured so. The same mapping for API calls
/// and web sign-in.
pub async fn resolve_user(state: &AppState, verified: &VerifiedToken) -> Result<User, ApiError> {
    let user = match (token_user(state, verified).await?, &verified.jit) {
        (None, Some(new)) => Some(jit::provision(state, new).await?),
        (found, _) => found,
    };
    user.filter(|u| u.account_enabled).ok_or_else(|| {
        rejected(TokenRejection::UnknownUser, "The token's user does not exist in this directory or is disabled.")
    })
}

/// A token that passed full verification, reduced to what authorisation needs. Whichever issuer
/// signed it, the rest of the server sees only this.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The API surfaces the token's audience admits.
    pub surfaces: Surfaces,
    /// Directory keys naming the user, tried in order: the first that finds a user is the caller.
    pub user: Vec<UserKey>,
    /// The provider asserts multi-factor authentication (`amr` has `mfa`, or a configured `acr`).
    pub mfa: bool,
    /// Authentication context class references the sign-in satisfied.
    pub acrs: Vec<String>,
    pub nbf: Option<i64>,
    pub exp: i64,
    /// The clock skew tolerated for this token's issuer, in seconds.
    pub leeway: i64,
    /// The user to create if none is found (issuers with just-in-time creation only).
    pub jit: Option<JitUser>,
    /// Signed by this server's local issuer (not an external provider).
    pub local: bool,
}

/// A user an external issuer's token may create on first sign-in.
#[derive(Debug, Clone)]
pub struct JitUser {
    pub id: Option<uuid::Uuid>,
    pub upn: String,
    pub display_name: String,
    pub issuer: String,
}

/// The user a verified token names: the first of its keys that finds one.
async fn token_user(state: &AppState, verified: &VerifiedToken) -> Result<Option<User>, ApiError> {
    for key in &verified.user {
        if let Some(user) = user_by_key(state, key).await? {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// The user with object id `id`, through the caller cache (emptied on every user write).
pub async fn user_by_id(state: &AppState, id: uuid::Uuid) -> Result<Option<User>, ApiError> {
    user_by_key(state, &UserKey::Id(id)).await
}

async fn user_by_key(state: &AppState, key: &UserKey) -> Result<Option<User>, ApiError> {
    if let Some(user) = state.callers.user(key) {
        return Ok(Some(user));
    }
    let generation = state.callers.generation();
    let found = match key {
        UserKey::Id(id) => state.store.get_user(*id).await?,
        UserKey::Upn(upn) => state.store.get_user_by_upn(upn).await?,
    };
    if let Some(user) = &found {
        state.callers.remember_user(key.clone(), user.clone(), generation);
    }
    Ok(found)
}

/// Full verification the first time a token is seen; the cached result afterwards. A token
/// claiming a configured external issuer is verified against that issuer's keys, one claiming
/// the local issuer (or unreadable) by the local issuer; any other issuer is refused up front.
async fn verified_token(state: &AppState, token: &str) -> Result<Arc<VerifiedToken>, ApiError> {
    let now_unix = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Some(verified) = state.callers.verified_token(token, now_unix) {
        return Ok(verified);
    }
    let verified = match unverified_issuer(token) {
        Some(iss) if state.external.trusts(&iss) => state.external.verify(&iss, token).await?,
        Some(iss) if iss != state.issuer.issuer() => {
            return Err(rejected(
                TokenRejection::WrongIssuer,
                "Issuer validation failed: the token was not issued by a trusted issuer.",
            ))
        }
        _ => state.issuer.verify(token)?.into_verified()?,
    };
    let verified = Arc::new(verified);
    state.callers.remember_token(token, verified.clone(), now_unix);
    Ok(verified)
}

/// The `iss` a token claims, read without verifying anything: it only picks the verifier.
fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Iss>(&bytes).ok().map(|c| c.iss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mint_verify_and_reject_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let issuer = LocalIssuer::load_or_create(dir.path()).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let oid = uuid::Uuid::new_v4();
        let req = TokenRequest {
            oid,
            upn: "alice@contoso.test".into(),
            mfa: true,
            acrs: vec![],
            ttl: Duration::from_secs(600),
        };
        let tok = issuer.mint(&req, now);
        let claims = issuer.verify(&tok).unwrap();
        assert_eq!(claims.upn.as_deref(), Some("alice@contoso.test"));
        assert_eq!(claims.object_id().unwrap(), oid);
        assert_eq!(claims.sub, oid.to_string());
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

    /// Signs arbitrary claims with the issuer's own key, as someone holding it (or a buggy
    /// minting path) could.
    fn sign(issuer: &LocalIssuer, claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), claims, &issuer.encoding).unwrap()
    }

    fn claims_json(issuer: &LocalIssuer, iat: i64, exp: i64) -> serde_json::Value {
        serde_json::json!({
            "iss": issuer.issuer(), "aud": AUDIENCES[0], "sub": "x",
            "oid": uuid::Uuid::new_v4().to_string(), "iat": iat, "nbf": iat, "exp": exp, "jti": "j",
        })
    }

    #[test]
    fn a_correctly_signed_token_living_longer_than_the_maximum_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let issuer = LocalIssuer::load_or_create(dir.path()).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let max = MAX_TTL.as_secs() as i64;
        // Exactly the maximum is fine.
        issuer.verify(&sign(&issuer, &claims_json(&issuer, now, now + max))).unwrap();
        // Ten years is not.
        let ten_years = sign(&issuer, &claims_json(&issuer, now, now + 10 * 365 * 86400));
        let e = issuer.verify(&ten_years).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::UNAUTHORIZED);
        assert!(e.message.contains("maximum"), "{}", e.message);
        // Nor a day over the maximum.
        assert!(issuer.verify(&sign(&issuer, &claims_json(&issuer, now, now + max + 86400))).is_err());
        // Moving nbf later does not shorten the measured lifetime.
        let mut late_nbf = claims_json(&issuer, now - 40 * 86400, now + 86400);
        late_nbf["nbf"] = serde_json::json!(now - 60);
        assert!(issuer.verify(&sign(&issuer, &late_nbf)).is_err());
        // Missing iat or nbf: refused.
        for missing in ["iat", "nbf"] {
            let mut c = claims_json(&issuer, now, now + 600);
            c.as_object_mut().unwrap().remove(missing);
            assert!(issuer.verify(&sign(&issuer, &c)).is_err(), "{missing}");
        }
    }

    #[test]
    fn a_token_without_an_object_id_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let issuer = LocalIssuer::load_or_create(dir.path()).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut by_name = claims_json(&issuer, now, now + 600);
        by_name.as_object_mut().unwrap().remove("oid");
        by_name["upn"] = serde_json::json!("admin@openpim.test");
        by_name["sub"] = serde_json::json!("admin@openpim.test");
        let e = issuer.verify(&sign(&issuer, &by_name)).unwrap_err();
        assert!(e.message.contains("oid"), "{}", e.message);
        by_name["oid"] = serde_json::json!("admin@openpim.test");
        assert!(issuer.verify(&sign(&issuer, &by_name)).is_err(), "an oid that is not an object id");
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
