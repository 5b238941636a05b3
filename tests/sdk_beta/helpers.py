"""Small builders shared by the beta SDK tests (beta SDK models only, no raw HTTP)."""

from __future__ import annotations

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph_beta.generated.models.expiration_pattern import ExpirationPattern
from msgraph_beta.generated.models.expiration_pattern_type import ExpirationPatternType
from msgraph_beta.generated.models.request_schedule import RequestSchedule
from msgraph_beta.generated.models.unified_role_eligibility_schedule_request import (
    UnifiedRoleEligibilityScheduleRequest,
)

HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"


def query(builder_cls, params_name: str, **kwargs) -> RequestConfiguration:
    """RequestConfiguration with the request builder's generated query-parameter class."""
    return RequestConfiguration(query_parameters=getattr(builder_cls, params_name)(**kwargs))


def permanent_eligibility(principal_id: str, role_id: str) -> UnifiedRoleEligibilityScheduleRequest:
    """An admin's request making `principal_id` permanently eligible for `role_id` at the tenant
    (beta's model types `action` as a plain string)."""
    return UnifiedRoleEligibilityScheduleRequest(
        action="adminAssign",
        principal_id=principal_id,
        role_definition_id=role_id,
        directory_scope_id="/",
        justification="beta SDK test",
        schedule_info=RequestSchedule(expiration=ExpirationPattern(type=ExpirationPatternType.NoExpiration)),
    )
