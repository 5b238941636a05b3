//! An external issuer's signing keys: found through OpenID discovery, fetched from its `jwks_uri`
//! and cached.
//!
//! Providers rotate keys by publishing the new one and then signing with it, so a token naming a
//! key (`kid`) we do not hold makes us fetch the set again. That refetch is rate-bounded: a flood
//! of tokens with invented `kid`s must not turn into a flood of requests to the provider. The set
//! is also refreshed when it is older than [`MAX_AGE`], so a key the provider withdrew stops
//! being trusted.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The signature algorithms accepted from external issuers: never `none`, never an HMAC (whose
/// "secret" would be the provider's public key).
pub const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::PS256];
/// The longest a fetched key set is used before it is fetched again.
pub const MAX_AGE: Duration = Duration::from_secs(3600);
/// Default least time between two fetches caused by unknown `kid`s.
pub const DEFAULT_MIN_REFETCH: Duration = Duration::from_secs(30);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why no key could be found for a token.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the issuer has no signing key '{0}'")]
    UnknownKid(String),
    #[error("the signing key '{0}' cannot verify {1:?} signatures")]
    WrongKeyType(String, Algorithm),
    #[error("the issuer's keys are unavailable: {0}")]
    Unavailable(String),
}

/// Whether `url` may be trusted to serve an issuer's metadata: https, or http on a loopback
/// address (a provider on the same machine, as in tests).
pub fn check_transport(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(format!("'{url}' must use https (plain http is accepted on loopback addresses only)")),
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

struct Cached {
    jwks_uri: Option<String>,
    keys: HashMap<String, Jwk>,
    /// When the current set was fetched.
    fetched: Option<Instant>,
    /// When a fetch was last attempted (successful or not): the rate bound counts attempts.
    attempted: Option<Instant>,
}

pub struct KeySet {
    issuer: String,
    http: reqwest::Client,
    min_refetch: Duration,
    cached: tokio::sync::Mutex<Cached>,
}

impl KeySet {
    pub fn new(issuer: &str, min_refetch: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            // A redirect could lead from https to plain http.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client with rustls");
        Self {
            issuer: issuer.to_string(),
            http,
            min_refetch,
            cached: tokio::sync::Mutex::new(Cached {
                jwks_uri: None,
                keys: HashMap::new(),
                fetched: None,
                attempted: None,
            }),
        }
    }

    /// The key `kid` as a verifier for `alg`, fetching the key set when it is missing, stale, or
    /// (rate permitting) does not hold `kid`.
    pub async fn key(&self, kid: &str, alg: Algorithm) -> Result<DecodingKey, KeyError> {
        let mut cached = self.cached.lock().await;
        let stale = cached.fetched.is_none_or(|at| at.elapsed() >= MAX_AGE);
        let may_refetch = cached.attempted.is_none_or(|at| at.elapsed() >= self.min_refetch);
        if may_refetch && (stale || !cached.keys.contains_key(kid)) {
            cached.attempted = Some(Instant::now());
            match self.fetch(cached.jwks_uri.clone()).await {
                Ok((jwks_uri, keys)) => {
                    cached.jwks_uri = Some(jwks_uri);
                    cached.keys = keys;
                    cached.fetched = Some(Instant::now());
                }
                Err(e) if cached.keys.is_empty() => return Err(e),
                // The provider is unreachable: the keys we hold stay good until it answers.
                Err(e) => tracing::warn!(issuer = %self.issuer, error = %e, "refreshing the issuer's keys failed"),
            }
        }
        let jwk = cached.keys.get(kid).ok_or_else(|| KeyError::UnknownKid(kid.to_string()))?;
        verifier(kid, jwk, alg)
    }

    async fn fetch(&self, known_jwks_uri: Option<String>) -> Result<(String, HashMap<String, Jwk>), KeyError> {
        let jwks_uri = match known_jwks_uri {
            Some(uri) => uri,
            None => self.discover().await?,
        };
        let set: JwkSet = self.get_json(&jwks_uri).await?;
        let keys = set.keys.into_iter().filter_map(|k| k.common.key_id.clone().map(|kid| (kid, k))).collect();
        Ok((jwks_uri, keys))
    }

    /// The issuer's `jwks_uri`, from its discovery document (which must name the same issuer).
    async fn discover(&self) -> Result<String, KeyError> {
        let url = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
        let doc: Discovery = self.get_json(&url).await?;
        if doc.issuer != self.issuer {
            return Err(KeyError::Unavailable(format!(
                "the discovery document at {url} names the issuer '{}', not '{}'",
                doc.issuer, self.issuer
            )));
        }
        check_transport(&doc.jwks_uri).map_err(KeyError::Unavailable)?;
        Ok(doc.jwks_uri)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, KeyError> {
        let failed = |e: reqwest::Error| KeyError::Unavailable(format!("GET {url}: {e}"));
        self.http.get(url).send().await.and_then(|r| r.error_for_status()).map_err(failed)?.json().await.map_err(failed)
    }
}

/// `jwk` as a verifier for `alg`, if it is a signing key of the right type for that algorithm.
fn verifier(kid: &str, jwk: &Jwk, alg: Algorithm) -> Result<DecodingKey, KeyError> {
    let wrong = || KeyError::WrongKeyType(kid.to_string(), alg);
    let declared_alg_fits = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(KeyAlgorithm::PS256) => alg == Algorithm::PS256,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(_) => false,
    };
    let signing_use = !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_)));
    let type_fits = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256 | Algorithm::PS256) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => ec.curve == EllipticCurve::P256,
        _ => false,
    };
    if !(ALGORITHMS.contains(&alg) && declared_alg_fits && signing_use && type_fits) {
        return Err(wrong());
    }
    DecodingKey::from_jwk(jwk).map_err(|_| wrong())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_must_use_https_except_on_loopback() {
        for ok in [
            "https://login.example.com/tenant/v2.0",
            "http://127.0.0.1:9000",
            "http://localhost:9000/realms/x",
            "http://[::1]:9000",
        ] {
            assert!(check_transport(ok).is_ok(), "{ok}");
        }
        for bad in ["http://login.example.com", "http://10.0.0.1:9000", "ftp://127.0.0.1", "not a url"] {
            assert!(check_transport(bad).is_err(), "{bad}");
        }
    }

    fn jwk(json: serde_json::Value) -> Jwk {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_key_verifies_only_the_algorithms_of_its_type() {
        // A P-256 key (RFC 7517 appendix A.1).
        let ec = jwk(serde_json::json!({"kty":"EC","crv":"P-256","kid":"e",
            "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}));
        assert!(verifier("e", &ec, Algorithm::ES256).is_ok());
        for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::HS256, Algorithm::ES384] {
            assert!(verifier("e", &ec, alg).is_err(), "{alg:?}");
        }
        // An RSA key.
        let rsa = jwk(serde_json::json!({"kty":"RSA","kid":"r","e":"AQAB",
            "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}));
        assert!(verifier("r", &rsa, Algorithm::RS256).is_ok());
        assert!(verifier("r", &rsa, Algorithm::PS256).is_ok());
        for alg in [Algorithm::ES256, Algorithm::HS256, Algorithm::RS512] {
            assert!(verifier("r", &rsa, alg).is_err(), "{alg:?}");
        }
        // A key declared for RS256 only, or for encryption, does not verify other uses.
        let mut rs256_only = rsa.clone();
        rs256_only.common.key_algorithm = Some(jsonwebtoken::jwk::KeyAlgorithm::RS256);
        assert!(verifier("r", &rs256_only, Algorithm::PS256).is_err());
        let mut encryption = rsa;
        encryption.common.public_key_use = Some(PublicKeyUse::Encryption);
        assert!(verifier("r", &encryption, Algorithm::RS256).is_err());
    }
}
