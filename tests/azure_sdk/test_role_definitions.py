"""Built-in Azure role definitions through azure-mgmt-authorization (api-version 2022-04-01)."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.v2022_04_01.models import RoleDefinition

import helpers
from helpers import arm_error

ROLE_DEFINITIONS = "/providers/Microsoft.Authorization/roleDefinitions/"


def permissions_of(role) -> list[dict]:
    """A role's permission blocks, from an SDK model or the catalog's JSON, in one shape."""
    if isinstance(role, dict):
        return [{k: sorted(block.get(k) or []) for k in ("actions", "notActions", "dataActions", "notDataActions")}
                for block in role["permissions"]]
    return [{"actions": sorted(p.actions or []), "notActions": sorted(p.not_actions or []),
             "dataActions": sorted(p.data_actions or []), "notDataActions": sorted(p.not_data_actions or [])}
            for p in role.permissions]


def test_every_builtin_role_is_listed_at_the_subscription(admin, subscription_id):
    catalog = helpers.builtin_catalog()
    listed = list(admin.authorization.role_definitions.list(helpers.subscription_scope(subscription_id)))
    builtins = {r.name: r for r in listed if r.role_type == "BuiltInRole"}
    assert set(catalog) <= set(builtins), f"missing built-ins: {sorted(set(catalog) - set(builtins))[:10]}"
    assert all(r.type == "Microsoft.Authorization/roleDefinitions" for r in listed)
    # Listing at a subscription answers ids at that subscription, as ARM does.
    prefix = f"/subscriptions/{subscription_id}{ROLE_DEFINITIONS}".lower()
    wrong = [r.id for r in listed if not r.id.lower().startswith(prefix)]
    assert not wrong, f"ids not at the subscription: {wrong[:5]}"


@pytest.mark.parametrize("role_name,guid", [
    ("Owner", helpers.OWNER),
    ("Contributor", helpers.CONTRIBUTOR),
    ("Reader", helpers.READER),
])
def test_builtin_role_by_name_filter(admin, subscription_id, role_name, guid):
    scope = helpers.subscription_scope(subscription_id)
    roles = list(admin.authorization.role_definitions.list(scope, filter=f"roleName eq '{role_name}'"))
    assert [r.name for r in roles] == [guid]
    role = roles[0]
    expected = helpers.builtin_catalog()[guid]
    assert role.role_name == role_name
    assert role.role_type == "BuiltInRole"
    assert role.description == expected["description"]
    assert role.assignable_scopes == ["/"]
    assert permissions_of(role) == permissions_of(expected)
    assert role.id.lower() == f"/subscriptions/{subscription_id}{ROLE_DEFINITIONS}{guid}".lower()


def test_builtin_role_get_by_scope_and_by_id(admin, subscription_id):
    scope = helpers.subscription_scope(subscription_id)
    response, reader = helpers.with_response(admin.authorization.role_definitions.get, scope, helpers.READER)
    assert reader.role_name == "Reader"
    assert response.headers.get("x-ms-request-id")
    unknown = helpers.unknown_properties(RoleDefinition, helpers.json_of(response))
    assert not unknown, f"properties the SDK model does not declare: {unknown}"

    # The tenant-level id form, as role assignments echo it.
    by_id = admin.authorization.role_definitions.get_by_id(f"{ROLE_DEFINITIONS}{helpers.OWNER}")
    assert (by_id.name, by_id.role_name) == (helpers.OWNER, "Owner")


def test_unknown_role_definition_is_role_definition_does_not_exist(admin, subscription_id):
    missing = str(uuid.uuid4())
    with pytest.raises(HttpResponseError) as excinfo:
        admin.authorization.role_definitions.get(helpers.subscription_scope(subscription_id), missing)
    status, code, message = arm_error(excinfo)
    assert (status, code) == (404, "RoleDefinitionDoesNotExist")
    assert missing in message
