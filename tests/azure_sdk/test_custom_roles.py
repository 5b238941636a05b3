"""Custom Azure roles through azure-mgmt-authorization: issue #15's newcomer scenario (a copy of
Contributor minus Microsoft.Authorization/*/Delete), list filters, update, and refusals."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.v2022_04_01.models import Permission, RoleDefinition

import helpers
from helpers import arm_error


def test_newcomer_custom_role_is_created(newcomer_role, contributor, subscription_id, admin_id):
    guid, role = newcomer_role
    assert role.name == guid
    assert role.id.lower() == helpers.role_definition_id(subscription_id, guid).lower()
    assert role.type == "Microsoft.Authorization/roleDefinitions"
    assert role.role_type == "CustomRole"
    assert [s.lower() for s in role.assignable_scopes] == [helpers.subscription_scope(subscription_id)]
    [block] = role.permissions
    source = contributor.permissions[0]
    assert sorted(block.actions) == sorted(source.actions) == ["*"]
    assert helpers.AUTHORIZATION_DELETE in block.not_actions
    assert set(block.not_actions) == set(source.not_actions) | {helpers.AUTHORIZATION_DELETE}
    assert role.created_by == admin_id
    assert role.created_on is not None


def test_custom_roles_are_listed_with_the_type_filter(admin, subscription_id, newcomer_role):
    guid, role = newcomer_role
    scope = helpers.subscription_scope(subscription_id)
    custom = list(admin.authorization.role_definitions.list(scope, filter="type eq 'CustomRole'"))
    assert guid in [r.name for r in custom]
    assert {r.role_type for r in custom} == {"CustomRole"}

    by_name = list(admin.authorization.role_definitions.list(scope, filter=f"roleName eq '{role.role_name}'"))
    assert [r.name for r in by_name] == [guid]


def test_custom_role_update_answers_201_and_keeps_its_identity(admin, subscription_id):
    scope = helpers.subscription_scope(subscription_id)
    guid = str(uuid.uuid4())
    name = f"VM operator {guid[:8]}"
    body = RoleDefinition(role_name=name, description="first", role_type="CustomRole",
                          permissions=[Permission(actions=["Microsoft.Compute/virtualMachines/read"])],
                          assignable_scopes=[scope])
    created = admin.authorization.role_definitions.create_or_update(scope, guid, body)
    assert created.description == "first"

    # The SDK accepts only 201 from this PUT, updates included.
    body.description = "second"
    body.permissions = [Permission(actions=["Microsoft.Compute/virtualMachines/read",
                                            "Microsoft.Compute/virtualMachines/start/action"])]
    updated = admin.authorization.role_definitions.create_or_update(scope, guid, body)
    assert updated.name == guid
    assert updated.description == "second"
    assert sorted(updated.permissions[0].actions) == [
        "Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/start/action"]
    assert updated.created_on == created.created_on
    assert updated.updated_on >= created.updated_on

    read = admin.authorization.role_definitions.get(scope, guid)
    assert (read.role_name, read.description) == (name, "second")


def test_invalid_custom_role_is_refused_and_nothing_is_created(admin, subscription_id):
    scope = helpers.subscription_scope(subscription_id)
    guid = str(uuid.uuid4())
    body = RoleDefinition(role_name=f"Bad role {guid[:8]}", description="unknown action", role_type="CustomRole",
                          permissions=[Permission(actions=["Microsoft.Compute/virtualMachines/frobnicate/action"])],
                          assignable_scopes=[scope])
    with pytest.raises(HttpResponseError) as excinfo:
        admin.authorization.role_definitions.create_or_update(scope, guid, body)
    status, code, message = arm_error(excinfo)
    assert (status, code) == (400, "InvalidActionOrNotAction")
    assert "Microsoft.Compute/virtualMachines/frobnicate/action" in message

    with pytest.raises(HttpResponseError) as excinfo:
        admin.authorization.role_definitions.get(scope, guid)
    assert arm_error(excinfo)[:2] == (404, "RoleDefinitionDoesNotExist")


def test_custom_role_name_is_unique(admin, subscription_id, newcomer_role):
    _, role = newcomer_role
    scope = helpers.subscription_scope(subscription_id)
    twin = RoleDefinition(role_name=role.role_name, description="same name", role_type="CustomRole",
                          permissions=[Permission(actions=["*/read"])], assignable_scopes=[scope])
    with pytest.raises(HttpResponseError) as excinfo:
        admin.authorization.role_definitions.create_or_update(scope, str(uuid.uuid4()), twin)
    assert arm_error(excinfo)[:2] == (409, "RoleDefinitionWithSameNameExists")
