//! The endpoints of an external provider the web sign-in sends browsers and requests to, read
//! from its OpenID discovery document and cached (signing keys have their own cache, `jwks`).

use super::jwks::check_transport;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// How long discovered endpoints are used before the document is fetched again.
const MAX_AGE: Duration = Duration::from_secs(3600);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a provider's endpoints are unknown.
#[derive(Debug, thiserror::Error)]
#[error("the provider's discovery document is unusable: {0}")]
pub struct DiscoveryError(pub String);

/// What the web sign-in needs from a provider's discovery document.
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoints {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), when the provider has it.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

impl Endpoints {
    /// The endpoints a browser is sent to.
    pub fn browser_urls(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.authorization_endpoint.as_str()).chain(self.end_session_endpoint.as_deref())
    }

    /// Refuses a document naming another issuer, or endpoints not on https (except loopback).
    fn check(self, issuer: &str) -> Result<Self, DiscoveryError> {
        if self.issuer != issuer {
            return Err(DiscoveryError(format!("it names the issuer '{}', not '{issuer}'", self.issuer)));
        }
        for url in [Some(&self.authorization_endpoint), Some(&self.token_endpoint), self.end_session_endpoint.as_ref()]
            .into_iter()
            .flatten()
        {
            check_transport(url).map_err(DiscoveryError)?;
        }
        Ok(self)
    }
}

/// One issuer's endpoints, fetched on first use and again after [`MAX_AGE`].
pub struct EndpointCache {
    issuer: String,
    http: reqwest::Client,
    cached: std::sync::Mutex<Option<(Instant, Endpoints)>>,
}

impl EndpointCache {
    pub fn new(issuer: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            // A redirect could lead from https to plain http.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client with rustls");
        Self { issuer: issuer.to_string(), http, cached: std::sync::Mutex::new(None) }
    }

    /// The endpoints as last fetched, if they were.
    pub fn cached(&self) -> Option<Endpoints> {
        self.cached.lock().ok()?.as_ref().map(|(_, e)| e.clone())
    }

    pub async fn get(&self) -> Result<Endpoints, DiscoveryError> {
        let fresh = self
            .cached
            .lock()
            .ok()
            .and_then(|c| c.as_ref().filter(|(at, _)| at.elapsed() < MAX_AGE).map(|(_, e)| e.clone()));
        if let Some(endpoints) = fresh {
            return Ok(endpoints);
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
        let failed = |e: reqwest::Error| DiscoveryError(format!("GET {url}: {e}"));
        let doc: Endpoints = self
            .http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(failed)?
            .json()
            .await
            .map_err(failed)?;
        let endpoints = doc.check(&self.issuer)?;
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some((Instant::now(), endpoints.clone()));
        }
        Ok(endpoints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(issuer: &str, token: &str) -> Endpoints {
        Endpoints {
            issuer: issuer.into(),
            authorization_endpoint: format!("{issuer}/authorize"),
            token_endpoint: token.into(),
            end_session_endpoint: None,
        }
    }

    #[test]
    fn a_document_must_name_its_issuer_and_use_https() {
        let idp = "https://idp.example.com";
        assert!(endpoints(idp, "https://idp.example.com/token").check(idp).is_ok());
        assert!(endpoints(idp, "https://idp.example.com/token").check("https://other.example.com").is_err());
        assert!(endpoints(idp, "http://idp.example.com/token").check(idp).is_err());
    }
}
