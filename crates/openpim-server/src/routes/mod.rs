//! The Graph v1.0 routes. Each handler parses, authorises, calls one core operation, persists
//! through the one write path, and renders.

mod access_check;
mod admin_units;
mod applications;
mod approvals;
mod audit;
mod groups;
mod ops;
mod policies;
mod role_assignments;
mod role_definitions;
mod schedules;
mod service_principals;
mod users;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::routing::{delete, get, post};
use axum::Router;

pub fn graph_routes() -> Router<AppState> {
    Router::new()
        .route("/v1.0/me", get(users::me))
        .route("/v1.0/me/memberOf", get(users::my_member_of))
        .route("/v1.0/users", get(users::list).post(users::create))
        .route("/v1.0/users/$count", get(users::count))
        .route("/v1.0/users/{id}", get(users::get).patch(users::update).delete(users::remove))
        .route("/v1.0/users/{id}/memberOf", get(users::member_of))
        .route("/v1.0/groups", get(groups::list).post(groups::create))
        .route("/v1.0/groups/$count", get(groups::count))
        .route("/v1.0/groups/{id}", get(groups::get).patch(groups::update).delete(groups::remove))
        .route("/v1.0/groups/{id}/members", get(groups::members))
        .route("/v1.0/groups/{id}/members/$ref", post(groups::add_member))
        .route("/v1.0/groups/{id}/members/{member}/$ref", delete(groups::remove_member))
        .route("/v1.0/applications", get(applications::list).post(applications::create))
        .route("/v1.0/applications/$count", get(applications::count))
        .route(
            "/v1.0/applications/{id}",
            get(applications::get).patch(applications::update).delete(applications::remove),
        )
        .route("/v1.0/servicePrincipals", get(service_principals::list).post(service_principals::create))
        .route("/v1.0/servicePrincipals/$count", get(service_principals::count))
        .route(
            "/v1.0/servicePrincipals/{id}",
            get(service_principals::get).patch(service_principals::update).delete(service_principals::remove),
        )
        .route("/v1.0/directory/administrativeUnits", get(admin_units::list).post(admin_units::create))
        .route("/v1.0/directory/administrativeUnits/$count", get(admin_units::count))
        .route(
            "/v1.0/directory/administrativeUnits/{id}",
            get(admin_units::get).patch(admin_units::update).delete(admin_units::remove),
        )
        .route("/v1.0/directory/administrativeUnits/{id}/members", get(admin_units::members))
        .route("/v1.0/directory/administrativeUnits/{id}/members/$ref", post(admin_units::add_member))
        .route("/v1.0/directory/administrativeUnits/{id}/members/{member}/$ref", delete(admin_units::remove_member))
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
