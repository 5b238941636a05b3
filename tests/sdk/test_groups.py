"""Role-assignable group membership through the SDK, and roles held through a group."""

from __future__ import annotations

import uuid

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.headers_collection import HeadersCollection
from msgraph.generated.models.group import Group
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.user import User
from msgraph.generated.role_management.directory.role_assignments.role_assignments_request_builder import (
    RoleAssignmentsRequestBuilder,
)
from msgraph.generated.users.count.count_request_builder import CountRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from helpers import (
    CLOUD_APPLICATION_ADMINISTRATOR,
    activate,
    make_eligible,
    query,
)


def new_role_group(admin, run, name: str) -> Group:
    tag = uuid.uuid4().hex[:8]
    return run(admin.groups.post(Group(display_name=f"{name} {tag}", mail_enabled=False,
                                       mail_nickname=f"grp{tag}", security_enabled=True,
                                       is_assignable_to_role=True)))


def test_members_ref_and_member_of(admin, server, client_for, run, new_user):
    group = new_role_group(admin, run, "Reporting")
    user = new_user("member")
    run(admin.groups.by_group_id(group.id).members.ref.post(
        ReferenceCreate(odata_id=f"{server.base_url}/directoryObjects/{user.id}")))
    members = run(admin.groups.by_group_id(group.id).members.get())
    assert [m.id for m in members.value] == [user.id]
    assert isinstance(members.value[0], User), "directoryObject items are discriminated by @odata.type"
    assert members.value[0].user_principal_name == user.user_principal_name

    mine = run(client_for(user.user_principal_name).me.member_of.get())
    assert [g.id for g in mine.value] == [group.id]
    assert isinstance(mine.value[0], Group) and mine.value[0].is_assignable_to_role is True

    run(admin.groups.by_group_id(group.id).members.by_directory_object_id(user.id).ref.delete())
    assert run(admin.groups.by_group_id(group.id).members.get()).value == []


def test_eligibility_through_group_and_expanded_principal(admin, server, client_for, run, new_user):
    group = new_role_group(admin, run, "Cloud app admins")
    user = new_user("viagroup")
    run(admin.groups.by_group_id(group.id).members.ref.post(
        ReferenceCreate(odata_id=f"{server.base_url}/directoryObjects/{user.id}")))
    make_eligible(admin, run, group.id, CLOUD_APPLICATION_ADMINISTRATOR)

    me = client_for(user.user_principal_name)
    eligible = run(me.role_management.directory.role_eligibility_schedule_instances
                   .filter_by_current_user_with_on("principal").get())
    assert [(i.role_definition_id, i.member_type) for i in eligible.value] == [
        (CLOUD_APPLICATION_ADMINISTRATOR, "Group")]

    req = activate(me, run, user.id, CLOUD_APPLICATION_ADMINISTRATOR, "PT30M", "via group")
    assert req.status == "Provisioned"
    active = run(me.role_management.directory.role_assignment_schedule_instances
                 .filter_by_current_user_with_on("principal").get())
    assert [(i.role_definition_id, i.assignment_type) for i in active.value] == [
        (CLOUD_APPLICATION_ADMINISTRATOR, "Activated")]

    # roleAssignments reflects what is in effect now, with the principal expanded and typed.
    cfg = query(RoleAssignmentsRequestBuilder, "RoleAssignmentsRequestBuilderGetQueryParameters",
                filter=f"principalId eq '{user.id}'", expand=["principal"])
    page = run(admin.role_management.directory.role_assignments.get(request_configuration=cfg))
    assert [a.role_definition_id for a in page.value] == [CLOUD_APPLICATION_ADMINISTRATOR]
    assert isinstance(page.value[0].principal, User)
    assert page.value[0].principal.id == user.id


def test_count_with_consistency_level(admin, run, new_user):
    dept = f"Count-{uuid.uuid4().hex[:6]}"
    for _ in range(3):
        new_user("counted", department=dept)
    headers = HeadersCollection()
    headers.add("ConsistencyLevel", "eventual")
    params = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter=f"department eq '{dept}'", count=True, top=2)
    page = run(admin.users.get(request_configuration=RequestConfiguration(headers=headers, query_parameters=params)))
    assert page.odata_count == 3
    assert len(page.value) == 2


def test_count_path_segment(admin, run, new_user):
    """`client.users.count.get()` reads Graph's `/users/$count` (a bare number, text/plain)."""
    dept = f"Seg-{uuid.uuid4().hex[:6]}"
    for _ in range(2):
        new_user("segment", department=dept)
    headers = HeadersCollection()
    headers.add("ConsistencyLevel", "eventual")
    params = CountRequestBuilder.CountRequestBuilderGetQueryParameters(filter=f"department eq '{dept}'")
    count = run(admin.users.count.get(request_configuration=RequestConfiguration(headers=headers, query_parameters=params)))
    assert count == 2
    everyone = run(admin.users.count.get(request_configuration=RequestConfiguration(headers=headers)))
    assert everyone >= 3
