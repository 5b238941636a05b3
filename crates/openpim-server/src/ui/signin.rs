//! Sign-in with a bearer token (as `openpim token` prints), and sign-out.

use super::api::Api;
use super::session::{self, Session, PRESESSION_COOKIE, SESSION_COOKIE};
use super::view::{self, Flash};
use super::UiState;
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use openpim_store::sessions::UiSession;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    csrf: String,
    flash: Option<Flash>,
    /// "Sign in with <name>" links: (index among the web sign-in issuers, provider name).
    providers: Vec<(usize, String)>,
    /// The local issuer is enabled, so a pasted token may sign in.
    token_signin: bool,
}

/// The sign-in form. Its CSRF token comes from a random pre-session cookie, so another site
/// cannot sign a browser in under an account of its choosing.
pub async fn page(State(ui): State<UiState>, headers: HeaderMap) -> Response {
    let (presession, fresh) = match session::cookie(&headers, PRESESSION_COOKIE) {
        Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => (v.to_string(), false),
        _ => match session::random_hex() {
            Some(v) => (v, true),
            None => return view::plain_error(StatusCode::INTERNAL_SERVER_ERROR, "No randomness available."),
        },
    };
    let flash = session::flash_of(&headers);
    let had_flash = flash.is_some();
    let providers = ui.app.external.web_sign_in().map(|c| c.provider_name()).enumerate().collect();
    let page = SigninPage {
        csrf: session::csrf_for(&presession),
        flash,
        providers,
        token_signin: ui.app.local_issuer_enabled,
    };
    let mut resp = view::render(StatusCode::OK, &page);
    let secure = ui.secure_cookies();
    if fresh {
        resp.headers_mut()
            .append(header::SET_COOKIE, session::set_cookie(PRESESSION_COOKIE, &presession, None, secure));
    }
    if had_flash {
        resp.headers_mut().append(header::SET_COOKIE, session::clear_cookie("openpim_flash", secure));
    }
    resp
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SigninForm {
    csrf: String,
    token: String,
}

pub async fn submit(State(ui): State<UiState>, headers: HeaderMap, Form(form): Form<SigninForm>) -> Response {
    let secure = ui.secure_cookies();
    let Some(presession) = session::cookie(&headers, PRESESSION_COOKIE) else {
        return view::csrf_refused();
    };
    if !session::csrf_ok(presession, &form.csrf) {
        return view::csrf_refused();
    }
    if !ui.app.local_issuer_enabled {
        return view::plain_error(
            StatusCode::FORBIDDEN,
            "Signing in with a token is turned off on this server: sign in with your identity provider.",
        );
    }
    let token = form.token.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    if token.is_empty() {
        return session::redirect_with("/signin", Flash::err("Paste a bearer token to sign in."), secure);
    }
    // The same verification as the API's (signature, issuer, audience, lifetime); the API call
    // below then checks that the user exists and is enabled.
    let claims = match ui.app.issuer.verify(token) {
        Ok(c) => c,
        Err(e) => {
            return session::redirect_with("/signin", Flash::err(format!("Sign-in failed: {}", e.message)), secure)
        }
    };
    let me = match Api::new(&ui.api, token).get_as::<openpim_proto::directory::User>("/v1.0/me").await {
        Ok(me) => me,
        Err(e) => {
            return session::redirect_with("/signin", Flash::err(format!("Sign-in failed: {}", e.message)), secure)
        }
    };
    // The session lives no longer than the token it was opened with. The cookie gets a random
    // session id, never the token: sign-out can then end the session for good.
    let now = time::OffsetDateTime::now_utc();
    let lifetime = (claims.exp - now.unix_timestamp()).max(1);
    let Ok(user_id) = claims.object_id() else {
        return session::redirect_with("/signin", Flash::err("Sign-in failed: the token names no user."), secure);
    };
    let stored = UiSession {
        user_id,
        mfa: claims.amr.iter().any(|m| m == "mfa"),
        acrs: claims.acrs.clone(),
        created: now,
        expires: now + time::Duration::seconds(lifetime),
        issuer: None,
        id_token: None,
    };
    let (session_id, lifetime) = match session::open(&ui, &stored).await {
        Ok(opened) => opened,
        Err(failed) => return failed.page(),
    };
    let name = me.user_principal_name;
    let mut resp = session::redirect_with("/", Flash::ok(format!("Signed in as {name}.")), secure);
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, session::set_cookie(SESSION_COOKIE, &session_id, Some(lifetime), secure));
    h.append(header::SET_COOKIE, session::clear_cookie(PRESESSION_COOKIE, secure));
    resp
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}

/// Ends the session in the store (on every node), then clears the cookie. A session from a
/// provider that offers RP-initiated logout continues there, so the provider's session ends too.
pub async fn signout(State(ui): State<UiState>, session: Session, Form(form): Form<CsrfOnly>) -> Response {
    if let Some(refused) = session.csrf_refusal(&form.csrf) {
        return refused;
    }
    if let Err(e) = ui.app.store.delete_ui_session(&session::session_key(&session.id)).await {
        tracing::error!(error = %e, "could not end a UI session");
        return view::plain_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The store is unavailable; you are still signed in.",
        );
    }
    let mut resp = match super::oidc::provider_logout(&ui, &session).await {
        Some(url) => axum::response::Redirect::to(&url).into_response(),
        None => session.redirect("/signin", Flash::ok("Signed out.")),
    };
    resp.headers_mut().append(header::SET_COOKIE, session::clear_cookie(SESSION_COOKIE, session.secure));
    resp
}

/// Where a page goes when the API says the session's token is no longer valid.
pub fn expired(session: &Session, message: &str) -> Response {
    let mut resp = session.redirect("/signin", Flash::err(format!("Please sign in again: {message}")));
    resp.headers_mut().append(header::SET_COOKIE, session::clear_cookie(SESSION_COOKIE, session.secure));
    resp
}
