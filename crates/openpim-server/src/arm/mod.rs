//! Azure Resource Manager's wire surface (issue #15): `/subscriptions...` and `/providers/...`.
//!
//! ARM paths carry the scope in the middle (`{scope}/providers/{Namespace}/{type}/{name}`), which
//! axum's route table cannot express, so one dispatcher serves them all: it authenticates the
//! caller (ARM audience), parses the path into an [`ArmPath`], finds the [`Area`] registered for
//! its namespace and type (ignoring case), checks the `api-version` against the versions that
//! area serves, reads the body, and calls the area's handler with an [`ArmRequest`]. Every
//! answer, success or error, carries ARM's `x-ms-request-id` and `x-ms-correlation-request-id`.
//!
//! An area is one file (`management_groups.rs`, `role_assignments.rs`, ...): it parses, obtains
//! its proof through `crate::azure` (the service layer, which owns the write and its audit
//! record), calls one operation and renders an `openpim_proto::arm` type.

pub mod api_version;
pub mod body;
pub mod caller;
pub mod elevate_access;
pub mod eligible_child_resources;
pub mod envelope;
pub mod error;
pub mod path;
pub mod permissions;
pub mod query;
pub mod role_assignment_approvals;
pub mod role_assignments;
pub mod role_definitions;
pub mod role_management_alerts;
pub mod role_management_policies;
pub mod role_management_policy_assignments;
pub mod schedule_requests;
pub mod schedules;

mod management_groups;
mod resource_groups;
mod resources;
mod subscriptions;

pub use api_version::ApiVersion;
pub use body::ArmBody;
pub use caller::ArmCaller;
pub use envelope::Paging;
pub use error::{ArmError, ArmResult};
pub use path::{ArmParent, ArmPath};
pub use query::ArmQuery;
pub use subscriptions::render as render_subscription;

use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

/// What an area handler returns.
pub type AreaFuture = Pin<Box<dyn Future<Output = ArmResult<Response>> + Send>>;

/// One ARM API area: the resource type it serves and the api-versions it accepts.
pub struct Area {
    /// Provider namespace (`Microsoft.Authorization`), or `*` for any namespace (generic
    /// resources; matched last).
    pub namespace: &'static str,
    /// The outermost resource type after the namespace (`roleAssignments`), or `*` for any.
    pub resource_type: &'static str,
    /// The api-versions this area serves (the first is the one its responses were modelled on).
    pub api_versions: &'static [&'static str],
    /// The handler; a non-capturing closure `|s, r| Box::pin(my_area::handle(s, r))`.
    pub handle: fn(AppState, ArmRequest) -> AreaFuture,
}

impl Area {
    fn serves(&self, path: &ArmPath) -> bool {
        (self.namespace == "*" || path.in_namespace(self.namespace))
            && (self.resource_type == "*" || path.resource_type().eq_ignore_ascii_case(self.resource_type))
    }
}

/// Every ARM area, matched in order (so wildcards go last). Each helper adds its areas in its
/// own block, so parallel branches merge without touching each other's lines.
fn areas() -> &'static [Area] {
    static AREAS: std::sync::OnceLock<Vec<Area>> = std::sync::OnceLock::new();
    AREAS.get_or_init(|| {
        vec![
            // -- armcore: the resource hierarchy --
            Area {
                namespace: "Microsoft.Management",
                resource_type: "managementGroups",
                api_versions: management_groups::API_VERSIONS,
                handle: |s, r| Box::pin(management_groups::handle(s, r)),
            },
            Area {
                namespace: path::RESOURCES_NAMESPACE,
                resource_type: "subscriptions",
                api_versions: subscriptions::API_VERSIONS,
                handle: |s, r| Box::pin(subscriptions::handle(s, r)),
            },
            Area {
                namespace: path::RESOURCES_NAMESPACE,
                resource_type: "resourceGroups",
                api_versions: resource_groups::API_VERSIONS,
                handle: |s, r| Box::pin(resource_groups::handle(s, r)),
            },
            Area {
                namespace: path::RESOURCES_NAMESPACE,
                resource_type: "resources",
                api_versions: resource_groups::API_VERSIONS,
                handle: |s, r| Box::pin(resources::handle_list(s, r)),
            },
            // -- armroles: role definitions --
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "roleDefinitions",
                api_versions: role_definitions::API_VERSIONS,
                handle: |s, r| Box::pin(role_definitions::handle(s, r)),
            },
            // -- armassign: role assignments, permissions, elevateAccess --
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "roleAssignments",
                api_versions: role_assignments::API_VERSIONS,
                handle: |s, r| Box::pin(role_assignments::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "permissions",
                api_versions: permissions::API_VERSIONS,
                handle: |s, r| Box::pin(permissions::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "elevateAccess",
                api_versions: elevate_access::API_VERSIONS,
                handle: |s, r| Box::pin(elevate_access::handle(s, r)),
            },
            // -- azpolicy: role settings per (role, scope) --
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "roleManagementPolicies",
                api_versions: role_management_policies::API_VERSIONS,
                handle: |s, r| Box::pin(role_management_policies::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "roleManagementPolicyAssignments",
                api_versions: role_management_policy_assignments::API_VERSIONS,
                handle: |s, r| Box::pin(role_management_policy_assignments::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "roleAssignmentApprovals",
                api_versions: role_assignment_approvals::API_VERSIONS,
                handle: |s, r| Box::pin(role_assignment_approvals::handle(s, r)),
            },
            // -- azpim: PIM for Azure resources (schedule requests, schedules, instances) --
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "roleEligibilityScheduleRequests",
                api_versions: schedule_requests::API_VERSIONS,
                handle: |s, r| Box::pin(schedule_requests::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "roleAssignmentScheduleRequests",
                api_versions: schedule_requests::API_VERSIONS,
                handle: |s, r| Box::pin(schedule_requests::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "roleEligibilitySchedules",
                api_versions: schedules::API_VERSIONS,
                handle: |s, r| Box::pin(schedules::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "roleEligibilityScheduleInstances",
                api_versions: schedules::API_VERSIONS,
                handle: |s, r| Box::pin(schedules::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "roleAssignmentSchedules",
                api_versions: schedules::API_VERSIONS,
                handle: |s, r| Box::pin(schedules::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "roleAssignmentScheduleInstances",
                api_versions: schedules::API_VERSIONS,
                handle: |s, r| Box::pin(schedules::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: "eligibleChildResources",
                api_versions: eligible_child_resources::API_VERSIONS,
                handle: |s, r| Box::pin(eligible_child_resources::handle(s, r)),
            },
            // -- alerts-azure: PIM security alerts at Azure scopes --
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: role_management_alerts::ALERTS,
                api_versions: role_management_alerts::API_VERSIONS,
                handle: |s, r| Box::pin(role_management_alerts::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: role_management_alerts::CONFIGURATIONS,
                api_versions: role_management_alerts::API_VERSIONS,
                handle: |s, r| Box::pin(role_management_alerts::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: role_management_alerts::DEFINITIONS,
                api_versions: role_management_alerts::API_VERSIONS,
                handle: |s, r| Box::pin(role_management_alerts::handle(s, r)),
            },
            Area {
                namespace: "Microsoft.Authorization",
                resource_type: role_management_alerts::OPERATIONS,
                api_versions: role_management_alerts::API_VERSIONS,
                handle: |s, r| Box::pin(role_management_alerts::handle(s, r)),
            },
            // -- armcore: generic resources (any other namespace; keep last) --
            Area {
                namespace: "*",
                resource_type: "*",
                api_versions: resources::API_VERSIONS,
                handle: |s, r| Box::pin(resources::handle(s, r)),
            },
        ]
    })
}

/// The union of every area's api-versions: what a next-link request may carry.
fn all_api_versions() -> &'static [&'static str] {
    static ALL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<&'static str> =
            areas().iter().flat_map(|a| a.api_versions.iter().copied()).filter(|v| *v != api_version::ANY).collect();
        all.sort_unstable();
        all.dedup();
        all
    })
}

/// A request an area serves: authenticated, its path parsed, its api-version checked.
pub struct ArmRequest {
    pub method: Method,
    pub path: ArmPath,
    pub query: ArmQuery,
    pub api_version: ApiVersion,
    pub caller: ArmCaller,
    pub headers: HeaderMap,
    /// The raw body (at most `MAX_BODY_BYTES`); read it with [`ArmRequest::json_body`].
    pub body: Bytes,
}

impl ArmRequest {
    /// The body as a JSON object read as the ARM model `type_name`.
    pub fn json_body(&self, type_name: &'static str) -> ArmResult<ArmBody> {
        ArmBody::parse(&self.body, type_name)
    }

    /// The page of a list request (`$skiptoken`).
    pub fn paging(&self) -> ArmResult<Paging> {
        Paging::of(self)
    }
}

/// True for paths ARM serves: the first segment is `subscriptions` or `providers` (any case).
pub fn is_arm_path(path: &str) -> bool {
    let first = path.split('/').find(|s| !s.is_empty()).unwrap_or("");
    first.eq_ignore_ascii_case("subscriptions") || first.eq_ignore_ascii_case("providers")
}

/// Serves one ARM request (mounted as the API router's fallback for [`is_arm_path`] paths).
/// Its ARM headers (`x-ms-request-id`, ...) are added by `transport::request_ids`, as for any
/// response to an ARM path.
pub async fn dispatch(State(state): State<AppState>, req: Request) -> Response {
    serve(state, req).await.unwrap_or_else(IntoResponse::into_response)
}

async fn serve(state: AppState, req: Request) -> ArmResult<Response> {
    let (parts, body) = req.into_parts();
    let caller = ArmCaller::authenticate(&parts, &state).await?;
    let path = ArmPath::parse(parts.uri.path())?;
    let query = ArmQuery::parse(parts.uri.query().unwrap_or(""));
    let Some(area) = areas().iter().find(|a| a.serves(&path)) else {
        return Err(ArmError::invalid_resource_type(&path.types.join("/"), &path.namespace, api_version::raw(&query)));
    };
    crate::transport::note_route(path.route_pattern());
    let api_version = api_version::require(&query, area.api_versions, all_api_versions())?;
    let body = axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await.map_err(|_| {
        ArmError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("The request content is larger than {} bytes.", crate::MAX_BODY_BYTES),
        )
    })?;
    let request = ArmRequest { method: parts.method, path, query, api_version, caller, headers: parts.headers, body };
    (area.handle)(state, request).await
}

/// A JSON answer with `status`.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    (status, axum::Json(value)).into_response()
}

/// An empty answer with `status` (204 for a delete of nothing, 200 for HEAD).
pub fn empty(status: StatusCode) -> Response {
    status.into_response()
}
