//! OAuth 2.0 at an OpenID provider, for `openpim login`: discovery, the device authorization
//! grant (RFC 8628) and the refresh-token grant. The provider is told which audience the token is
//! for the way the server's sign-in configuration says (a `resource` parameter or a scope).

use crate::error::{CliError, CliResult, Kind};
use serde::Deserialize;
use std::time::Duration;

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.5: the default polling interval, and what `slow_down` adds to it.
const DEFAULT_INTERVAL: u64 = 5;
const SLOW_DOWN_STEP: u64 = 5;
/// RFC 8628 leaves the lifetime of a device code to the provider; this is the fallback when it
/// does not say.
const DEFAULT_DEVICE_CODE_LIFETIME: u64 = 600;

/// The endpoints of a provider, from its discovery document.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    /// RFC 7009, where the provider has one.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
}

/// What the client asks for: its id, the scopes and (when the provider takes one) the resource.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub resource: Option<&'a str>,
}

/// RFC 8628 §3.2.
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    #[serde(default)]
    pub verification_uri_complete: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub interval: Option<u64>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// An error response (RFC 6749 §5.2).
#[derive(Debug, Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

pub struct Provider {
    http: reqwest::Client,
    pub metadata: ProviderMetadata,
}

/// Refuses plain http except to a provider on this machine (as in tests): the codes and tokens
/// exchanged are credentials.
fn check_transport(url: &str) -> CliResult<()> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| CliError::local("InvalidIssuerUrl", format!("'{url}' is not a URL: {e}")))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(CliError::local(
            "InsecureIssuerUrl",
            format!("'{url}' must use https (plain http only on loopback addresses)"),
        )),
    }
}

fn provider_error(e: reqwest::Error) -> CliError {
    CliError::new(Kind::Server, "ProviderUnreachable", format!("the identity provider: {e}"))
}

impl Provider {
    /// Reads `{issuer}/.well-known/openid-configuration`; its `issuer` must be `issuer` exactly
    /// and its endpoints must be https (or loopback).
    pub async fn discover(issuer: &str) -> CliResult<Self> {
        check_transport(issuer)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            // A redirect could lead from https to plain http.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("openpim-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::local("HttpClient", e.to_string()))?;
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let resp = http.get(&url).send().await.map_err(provider_error)?;
        if !resp.status().is_success() {
            return Err(CliError::new(
                Kind::Server,
                "ProviderDiscoveryFailed",
                format!("{url} answered {}", resp.status()),
            ));
        }
        let metadata: ProviderMetadata = resp.json().await.map_err(|e| {
            CliError::new(Kind::Server, "ProviderDiscoveryFailed", format!("{url} is not a discovery document: {e}"))
        })?;
        if metadata.issuer != issuer {
            return Err(CliError::new(
                Kind::Server,
                "ProviderDiscoveryFailed",
                format!("{url} names issuer '{}', not '{issuer}'", metadata.issuer),
            ));
        }
        check_transport(&metadata.token_endpoint)?;
        for endpoint in [&metadata.device_authorization_endpoint, &metadata.revocation_endpoint].into_iter().flatten() {
            check_transport(endpoint)?;
        }
        Ok(Self { http, metadata })
    }

    /// Starts the device flow: the codes to show the user and to poll with.
    pub async fn authorize_device(&self, req: &TokenRequest<'_>) -> CliResult<DeviceAuthorization> {
        let endpoint = self.metadata.device_authorization_endpoint.as_deref().ok_or_else(|| {
            CliError::refused(
                "DeviceFlowUnsupported",
                format!("the provider {} offers no device authorization endpoint", self.metadata.issuer),
            )
        })?;
        let scope = req.scopes.join(" ");
        let mut form = vec![("client_id", req.client_id), ("scope", scope.as_str())];
        if let Some(resource) = req.resource {
            form.push(("resource", resource));
        }
        let resp = self.http.post(endpoint).form(&form).send().await.map_err(provider_error)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(provider_error)?;
        if !status.is_success() {
            return Err(oauth_error("DeviceAuthorizationFailed", &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            CliError::new(Kind::Server, "DeviceAuthorizationFailed", format!("unreadable device authorization: {e}"))
        })
    }

    /// Polls the token endpoint until the user has signed in (or refused, or the code expired),
    /// honouring the provider's interval and its `slow_down` answers.
    pub async fn wait_for_tokens(&self, req: &TokenRequest<'_>, device: &DeviceAuthorization) -> CliResult<Tokens> {
        let mut interval = device.interval.unwrap_or(DEFAULT_INTERVAL).max(1);
        let lifetime = device.expires_in.unwrap_or(DEFAULT_DEVICE_CODE_LIFETIME);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(lifetime);
        loop {
            tokio::time::sleep(Duration::from_secs(interval)).await;
            if tokio::time::Instant::now() > deadline {
                return Err(expired());
            }
            let mut form = vec![
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", device.device_code.as_str()),
                ("client_id", req.client_id),
            ];
            if let Some(resource) = req.resource {
                form.push(("resource", resource));
            }
            match self.token(&form).await? {
                Ok(tokens) => return Ok(tokens),
                Err(e) => interval = next_interval(interval, e)?,
            }
        }
    }

    /// The refresh-token grant. A refused refresh token (expired, revoked, already rotated) is
    /// `NotSignedIn`: the remedy is to sign in again.
    pub async fn refresh(&self, req: &TokenRequest<'_>, refresh_token: &str) -> CliResult<Tokens> {
        let mut form =
            vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", req.client_id)];
        if let Some(resource) = req.resource {
            form.push(("resource", resource));
        }
        match self.token(&form).await? {
            Ok(tokens) => Ok(tokens),
            Err(e) if e.error == "invalid_grant" => Err(CliError::new(
                Kind::Auth,
                "NotSignedIn",
                format!(
                    "the sign-in has ended ({}): run `openpim login` again",
                    e.error_description.unwrap_or(e.error)
                ),
            )),
            Err(e) => Err(described("RefreshFailed", e)),
        }
    }

    /// Revokes a refresh token (RFC 7009). `false` when the provider offers no revocation.
    pub async fn revoke(&self, client_id: &str, refresh_token: &str) -> CliResult<bool> {
        let Some(endpoint) = &self.metadata.revocation_endpoint else { return Ok(false) };
        let form = [("token", refresh_token), ("token_type_hint", "refresh_token"), ("client_id", client_id)];
        let resp = self.http.post(endpoint).form(&form).send().await.map_err(provider_error)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(true);
        }
        let bytes = resp.bytes().await.map_err(provider_error)?;
        Err(oauth_error("RevocationFailed", &bytes))
    }

    /// One token request: the tokens, or the provider's OAuth error.
    async fn token(&self, form: &[(&str, &str)]) -> CliResult<Result<Tokens, OAuthError>> {
        let resp = self.http.post(&self.metadata.token_endpoint).form(form).send().await.map_err(provider_error)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(provider_error)?;
        if status.is_success() {
            let tokens: Tokens = serde_json::from_slice(&bytes).map_err(|e| {
                CliError::new(Kind::Server, "BadTokenResponse", format!("the provider's token answer: {e}"))
            })?;
            return Ok(Ok(tokens));
        }
        serde_json::from_slice::<OAuthError>(&bytes).map(Err).map_err(|_| {
            CliError::new(
                Kind::Server,
                "BadTokenResponse",
                format!(
                    "the provider answered {status}: {}",
                    String::from_utf8_lossy(&bytes).chars().take(300).collect::<String>()
                ),
            )
        })
    }
}

/// RFC 8628 §3.5: what a token-endpoint error means while polling: wait the same interval
/// (`authorization_pending`), 5 seconds longer from now on (`slow_down`), or stop.
fn next_interval(interval: u64, e: OAuthError) -> CliResult<u64> {
    match e.error.as_str() {
        "authorization_pending" => Ok(interval),
        "slow_down" => Ok(interval + SLOW_DOWN_STEP),
        "expired_token" => Err(expired()),
        "access_denied" => Err(CliError::new(Kind::Auth, "SignInDenied", "the sign-in was refused at the provider")),
        _ => Err(described("SignInFailed", e)),
    }
}

fn expired() -> CliError {
    CliError::new(
        Kind::Auth,
        "SignInExpired",
        "the code expired before the sign-in finished: run `openpim login` again",
    )
}

fn described(code: &str, e: OAuthError) -> CliError {
    let message = match e.error_description {
        Some(d) => format!("{}: {d}", e.error),
        None => e.error,
    };
    CliError::new(Kind::Auth, code, format!("the provider refused: {message}"))
}

fn oauth_error(code: &str, bytes: &[u8]) -> CliError {
    match serde_json::from_slice::<OAuthError>(bytes) {
        Ok(e) => described(code, e),
        Err(_) => {
            CliError::new(Kind::Server, code, String::from_utf8_lossy(bytes).chars().take(300).collect::<String>())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_need_https_except_on_loopback() {
        assert!(check_transport("https://login.example.com/t/v2.0").is_ok());
        assert!(check_transport("http://127.0.0.1:9000").is_ok());
        assert!(check_transport("http://localhost:9000").is_ok());
        assert!(check_transport("http://[::1]:9000").is_ok());
        assert_eq!(check_transport("http://login.example.com").unwrap_err().code, "InsecureIssuerUrl");
        assert_eq!(check_transport("not a url").unwrap_err().code, "InvalidIssuerUrl");
    }

    #[test]
    fn polling_follows_the_providers_answers() {
        let answer = |error: &str| OAuthError { error: error.into(), error_description: None };
        assert_eq!(next_interval(5, answer("authorization_pending")).unwrap(), 5);
        assert_eq!(next_interval(5, answer("slow_down")).unwrap(), 10);
        assert_eq!(next_interval(10, answer("slow_down")).unwrap(), 15, "slow_down adds up");
        assert_eq!(next_interval(5, answer("expired_token")).unwrap_err().code, "SignInExpired");
        assert_eq!(next_interval(5, answer("access_denied")).unwrap_err().code, "SignInDenied");
        let e = next_interval(5, OAuthError { error: "invalid_client".into(), error_description: Some("who?".into()) })
            .unwrap_err();
        assert_eq!((e.code.as_str(), e.kind), ("SignInFailed", Kind::Auth));
        assert!(e.message.contains("invalid_client: who?"), "{}", e.message);
    }

    #[test]
    fn provider_errors_keep_their_description() {
        let e = oauth_error("X", br#"{"error":"invalid_client","error_description":"no such client"}"#);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("X", "the provider refused: invalid_client: no such client")
        );
        let e = oauth_error("X", b"<html>");
        assert_eq!(e.kind, Kind::Server);
    }
}
