//! The Graph routes, served under `/v1.0` and `/beta`. Each handler parses, authorises, calls
//! one core operation, persists through the one write path, and renders.

mod access_check;
mod access_history;
mod alerts;
mod approvals;
mod audit;
mod audit_chain;
mod azure_subscriptions;
mod directory;
pub(crate) mod governance;
mod ops;
mod policies;
mod role_assignments;
mod role_definitions;
mod schedules;
pub(crate) mod signin;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::{Extension, Router};

/// The Graph API version a request came in on: `/v1.0` or `/beta`. Every route registered
/// through [`GraphRoutes`] carries it as a request extension, so handlers and renderers
/// ([`crate::odata::OData`]) know which surface they answer for without parsing paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GraphVersion {
    #[default]
    V1,
    Beta,
}

impl GraphVersion {
    /// The path segment: `v1.0` or `beta`.
    pub fn segment(self) -> &'static str {
        match self {
            GraphVersion::V1 => "v1.0",
            GraphVersion::Beta => "beta",
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for GraphVersion {
    type Rejection = std::convert::Infallible;

    /// A route outside [`GraphRoutes`] (none calls this today) is v1.0.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<GraphVersion>().copied().unwrap_or_default())
    }
}

const V1_PREFIX: &str = "/v1.0/";
const BETA_PREFIX: &str = "/beta/";

/// The Graph routes and their path patterns: the patterns teach [`crate::normalize`] which
/// segments are fixed names (matched ignoring case) and which are keys.
///
/// Graph serves every v1.0 resource under `/beta` too, so [`GraphRoutes::route`] registers a
/// `/v1.0/...` pattern under both prefixes with the one handler; beta-only resources are added
/// with [`GraphRoutes::beta_route`] and exist under `/beta` alone.
pub struct GraphRoutes {
    pub router: Router<AppState>,
    pub patterns: Vec<String>,
}

impl GraphRoutes {
    fn new() -> Self {
        Self { router: Router::new(), patterns: Vec::new() }
    }

    /// Like [`Router::route`], recording the pattern. A `/v1.0/...` pattern is served under
    /// `/beta/...` as well; other paths (OpenPIM's own `/openpim/...`) only as given.
    fn route(self, path: &'static str, method_router: MethodRouter<AppState>) -> Self {
        match path.strip_prefix(V1_PREFIX) {
            Some(rest) => {
                let beta = format!("{BETA_PREFIX}{rest}");
                self.add(path.to_string(), GraphVersion::V1, method_router.clone()).add(
                    beta,
                    GraphVersion::Beta,
                    method_router,
                )
            }
            None => self.add(path.to_string(), GraphVersion::V1, method_router),
        }
    }

    /// A route Graph serves under `/beta` only (`path` starts with `/beta/`): it is not
    /// registered under `/v1.0`, so a v1.0 client gets Graph's 404 for it.
    pub(crate) fn beta_route(self, path: &'static str, method_router: MethodRouter<AppState>) -> Self {
        assert!(path.starts_with(BETA_PREFIX), "a beta-only route's pattern starts with /beta/: {path}");
        self.add(path.to_string(), GraphVersion::Beta, method_router)
    }

    fn add(mut self, path: String, version: GraphVersion, method_router: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(&path, method_router.layer(Extension(version)));
        self.patterns.push(path);
        self
    }

    /// A directory entity kind's collection, `$count` and item, served by the generic handlers.
    fn entities<K: directory::DirectoryKind>(self) -> Self {
        use directory::{count, create, get as read, list, remove, update};
        self.route(K::PATHS.collection, get(list::<K>).post(create::<K>))
            .route(K::PATHS.count, get(count::<K>))
            .route(K::PATHS.item, get(read::<K>).patch(update::<K>).delete(remove::<K>))
    }

    /// A kind's members and their `$ref`s.
    fn members<K: directory::Membership>(self) -> Self {
        let [list, add, remove] = K::MEMBER_PATHS;
        self.route(list, get(directory::members::<K>))
            .route(add, post(directory::add_member::<K>))
            .route(remove, delete(directory::remove_member::<K>))
    }
}

pub fn graph_routes() -> GraphRoutes {
    GraphRoutes::new()
        .route("/v1.0/me", get(directory::me))
        .route("/v1.0/me/memberOf", get(directory::my_member_of))
        .entities::<directory::Users>()
        .route("/v1.0/users/{id}/memberOf", get(directory::member_of))
        .entities::<directory::Groups>()
        .members::<directory::Groups>()
        .entities::<directory::Applications>()
        .entities::<directory::ServicePrincipals>()
        .entities::<directory::AdministrativeUnits>()
        .members::<directory::AdministrativeUnits>()
        .route(
            "/v1.0/roleManagement/directory/roleDefinitions",
            get(role_definitions::list).post(role_definitions::create),
        )
        .route("/v1.0/roleManagement/directory/roleDefinitions/$count", get(role_definitions::count))
        .route(
            "/v1.0/roleManagement/directory/roleDefinitions/{id}",
            get(role_definitions::get).patch(role_definitions::update).delete(role_definitions::remove),
        )
        .route(
            "/v1.0/roleManagement/directory/roleAssignments",
            get(role_assignments::list).post(role_assignments::create),
        )
        .route("/v1.0/roleManagement/directory/roleAssignments/$count", get(role_assignments::count))
        .route(
            "/v1.0/roleManagement/directory/roleAssignments/{id}",
            get(role_assignments::get).delete(role_assignments::remove),
        )
        .route(
            "/v1.0/roleManagement/directory/roleEligibilityScheduleRequests",
            get(schedules::list_eligibility_requests).post(schedules::create_eligibility_request),
        )
        .route(
            "/v1.0/roleManagement/directory/roleEligibilityScheduleRequests/{id}",
            get(schedules::get_eligibility_request),
        )
        .route(
            "/v1.0/roleManagement/directory/roleEligibilityScheduleRequests/{id}/cancel",
            post(schedules::cancel_eligibility_request),
        )
        .route(
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests",
            get(schedules::list_assignment_requests).post(schedules::create_assignment_request),
        )
        .route(
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/{id}",
            get(schedules::get_assignment_request),
        )
        .route(
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/{id}/cancel",
            post(schedules::cancel_assignment_request),
        )
        .route("/v1.0/roleManagement/directory/roleEligibilitySchedules", get(schedules::list_eligibility_schedules))
        .route("/v1.0/roleManagement/directory/roleEligibilitySchedules/{id}", get(schedules::get_eligibility_schedule))
        .route("/v1.0/roleManagement/directory/roleAssignmentSchedules", get(schedules::list_assignment_schedules))
        .route("/v1.0/roleManagement/directory/roleAssignmentSchedules/{id}", get(schedules::get_assignment_schedule))
        .route(
            "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
            get(schedules::list_eligibility_instances),
        )
        .route(
            "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances/{id}",
            get(schedules::get_eligibility_instance),
        )
        .route(
            "/v1.0/roleManagement/directory/roleAssignmentScheduleInstances",
            get(schedules::list_assignment_instances),
        )
        .route(
            "/v1.0/roleManagement/directory/roleAssignmentScheduleInstances/{id}",
            get(schedules::get_assignment_instance),
        )
        .route("/v1.0/policies/roleManagementPolicies", get(policies::list))
        .route("/v1.0/policies/roleManagementPolicies/{id}", get(policies::get))
        .route("/v1.0/policies/roleManagementPolicies/{id}/rules", get(policies::list_rules))
        .route(
            "/v1.0/policies/roleManagementPolicies/{id}/rules/{rule}",
            get(policies::get_rule).patch(policies::update_rule),
        )
        .route("/v1.0/policies/roleManagementPolicyAssignments", get(policies::list_assignments))
        .route("/v1.0/policies/roleManagementPolicyAssignments/{id}", get(policies::get_assignment))
        .route("/v1.0/roleManagement/directory/roleAssignmentApprovals/{id}", get(approvals::get))
        .route("/v1.0/roleManagement/directory/roleAssignmentApprovals/{id}/steps", get(approvals::steps))
        .route(
            "/v1.0/roleManagement/directory/roleAssignmentApprovals/{id}/steps/{step}",
            get(approvals::step).patch(approvals::decide),
        )
        .route("/v1.0/openpim/accessCheck", get(access_check::check))
        .route("/v1.0/openpim/accessHistory", get(access_history::list))
        .route("/v1.0/auditLogs/directoryAudits", get(audit::list))
        .route("/v1.0/auditLogs/directoryAudits/{id}", get(audit::get))
        .route("/v1.0/openpim/auditLogs/directoryAudits/csv", get(audit::csv))
        .route("/v1.0/openpim/auditChain/checkpoints", get(audit_chain::checkpoints))
        .route("/v1.0/openpim/auditChain/export", get(audit_chain::export))
        .route("/v1.0/openpim/auditChain/keys", get(audit_chain::keys))
        .route("/openpim/azure/subscriptions/{id}", put(azure_subscriptions::put))
        .governance()
        .alerts()
}

/// Parses an object id from a path segment: Graph answers a malformed id with 400.
pub(crate) fn object_id(raw: &str) -> ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).map_err(|_| ApiError::bad_request(format!("Invalid object identifier '{raw}'.")))
}

/// Graph's answer for any route it does not know.
pub async fn not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "UnknownError",
        "The requested resource or API version does not exist.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ok() -> &'static str {
        "ok"
    }

    #[test]
    fn v1_routes_are_served_under_beta_and_beta_routes_only_there() {
        let routes = GraphRoutes::new()
            .route("/v1.0/users/{id}", get(ok))
            .route("/openpim/azure/subscriptions/{id}", put(ok))
            .beta_route("/beta/privilegedAccess/{provider}", get(ok));
        assert_eq!(
            routes.patterns,
            [
                "/v1.0/users/{id}",
                "/beta/users/{id}",
                "/openpim/azure/subscriptions/{id}",
                "/beta/privilegedAccess/{provider}"
            ]
        );
    }

    #[test]
    fn the_real_table_mirrors_every_v1_pattern_under_beta() {
        let patterns = graph_routes().patterns;
        let v1: Vec<&String> = patterns.iter().filter(|p| p.starts_with(V1_PREFIX)).collect();
        assert!(v1.len() > 40, "{v1:?}");
        for p in v1 {
            let beta = p.replacen(V1_PREFIX, BETA_PREFIX, 1);
            assert!(patterns.contains(&beta), "{p} has no /beta twin");
        }
    }

    #[test]
    #[should_panic(expected = "starts with /beta/")]
    fn a_beta_route_must_be_a_beta_path() {
        let _ = GraphRoutes::new().beta_route("/v1.0/privilegedAccess", get(ok));
    }
}
