"""The resource-group and resource lists through azure-mgmt-resource, with the `$filter` and
`$top` ARM documents: `resource_groups.list(filter=...)` by tag, `resources.list()` across the
subscription and `resources.list_by_resource_group()` by type, name and tag, the SDK following
next links, and ARM's InvalidFilterInQueryString for what it does not filter on."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError

import helpers
from helpers import arm_error

STORAGE_API = "2023-01-01"
COMPUTE_API = "2024-07-01"


@pytest.fixture(scope="module")
def estate(admin, subscription_id):
    """Two tagged resource groups of this module, a storage account and a virtual machine in each."""
    tag = uuid.uuid4().hex[:6]
    groups = {f"rg-lists-{tag}-a": "a", f"rg-lists-{tag}-b": "b"}
    resources = {}
    for group, value in groups.items():
        admin.resources.resource_groups.create_or_update(
            group, {"location": "westeurope", "tags": {f"listing{tag}": value}})
        base = f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers"
        for kind, prefix, api in (("Microsoft.Storage/storageAccounts", "st", STORAGE_API),
                                  ("Microsoft.Compute/virtualMachines", "vm", COMPUTE_API)):
            name = f"{prefix}{tag}{value}"
            admin.resources.resources.begin_create_or_update_by_id(
                f"{base}/{kind}/{name}", {"location": "westeurope", "tags": {"owner": value}},
                api_version=api).result()
            resources[name] = (group, kind)
    return tag, groups, resources


def test_resource_groups_list_filters_by_tag(admin, estate):
    tag, groups, _ = estate
    by_name = sorted(g.name for g in admin.resources.resource_groups.list(filter=f"tagName eq 'listing{tag}'"))
    assert by_name == sorted(groups)
    only_a = [g.name for g in admin.resources.resource_groups.list(
        filter=f"tagName eq 'listing{tag}' and tagValue eq 'a'")]
    assert only_a == [g for g, v in groups.items() if v == "a"]
    # `top` is the page size; the SDK follows the next links to the end.
    paged = sorted(g.name for g in admin.resources.resource_groups.list(filter=f"tagName eq 'listing{tag}'", top=1))
    assert paged == sorted(groups)
    with pytest.raises(HttpResponseError) as excinfo:
        list(admin.resources.resource_groups.list(filter="name eq 'x'"))
    assert arm_error(excinfo)[:2] == (400, "InvalidFilterInQueryString")


def test_resources_list_in_the_subscription(admin, estate):
    tag, _, resources = estate
    everything = {r.name: r for r in admin.resources.resources.list()}
    assert set(resources) <= set(everything)
    mine = [r.name for r in admin.resources.resources.list(filter=f"substringof('{tag}', name)")]
    assert sorted(mine) == sorted(resources)
    vms = [r.name for r in admin.resources.resources.list(
        filter=f"substringof('{tag}', name) and resourceType eq 'Microsoft.Compute/virtualMachines'")]
    assert sorted(vms) == sorted(n for n, (_, kind) in resources.items() if kind.endswith("virtualMachines"))
    paged = [r.name for r in admin.resources.resources.list(filter=f"substringof('{tag}', name)", top=1)]
    assert sorted(paged) == sorted(resources)
    # Filtered by tag, ARM answers without the tags.
    tagged = list(admin.resources.resources.list(filter="tagName eq 'owner' and tagValue eq 'a'"))
    assert {r.name for r in tagged} >= {n for n in resources if n.endswith("a")}
    assert all(not r.tags for r in tagged)
    with pytest.raises(HttpResponseError) as excinfo:
        list(admin.resources.resources.list(filter="plan eq 'x'"))
    assert arm_error(excinfo)[:2] == (400, "InvalidFilterInQueryString")


def test_resources_list_by_resource_group(admin, arm_for, directory, subscription_id, estate):
    tag, groups, resources = estate
    group_a = next(g for g, v in groups.items() if v == "a")
    in_a = sorted(r.name for r in admin.resources.resources.list_by_resource_group(group_a))
    assert in_a == sorted(n for n, (g, _) in resources.items() if g == group_a)
    storage = [r.name for r in admin.resources.resources.list_by_resource_group(
        group_a, filter="resourceType eq 'Microsoft.Storage/storageAccounts'")]
    assert storage == [f"st{tag}a"]
    assert sorted(r.name for r in admin.resources.resources.list_by_resource_group(group_a, top=1)) == in_a

    # A Reader of one group sees that group's resources in the subscription's list, and no others.
    user = directory.create_user("listreader")
    admin.authorization.role_assignments.create(
        helpers.resource_group_scope(subscription_id, group_a), str(uuid.uuid4()),
        helpers.assignment(subscription_id, helpers.READER, user["id"], "User"))
    reader = arm_for(user["userPrincipalName"])
    assert sorted(r.name for r in reader.resources.resources.list()) == in_a
    assert [g.name for g in reader.resources.resource_groups.list()] == [group_a]
