//! `openpim login|logout`: keep (or forget) a server and token under a profile name. The token is
//! either given (`--token`, checked and saved) or obtained from the server's identity provider
//! with the device flow, in which case a refresh token is kept and the access token is renewed
//! silently before it expires.

use crate::client::Client;
use crate::device_flow::{DeviceAuthorization, Provider, TokenRequest, Tokens};
use crate::error::{CliError, CliResult, Kind};
use crate::output::{emit, Format};
use crate::profile::{self, Profile, Profiles, ProviderSession};
use openpim_proto::signin::{SigninConfiguration, SigninIssuer};
use serde_json::json;

/// The lifetime assumed for an access token whose response does not state one.
const ASSUMED_LIFETIME_SECS: u64 = 300;

/// How `login` gets its token.
pub enum Credential {
    /// A token given on the command line or in the environment.
    Token(String),
    /// The device flow at the server's provider (`issuer`, when the server trusts several).
    DeviceFlow { issuer: Option<String> },
}

/// Checks the token with `GET /v1.0/me`, then saves it under `name`. The token is never printed.
pub async fn login(server: &str, credential: Credential, name: &str, format: Format) -> CliResult<()> {
    let (token, provider) = match credential {
        Credential::Token(token) => {
            let token = token.trim().to_string();
            if token.is_empty() {
                return Err(CliError::new(Kind::Auth, "NotSignedIn", "the token given to login is empty"));
            }
            (token, None)
        }
        Credential::DeviceFlow { issuer } => {
            let (tokens, session) = device_flow(server, issuer.as_deref()).await?;
            (tokens.access_token, Some(session))
        }
    };
    let client = Client::new(server, Some(token.clone()))?;
    let me: openpim_proto::directory::User = client.get_as("/v1.0/me").await?;
    let upn = me.user_principal_name;
    let issuer = provider.as_ref().map(|p| p.issuer.clone());
    let path = profile::file()?;
    let mut profiles = Profiles::load(&path)?;
    profiles.profiles.insert(
        name.to_string(),
        Profile { server: client.base().to_string(), token, user: Some(upn.clone()), provider },
    );
    profiles.save(&path)?;
    let out = json!({"profile": name, "server": client.base(), "user": upn, "issuer": issuer,
                     "file": path.display().to_string()});
    emit(format, &out, || {
        format!("Signed in to {} as {upn} (profile '{name}', saved in {})\n", client.base(), path.display())
    });
    Ok(())
}

/// The server's sign-in configuration, the issuer to use, the device flow at it (the user is
/// told on standard error where to go), and the session to keep.
async fn device_flow(server: &str, wanted: Option<&str>) -> CliResult<(Tokens, ProviderSession)> {
    let config: SigninConfiguration =
        Client::new(server, None)?.get_public_as("/openpim/signin-configuration").await.map_err(|e| {
            if e.kind == Kind::NotFound {
                CliError::not_found(
                    "NoSignInProvider",
                    format!("{server} offers no sign-in configuration (an older server?): sign in with --token TOKEN"),
                )
            } else {
                e
            }
        })?;
    let (issuer, client_id) = pick_issuer(&config, wanted)?;
    let client_id = client_id.to_string();
    let provider = Provider::discover(&issuer.issuer).await?;
    let request = TokenRequest { client_id: &client_id, scopes: &issuer.scopes, resource: issuer.resource.as_deref() };
    let device = provider.authorize_device(&request).await?;
    eprint!("{}", instructions(server, &issuer.display_name, &device));
    let tokens = provider.wait_for_tokens(&request, &device).await?;
    let session = ProviderSession {
        issuer: issuer.issuer.clone(),
        client_id,
        scopes: issuer.scopes.clone(),
        resource: issuer.resource.clone(),
        refresh_token: None,
        expires_at: 0,
        lifetime_secs: 0,
    };
    let session = renewed(session, &tokens);
    if session.refresh_token.is_none() {
        eprintln!("warning: the provider issued no refresh token: sign in again when this token expires");
    }
    Ok((tokens, session))
}

/// What the person signing in is told: the link with the code in it, and the code alone.
fn instructions(server: &str, provider: &str, device: &DeviceAuthorization) -> String {
    let mut text = format!("To sign in to {server} with {provider}:\n");
    if let Some(complete) = &device.verification_uri_complete {
        text.push_str(&format!("  open {complete}\n  or "));
    } else {
        text.push_str("  ");
    }
    text.push_str(&format!("go to {} and enter the code {}\n", device.verification_uri, device.user_code));
    text.push_str("Waiting for the sign-in to finish...\n");
    text
}

/// The issuer to sign in with and its CLI client id: the one asked for, else the only one set up
/// for the CLI.
fn pick_issuer<'a>(config: &'a SigninConfiguration, wanted: Option<&str>) -> CliResult<(&'a SigninIssuer, &'a str)> {
    let usable: Vec<(&SigninIssuer, &str)> =
        config.issuers.iter().filter_map(|i| Some((i, i.cli_client_id.as_deref()?))).collect();
    let names = || usable.iter().map(|(i, _)| i.issuer.as_str()).collect::<Vec<_>>().join(", ");
    let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    match wanted {
        Some(w) => usable.iter().copied().find(|(i, _)| same(&i.issuer, w)).ok_or_else(|| {
            let why = if config.issuers.iter().any(|i| same(&i.issuer, w)) {
                "trusts it but has no CLI client for it (--oidc-cli-client-id)".to_string()
            } else {
                "does not trust it".to_string()
            };
            CliError::not_found("IssuerNotConfigured", format!("the server {why}; CLI sign-in works with: {}", names()))
        }),
        None => match usable.as_slice() {
            [one] => Ok(*one),
            [] => Err(CliError::not_found(
                "NoSignInProvider",
                "the server has no identity provider set up for CLI sign-in (--oidc-cli-client-id); \
                 sign in with a token instead: openpim login --token TOKEN",
            )),
            _ => Err(CliError::usage(format!(
                "the server trusts several providers; choose one with --issuer: {}",
                names()
            ))),
        },
    }
}

/// `session` after a token response: the new expiry, and the rotated refresh token if the
/// provider issued one (else the old one stays valid).
fn renewed(mut session: ProviderSession, tokens: &Tokens) -> ProviderSession {
    let lifetime = tokens.expires_in.unwrap_or(ASSUMED_LIFETIME_SECS).min(i64::MAX as u64) as i64;
    session.expires_at = now().saturating_add(lifetime);
    session.lifetime_secs = lifetime;
    if let Some(rotated) = &tokens.refresh_token {
        session.refresh_token = Some(rotated.clone());
    }
    session
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The access token of the saved profile `name`, refreshed first when it is near its end (and
/// the refreshed tokens saved). Refreshes are serialised through the profiles' lock, and the
/// profile is read again under it: another process may have refreshed it meanwhile.
pub async fn current_token(name: &str, saved: Profile) -> CliResult<String> {
    if !saved.provider.as_ref().is_some_and(|s| s.needs_refresh(now())) {
        return Ok(saved.token);
    }
    let path = profile::file()?;
    let _lock = profile::lock(&path)?;
    let mut profiles = Profiles::load(&path)?;
    let Some(saved) = profiles.profiles.get(name).cloned() else {
        return Err(CliError::new(Kind::Auth, "NotSignedIn", format!("profile '{name}' was removed meanwhile")));
    };
    let Some(session) = saved.provider.clone().filter(|s| s.needs_refresh(now())) else {
        return Ok(saved.token);
    };
    let refresh_token = session.refresh_token.clone().ok_or_else(|| {
        CliError::new(
            Kind::Auth,
            "NotSignedIn",
            "the sign-in has expired and cannot be renewed: run `openpim login` again",
        )
    })?;
    let provider = Provider::discover(&session.issuer).await?;
    let request =
        TokenRequest { client_id: &session.client_id, scopes: &session.scopes, resource: session.resource.as_deref() };
    let tokens = provider.refresh(&request, &refresh_token).await?;
    let token = tokens.access_token.clone();
    profiles
        .profiles
        .insert(name.to_string(), Profile { token: token.clone(), provider: Some(renewed(session, &tokens)), ..saved });
    profiles.save(&path)?;
    Ok(token)
}

/// Forgets the profile `name`; a refresh token in it is revoked at its provider first (when the
/// provider can), so a copy of the file is useless afterwards.
pub async fn logout(name: &str, format: Format) -> CliResult<()> {
    let path = profile::file()?;
    let _lock = profile::lock(&path)?;
    let mut profiles = Profiles::load(&path)?;
    let removed = profiles.profiles.remove(name);
    let revoked = match removed.as_ref().and_then(|p| p.provider.as_ref()) {
        Some(session) => revoke(session).await,
        None => false,
    };
    if removed.is_some() {
        profiles.save(&path)?;
    }
    let removed = removed.is_some();
    let out = json!({"profile": name, "removed": removed, "refreshTokenRevoked": revoked});
    emit(format, &out, || {
        if removed {
            format!("Signed out: profile '{name}' removed\n")
        } else {
            format!("No profile '{name}' to remove\n")
        }
    });
    Ok(())
}

/// Best effort: logging out must work when the provider is unreachable, so a failure is a
/// warning (the token then stays valid at the provider until it expires).
async fn revoke(session: &ProviderSession) -> bool {
    let Some(refresh_token) = &session.refresh_token else { return false };
    let result = match Provider::discover(&session.issuer).await {
        Ok(provider) => provider.revoke(&session.client_id, refresh_token).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(true) => true,
        Ok(false) => {
            eprintln!("note: {} cannot revoke tokens; the refresh token stays valid until it expires", session.issuer);
            false
        }
        Err(e) => {
            eprintln!(
                "warning: the refresh token could not be revoked at {} ({e}); it stays valid until it expires",
                session.issuer
            );
            false
        }
    }
}

/// The profile `name`, if saved. A broken profile file is an error only when it is needed.
pub fn saved(name: &str) -> CliResult<Option<Profile>> {
    match profile::file() {
        Ok(path) => Ok(Profiles::load(&path)?.profiles.remove(name)),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_token_is_not_signed_in() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let e = rt.block_on(login("http://127.0.0.1:9", Credential::Token(" ".into()), "default", Format::Json));
        let e = e.unwrap_err();
        assert_eq!((e.code.as_str(), e.kind.exit_code()), ("NotSignedIn", 3));
    }

    fn issuer(url: &str, cli: Option<&str>) -> SigninIssuer {
        SigninIssuer {
            issuer: url.into(),
            display_name: url.into(),
            cli_client_id: cli.map(str::to_string),
            scopes: vec!["openid".into()],
            audience: "api://openpim".into(),
            resource: None,
        }
    }

    #[test]
    fn the_issuer_is_the_one_asked_for_or_the_only_one_usable() {
        let config = SigninConfiguration {
            local_issuer_enabled: true,
            issuers: vec![issuer("https://a.example", Some("cli-a")), issuer("https://web-only.example", None)],
        };
        let (picked, client_id) = pick_issuer(&config, None).unwrap();
        assert_eq!((picked.issuer.as_str(), client_id), ("https://a.example", "cli-a"));
        assert_eq!(pick_issuer(&config, Some("https://a.example/")).unwrap().0.issuer, "https://a.example");
        let e = pick_issuer(&config, Some("https://web-only.example")).unwrap_err();
        assert!(e.message.contains("no CLI client"), "{}", e.message);
        let e = pick_issuer(&config, Some("https://other.example")).unwrap_err();
        assert!(e.message.contains("does not trust it"), "{}", e.message);
        let two = SigninConfiguration {
            local_issuer_enabled: true,
            issuers: vec![issuer("https://a.example", Some("a")), issuer("https://b.example", Some("b"))],
        };
        assert_eq!(pick_issuer(&two, None).unwrap_err().kind, Kind::Usage);
        let none = SigninConfiguration { local_issuer_enabled: true, issuers: vec![] };
        assert_eq!(pick_issuer(&none, None).unwrap_err().code, "NoSignInProvider");
    }

    #[test]
    fn a_refresh_keeps_the_old_refresh_token_unless_rotated() {
        let session = ProviderSession { refresh_token: Some("r1".into()), ..Default::default() };
        let tokens = |refresh: Option<&str>| Tokens {
            access_token: "a".into(),
            refresh_token: refresh.map(str::to_string),
            expires_in: Some(10),
        };
        let kept = renewed(session.clone(), &tokens(None));
        assert_eq!((kept.refresh_token.as_deref(), kept.lifetime_secs), (Some("r1"), 10));
        assert!(kept.expires_at >= now() + 9);
        assert_eq!(renewed(session, &tokens(Some("r2"))).refresh_token.as_deref(), Some("r2"));
    }

    #[test]
    fn instructions_show_the_link_and_the_code() {
        let device = DeviceAuthorization {
            device_code: "secret".into(),
            user_code: "WDJB-MJHT".into(),
            verification_uri: "https://idp/device".into(),
            verification_uri_complete: Some("https://idp/device?user_code=WDJB-MJHT".into()),
            expires_in: None,
            interval: None,
        };
        let text = instructions("https://pim", "Contoso", &device);
        assert!(text.contains("open https://idp/device?user_code=WDJB-MJHT"), "{text}");
        assert!(text.contains("enter the code WDJB-MJHT"), "{text}");
        assert!(!text.contains("secret"), "the device code is never shown");
    }
}
