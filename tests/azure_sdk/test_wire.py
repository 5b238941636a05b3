"""What real clients send beside the happy path, through the SDK: the other role definition id
forms, scopes with a trailing slash, full-id operations, the tenant-wide custom role list,
generic resources with role assignments and permissions at resource scope, and ARM's 401 for a
token meant for another API."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

import helpers
from helpers import arm_error

ROLE_DEFINITIONS = "/providers/Microsoft.Authorization/roleDefinitions/"
STORAGE_API = "2023-05-01"  # any api-version: OpenPIM keeps generic resources opaque


@pytest.mark.parametrize("form", ["tenant", "resource group"])
def test_role_definition_id_in_other_forms(admin, directory, subscription_id, resource_group, form):
    # PIM clients and Terraform send the tenant form and the scope-prefixed form too.
    rg_scope = helpers.resource_group_scope(subscription_id, resource_group)
    role_id = {"tenant": f"{ROLE_DEFINITIONS}{helpers.READER}",
               "resource group": f"{rg_scope}{ROLE_DEFINITIONS}{helpers.READER}"}[form]
    user = directory.create_user("idform")
    created = admin.authorization.role_assignments.create(rg_scope, str(uuid.uuid4()), RoleAssignmentCreateParameters(
        role_definition_id=role_id, principal_id=user["id"], principal_type="User"))
    assert helpers.guid_of(created.role_definition_id) == helpers.READER
    assert created.scope.lower() == rg_scope.lower()


def test_scope_with_a_trailing_slash(admin, subscription_id):
    # The SDK's own docstring suggests '/subscriptions/{id}/', which puts '//' before /providers.
    listed = list(admin.authorization.role_assignments.list_for_scope(
        f"/subscriptions/{subscription_id}/", filter="atScope()"))
    assert listed, "the administrator's Owner assignment at the subscription is listed"
    assert all(a.type == "Microsoft.Authorization/roleAssignments" for a in listed)


def test_full_id_operations(admin, directory, subscription_id, newcomer_role):
    role = admin.authorization.role_definitions.get_by_id(newcomer_role[1].id)
    assert role.name == newcomer_role[0]

    user = directory.create_user("byid")
    assignment_id = (f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleAssignments/"
                     f"{uuid.uuid4()}")
    created = admin.authorization.role_assignments.create_by_id(
        assignment_id, helpers.assignment(subscription_id, helpers.READER, user["id"], "User"))
    assert created.id.lower() == assignment_id.lower()
    assert admin.authorization.role_assignments.get_by_id(assignment_id).principal_id == user["id"]
    deleted = admin.authorization.role_assignments.delete_by_id(assignment_id)
    assert deleted is not None and deleted.id == created.id
    with pytest.raises(HttpResponseError) as excinfo:
        admin.authorization.role_assignments.get_by_id(assignment_id)
    assert arm_error(excinfo)[:2] == (404, "RoleAssignmentNotFound")


def test_tenant_wide_custom_role_list(admin, newcomer_role):
    # Azure's docs list every custom role of the tenant at the root: roleDefinitions at "/".
    custom = list(admin.authorization.role_definitions.list("/", filter="type eq 'CustomRole'"))
    assert newcomer_role[0] in [r.name for r in custom]
    assert {r.role_type for r in custom} == {"CustomRole"}


def test_generic_resource_assignment_and_permissions_at_resource_scope(
        admin, arm_for, directory, subscription_id, resource_group):
    name = f"sdk{uuid.uuid4().hex[:10]}"
    resource_id = (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
                   f"/providers/Microsoft.Storage/storageAccounts/{name}")
    created = admin.resources.resources.begin_create_or_update_by_id(
        resource_id, {"location": "westeurope", "kind": "StorageV2", "properties": {"minimumTlsVersion": "TLS1_2"}},
        api_version=STORAGE_API).result()
    assert created.id.lower() == resource_id.lower()
    assert created.type == "Microsoft.Storage/storageAccounts"
    listed = [r.name for r in admin.resources.resources.list_by_resource_group(resource_group)]
    assert name in listed

    # Reader on the storage account only: the account reads, the resource group does not.
    user = directory.create_user("storagereader")
    assignment = admin.authorization.role_assignments.create(
        resource_id, str(uuid.uuid4()), helpers.assignment(subscription_id, helpers.READER, user["id"], "User"))
    assert assignment.scope.lower() == resource_id.lower()
    arm = arm_for(user["userPrincipalName"])
    found = list(arm.authorization.permissions.list_for_resource(
        resource_group, "Microsoft.Storage", "", "storageAccounts", name))
    assert [(p.actions, p.not_actions) for p in found] == [(["*/read"], [])]
    assert arm.resources.resources.get_by_id(resource_id, api_version=STORAGE_API).name == name
    with pytest.raises(HttpResponseError) as excinfo:
        arm.resources.resource_groups.get(resource_group)
    assert arm_error(excinfo)[:2] == (403, "AuthorizationFailed")


def test_token_for_another_api_is_refused_with_arm_401(server, subscription_id):
    # A credential handing out Graph tokens: ARM answers 401 in its own shape, and the SDK's
    # challenge handling gives up with ClientAuthenticationError instead of looping.
    wrong = helpers.Arm(server, helpers.OpenPimCredential(server, "admin@openpim.local", helpers.GRAPH_AUDIENCE),
                        subscription_id)
    with pytest.raises(ClientAuthenticationError) as excinfo:
        wrong.resources.resource_groups.get("anything")
    status, code, _ = arm_error(excinfo)
    assert (status, code) == (401, "InvalidAuthenticationToken")
    assert excinfo.value.response.headers.get("WWW-Authenticate", "").lower().startswith("bearer")
