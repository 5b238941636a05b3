//! `{scope}/providers/Microsoft.Authorization/roleManagementPolicies[/{name}]`: list (with
//! `$filter=roleDefinitionId eq '...'`), get, PATCH (rules merged by id) and DELETE (back to
//! Azure's defaults) of Azure role settings. The operations are `crate::azure::policies`; this
//! file reads requests and renders ARM's shapes (also used by the policy assignments area).

use super::{json, ArmBody, ArmError, ArmRequest, ArmResult};
use crate::azure::{self, policies as service};
use crate::state::{AppState, Audit};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::policy::rules::{
    ApprovalMode, ApprovalSettings, ApprovalStage, Approver, Enablement, NotificationLevel, PolicyRule, RecipientType,
    RuleKind, RuleTarget,
};
use openpim_core::policy::{Caller, Level};
use openpim_core::scope::ArmScope;
use openpim_core::ObjectId;
use openpim_proto::arm::policies as proto;

/// The api-versions of role management policies: 2020-10-01 (the SDK's and the model here) and
/// the previews carrying the same shape.
pub const API_VERSIONS: &[&str] = &["2020-10-01", "2020-10-01-preview", "2022-04-01-preview"];

pub async fn handle(s: AppState, req: ArmRequest) -> ArmResult<Response> {
    let scope = policy_scope(&req)?;
    match (&req.method, req.path.name()) {
        (&Method::GET, None) => list(&s, &req, &scope).await,
        (&Method::GET, Some(name)) => {
            let p = service::get(&s, &req.caller, &scope, name).await?;
            let info = scope_info(&s, &scope).await?;
            Ok(json(StatusCode::OK, &render(&p, &info)))
        }
        (&Method::PATCH, Some(name)) => patch(&s, &req, &scope, name).await,
        (&Method::DELETE, Some(name)) => delete(&s, &req, &scope, name).await,
        (method, _) => Err(ArmError::method_not_allowed(method)),
    }
}

/// The scope of a policy request: role settings live at a management group, subscription,
/// resource group or resource, never at the root `/` (400 `InvalidScope`).
pub fn policy_scope(req: &ArmRequest) -> ArmResult<ArmScope> {
    if req.path.types.len() != 1 {
        return Err(ArmError::invalid_resource_type(
            &req.path.types.join("/"),
            &req.path.namespace,
            Some(req.api_version.as_str()),
        ));
    }
    req.path.parent.scope().cloned().ok_or_else(|| {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidScope",
            "Role settings are kept per management group, subscription, resource group or resource, not at '/'.",
        )
    })
}

async fn list(s: &AppState, req: &ArmRequest, scope: &ArmScope) -> ArmResult<Response> {
    let role = role_filter(req.query.filter())?;
    let roles = service::list_roles(s, &req.caller, scope, role, service::READ).await?;
    // Page the roles first: each policy renders 34 rules, and a scope has a policy per role.
    let page = req.paging()?.with_size(PAGE_SIZE).page(roles, req, s);
    let info = scope_info(s, scope).await?;
    let policies = service::policies_of(s, scope, page.value).await?;
    let value = policies.iter().map(|p| render(p, &info)).collect();
    Ok(json(StatusCode::OK, &openpim_proto::arm::ArmList { value, next_link: page.next_link }))
}

/// Policies per page (each is ~10 KB of rules).
pub const PAGE_SIZE: usize = 50;

/// `$filter=roleDefinitionId eq '{id}'` (the full id or the GUID; the docs and clients send it
/// although the 2020-10-01 spec defines no filter), matched on the GUID. Any other filter is
/// refused (400 `InvalidFilter`) rather than ignored.
pub fn role_filter(raw: Option<&str>) -> ArmResult<Option<ObjectId>> {
    let Some(raw) = raw else { return Ok(None) };
    let invalid = || {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidFilter",
            format!("The $filter '{raw}' is not supported: use roleDefinitionId eq '{{role definition id}}'."),
        )
    };
    let text = raw.trim();
    let (property, rest) = text.split_once(char::is_whitespace).ok_or_else(invalid)?;
    if !property.eq_ignore_ascii_case("roleDefinitionId") {
        return Err(invalid());
    }
    let rest = rest.trim_start();
    let (op, value) = rest.split_once(char::is_whitespace).ok_or_else(invalid)?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(invalid());
    }
    let value = value.trim();
    let inner = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).ok_or_else(invalid)?;
    let guid = inner.rsplit('/').next().unwrap_or("");
    uuid::Uuid::try_parse(guid).map(Some).map_err(|_| invalid())
}

async fn patch(s: &AppState, req: &ArmRequest, scope: &ArmScope, name: &str) -> ArmResult<Response> {
    let attempt = Audit::new(azure::AUDIT_CATEGORY, "Update role setting in PIM", "Update")
        .detail(openpim_core::audit::detail::POLICY_ID, name)
        .detail("scope", scope.as_str());
    let granted = azure::authorize(s, &req.caller, service::WRITE, scope, &attempt).await?;
    azure::hierarchy::exists(s, scope).await?;
    let p = service::find(s, scope, name).await?;
    let incoming = match read_patch(req, &p.rules) {
        Ok(rules) => rules,
        Err(e) => {
            let record = service::change_audit(&p).record(
                &req.caller,
                s.now(),
                openpim_core::audit::AuditResult::Failure,
                &e.message,
            );
            s.record_audit(&record).await;
            return Err(e);
        }
    };
    let updated = service::update(s, &granted, &req.caller, &p, incoming, rule_json).await?;
    let info = scope_info(s, scope).await?;
    Ok(json(StatusCode::OK, &render(&updated, &info)))
}

async fn delete(s: &AppState, req: &ArmRequest, scope: &ArmScope, name: &str) -> ArmResult<Response> {
    let attempt = Audit::new(azure::AUDIT_CATEGORY, "Update role setting in PIM", "Delete")
        .detail(openpim_core::audit::detail::POLICY_ID, name)
        .detail("scope", scope.as_str());
    let granted = azure::authorize(s, &req.caller, service::WRITE, scope, &attempt).await?;
    azure::hierarchy::exists(s, scope).await?;
    let p = match service::find(s, scope, name).await {
        Ok(p) => p,
        Err(e) if e.status == StatusCode::NOT_FOUND => return Ok(super::empty(StatusCode::NO_CONTENT)),
        Err(e) => return Err(e),
    };
    if service::reset(s, &granted, &req.caller, &p).await? {
        let p = service::find(s, scope, name).await?;
        let info = scope_info(s, scope).await?;
        Ok(json(StatusCode::OK, &render(&p, &info)))
    } else {
        Ok(super::empty(StatusCode::NO_CONTENT))
    }
}

/// `{"properties": {"rules": [...]}}`; the read-only properties a client sends back from a GET
/// (`scope`, `effectiveRules`, `policyProperties`, ...) are ignored, as ARM does.
fn read_patch(req: &ArmRequest, current: &[PolicyRule]) -> ArmResult<Vec<PolicyRule>> {
    let mut body = req.json_body("RoleManagementPolicy")?;
    for key in ["id", "name", "type"] {
        body.ignore(key);
    }
    let mut props =
        body.object("properties", "RoleManagementPolicyProperties")?.ok_or_else(|| body.missing("properties"))?;
    body.finish()?;
    for key in [
        "scope",
        "displayName",
        "description",
        "isOrganizationDefault",
        "lastModifiedBy",
        "lastModifiedDateTime",
        "effectiveRules",
        "policyProperties",
    ] {
        props.ignore(key);
    }
    let rules = props.objects("rules", "RoleManagementPolicyRule")?.ok_or_else(|| props.missing("rules"))?;
    props.finish()?;
    rules.into_iter().map(|r| read_rule(r, current)).collect()
}

fn invalid_rule(message: impl Into<String>) -> ArmError {
    ArmError::new(StatusCode::BAD_REQUEST, "InvalidPolicyRule", message)
}

/// One rule of a PATCH, read over the policy's current rule of the same id: properties left out
/// keep their current values. Core validates the result (`merge_update`).
fn read_rule(mut b: ArmBody, current: &[PolicyRule]) -> ArmResult<PolicyRule> {
    let id = b.required_string("id")?;
    let existing = current
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| invalid_rule(format!("The policy has no rule '{id}'.")))?;
    let rule_type = b.required_string("ruleType")?;
    if !rule_type.eq_ignore_ascii_case(rule_type_of(&existing.kind)) {
        return Err(invalid_rule(format!(
            "Rule '{}' is a {}; its ruleType cannot change.",
            existing.id,
            rule_type_of(&existing.kind)
        )));
    }
    let target = match b.object("target", "RoleManagementPolicyRuleTarget")? {
        Some(t) => read_target(t, &existing.target)?,
        None => existing.target.clone(),
    };
    let kind = match &existing.kind {
        RuleKind::Expiration { is_expiration_required, maximum_duration } => {
            let required = b.bool("isExpirationRequired")?.unwrap_or(*is_expiration_required);
            let max = match b.string("maximumDuration")? {
                Some(raw) => openpim_core::duration::parse(&raw).ok_or_else(|| {
                    b.invalid("maximumDuration", format_args!("'{raw}' is not an ISO 8601 duration."))
                })?,
                None => *maximum_duration,
            };
            b.ignore("exceptionMembers");
            RuleKind::Expiration { is_expiration_required: required, maximum_duration: max }
        }
        RuleKind::Enablement { enabled_rules } => {
            let enabled = match b.string_list("enabledRules")? {
                Some(list) => list
                    .iter()
                    .map(|e| {
                        e.parse::<Enablement>().map_err(|_| {
                            b.invalid(
                                "enabledRules",
                                format_args!(
                                    "'{e}' is not one of MultiFactorAuthentication, Justification, Ticketing."
                                ),
                            )
                        })
                    })
                    .collect::<ArmResult<Vec<_>>>()?,
                None => enabled_rules.clone(),
            };
            RuleKind::Enablement { enabled_rules: enabled }
        }
        RuleKind::Approval(settings) => match b.object("setting", "ApprovalSettings")? {
            Some(setting) => RuleKind::Approval(read_approval(setting, settings)?),
            None => RuleKind::Approval(settings.clone()),
        },
        RuleKind::AuthenticationContext { is_enabled, claim_value } => {
            let enabled = b.bool("isEnabled")?.unwrap_or(*is_enabled);
            let claim = match b.string("claimValue")? {
                Some(c) if c.is_empty() => None,
                Some(c) => Some(c),
                None => claim_value.clone(),
            };
            RuleKind::AuthenticationContext { is_enabled: enabled, claim_value: claim }
        }
        RuleKind::Notification { recipient_type, level, is_default_recipients_enabled, recipients } => {
            if let Some(t) = b.string("notificationType")? {
                if !t.eq_ignore_ascii_case("Email") {
                    return Err(b.invalid("notificationType", "the only notification type is 'Email'."));
                }
            }
            let recipient_type = match b.string("recipientType")? {
                Some(r) => match r.parse::<RecipientType>() {
                    Ok(parsed) if parsed == *recipient_type => parsed,
                    Ok(_) => {
                        return Err(invalid_rule(format!("The recipientType of rule '{}' cannot change.", existing.id)))
                    }
                    Err(_) => return Err(b.invalid("recipientType", "it is one of Requestor, Approver, Admin.")),
                },
                None => *recipient_type,
            };
            let level = match b.string("notificationLevel")? {
                Some(l) => l
                    .parse::<NotificationLevel>()
                    .map_err(|_| b.invalid("notificationLevel", "it is one of None, Critical, All."))?,
                None => *level,
            };
            let defaults = b.bool("isDefaultRecipientsEnabled")?.unwrap_or(*is_default_recipients_enabled);
            let list = match b.string_list("notificationRecipients")? {
                Some(l) => l,
                None => recipients.clone(),
            };
            RuleKind::Notification { recipient_type, level, is_default_recipients_enabled: defaults, recipients: list }
        }
    };
    b.finish()?;
    Ok(PolicyRule { id: existing.id.clone(), target, kind })
}

fn read_target(mut t: ArmBody, current: &RuleTarget) -> ArmResult<RuleTarget> {
    let caller = match t.string("caller")? {
        Some(c) => c.parse::<Caller>().map_err(|_| t.invalid("caller", "it is 'Admin' or 'EndUser'."))?,
        None => current.caller,
    };
    let level = match t.string("level")? {
        Some(l) => l.parse::<Level>().map_err(|_| t.invalid("level", "it is 'Eligibility' or 'Assignment'."))?,
        None => current.level,
    };
    let operations = t.string_list("operations")?.unwrap_or_else(|| current.operations.clone());
    if t.string_list("targetObjects")?.is_some_and(|l| !l.is_empty()) {
        return Err(t.invalid("targetObjects", "rules aimed at particular objects are not supported."));
    }
    let inheritable = t.string_list("inheritableSettings")?.unwrap_or_else(|| current.inheritable_settings.clone());
    let enforced = t.string_list("enforcedSettings")?.unwrap_or_else(|| current.enforced_settings.clone());
    t.finish()?;
    Ok(RuleTarget { caller, operations, level, inheritable_settings: inheritable, enforced_settings: enforced })
}

fn read_approval(mut a: ArmBody, current: &ApprovalSettings) -> ArmResult<ApprovalSettings> {
    let mode = match a.string("approvalMode")? {
        Some(m) => m
            .parse::<ApprovalMode>()
            .map_err(|_| a.invalid("approvalMode", "it is one of SingleStage, Serial, Parallel, NoApproval."))?,
        None => current.approval_mode,
    };
    let stages = match a.objects("approvalStages", "ApprovalStage")? {
        Some(list) => list.into_iter().map(read_stage).collect::<ArmResult<Vec<_>>>()?,
        None => current.stages.clone(),
    };
    let settings = ApprovalSettings {
        is_approval_required: a.bool("isApprovalRequired")?.unwrap_or(current.is_approval_required),
        is_approval_required_for_extension: a
            .bool("isApprovalRequiredForExtension")?
            .unwrap_or(current.is_approval_required_for_extension),
        is_requestor_justification_required: a
            .bool("isRequestorJustificationRequired")?
            .unwrap_or(current.is_requestor_justification_required),
        approval_mode: mode,
        stages,
    };
    a.finish()?;
    Ok(settings)
}

fn read_stage(mut st: ArmBody) -> ArmResult<ApprovalStage> {
    let primary = st.objects("primaryApprovers", "UserSet")?.unwrap_or_default();
    let escalation = st.objects("escalationApprovers", "UserSet")?.unwrap_or_default();
    let stage = ApprovalStage {
        timeout_in_days: st.int("approvalStageTimeOutInDays")?.unwrap_or(1),
        is_approver_justification_required: st.bool("isApproverJustificationRequired")?.unwrap_or(true),
        escalation_time_in_minutes: st.int("escalationTimeInMinutes")?.unwrap_or(0),
        is_escalation_enabled: st.bool("isEscalationEnabled")?.unwrap_or(false),
        primary_approvers: primary.into_iter().map(read_approver).collect::<ArmResult<Vec<_>>>()?,
        escalation_approvers: escalation.into_iter().map(read_approver).collect::<ArmResult<Vec<_>>>()?,
    };
    st.finish()?;
    Ok(stage)
}

fn read_approver(mut u: ArmBody) -> ArmResult<Approver> {
    let id = u.guid("id")?.ok_or_else(|| u.missing("id"))?;
    let description = u.string("description")?;
    if u.bool("isBackup")? == Some(true) {
        return Err(u.invalid("isBackup", "backup approvers are not supported."));
    }
    let approver = match u.string("userType")?.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("User") => Approver::SingleUser { user_id: id, description },
        Some(t) if t.eq_ignore_ascii_case("Group") => Approver::GroupMembers { group_id: id, description },
        Some(_) => return Err(u.invalid("userType", "it is 'User' or 'Group'.")),
        None => return Err(u.missing("userType")),
    };
    u.finish()?;
    Ok(approver)
}

/// ARM's `ruleType` of a rule.
pub fn rule_type_of(kind: &RuleKind) -> &'static str {
    match kind {
        RuleKind::Expiration { .. } => "RoleManagementPolicyExpirationRule",
        RuleKind::Enablement { .. } => "RoleManagementPolicyEnablementRule",
        RuleKind::Approval(_) => "RoleManagementPolicyApprovalRule",
        RuleKind::AuthenticationContext { .. } => "RoleManagementPolicyAuthenticationContextRule",
        RuleKind::Notification { .. } => "RoleManagementPolicyNotificationRule",
    }
}

fn none_if_empty(list: &[String]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.to_vec())
}

fn render_approver(a: &Approver) -> proto::UserSet {
    let (user_type, id, description) = match a {
        Approver::SingleUser { user_id, description } => ("User", user_id, description),
        Approver::GroupMembers { group_id, description } => ("Group", group_id, description),
    };
    proto::UserSet {
        user_type: user_type.into(),
        is_backup: false,
        id: id.to_string(),
        description: description.clone(),
    }
}

/// A rule in ARM's shape.
pub fn render_rule(r: &PolicyRule) -> proto::PolicyRule {
    let settings = match &r.kind {
        RuleKind::Expiration { is_expiration_required, maximum_duration } => proto::RuleSettings::Expiration {
            is_expiration_required: *is_expiration_required,
            maximum_duration: openpim_core::duration::format(*maximum_duration),
        },
        RuleKind::Enablement { enabled_rules } => proto::RuleSettings::Enablement {
            enabled_rules: enabled_rules.iter().map(|e| e.as_str().to_string()).collect(),
        },
        RuleKind::Approval(a) => proto::RuleSettings::Approval {
            setting: proto::ApprovalSettings {
                is_approval_required: a.is_approval_required,
                is_approval_required_for_extension: a.is_approval_required_for_extension,
                is_requestor_justification_required: a.is_requestor_justification_required,
                approval_mode: a.approval_mode.as_str().to_string(),
                approval_stages: a
                    .stages
                    .iter()
                    .map(|st| proto::ApprovalStage {
                        approval_stage_time_out_in_days: st.timeout_in_days,
                        is_approver_justification_required: st.is_approver_justification_required,
                        escalation_time_in_minutes: st.escalation_time_in_minutes,
                        primary_approvers: st.primary_approvers.iter().map(render_approver).collect(),
                        is_escalation_enabled: st.is_escalation_enabled,
                        escalation_approvers: (!st.escalation_approvers.is_empty())
                            .then(|| st.escalation_approvers.iter().map(render_approver).collect()),
                    })
                    .collect(),
            },
        },
        RuleKind::AuthenticationContext { is_enabled, claim_value } => proto::RuleSettings::AuthenticationContext {
            is_enabled: *is_enabled,
            claim_value: claim_value.clone().unwrap_or_default(),
        },
        RuleKind::Notification { recipient_type, level, is_default_recipients_enabled, recipients } => {
            proto::RuleSettings::Notification {
                notification_type: "Email".into(),
                recipient_type: recipient_type.as_str().to_string(),
                is_default_recipients_enabled: *is_default_recipients_enabled,
                notification_level: level.as_str().to_string(),
                notification_recipients: none_if_empty(recipients),
            }
        }
    };
    proto::PolicyRule {
        id: r.id.clone(),
        rule_type: rule_type_of(&r.kind).to_string(),
        target: proto::RuleTarget {
            caller: r.target.caller.to_string(),
            // Graph's rules say `all`; ARM's examples `All`.
            operations: r
                .target
                .operations
                .iter()
                .map(|o| if o.eq_ignore_ascii_case("all") { "All".to_string() } else { o.clone() })
                .collect(),
            level: r.target.level.to_string(),
            target_objects: None,
            inheritable_settings: none_if_empty(&r.target.inheritable_settings),
            enforced_settings: none_if_empty(&r.target.enforced_settings),
        },
        settings,
    }
}

/// A rule as JSON (audit records list the properties a PATCH changed).
pub fn rule_json(r: &PolicyRule) -> serde_json::Value {
    serde_json::to_value(render_rule(r)).unwrap_or_default()
}

/// `{id, displayName, type}` of a scope, as `policyProperties.scope` shows it: the same label as
/// PIM's `expandedProperties.scope`.
pub async fn scope_info(s: &AppState, scope: &ArmScope) -> ArmResult<proto::ScopeInfo> {
    let label = crate::azure::scope_labels::label(s, scope).await?;
    Ok(proto::ScopeInfo {
        id: scope.as_str().to_string(),
        display_name: Some(label.display_name),
        info_type: Some(label.scope_type),
    })
}

/// The collection's type within `Microsoft.Authorization`, as ids write it.
pub const COLLECTION: &str = "roleManagementPolicies";

/// `{scope}/providers/Microsoft.Authorization/roleManagementPolicies/{guid}`.
pub fn policy_resource_id(p: &service::ArmPolicy) -> String {
    p.scope.resource_id(COLLECTION, p.id)
}

/// Who changed a policy last, or null.
pub fn last_modified_by(p: &service::ArmPolicy) -> Option<proto::Principal> {
    p.last_modified_by.as_ref().map(|(id, name)| proto::Principal {
        id: Some(id.to_string()),
        display_name: Some(name.clone()),
        principal_type: Some("User".into()),
        email: None,
    })
}

/// A policy in ARM's shape. Settings are not inherited, so the effective rules are the rules.
pub fn render(p: &service::ArmPolicy, scope: &proto::ScopeInfo) -> proto::RoleManagementPolicy {
    let rules: Vec<proto::PolicyRule> = p.rules.iter().map(render_rule).collect();
    proto::RoleManagementPolicy {
        id: policy_resource_id(p),
        name: p.id.to_string(),
        resource_type: proto::POLICY_TYPE.to_string(),
        properties: proto::PolicyProperties {
            scope: p.scope.as_str().to_string(),
            display_name: None,
            description: None,
            is_organization_default: false,
            last_modified_by: last_modified_by(p),
            last_modified_date_time: p.last_modified.map(crate::wire::datetime),
            effective_rules: rules.clone(),
            rules,
            policy_properties: proto::PolicyScopeProperties { scope: scope.clone() },
        },
    }
}
