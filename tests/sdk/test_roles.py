"""Role definitions, custom roles, role-assignable groups and direct role assignments, all
through the official Graph SDK."""

from __future__ import annotations

import uuid

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.unified_role_assignment import UnifiedRoleAssignment
from msgraph.generated.models.unified_role_definition import UnifiedRoleDefinition
from msgraph.generated.models.unified_role_permission import UnifiedRolePermission
from msgraph.generated.role_management.directory.role_assignments.role_assignments_request_builder import (
    RoleAssignmentsRequestBuilder,
)
from msgraph.generated.role_management.directory.role_definitions.role_definitions_request_builder import (
    RoleDefinitionsRequestBuilder,
)

GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"


def role_definitions_query(**kwargs) -> RequestConfiguration:
    params = RoleDefinitionsRequestBuilder.RoleDefinitionsRequestBuilderGetQueryParameters(**kwargs)
    return RequestConfiguration(query_parameters=params)


def test_list_role_definitions(admin, run):
    page = run(admin.role_management.directory.role_definitions.get())
    assert page is not None and page.value, "the built-in catalog should not be empty"
    by_id = {r.id: r for r in page.value}
    assert GLOBAL_ADMINISTRATOR in by_id
    ga = by_id[GLOBAL_ADMINISTRATOR]
    assert ga.display_name == "Global Administrator"
    assert ga.is_built_in is True
    assert ga.is_enabled is True
    assert ga.template_id == GLOBAL_ADMINISTRATOR
    assert ga.role_permissions and ga.role_permissions[0].allowed_resource_actions
    assert all(isinstance(r, UnifiedRoleDefinition) for r in page.value)


def test_filter_role_definitions_by_display_name(admin, run):
    page = run(admin.role_management.directory.role_definitions.get(
        request_configuration=role_definitions_query(filter="displayName eq 'Global Reader'")))
    assert [r.id for r in page.value] == [GLOBAL_READER]
    assert page.value[0].display_name == "Global Reader"


def test_get_global_reader_by_id(admin, run):
    role = run(admin.role_management.directory.role_definitions.by_unified_role_definition_id(GLOBAL_READER).get())
    assert role.id == GLOBAL_READER
    assert role.display_name == "Global Reader"
    assert role.is_built_in is True
    assert role.template_id == GLOBAL_READER
    assert any(p.allowed_resource_actions for p in role.role_permissions)


def test_custom_role_create_update_delete(admin, run):
    name = f"App Registration Reader {uuid.uuid4().hex[:6]}"
    created = run(admin.role_management.directory.role_definitions.post(UnifiedRoleDefinition(
        display_name=name,
        description="Reads application registrations",
        is_enabled=True,
        role_permissions=[UnifiedRolePermission(
            allowed_resource_actions=["microsoft.directory/applications/standard/read"])],
    )))
    assert created.id
    assert created.display_name == name
    assert created.is_built_in is False
    assert created.is_enabled is True
    assert created.role_permissions[0].allowed_resource_actions == ["microsoft.directory/applications/standard/read"]
    item = admin.role_management.directory.role_definitions.by_unified_role_definition_id(created.id)

    # Found by $filter too.
    page = run(admin.role_management.directory.role_definitions.get(
        request_configuration=role_definitions_query(filter=f"displayName eq '{name}'")))
    assert [r.id for r in page.value] == [created.id]

    patched = run(item.patch(UnifiedRoleDefinition(description="Reads app registrations (updated)",
                                                   is_enabled=False)))
    assert patched is None or patched.description == "Reads app registrations (updated)"
    fetched = run(item.get())
    assert fetched.description == "Reads app registrations (updated)"
    assert fetched.is_enabled is False
    assert fetched.display_name == name

    run(item.delete())
    with pytest.raises(ODataError) as err:
        run(item.get())
    assert err.value.response_status_code == 404


def test_built_in_role_is_read_only(admin, run):
    item = admin.role_management.directory.role_definitions.by_unified_role_definition_id(GLOBAL_READER)
    with pytest.raises(ODataError) as err:
        run(item.patch(UnifiedRoleDefinition(description="nope")))
    assert 400 <= err.value.response_status_code < 500
    assert err.value.error is not None and err.value.error.code


def test_role_assignable_group_and_direct_assignment(admin, run):
    tag = uuid.uuid4().hex[:8]
    group = run(admin.groups.post(Group(
        display_name=f"Helpdesk operators {tag}",
        description="Role-assignable group",
        mail_enabled=False,
        mail_nickname=f"helpdesk{tag}",
        security_enabled=True,
        is_assignable_to_role=True,
    )))
    assert group.id
    assert group.is_assignable_to_role is True
    assert group.security_enabled is True

    assignment = run(admin.role_management.directory.role_assignments.post(UnifiedRoleAssignment(
        odata_type="#microsoft.graph.unifiedRoleAssignment",
        principal_id=group.id,
        role_definition_id=HELPDESK_ADMINISTRATOR,
        directory_scope_id="/",
    )))
    assert assignment.id
    assert assignment.principal_id == group.id
    assert assignment.role_definition_id == HELPDESK_ADMINISTRATOR
    assert assignment.directory_scope_id == "/"

    # A duplicate is refused with Graph's error body.
    with pytest.raises(ODataError) as err:
        run(admin.role_management.directory.role_assignments.post(UnifiedRoleAssignment(
            principal_id=group.id, role_definition_id=HELPDESK_ADMINISTRATOR, directory_scope_id="/")))
    assert err.value.error.code == "RoleAssignmentExists"

    query = RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(
        filter=f"principalId eq '{group.id}'", expand=["roleDefinition"])
    page = run(admin.role_management.directory.role_assignments.get(
        request_configuration=RequestConfiguration(query_parameters=query)))
    assert [a.id for a in page.value] == [assignment.id]
    assert page.value[0].role_definition is not None
    assert page.value[0].role_definition.display_name == "Helpdesk Administrator"

    got = run(admin.role_management.directory.role_assignments.by_unified_role_assignment_id(assignment.id).get())
    assert got.principal_id == group.id

    run(admin.role_management.directory.role_assignments.by_unified_role_assignment_id(assignment.id).delete())
    page = run(admin.role_management.directory.role_assignments.get(
        request_configuration=RequestConfiguration(query_parameters=query)))
    assert page.value == []

    fetched = run(admin.groups.by_group_id(group.id).get())
    assert fetched.display_name == group.display_name
