"""PIM for Azure resources through azure-mgmt-authorization 4.0.0 (api-version 2020-10-01):
an admin makes a user eligible at the subscription (role_eligibility_schedule_requests.create),
the user activates at a resource group below it (role_assignment_schedule_requests.create) and
reads their schedules, instances and eligible child resources; validate writes nothing; a pending
request is canceled; the 5-minute rule refuses an early deactivation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.v2020_10_01 import models as m

import helpers
from helpers import READER, activate, arm_error, deactivate, eligibility_request, make_eligible


@dataclass
class Scenario:
    user: dict
    eligibility: m.RoleEligibilityScheduleRequest
    activation: m.RoleAssignmentScheduleRequest


@pytest.fixture(scope="module")
def scenario(admin, arm_for, directory, subscription_id, resource_group) -> Scenario:
    user = directory.create_user("eligible")
    sub_scope = helpers.subscription_scope(subscription_id)
    eligibility = make_eligible(admin, sub_scope, user["id"], READER, "P365D")
    activation = activate(arm_for(user["userPrincipalName"]),
                          helpers.resource_group_scope(subscription_id, resource_group), user["id"], READER, "PT1H")
    return Scenario(user, eligibility, activation)


def test_admin_assigns_an_eligibility(scenario, subscription_id, admin_id):
    e = scenario.eligibility
    assert e.status == "Provisioned"
    assert e.request_type == "AdminAssign"
    assert e.scope.lower() == helpers.subscription_scope(subscription_id)
    assert e.principal_id == scenario.user["id"]
    assert e.principal_type == "User"
    assert e.requestor_id == admin_id
    assert helpers.guid_of(e.role_definition_id) == helpers.READER
    assert e.target_role_eligibility_schedule_id
    assert e.expanded_properties.role_definition.display_name == "Reader"


def test_user_activates_at_a_child_resource_group(scenario, subscription_id, resource_group):
    a = scenario.activation
    assert a.status == "Provisioned"
    assert a.request_type == "SelfActivate"
    assert a.scope.lower() == helpers.resource_group_scope(subscription_id, resource_group).lower()
    assert a.linked_role_eligibility_schedule_id == scenario.eligibility.target_role_eligibility_schedule_id


def test_user_reads_own_requests_schedules_and_instances(arm_for, scenario, subscription_id, resource_group):
    me = arm_for(scenario.user["userPrincipalName"]).authorization
    sub_scope = helpers.subscription_scope(subscription_id)
    rg_scope = helpers.resource_group_scope(subscription_id, resource_group)
    requests = list(me.role_eligibility_schedule_requests.list_for_scope(sub_scope, filter="asTarget()"))
    assert [r.name for r in requests] == [scenario.eligibility.name]
    got = me.role_assignment_schedule_requests.get(rg_scope, scenario.activation.name)
    assert got.status == "Provisioned"
    instances = list(me.role_assignment_schedule_instances.list_for_scope(rg_scope, filter="asTarget()"))
    assert [(i.assignment_type, i.member_type) for i in instances] == [("Activated", "Direct")]
    schedules = list(me.role_eligibility_schedules.list_for_scope(rg_scope, filter="asTarget()"))
    assert [(s.member_type, s.scope.lower()) for s in schedules] == [("Inherited", sub_scope)]
    children = list(me.eligible_child_resources.get(sub_scope, filter="resourceType eq 'resourcegroup'"))
    assert resource_group in [c.name for c in children]
    assert {c.type for c in children} == {"resourcegroup"}
    # Everyone's list needs roleAssignments/read at the scope.
    with pytest.raises(HttpResponseError) as excinfo:
        list(me.role_eligibility_schedule_requests.list_for_scope(sub_scope))
    assert arm_error(excinfo)[:2] == (403, "AuthorizationFailed")


def test_validate_writes_nothing(admin, directory, subscription_id):
    other = directory.create_user("validated")
    scope = helpers.subscription_scope(subscription_id)
    name = str(uuid.uuid4())
    ops = admin.authorization.role_eligibility_schedule_requests
    validated = ops.validate(scope, name, eligibility_request(subscription_id, other["id"], READER, "AdminAssign", "P30D"))
    assert validated.status == "Provisioned"
    with pytest.raises(HttpResponseError) as excinfo:
        ops.get(scope, name)
    assert excinfo.value.status_code == 404


def test_a_pending_request_is_canceled(admin, arm_for, directory, subscription_id):
    user = directory.create_user("extends")
    scope = helpers.subscription_scope(subscription_id)
    make_eligible(admin, scope, user["id"], READER, "P10D")
    me = arm_for(user["userPrincipalName"]).authorization.role_eligibility_schedule_requests
    name = str(uuid.uuid4())
    asked = me.create(scope, name, eligibility_request(subscription_id, user["id"], READER, "SelfExtend", "P30D"))
    assert asked.status == "PendingAdminDecision"
    assert me.cancel(scope, name) is None
    assert me.get(scope, name).status == "Canceled"


def test_deactivating_within_five_minutes_is_active_duration_too_short(arm_for, scenario, subscription_id,
                                                                      resource_group):
    me = arm_for(scenario.user["userPrincipalName"])
    with pytest.raises(HttpResponseError) as excinfo:
        deactivate(me, helpers.resource_group_scope(subscription_id, resource_group), scenario.user["id"], READER)
    assert arm_error(excinfo)[:2] == (400, "ActiveDurationTooShort")
