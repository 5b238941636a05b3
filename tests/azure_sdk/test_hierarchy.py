"""The resource hierarchy through the SDK: the registered subscription, resource groups
(azure-mgmt-resource) and management groups (azure-mgmt-managementgroups)."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.managementgroups.models import (
    CreateManagementGroupDetails,
    CreateManagementGroupProperties,
    CreateManagementGroupRequest,
    CreateParentGroupInfo,
)

import helpers
from helpers import arm_error

MG_PREFIX = "/providers/Microsoft.Management/managementGroups/"


def test_the_registered_subscription_reads_as_arm_answers_it(admin, subscription_id):
    # No operation of the pinned SDK reads subscriptions (azure-mgmt-resource 26 dropped them):
    # the SDK's own pipeline sends the request, with its token policy and TLS settings.
    one = admin.send("GET", f"/subscriptions/{subscription_id}?api-version=2022-12-01")
    assert one.status_code == 200, one.text()
    body = one.json()
    assert body["subscriptionId"] == subscription_id
    assert body["id"].lower() == f"/subscriptions/{subscription_id}"
    assert body["displayName"] == "SDK suite subscription"
    assert body["state"] == "Enabled"

    listed = admin.send("GET", "/subscriptions?api-version=2022-12-01")
    assert listed.status_code == 200, listed.text()
    assert subscription_id in [s["subscriptionId"] for s in listed.json()["value"]]


def test_resource_group_create_read_list(admin, subscription_id):
    name = f"rg-crud-{uuid.uuid4().hex[:6]}"
    response, created = helpers.with_response(
        admin.resources.resource_groups.create_or_update, name, {"location": "westeurope", "tags": {"team": "a"}})
    assert response.status_code == 201
    assert response.headers.get("x-ms-request-id"), "ARM answers carry x-ms-request-id"
    assert created.name == name
    assert created.id.lower() == helpers.resource_group_scope(subscription_id, name).lower()
    assert created.type == "Microsoft.Resources/resourceGroups"
    assert created.location == "westeurope"
    assert created.tags == {"team": "a"}
    assert created.properties.provisioning_state == "Succeeded"

    # The same PUT again is an update: 200.
    again, updated = helpers.with_response(
        admin.resources.resource_groups.create_or_update, name, {"location": "westeurope", "tags": {"team": "b"}})
    assert again.status_code == 200
    assert updated.tags == {"team": "b"}

    # Resource group names compare case-insensitively, and keep their spelling.
    read = admin.resources.resource_groups.get(name.upper())
    assert read.name == name
    assert admin.resources.resource_groups.check_existence(name) is True
    assert admin.resources.resource_groups.check_existence(f"{name}-missing") is False
    assert name in [rg.name for rg in admin.resources.resource_groups.list()]


def test_missing_resource_group_is_resource_group_not_found(admin):
    with pytest.raises(ResourceNotFoundError) as excinfo:
        admin.resources.resource_groups.get(f"rg-missing-{uuid.uuid4().hex[:6]}")
    status, code, _ = arm_error(excinfo)
    assert (status, code) == (404, "ResourceGroupNotFound")


def test_resource_group_delete(admin):
    name = f"rg-delete-{uuid.uuid4().hex[:6]}"
    admin.resources.resource_groups.create_or_update(name, {"location": "westeurope"})
    # An LRO in the SDK: a 200 (done) or a 202 with a Location to poll both end here.
    admin.resources.resource_groups.begin_delete(name).result()
    assert admin.resources.resource_groups.check_existence(name) is False


@pytest.fixture(scope="module")
def root_group(admin, admin_id):
    """The tenant root group (its name is the tenant id), with the administrator made Owner there:
    management group writes need rights at the parent, and the elevated administrator (User
    Access Administrator) may assign them."""
    groups = admin.management_groups.management_groups
    listed = list(groups.list())
    root = next((g for g in listed if g.properties and g.name == g.properties.tenant_id), None)
    assert root is not None, f"no tenant root group (name = tenant id) in {[(g.name, g.properties) for g in listed]}"
    admin.authorization.role_assignments.create(
        root.id, str(uuid.uuid4()), helpers.assignment(admin.subscription_id, helpers.OWNER, admin_id, "User"))
    return root


def test_management_group_tree_and_inheritance(admin, root_group, directory, new_user, arm_for):
    groups = admin.management_groups.management_groups
    root = root_group
    assert root.id == f"{MG_PREFIX}{root.name}"
    assert root.type == "Microsoft.Management/managementGroups"
    assert root.properties.display_name == "Tenant Root Group"

    mg = f"mg-sdk-{uuid.uuid4().hex[:6]}"
    created = groups.begin_create_or_update(mg, CreateManagementGroupRequest(properties=CreateManagementGroupProperties(
        display_name=f"SDK {mg}",
        details=CreateManagementGroupDetails(parent=CreateParentGroupInfo(id=root.id)),
    ))).result()
    assert created.name == mg
    assert created.id == f"{MG_PREFIX}{mg}"
    assert created.properties.display_name == f"SDK {mg}"
    assert created.properties.details.parent.id.lower() == root.id.lower()

    # A second subscription registered inside the new group, and a resource group in it made by
    # the administrator, whose Owner role at the root group reaches it through the tree.
    sub = str(uuid.uuid4())
    directory.register_subscription(sub, "SDK subscription in a management group", management_group_id=mg)
    expanded = groups.get(mg, expand="children")
    assert [c.name for c in (expanded.properties.children or [])] == [sub]
    in_group = admin.in_subscription(sub)
    in_group.resources.resource_groups.create_or_update("rg-in-mg", {"location": "westeurope"})

    # Reader at the management group: reads the resource group two levels down, writes nothing.
    reader = new_user("mgreader")
    admin.authorization.role_assignments.create(
        created.id, str(uuid.uuid4()), helpers.assignment(sub, helpers.READER, reader["id"], "User"))
    as_reader = arm_for(reader["userPrincipalName"]).in_subscription(sub)
    assert as_reader.resources.resource_groups.get("rg-in-mg").name == "rg-in-mg"
    with pytest.raises(HttpResponseError) as excinfo:
        as_reader.resources.resource_groups.create_or_update("rg-by-reader", {"location": "westeurope"})
    status, code, message = arm_error(excinfo)
    assert (status, code) == (403, "AuthorizationFailed")
    assert "Microsoft.Resources/subscriptions/resourceGroups/write" in message

    # A group with a child subscription cannot be deleted (ARM documents no code for it).
    with pytest.raises(HttpResponseError) as excinfo:
        groups.begin_delete(mg).result()
    status, code, message = arm_error(excinfo)
    assert 400 <= status < 500 and code
    assert mg in message
    assert groups.get(mg).name == mg



def test_empty_management_group_is_deleted(admin, root_group):
    groups = admin.management_groups.management_groups
    mg = f"mg-empty-{uuid.uuid4().hex[:6]}"
    groups.begin_create_or_update(mg, CreateManagementGroupRequest(properties=CreateManagementGroupProperties(
        display_name=mg, details=CreateManagementGroupDetails(parent=CreateParentGroupInfo(id=root_group.id))))).result()
    assert mg in [g.name for g in groups.list()]
    # The SDK's delete accepts only 202 (then polls) or 204.
    groups.begin_delete(mg).result()
    assert mg not in [g.name for g in groups.list()]
    with pytest.raises(HttpResponseError) as excinfo:
        groups.get(mg)
    assert excinfo.value.status_code == 404
