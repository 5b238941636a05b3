"""Role management policies through the official Graph SDK: policy assignments with the
policy and its polymorphic rules expanded, rule PATCHes, their enforcement, and approvals."""

from __future__ import annotations

import datetime as dt

import pytest
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.models.approval import Approval
from msgraph.generated.models.approval_collection_response import ApprovalCollectionResponse
from msgraph.generated.models.approval_settings import ApprovalSettings
from msgraph.generated.models.approval_stage import ApprovalStage
from msgraph.generated.models.approval_stage_collection_response import ApprovalStageCollectionResponse
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.single_user import SingleUser
from msgraph.generated.models.ticket_info import TicketInfo
from msgraph.generated.models.unified_approval_stage import UnifiedApprovalStage
from msgraph.generated.models.unified_role_management_policy import UnifiedRoleManagementPolicy
from msgraph.generated.models.unified_role_management_policy_approval_rule import (
    UnifiedRoleManagementPolicyApprovalRule,
)
from msgraph.generated.models.unified_role_management_policy_authentication_context_rule import (
    UnifiedRoleManagementPolicyAuthenticationContextRule,
)
from msgraph.generated.models.unified_role_management_policy_enablement_rule import (
    UnifiedRoleManagementPolicyEnablementRule,
)
from msgraph.generated.models.unified_role_management_policy_expiration_rule import (
    UnifiedRoleManagementPolicyExpirationRule,
)
from msgraph.generated.models.unified_role_management_policy_notification_rule import (
    UnifiedRoleManagementPolicyNotificationRule,
)
from msgraph.generated.models.unified_role_management_policy_rule_target import UnifiedRoleManagementPolicyRuleTarget
from msgraph.generated.models.unified_role_management_policy_rule_target_operations import (
    UnifiedRoleManagementPolicyRuleTargetOperations,
)
from msgraph.generated.policies.role_management_policy_assignments.role_management_policy_assignments_request_builder import (
    RoleManagementPolicyAssignmentsRequestBuilder,
)

from helpers import (
    EXCHANGE_ADMINISTRATOR,
    GLOBAL_ADMIN_ID,
    PASSWORD_ADMINISTRATOR,
    SECURITY_READER,
    SHAREPOINT_ADMINISTRATOR,
    activate,
    make_eligible,
    query,
)

ERROR_MAPPING = {"XXX": ODataError}

EXPECTED_RULE_TYPES = {
    "Expiration_Admin_Eligibility": UnifiedRoleManagementPolicyExpirationRule,
    "Enablement_Admin_Eligibility": UnifiedRoleManagementPolicyEnablementRule,
    "Notification_Admin_Admin_Eligibility": UnifiedRoleManagementPolicyNotificationRule,
    "Notification_Requestor_Admin_Eligibility": UnifiedRoleManagementPolicyNotificationRule,
    "Notification_Approver_Admin_Eligibility": UnifiedRoleManagementPolicyNotificationRule,
    "Expiration_Admin_Assignment": UnifiedRoleManagementPolicyExpirationRule,
    "Enablement_Admin_Assignment": UnifiedRoleManagementPolicyEnablementRule,
    "Notification_Admin_Admin_Assignment": UnifiedRoleManagementPolicyNotificationRule,
    "Notification_Requestor_Admin_Assignment": UnifiedRoleManagementPolicyNotificationRule,
    "Notification_Approver_Admin_Assignment": UnifiedRoleManagementPolicyNotificationRule,
    "Expiration_EndUser_Assignment": UnifiedRoleManagementPolicyExpirationRule,
    "Enablement_EndUser_Assignment": UnifiedRoleManagementPolicyEnablementRule,
    "Approval_EndUser_Assignment": UnifiedRoleManagementPolicyApprovalRule,
    "AuthenticationContext_EndUser_Assignment": UnifiedRoleManagementPolicyAuthenticationContextRule,
    "Notification_Admin_EndUser_Assignment": UnifiedRoleManagementPolicyNotificationRule,
    "Notification_Requestor_EndUser_Assignment": UnifiedRoleManagementPolicyNotificationRule,
    "Notification_Approver_EndUser_Assignment": UnifiedRoleManagementPolicyNotificationRule,
}


def policy_of(admin, run, role_id: str) -> UnifiedRoleManagementPolicy:
    """The role's policy with its rules, via the policy assignment (as the Graph docs do)."""
    cfg = query(RoleManagementPolicyAssignmentsRequestBuilder,
                "RoleManagementPolicyAssignmentsRequestBuilderGetQueryParameters",
                filter=f"scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{role_id}'",
                expand=["policy($expand=rules)"])
    page = run(admin.policies.role_management_policy_assignments.get(request_configuration=cfg))
    assert len(page.value) == 1, [a.id for a in page.value]
    assignment = page.value[0]
    assert assignment.role_definition_id == role_id
    assert assignment.policy is not None and assignment.policy.rules
    return assignment.policy


def rule_builder(admin, policy_id: str, rule_id: str):
    return (admin.policies.role_management_policies.by_unified_role_management_policy_id(policy_id)
            .rules.by_unified_role_management_policy_rule_id(rule_id))


def end_user_target() -> UnifiedRoleManagementPolicyRuleTarget:
    return UnifiedRoleManagementPolicyRuleTarget(
        caller="EndUser",
        operations=[UnifiedRoleManagementPolicyRuleTargetOperations.All],
        level="Assignment",
        inheritable_settings=[],
        enforced_settings=[],
    )


def test_policy_assignments_expand_policy_and_rules(admin, run):
    policy = policy_of(admin, run, GLOBAL_ADMIN_ID)
    assert policy.id.startswith("DirectoryRole_")
    assert policy.scope_id == "/"
    assert policy.scope_type == "DirectoryRole"
    rules = {r.id: r for r in policy.rules}
    assert set(rules) == set(EXPECTED_RULE_TYPES)
    for rule_id, cls in EXPECTED_RULE_TYPES.items():
        assert type(rules[rule_id]) is cls, f"{rule_id} parsed as {type(rules[rule_id]).__name__}"
        assert rules[rule_id].target is not None

    exp = rules["Expiration_EndUser_Assignment"]
    assert exp.is_expiration_required is True
    assert exp.maximum_duration == dt.timedelta(hours=8)
    assert exp.target.caller == "EndUser" and exp.target.level == "Assignment"
    assert exp.target.operations == [UnifiedRoleManagementPolicyRuleTargetOperations.All]
    assert rules["Expiration_Admin_Eligibility"].maximum_duration == dt.timedelta(days=365)
    assert rules["Expiration_Admin_Assignment"].maximum_duration == dt.timedelta(days=180)
    assert set(rules["Enablement_EndUser_Assignment"].enabled_rules) == {"MultiFactorAuthentication", "Justification"}
    approval = rules["Approval_EndUser_Assignment"]
    assert approval.setting.is_approval_required is False
    assert approval.setting.approval_mode == "SingleStage"
    assert approval.setting.approval_stages[0].approval_stage_time_out_in_days == 1
    ctx = rules["AuthenticationContext_EndUser_Assignment"]
    assert ctx.is_enabled is False and ctx.claim_value is None
    note = rules["Notification_Admin_Admin_Eligibility"]
    assert note.notification_type == "Email" and note.recipient_type == "Admin"
    assert note.notification_level == "All" and note.is_default_recipients_enabled is True

    # The same policy, directly and through its rules collection.
    direct = run(admin.policies.role_management_policies.by_unified_role_management_policy_id(policy.id).get())
    assert direct.id == policy.id and direct.scope_type == "DirectoryRole"
    listed = run(admin.policies.role_management_policies.by_unified_role_management_policy_id(policy.id)
                 .rules.get())
    assert {type(r) for r in listed.value} == set(EXPECTED_RULE_TYPES.values())
    one = run(rule_builder(admin, policy.id, "Expiration_EndUser_Assignment").get())
    assert isinstance(one, UnifiedRoleManagementPolicyExpirationRule)
    assert one.maximum_duration == dt.timedelta(hours=8)


def test_policy_assignments_without_role_filter(admin, run):
    cfg = query(RoleManagementPolicyAssignmentsRequestBuilder,
                "RoleManagementPolicyAssignmentsRequestBuilderGetQueryParameters",
                filter="scopeId eq '/' and scopeType eq 'DirectoryRole'")
    page = run(admin.policies.role_management_policy_assignments.get(request_configuration=cfg))
    assert len(page.value) > 1
    for a in page.value:
        assert a.id == f"{a.policy_id}_{a.role_definition_id}"
        assert a.scope_id == "/" and a.scope_type == "DirectoryRole"
        assert a.policy is None


def test_expiration_rule_patch_is_enforced(admin, client_for, run, new_user):
    role = PASSWORD_ADMINISTRATOR
    policy = policy_of(admin, run, role)
    result = run(rule_builder(admin, policy.id, "Expiration_EndUser_Assignment").patch(
        UnifiedRoleManagementPolicyExpirationRule(
            id="Expiration_EndUser_Assignment",
            is_expiration_required=True,
            maximum_duration="PT2H",  # ISO string: Kiota would write a timedelta as "2:00:00"
            target=end_user_target(),
        )))
    assert result is None or isinstance(result, UnifiedRoleManagementPolicyExpirationRule)
    rule = run(rule_builder(admin, policy.id, "Expiration_EndUser_Assignment").get())
    assert rule.maximum_duration == dt.timedelta(hours=2)
    assert rule.is_expiration_required is True
    after = {r.id: r for r in policy_of(admin, run, role).rules}
    assert after["Expiration_EndUser_Assignment"].maximum_duration == dt.timedelta(hours=2)

    user = new_user("exp")
    make_eligible(admin, run, user.id, role)
    me = client_for(user.user_principal_name)
    with pytest.raises(ODataError) as err:
        activate(me, run, user.id, role, "PT3H", "three hours please")
    assert err.value.response_status_code == 400
    assert err.value.error.code == "RoleAssignmentRequestPolicyValidationFailed"
    assert "ExpirationRule" in err.value.error.message

    # Within the new maximum it works.
    ok = activate(me, run, user.id, role, "PT90M", "ninety minutes")
    assert ok.status == "Provisioned"
    assert ok.schedule_info.expiration.duration == dt.timedelta(minutes=90)


def test_enablement_rule_patch_is_enforced(admin, client_for, run, new_user):
    role = EXCHANGE_ADMINISTRATOR
    policy = policy_of(admin, run, role)
    run(rule_builder(admin, policy.id, "Enablement_EndUser_Assignment").patch(
        UnifiedRoleManagementPolicyEnablementRule(
            id="Enablement_EndUser_Assignment",
            enabled_rules=["MultiFactorAuthentication", "Justification", "Ticketing"],
            target=end_user_target(),
        )))
    rule = run(rule_builder(admin, policy.id, "Enablement_EndUser_Assignment").get())
    assert isinstance(rule, UnifiedRoleManagementPolicyEnablementRule)
    assert set(rule.enabled_rules) == {"MultiFactorAuthentication", "Justification", "Ticketing"}

    user = new_user("tick")
    make_eligible(admin, run, user.id, role)
    me = client_for(user.user_principal_name)
    with pytest.raises(ODataError) as err:
        activate(me, run, user.id, role, "PT1H", "no ticket")
    assert err.value.error.code == "RoleAssignmentRequestPolicyValidationFailed"
    assert "TicketingRule" in err.value.error.message
    with pytest.raises(ODataError) as err:
        activate(me, run, user.id, role, "PT1H", None, ticket=TicketInfo(ticket_number="CHG-1", ticket_system="Jira"))
    assert err.value.error.code == "RoleAssignmentRequestPolicyValidationFailed"
    assert "JustificationRule" in err.value.error.message

    ok = activate(me, run, user.id, role, "PT1H", "with ticket",
                  ticket=TicketInfo(ticket_number="CHG-1", ticket_system="Jira"))
    assert ok.status == "Provisioned"
    assert ok.ticket_info.ticket_system == "Jira"


def test_wrong_rule_type_in_patch_is_refused(admin, run):
    policy = policy_of(admin, run, SHAREPOINT_ADMINISTRATOR)
    with pytest.raises(ODataError) as err:
        run(rule_builder(admin, policy.id, "Expiration_EndUser_Assignment").patch(
            UnifiedRoleManagementPolicyEnablementRule(id="Expiration_EndUser_Assignment", enabled_rules=[])))
    assert err.value.response_status_code == 400


async def beta_get(client, template: str, params: dict, factory):
    """GET a route the v1.0 SDK has no request builder for, through the SDK's own adapter."""
    ri = RequestInformation(Method.GET, "{+baseurl}" + template, dict(params))
    ri.headers.try_add("Accept", "application/json")
    return await client.request_adapter.send_async(ri, factory, ERROR_MAPPING)


def test_approval_flow(admin, client_for, run, run_unchecked, new_user):
    role = SECURITY_READER
    approver = new_user("approver")
    requester = new_user("requester")
    policy = policy_of(admin, run, role)
    run(rule_builder(admin, policy.id, "Approval_EndUser_Assignment").patch(
        UnifiedRoleManagementPolicyApprovalRule(
            id="Approval_EndUser_Assignment",
            target=end_user_target(),
            setting=ApprovalSettings(
                is_approval_required=True,
                is_approval_required_for_extension=False,
                is_requestor_justification_required=True,
                approval_mode="SingleStage",
                approval_stages=[UnifiedApprovalStage(
                    approval_stage_time_out_in_days=1,
                    is_approver_justification_required=True,
                    escalation_time_in_minutes=0,
                    is_escalation_enabled=False,
                    primary_approvers=[SingleUser(user_id=approver.id, description="Security lead")],
                    escalation_approvers=[],
                )],
            ),
        )))
    rule = run(rule_builder(admin, policy.id, "Approval_EndUser_Assignment").get())
    assert isinstance(rule, UnifiedRoleManagementPolicyApprovalRule)
    assert rule.setting.is_approval_required is True
    approvers = rule.setting.approval_stages[0].primary_approvers
    assert len(approvers) == 1 and isinstance(approvers[0], SingleUser)
    assert approvers[0].user_id == approver.id

    make_eligible(admin, run, requester.id, role)
    me = client_for(requester.user_principal_name)
    req = activate(me, run, requester.id, role, "PT2H", "quarterly review")
    assert req.status == "PendingApproval"
    assert req.approval_id
    mine = run(me.role_management.directory.role_assignment_schedule_instances
               .filter_by_current_user_with_on("principal").get())
    assert role not in [i.role_definition_id for i in mine.value]

    # The approval itself is Graph beta's roleAssignmentApprovals: the v1.0 SDK has no request
    # builder for it, so the approver drives it through the SDK's request adapter.
    approver_client = client_for(approver.user_principal_name)
    # A beta approval has `steps` where v1.0's `approval` has `stages`: read with the v1.0 model,
    # the steps stay in additional_data, so these two calls skip the parse check.
    waiting = run_unchecked(beta_get(approver_client, "/roleManagement/directory/roleAssignmentApprovals/"
                                     "filterByCurrentUser(on='approver')", {}, ApprovalCollectionResponse))
    assert req.approval_id in [a.id for a in waiting.value]
    approval = run_unchecked(beta_get(approver_client,
                                      "/roleManagement/directory/roleAssignmentApprovals/{approval_id}",
                                      {"approval_id": req.approval_id}, Approval))
    assert approval.id == req.approval_id
    assert len(approval.additional_data["steps"]) == 1
    steps = run(beta_get(approver_client, "/roleManagement/directory/roleAssignmentApprovals/{approval_id}/steps",
                         {"approval_id": req.approval_id}, ApprovalStageCollectionResponse))
    assert len(steps.value) == 1
    step = steps.value[0]
    assert step.assigned_to_me is True
    assert step.review_result == "NotReviewed"

    # The requester cannot approve their own request.
    patch = RequestInformation(Method.PATCH,
                               "{+baseurl}/roleManagement/directory/roleAssignmentApprovals/{approval_id}/steps/{step_id}",
                               {"approval_id": req.approval_id, "step_id": step.id})
    patch.set_content_from_parsable(me.request_adapter, "application/json",
                                    ApprovalStage(review_result="Approve", justification="me"))
    with pytest.raises(ODataError) as err:
        run(me.request_adapter.send_no_response_content_async(patch, ERROR_MAPPING))
    assert 400 <= err.value.response_status_code < 500

    patch = RequestInformation(Method.PATCH,
                               "{+baseurl}/roleManagement/directory/roleAssignmentApprovals/{approval_id}/steps/{step_id}",
                               {"approval_id": req.approval_id, "step_id": step.id})
    patch.set_content_from_parsable(approver_client.request_adapter, "application/json",
                                    ApprovalStage(review_result="Approve", justification="Looks right"))
    run(approver_client.request_adapter.send_no_response_content_async(patch, ERROR_MAPPING))

    # From here on, only v1.0 SDK calls: the request is provisioned and the role is active.
    done = run(me.role_management.directory.role_assignment_schedule_requests
               .by_unified_role_assignment_schedule_request_id(req.id).get())
    assert done.status == "Provisioned"
    mine = run(me.role_management.directory.role_assignment_schedule_instances
               .filter_by_current_user_with_on("principal").get())
    active = [i for i in mine.value if i.role_definition_id == role]
    assert len(active) == 1 and active[0].assignment_type == "Activated"
    steps = run(beta_get(approver_client, "/roleManagement/directory/roleAssignmentApprovals/{approval_id}/steps",
                         {"approval_id": req.approval_id}, ApprovalStageCollectionResponse))
    assert steps.value[0].review_result == "Approve"
    assert steps.value[0].reviewed_by.id == approver.id
    assert isinstance(steps.value[0].reviewed_date_time, dt.datetime)


def test_pending_activation_can_be_canceled(admin, client_for, run, new_user):
    """A second role with approval required; the requester cancels while it waits."""
    from helpers import TEAMS_ADMINISTRATOR as role

    approver = new_user("approver2")
    requester = new_user("requester2")
    policy = policy_of(admin, run, role)
    run(rule_builder(admin, policy.id, "Approval_EndUser_Assignment").patch(
        UnifiedRoleManagementPolicyApprovalRule(
            id="Approval_EndUser_Assignment",
            target=end_user_target(),
            setting=ApprovalSettings(
                is_approval_required=True,
                approval_mode="SingleStage",
                approval_stages=[UnifiedApprovalStage(
                    approval_stage_time_out_in_days=1,
                    is_approver_justification_required=False,
                    escalation_time_in_minutes=0,
                    is_escalation_enabled=False,
                    primary_approvers=[SingleUser(user_id=approver.id)],
                    escalation_approvers=[],
                )],
            ),
        )))
    make_eligible(admin, run, requester.id, role)
    me = client_for(requester.user_principal_name)
    req = activate(me, run, requester.id, role, "PT1H", "need it")
    assert req.status == "PendingApproval"
    item = me.role_management.directory.role_assignment_schedule_requests.by_unified_role_assignment_schedule_request_id(
        req.id)
    run(item.cancel.post())
    assert run(item.get()).status == "Canceled"
    with pytest.raises(ODataError) as err:
        run(item.cancel.post())
    assert err.value.response_status_code == 400
