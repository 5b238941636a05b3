//! Prometheus metrics: request counts and latency by route and status, the domain's events and
//! state (see docs/OPERATIONS.md, "Metrics"), and who may read them.
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
    refresh_gauges(&s).await;
    handle().render().into_response()
}

/// Gauges computed at scrape time from this node's state, so they cannot drift the way
/// counters kept in step by hand can. Each read is cheap: the access index is in memory, and
/// the store reads are counts over indexed columns (pending approvals, the pending outbox) or
/// the feed position. A read that fails leaves the gauge at its last value and is logged: the
/// scrape still answers with everything else.
async fn refresh_gauges(s: &AppState) {
    let now = s.now();
    {
        let index = s.index();
        metrics::gauge!("openpim_index_grants").set(index.grant_count() as f64);
        metrics::gauge!("openpim_index_principals").set(index.principal_count() as f64);
        for (role, source, n) in index.active_privileged_grants(now) {
            let source = match source {
                openpim_core::access::GrantSource::Assigned => "assigned",
                openpim_core::access::GrantSource::Activated => "activated",
            };
            // Built-in privileged roles only: their names are Microsoft's fixed catalog (~30),
            // never a custom role's (client-chosen) name.
            metrics::gauge!(
                "openpim_active_privileged_assignments",
                "role" => role.display_name.clone(),
                "role_template_id" => role.template_id.to_string(),
                "source" => source
            )
            .set(n as f64);
        }
    }
    match s.store.count_pending_approvals(now).await {
        Ok(n) => metrics::gauge!("openpim_pending_approvals").set(n as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: could not count pending approvals"),
    }
    match s.store.outbox_backlog().await {
        Ok((depth, oldest)) => {
            metrics::gauge!("openpim_notification_outbox_depth").set(depth as f64);
            let age = oldest.map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0));
            metrics::gauge!("openpim_notification_outbox_oldest_age_seconds").set(age);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not read the notification outbox"),
    }
    if s.store.backend() == openpim_store::Backend::Postgres {
        // Only nodes sharing a PostgreSQL database follow a feed; `lag` sets the two gauges.
        if let Err(e) = crate::follower::lag(s).await {
            tracing::warn!(error = %e, "metrics: could not measure the follower lag");
        }
    }
    let loops = s.loops.report();
    if let Some(loops) = loops.loops.as_object() {
        for (name, l) in loops {
            // Loop names are this server's fixed set (the `supervise` names: tidyUp, notifications,
            // changeFeedFollower, auditCheckpoints, pimAlerts).
            let name = name.clone();
            let healthy = l["healthy"].as_bool().unwrap_or(false);
            metrics::gauge!("openpim_loop_healthy", "loop" => name.clone()).set(if healthy { 1.0 } else { 0.0 });
            metrics::counter!("openpim_loop_restarts_total", "loop" => name.clone())
                .absolute(l["restarts"].as_u64().unwrap_or(0));
            if let Some(secs) = l["secondsSinceLastSuccess"].as_f64() {
                metrics::gauge!("openpim_loop_seconds_since_success", "loop" => name).set(secs);
            }
        }
    }
}

/// Every label combination of the event counters, registered at zero when the recorder is
/// installed: a rate over a series that does not exist yet is no rate at all, so alerts on
/// "failures appeared" need the series from the start.
fn register_counters() {
    use openpim_core::audit::activity::{ActivityKind, ApprovalOutcome, World};
    use strum::IntoEnumIterator;
    for world in World::iter() {
        let world: &'static str = world.into();
        for kind in ActivityKind::iter() {
            let kind: &'static str = kind.into();
            for result in ["success", "failure"] {
                metrics::counter!(openpim_store::AUDITED_CHANGES, "world" => world, "kind" => kind, "result" => result)
                    .increment(0);
            }
        }
        for outcome in ApprovalOutcome::iter() {
            let outcome: &'static str = outcome.into();
            metrics::counter!(openpim_store::APPROVAL_DECISIONS, "world" => world, "outcome" => outcome).increment(0);
        }
    }
    for transition in
        ["schedule_started", "assignment_expired", "eligibility_expired", "approval_timed_out", "request_provisioned"]
    {
        metrics::counter!(crate::jobs::TRANSITIONS, "transition" => transition).increment(0);
    }
    for channel in ["webhook", "email"] {
        for result in ["success", "failure", "gave_up"] {
            metrics::counter!(crate::notify::DELIVERIES, "channel" => channel, "result" => result).increment(0);
        }
    }
    for reason in crate::auth::TokenRejection::iter() {
        let reason: &'static str = reason.into();
        metrics::counter!(crate::auth::TOKEN_REJECTIONS, "reason" => reason).increment(0);
    }
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
            const SECONDS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("http_request_duration_seconds".into()), SECONDS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(openpim_store::COMMIT_SECONDS.into()), SECONDS))
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(openpim_store::GROUP_SIZE.into()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0],
                    )
                })
                .expect("static bucket lists are valid");
            let handle = match builder.install_recorder() {
                Ok(h) => h,
                // Another recorder is installed (embedding); keep a private one so /metrics works.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            };
            register_counters();
            handle
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
