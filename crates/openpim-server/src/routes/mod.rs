//! The Graph v1.0 routes. Each handler parses, authorises, calls one core operation, persists
//! through the one write path, and renders.

mod access_check;
mod approvals;
mod audit;
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
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;

/// The Graph routes and their path patterns: the patterns teach [`crate::normalize`] which
/// segments are fixed names (matched ignoring case) and which are keys.
pub struct GraphRoutes {
    pub router: Router<AppState>,
    pub patterns: Vec<&'static str>,
}

impl GraphRoutes {
    fn new() -> Self {
        Self { router: Router::new(), patterns: Vec::new() }
    }

    /// Like [`Router::route`], recording the pattern.
    fn route(mut self, path: &'static str, method_router: MethodRouter<AppState>) -> Self {
        self.patterns.push(path);
        self.router = self.router.route(path, method_router);
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
        .route("/v1.0/auditLogs/directoryAudits", get(audit::list))
        .route("/v1.0/auditLogs/directoryAudits/{id}", get(audit::get))
        .route("/v1.0/openpim/auditLogs/directoryAudits/csv", get(audit::csv))
        .route("/openpim/azure/subscriptions/{id}", put(azure_subscriptions::put))
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
