//! The browser session: a server-side session named by a random id in an HttpOnly cookie, flash
//! messages, and CSRF checks.
//!
//! The cookie never holds the bearer token the user signed in with. It holds a random session id
//! whose SHA-256 keys a row in the store (`ui_sessions`: user, MFA, authentication contexts,
//! expiry no later than the token's). Sign-out deletes the row, so a copied cookie stops working
//! at once, on every node. Each request mints a short-lived local token for the session's user
//! to call the API in-process, so the API still checks the user on every call.
//!
//! CSRF tokens are SHA-256 of a domain label and the session's secret cookie value (the session
//! id, or before sign-in a random pre-session value). A cross-site page can neither read the
//! HttpOnly, SameSite=Strict cookie nor invert the hash, so it cannot forge the form field; and
//! since the token depends only on the cookie, it holds across restarts and on every node.

use super::view::{self, Flash};
use super::UiState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use openpim_store::sessions::UiSession;
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "openpim_session";
pub const PRESESSION_COOKIE: &str = "openpim_presession";
const FLASH_COOKIE: &str = "openpim_flash";

/// The CSRF token for a session secret.
pub fn csrf_for(secret: &str) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"openpim-ui-csrf\0");
    ctx.update(secret.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ctx.finish().as_ref())
}

/// Constant-time comparison of a submitted CSRF token with the one the secret gives.
pub fn csrf_ok(secret: &str, submitted: &str) -> bool {
    let want = csrf_for(secret);
    want.len() == submitted.len() && bool::from(want.as_bytes().ct_eq(submitted.as_bytes()))
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure when served over https.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("openpim_invalid=; Path=/; Max-Age=0"))
}

pub fn clear_cookie(name: &str, secure: bool) -> HeaderValue {
    set_cookie(name, "", Some(0), secure)
}

/// A redirect (303, so the browser GETs the target) that sets a flash message.
pub fn redirect_with(to: &str, flash: Flash, secure: bool) -> Response {
    let mut resp = Redirect::to(to).into_response();
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(FLASH_COOKIE, &flash.encode(), Some(60), secure));
    resp
}

/// How long the bearer token minted for one UI request lives (it is used within the request).
const REQUEST_TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// The store key of a session id: its SHA-256, hex. The id itself is never stored.
pub fn session_key(id: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Session ids are 32 random bytes, hex: anything else is not worth a store lookup.
fn well_formed_session_id(v: &str) -> bool {
    v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The signed-in user's session, found in the store by the cookie's session id. `token` is a
/// short-lived bearer token for the session's user, minted for this request; the API verifies it
/// and the user on every call, and a page whose call answers 401 sends the user back to sign in.
pub struct Session {
    /// The session id from the cookie (the secret CSRF tokens derive from).
    pub id: String,
    pub token: String,
    /// The same user's short-lived token with Azure Resource Manager's audience, for the Azure
    /// pages' in-process ARM calls (`ui/azure.rs`).
    pub arm_token: String,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub secure: bool,
    /// The sign-in passed multi-factor authentication.
    pub mfa: bool,
    /// The external provider the user signed in through (none: a local token).
    pub issuer: Option<String>,
    /// That sign-in's ID token, for the provider's sign-out.
    pub id_token: Option<String>,
}

impl Session {
    /// Checks a submitted form's CSRF field: the refusal page when it is wrong.
    pub fn csrf_refusal(&self, submitted: &str) -> Option<Response> {
        (!csrf_ok(&self.id, submitted)).then(view::csrf_refused)
    }

    /// Adds the header that clears a flash message once it was shown.
    pub fn finish(&self, mut resp: Response) -> Response {
        if self.flash.is_some() {
            resp.headers_mut().append(header::SET_COOKIE, clear_cookie(FLASH_COOKIE, self.secure));
        }
        resp
    }

    pub fn redirect(&self, to: &str, flash: Flash) -> Response {
        redirect_with(to, flash, self.secure)
    }
}

/// Reads the flash cookie, if any.
pub fn flash_of(headers: &HeaderMap) -> Option<Flash> {
    cookie(headers, FLASH_COOKIE).and_then(Flash::decode)
}

impl FromRequestParts<UiState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, Self::Rejection> {
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/signin").into_response());
        };
        let secure = state.secure_cookies();
        let ended = |message: &str| {
            let mut resp = redirect_with("/signin", Flash::err(format!("Please sign in again: {message}")), secure);
            resp.headers_mut().append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE, secure));
            resp
        };
        if !well_formed_session_id(id) {
            return Err(ended("the session cookie is not valid."));
        }
        // Sessions follow real time, like the tokens they come from.
        let now = time::OffsetDateTime::now_utc();
        let stored = match state.app.store.ui_session(&session_key(id), now).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "could not read a UI session");
                return Err(view::plain_error(StatusCode::SERVICE_UNAVAILABLE, "The store is unavailable."));
            }
        };
        let Some(stored) = stored else {
            return Err(ended("the session has ended or expired."));
        };
        crate::transport::note_caller(stored.user_id);
        Ok(Session {
            csrf: csrf_for(id),
            id: id.to_string(),
            token: request_token(state, &stored, now),
            arm_token: request_token_for(state, &stored, now, crate::auth::TokenAudience::Arm),
            flash: flash_of(&parts.headers),
            secure,
            mfa: stored.mfa,
            issuer: stored.issuer,
            id_token: stored.id_token,
        })
    }
}

/// A bearer token for the session's user, for this request's in-process API calls.
pub fn request_token(state: &UiState, stored: &UiSession, now: time::OffsetDateTime) -> String {
    request_token_for(state, stored, now, crate::auth::TokenAudience::Graph)
}

/// [`request_token`] with the given audience (Graph, or ARM for the Azure pages).
pub fn request_token_for(
    state: &UiState,
    stored: &UiSession,
    now: time::OffsetDateTime,
    audience: crate::auth::TokenAudience,
) -> String {
    let remaining = (stored.expires - now).whole_seconds().max(1) as u64;
    let req = crate::auth::TokenRequest {
        oid: stored.user_id,
        upn: String::new(),
        mfa: stored.mfa,
        acrs: stored.acrs.clone(),
        ttl: REQUEST_TOKEN_TTL.min(std::time::Duration::from_secs(remaining)),
    };
    state.app.issuer.mint_for(&req, audience, now)
}

/// A random 32-byte value, hex: session ids, pre-session values, OpenID `state` and `nonce`.
pub fn random_hex() -> Option<String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Why a session could not be opened.
pub enum OpenFailed {
    NoRandomness,
    Store(openpim_store::StoreError),
}

impl OpenFailed {
    pub fn page(&self) -> Response {
        match self {
            Self::NoRandomness => view::plain_error(StatusCode::INTERNAL_SERVER_ERROR, "No randomness available."),
            Self::Store(e) => {
                tracing::error!(error = %e, "could not store a UI session");
                view::plain_error(StatusCode::SERVICE_UNAVAILABLE, "The store is unavailable.")
            }
        }
    }
}

/// Stores a new session and returns its id (for the cookie) and lifetime in seconds. The id is
/// fresh on every sign-in, so a session id planted before sign-in is never promoted.
pub async fn open(state: &UiState, stored: &UiSession) -> Result<(String, i64), OpenFailed> {
    let id = random_hex().ok_or(OpenFailed::NoRandomness)?;
    // Housekeeping: expired sessions are refused anyway; forget them now and then.
    if let Err(e) = state.app.store.delete_expired_ui_sessions(stored.created).await {
        tracing::warn!(error = %e, "could not forget expired UI sessions");
    }
    state.app.store.insert_ui_session(&session_key(&id), stored).await.map_err(OpenFailed::Store)?;
    Ok((id, (stored.expires - stored.created).whole_seconds().max(1)))
}

/// Refuses state-changing requests that a browser marks as coming from another site, before any
/// handler runs: `Sec-Fetch-Site` other than same-origin/none, or an `Origin` that is neither the
/// host the request was sent to nor the configured public URL (behind a reverse proxy).
pub async fn reject_cross_site_posts(State(ui): State<UiState>, req: Request, next: Next) -> Response {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return next.run(req).await;
    }
    let headers = req.headers();
    let site_ok = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(site) => site == "same-origin" || site == "none",
    };
    let origin_ok = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
            let authority = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
            let public = ui.app.public_url.as_deref().map(|u| u.trim_end_matches('/'));
            (!host.is_empty() && authority.eq_ignore_ascii_case(host))
                || public.is_some_and(|p| p.eq_ignore_ascii_case(origin))
        }
    };
    if site_ok && origin_ok {
        next.run(req).await
    } else {
        view::plain_error(StatusCode::FORBIDDEN, "This form was sent from another site and was refused.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_depends_on_the_secret() {
        let t = csrf_for("abc");
        assert!(csrf_ok("abc", &t));
        assert!(!csrf_ok("abd", &t));
        assert!(!csrf_ok("abc", ""));
        assert!(!csrf_ok("abc", &t[1..]));
    }

    #[test]
    fn cookies_are_parsed() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; openpim_session=tok.en; b="));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok.en"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(cookie(&h, "c"), None);
    }
}
