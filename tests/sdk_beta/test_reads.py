"""Reads through msgraph-beta-sdk: users, role definitions and PIM schedule requests, parsed
into beta's models with nothing left over (the `run` fixture checks that)."""

from __future__ import annotations

import uuid

from helpers import USER_ADMINISTRATOR, permanent_eligibility, query
from msgraph_beta.generated.models.user import User
from msgraph_beta.generated.role_management.directory.role_eligibility_schedule_requests.role_eligibility_schedule_requests_request_builder import (  # noqa: E501
    RoleEligibilityScheduleRequestsRequestBuilder,
)
from msgraph_beta.generated.role_management.directory.role_eligibility_schedules.role_eligibility_schedules_request_builder import (  # noqa: E501
    RoleEligibilitySchedulesRequestBuilder,
)
from msgraph_beta.generated.users.users_request_builder import UsersRequestBuilder
from openpim_server import ADMIN_UPN


def new_user(admin, run, prefix: str) -> User:
    tag = uuid.uuid4().hex[:8]
    return run(admin.users.post(User(account_enabled=True, display_name=f"{prefix} {tag}",
                                     mail_nickname=f"{prefix}{tag}",
                                     user_principal_name=f"{prefix}.{tag}@openpim.local")))


def test_users(admin, run):
    # msgraph-beta-sdk 1.66.0 declares `me` as a plain method (the v1.0 SDK's is a property).
    me = run(admin.me().get())
    assert me.user_principal_name == ADMIN_UPN
    alice = new_user(admin, run, "alice")
    got = run(admin.users.by_user_id(alice.id).get())
    assert (got.id, got.display_name, got.account_enabled) == (alice.id, alice.display_name, True)
    page = run(admin.users.get(request_configuration=query(
        UsersRequestBuilder, "UsersRequestBuilderGetQueryParameters", filter=f"id eq '{alice.id}'")))
    assert [u.user_principal_name for u in page.value] == [alice.user_principal_name]


def test_role_definitions(admin, run, server):
    definitions = admin.role_management.directory.role_definitions
    role = run(definitions.by_unified_role_definition_id(USER_ADMINISTRATOR).get())
    assert role.display_name == "User Administrator"
    assert role.is_built_in is True
    assert role.role_permissions and role.role_permissions[0].allowed_resource_actions

    # The whole catalog, page by page: every next link stays under /beta and the SDK follows it.
    page = run(definitions.get())
    ids = [r.id for r in page.value]
    pages = 1
    while page.odata_next_link:
        assert page.odata_next_link.startswith(f"{server.origin}/beta/roleManagement/directory/roleDefinitions?")
        page = run(definitions.with_url(page.odata_next_link).get())
        ids += [r.id for r in page.value]
        pages += 1
    assert pages > 1, "the built-in catalog spans more than one page"
    assert USER_ADMINISTRATOR in ids
    assert len(ids) == len(set(ids)), "no role is listed twice"


def test_schedule_requests_and_schedules(admin, run):
    bob = new_user(admin, run, "bob")
    made = run(admin.role_management.directory.role_eligibility_schedule_requests.post(
        permanent_eligibility(bob.id, USER_ADMINISTRATOR)))
    assert (made.action, made.status, made.principal_id) == ("adminAssign", "Provisioned", bob.id)

    by_bob = {"filter": f"principalId eq '{bob.id}'"}
    requests = run(admin.role_management.directory.role_eligibility_schedule_requests.get(request_configuration=query(
        RoleEligibilityScheduleRequestsRequestBuilder, "RoleEligibilityScheduleRequestsRequestBuilderGetQueryParameters",
        **by_bob)))
    assert [r.id for r in requests.value] == [made.id]
    one = run(admin.role_management.directory.role_eligibility_schedule_requests
              .by_unified_role_eligibility_schedule_request_id(made.id).get())
    assert (one.role_definition_id, one.directory_scope_id) == (USER_ADMINISTRATOR, "/")

    schedules = run(admin.role_management.directory.role_eligibility_schedules.get(request_configuration=query(
        RoleEligibilitySchedulesRequestBuilder, "RoleEligibilitySchedulesRequestBuilderGetQueryParameters", **by_bob)))
    assert [(s.principal_id, s.role_definition_id, s.member_type) for s in schedules.value] == [
        (bob.id, USER_ADMINISTRATOR, "Direct")]
