"""The Graph beta flow of "Remove role assignments from a group" (MicrosoftDocs/azure-docs,
articles/active-directory/roles/groups-remove-assignment.md), through msgraph-beta-sdk: create a
role-assignable Microsoft 365 group, find Helpdesk Administrator by display name, assign it to the
group, list, and remove it."""

from __future__ import annotations

import uuid

import pytest
from helpers import HELPDESK_ADMINISTRATOR, query
from msgraph_beta.generated.models.group import Group
from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_beta.generated.models.unified_role_assignment import UnifiedRoleAssignment
from msgraph_beta.generated.role_management.directory.role_assignments.role_assignments_request_builder import (
    RoleAssignmentsRequestBuilder,
)
from msgraph_beta.generated.role_management.directory.role_definitions.role_definitions_request_builder import (
    RoleDefinitionsRequestBuilder,
)


def test_seed_group_flow(admin, run):
    # POST /beta/groups: the document's body (a Microsoft 365 group that can hold roles).
    nickname = f"contosohelpdeskadministrators{uuid.uuid4().hex[:6]}"
    group = run(admin.groups.post(Group(
        description="This group is assigned to Helpdesk Administrator built-in role of Azure AD",
        display_name="Contoso_Helpdesk_Administrators",
        group_types=["Unified"],
        mail_enabled=True,
        security_enabled=True,
        mail_nickname=nickname,
        is_assignable_to_role=True,
    )))
    assert group.id
    assert group.group_types == ["Unified"]
    assert group.is_assignable_to_role is True
    assert (group.mail_enabled, group.security_enabled) == (True, True)

    # GET /beta/roleManagement/directory/roleDefinitions?$filter=displayName eq 'Helpdesk Administrator'
    found = run(admin.role_management.directory.role_definitions.get(request_configuration=query(
        RoleDefinitionsRequestBuilder, "RoleDefinitionsRequestBuilderGetQueryParameters",
        filter="displayName eq 'Helpdesk Administrator'")))
    assert [r.id for r in found.value] == [HELPDESK_ADMINISTRATOR]
    role = found.value[0]
    assert role.display_name == "Helpdesk Administrator" and role.is_built_in is True

    # POST /beta/roleManagement/directory/roleAssignments
    assignments = admin.role_management.directory.role_assignments
    created = run(assignments.post(UnifiedRoleAssignment(
        principal_id=group.id, role_definition_id=role.id, directory_scope_id="/")))
    assert (created.principal_id, created.role_definition_id, created.directory_scope_id) == (group.id, role.id, "/")

    by_group = query(RoleAssignmentsRequestBuilder, "RoleAssignmentsRequestBuilderGetQueryParameters",
                     filter=f"principalId eq '{group.id}'")
    listed = run(assignments.get(request_configuration=by_group))
    assert [a.id for a in listed.value] == [created.id]

    # DELETE /beta/roleManagement/directory/roleAssignments/{id}. A direct assignment has no
    # 5-minute lock (that rule is for schedule requests), so it goes at once.
    run(assignments.by_unified_role_assignment_id(created.id).delete())
    assert run(assignments.get(request_configuration=by_group)).value == []
    with pytest.raises(ODataError) as gone:
        run(assignments.by_unified_role_assignment_id(created.id).get())
    assert gone.value.response_status_code == 404


def test_a_plain_microsoft_365_group_must_be_mail_enabled(admin, run):
    with pytest.raises(ODataError) as refused:
        run(admin.groups.post(Group(display_name="Not mail-enabled", group_types=["Unified"], mail_enabled=False,
                                    security_enabled=True, mail_nickname=f"m365{uuid.uuid4().hex[:6]}")))
    assert refused.value.response_status_code == 400
    assert refused.value.error.code == "Request_BadRequest"
