//! The beta `governance*` entities (`/beta/privilegedAccess/...`) in Graph's shapes: rendering
//! from the engine's schedules, requests and policies, and reading the bodies clients send. The
//! mappings themselves are core's (`openpim_core::governance`).

use super::body::Body;
use super::to_json;
use crate::error::{ApiError, ApiResult};
use openpim_core::duration;
use openpim_core::governance::request::{self as gov, AssignmentState, Decision, GovernanceSchedule, RequestType};
use openpim_core::governance::settings::{self, ApproverNames, RuleSetting, SettingList, SettingsPatch};
use openpim_core::roles::RoleDefinition;
use openpim_core::schedule::{RequestSchedule, ScheduleRequest};
use openpim_core::{Instant, ObjectId};
use openpim_proto::governance as proto;
use openpim_store::directory::DirectoryObject;
use openpim_store::policies::StoredPolicy;
use openpim_store::schedules::HeldSchedule;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

pub const RESOURCE_TYPE: &str = "microsoft.graph.governanceResource";
pub const ROLE_DEFINITION_TYPE: &str = "microsoft.graph.governanceRoleDefinition";
pub const ROLE_SETTING_TYPE: &str = "microsoft.graph.governanceRoleSetting";
pub const ROLE_ASSIGNMENT_TYPE: &str = "microsoft.graph.governanceRoleAssignment";
pub const REQUEST_TYPE: &str = "microsoft.graph.governanceRoleAssignmentRequest";

/// The one aadRoles resource: the tenant (Microsoft's service names it by the tenant id).
pub fn tenant_resource(tenant: ObjectId) -> proto::GovernanceResource {
    proto::GovernanceResource {
        id: tenant,
        external_id: tenant.to_string(),
        kind: "tenant".into(),
        display_name: "Microsoft Entra ID".into(),
        status: "Active".into(),
        registered_date_time: None,
        registered_root: None,
        parent: None,
    }
}

/// A directory role as a governanceRoleDefinition of the tenant resource: its id is the v1.0
/// unifiedRoleDefinition id, so both APIs name a role the same way.
pub fn role_definition(resource_id: ObjectId, r: &RoleDefinition) -> proto::GovernanceRoleDefinition {
    proto::GovernanceRoleDefinition {
        id: r.id,
        resource_id,
        external_id: r.id.to_string(),
        template_id: r.template_id.to_string(),
        display_name: r.display_name.clone(),
        resource: None,
        role_setting: None,
    }
}

/// An Azure role as a governanceRoleDefinition of the azureResources resource at `scope`: its id
/// is the role GUID, `externalId` the role's ARM id read at the scope.
pub fn azure_role_definition(
    resource_id: ObjectId,
    scope: &openpim_core::scope::ArmScope,
    r: &RoleDefinition,
) -> proto::GovernanceRoleDefinition {
    proto::GovernanceRoleDefinition {
        external_id: openpim_core::governance::ids::azure_role_definition_external_id(scope, r.id),
        template_id: r.id.to_string(),
        ..role_definition(resource_id, r)
    }
}

fn rule_settings(list: Vec<RuleSetting>) -> Vec<proto::GovernanceRuleSetting> {
    list.into_iter()
        .map(|r| proto::GovernanceRuleSetting { rule_identifier: r.rule_identifier, setting: r.setting })
        .collect()
}

/// What a governanceRoleSetting shows of a policy, of either provider: a directory role's
/// policy (`StoredPolicy`, id the v1.0 policy id) or an Azure role's at an ARM scope
/// (`ArmPolicy`, id its ARM policy name).
pub struct PolicyView<'a> {
    pub id: String,
    pub role_definition_id: ObjectId,
    pub rules: &'a [openpim_core::policy::rules::PolicyRule],
    pub last_modified: Option<Instant>,
    pub last_modified_by: Option<&'a str>,
}

impl<'a> From<&'a StoredPolicy> for PolicyView<'a> {
    fn from(p: &'a StoredPolicy) -> Self {
        PolicyView {
            id: p.id.clone(),
            role_definition_id: p.role_definition_id,
            rules: &p.rules,
            last_modified: p.last_modified,
            last_modified_by: p.last_modified_by.as_ref().map(|(_, name)| name.as_str()),
        }
    }
}

impl<'a> From<&'a crate::azure::policies::ArmPolicy> for PolicyView<'a> {
    fn from(p: &'a crate::azure::policies::ArmPolicy) -> Self {
        PolicyView {
            id: p.id.to_string(),
            role_definition_id: p.role.id,
            rules: &p.rules,
            last_modified: p.last_modified,
            last_modified_by: p.last_modified_by.as_ref().map(|(_, name)| name.as_str()),
        }
    }
}

/// A role's policy as a governanceRoleSetting.
pub fn role_setting(
    resource_id: ObjectId,
    p: &PolicyView<'_>,
    names: &dyn ApproverNames,
) -> proto::GovernanceRoleSetting {
    let list = |l| rule_settings(settings::render(p.rules, l, names));
    proto::GovernanceRoleSetting {
        id: p.id.clone(),
        resource_id,
        role_definition_id: p.role_definition_id,
        // Nobody changed it: the defaults.
        is_default: p.last_modified.is_none(),
        last_updated_date_time: p.last_modified,
        last_updated_by: p.last_modified_by.map(str::to_string),
        admin_eligible_settings: list(SettingList::AdminEligible),
        admin_member_settings: list(SettingList::AdminMember),
        user_eligible_settings: list(SettingList::UserEligible),
        user_member_settings: list(SettingList::UserMember),
        resource: None,
        role_definition: None,
    }
}

/// An eligibility or assignment schedule as a governanceRoleAssignment (its id is the v1.0
/// schedule's id). An activation links to the eligibility it was activated from.
pub fn role_assignment(resource_id: ObjectId, h: &HeldSchedule) -> proto::GovernanceRoleAssignment {
    let s = &h.schedule;
    proto::GovernanceRoleAssignment {
        id: h.id.clone(),
        resource_id,
        role_definition_id: s.role_definition_id,
        subject_id: h.principal_id,
        linked_eligible_role_assignment_id: s.activated_using,
        external_id: None,
        start_date_time: Some(s.start),
        end_date_time: s.end,
        assignment_state: AssignmentState::of(s.kind).to_string(),
        member_type: h.member_type.to_string(),
        status: s.status.to_string(),
        subject: None,
        role_definition: None,
        resource: None,
        linked_eligible_role_assignment: None,
    }
}

fn schedule(s: &RequestSchedule) -> proto::GovernanceSchedule {
    let g = GovernanceSchedule::from_request_schedule(s);
    proto::GovernanceSchedule {
        kind: "Once".into(),
        start_date_time: g.start,
        end_date_time: g.end,
        duration: g.duration.map(duration::format),
    }
}

/// A schedule request (made through any surface) as a governanceRoleAssignmentRequest.
/// `linked_eligible` is the eligibility an activation was made from, when known.
pub fn request(
    resource_id: ObjectId,
    r: &ScheduleRequest,
    linked_eligible: Option<ObjectId>,
) -> proto::GovernanceRoleAssignmentRequest {
    let (ty, state) = gov::from_action(r.action, r.kind);
    let status = gov::status(r.action, r.status);
    proto::GovernanceRoleAssignmentRequest {
        id: r.id,
        resource_id,
        role_definition_id: r.role_definition_id,
        subject_id: r.principal_id,
        linked_eligible_role_assignment_id: linked_eligible,
        kind: ty.to_string(),
        assignment_state: state.to_string(),
        requested_date_time: r.created,
        reason: r.justification.clone(),
        schedule: r.schedule.as_ref().filter(|_| r.action.to_string() != "adminRemove").map(schedule),
        status: proto::GovernanceRoleAssignmentRequestStatus {
            status: status.status.to_string(),
            sub_status: status.sub_status.to_string(),
            status_details: status
                .details
                .into_iter()
                .map(|(key, value)| proto::KeyValue { key: key.into(), value: value.into() })
                .collect(),
        },
        subject: None,
        role_definition: None,
        resource: None,
    }
}

/// A principal as a governanceSubject.
pub fn subject(o: &DirectoryObject) -> proto::GovernanceSubject {
    match o {
        DirectoryObject::User(u) => proto::GovernanceSubject {
            id: u.id,
            kind: "User".into(),
            display_name: Some(u.display_name.clone()),
            principal_name: Some(u.user_principal_name.clone()),
            email: Some(u.mail.clone().unwrap_or_else(|| u.user_principal_name.clone())),
        },
        DirectoryObject::Group(g) => proto::GovernanceSubject {
            id: g.id,
            kind: "Group".into(),
            display_name: Some(g.display_name.clone()),
            principal_name: None,
            email: Some(String::new()),
        },
        DirectoryObject::ServicePrincipal(sp) => proto::GovernanceSubject {
            id: sp.id,
            kind: "ServicePrincipal".into(),
            display_name: Some(sp.display_name.clone()),
            principal_name: Some(sp.app_id.to_string()),
            email: Some(String::new()),
        },
    }
}

pub fn json<T: serde::Serialize>(entity: &T) -> Value {
    to_json(entity)
}

/// A governanceRoleAssignmentRequest body as sent.
pub struct NewBetaRequest {
    pub resource_id: ObjectId,
    pub role_definition_id: ObjectId,
    pub subject_id: ObjectId,
    pub ty: RequestType,
    pub state: AssignmentState,
    pub reason: Option<String>,
    pub schedule: Option<RequestSchedule>,
    pub linked_eligible: Option<ObjectId>,
}

fn required<T>(v: Option<T>, name: &str) -> ApiResult<T> {
    v.ok_or_else(|| ApiError::bad_request(format!("Property '{name}' is required.")))
}

fn parse_time(key: &str, raw: &str) -> ApiResult<Instant> {
    time::OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|_| ApiError::bad_request(format!("Invalid value for '{key}': '{raw}' is not an RFC 3339 date-time.")))
}

fn read_schedule(v: Value) -> ApiResult<Option<RequestSchedule>> {
    let map = match v {
        Value::Null => return Ok(None),
        Value::Object(m) => m,
        _ => return Err(ApiError::bad_request("schedule must be an object.")),
    };
    let mut b = Body::from_map(map, "microsoft.graph.governanceSchedule");
    gov::check_schedule_type(b.string("type")?.as_deref())?;
    let start = b.string("startDateTime")?.map(|s| parse_time("startDateTime", &s)).transpose()?;
    let end = b.string("endDateTime")?.map(|s| parse_time("endDateTime", &s)).transpose()?;
    let duration = match b.string("duration")? {
        None => None,
        Some(d) => Some(duration::parse(&d).ok_or_else(|| {
            ApiError::bad_request(format!("'{d}' is not a valid ISO 8601 duration (for example PT9H)."))
        })?),
    };
    b.finish()?;
    Ok(Some(GovernanceSchedule { start, end, duration }.to_request_schedule()?))
}

fn guid_or_empty(b: &mut Body, key: &str) -> ApiResult<Option<ObjectId>> {
    // Microsoft's own responses carry `"linkedEligibleRoleAssignmentId": ""`; clients resend it.
    match b.string(key)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => ObjectId::parse_str(&s)
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("'{s}' is not a valid '{key}'."))),
    }
}

fn guid(b: &mut Body, key: &str) -> ApiResult<ObjectId> {
    required(guid_or_empty(b, key)?, key)
}

/// Reads a `POST .../roleAssignmentRequests` body.
pub fn read_new_request(mut b: Body) -> ApiResult<NewBetaRequest> {
    let resource_id = guid(&mut b, "resourceId")?;
    let role_definition_id = guid(&mut b, "roleDefinitionId")?;
    let subject_id = guid(&mut b, "subjectId")?;
    let ty_raw = required(b.string("type")?, "type")?;
    let ty = ty_raw
        .parse::<RequestType>()
        .map_err(|_| ApiError::bad_request(format!("'{ty_raw}' is not a valid value for property 'type'.")))?;
    let state_raw = required(b.string("assignmentState")?, "assignmentState")?;
    let state = state_raw.parse::<AssignmentState>().map_err(|_| {
        ApiError::bad_request(format!("'{state_raw}' is not a valid assignmentState: use Eligible or Active."))
    })?;
    let reason = b.string("reason")?;
    let schedule = match b.take_value("schedule") {
        None => None,
        Some(v) => read_schedule(v)?,
    };
    if schedule.is_none() && ty.needs_schedule() {
        return Err(ApiError::bad_request(format!("A schedule is required for type '{}'.", ty.as_str())));
    }
    let linked_eligible = guid_or_empty(&mut b, "linkedEligibleRoleAssignmentId")?;
    // Read-only properties a client echoes back from a response.
    for echoed in ["id", "requestedDateTime", "status"] {
        b.ignore(echoed);
    }
    b.finish()?;
    Ok(NewBetaRequest { resource_id, role_definition_id, subject_id, ty, state, reason, schedule, linked_eligible })
}

/// An `updateRequest` body: an approver's decision.
pub struct UpdateDecision {
    pub decision: Decision,
    pub reason: String,
}

pub fn read_update_request(mut b: Body) -> ApiResult<UpdateDecision> {
    let raw = required(b.string("decision")?, "decision")?;
    let decision = raw.parse::<Decision>().map_err(|_| {
        ApiError::bad_request(format!("'{raw}' is not a valid decision: use AdminApproved or AdminDenied."))
    })?;
    let reason = required(b.string("reason")?, "reason")?;
    // The approved window is the one requested (the engine grants what was asked and approved);
    // a schedule or state sent with the decision is checked for shape only.
    if let Some(v) = b.take_value("schedule") {
        read_schedule(v)?;
    }
    if let Some(state) = b.string("assignmentState")? {
        state
            .parse::<AssignmentState>()
            .map_err(|_| ApiError::bad_request(format!("'{state}' is not a valid assignmentState.")))?;
    }
    b.finish()?;
    Ok(UpdateDecision { decision, reason })
}

/// Reads a roleSetting PATCH: the lists it carries.
pub fn read_setting_patch(mut b: Body) -> ApiResult<SettingsPatch> {
    let mut patch = Vec::new();
    for list in SettingList::ALL {
        let entries = b.objects(list.property(), "microsoft.graph.governanceRuleSetting", |e| {
            let rule_identifier = required(e.string("ruleIdentifier")?, "ruleIdentifier")?;
            let setting = required(e.string("setting")?, "setting")?;
            Ok(RuleSetting { rule_identifier, setting })
        })?;
        if let Some(entries) = entries {
            patch.push((list, entries));
        }
    }
    for read_only in ["id", "resourceId", "roleDefinitionId", "isDefault", "lastUpdatedDateTime", "lastUpdatedBy"] {
        b.ignore(read_only);
    }
    b.finish()?;
    Ok(patch)
}

/// Reads `resources/register`'s body.
pub fn read_register(mut b: Body) -> ApiResult<String> {
    let external_id = required(b.string("externalId")?, "externalId")?;
    b.finish()?;
    Ok(external_id)
}
