"""Paging with the SDK's PageIterator, and the directory audit log."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from msgraph.generated.audit_logs.directory_audits.directory_audits_request_builder import (
    DirectoryAuditsRequestBuilder,
)
from msgraph.generated.models.directory_audit import DirectoryAudit
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.user import User
from msgraph.generated.models.user_collection_response import UserCollectionResponse
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core.tasks.page_iterator import PageIterator

from helpers import query


def test_page_iterator_over_users(admin, run, new_user):
    dept = f"Paging-{uuid.uuid4().hex[:6]}"
    created = {new_user("pager", department=dept).id for _ in range(8)}
    cfg = query(UsersRequestBuilder, "UsersRequestBuilderGetQueryParameters",
                filter=f"department eq '{dept}'", top=3, select=["id", "displayName", "department"])
    first = run(admin.users.get(request_configuration=cfg))
    assert isinstance(first, UserCollectionResponse)
    assert len(first.value) == 3
    assert first.odata_next_link and first.odata_next_link.startswith("http://127.0.0.1:")

    seen: list[User] = []
    pages = []

    def collect(user: User) -> bool:
        seen.append(user)
        return True  # keep going

    iterator = PageIterator(first, admin.request_adapter)
    original_next = iterator.next

    async def counting_next():
        page = await original_next()
        if page is not None:
            pages.append(len(page.value or []))
        return page

    iterator.next = counting_next
    run(iterator.iterate(collect))

    assert {u.id for u in seen} == created
    assert len(seen) == 8, "no duplicates across pages"
    assert pages == [3, 2], pages  # after the first page of 3: 3 + 2
    assert all(isinstance(u, User) and u.department == dept for u in seen)
    # $select was kept across pages.
    assert all(u.user_principal_name is None for u in seen)


def test_page_iterator_stops_when_callback_returns_false(admin, run, new_user):
    dept = f"Paging-{uuid.uuid4().hex[:6]}"
    for _ in range(5):
        new_user("stop", department=dept)
    cfg = query(UsersRequestBuilder, "UsersRequestBuilderGetQueryParameters",
                filter=f"department eq '{dept}'", top=2)
    first = run(admin.users.get(request_configuration=cfg))
    seen = []

    def first_three(user: User) -> bool:
        seen.append(user.id)
        return len(seen) < 3

    run(PageIterator(first, admin.request_adapter).iterate(first_three))
    assert len(seen) == 3


def test_directory_audits(admin, run, new_user, admin_id):
    user = new_user("audited")
    page = run(admin.audit_logs.directory_audits.get())
    assert page.value, "writes are audited"
    assert all(isinstance(a, DirectoryAudit) for a in page.value)
    newest = page.value[0]
    assert isinstance(newest.activity_date_time, dt.datetime)
    times = [a.activity_date_time for a in page.value]
    assert times == sorted(times, reverse=True), "newest first"

    added = [a for a in page.value if a.activity_display_name == "Add user"
             and any(t.id == user.id for t in (a.target_resources or []))]
    assert len(added) == 1
    entry = added[0]
    assert entry.category == "UserManagement"
    assert entry.result.value == "success"
    assert entry.initiated_by.user.id == admin_id
    assert entry.initiated_by.user.user_principal_name == "admin@openpim.local"
    assert entry.id and entry.correlation_id

    got = run(admin.audit_logs.directory_audits.by_directory_audit_id(entry.id).get())
    assert got.id == entry.id and got.activity_display_name == "Add user"

    cfg = query(DirectoryAuditsRequestBuilder, "DirectoryAuditsRequestBuilderGetQueryParameters",
                filter="category eq 'RoleManagement'", top=5)
    rm = run(admin.audit_logs.directory_audits.get(request_configuration=cfg))
    assert all(a.category == "RoleManagement" for a in rm.value)


def test_directory_audits_need_a_reader_role(client_for, run, new_user):
    user = new_user("nosy")
    with pytest.raises(ODataError) as err:
        run(client_for(user.user_principal_name).audit_logs.directory_audits.get())
    assert err.value.response_status_code == 403
    assert err.value.error.code == "Authorization_RequestDenied"
