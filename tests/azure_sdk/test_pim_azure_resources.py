"""PIM for Azure resources through azure-mgmt-authorization 4.0.0: issue #16's scenario from the
"Use Azure custom roles in PIM" page. Employees are eligible for a built-in role and activate it
without approval; contractors get a custom role duplicating it, whose settings at the subscription
require approval. A contractor activates at a resource group below the subscription, an approver
approves through roleAssignmentApprovals, the effective permissions change, and the activation
ends by deactivation (after the 5-minute lock) and by expiry. Every call goes through the SDK's
operation groups (2020-10-01 for PIM, 2021-01-01-preview for approvals, 2022-04-01 for roles and
permissions); the server's clock moves with libfaketime.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import uuid

import pytest
from azure.mgmt.authorization.v2020_10_01.models import (
    ApprovalSettings,
    ApprovalStage,
    RoleManagementPolicy,
    RoleManagementPolicyApprovalRule,
    RoleManagementPolicyRuleTarget,
    UserSet,
)
from azure.mgmt.authorization.v2021_01_01_preview.models import RoleAssignmentApprovalStepProperties
from azure.mgmt.authorization.v2022_04_01.models import Permission, RoleDefinition

import helpers
from helpers import activate, arm_error, deactivate, make_eligible

# Built-in "Virtual Machine Contributor": the role the custom-roles page duplicates for contractors.
VM_CONTRIBUTOR = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
VM_START = "Microsoft.Compute/virtualMachines/start/action"
# Eligibilities end: Azure's default settings for a resource role require an end (at most a year).
ELIGIBLE_FOR = "P180D"


def allowed(blocks: list[tuple[list[str], list[str]]], action: str) -> bool:
    """Whether permission blocks (actions, notActions) grant `action` as ARM evaluates them:
    case-insensitive patterns whose `*` matches any run of characters, `/` included."""
    def matches(pattern: str) -> bool:
        return fnmatch.fnmatchcase(action.lower(), pattern.lower())
    return any(any(map(matches, actions)) and not any(map(matches, not_actions)) for actions, not_actions in blocks)


def at_group(arm: helpers.Arm, resource_group: str) -> list[tuple[list[str], list[str]]]:
    """The caller's effective permission blocks at the resource group (permissions API)."""
    return [(p.actions or [], p.not_actions or [])
            for p in arm.authorization.permissions.list_for_resource_group(resource_group)]


def at_subscription(arm: helpers.Arm, subscription_id: str) -> list[tuple[list[str], list[str]]]:
    """The same at the subscription (the permissions API there has no SDK operation)."""
    response = arm.send("GET", f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/permissions"
                               "?api-version=2022-04-01")
    assert response.status_code == 200, response.text()
    return [(p.get("actions", []), p.get("notActions", [])) for p in response.json()["value"]]


def policy_for(arm: helpers.Arm, scope: str, role_guid: str) -> RoleManagementPolicy:
    """The role's settings at `scope`, found as clients find them: through the policy assignment
    that names the role (the SDK's list has no $filter), then the policy it points to."""
    assignments = [a for a in arm.authorization.role_management_policy_assignments.list_for_scope(scope)
                   if helpers.guid_of(a.role_definition_id) == role_guid]
    assert len(assignments) == 1, f"one policy assignment for {role_guid} at {scope}: {assignments}"
    return arm.authorization.role_management_policies.get(scope, helpers.guid_of(assignments[0].policy_id))


@pytest.fixture(scope="module")
def contractor_role(admin, subscription_id):
    """The custom role duplicating Virtual Machine Contributor, assignable at the subscription."""
    scope = helpers.subscription_scope(subscription_id)
    source = admin.authorization.role_definitions.get(scope, VM_CONTRIBUTOR)
    guid = str(uuid.uuid4())
    block = source.permissions[0]
    admin.authorization.role_definitions.create_or_update(scope, guid, RoleDefinition(
        role_name=f"Virtual Machine Contributor (contractors) {guid[:8]}",
        description="Virtual Machine Contributor for contractors: activation needs approval",
        role_type="CustomRole",
        permissions=[Permission(actions=list(block.actions), not_actions=list(block.not_actions or []))],
        assignable_scopes=[scope],
    ))
    return guid


@pytest.fixture(scope="module")
def approver(directory, admin, subscription_id):
    """A user who approves contractors' activations (and holds no Azure role)."""
    return directory.create_user("approver")


@pytest.fixture(scope="module")
def approval_required(admin, subscription_id, contractor_role, approver):
    """The contractor role's settings at the subscription: activation needs the approver."""
    scope = helpers.subscription_scope(subscription_id)
    policy = policy_for(admin, scope, contractor_role)
    rule = RoleManagementPolicyApprovalRule(
        id="Approval_EndUser_Assignment",
        target=RoleManagementPolicyRuleTarget(caller="EndUser", operations=["All"], level="Assignment"),
        setting=ApprovalSettings(
            is_approval_required=True, is_approval_required_for_extension=False,
            is_requestor_justification_required=True, approval_mode="SingleStage",
            approval_stages=[ApprovalStage(
                approval_stage_time_out_in_days=1, is_approver_justification_required=True,
                escalation_time_in_minutes=0, is_escalation_enabled=False,
                primary_approvers=[UserSet(user_type="User", is_backup=False, id=approver["id"],
                                           description="Contractor approver")],
            )],
        ),
    )
    updated = admin.authorization.role_management_policies.update(scope, policy.name,
                                                                   RoleManagementPolicy(rules=[rule]))
    return updated


def test_settings_are_per_role_and_scope_and_answer_every_rule(admin, subscription_id, resource_group,
                                                               contractor_role, approval_required):
    rules = {r.id: r for r in approval_required.rules}
    assert rules["Approval_EndUser_Assignment"].setting.is_approval_required is True
    # A partial update keeps the other rules (merged by id, as Azure answers it).
    assert {"Expiration_EndUser_Assignment", "Enablement_EndUser_Assignment",
            "Expiration_Admin_Eligibility"} <= set(rules)
    # Not inherited: the resource group below keeps the defaults, the built-in keeps its own.
    below = policy_for(admin, helpers.resource_group_scope(subscription_id, resource_group), contractor_role)
    assert {r.id: r for r in below.rules}["Approval_EndUser_Assignment"].setting.is_approval_required is False
    builtin = policy_for(admin, helpers.subscription_scope(subscription_id), VM_CONTRIBUTOR)
    assert {r.id: r for r in builtin.rules}["Approval_EndUser_Assignment"].setting.is_approval_required is False


def test_an_employee_activates_the_builtin_role_without_approval(server, admin, arm_for, directory,
                                                                 subscription_id, resource_group):
    employee = directory.create_user("employee")
    scope = helpers.subscription_scope(subscription_id)
    eligibility = make_eligible(admin, scope, employee["id"], VM_CONTRIBUTOR, ELIGIBLE_FOR, "employees are eligible")
    assert eligibility.status == "Provisioned"

    me = arm_for(employee["userPrincipalName"])
    assert not allowed(at_group(me, resource_group), VM_START)
    group_scope = helpers.resource_group_scope(subscription_id, resource_group)
    activation = activate(me, group_scope, employee["id"], VM_CONTRIBUTOR, "PT1H", "patching the VMs")
    assert activation.status == "Provisioned", activation.status
    assert allowed(at_group(me, resource_group), VM_START)
    instances = [i for i in me.authorization.role_assignment_schedule_instances.list_for_scope(
        group_scope, filter="asTarget()") if helpers.guid_of(i.role_definition_id) == VM_CONTRIBUTOR]
    assert [i.assignment_type for i in instances] == ["Activated"]


def test_a_contractor_activates_at_a_resource_group_with_approval_then_deactivates(
        server, admin, arm_for, directory, subscription_id, resource_group, contractor_role,
        approval_required, approver):
    contractor = directory.create_user("contractor")
    sub_scope = helpers.subscription_scope(subscription_id)
    group_scope = helpers.resource_group_scope(subscription_id, resource_group)
    eligible = make_eligible(admin, sub_scope, contractor["id"], contractor_role, ELIGIBLE_FOR, "six-month contract")
    assert eligible.status == "Provisioned"

    me = arm_for(contractor["userPrincipalName"])
    assert not allowed(at_group(me, resource_group), VM_START)

    # Activation at the resource group below the eligibility's subscription waits for approval.
    request_name = str(uuid.uuid4())
    pending = activate(me, group_scope, contractor["id"], contractor_role, "PT1H", "maintenance window",
                       name=request_name)
    assert pending.status == "PendingApproval", pending.status
    assert pending.approval_id, "a pending request names its approval"
    assert not allowed(at_group(me, resource_group), VM_START)

    # The requester cannot approve their own request.
    approver_arm = arm_for(approver["userPrincipalName"])
    approval_id = helpers.guid_of(pending.approval_id)
    [stage] = approval_stages(approver_arm, approval_id)
    with pytest.raises(Exception) as refused:
        me.authorization.role_assignment_approval_step.put(
            approval_id, stage.name, RoleAssignmentApprovalStepProperties(review_result="Approve",
                                                                          justification="me"))
    status, _code, _message = arm_error(refused)
    assert status in (403, 400), status

    # The approver approves; the contractor now holds the role's actions at the resource group.
    decided = approver_arm.authorization.role_assignment_approval_step.put(
        approval_id, stage.name, RoleAssignmentApprovalStepProperties(review_result="Approve",
                                                                      justification="planned change"))
    assert decided.review_result == "Approve"
    assert me.authorization.role_assignment_schedule_requests.get(group_scope, request_name).status in (
        "Provisioned", "Granted")
    assert allowed(at_group(me, resource_group), VM_START)
    # ... at the resource group only: not at the subscription where the eligibility is.
    assert not allowed(at_subscription(me, subscription_id), VM_START)

    # Deactivation within 5 minutes of activation is refused; after them it ends the access.
    with pytest.raises(Exception) as too_soon:
        deactivate(me, group_scope, contractor["id"], contractor_role)
    status, code, _ = arm_error(too_soon)
    assert (status, code) == (400, "ActiveDurationTooShort"), (status, code)
    server.advance(6)
    done = deactivate(me, group_scope, contractor["id"], contractor_role)
    assert done.status in ("Revoked", "Provisioned"), done.status
    assert not allowed(at_group(me, resource_group), VM_START)


def approval_stages(approver_arm: helpers.Arm, approval_id: str) -> list:
    """The approval's stages as its approver reads them (the one stage of a single-stage rule)."""
    approval = approver_arm.authorization.role_assignment_approval.get_by_id(approval_id)
    stages = approval.stages or []
    assert len(stages) == 1, stages
    assert stages[0].status in ("InProgress", "NotStarted"), stages[0].status
    return stages


def test_an_activation_ends_at_its_exact_expiry(server, admin, arm_for, directory, subscription_id,
                                               resource_group):
    person = directory.create_user("shortlived")
    scope = helpers.subscription_scope(subscription_id)
    make_eligible(admin, scope, person["id"], VM_CONTRIBUTOR, ELIGIBLE_FOR, "eligible")
    me = arm_for(person["userPrincipalName"])
    activation = activate(me, scope, person["id"], VM_CONTRIBUTOR, "PT10M", "ten minutes")
    assert activation.status == "Provisioned", activation.status
    assert allowed(at_group(me, resource_group), VM_START)
    [instance] = [i for i in me.authorization.role_assignment_schedule_instances.list_for_scope(
        scope, filter="asTarget()") if helpers.guid_of(i.role_definition_id) == VM_CONTRIBUTOR]
    assert instance.end_date_time - instance.start_date_time == dt.timedelta(minutes=10)
    server.advance(11)
    assert not allowed(at_group(me, resource_group), VM_START)
