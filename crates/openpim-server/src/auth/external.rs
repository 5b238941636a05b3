//! Access tokens from external OpenID Connect providers (Entra ID, Keycloak, Okta, ...).
//!
//! Each trusted issuer is configured with the audiences it issues OpenPIM tokens for and how its
//! claims name a directory user. A token is verified against its issuer's published keys
//! ([`jwks`](super::jwks)), then reduced to a [`VerifiedToken`]: which user, and what the
//! provider says about how they signed in (MFA, authentication contexts). Group claims are not
//! read: role-assignable group membership lives in OpenPIM, not in a token.

use super::discovery::{self, Endpoints};
use super::jwks::{self, KeySet, ALGORITHMS};
use super::{jwt_error, rejected, JitUser, Surfaces, TokenRejection as R, UserKey, VerifiedToken};
use crate::error::ApiError;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// Tolerated clock skew between the provider and us when checking `exp`/`nbf`.
pub const LEEWAY_SECS: i64 = 60;

/// Which claim names the directory user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserClaim {
    /// `oid` against the user's object id, else `preferred_username`, then `upn`, against its
    /// userPrincipalName (Entra's claims; most providers send `preferred_username`).
    #[default]
    Default,
    /// `oid` against the object id.
    Oid,
    /// `sub` against the object id (providers whose subject is the user's id in OpenPIM).
    Sub,
    /// `preferred_username` against the userPrincipalName.
    PreferredUsername,
    /// `upn` against the userPrincipalName.
    Upn,
    /// `email` against the userPrincipalName.
    Email,
}

impl std::str::FromStr for UserClaim {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "default" => Self::Default,
            "oid" => Self::Oid,
            "sub" => Self::Sub,
            "preferred_username" => Self::PreferredUsername,
            "upn" => Self::Upn,
            "email" => Self::Email,
            _ => return Err(format!("'{s}': use one of default, oid, sub, preferred_username, upn, email")),
        })
    }
}

/// One trusted issuer.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// The issuer URL, exactly as its tokens' `iss` claim and its discovery document state it.
    pub issuer: String,
    /// Accepted `aud` values (at least one).
    pub audiences: Vec<String>,
    pub user_claim: UserClaim,
    /// `acr` values that count as multi-factor authentication (besides `amr` containing `mfa`).
    pub mfa_acr_values: Vec<String>,
    /// Least time between two key-set fetches caused by an unknown `kid`.
    pub min_key_refetch: Duration,
    /// Create a directory user on first sign-in when the token names none (just-in-time).
    pub jit: bool,
    /// The provider's name as people see it ("Contoso Entra ID"); by default the issuer URL's host.
    pub display_name: Option<String>,
    /// The web UI's client at this issuer, for "Sign in with <provider>" (none: no web sign-in).
    pub web_client: Option<WebClient>,
    /// How people sign in to this issuer from the `openpim` CLI (device flow).
    pub cli: CliSignIn,
}

/// The CLI's device-flow sign-in at one issuer, as `GET /openpim/signin-configuration` tells the
/// CLI. Without a client id the CLI cannot sign in with this issuer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliSignIn {
    /// The provider's public client registered for the device authorization grant.
    pub client_id: Option<String>,
    /// How the token request names OpenPIM's audience.
    pub audience_via: AudienceVia,
}

/// How a client asks a provider for an access token whose `aud` is OpenPIM's: providers differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AudienceVia {
    /// RFC 8707's `resource` parameter (oidc-provider, Okta, Authentik, ADFS).
    #[default]
    Resource,
    /// The scope `{audience}/.default` (Entra ID).
    Scope,
    /// Nothing: the provider puts the audience in by its own configuration (Keycloak's audience
    /// mapper, Dex).
    None,
}

impl std::str::FromStr for AudienceVia {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "resource" => Self::Resource,
            "scope" => Self::Scope,
            "none" => Self::None,
            _ => return Err(format!("'{s}': use one of resource, scope, none")),
        })
    }
}

impl IssuerConfig {
    /// The scopes a client requests for an OpenPIM access token with a refresh token.
    pub fn client_scopes(&self) -> Vec<String> {
        let mut scopes = vec!["openid".to_string(), "profile".to_string(), "offline_access".to_string()];
        if self.cli.audience_via == AudienceVia::Scope {
            if let Some(audience) = self.audience() {
                scopes.push(format!("{}/.default", audience.trim_end_matches('/')));
            }
        }
        scopes
    }

    /// The `resource` parameter a client sends, when the provider takes one.
    pub fn client_resource(&self) -> Option<&str> {
        self.audience().filter(|_| self.cli.audience_via == AudienceVia::Resource)
    }

    /// The audience clients ask for: the first configured one.
    pub fn audience(&self) -> Option<&str> {
        self.audiences.iter().map(|a| a.trim()).find(|a| !a.is_empty())
    }
}

/// The web UI's OAuth client at an issuer: confidential (with a secret, and PKCE) or public
/// (PKCE alone). Its redirect URI is `{public URL}/signin/oidc/callback`.
#[derive(Clone)]
pub struct WebClient {
    pub client_id: String,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for WebClient {
    /// Never prints the secret (configurations end up in logs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl IssuerConfig {
    /// An issuer with the default claim mapping, refusing a non-https URL (except on loopback)
    /// and an empty audience list.
    pub fn new(issuer: &str, audiences: Vec<String>) -> Result<Self, String> {
        jwks::check_transport(issuer).map_err(|e| format!("OIDC issuer {e}"))?;
        if audiences.iter().all(|a| a.trim().is_empty()) {
            return Err(format!("OIDC issuer '{issuer}' needs an audience (--oidc-audience)"));
        }
        Ok(Self {
            issuer: issuer.to_string(),
            audiences,
            user_claim: UserClaim::Default,
            mfa_acr_values: Vec::new(),
            min_key_refetch: jwks::DEFAULT_MIN_REFETCH,
            jit: false,
            display_name: None,
            cli: CliSignIn::default(),
            web_client: None,
        })
    }

    /// The provider's name as the sign-in page shows it.
    pub fn provider_name(&self) -> String {
        self.display_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| {
            reqwest::Url::parse(&self.issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| self.issuer.clone())
        })
    }
}

/// An ID token's claims: the user's, and those binding it to our sign-in.
#[derive(Debug, Deserialize)]
struct IdTokenClaims {
    #[serde(flatten)]
    base: ExternalClaims,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
}

/// The claims read from an external token (signature and times already checked).
#[derive(Debug, Deserialize)]
struct ExternalClaims {
    exp: i64,
    /// A string or an array of strings (RFC 7519 §4.1.3).
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    upn: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
    #[serde(default)]
    acr: Option<String>,
    #[serde(default)]
    acrs: Vec<String>,
}

struct Issuer {
    config: IssuerConfig,
    keys: KeySet,
    endpoints: discovery::EndpointCache,
}

/// The configured external issuers.
#[derive(Default)]
pub struct ExternalIssuers {
    issuers: Vec<Issuer>,
}

impl ExternalIssuers {
    pub fn new(configs: Vec<IssuerConfig>) -> Self {
        let issuers = configs
            .into_iter()
            .map(|config| Issuer {
                keys: KeySet::new(&config.issuer, config.min_key_refetch),
                endpoints: discovery::EndpointCache::new(&config.issuer),
                config,
            })
            .collect();
        Self { issuers }
    }

    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// The configured issuers, in configuration order.
    pub fn configs(&self) -> impl Iterator<Item = &IssuerConfig> {
        self.issuers.iter().map(|i| &i.config)
    }

    /// Whether a token claiming issuer `iss` is one of ours to verify.
    pub fn trusts(&self, iss: &str) -> bool {
        self.issuers.iter().any(|i| i.config.issuer == iss)
    }

    /// Full verification of a token claiming issuer `iss`: a trusted issuer, an accepted
    /// algorithm, a key the issuer publishes, the signature, `iss`, `aud`, `exp` and `nbf`.
    pub async fn verify(&self, iss: &str, token: &str) -> Result<VerifiedToken, ApiError> {
        let issuer = self.issuer(iss)?;
        let (key, alg) = issuer.signing_key(token).await?;
        let claims: ExternalClaims =
            jsonwebtoken::decode(token, &key, &validation(&issuer.config, alg)).map_err(jwt_error)?.claims;
        Ok(issuer.config.reduce(claims))
    }

    /// Full verification of an ID token the web sign-in received from `iss`'s token endpoint
    /// (OpenID Connect Core 3.1.3.7): the issuer's key and an accepted algorithm, `iss`, `aud`
    /// containing our web client id, `azp` (if present) naming it, `exp`/`nbf`, and the `nonce`
    /// the sign-in was sent with. Mapped to a user exactly as the issuer's access tokens are.
    pub async fn verify_id_token(&self, iss: &str, id_token: &str, nonce: &str) -> Result<VerifiedToken, ApiError> {
        let issuer = self.issuer(iss)?;
        let client = issuer.config.web_client.as_ref().ok_or_else(|| {
            rejected(R::SignInMismatch, "This issuer has no web client configured (--oidc-client-id).")
        })?;
        let (key, alg) = issuer.signing_key(id_token).await?;
        let mut v = validation(&issuer.config, alg);
        v.set_audience(&[&client.client_id]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims: IdTokenClaims = jsonwebtoken::decode(id_token, &key, &v).map_err(jwt_error)?.claims;
        let nonce_ok = claims
            .nonce
            .as_deref()
            .is_some_and(|n| n.len() == nonce.len() && bool::from(n.as_bytes().ct_eq(nonce.as_bytes())));
        if !nonce_ok {
            return Err(rejected(R::SignInMismatch, "The ID token's nonce is not the one this sign-in was sent with."));
        }
        if claims.azp.as_ref().is_some_and(|azp| *azp != client.client_id) {
            return Err(rejected(R::SignInMismatch, "The ID token was issued to another client (azp)."));
        }
        Ok(issuer.config.reduce(claims.base))
    }

    /// The issuers with a web client, in configuration order.
    pub fn web_sign_in(&self) -> impl Iterator<Item = &IssuerConfig> {
        self.issuers.iter().map(|i| &i.config).filter(|c| c.web_client.is_some())
    }

    /// The configuration of issuer `iss`, if trusted.
    pub fn config(&self, iss: &str) -> Option<&IssuerConfig> {
        self.issuers.iter().map(|i| &i.config).find(|c| c.issuer == iss)
    }

    /// The provider endpoints of issuer `iss`, from its discovery document (cached).
    pub async fn endpoints(&self, iss: &str) -> Result<Endpoints, discovery::DiscoveryError> {
        match self.issuers.iter().find(|i| i.config.issuer == iss) {
            Some(issuer) => issuer.endpoints.get().await,
            None => Err(discovery::DiscoveryError(format!("'{iss}' is not a configured issuer"))),
        }
    }

    /// Origins (scheme://host:port) the web sign-in sends browsers to: the issuers with a web
    /// client and the endpoints discovered for them so far. The UI's Content-Security-Policy
    /// lets forms be redirected there (sign-out, step-up).
    pub fn web_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> = Vec::new();
        for issuer in self.issuers.iter().filter(|i| i.config.web_client.is_some()) {
            let cached = issuer.endpoints.cached();
            let urls = std::iter::once(issuer.config.issuer.as_str())
                .chain(cached.iter().flat_map(|e| e.browser_urls()))
                .filter_map(|u| reqwest::Url::parse(u).ok());
            for url in urls {
                let origin = url.origin().ascii_serialization();
                if origin != "null" && !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
        }
        origins
    }

    fn issuer(&self, iss: &str) -> Result<&Issuer, ApiError> {
        self.issuers.iter().find(|i| i.config.issuer == iss).ok_or_else(|| {
            rejected(R::WrongIssuer, "Issuer validation failed: the token was not issued by a trusted issuer.")
        })
    }
}

impl Issuer {
    /// The published key that signed `token`, if its algorithm is one we accept.
    async fn signing_key(&self, token: &str) -> Result<(jsonwebtoken::DecodingKey, Algorithm), ApiError> {
        let iss = &self.config.issuer;
        // `decode_header` refuses `alg: none` (not an algorithm jsonwebtoken knows).
        let header = jsonwebtoken::decode_header(token).map_err(jwt_error)?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(rejected(
                R::AlgNotAllowed,
                format!("The token's signing algorithm {:?} is not accepted (RS256, ES256 or PS256).", header.alg),
            ));
        }
        let kid = header
            .kid
            .ok_or_else(|| rejected(R::UnknownKey, "The token does not name its signing key (no 'kid' header)."))?;
        let key = self.keys.key(&kid, header.alg).await.map_err(|e| match e {
            jwks::KeyError::Unavailable(why) => {
                tracing::warn!(issuer = %iss, error = %why, "cannot fetch the issuer's signing keys");
                rejected(R::IssuerUnreachable, "The token's issuer could not be reached to check its signature.")
            }
            other => rejected(R::UnknownKey, format!("Signature validation failed: {other}.")),
        })?;
        Ok((key, header.alg))
    }
}

fn validation(config: &IssuerConfig, alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.set_issuer(&[&config.issuer]);
    // The configured audiences name OpenPIM itself (both surfaces); ARM's audiences admit the
    // ARM surface only, as with the local issuer.
    let accepted: Vec<&str> =
        config.audiences.iter().map(String::as_str).chain(super::ARM_AUDIENCES.iter().copied()).collect();
    v.set_audience(&accepted);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    v.validate_nbf = true;
    v.leeway = LEEWAY_SECS as u64;
    v
}

impl IssuerConfig {
    /// Who the token is for and what the provider asserts about the sign-in.
    fn reduce(&self, c: ExternalClaims) -> VerifiedToken {
        let id = |v: &Option<String>| v.as_deref().and_then(|s| uuid::Uuid::parse_str(s).ok()).map(UserKey::Id);
        let name = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(|s| UserKey::Upn(s.to_lowercase()));
        let user: Vec<UserKey> = match self.user_claim {
            UserClaim::Default => {
                [id(&c.oid), name(&c.preferred_username), name(&c.upn)].into_iter().flatten().collect()
            }
            UserClaim::Oid => id(&c.oid).into_iter().collect(),
            UserClaim::Sub => id(&c.sub).into_iter().collect(),
            UserClaim::PreferredUsername => name(&c.preferred_username).into_iter().collect(),
            UserClaim::Upn => name(&c.upn).into_iter().collect(),
            UserClaim::Email => name(&c.email).into_iter().collect(),
        };
        let mfa = c.amr.iter().any(|m| m == "mfa")
            || c.acr.as_ref().is_some_and(|acr| self.mfa_acr_values.iter().any(|v| v == acr));
        let jit = if self.jit { self.jit_user(&c, &user) } else { None };
        let audiences: Vec<&str> = match &c.aud {
            Some(serde_json::Value::String(a)) => vec![a.as_str()],
            Some(serde_json::Value::Array(list)) => list.iter().filter_map(|a| a.as_str()).collect(),
            _ => Vec::new(),
        };
        let configured = audiences.iter().any(|a| self.audiences.iter().any(|c| c == a));
        let surfaces = Surfaces {
            graph: configured,
            arm: configured || audiences.iter().any(|a| super::ARM_AUDIENCES.contains(a)),
        };
        VerifiedToken {
            surfaces,
            user,
            mfa,
            acrs: c.acrs,
            nbf: c.nbf,
            exp: c.exp,
            leeway: LEEWAY_SECS,
            jit,
            local: false,
        }
    }

    /// The user to create when none is found: the object id the mapping looks for (if it looks
    /// for one), and the name it looks for (else the first name claim present), so the next
    /// token finds the created user.
    fn jit_user(&self, c: &ExternalClaims, keys: &[UserKey]) -> Option<JitUser> {
        let id = keys.iter().find_map(|k| match k {
            UserKey::Id(id) => Some(*id),
            UserKey::Upn(_) => None,
        });
        let upn = keys
            .iter()
            .find_map(|k| match k {
                UserKey::Upn(upn) => Some(upn.clone()),
                UserKey::Id(_) => None,
            })
            .or_else(|| {
                [&c.preferred_username, &c.upn, &c.email].into_iter().flatten().next().map(|n| n.to_lowercase())
            })?;
        let display_name = c.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| upn.clone());
        Some(JitUser { id, upn, display_name, issuer: self.issuer.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> ExternalClaims {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn claims_map_to_user_keys_in_the_configured_order() {
        let oid = uuid::Uuid::new_v4();
        let all = || {
            claims(serde_json::json!({"exp": 1, "oid": oid.to_string(), "sub": oid.to_string(),
                "preferred_username": "Alice@Contoso.test", "upn": "alice.upn@contoso.test", "email": "a@mail.test"}))
        };
        let mut config = IssuerConfig::new("https://idp.test", vec!["api".into()]).unwrap();
        assert_eq!(
            config.reduce(all()).user,
            vec![
                UserKey::Id(oid),
                UserKey::Upn("alice@contoso.test".into()),
                UserKey::Upn("alice.upn@contoso.test".into())
            ]
        );
        config.user_claim = UserClaim::Email;
        assert_eq!(config.reduce(all()).user, vec![UserKey::Upn("a@mail.test".into())]);
        config.user_claim = UserClaim::Sub;
        assert_eq!(config.reduce(all()).user, vec![UserKey::Id(oid)]);
        // A `sub` that is not an object id names nobody under the `sub` mapping.
        assert!(config.reduce(claims(serde_json::json!({"exp": 1, "sub": "alice"}))).user.is_empty());
    }

    #[test]
    fn mfa_comes_from_amr_or_a_configured_acr() {
        let mut config = IssuerConfig::new("https://idp.test", vec!["api".into()]).unwrap();
        assert!(config.reduce(claims(serde_json::json!({"exp": 1, "amr": ["pwd", "mfa"]}))).mfa);
        assert!(!config.reduce(claims(serde_json::json!({"exp": 1, "amr": ["pwd"], "acr": "gold"}))).mfa);
        config.mfa_acr_values = vec!["gold".into()];
        assert!(config.reduce(claims(serde_json::json!({"exp": 1, "amr": ["pwd"], "acr": "gold"}))).mfa);
        let with_contexts = config.reduce(claims(serde_json::json!({"exp": 1, "acrs": ["c1", "c2"]})));
        assert_eq!(with_contexts.acrs, vec!["c1", "c2"]);
        assert!(!with_contexts.mfa);
    }

    #[test]
    fn just_in_time_users_are_found_by_the_same_mapping_next_time() {
        let oid = uuid::Uuid::new_v4();
        let mut config = IssuerConfig::new("https://idp.test", vec!["api".into()]).unwrap();
        let token = || {
            claims(
                serde_json::json!({"exp": 1, "oid": oid.to_string(), "preferred_username": "Dan@Contoso.test", "name": "Dan"}),
            )
        };
        assert!(config.reduce(token()).jit.is_none(), "off unless configured");
        config.jit = true;
        let jit = config.reduce(token()).jit.unwrap();
        assert_eq!((jit.id, jit.upn.as_str(), jit.display_name.as_str()), (Some(oid), "dan@contoso.test", "Dan"));
        config.user_claim = UserClaim::Email;
        let by_mail = config.reduce(claims(serde_json::json!({"exp": 1, "email": "dan@mail.test"}))).jit.unwrap();
        assert_eq!(
            (by_mail.id, by_mail.upn.as_str(), by_mail.display_name.as_str()),
            (None, "dan@mail.test", "dan@mail.test")
        );
        // Nothing to name the user by: nothing to create.
        assert!(config.reduce(claims(serde_json::json!({"exp": 1, "sub": "x"}))).jit.is_none());
    }

    #[test]
    fn issuers_need_https_and_an_audience() {
        assert!(IssuerConfig::new("http://idp.example.com", vec!["api".into()]).is_err());
        assert!(IssuerConfig::new("https://idp.example.com", vec![]).is_err());
        assert!(IssuerConfig::new("http://127.0.0.1:9000", vec!["api".into()]).is_ok());
    }
}
