//! The web UI served at `/`: server-rendered pages (askama) and plain HTML forms.
//!
//! The UI holds no authorisation or PIM rules of its own. Every page reads, and every form
//! writes, through the Graph API *in-process* (see [`api`]): the signed-in user's bearer token is
//! sent with each call through the same router that serves `/v1.0`, so every check, audit entry
//! and error code is exactly the API's.

mod alerts;
mod api;
mod approvals;
mod audit;
mod azure;
mod azure_approvals;
mod azure_settings;
mod confirm;
mod groups;
mod my_roles;
mod oidc;
mod overview;
mod page;
mod requests;
mod roles;
mod rows;
mod session;
mod settings;
mod signin;
mod timeline;
mod users;
mod view;

use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

/// Largest form the UI accepts (a pasted token or a justification is far smaller).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// What every UI handler gets: the API router to call and the server state (issuer, config).
#[cfg(test)]
mod tests {
    #[test]
    fn unknown_paths_under_the_api_stay_the_apis() {
        for api in ["/v1.0/nothing", "/BETA/x", "/openpim/x", "/metrics/x", "/v2.0/users", "/v1"] {
            assert!(!super::is_page_path(api), "{api}");
        }
        for page in ["/nothing", "/users/x/y", "/", "/v1.0x", "/v"] {
            assert!(super::is_page_path(page), "{page}");
        }
    }
}

#[derive(Clone)]
pub struct UiState {
    api: Router,
    app: AppState,
}

impl UiState {
    /// Cookies get `Secure` when clients reach the server over https: the configured public URL
    /// says so, or, without one, the server itself serves TLS.
    fn secure_cookies(&self) -> bool {
        self.public_base().starts_with("https://")
    }

    /// The URL browsers reach the UI at (the public URL, else the listen address), without a
    /// trailing slash.
    fn public_base(&self) -> String {
        self.app.public_url.as_deref().unwrap_or(&self.app.listen_origin).trim_end_matches('/').to_string()
    }
}

/// Adds the UI's pages to `api` (the complete Graph router, which the pages call in-process).
pub fn mount(api: Router, app: AppState) -> Router {
    let state = UiState { api: api.clone(), app };
    let ui = Router::new()
        .route("/", get(overview::page))
        .route("/my-roles", get(my_roles::page))
        .route("/my-roles/activate", get(my_roles::activate_form))
        .route("/my-roles/request", get(my_roles::request_form))
        .route("/my-requests", get(requests::page))
        .route("/activate", post(my_roles::activate))
        .route("/deactivate", post(my_roles::deactivate))
        .route("/extend", post(my_roles::extend))
        .route("/renew", post(my_roles::renew))
        .route("/cancel", post(my_roles::cancel))
        .route(
            "/signin",
            get(signin::page)
                .post(signin::submit)
                .route_layer(axum::middleware::from_fn_with_state(state.app.clone(), crate::limits::limit_signins)),
        )
        .route("/signout", post(signin::signout))
        .route(oidc::CALLBACK_PATH, get(oidc::callback))
        .route(
            "/signin/oidc/{index}",
            get(oidc::start).route_layer(axum::middleware::from_fn_with_state(
                state.app.clone(),
                crate::limits::limit_signin_starts,
            )),
        )
        .route("/approvals", get(approvals::page).post(approvals::decide))
        .route("/roles", get(roles::list))
        .route("/roles/{id}", get(roles::detail))
        .route("/roles/{id}/assign", post(roles::assign))
        .route("/roles/{id}/remove", post(roles::remove))
        .route("/roles/{id}/update", post(roles::update))
        .route("/roles/{id}/settings", get(settings::page).post(settings::save))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::detail).post(users::update))
        .route("/users/{id}/account", post(users::account))
        .route("/users/{id}/delete", post(users::delete))
        .route("/groups", get(groups::page).post(groups::create))
        .route("/groups/{id}", get(groups::detail))
        .route("/groups/{id}/members", post(groups::add_member))
        .route("/groups/{id}/members/remove", post(groups::remove_member))
        .route("/timeline", get(timeline::page))
        .route("/audit", get(audit::page))
        .route("/alerts", get(alerts::page))
        .route("/alerts/dismiss", post(alerts::dismiss))
        .route("/alerts/refresh", post(alerts::refresh))
        .route("/audit.csv", get(audit::csv))
        .route("/audit/{id}", get(audit::record))
        // -- Azure resources (issue #16) --
        .route("/azure", get(azure::tree))
        .route("/azure/scope", get(azure::scope))
        .route("/azure/settings", get(azure_settings::page).post(azure_settings::save))
        .route("/azure/assign", post(azure::assign))
        .route("/azure/update", post(azure::update))
        .route("/azure/remove", post(azure::remove))
        .route("/azure/activate", post(azure::activate))
        .route("/azure/deactivate", post(azure::deactivate))
        .route("/azure/cancel", post(azure::cancel))
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .route_layer(axum::middleware::from_fn(crate::transport::matched_route))
        .layer(axum::middleware::from_fn_with_state(state.clone(), session::reject_cross_site_posts))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security_headers))
        // The API's layers wrap only the API's routes, so the UI adds its own.
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(CatchPanicLayer::custom(|panic: Box<dyn std::any::Any + Send>| {
            crate::transport::log_panic(&*panic);
            view::plain_error(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong; nothing more is known.")
        }))
        .with_state(state);
    api.merge(ui)
}

/// One small stylesheet, compiled into the binary: the CSP allows nothing inline or external.
async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

/// The one script: progressive enhancement only (every page works without it), served from
/// here because the CSP allows scripts from the server alone.
async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/app.js"),
    )
        .into_response()
}

/// First path segments the API serves (Graph, OpenPIM's extensions, health and metrics): an
/// unknown path under them is the API's JSON 404, any other is a page a person asked for.
const API_SEGMENTS: [&str; 6] = ["v1.0", "beta", "openpim", "healthz", "readyz", "metrics"];

/// Whether a request no route matched (and not ARM's) is a person's page request, answered with
/// the UI's HTML 404: a browser's (it accepts HTML) for a path outside the API's prefixes and
/// not like an API version (`/v2.0/...`). API clients keep Graph's JSON 404.
pub fn is_page_request(req: &Request) -> bool {
    let accepts_html =
        req.headers().get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("text/html"));
    accepts_html && is_page_path(req.uri().path())
}

fn is_page_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    let version_like =
        first.len() > 1 && first.starts_with(['v', 'V']) && first[1..].chars().all(|c| c.is_ascii_digit() || c == '.');
    !version_like && !API_SEGMENTS.iter().any(|s| first.eq_ignore_ascii_case(s))
}

/// Marks a response of the API router's fallback as the UI's page, so the Graph error shaping
/// (`error::graph_errors`) leaves it as it is.
#[derive(Clone, Copy)]
pub struct HtmlPage;

/// The UI's 404: an HTML page with a way back, not the API's JSON.
/// It comes from the API router's fallback, outside [`security_headers`], so it sets the
/// page headers that matter itself.
pub fn not_found() -> Response {
    let mut resp = view::plain_error(
        StatusCode::NOT_FOUND,
        "There is no page at this address. It may have moved, or the link is mistyped.",
    );
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.extensions_mut().insert(HtmlPage);
    resp
}

/// Headers every UI response carries; pages (anything but the stylesheet) are never cached,
/// since they show one user's roles.
/// Forms may lead to the identity providers' sign-in and sign-out pages too (a step-up after
/// Activate, the provider's sign-out after Sign out): browsers apply `form-action` to the
/// redirects that follow a form.
async fn security_headers(State(ui): State<UiState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let mut form_action = String::from("'self'");
    for origin in ui.app.external.web_origins() {
        form_action.push(' ');
        form_action.push_str(&origin);
    }
    let csp = format!("default-src 'self'; frame-ancestors 'none'; form-action {form_action}; base-uri 'none'");
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).unwrap_or_else(|_| {
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
        }),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
