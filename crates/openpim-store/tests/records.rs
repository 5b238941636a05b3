//! Golden tests of the store's JSON column formats (`openpim_store::records`): each fixture is
//! what existing databases hold (see `fixtures/README.md`); it must decode to the values it
//! describes and re-encode to the same bytes.
//!
//! Why a rename in core cannot slip through: the record types convert to and from core's types
//! by exhaustive destructuring and variant-by-variant matches. Rename `RuleKind::Approval` (or
//! `Caller::EndUser`, `StepStatus::Completed`, a field of `ApprovalStage`, ...) in core and
//! `openpim-store` no longer compiles, so these tests fail until the store's conversion is
//! updated; the record type keeps its own name, so the bytes below still round-trip. Rename a
//! record type's variant or field instead and the byte comparison fails. Swap two variants in a
//! conversion and the value assertions fail.

use openpim_core::approval::{ReviewResult, StepStatus};
use openpim_core::policy::rules::{ApprovalMode, Approver, Enablement, NotificationLevel, RecipientType, RuleKind};
use openpim_core::policy::{Caller, Level};
use openpim_store::records::{approval_steps, policy_rules, role_permissions, string_list};
use std::collections::BTreeSet;
use time::macros::datetime;
use time::Duration;
use uuid::uuid;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // Editors may add a final newline; the stored bytes never had one.
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

const USER: uuid::Uuid = uuid!("6a7f3c51-0b2e-4d8a-9f1c-2e3d4c5b6a79");
const GROUP: uuid::Uuid = uuid!("0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f");
const REVIEWER: uuid::Uuid = uuid!("3f2e1d0c-9b8a-4766-8544-332211009988");

#[test]
fn every_fixture_reencodes_to_its_own_bytes() {
    for name in ["policy_rules_default.json", "policy_rules_variants.json"] {
        let stored = fixture(name);
        let rules = policy_rules::decode(&stored).unwrap();
        assert_eq!(policy_rules::encode(&rules).unwrap(), stored, "{name}");
    }
    for name in ["approval_steps_in_progress.json", "approval_steps_denied.json"] {
        let stored = fixture(name);
        let steps = approval_steps::decode(&stored).unwrap();
        assert_eq!(approval_steps::encode(&steps).unwrap(), stored, "{name}");
    }
    let stored = fixture("string_list.json");
    let list = string_list::decode(&stored).unwrap();
    assert_eq!(list, ["secops@example.com", "c1", "quote \" and ünicode"]);
    assert_eq!(string_list::encode(&list).unwrap(), stored);
}

#[test]
fn the_default_policy_decodes_to_entras_seventeen_rules() {
    let rules = policy_rules::decode(&fixture("policy_rules_default.json")).unwrap();
    assert_eq!(rules.len(), 17);
    let ids: BTreeSet<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 17, "rule ids are unique");
    for rule in &rules {
        // The id names the kind, caller and level: `Expiration_EndUser_Assignment`,
        // `Notification_Admin_Admin_Eligibility` (recipient type first).
        let kind = match &rule.kind {
            RuleKind::Expiration { .. } => "Expiration",
            RuleKind::Enablement { .. } => "Enablement",
            RuleKind::Approval(_) => "Approval",
            RuleKind::AuthenticationContext { .. } => "AuthenticationContext",
            RuleKind::Notification { .. } => "Notification",
        };
        let caller = match rule.target.caller {
            Caller::Admin => "Admin",
            Caller::EndUser => "EndUser",
        };
        let level = match rule.target.level {
            Level::Eligibility => "Eligibility",
            Level::Assignment => "Assignment",
        };
        assert!(rule.id.starts_with(kind), "{} is a {kind} rule", rule.id);
        assert!(rule.id.ends_with(&format!("_{caller}_{level}")), "{} targets {caller} {level}", rule.id);
        if let RuleKind::Notification { recipient_type, level, .. } = &rule.kind {
            assert!(rule.id.starts_with(&format!("Notification_{}_", recipient_type.as_str())), "{}", rule.id);
            assert_eq!(*level, NotificationLevel::All);
        }
    }
    let end_user_expiry = rules.iter().find(|r| r.id == "Expiration_EndUser_Assignment").unwrap();
    assert_eq!(
        end_user_expiry.kind,
        RuleKind::Expiration { is_expiration_required: true, maximum_duration: Duration::hours(8) }
    );
    let end_user_enablement = rules.iter().find(|r| r.id == "Enablement_EndUser_Assignment").unwrap();
    assert_eq!(
        end_user_enablement.kind,
        RuleKind::Enablement { enabled_rules: vec![Enablement::MultiFactorAuthentication, Enablement::Justification] }
    );
}

#[test]
fn the_variants_decode_to_the_values_they_describe() {
    let rules = policy_rules::decode(&fixture("policy_rules_variants.json")).unwrap();
    let [expiry, enablement, serial, parallel, no_approval, auth_context, critical, silent] = &rules[..] else {
        panic!("8 rules expected, got {}", rules.len());
    };

    assert_eq!((expiry.target.caller, expiry.target.level), (Caller::EndUser, Level::Eligibility));
    assert_eq!(expiry.target.operations, ["all", "activate"]);
    assert_eq!(expiry.target.inheritable_settings, ["inherited"]);
    assert_eq!(expiry.target.enforced_settings, ["enforced"]);
    assert_eq!(
        expiry.kind,
        RuleKind::Expiration {
            is_expiration_required: false,
            maximum_duration: Duration::minutes(90) + Duration::milliseconds(250)
        }
    );

    assert_eq!(
        enablement.kind,
        RuleKind::Enablement {
            enabled_rules: vec![
                Enablement::MultiFactorAuthentication,
                Enablement::Justification,
                Enablement::Ticketing
            ]
        }
    );

    let RuleKind::Approval(a) = &serial.kind else { panic!("approval rule expected") };
    assert!(a.is_approval_required && a.is_approval_required_for_extension && !a.is_requestor_justification_required);
    assert_eq!(a.approval_mode, ApprovalMode::Serial);
    let [first, second] = &a.stages[..] else { panic!("two stages expected") };
    assert_eq!(
        (first.timeout_in_days, first.is_approver_justification_required, first.escalation_time_in_minutes),
        (2, false, 30)
    );
    assert!(first.is_escalation_enabled && !second.is_escalation_enabled);
    assert_eq!(
        first.primary_approvers,
        [Approver::SingleUser { user_id: USER, description: Some("Security lead".into()) }]
    );
    assert_eq!(first.escalation_approvers, [Approver::GroupMembers { group_id: GROUP, description: None }]);
    assert_eq!(
        second.primary_approvers,
        [Approver::GroupMembers { group_id: GROUP, description: Some("Approvers".into()) }]
    );
    assert!(second.escalation_approvers.is_empty());

    let RuleKind::Approval(p) = &parallel.kind else { panic!("approval rule expected") };
    assert_eq!(
        (p.approval_mode, parallel.target.caller, parallel.target.level),
        (ApprovalMode::Parallel, Caller::Admin, Level::Assignment)
    );
    let RuleKind::Approval(n) = &no_approval.kind else { panic!("approval rule expected") };
    assert_eq!((n.approval_mode, no_approval.target.level), (ApprovalMode::NoApproval, Level::Eligibility));

    assert_eq!(auth_context.kind, RuleKind::AuthenticationContext { is_enabled: true, claim_value: Some("c1".into()) });
    assert_eq!(
        critical.kind,
        RuleKind::Notification {
            recipient_type: RecipientType::Admin,
            level: NotificationLevel::Critical,
            is_default_recipients_enabled: false,
            recipients: vec!["secops@example.com".into(), "pim@example.com".into()],
        }
    );
    assert_eq!(
        silent.kind,
        RuleKind::Notification {
            recipient_type: RecipientType::Approver,
            level: NotificationLevel::None,
            is_default_recipients_enabled: true,
            recipients: vec![],
        }
    );
}

#[test]
fn approval_steps_decode_in_every_state() {
    let steps = approval_steps::decode(&fixture("approval_steps_in_progress.json")).unwrap();
    let [approved, current, later] = &steps[..] else { panic!("3 steps expected, got {}", steps.len()) };
    assert_eq!((approved.status, approved.review_result), (StepStatus::Completed, ReviewResult::Approve));
    assert_eq!(approved.reviewed_by, Some(REVIEWER));
    assert_eq!(approved.reviewed_at, Some(datetime!(2026-03-04 05:06:07.123456 UTC)));
    assert_eq!(approved.justification.as_deref(), Some("Ticket INC-42 checked"));
    assert!(approved.is_approver_justification_required);
    assert_eq!(approved.approvers, [Approver::SingleUser { user_id: USER, description: Some("Security lead".into()) }]);

    assert_eq!((current.status, current.review_result), (StepStatus::InProgress, ReviewResult::NotReviewed));
    assert_eq!((current.reviewed_by, current.reviewed_at, current.justification.as_deref()), (None, None, None));
    assert_eq!(current.approvers, [Approver::GroupMembers { group_id: GROUP, description: None }]);

    assert_eq!((later.status, later.review_result), (StepStatus::NotStarted, ReviewResult::NotReviewed));
    assert_eq!(
        later.approvers,
        [
            Approver::GroupMembers { group_id: GROUP, description: Some("Approvers".into()) },
            Approver::SingleUser { user_id: REVIEWER, description: None }
        ]
    );

    let denied = approval_steps::decode(&fixture("approval_steps_denied.json")).unwrap();
    let [step] = &denied[..] else { panic!("one step expected") };
    assert_eq!((step.status, step.review_result), (StepStatus::Completed, ReviewResult::Deny));
    assert_eq!(step.reviewed_at, Some(datetime!(2026-12-31 23:59:59.999999 UTC)));
}

#[test]
fn a_corrupt_document_is_reported_not_guessed() {
    // An unknown variant (what a renamed core variant would have written) and an impossible
    // instant are errors naming the column, never a silently different value.
    let renamed = fixture("policy_rules_variants.json").replace("\"Serial\"", "\"Sequential\"");
    let err = policy_rules::decode(&renamed).unwrap_err().to_string();
    assert!(err.contains("policy rules") && err.contains("Sequential"), "{err}");
    let bad_day = fixture("approval_steps_denied.json").replace("[2026,365,", "[2026,366,");
    let err = approval_steps::decode(&bad_day).unwrap_err().to_string();
    assert!(err.contains("instant"), "{err}");
}

/// What the store wrote for a role's permissions before `records::role_permissions` existed
/// (the removed `permissions_json`), rebuilt here to show the v1 fixture is those bytes.
fn permissions_json_before_records(blocks: &[(Vec<&str>, Vec<&str>, Option<&str>)]) -> String {
    serde_json::Value::Array(
        blocks
            .iter()
            .map(|(allowed, excluded, condition)| {
                serde_json::json!({"allowedResourceActions": allowed,
                                   "excludedResourceActions": excluded,
                                   "condition": condition})
            })
            .collect(),
    )
    .to_string()
}

#[test]
fn directory_role_permissions_stay_version_1() {
    let stored = fixture("role_permissions_v1.json");
    assert_eq!(
        permissions_json_before_records(&[
            (
                vec!["microsoft.directory/users/create", "microsoft.directory/users/basic/update"],
                vec!["microsoft.directory/users/delete"],
                None
            ),
            (vec!["microsoft.directory/applications/credentials/update"], vec![], Some("$ResourceIsSelf")),
        ]),
        stored,
        "the fixture is what earlier versions wrote"
    );
    let blocks = role_permissions::decode(&stored).unwrap();
    assert_eq!(blocks.len(), 2);
    assert_eq!(
        blocks[0].allowed_resource_actions,
        ["microsoft.directory/users/create", "microsoft.directory/users/basic/update"]
    );
    assert_eq!(blocks[0].excluded_resource_actions, ["microsoft.directory/users/delete"]);
    assert_eq!(blocks[0].condition, None);
    assert_eq!(blocks[1].condition.as_deref(), Some("$ResourceIsSelf"));
    for b in &blocks {
        assert!(b.allowed_data_actions.is_empty() && b.excluded_data_actions.is_empty());
        assert_eq!(b.condition_version, None);
    }
    assert_eq!(role_permissions::encode(&blocks).unwrap(), stored, "directory roles are still written as v1");
}

#[test]
fn azure_role_permissions_are_version_2() {
    let stored = fixture("role_permissions_v2.json");
    let blocks = role_permissions::decode(&stored).unwrap();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].allowed_resource_actions, ["*"]);
    assert_eq!(blocks[0].excluded_resource_actions, ["Microsoft.Authorization/*/Delete"]);
    assert!(blocks[0].allowed_data_actions.is_empty() && blocks[0].excluded_data_actions.is_empty());
    assert_eq!((blocks[0].condition.as_deref(), blocks[0].condition_version.as_deref()), (None, None));
    assert_eq!(blocks[1].allowed_resource_actions, ["Microsoft.Authorization/roleAssignments/write"]);
    assert_eq!(blocks[1].allowed_data_actions, ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"]);
    assert_eq!(
        blocks[1].excluded_data_actions,
        ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"]
    );
    assert!(blocks[1].condition.as_deref().is_some_and(|c| c.starts_with("((!(ActionMatches")));
    assert_eq!(blocks[1].condition_version.as_deref(), Some("2.0"));
    assert_eq!(role_permissions::encode(&blocks).unwrap(), stored);
    // A version the store does not know is corrupt data, never read as something else.
    for bad in [r#"{"v":3,"permissions":[]}"#, r#"{"permissions":[]}"#, r#"[{"actions":["*"]}]"#] {
        assert!(role_permissions::decode(bad).is_err(), "{bad}");
    }
}
