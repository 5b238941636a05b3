//! unifiedRoleManagementPolicy, its polymorphic rules, and policy assignments.

use super::body::Body;
use super::to_json;
use crate::error::{ApiError, ApiResult};
use openpim_core::duration;
use openpim_core::policy::rules::{
    ApprovalMode, ApprovalSettings, ApprovalStage, Approver, Enablement, NotificationLevel, PolicyRule, RecipientType,
    RuleKind, RuleTarget,
};
use openpim_core::policy::{Caller, Level};
use openpim_proto::odata_type;
use openpim_proto::policies as proto;
use openpim_store::policies::StoredPolicy;
use serde_json::{Map, Value};

pub use proto::{ASSIGNMENT_TYPE, POLICY_TYPE};

fn approvers(list: &[Approver]) -> Vec<proto::SubjectSet> {
    list.iter()
        .map(|a| match a {
            Approver::SingleUser { user_id, description } => {
                proto::SubjectSet::SingleUser { is_backup: false, user_id: *user_id, description: description.clone() }
            }
            Approver::GroupMembers { group_id, description } => proto::SubjectSet::GroupMembers {
                is_backup: false,
                group_id: *group_id,
                description: description.clone(),
            },
        })
        .collect()
}

fn target(t: &RuleTarget) -> proto::RuleTarget {
    proto::RuleTarget {
        caller: t.caller.to_string(),
        operations: t.operations.clone(),
        level: t.level.to_string(),
        inheritable_settings: t.inheritable_settings.clone(),
        enforced_settings: t.enforced_settings.clone(),
    }
}

fn typed_rule(r: &PolicyRule) -> proto::PolicyRule {
    let (id, target) = (r.id.clone(), target(&r.target));
    match &r.kind {
        RuleKind::Expiration { is_expiration_required, maximum_duration } => {
            proto::PolicyRule::Expiration(proto::ExpirationRule {
                id,
                target,
                is_expiration_required: *is_expiration_required,
                maximum_duration: duration::format(*maximum_duration),
            })
        }
        RuleKind::Enablement { enabled_rules } => proto::PolicyRule::Enablement(proto::EnablementRule {
            id,
            target,
            enabled_rules: enabled_rules.iter().map(ToString::to_string).collect(),
        }),
        RuleKind::Approval(a) => proto::PolicyRule::Approval(proto::ApprovalRule {
            id,
            target,
            setting: proto::ApprovalSettings {
                is_approval_required: a.is_approval_required,
                is_approval_required_for_extension: a.is_approval_required_for_extension,
                is_requestor_justification_required: a.is_requestor_justification_required,
                approval_mode: a.approval_mode.to_string(),
                approval_stages: a
                    .stages
                    .iter()
                    .map(|s| proto::ApprovalStage {
                        approval_stage_time_out_in_days: s.timeout_in_days,
                        is_approver_justification_required: s.is_approver_justification_required,
                        escalation_time_in_minutes: s.escalation_time_in_minutes,
                        is_escalation_enabled: s.is_escalation_enabled,
                        primary_approvers: approvers(&s.primary_approvers),
                        escalation_approvers: approvers(&s.escalation_approvers),
                    })
                    .collect(),
            },
        }),
        RuleKind::AuthenticationContext { is_enabled, claim_value } => {
            proto::PolicyRule::AuthenticationContext(proto::AuthenticationContextRule {
                id,
                target,
                is_enabled: *is_enabled,
                claim_value: claim_value.clone(),
            })
        }
        RuleKind::Notification { recipient_type, level, is_default_recipients_enabled, recipients } => {
            proto::PolicyRule::Notification(proto::NotificationRule {
                id,
                target,
                notification_type: "Email".to_string(),
                recipient_type: recipient_type.to_string(),
                notification_level: level.to_string(),
                is_default_recipients_enabled: *is_default_recipients_enabled,
                notification_recipients: recipients.clone(),
            })
        }
    }
}

pub fn rule(r: &PolicyRule) -> Value {
    to_json(&typed_rule(r))
}

fn typed_policy(p: &StoredPolicy, with_rules: bool, with_effective: bool) -> proto::UnifiedRoleManagementPolicy {
    let rules = || p.rules.iter().map(typed_rule).collect::<Vec<_>>();
    proto::UnifiedRoleManagementPolicy {
        odata_type: Some(odata_type(POLICY_TYPE)),
        id: p.id.clone(),
        display_name: p.scope_type.clone(),
        description: p.scope_type.clone(),
        is_organization_default: p.is_organization_default,
        scope_id: p.scope_id.clone(),
        scope_type: p.scope_type.clone(),
        last_modified_date_time: p.last_modified,
        last_modified_by: proto::LastModifiedBy {
            display_name: p.last_modified_by.as_ref().map(|b| b.1.clone()),
            id: p.last_modified_by.as_ref().map(|b| b.0),
        },
        rules: with_rules.then(rules),
        effective_rules: with_effective.then(rules),
    }
}

pub fn policy(p: &StoredPolicy, with_rules: bool, with_effective: bool) -> Value {
    to_json(&typed_policy(p, with_rules, with_effective))
}

pub fn assignment(p: &StoredPolicy) -> Value {
    to_json(&proto::UnifiedRoleManagementPolicyAssignment {
        odata_type: Some(odata_type(ASSIGNMENT_TYPE)),
        id: format!("{}_{}", p.id, p.role_definition_id),
        policy_id: p.id.clone(),
        scope_id: p.scope_id.clone(),
        scope_type: p.scope_type.clone(),
        role_definition_id: p.role_definition_id,
        policy: None,
    })
}

/// A vocabulary value (core's strum-derived enums), or a 400 naming the property.
fn enum_value<T: std::str::FromStr>(raw: Option<String>, key: &str) -> ApiResult<Option<T>> {
    raw.map(|r| r.parse().map_err(|_| ApiError::bad_request(format!("'{r}' is not a valid value for '{key}'."))))
        .transpose()
}

fn object(v: Value, what: &str) -> ApiResult<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::bad_request(format!("{what} must be an object."))),
    }
}

fn read_target(v: Value, existing: &RuleTarget) -> ApiResult<RuleTarget> {
    let mut b = Body::from_map(object(v, "target")?, "microsoft.graph.unifiedRoleManagementPolicyRuleTarget");
    let caller = enum_value::<Caller>(b.string("caller")?, "caller")?;
    let level = enum_value::<Level>(b.string("level")?, "level")?;
    let operations = b.string_list("operations")?;
    let inheritable = b.string_list("inheritableSettings")?;
    let enforced = b.string_list("enforcedSettings")?;
    b.ignore("targetObjects");
    b.finish()?;
    Ok(RuleTarget {
        caller: caller.unwrap_or(existing.caller),
        level: level.unwrap_or(existing.level),
        operations: operations
            .map(|o| o.iter().map(|s| s.to_ascii_lowercase()).collect())
            .unwrap_or_else(|| existing.operations.clone()),
        inheritable_settings: inheritable.unwrap_or_else(|| existing.inheritable_settings.clone()),
        enforced_settings: enforced.unwrap_or_else(|| existing.enforced_settings.clone()),
    })
}

fn read_approvers(v: Option<Value>) -> ApiResult<Vec<Approver>> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(vec![]) };
    let Value::Array(items) = v else { return Err(ApiError::bad_request("approvers must be an array.")) };
    items
        .into_iter()
        .map(|item| {
            let m = object(item, "an approver")?;
            let ty = m.get("@odata.type").and_then(Value::as_str).unwrap_or("").trim_start_matches('#').to_string();
            let mut b = Body::from_map(m, "microsoft.graph.subjectSet");
            b.ignore("isBackup");
            let description = b.string("description")?;
            let approver = match ty.as_str() {
                "microsoft.graph.singleUser" => Approver::SingleUser {
                    user_id: b.guid("userId")?.ok_or_else(|| ApiError::bad_request("singleUser needs userId."))?,
                    description,
                },
                "microsoft.graph.groupMembers" => Approver::GroupMembers {
                    group_id: b.guid("groupId")?.ok_or_else(|| ApiError::bad_request("groupMembers needs groupId."))?,
                    description,
                },
                other => {
                    return Err(ApiError::bad_request(format!(
                        "Approver type '{other}' is not supported: use #microsoft.graph.singleUser or #microsoft.graph.groupMembers."
                    )))
                }
            };
            b.finish()?;
            Ok(approver)
        })
        .collect()
}

fn read_stage(v: Value, existing: Option<&ApprovalStage>) -> ApiResult<ApprovalStage> {
    let mut b = Body::from_map(object(v, "an approval stage")?, "microsoft.graph.unifiedApprovalStage");
    let timeout = b.take_value("approvalStageTimeOutInDays");
    let escalation = b.take_value("escalationTimeInMinutes");
    let int = |v: Option<Value>, key: &str, default: i32| -> ApiResult<i32> {
        match v {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| ApiError::bad_request(format!("'{key}' must be a whole number."))),
            Some(_) => Err(ApiError::bad_request(format!("'{key}' must be a whole number."))),
        }
    };
    let stage = ApprovalStage {
        timeout_in_days: int(timeout, "approvalStageTimeOutInDays", existing.map_or(1, |e| e.timeout_in_days))?,
        escalation_time_in_minutes: int(
            escalation,
            "escalationTimeInMinutes",
            existing.map_or(0, |e| e.escalation_time_in_minutes),
        )?,
        is_approver_justification_required: b
            .bool("isApproverJustificationRequired")?
            .unwrap_or(existing.is_none_or(|e| e.is_approver_justification_required)),
        is_escalation_enabled: b
            .bool("isEscalationEnabled")?
            .unwrap_or(existing.is_some_and(|e| e.is_escalation_enabled)),
        primary_approvers: read_approvers(b.take_value("primaryApprovers"))?,
        escalation_approvers: read_approvers(b.take_value("escalationApprovers"))?,
    };
    b.finish()?;
    Ok(stage)
}

/// Reads a rule PATCH body; missing fields keep `existing`'s values.
pub fn read_rule(mut b: Body, existing: &PolicyRule) -> ApiResult<PolicyRule> {
    let ty = b.string("@odata.type")?.map(|t| format!("#{}", t.trim_start_matches('#')));
    let id = b.string("id")?.unwrap_or_default();
    let target = match b.take_value("target") {
        None | Some(Value::Null) => existing.target.clone(),
        Some(v) => read_target(v, &existing.target)?,
    };
    let expected = existing.kind.odata_type();
    let ty = ty.ok_or_else(|| ApiError::bad_request(format!("The rule's @odata.type is required ('{expected}').")))?;
    let kind = match (ty.as_str(), &existing.kind) {
        (
            "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            RuleKind::Expiration { is_expiration_required, maximum_duration },
        ) => {
            let max = match b.string("maximumDuration")? {
                None => *maximum_duration,
                Some(d) => duration::parse(&d)
                    .ok_or_else(|| ApiError::bad_request(format!("'{d}' is not a valid ISO 8601 duration.")))?,
            };
            RuleKind::Expiration {
                is_expiration_required: b.bool("isExpirationRequired")?.unwrap_or(*is_expiration_required),
                maximum_duration: max,
            }
        }
        ("#microsoft.graph.unifiedRoleManagementPolicyEnablementRule", RuleKind::Enablement { enabled_rules }) => {
            let rules = match b.string_list("enabledRules")? {
                None => enabled_rules.clone(),
                Some(list) => {
                    let mut out = Vec::new();
                    for r in list {
                        let e = r.parse::<Enablement>().map_err(|_| {
                            ApiError::bad_request(format!(
                                "'{r}' is not a valid enabled rule: use MultiFactorAuthentication, Justification or Ticketing."
                            ))
                        })?;
                        if !out.contains(&e) {
                            out.push(e);
                        }
                    }
                    out
                }
            };
            RuleKind::Enablement { enabled_rules: rules }
        }
        ("#microsoft.graph.unifiedRoleManagementPolicyApprovalRule", RuleKind::Approval(current)) => {
            let setting = match b.take_value("setting") {
                None | Some(Value::Null) => current.clone(),
                Some(v) => {
                    let mut s = Body::from_map(object(v, "setting")?, "microsoft.graph.approvalSettings");
                    let mode = enum_value::<ApprovalMode>(s.string("approvalMode")?, "approvalMode")?;
                    let stages = match s.take_value("approvalStages") {
                        None | Some(Value::Null) => current.stages.clone(),
                        Some(Value::Array(items)) => items
                            .into_iter()
                            .enumerate()
                            .map(|(i, v)| read_stage(v, current.stages.get(i)))
                            .collect::<ApiResult<Vec<_>>>()?,
                        Some(_) => return Err(ApiError::bad_request("approvalStages must be an array.")),
                    };
                    let settings = ApprovalSettings {
                        is_approval_required: s.bool("isApprovalRequired")?.unwrap_or(current.is_approval_required),
                        is_approval_required_for_extension: s
                            .bool("isApprovalRequiredForExtension")?
                            .unwrap_or(current.is_approval_required_for_extension),
                        is_requestor_justification_required: s
                            .bool("isRequestorJustificationRequired")?
                            .unwrap_or(current.is_requestor_justification_required),
                        approval_mode: mode.unwrap_or(current.approval_mode),
                        stages,
                    };
                    s.finish()?;
                    settings
                }
            };
            RuleKind::Approval(setting)
        }
        (
            "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule",
            RuleKind::AuthenticationContext { is_enabled, claim_value },
        ) => RuleKind::AuthenticationContext {
            is_enabled: b.bool("isEnabled")?.unwrap_or(*is_enabled),
            claim_value: b.nullable_string("claimValue")?.unwrap_or_else(|| claim_value.clone()),
        },
        (
            "#microsoft.graph.unifiedRoleManagementPolicyNotificationRule",
            RuleKind::Notification { recipient_type, level, is_default_recipients_enabled, recipients },
        ) => {
            if let Some(t) = b.string("notificationType")? {
                if !t.eq_ignore_ascii_case("Email") {
                    return Err(ApiError::bad_request("notificationType must be 'Email'."));
                }
            }
            let new_recipient = enum_value::<RecipientType>(b.string("recipientType")?, "recipientType")?;
            if new_recipient.is_some_and(|r| r != *recipient_type) {
                return Err(ApiError::bad_request("The recipientType of a notification rule is fixed by its id."));
            }
            RuleKind::Notification {
                recipient_type: *recipient_type,
                level: enum_value::<NotificationLevel>(b.string("notificationLevel")?, "notificationLevel")?
                    .unwrap_or(*level),
                is_default_recipients_enabled: b
                    .bool("isDefaultRecipientsEnabled")?
                    .unwrap_or(*is_default_recipients_enabled),
                recipients: b.string_list("notificationRecipients")?.unwrap_or_else(|| recipients.clone()),
            }
        }
        (other, _) => {
            return Err(ApiError::bad_request_code(
                "InvalidPolicyRule",
                format!("Rule '{}' is of type '{expected}', not '{other}'.", existing.id),
            ))
        }
    };
    b.finish()?;
    Ok(PolicyRule { id, target, kind })
}
