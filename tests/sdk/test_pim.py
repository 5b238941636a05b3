"""PIM end to end through the official Graph SDK: users, eligibilities, self-activation,
deactivation, active assignments and removals."""

from __future__ import annotations

import datetime as dt

import pytest
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.ticket_info import TicketInfo
from msgraph.generated.models.unified_role_assignment_schedule_instance import UnifiedRoleAssignmentScheduleInstance
from msgraph.generated.models.unified_role_schedule_request_actions import UnifiedRoleScheduleRequestActions as A
from msgraph.generated.role_management.directory.role_assignment_schedules.role_assignment_schedules_request_builder import (
    RoleAssignmentSchedulesRequestBuilder,
)
from msgraph.generated.role_management.directory.role_eligibility_schedule_requests.role_eligibility_schedule_requests_request_builder import (
    RoleEligibilityScheduleRequestsRequestBuilder,
)

from helpers import (
    APPLICATION_ADMINISTRATOR,
    AUTHENTICATION_ADMINISTRATOR,
    HELPDESK_ADMINISTRATOR,
    USER_ADMINISTRATOR,
    activate,
    after_date_time,
    assignment_request,
    deactivate,
    eligibility_request,
    make_eligible,
    no_expiration,
    query,
    utcnow,
)


def close_to(a: dt.datetime, b: dt.datetime, seconds: float = 2.0) -> bool:
    return abs((a - b).total_seconds()) <= seconds


def test_create_user_and_get_by_id_and_upn(admin, run, new_user):
    user = new_user("carol", job_title="Engineer", department="IT")
    assert user.id
    assert user.user_principal_name.startswith("carol.")
    assert user.job_title == "Engineer"
    assert user.account_enabled is True
    assert isinstance(user.created_date_time, dt.datetime) and user.created_date_time.tzinfo is not None
    by_id = run(admin.users.by_user_id(user.id).get())
    assert by_id.user_principal_name == user.user_principal_name
    # The SDK percent-encodes the key segment: /users/carol.xxx%40openpim.local
    by_upn = run(admin.users.by_user_id(user.user_principal_name).get())
    assert by_upn.id == user.id


def test_eligibility_admin_assign_no_expiration(admin, client_for, run, new_user, admin_id):
    user = new_user("eli")
    req = run(admin.role_management.directory.role_eligibility_schedule_requests.post(
        eligibility_request(A.AdminAssign, user.id, USER_ADMINISTRATOR, no_expiration(), "on call")))
    assert req.id
    assert req.status == "Provisioned"
    assert req.action == A.AdminAssign
    assert req.principal_id == user.id
    assert req.role_definition_id == USER_ADMINISTRATOR
    assert req.directory_scope_id == "/"
    assert req.justification == "on call"
    assert req.target_schedule_id == req.id
    assert req.created_by.user.id == admin_id
    assert req.schedule_info.expiration.type.value == "noExpiration"
    assert req.schedule_info.expiration.end_date_time is None
    assert close_to(req.schedule_info.start_date_time, utcnow(), 30)

    got = run(admin.role_management.directory.role_eligibility_schedule_requests
              .by_unified_role_eligibility_schedule_request_id(req.id).get())
    assert got.id == req.id and got.status == "Provisioned"

    listed = run(admin.role_management.directory.role_eligibility_schedule_requests.get(
        request_configuration=query(RoleEligibilityScheduleRequestsRequestBuilder,
                                    "RoleEligibilityScheduleRequestsRequestBuilderGetQueryParameters",
                                    filter=f"principalId eq '{user.id}'")))
    assert [r.id for r in listed.value] == [req.id]

    # The eligible user sees the eligibility as an instance.
    mine = run(client_for(user.user_principal_name).role_management.directory.role_eligibility_schedule_instances
               .filter_by_current_user_with_on("principal").get())
    assert [(i.role_definition_id, i.end_date_time) for i in mine.value] == [(USER_ADMINISTRATOR, None)]
    schedules = run(admin.role_management.directory.role_eligibility_schedules.get())
    assert any(s.principal_id == user.id and s.role_definition_id == USER_ADMINISTRATOR for s in schedules.value)

    # Duplicate eligibility refused.
    with pytest.raises(ODataError) as err:
        make_eligible(admin, run, user.id, USER_ADMINISTRATOR)
    assert err.value.error.code == "RoleAssignmentExists"


def test_eligibility_admin_assign_after_date_time(admin, client_for, run, new_user):
    user = new_user("dave")
    end = (utcnow() + dt.timedelta(days=30)).replace(microsecond=0)
    req = run(admin.role_management.directory.role_eligibility_schedule_requests.post(
        eligibility_request(A.AdminAssign, user.id, HELPDESK_ADMINISTRATOR, after_date_time(end))))
    assert req.status == "Provisioned"
    assert req.schedule_info.expiration.type.value == "afterDateTime"
    assert req.schedule_info.expiration.end_date_time == end

    dave = client_for(user.user_principal_name)
    mine = run(dave.role_management.directory.role_eligibility_schedule_instances
               .filter_by_current_user_with_on("principal").get())
    assert len(mine.value) == 1
    inst = mine.value[0]
    assert inst.role_definition_id == HELPDESK_ADMINISTRATOR
    assert inst.member_type == "Direct"
    assert inst.end_date_time == end
    assert inst.role_eligibility_schedule_id

    # Removing it right away is refused: nothing can be removed within 5 minutes.
    with pytest.raises(ODataError) as err:
        run(admin.role_management.directory.role_eligibility_schedule_requests.post(
            eligibility_request(A.AdminRemove, user.id, HELPDESK_ADMINISTRATOR, None, None)))
    assert err.value.response_status_code == 400
    assert err.value.error.code == "EligibleDurationTooShort"


def test_self_activate_and_deactivate(admin, client_for, run, new_user):
    user = new_user("erin")
    make_eligible(admin, run, user.id, USER_ADMINISTRATOR)
    erin = client_for(user.user_principal_name, mfa=True)

    req = activate(erin, run, user.id, USER_ADMINISTRATOR, "PT1H", "INC-42: reset a password",
                   ticket=TicketInfo(ticket_number="INC-42", ticket_system="ServiceNow"))
    assert req.status == "Provisioned"
    assert req.action == A.SelfActivate
    assert req.justification == "INC-42: reset a password"
    assert req.ticket_info.ticket_number == "INC-42"
    assert req.schedule_info.expiration.type.value == "afterDuration"
    # ISO durations come back as timedelta.
    assert req.schedule_info.expiration.duration == dt.timedelta(hours=1)
    assert req.created_by.user.id == user.id

    mine = run(erin.role_management.directory.role_assignment_schedule_instances
               .filter_by_current_user_with_on("principal").get())
    active = [i for i in mine.value if i.role_definition_id == USER_ADMINISTRATOR]
    assert len(active) == 1
    inst = active[0]
    assert isinstance(inst, UnifiedRoleAssignmentScheduleInstance)
    assert inst.assignment_type == "Activated"
    assert inst.member_type == "Direct"
    assert inst.principal_id == user.id
    assert inst.directory_scope_id == "/"
    assert inst.end_date_time is not None
    assert close_to(inst.end_date_time - inst.start_date_time, dt.timedelta(hours=1), 5) or \
        close_to(inst.start_date_time + dt.timedelta(hours=1), inst.end_date_time, 5)

    # The activation also shows on the requests filtered for the current user.
    my_requests = run(erin.role_management.directory.role_assignment_schedule_requests
                      .filter_by_current_user_with_on("principal").get())
    assert req.id in [r.id for r in my_requests.value]

    # A second activation of the same role is a duplicate.
    with pytest.raises(ODataError) as err:
        activate(erin, run, user.id, USER_ADMINISTRATOR, "PT1H", "again")
    assert err.value.error.code == "RoleAssignmentExists"

    # selfDeactivate right away: the 5-minute minimum applies.
    with pytest.raises(ODataError) as err:
        deactivate(erin, run, user.id, USER_ADMINISTRATOR)
    assert err.value.response_status_code == 400
    assert err.value.error.code == "ActiveDurationTooShort"
    assert "5 minutes" in err.value.error.message


def test_self_activate_needs_mfa(admin, client_for, run, new_user):
    user = new_user("frank")
    make_eligible(admin, run, user.id, APPLICATION_ADMINISTRATOR)
    frank = client_for(user.user_principal_name, mfa=False)
    with pytest.raises(ODataError) as err:
        activate(frank, run, user.id, APPLICATION_ADMINISTRATOR, "PT1H", "need it")
    assert err.value.error.code == "RoleAssignmentRequestPolicyValidationFailed"
    assert "MfaRule" in err.value.error.message


def test_self_activate_without_eligibility(client_for, run, new_user):
    user = new_user("gina")
    gina = client_for(user.user_principal_name)
    with pytest.raises(ODataError) as err:
        activate(gina, run, user.id, USER_ADMINISTRATOR, "PT1H", "please")
    assert err.value.response_status_code == 400
    assert err.value.error.code == "RoleAssignmentDoesNotExist"


def test_time_bound_active_admin_assign_and_early_remove(admin, client_for, run, new_user):
    user = new_user("hank")
    end = (utcnow() + dt.timedelta(days=7)).replace(microsecond=0)
    req = run(admin.role_management.directory.role_assignment_schedule_requests.post(assignment_request(
        A.AdminAssign, user.id, AUTHENTICATION_ADMINISTRATOR, after_date_time(end), "project X")))
    assert req.status == "Provisioned"
    assert req.schedule_info.expiration.end_date_time == end

    schedules = run(admin.role_management.directory.role_assignment_schedules.get(
        request_configuration=query(RoleAssignmentSchedulesRequestBuilder,
                                    "RoleAssignmentSchedulesRequestBuilderGetQueryParameters",
                                    filter=f"principalId eq '{user.id}'")))
    assert len(schedules.value) == 1
    sched = schedules.value[0]
    assert sched.assignment_type == "Assigned"
    assert sched.member_type == "Direct"
    assert sched.status == "Provisioned"
    assert sched.schedule_info.expiration.end_date_time == end
    got = run(admin.role_management.directory.role_assignment_schedules
              .by_unified_role_assignment_schedule_id(sched.id).get())
    assert got.id == sched.id

    hank = client_for(user.user_principal_name)
    mine = run(hank.role_management.directory.role_assignment_schedule_instances
               .filter_by_current_user_with_on("principal").get())
    assert [(i.role_definition_id, i.assignment_type) for i in mine.value] == [
        (AUTHENTICATION_ADMINISTRATOR, "Assigned")]
    assert mine.value[0].end_date_time == end

    # An admin-made assignment cannot be self-deactivated.
    with pytest.raises(ODataError) as err:
        deactivate(hank, run, user.id, AUTHENTICATION_ADMINISTRATOR)
    assert err.value.error.code in ("RoleAssignmentDoesNotExist", "ActiveDurationTooShort")

    # adminRemove of a fresh assignment: refused within 5 minutes of creation. (A Revoked result
    # needs the assignment to be 5 minutes old; see test_revoked.py.)
    with pytest.raises(ODataError) as err:
        run(admin.role_management.directory.role_assignment_schedule_requests.post(assignment_request(
            A.AdminRemove, user.id, AUTHENTICATION_ADMINISTRATOR, None, None)))
    assert err.value.response_status_code == 400
    assert err.value.error.code == "ActiveDurationTooShort"


def test_active_assignment_past_maximum_is_accepted_when_expiration_is_not_required(admin, run, new_user):
    """Expiration_Admin_Assignment defaults to isExpirationRequired false (P180D): as with a
    permanent assignment, any end is accepted (Graph's 2-year eligibility example); the maximum
    caps the end only once expiration is required (tests/policies.rs covers that case)."""
    user = new_user("ivan")
    end = utcnow() + dt.timedelta(days=400)
    created = run(admin.role_management.directory.role_assignment_schedule_requests.post(assignment_request(
        A.AdminAssign, user.id, HELPDESK_ADMINISTRATOR, after_date_time(end), "longer than P180D")))
    assert created.status == "Provisioned"


def test_timedelta_durations_as_kiota_writes_them(admin, client_for, run, new_user):
    """An SDK user who passes a real timedelta sends Kiota's str(timedelta) ("0:45:00"); the
    server accepts that form too and answers in ISO 8601, which the SDK reads back as timedelta."""
    user = new_user("kiota")
    make_eligible(admin, run, user.id, USER_ADMINISTRATOR)
    me = client_for(user.user_principal_name)
    req = activate(me, run, user.id, USER_ADMINISTRATOR, dt.timedelta(minutes=45), "timedelta")
    assert req.status == "Provisioned"
    assert req.schedule_info.expiration.duration == dt.timedelta(minutes=45)


def test_removal_after_five_minutes_is_revoked(admin, server, client_for, run, new_user):
    """adminRemove and selfDeactivate answer status Revoked once the 5 minutes have passed."""
    user = new_user("revoked")
    make_eligible(admin, run, user.id, USER_ADMINISTRATOR)
    me = client_for(user.user_principal_name)
    activate(me, run, user.id, USER_ADMINISTRATOR)
    server.advance(6)
    deactivated = deactivate(me, run, user.id, USER_ADMINISTRATOR)
    assert deactivated.status == "Revoked"
    removed = run(admin.role_management.directory.role_eligibility_schedule_requests.post(
        eligibility_request(A.AdminRemove, user.id, USER_ADMINISTRATOR, justification=None)))
    assert removed.status == "Revoked"
    assert removed.schedule_info is None and removed.target_schedule_id is None
