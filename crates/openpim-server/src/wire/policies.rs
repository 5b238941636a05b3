//! unifiedRoleManagementPolicy, its polymorphic rules, and policy assignments.

use super::body::Body;
use super::datetime;
use crate::error::{ApiError, ApiResult};
use openpim_core::duration;
use openpim_core::policy::rules::{
    ApprovalMode, ApprovalSettings, ApprovalStage, Approver, Enablement, NotificationLevel, PolicyRule, RecipientType,
    RuleKind, RuleTarget,
};
use openpim_core::policy::{Caller, Level};
use openpim_store::policies::StoredPolicy;
use serde_json::{json, Map, Value};

pub const POLICY_TYPE: &str = "microsoft.graph.unifiedRoleManagementPolicy";
pub const ASSIGNMENT_TYPE: &str = "microsoft.graph.unifiedRoleManagementPolicyAssignment";

fn caller_str(c: Caller) -> &'static str {
    match c {
        Caller::Admin => "Admin",
        Caller::EndUser => "EndUser",
    }
}

fn level_str(l: Level) -> &'static str {
    match l {
        Level::Eligibility => "Eligibility",
        Level::Assignment => "Assignment",
    }
}

fn approvers(list: &[Approver]) -> Vec<Value> {
    list.iter()
        .map(|a| match a {
            Approver::SingleUser { user_id, description } => {
                json!({"@odata.type": "#microsoft.graph.singleUser", "isBackup": false, "userId": user_id, "description": description})
            }
            Approver::GroupMembers { group_id, description } => {
                json!({"@odata.type": "#microsoft.graph.groupMembers", "isBackup": false, "groupId": group_id, "description": description})
            }
        })
        .collect()
}

pub fn rule(r: &PolicyRule) -> Value {
    let mut v = json!({
        "@odata.type": r.kind.odata_type(),
        "id": r.id,
        "target": {
            "caller": caller_str(r.target.caller),
            "operations": r.target.operations,
            "level": level_str(r.target.level),
            "inheritableSettings": r.target.inheritable_settings,
            "enforcedSettings": r.target.enforced_settings,
        },
    });
    let fields = match &r.kind {
        RuleKind::Expiration { is_expiration_required, maximum_duration } => json!({
            "isExpirationRequired": is_expiration_required,
            "maximumDuration": duration::format(*maximum_duration),
        }),
        RuleKind::Enablement { enabled_rules } => {
            json!({"enabledRules": enabled_rules.iter().map(|e| e.as_str()).collect::<Vec<_>>()})
        }
        RuleKind::Approval(a) => json!({"setting": {
            "isApprovalRequired": a.is_approval_required,
            "isApprovalRequiredForExtension": a.is_approval_required_for_extension,
            "isRequestorJustificationRequired": a.is_requestor_justification_required,
            "approvalMode": a.approval_mode.as_str(),
            "approvalStages": a.stages.iter().map(|s| json!({
                "approvalStageTimeOutInDays": s.timeout_in_days,
                "isApproverJustificationRequired": s.is_approver_justification_required,
                "escalationTimeInMinutes": s.escalation_time_in_minutes,
                "isEscalationEnabled": s.is_escalation_enabled,
                "primaryApprovers": approvers(&s.primary_approvers),
                "escalationApprovers": approvers(&s.escalation_approvers),
            })).collect::<Vec<_>>(),
        }}),
        RuleKind::AuthenticationContext { is_enabled, claim_value } => {
            json!({"isEnabled": is_enabled, "claimValue": claim_value})
        }
        RuleKind::Notification { recipient_type, level, is_default_recipients_enabled, recipients } => json!({
            "notificationType": "Email",
            "recipientType": recipient_type.as_str(),
            "notificationLevel": level.as_str(),
            "isDefaultRecipientsEnabled": is_default_recipients_enabled,
            "notificationRecipients": recipients,
        }),
    };
    if let (Value::Object(m), Value::Object(f)) = (&mut v, fields) {
        m.extend(f);
    }
    v
}

pub fn policy(p: &StoredPolicy, with_rules: bool, with_effective: bool) -> Value {
    let mut v = json!({
        "@odata.type": format!("#{POLICY_TYPE}"),
        "id": p.id,
        "displayName": p.scope_type,
        "description": p.scope_type,
        "isOrganizationDefault": p.is_organization_default,
        "scopeId": p.scope_id,
        "scopeType": p.scope_type,
        "lastModifiedDateTime": p.last_modified.map(datetime),
        "lastModifiedBy": {
            "displayName": p.last_modified_by.as_ref().map(|b| b.1.clone()),
            "id": p.last_modified_by.as_ref().map(|b| b.0),
        },
    });
    if with_rules {
        v["rules"] = Value::Array(p.rules.iter().map(rule).collect());
    }
    if with_effective {
        v["effectiveRules"] = Value::Array(p.rules.iter().map(rule).collect());
    }
    v
}

pub fn assignment(p: &StoredPolicy) -> Value {
    json!({
        "@odata.type": format!("#{ASSIGNMENT_TYPE}"),
        "id": format!("{}_{}", p.id, p.role_definition_id),
        "policyId": p.id,
        "scopeId": p.scope_id,
        "scopeType": p.scope_type,
        "roleDefinitionId": p.role_definition_id,
    })
}

fn enum_value<T>(raw: Option<String>, key: &str, parse: fn(&str) -> Option<T>) -> ApiResult<Option<T>> {
    raw.map(|r| parse(&r).ok_or_else(|| ApiError::bad_request(format!("'{r}' is not a valid value for '{key}'."))))
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
    let caller = enum_value(b.string("caller")?, "caller", |s| match s.to_ascii_lowercase().as_str() {
        "admin" => Some(Caller::Admin),
        "enduser" => Some(Caller::EndUser),
        _ => None,
    })?;
    let level = enum_value(b.string("level")?, "level", |s| match s.to_ascii_lowercase().as_str() {
        "eligibility" => Some(Level::Eligibility),
        "assignment" => Some(Level::Assignment),
        _ => None,
    })?;
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
                        let e = Enablement::parse(&r).ok_or_else(|| {
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
                    let mode = enum_value(s.string("approvalMode")?, "approvalMode", ApprovalMode::parse)?;
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
            let new_recipient = enum_value(b.string("recipientType")?, "recipientType", RecipientType::parse)?;
            if new_recipient.is_some_and(|r| r != *recipient_type) {
                return Err(ApiError::bad_request("The recipientType of a notification rule is fixed by its id."));
            }
            RuleKind::Notification {
                recipient_type: *recipient_type,
                level: enum_value(b.string("notificationLevel")?, "notificationLevel", NotificationLevel::parse)?
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
