//! governanceRoleSetting ↔ a role's policy rules.
//!
//! A roleSetting has four lists of `{ruleIdentifier, setting}`, `setting` being a JSON document
//! encoded as a string. They are a view of the same policy the v1.0 `unifiedRoleManagementPolicy`
//! (and ARM's `roleManagementPolicies`) show, so reading renders the policy's rules and a PATCH
//! becomes rule updates that go through the one policy write path (its validation and audit):
//!
//! | list | ruleIdentifier | policy rule (caller, level, kind) |
//! |---|---|---|
//! | adminEligibleSettings | ExpirationRule | Admin, Eligibility, Expiration |
//! | adminMemberSettings | ExpirationRule | Admin, Assignment, Expiration |
//! | adminMemberSettings | MfaRule, JustificationRule | Admin, Assignment, Enablement |
//! | userMemberSettings | ExpirationRule | EndUser, Assignment, Expiration |
//! | userMemberSettings | MfaRule, JustificationRule, TicketingRule | EndUser, Assignment, Enablement |
//! | userMemberSettings | ApprovalRule | EndUser, Assignment, Approval |
//! | userMemberSettings | AcrsRule | EndUser, Assignment, AuthenticationContext |
//!
//! userEligibleSettings is documented as "not supported for now": always `[]`, and a PATCH that
//! puts anything in it is refused. Notification rules have no beta counterpart.
//!
//! Setting documents are read with their property names compared case-insensitively: Microsoft's
//! docs write `{"Enabled":true,"Approvers":[...]}`, the live service answers camelCase.

use crate::error::{DomainError, DomainResult};
use crate::policy::rules::{ApprovalMode, ApprovalSettings, ApprovalStage, Approver, Enablement, PolicyRule, RuleKind};
use crate::policy::{Caller, Level};
use crate::ObjectId;
use serde_json::{json, Map, Value};
use time::Duration;

/// The four lists of a governanceRoleSetting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingList {
    AdminEligible,
    AdminMember,
    UserEligible,
    UserMember,
}

impl SettingList {
    pub const ALL: [SettingList; 4] = [Self::AdminEligible, Self::AdminMember, Self::UserEligible, Self::UserMember];

    /// The property name in the roleSetting.
    pub fn property(self) -> &'static str {
        match self {
            Self::AdminEligible => "adminEligibleSettings",
            Self::AdminMember => "adminMemberSettings",
            Self::UserEligible => "userEligibleSettings",
            Self::UserMember => "userMemberSettings",
        }
    }

    /// The policy target the list speaks for (`None`: userEligible, which has no rules).
    fn target(self) -> Option<(Caller, Level)> {
        match self {
            Self::AdminEligible => Some((Caller::Admin, Level::Eligibility)),
            Self::AdminMember => Some((Caller::Admin, Level::Assignment)),
            Self::UserEligible => None,
            Self::UserMember => Some((Caller::EndUser, Level::Assignment)),
        }
    }

    /// The rule identifiers the list carries, in the order they are rendered.
    fn identifiers(self) -> &'static [&'static str] {
        match self {
            Self::AdminEligible => &[EXPIRATION],
            Self::AdminMember => &[EXPIRATION, MFA, JUSTIFICATION],
            Self::UserEligible => &[],
            Self::UserMember => &[EXPIRATION, MFA, JUSTIFICATION, TICKETING, APPROVAL, ACRS],
        }
    }
}

const EXPIRATION: &str = "ExpirationRule";
const MFA: &str = "MfaRule";
const JUSTIFICATION: &str = "JustificationRule";
const TICKETING: &str = "TicketingRule";
const APPROVAL: &str = "ApprovalRule";
const ACRS: &str = "AcrsRule";

/// One `{ruleIdentifier, setting}` entry, `setting` as the JSON-encoded string the wire carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSetting {
    pub rule_identifier: String,
    pub setting: String,
}

/// How an approver's object is known, for rendering ApprovalRule's `Approvers` list.
pub trait ApproverNames {
    /// `(displayName, email)` of a user or group; `None` when it no longer exists.
    fn describe(&self, id: ObjectId) -> Option<(String, String)>;
}

impl ApproverNames for () {
    fn describe(&self, _: ObjectId) -> Option<(String, String)> {
        None
    }
}

pub fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::invalid("InvalidRoleSetting", message)
}

/// Refusals of the policy rules' own validation (`InvalidPolicyRule`, e.g. a maximum outside
/// PT5M..cap) are this API's `InvalidRoleSetting`.
pub fn as_role_setting_error(e: DomainError) -> DomainError {
    if e.code == "InvalidPolicyRule" {
        invalid(e.message)
    } else {
        e
    }
}

fn find(rules: &[PolicyRule], (caller, level): (Caller, Level), pick: fn(&RuleKind) -> bool) -> Option<&PolicyRule> {
    rules.iter().find(|r| r.target.caller == caller && r.target.level == level && pick(&r.kind))
}

fn is_expiration(k: &RuleKind) -> bool {
    matches!(k, RuleKind::Expiration { .. })
}
fn is_enablement(k: &RuleKind) -> bool {
    matches!(k, RuleKind::Enablement { .. })
}
fn is_approval(k: &RuleKind) -> bool {
    matches!(k, RuleKind::Approval(_))
}
fn is_acrs(k: &RuleKind) -> bool {
    matches!(k, RuleKind::AuthenticationContext { .. })
}

fn enablement_of(identifier: &str) -> Option<Enablement> {
    match identifier {
        MFA => Some(Enablement::MultiFactorAuthentication),
        JUSTIFICATION => Some(Enablement::Justification),
        TICKETING => Some(Enablement::Ticketing),
        _ => None,
    }
}

fn minutes(d: Duration) -> i64 {
    d.whole_minutes()
}

/// Renders one list of a policy's rules.
pub fn render(rules: &[PolicyRule], list: SettingList, names: &dyn ApproverNames) -> Vec<RuleSetting> {
    let Some(target) = list.target() else { return Vec::new() };
    let mut out = Vec::new();
    for &id in list.identifiers() {
        let setting = match id {
            EXPIRATION => find(rules, target, is_expiration).and_then(|r| match &r.kind {
                RuleKind::Expiration { is_expiration_required, maximum_duration } => Some(json!({
                    "permanentAssignment": !is_expiration_required,
                    "maximumGrantPeriodInMinutes": minutes(*maximum_duration),
                })),
                _ => None,
            }),
            MFA | JUSTIFICATION | TICKETING => find(rules, target, is_enablement).and_then(|r| match &r.kind {
                RuleKind::Enablement { enabled_rules } => {
                    let on = enablement_of(id).is_some_and(|e| enabled_rules.contains(&e));
                    Some(match id {
                        MFA => json!({ "mfaRequired": on }),
                        TICKETING => json!({ "ticketingRequired": on }),
                        _ => json!({ "required": on }),
                    })
                }
                _ => None,
            }),
            APPROVAL => find(rules, target, is_approval).and_then(|r| match &r.kind {
                RuleKind::Approval(a) => Some(render_approval(a, names)),
                _ => None,
            }),
            ACRS => find(rules, target, is_acrs).and_then(|r| match &r.kind {
                RuleKind::AuthenticationContext { is_enabled, claim_value } => {
                    Some(json!({ "acrsRequired": is_enabled, "acrs": claim_value }))
                }
                _ => None,
            }),
            _ => None,
        };
        if let Some(setting) = setting {
            out.push(RuleSetting { rule_identifier: id.to_string(), setting: setting.to_string() });
        }
    }
    out
}

fn render_approval(a: &ApprovalSettings, names: &dyn ApproverNames) -> Value {
    let enabled = a.is_approval_required && a.approval_mode != ApprovalMode::NoApproval;
    let approvers: Vec<Value> = a
        .stages
        .first()
        .map(|s| s.primary_approvers.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|approver| {
            let (kind, id) = match approver {
                Approver::SingleUser { user_id, .. } => ("User", *user_id),
                Approver::GroupMembers { group_id, .. } => ("Group", *group_id),
            };
            let (display, email) = names.describe(id).unwrap_or_default();
            json!({ "id": id, "type": kind, "displayName": display, "email": email })
        })
        .collect();
    json!({
        "enabled": enabled,
        "isCriteriaSupported": false,
        "approvers": approvers,
        "businessFlowId": null,
        "hasNotificationPolicy": false,
    })
}

/// A PATCH of a roleSetting: the lists it names (the others stay as they are).
pub type SettingsPatch = Vec<(SettingList, Vec<RuleSetting>)>;

/// The policy rules a roleSetting PATCH changes, as full rules (their ids and targets copied from
/// `current`), ready for the policy write path, which validates each against its current value.
/// Entries of one rule (MfaRule and JustificationRule both edit the enablement rule) are merged.
pub fn to_rules(current: &[PolicyRule], patch: &SettingsPatch) -> DomainResult<Vec<PolicyRule>> {
    let mut changed: Vec<PolicyRule> = Vec::new();
    for (list, entries) in patch {
        let Some(target) = list.target() else {
            if entries.is_empty() {
                continue;
            }
            return Err(invalid("userEligibleSettings is not supported; send it empty or leave it out."));
        };
        for entry in entries {
            let id = list
                .identifiers()
                .iter()
                .find(|known| known.eq_ignore_ascii_case(&entry.rule_identifier))
                .copied()
                .ok_or_else(|| {
                    invalid(format!(
                        "Rule '{}' is not supported in {}; it takes {}.",
                        entry.rule_identifier,
                        list.property(),
                        list.identifiers().join(", ")
                    ))
                })?;
            let doc = parse_setting(id, &entry.setting)?;
            let pick = match id {
                EXPIRATION => is_expiration,
                MFA | JUSTIFICATION | TICKETING => is_enablement,
                APPROVAL => is_approval,
                _ => is_acrs,
            };
            // Start from a rule already changed by this PATCH, else the policy's own.
            let base = match changed
                .iter()
                .position(|r| r.target.caller == target.0 && r.target.level == target.1 && pick(&r.kind))
            {
                Some(i) => changed.remove(i),
                None => find(current, target, pick)
                    .cloned()
                    .ok_or_else(|| invalid(format!("The policy has no rule for {id} in {}.", list.property())))?,
            };
            changed.push(apply(base, id, &doc)?);
        }
    }
    Ok(changed)
}

fn parse_setting(id: &str, raw: &str) -> DomainResult<Map<String, Value>> {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid(format!("The setting of {id} must be a JSON object encoded as a string."))),
    }
}

/// A property of a setting document, its name compared case-insensitively.
fn prop<'a>(doc: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    doc.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
}

fn bool_prop(doc: &Map<String, Value>, id: &str, name: &str) -> DomainResult<Option<bool>> {
    match prop(doc, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(format!("{id}: '{name}' must be true or false."))),
    }
}

fn apply(mut rule: PolicyRule, id: &str, doc: &Map<String, Value>) -> DomainResult<PolicyRule> {
    match (&mut rule.kind, id) {
        (RuleKind::Expiration { is_expiration_required, maximum_duration }, _) => {
            if let Some(permanent) = bool_prop(doc, id, "permanentAssignment")? {
                *is_expiration_required = !permanent;
            }
            if let Some(max) = maximum_grant_period(doc)? {
                *maximum_duration = max;
            }
        }
        (RuleKind::Enablement { enabled_rules }, _) => {
            let flag = match id {
                MFA => "mfaRequired",
                TICKETING => "ticketingRequired",
                _ => "required",
            };
            let on = bool_prop(doc, id, flag)?.ok_or_else(|| invalid(format!("{id} needs '{flag}'.")))?;
            let which = enablement_of(id).expect("enablement identifiers map to enablements");
            enabled_rules.retain(|e| *e != which);
            if on {
                enabled_rules.push(which);
            }
        }
        (RuleKind::Approval(a), _) => apply_approval(a, doc)?,
        (RuleKind::AuthenticationContext { is_enabled, claim_value }, _) => {
            let required =
                bool_prop(doc, id, "acrsRequired")?.ok_or_else(|| invalid("AcrsRule needs 'acrsRequired'."))?;
            let acrs = match prop(doc, "acrs") {
                None => None,
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Some(_) => {
                    return Err(invalid("AcrsRule: 'acrs' must be an authentication context id such as \"c1\"."))
                }
            };
            if required && acrs.is_none() {
                return Err(invalid("AcrsRule: 'acrsRequired' needs an 'acrs' authentication context."));
            }
            *is_enabled = required;
            *claim_value = acrs.or(claim_value.take()).filter(|_| required);
        }
        (RuleKind::Notification { .. }, _) => {
            return Err(invalid(format!("{id} does not apply to notification rules.")));
        }
    }
    Ok(rule)
}

/// `maximumGrantPeriodInMinutes` (documented), or the live service's `maximumGrantPeriod`
/// ("08:00:00", days allowed as "1.00:00:00").
fn maximum_grant_period(doc: &Map<String, Value>) -> DomainResult<Option<Duration>> {
    if let Some(v) = prop(doc, "maximumGrantPeriodInMinutes") {
        let m = v
            .as_i64()
            .filter(|m| *m > 0)
            .ok_or_else(|| invalid("ExpirationRule: 'maximumGrantPeriodInMinutes' must be a positive whole number."))?;
        return Ok(Some(Duration::minutes(m)));
    }
    match prop(doc, "maximumGrantPeriod") {
        None => Ok(None),
        Some(Value::String(s)) => timespan(s).map(Some).ok_or_else(|| {
            invalid(format!("ExpirationRule: 'maximumGrantPeriod' '{s}' is not a [d.]hh:mm:ss time span."))
        }),
        Some(_) => Err(invalid("ExpirationRule: 'maximumGrantPeriod' must be a [d.]hh:mm:ss string.")),
    }
}

/// .NET's TimeSpan text, `[d.]hh:mm:ss`.
fn timespan(s: &str) -> Option<Duration> {
    let (days, rest) = match s.split_once('.') {
        Some((d, rest)) if !d.contains(':') => (d.parse::<i64>().ok()?, rest),
        _ => (0, s),
    };
    let parts: Vec<i64> = rest.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, sec] = parts.as_slice() else { return None };
    if days < 0 || !(0..24).contains(h) || !(0..60).contains(m) || !(0..60).contains(sec) {
        return None;
    }
    Some(Duration::days(days) + Duration::hours(*h) + Duration::minutes(*m) + Duration::seconds(*sec))
}

/// ApprovalRule: `enabled` (when absent: whether approvers are listed, so the minimal
/// `{"Approvers":[]}` turns approval off) and `approvers` (users and groups), which become the
/// first stage's primary approvers. The stage's other settings (timeout, approver justification)
/// are kept; the beta API has no way to say them.
fn apply_approval(a: &mut ApprovalSettings, doc: &Map<String, Value>) -> DomainResult<()> {
    let approvers = match prop(doc, "approvers") {
        None => None,
        Some(Value::Array(list)) => Some(list.iter().map(approver).collect::<DomainResult<Vec<_>>>()?),
        Some(_) => return Err(invalid("ApprovalRule: 'approvers' must be a list.")),
    };
    let enabled = match bool_prop(doc, APPROVAL, "enabled")? {
        Some(e) => e,
        None => approvers.as_ref().is_some_and(|l| !l.is_empty()),
    };
    if a.stages.is_empty() {
        a.stages.push(ApprovalStage {
            timeout_in_days: 1,
            is_approver_justification_required: true,
            escalation_time_in_minutes: 0,
            is_escalation_enabled: false,
            primary_approvers: vec![],
            escalation_approvers: vec![],
        });
    }
    if let Some(list) = approvers {
        a.stages.truncate(1);
        a.stages[0].primary_approvers = list;
    }
    if enabled && a.stages[0].primary_approvers.is_empty() {
        return Err(invalid("ApprovalRule: an enabled approval needs at least one approver."));
    }
    a.is_approval_required = enabled;
    a.approval_mode = if a.stages.len() == 1 { ApprovalMode::SingleStage } else { a.approval_mode };
    Ok(())
}

fn approver(v: &Value) -> DomainResult<Approver> {
    let Value::Object(doc) = v else { return Err(invalid("ApprovalRule: each approver is an object.")) };
    let id = prop(doc, "id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<ObjectId>().ok())
        .ok_or_else(|| invalid("ApprovalRule: each approver needs an 'id' (an object id)."))?;
    let description = prop(doc, "displayName").and_then(Value::as_str).map(str::to_string);
    match prop(doc, "type").and_then(Value::as_str) {
        None => Ok(Approver::SingleUser { user_id: id, description }),
        Some(t) if t.eq_ignore_ascii_case("User") => Ok(Approver::SingleUser { user_id: id, description }),
        Some(t) if t.eq_ignore_ascii_case("Group") => Ok(Approver::GroupMembers { group_id: id, description }),
        Some(t) => Err(invalid(format!("ApprovalRule: approver type '{t}' is not User or Group."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rules::{apply_update, default_rules};
    use std::collections::HashSet;

    fn entry(id: &str, setting: &str) -> RuleSetting {
        RuleSetting { rule_identifier: id.into(), setting: setting.into() }
    }

    fn setting_of(list: &[RuleSetting], id: &str) -> Value {
        let e = list.iter().find(|e| e.rule_identifier == id).unwrap_or_else(|| panic!("{id} missing"));
        serde_json::from_str(&e.setting).unwrap()
    }

    #[test]
    fn renders_the_four_lists_from_the_default_policy() {
        let rules = default_rules();
        let admin_eligible = render(&rules, SettingList::AdminEligible, &());
        assert_eq!(admin_eligible.len(), 1);
        let exp = setting_of(&admin_eligible, "ExpirationRule");
        assert!(exp["maximumGrantPeriodInMinutes"].as_i64().unwrap() > 0);
        assert!(exp["permanentAssignment"].is_boolean());

        let admin_member = render(&rules, SettingList::AdminMember, &());
        let names: Vec<_> = admin_member.iter().map(|e| e.rule_identifier.as_str()).collect();
        assert_eq!(names, ["ExpirationRule", "MfaRule", "JustificationRule"]);

        assert!(render(&rules, SettingList::UserEligible, &()).is_empty());

        let user_member = render(&rules, SettingList::UserMember, &());
        let names: Vec<_> = user_member.iter().map(|e| e.rule_identifier.as_str()).collect();
        assert_eq!(
            names,
            ["ExpirationRule", "MfaRule", "JustificationRule", "TicketingRule", "ApprovalRule", "AcrsRule"]
        );
        assert_eq!(setting_of(&user_member, "ApprovalRule")["enabled"], false);
        assert_eq!(setting_of(&user_member, "AcrsRule")["acrsRequired"], false);
    }

    #[test]
    fn documented_expiration_patch_round_trips() {
        let current = default_rules();
        let patch = vec![(
            SettingList::AdminEligible,
            vec![entry("ExpirationRule", r#"{"permanentAssignment":false,"maximumGrantPeriodInMinutes":129600}"#)],
        )];
        let changed = to_rules(&current, &patch).unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].id, "Expiration_Admin_Eligibility");
        assert_eq!(
            changed[0].kind,
            RuleKind::Expiration { is_expiration_required: true, maximum_duration: Duration::days(90) }
        );
        let existing = current.iter().find(|r| r.id == changed[0].id).unwrap();
        let updated = apply_update(existing, changed[0].clone(), &HashSet::new()).unwrap();
        let after: Vec<PolicyRule> =
            current.iter().map(|r| if r.id == updated.id { updated.clone() } else { r.clone() }).collect();
        let exp = setting_of(&render(&after, SettingList::AdminEligible, &()), "ExpirationRule");
        assert_eq!(exp, json!({"permanentAssignment": false, "maximumGrantPeriodInMinutes": 129600}));
    }

    #[test]
    fn enablement_entries_of_one_list_merge_into_one_rule() {
        let current = default_rules();
        let patch = vec![(
            SettingList::UserMember,
            vec![
                entry("MfaRule", r#"{"mfaRequired":false}"#),
                entry("JustificationRule", r#"{"required":true}"#),
                entry("TicketingRule", r#"{"ticketingRequired":true}"#),
                entry("ExpirationRule", r#"{"maximumGrantPeriod":"08:00:00"}"#),
            ],
        )];
        let changed = to_rules(&current, &patch).unwrap();
        assert_eq!(changed.len(), 2);
        let enablement = changed.iter().find(|r| r.id == "Enablement_EndUser_Assignment").unwrap();
        let RuleKind::Enablement { enabled_rules } = &enablement.kind else { panic!() };
        assert!(!enabled_rules.contains(&Enablement::MultiFactorAuthentication));
        assert!(enabled_rules.contains(&Enablement::Justification));
        assert!(enabled_rules.contains(&Enablement::Ticketing));
        let expiration = changed.iter().find(|r| r.id == "Expiration_EndUser_Assignment").unwrap();
        assert!(
            matches!(expiration.kind, RuleKind::Expiration { maximum_duration, .. } if maximum_duration == Duration::hours(8))
        );
    }

    #[test]
    fn approval_and_acrs_map_both_ways() {
        let current = default_rules();
        let user = ObjectId::from_u128(7);
        let group = ObjectId::from_u128(8);
        let setting = format!(
            r#"{{"Enabled":true,"Approvers":[{{"Id":"{user}","Type":"User","DisplayName":"Ann","Email":"a@x"}},{{"Id":"{group}","Type":"Group"}}],"BusinessFlowId":null}}"#
        );
        let patch = vec![(
            SettingList::UserMember,
            vec![entry("ApprovalRule", &setting), entry("AcrsRule", r#"{"acrsRequired":true,"acrs":"c1"}"#)],
        )];
        let changed = to_rules(&current, &patch).unwrap();
        let RuleKind::Approval(a) = &changed.iter().find(|r| r.id == "Approval_EndUser_Assignment").unwrap().kind
        else {
            panic!()
        };
        assert!(a.is_approval_required);
        assert_eq!(a.stages[0].primary_approvers.len(), 2);
        assert!(
            matches!(a.stages[0].primary_approvers[1], Approver::GroupMembers { group_id, .. } if group_id == group)
        );
        let acrs = changed.iter().find(|r| r.id == "AuthenticationContext_EndUser_Assignment").unwrap();
        assert_eq!(acrs.kind, RuleKind::AuthenticationContext { is_enabled: true, claim_value: Some("c1".into()) });

        let after: Vec<PolicyRule> = current
            .iter()
            .map(|r| changed.iter().find(|c| c.id == r.id).cloned().unwrap_or_else(|| r.clone()))
            .collect();
        struct Names;
        impl ApproverNames for Names {
            fn describe(&self, id: ObjectId) -> Option<(String, String)> {
                (id == ObjectId::from_u128(7)).then(|| ("Ann".into(), "a@x".into()))
            }
        }
        let list = render(&after, SettingList::UserMember, &Names);
        let approval = setting_of(&list, "ApprovalRule");
        assert_eq!(approval["enabled"], true);
        assert_eq!(approval["approvers"][0]["id"], user.to_string());
        assert_eq!(approval["approvers"][0]["displayName"], "Ann");
        assert_eq!(approval["approvers"][1]["type"], "Group");
        assert_eq!(setting_of(&list, "AcrsRule"), json!({"acrsRequired": true, "acrs": "c1"}));

        // The minimal write turns approval off.
        let off =
            to_rules(&after, &vec![(SettingList::UserMember, vec![entry("ApprovalRule", r#"{"Approvers":[]}"#)])])
                .unwrap();
        let RuleKind::Approval(a) = &off[0].kind else { panic!() };
        assert!(!a.is_approval_required);
    }

    #[test]
    fn bad_settings_are_invalid_role_settings() {
        let current = default_rules();
        let cases: Vec<(SettingList, &str, &str)> = vec![
            (SettingList::AdminEligible, "MfaRule", r#"{"mfaRequired":true}"#),
            (SettingList::UserMember, "AttributeConditionRule", "{}"),
            (SettingList::UserMember, "MfaRule", "not json"),
            (SettingList::UserMember, "MfaRule", r#""a string""#),
            (SettingList::UserMember, "MfaRule", r#"{"mfaRequired":"yes"}"#),
            (SettingList::UserMember, "JustificationRule", "{}"),
            (SettingList::AdminMember, "ExpirationRule", r#"{"maximumGrantPeriodInMinutes":-5}"#),
            (SettingList::AdminMember, "ExpirationRule", r#"{"maximumGrantPeriod":"8 hours"}"#),
            (SettingList::UserMember, "ApprovalRule", r#"{"enabled":true,"approvers":[]}"#),
            (SettingList::UserMember, "ApprovalRule", r#"{"approvers":[{"id":"nope"}]}"#),
            (SettingList::UserMember, "AcrsRule", r#"{"acrsRequired":true}"#),
            (SettingList::UserEligible, "ExpirationRule", r#"{"maximumGrantPeriodInMinutes":60}"#),
        ];
        for (list, id, setting) in cases {
            let e = to_rules(&current, &vec![(list, vec![entry(id, setting)])]).unwrap_err();
            assert_eq!(e.code, "InvalidRoleSetting", "{id} {setting}: {e}");
        }
        // Empty lists change nothing.
        assert!(to_rules(&current, &vec![(SettingList::UserEligible, vec![])]).unwrap().is_empty());
    }

    #[test]
    fn policy_validation_errors_read_as_invalid_role_setting() {
        let e = DomainError::invalid("InvalidPolicyRule", "maximumDuration must be between PT5M and PT24H");
        assert_eq!(as_role_setting_error(e).code, "InvalidRoleSetting");
        let other = DomainError::bad_request("x");
        assert_eq!(as_role_setting_error(other).code, "Request_BadRequest");
    }

    #[test]
    fn timespans() {
        assert_eq!(timespan("08:00:00"), Some(Duration::hours(8)));
        assert_eq!(
            timespan("1.02:03:04"),
            Some(Duration::days(1) + Duration::hours(2) + Duration::minutes(3) + Duration::seconds(4))
        );
        assert_eq!(timespan("25:00:00"), None);
        assert_eq!(timespan("8h"), None);
    }
}
