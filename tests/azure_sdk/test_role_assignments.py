"""Azure role assignments through azure-mgmt-authorization (api-version 2022-04-01): at the
subscription for a user, at a resource group for a group (the newcomer's custom role), the
list filters the SDK sends, RoleAssignmentExists, delete, and the refusals."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignment

import helpers
from helpers import arm_error

ASSIGNMENTS = "/providers/Microsoft.Authorization/roleAssignments/"


@dataclass
class Scenario:
    user: dict  # holds Reader at the subscription
    member: dict  # member of `group`
    group: dict  # holds the newcomer's custom role at the resource group
    user_assignment: RoleAssignment
    group_assignment: RoleAssignment


@pytest.fixture(scope="module")
def scenario(admin, directory, subscription_id, resource_group, newcomer_role) -> Scenario:
    user = directory.create_user("subreader")
    member = directory.create_user("member")
    group = directory.create_group("operators")
    directory.add_member(group["id"], member["id"])
    sub_scope = helpers.subscription_scope(subscription_id)
    rg_scope = helpers.resource_group_scope(subscription_id, resource_group)
    user_assignment = admin.authorization.role_assignments.create(
        sub_scope, str(uuid.uuid4()),
        helpers.assignment(subscription_id, helpers.READER, user["id"], "User", "SDK: reader at the subscription"))
    group_assignment = admin.authorization.role_assignments.create(
        rg_scope, str(uuid.uuid4()),
        helpers.assignment(subscription_id, newcomer_role[0], group["id"], "Group", "SDK: custom role at the RG"))
    return Scenario(user, member, group, user_assignment, group_assignment)


def names(assignments) -> set[str]:
    return {a.name for a in assignments}


def test_assignment_at_the_subscription_for_a_user(scenario, subscription_id, admin_id):
    a = scenario.user_assignment
    scope = helpers.subscription_scope(subscription_id)
    assert a.id.lower() == f"{scope}{ASSIGNMENTS}{a.name}".lower()
    assert a.type == "Microsoft.Authorization/roleAssignments"
    assert a.scope.lower() == scope
    assert helpers.guid_of(a.role_definition_id) == helpers.READER
    assert a.principal_id == scenario.user["id"]
    assert a.principal_type == "User"
    assert a.description == "SDK: reader at the subscription"
    assert a.created_by == admin_id


def test_assignment_at_a_resource_group_for_a_group(scenario, subscription_id, resource_group, newcomer_role):
    a = scenario.group_assignment
    scope = helpers.resource_group_scope(subscription_id, resource_group)
    assert a.scope.lower() == scope.lower()
    assert a.id.lower() == f"{scope}{ASSIGNMENTS}{a.name}".lower()
    assert helpers.guid_of(a.role_definition_id) == newcomer_role[0]
    assert (a.principal_id, a.principal_type) == (scenario.group["id"], "Group")


def test_get_by_scope_and_name_and_by_id(admin, scenario):
    a = scenario.group_assignment
    response, by_name = helpers.with_response(admin.authorization.role_assignments.get, a.scope, a.name)
    assert by_name.id == a.id
    unknown = helpers.unknown_properties(RoleAssignment, helpers.json_of(response))
    assert not unknown, f"properties the SDK model does not declare: {unknown}"
    assert admin.authorization.role_assignments.get_by_id(a.id).name == a.name


def test_same_name_and_body_again_answers_200_and_another_name_is_role_assignment_exists(
        admin, scenario, subscription_id):
    a = scenario.user_assignment
    body = helpers.assignment(subscription_id, helpers.READER, scenario.user["id"], "User",
                              "SDK: reader at the subscription")
    response, again = helpers.with_response(admin.authorization.role_assignments.create, a.scope, a.name, body)
    assert response.status_code == 200
    assert again.id == a.id

    with pytest.raises(HttpResponseError) as excinfo:
        admin.authorization.role_assignments.create(a.scope, str(uuid.uuid4()), body)
    assert arm_error(excinfo)[:2] == (409, "RoleAssignmentExists")


def test_list_at_scope_filter(admin, scenario, subscription_id, resource_group):
    ops = admin.authorization.role_assignments
    at_subscription = names(ops.list_for_scope(helpers.subscription_scope(subscription_id), filter="atScope()"))
    # At the subscription and above, not below.
    assert scenario.user_assignment.name in at_subscription
    assert scenario.group_assignment.name not in at_subscription
    at_group = names(ops.list_for_scope(helpers.resource_group_scope(subscription_id, resource_group),
                                        filter="atScope()"))
    assert {scenario.user_assignment.name, scenario.group_assignment.name} <= at_group


def test_list_without_filter_includes_below(admin, scenario):
    everything = names(admin.authorization.role_assignments.list_for_subscription())
    assert {scenario.user_assignment.name, scenario.group_assignment.name} <= everything


def test_list_principal_id_filter(admin, scenario, subscription_id):
    found = list(admin.authorization.role_assignments.list_for_scope(
        helpers.subscription_scope(subscription_id), filter=f"principalId eq '{scenario.group['id']}'"))
    assert names(found) == {scenario.group_assignment.name}


def test_list_assigned_to_is_transitive_through_groups(admin, scenario, resource_group):
    found = list(admin.authorization.role_assignments.list_for_resource_group(
        resource_group, filter=f"assignedTo('{scenario.member['id']}')"))
    # The member holds nothing directly: the group's assignment reaches it.
    assert names(found) == {scenario.group_assignment.name}
    # Reader at the subscription is not the member's.
    assert scenario.user_assignment.name not in names(found)
    # The combination Azure's docs use.
    combined = admin.authorization.role_assignments.list_for_resource_group(
        resource_group, filter=f"atScope() and assignedTo('{scenario.member['id']}')")
    assert names(combined) == {scenario.group_assignment.name}


def test_unknown_principal_is_principal_not_found(admin, subscription_id, resource_group):
    with pytest.raises(HttpResponseError) as excinfo:
        admin.authorization.role_assignments.create(
            helpers.resource_group_scope(subscription_id, resource_group), str(uuid.uuid4()),
            helpers.assignment(subscription_id, helpers.READER, str(uuid.uuid4()), "User"))
    assert arm_error(excinfo)[:2] == (400, "PrincipalNotFound")


def test_caller_without_rights_gets_authorization_failed(arm_for, new_user, subscription_id, scenario):
    nobody = new_user("nobody")
    reader = arm_for(scenario.user["userPrincipalName"])  # Reader: reads, writes nothing
    scope = helpers.subscription_scope(subscription_id)
    for caller_upn in (nobody["userPrincipalName"], scenario.user["userPrincipalName"]):
        arm = arm_for(caller_upn)
        with pytest.raises(HttpResponseError) as excinfo:
            arm.authorization.role_assignments.create(
                scope, str(uuid.uuid4()), helpers.assignment(subscription_id, helpers.OWNER, nobody["id"], "User"))
        status, code, message = arm_error(excinfo)
        assert (status, code) == (403, "AuthorizationFailed")
        assert "Microsoft.Authorization/roleAssignments/write" in message
        assert scope in message
    # The reader can read what it may not write.
    assert scenario.user_assignment.name in names(
        reader.authorization.role_assignments.list_for_scope(scope, filter="atScope()"))


def test_delete_assignment_and_the_role_definition_it_held(admin, directory, subscription_id, resource_group):
    # A role of its own, assigned once: deleting the role is refused while the assignment lives.
    scope = helpers.subscription_scope(subscription_id)
    from azure.mgmt.authorization.v2022_04_01.models import Permission, RoleDefinition
    role_guid = str(uuid.uuid4())
    admin.authorization.role_definitions.create_or_update(scope, role_guid, RoleDefinition(
        role_name=f"Log reader {role_guid[:8]}", description="to delete", role_type="CustomRole",
        permissions=[Permission(actions=["Microsoft.Insights/logs/read"])], assignable_scopes=[scope]))
    holder = directory.create_user("holder")
    rg_scope = helpers.resource_group_scope(subscription_id, resource_group)
    created = admin.authorization.role_assignments.create(
        rg_scope, str(uuid.uuid4()), helpers.assignment(subscription_id, role_guid, holder["id"], "User"))

    with pytest.raises(HttpResponseError) as excinfo:
        admin.authorization.role_definitions.delete(scope, role_guid)
    status, code, _ = arm_error(excinfo)
    assert code == "RoleDefinitionHasAssignments"
    assert 400 <= status < 500
    assert admin.authorization.role_definitions.get(scope, role_guid).name == role_guid

    deleted = admin.authorization.role_assignments.delete(rg_scope, created.name)
    assert deleted is not None and deleted.id == created.id
    with pytest.raises(HttpResponseError) as excinfo:
        admin.authorization.role_assignments.get(rg_scope, created.name)
    assert arm_error(excinfo)[:2] == (404, "RoleAssignmentNotFound")
    # Deleting what is gone answers 204: the SDK returns None.
    assert admin.authorization.role_assignments.delete(rg_scope, created.name) is None

    # With no assignment left the role goes: 200 with the deleted role, then 204.
    gone = admin.authorization.role_definitions.delete(scope, role_guid)
    assert gone is not None and gone.name == role_guid
    assert admin.authorization.role_definitions.delete(scope, role_guid) is None


def test_elevated_access_is_user_access_administrator_at_the_root_scope(elevated_admin, admin_id):
    # Azure's elevateAccess assigns User Access Administrator at the root scope "/", found by the
    # call Microsoft's elevate-access page uses (GET /providers/Microsoft.Authorization/
    # roleAssignments?$filter=principalId eq '{id}').
    mine = list(elevated_admin.authorization.role_assignments.list_for_scope(
        "/", filter=f"principalId eq '{admin_id}'"))
    elevated = [a for a in mine if helpers.guid_of(a.role_definition_id) == helpers.USER_ACCESS_ADMINISTRATOR]
    assert len(elevated) == 1, f"assignments listed: {[(a.scope, a.role_definition_id) for a in mine]}"
    assert elevated[0].scope == "/"
    assert elevated[0].id == f"{ASSIGNMENTS}{elevated[0].name}"
    assert elevated[0].role_definition_id == (
        f"/providers/Microsoft.Authorization/roleDefinitions/{helpers.USER_ACCESS_ADMINISTRATOR}")
    assert elevated_admin.authorization.role_assignments.get("/", elevated[0].name).scope == "/"


def test_elevated_access_is_removed_at_the_root_scope(arm_for, directory, subscription_id):
    # A second Global Administrator: no Azure rights until elevating, User Access Administrator
    # at "/" after, and nothing again once that assignment is deleted (Microsoft's documented way
    # of removing elevated access), while the directory role stays.
    user = directory.create_user("globaladmin")
    directory.assign_directory_role(user["id"], helpers.GLOBAL_ADMINISTRATOR)
    arm = arm_for(user["userPrincipalName"])
    with pytest.raises(HttpResponseError) as excinfo:
        list(arm.authorization.role_assignments.list_for_subscription())
    assert arm_error(excinfo)[:2] == (403, "AuthorizationFailed")

    arm.authorization.global_administrator.elevate_access()
    mine = list(arm.authorization.role_assignments.list_for_scope("/", filter=f"principalId eq '{user['id']}'"))
    assert [(a.scope, helpers.guid_of(a.role_definition_id)) for a in mine] == [
        ("/", helpers.USER_ACCESS_ADMINISTRATOR)]
    # "/" is above the subscription.
    at_subscription = list(arm.authorization.role_assignments.list_for_subscription(
        filter=f"principalId eq '{user['id']}'"))
    assert [a.name for a in at_subscription] == [mine[0].name]

    deleted = arm.authorization.role_assignments.delete("/", mine[0].name)
    assert (deleted.name, deleted.scope) == (mine[0].name, "/")
    assert list(arm.authorization.role_assignments.list_for_scope(
        "/", filter=f"principalId eq '{user['id']}'")) == []
    with pytest.raises(HttpResponseError) as excinfo:
        list(arm.authorization.role_assignments.list_for_subscription())
    assert arm_error(excinfo)[:2] == (403, "AuthorizationFailed")
    assert directory._call("GET", "/v1.0/roleManagement/directory/roleAssignments"
                           f"?$filter=principalId eq '{user['id']}'")["value"], "the directory role stays"