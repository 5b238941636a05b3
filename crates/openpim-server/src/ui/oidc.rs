//! Sign-in through an external OpenID provider: the authorization-code flow with PKCE (S256),
//! `state` and `nonce`; MFA step-up for an activation; the provider's sign-out.
//!
//! Nothing about a sign-in in flight lives in the browser but a random value in a short-lived
//! cookie (SameSite=Lax, so the provider's redirect back carries it). The rest (nonce, PKCE
//! verifier, the activation to complete) is in the store, keyed by the SHA-256 of `state`, so
//! any node sharing the store can answer the callback, and taken out of it on first use, so a
//! replayed callback finds nothing. The callback's answer opens the UI session exactly as the
//! API maps the same provider's access tokens (claims, just-in-time users, MFA from amr/acr).

use super::my_roles::PendingActivation;
use super::session::{self, Session, PRESESSION_COOKIE, SESSION_COOKIE};
use super::view::{self, Flash};
use super::UiState;
use crate::auth::external::IssuerConfig;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use openpim_store::sessions::{OidcAuthRequest, UiSession};
use serde::Deserialize;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The browser's half of a sign-in in flight.
const FLOW_COOKIE: &str = "openpim_oidc";
/// The cookie's path: it is sent to the sign-in routes only.
const FLOW_COOKIE_PATH: &str = "/signin/oidc";
/// How long a person has at the provider before the sign-in must start over.
const FLOW_TTL: time::Duration = time::Duration::minutes(10);
/// The longest a UI session from a provider lasts, whatever its ID token's lifetime.
const MAX_SESSION: time::Duration = time::Duration::hours(12);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// What the ID token is asked for: the user's names (claims mapping) and nothing else.
const SCOPES: &str = "openid profile email";
pub const CALLBACK_PATH: &str = "/signin/oidc/callback";

/// `{public URL}/signin/oidc/callback`: what the provider must have registered for our client.
pub fn redirect_uri(ui: &UiState) -> String {
    format!("{}{CALLBACK_PATH}", ui.public_base())
}

/// `GET /signin/oidc/{n}`: "Sign in with <provider>" for the n-th issuer with a web client.
pub async fn start(State(ui): State<UiState>, Path(index): Path<usize>) -> Response {
    let Some(config) = ui.app.external.web_sign_in().nth(index).cloned() else {
        return session::redirect_with(
            "/signin",
            Flash::err("There is no such identity provider."),
            ui.secure_cookies(),
        );
    };
    match send_to_provider(&ui, &config, None).await {
        Ok(resp) => resp,
        Err(message) => session::redirect_with("/signin", Flash::err(message), ui.secure_cookies()),
    }
}

/// Sends a user whose session lacks MFA back to their provider to sign in again with it
/// (`prompt=login`, `acr_values`, `claims` asking for `amr` `mfa`), remembering `pending` to
/// complete on return. `None` when the session's provider has no web sign-in here.
pub async fn step_up(ui: &UiState, session: &Session, pending: &PendingActivation) -> Option<Response> {
    let config = ui.app.external.config(session.issuer.as_deref()?)?.clone();
    config.web_client.as_ref()?;
    let step_up = StepUp { replaces_session: session::session_key(&session.id), pending: pending.clone() };
    Some(match send_to_provider(ui, &config, Some(step_up)).await {
        Ok(resp) => resp,
        Err(message) => session.redirect("/", Flash::err(message)),
    })
}

/// Whether the session's provider can be asked for MFA from here (it has a web client).
pub fn can_step_up(ui: &UiState, session: &Session) -> bool {
    session.issuer.as_deref().and_then(|iss| ui.app.external.config(iss)).is_some_and(|c| c.web_client.is_some())
}

/// Where the provider's sign-out is, for a session it signed in: its `end_session_endpoint` with
/// `id_token_hint` and `post_logout_redirect_uri` back to our sign-in page.
pub async fn provider_logout(ui: &UiState, session: &Session) -> Option<String> {
    let issuer = session.issuer.as_deref()?;
    let config = ui.app.external.config(issuer)?;
    let client = config.web_client.as_ref()?;
    let endpoints = match ui.app.external.endpoints(issuer).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(issuer, error = %e, "signed out here only: the provider's endpoints are unknown");
            return None;
        }
    };
    let mut url = reqwest::Url::parse(endpoints.end_session_endpoint.as_deref()?).ok()?;
    {
        let mut q = url.query_pairs_mut();
        if let Some(hint) = &session.id_token {
            q.append_pair("id_token_hint", hint);
        }
        q.append_pair("client_id", &client.client_id);
        q.append_pair("post_logout_redirect_uri", &format!("{}/signin", ui.public_base()));
    }
    Some(url.into())
}

/// A step-up in flight: the session it replaces and the activation to complete.
struct StepUp {
    replaces_session: String,
    pending: PendingActivation,
}

/// Records a sign-in and answers the redirect to the provider's authorization endpoint. The
/// error is a message for the user.
async fn send_to_provider(ui: &UiState, config: &IssuerConfig, step_up: Option<StepUp>) -> Result<Response, String> {
    let name = config.provider_name();
    let client = config.web_client.as_ref().ok_or_else(|| format!("{name} has no web sign-in configured."))?;
    let endpoints = ui.app.external.endpoints(&config.issuer).await.map_err(|e| {
        tracing::warn!(issuer = %config.issuer, error = %e, "cannot start a web sign-in");
        format!("{name} cannot be reached to sign in; try again later.")
    })?;
    let no_random = || "No randomness available.".to_string();
    let (state, nonce, browser) = (
        session::random_hex().ok_or_else(no_random)?,
        session::random_hex().ok_or_else(no_random)?,
        session::random_hex().ok_or_else(no_random)?,
    );
    // RFC 7636: a 43-character verifier (32 random bytes, base64url) and its S256 challenge.
    let verifier = base64url(&hex_bytes(&session::random_hex().ok_or_else(no_random)?));
    let challenge = base64url(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref());
    let now = time::OffsetDateTime::now_utc();
    let pending_action = match &step_up {
        Some(s) => Some(serde_json::to_string(&s.pending).map_err(|e| e.to_string())?),
        None => None,
    };
    let request = OidcAuthRequest {
        browser_hash: session::session_key(&browser),
        issuer: config.issuer.clone(),
        nonce: nonce.clone(),
        pkce_verifier: verifier,
        replaces_session: step_up.as_ref().map(|s| s.replaces_session.clone()),
        pending_action,
        created: now,
        expires: now + FLOW_TTL,
    };
    ui.app.store.insert_oidc_auth_request(&session::session_key(&state), &request).await.map_err(|e| {
        tracing::error!(error = %e, "could not store a web sign-in");
        "The store is unavailable; try again later.".to_string()
    })?;
    let mut url = reqwest::Url::parse(&endpoints.authorization_endpoint).map_err(|e| e.to_string())?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", &client.client_id);
        q.append_pair("redirect_uri", &redirect_uri(ui));
        q.append_pair("scope", SCOPES);
        q.append_pair("state", &state);
        q.append_pair("nonce", &nonce);
        q.append_pair("code_challenge", &challenge);
        q.append_pair("code_challenge_method", "S256");
        if step_up.is_some() {
            // Sign in again now, with MFA: as Entra asks when a PIM activation needs it.
            q.append_pair("prompt", "login");
            if let Some(acr) = config.mfa_acr_values.first() {
                q.append_pair("acr_values", acr);
            }
            q.append_pair("claims", r#"{"id_token":{"amr":{"essential":true,"values":["mfa"]}}}"#);
        }
    }
    let mut resp = Redirect::to(url.as_str()).into_response();
    resp.headers_mut().append(header::SET_COOKIE, flow_cookie(&browser, FLOW_TTL.whole_seconds(), ui.secure_cookies()));
    Ok(resp)
}

/// The flow cookie: SameSite=Lax, since the provider's redirect back is a cross-site navigation
/// that a Strict cookie would not come with.
fn flow_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={value}; HttpOnly; SameSite=Lax; Path={FLOW_COOKIE_PATH}; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("openpim_invalid=; Path=/; Max-Age=0"))
}

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect()
}

/// What the provider sends back to the callback (RFC 6749 4.1.2 and 4.1.2.1).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Template)]
#[template(path = "continue.html")]
struct ContinuePage<'a> {
    title: &'a str,
    to: &'a str,
}

/// `GET /signin/oidc/callback`: the provider's answer.
pub async fn callback(State(ui): State<UiState>, headers: HeaderMap, Query(q): Query<CallbackQuery>) -> Response {
    let secure = ui.secure_cookies();
    let outcome = finish_sign_in(&ui, &headers, q).await;
    // Same-site from here on: the page navigates to where the user goes next (see continue.html).
    let (to, title, cookies) = match outcome {
        Ok(SignedIn { session_id, lifetime, flash, to }) => {
            let cookies = vec![
                // Done with: a refused answer leaves it, so a forged callback cannot end a
                // sign-in in flight.
                flow_cookie("", 0, secure),
                session::set_cookie(SESSION_COOKIE, &session_id, Some(lifetime), secure),
                session::clear_cookie(PRESESSION_COOKIE, secure),
                flash_cookie(&flash, secure),
            ];
            (to, "Signed in", cookies)
        }
        Err(Refused { to, flash }) => (to, "Sign-in failed", vec![flash_cookie(&flash, secure)]),
    };
    let mut resp = view::render(StatusCode::OK, &ContinuePage { title, to });
    let h = resp.headers_mut();
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    resp
}

fn flash_cookie(flash: &Flash, secure: bool) -> HeaderValue {
    session::set_cookie("openpim_flash", &flash.encode(), Some(60), secure)
}

struct SignedIn {
    session_id: String,
    lifetime: i64,
    flash: Flash,
    /// Where the browser goes: the overview, or after a step-up the roles it activated.
    to: &'static str,
}

/// A callback that opened no session: where to go and why.
struct Refused {
    to: &'static str,
    flash: Flash,
}

impl Refused {
    fn signin(message: impl Into<String>) -> Self {
        Self { to: "/signin", flash: Flash::err(message) }
    }
}

/// Takes the sign-in `state` names out of the store, if this browser started it.
async fn take_request(ui: &UiState, headers: &HeaderMap, state: Option<&str>) -> Result<OidcAuthRequest, Refused> {
    let state = state
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Refused::signin("Sign-in failed: the provider's answer has no state."))?;
    let now = time::OffsetDateTime::now_utc();
    let request = ui
        .app
        .store
        .take_oidc_auth_request(&session::session_key(state), now)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not read a web sign-in");
            Refused::signin("The store is unavailable; try again later.")
        })?
        .ok_or_else(|| Refused::signin("This sign-in has expired or was already used: please sign in again."))?;
    // The answer must come to the browser that asked (no sign-in of someone else's code here).
    let browser = session::cookie(headers, FLOW_COOKIE).map(session::session_key).unwrap_or_default();
    if !(browser.len() == request.browser_hash.len()
        && bool::from(browser.as_bytes().ct_eq(request.browser_hash.as_bytes())))
    {
        return Err(Refused::signin("This sign-in was started in another browser: please sign in again."));
    }
    Ok(request)
}

/// For a step-up: the activation to complete, once the new sign-in is known to have MFA and to
/// be the same person's as the session it replaces (someone else signing in at the prompt
/// neither takes the session over nor completes its activation). `None` for a plain sign-in.
async fn step_up_activation(
    ui: &UiState,
    request: &OidcAuthRequest,
    user: uuid::Uuid,
    mfa: bool,
    name: &str,
) -> Result<Option<PendingActivation>, String> {
    let (Some(old), Some(json)) = (&request.replaces_session, &request.pending_action) else { return Ok(None) };
    let pending: PendingActivation = serde_json::from_str(json)
        .map_err(|_| "The activation to complete could not be read; please submit it again.".to_string())?;
    if !mfa {
        return Err(format!(
            "{name} did not confirm multi-factor authentication, so the role was not activated. Sign in with MFA \
             and try again."
        ));
    }
    let same_person = match ui.app.store.ui_session(old, time::OffsetDateTime::now_utc()).await {
        Ok(session) => session.is_some_and(|s| s.user_id == user),
        Err(e) => {
            tracing::error!(error = %e, "could not read the session being stepped up");
            false
        }
    };
    if !same_person {
        return Err(format!(
            "The sign-in with {name} was not for the account of this session (or the session ended), so nothing \
             was activated."
        ));
    }
    Ok(Some(pending))
}

async fn finish_sign_in(ui: &UiState, headers: &HeaderMap, q: CallbackQuery) -> Result<SignedIn, Refused> {
    let request = take_request(ui, headers, q.state.as_deref()).await?;
    let now = time::OffsetDateTime::now_utc();
    let stepping_up = request.replaces_session.is_some();
    let back = if stepping_up { "/" } else { "/signin" };
    let refused = |message: String| Refused { to: back, flash: Flash::err(message) };
    let config = ui
        .app
        .external
        .config(&request.issuer)
        .cloned()
        .ok_or_else(|| refused("The identity provider is no longer configured.".into()))?;
    let name = config.provider_name();
    if let Some(error) = q.error {
        let why = q.error_description.map(|d| format!(" ({d})")).unwrap_or_default();
        return Err(refused(format!("{name} did not sign you in: {error}{why}.")));
    }
    let code =
        q.code.filter(|c| !c.is_empty()).ok_or_else(|| refused(format!("{name} sent no authorization code.")))?;
    let id_token = redeem(ui, &config, &code, &request.pkce_verifier)
        .await
        .map_err(|e| refused(format!("Sign-in with {name} failed: {e}")))?;
    let verified = ui
        .app
        .external
        .verify_id_token(&config.issuer, &id_token, &request.nonce)
        .await
        .map_err(|e| refused(format!("Sign-in with {name} failed: {}", e.message)))?;
    let user = crate::auth::resolve_user(&ui.app, &verified)
        .await
        .map_err(|e| refused(format!("Sign-in with {name} failed: {}", e.message)))?;
    let pending = step_up_activation(ui, &request, user.id, verified.mfa, &name).await.map_err(refused)?;
    let expires = time::OffsetDateTime::from_unix_timestamp(verified.exp).unwrap_or(now).min(now + MAX_SESSION);
    if expires <= now {
        return Err(refused(format!("Sign-in with {name} failed: the ID token has expired.")));
    }
    let stored = UiSession {
        user_id: user.id,
        mfa: verified.mfa,
        acrs: verified.acrs.clone(),
        created: now,
        expires,
        issuer: Some(config.issuer.clone()),
        id_token: Some(id_token),
    };
    let (session_id, lifetime) = session::open(ui, &stored).await.map_err(|e| match e {
        session::OpenFailed::NoRandomness => refused("No randomness available.".into()),
        session::OpenFailed::Store(e) => {
            tracing::error!(error = %e, "could not store a UI session");
            refused("The store is unavailable; try again later.".into())
        }
    })?;
    if let Some(old) = &request.replaces_session {
        if let Err(e) = ui.app.store.delete_ui_session(old).await {
            tracing::warn!(error = %e, "the session replaced by a step-up could not be ended");
        }
    }
    let (flash, to) = match pending {
        Some(p) => (p.complete(ui, &session::request_token(ui, &stored, now)).await, "/my-roles?tab=active"),
        None => (Flash::ok(format!("Signed in as {} with {name}.", user.user_principal_name)), "/"),
    };
    Ok(SignedIn { session_id, lifetime, flash, to })
}

/// The token endpoint's answer (RFC 6749 5.1): only the ID token is kept.
#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

/// Redeems `code` at the provider's token endpoint with the PKCE verifier (and the client
/// secret, for a confidential client): the ID token.
async fn redeem(ui: &UiState, config: &IssuerConfig, code: &str, verifier: &str) -> Result<String, String> {
    let client = config.web_client.as_ref().ok_or("no web client is configured")?;
    let endpoints = ui.app.external.endpoints(&config.issuer).await.map_err(|e| e.to_string())?;
    let http = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let redirect_uri = redirect_uri(ui);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier),
        ("client_id", client.client_id.as_str()),
    ];
    let mut req = http.post(&endpoints.token_endpoint).form(&form);
    if let Some(secret) = &client.client_secret {
        // client_secret_basic (RFC 6749 2.3.1): both parts form-urlencoded first.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        req = req.basic_auth(enc(&client.client_id), Some(enc(secret)));
    }
    let resp = req.send().await.map_err(|e| {
        let cause = std::error::Error::source(&e).map(|s| format!(" ({s})")).unwrap_or_default();
        format!("the token endpoint cannot be reached: {e}{cause}")
    })?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.map_err(|_| format!("the token endpoint answered {status}"))?;
    if !status.is_success() {
        let error = body["error"].as_str().unwrap_or("error");
        let description = body["error_description"].as_str().map(|d| format!(" ({d})")).unwrap_or_default();
        return Err(format!("the code was not accepted: {error}{description}"));
    }
    let tokens: TokenResponse =
        serde_json::from_value(body).map_err(|_| "the token endpoint's answer is not understood")?;
    tokens.id_token.ok_or_else(|| "the provider sent no ID token".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = base64url(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref());
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(hex_bytes("00ff10"), vec![0, 255, 16]);
        assert_eq!(base64url(&hex_bytes(&"ab".repeat(32))).len(), 43);
    }
}
