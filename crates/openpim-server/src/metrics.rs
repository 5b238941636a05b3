//! Prometheus metrics: request counts and latency by route and status, and who may read them.
//!
//! Every label has a bounded set of values, so no client can grow the output: the route is the
//! matched route template (`unmatched` otherwise), the method one of the standard nine (`other`
//! otherwise), the status a three-digit code.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::{AppState, Audit};
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use openpim_core::audit::category::DIRECTORY_MANAGEMENT;
use openpim_core::authz::cap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

/// Who may read `/metrics` (`--metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsAccess {
    /// Anyone who can reach the port.
    Public,
    /// Only clients connected directly from a loopback address: a request carrying proxy
    /// headers (`Forwarded`, `X-Forwarded-For`) came through a proxy and is refused too.
    #[default]
    Loopback,
    /// A bearer token whose user may read audit logs (e.g. Global Reader, Security Reader).
    Token,
}

impl std::str::FromStr for MetricsAccess {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "public" => Ok(Self::Public),
            "loopback" => Ok(Self::Loopback),
            "token" => Ok(Self::Token),
            _ => Err(format!("'{s}' is not one of public, loopback, token")),
        }
    }
}

/// `GET /metrics`, subject to [`MetricsAccess`].
pub async fn endpoint(State(s): State<AppState>, req: Request) -> Response {
    match s.metrics_access {
        MetricsAccess::Public => {}
        MetricsAccess::Loopback => {
            let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
            let proxied = ["forwarded", "x-forwarded-for", "x-real-ip"].iter().any(|h| req.headers().contains_key(*h));
            if proxied || !peer.is_some_and(|p| p.ip().is_loopback()) {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "Authorization_RequestDenied",
                    "/metrics is served to loopback clients only (--metrics loopback).",
                )
                .into_response();
            }
        }
        MetricsAccess::Token => {
            let (mut parts, _) = req.into_parts();
            let caller = match Caller::from_request_parts(&mut parts, &s).await {
                Ok(c) => c,
                Err(e) => return e.into_response(),
            };
            let audit = Audit::new(DIRECTORY_MANAGEMENT, "Read metrics", "Read");
            if let Err(e) = s.authorize::<cap::ReadAuditLogs>(&caller, &[], &audit).await {
                return e.into_response();
            }
        }
    }
    handle().render().into_response()
}

/// The method as a label: the nine standard methods by name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The process-wide recorder (metrics has one global recorder; servers in tests share it).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
                )
                .expect("static bucket list is valid");
            match builder.install_recorder() {
                Ok(h) => h,
                // Another recorder is installed (embedding); keep a private one so /metrics works.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = method_label(req.method());
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let labels = [("method", method.to_string()), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(start.elapsed().as_secs_f64());
    resp
}
