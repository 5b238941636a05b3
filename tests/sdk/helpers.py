"""Small builders shared by the SDK tests (SDK models only, no raw HTTP)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_checks import unparsed_properties  # noqa: F401  (shared with tests/sdk_beta)
from msgraph.generated.models.expiration_pattern import ExpirationPattern
from msgraph.generated.models.expiration_pattern_type import ExpirationPatternType
from msgraph.generated.models.request_schedule import RequestSchedule
from msgraph.generated.models.ticket_info import TicketInfo
from msgraph.generated.models.unified_role_assignment_schedule_request import UnifiedRoleAssignmentScheduleRequest
from msgraph.generated.models.unified_role_eligibility_schedule_request import UnifiedRoleEligibilityScheduleRequest
from msgraph.generated.models.unified_role_schedule_request_actions import UnifiedRoleScheduleRequestActions

USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
PASSWORD_ADMINISTRATOR = "966707d0-3269-4727-9be2-8c3a10f19b9d"
SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
REPORTS_READER = "4a5d8f65-41da-4de4-8968-e035b65339cf"
EXCHANGE_ADMINISTRATOR = "29232cdf-9323-42fd-ade2-1d097af3e4de"
TEAMS_ADMINISTRATOR = "69091246-20e8-4a56-aa4d-066075b2a7a8"
SHAREPOINT_ADMINISTRATOR = "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"
APPLICATION_ADMINISTRATOR = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
CLOUD_APPLICATION_ADMINISTRATOR = "158c047a-c907-4556-b7ef-446551a6b5f7"
AUTHENTICATION_ADMINISTRATOR = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
GLOBAL_ADMIN_ID = "62e90394-69f5-4237-9190-012177145e10"


# How far the test server's clock has been moved ahead of the real one (see Server.advance).
server_clock_offset = dt.timedelta(0)


def utcnow() -> dt.datetime:
    """The test server's "now": the real time plus however far the tests moved its clock."""
    return dt.datetime.now(dt.timezone.utc) + server_clock_offset


def no_expiration() -> RequestSchedule:
    return RequestSchedule(expiration=ExpirationPattern(type=ExpirationPatternType.NoExpiration))


def after_date_time(end: dt.datetime, start: Optional[dt.datetime] = None) -> RequestSchedule:
    return RequestSchedule(
        start_date_time=start or utcnow(),
        expiration=ExpirationPattern(type=ExpirationPatternType.AfterDateTime, end_date_time=end),
    )


def after_duration(iso, start: Optional[dt.datetime] = None) -> RequestSchedule:
    # The model field is typed timedelta, but Kiota writes str(value): pass the ISO string so
    # the wire carries ISO 8601 (msgraph-sdk-notes.md, "Durations").
    return RequestSchedule(
        start_date_time=start or utcnow(),
        expiration=ExpirationPattern(type=ExpirationPatternType.AfterDuration, duration=iso),
    )


def eligibility_request(action: UnifiedRoleScheduleRequestActions, principal_id: str, role_id: str,
                        schedule: Optional[RequestSchedule] = None,
                        justification: Optional[str] = "SDK test") -> UnifiedRoleEligibilityScheduleRequest:
    return UnifiedRoleEligibilityScheduleRequest(
        action=action,
        principal_id=principal_id,
        role_definition_id=role_id,
        directory_scope_id="/",
        justification=justification,
        schedule_info=schedule,
    )


def assignment_request(action: UnifiedRoleScheduleRequestActions, principal_id: str, role_id: str,
                       schedule: Optional[RequestSchedule] = None, justification: Optional[str] = "SDK test",
                       ticket: Optional[TicketInfo] = None) -> UnifiedRoleAssignmentScheduleRequest:
    return UnifiedRoleAssignmentScheduleRequest(
        action=action,
        principal_id=principal_id,
        role_definition_id=role_id,
        directory_scope_id="/",
        justification=justification,
        schedule_info=schedule,
        ticket_info=ticket,
    )


def query(builder_cls, params_name: str, **kwargs) -> RequestConfiguration:
    """RequestConfiguration with the request builder's generated query-parameter class."""
    params = getattr(builder_cls, params_name)(**kwargs)
    return RequestConfiguration(query_parameters=params)


def make_eligible(admin, run, principal_id: str, role_id: str) -> None:
    """Admin makes `principal_id` permanently eligible for `role_id` (SDK call)."""
    run(admin.role_management.directory.role_eligibility_schedule_requests.post(
        eligibility_request(UnifiedRoleScheduleRequestActions.AdminAssign, principal_id, role_id, no_expiration())))


def activate(client, run, principal_id: str, role_id: str, duration="PT1H", justification: Optional[str] = "SDK test",
             ticket: Optional[TicketInfo] = None) -> UnifiedRoleAssignmentScheduleRequest:
    """`client`, signed in as `principal_id`, self-activates its eligibility for `role_id` for
    `duration` (ISO 8601, or a timedelta as Kiota writes it) from now (SDK call)."""
    return run(client.role_management.directory.role_assignment_schedule_requests.post(assignment_request(
        UnifiedRoleScheduleRequestActions.SelfActivate, principal_id, role_id, after_duration(duration),
        justification, ticket)))


def deactivate(client, run, principal_id: str, role_id: str) -> UnifiedRoleAssignmentScheduleRequest:
    """`client`, signed in as `principal_id`, ends its activation of `role_id` (SDK call)."""
    return run(client.role_management.directory.role_assignment_schedule_requests.post(assignment_request(
        UnifiedRoleScheduleRequestActions.SelfDeactivate, principal_id, role_id, None, None)))
