"""PIM iteration 2 (`/beta/privilegedAccess/aadRoles/...`) through msgraph-beta-sdk's
`privileged_access` builders: a role setting changed here is the v1.0 policy's rule; AdminAdd
Eligible -> UserAdd Active (with a reason) -> UserRemove once 5 minutes have passed -> AdminRemove;
a too-short schedule refused; a pending request cancelled; an approval through `updateRequest`.
The request bodies follow Microsoft's beta docs (governanceroleassignmentrequest-post.md),
spellings included (`AdminAdd`, `AdminRemove`, `Once`)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from helpers import USER_ADMINISTRATOR, query
from msgraph_beta.generated.models.governance_role_assignment_request import GovernanceRoleAssignmentRequest
from msgraph_beta.generated.models.governance_role_setting import GovernanceRoleSetting
from msgraph_beta.generated.models.governance_rule_setting import GovernanceRuleSetting
from msgraph_beta.generated.models.governance_schedule import GovernanceSchedule
from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_beta.generated.models.user import User
from msgraph_beta.generated.privileged_access.item.role_assignment_requests.item.update_request.update_request_post_request_body import (  # noqa: E501
    UpdateRequestPostRequestBody,
)
from msgraph_beta.generated.privileged_access.item.role_assignments.role_assignments_request_builder import (
    RoleAssignmentsRequestBuilder,
)
from msgraph_beta.generated.privileged_access.item.role_settings.role_settings_request_builder import (
    RoleSettingsRequestBuilder,
)

AAD = "aadRoles"


def new_user(admin, run, prefix: str) -> User:
    tag = uuid.uuid4().hex[:8]
    return run(admin.users.post(User(account_enabled=True, display_name=f"{prefix} {tag}",
                                     mail_nickname=f"{prefix}{tag}",
                                     user_principal_name=f"{prefix}.{tag}@openpim.local")))


def aad(client):
    return client.privileged_access.by_privileged_access_id(AAD)


def tenant_id(admin, run) -> str:
    resources = run(aad(admin).resources.get()).value
    assert len(resources) == 1
    return resources[0].id


def request(tenant: str, subject: str, type_: str, state: str, schedule=None, reason="Investigating INC-4711"):
    return GovernanceRoleAssignmentRequest(
        role_definition_id=USER_ADMINISTRATOR, resource_id=tenant, subject_id=subject,
        assignment_state=state, type=type_, reason=reason, schedule=schedule)


def assignments_of(admin, run, subject: str):
    config = query(RoleAssignmentsRequestBuilder, "RoleAssignmentsRequestBuilderGetQueryParameters",
                   filter=f"subjectId eq '{subject}'")
    return run(aad(admin).role_assignments.get(request_configuration=config)).value


def setting_of(admin, run, role: str) -> GovernanceRoleSetting:
    config = query(RoleSettingsRequestBuilder, "RoleSettingsRequestBuilderGetQueryParameters",
                   filter=f"roleDefinitionId eq '{role}'")
    rows = run(aad(admin).role_settings.get(request_configuration=config)).value
    assert len(rows) == 1
    return rows[0]


def test_role_setting_change_is_the_v1_policy(admin, run):
    setting = setting_of(admin, run, USER_ADMINISTRATOR)
    settings = aad(admin).role_settings.by_governance_role_setting_id(setting.id)
    before = next(s for s in setting.admin_eligible_settings if s.rule_identifier == "ExpirationRule")
    try:
        # The docs' example PATCH: only the list to change.
        run(settings.patch(GovernanceRoleSetting(admin_eligible_settings=[GovernanceRuleSetting(
            rule_identifier="ExpirationRule",
            setting=json.dumps({"permanentAssignment": False, "maximumGrantPeriodInMinutes": 129600}))])))
        rule = run(admin.policies.role_management_policies.by_unified_role_management_policy_id(setting.id)
                   .rules.by_unified_role_management_policy_rule_id("Expiration_Admin_Eligibility").get())
        assert rule.maximum_duration == dt.timedelta(days=90)
        assert rule.is_expiration_required is True
        again = run(settings.get())
        expiration = next(s for s in again.admin_eligible_settings if s.rule_identifier == "ExpirationRule")
        assert json.loads(expiration.setting)["maximumGrantPeriodInMinutes"] == 129600

        with pytest.raises(ODataError) as refused:
            run(settings.patch(GovernanceRoleSetting(
                user_member_settings=[GovernanceRuleSetting(rule_identifier="MfaRule", setting="not json")])))
        assert (refused.value.response_status_code, refused.value.error.code) == (400, "InvalidRoleSetting")
    finally:
        # The session's other tests share User Administrator's settings: back as they were.
        run(settings.patch(GovernanceRoleSetting(admin_eligible_settings=[
            GovernanceRuleSetting(rule_identifier="ExpirationRule", setting=before.setting)])))


def test_admin_add_user_add_user_remove_admin_remove(admin, client_for, run, server):
    tenant = tenant_id(admin, run)
    bob = new_user(admin, run, "bob")
    bob_client = client_for(bob.user_principal_name)
    start = server.now()

    added = run(aad(admin).role_assignment_requests.post(request(
        tenant, bob.id, "AdminAdd", "Eligible", reason="Assign an eligible role",
        schedule=GovernanceSchedule(type="Once", start_date_time=start, end_date_time=start + dt.timedelta(days=180)))))
    assert (added.type, added.assignment_state) == ("AdminAdd", "Eligible")
    assert added.status.sub_status == "Provisioned"
    eligible = assignments_of(admin, run, bob.id)
    assert [a.assignment_state for a in eligible] == ["Eligible"]

    # A too-short schedule is refused by the engine's 5-minute rule.
    with pytest.raises(ODataError) as short:
        run(aad(bob_client).role_assignment_requests.post(request(
            tenant, bob.id, "UserAdd", "Active",
            schedule=GovernanceSchedule(type="Once", start_date_time=start, duration=dt.timedelta(minutes=2)))))
    assert short.value.response_status_code == 400
    assert short.value.error.code == "RoleAssignmentRequestPolicyValidationFailed"

    activation = run(aad(bob_client).role_assignment_requests.post(request(
        tenant, bob.id, "UserAdd", "Active", reason="Fixing a locked-out user",
        schedule=GovernanceSchedule(type="Once", start_date_time=start, duration=dt.timedelta(hours=1)))))
    assert activation.reason == "Fixing a locked-out user"
    assert activation.linked_eligible_role_assignment_id == eligible[0].id
    active = [a for a in assignments_of(admin, run, bob.id) if a.assignment_state == "Active"]
    assert len(active) == 1 and active[0].linked_eligible_role_assignment_id == eligible[0].id

    with pytest.raises(ODataError) as too_soon:
        run(aad(bob_client).role_assignment_requests.post(request(tenant, bob.id, "UserRemove", "Active")))
    assert too_soon.value.error.code == "RoleAssignmentRequestPolicyValidationFailed"
    server.advance(6)  # skips without libfaketime
    removed = run(aad(bob_client).role_assignment_requests.post(request(tenant, bob.id, "UserRemove", "Active")))
    assert (removed.status.status, removed.status.sub_status) == ("Closed", "Revoked")

    run(aad(admin).role_assignment_requests.post(request(tenant, bob.id, "AdminRemove", "Eligible")))
    assert assignments_of(admin, run, bob.id) == []


def test_cancel_and_approval_through_update_request(admin, client_for, run, server):
    tenant = tenant_id(admin, run)
    bob = new_user(admin, run, "requester")
    alice = new_user(admin, run, "approver")
    bob_client, alice_client = client_for(bob.user_principal_name), client_for(alice.user_principal_name)
    start = server.now()
    run(aad(admin).role_assignment_requests.post(request(
        tenant, bob.id, "AdminAdd", "Eligible", schedule=GovernanceSchedule(type="Once", start_date_time=start))))
    setting = setting_of(admin, run, USER_ADMINISTRATOR)
    approval = {"Enabled": True, "Approvers": [{"Id": alice.id, "Type": "User", "DisplayName": alice.display_name}]}
    run(aad(admin).role_settings.by_governance_role_setting_id(setting.id).patch(GovernanceRoleSetting(
        user_member_settings=[GovernanceRuleSetting(rule_identifier="ApprovalRule", setting=json.dumps(approval))])))
    try:
        def activate():
            return run(aad(bob_client).role_assignment_requests.post(request(
                tenant, bob.id, "UserAdd", "Active",
                schedule=GovernanceSchedule(type="Once", start_date_time=start, duration=dt.timedelta(hours=2)))))

        pending = activate()
        assert (pending.status.status, pending.status.sub_status) == ("InProgress", "PendingAdminDecision")
        requests = aad(bob_client).role_assignment_requests
        run(requests.by_governance_role_assignment_request_id(pending.id).cancel.post())
        cancelled = run(requests.by_governance_role_assignment_request_id(pending.id).get())
        assert cancelled.status.sub_status == "Canceled"
        with pytest.raises(ODataError) as again:
            run(requests.by_governance_role_assignment_request_id(pending.id).cancel.post())
        assert again.value.error.code == "RequestCannotBeCancelled"

        pending = activate()
        decision = UpdateRequestPostRequestBody(
            reason="approve the request", decision="AdminApproved", assignment_state="Active",
            schedule=GovernanceSchedule(type="Once", start_date_time=start))
        run(aad(alice_client).role_assignment_requests.by_governance_role_assignment_request_id(pending.id)
            .update_request.post(decision))
        approved = run(aad(admin).role_assignment_requests.by_governance_role_assignment_request_id(pending.id).get())
        assert approved.status.sub_status == "Provisioned"
        assert any(a.assignment_state == "Active" for a in assignments_of(admin, run, bob.id))
    finally:
        # The session's other tests share User Administrator's settings: approval off again.
        run(aad(admin).role_settings.by_governance_role_setting_id(setting.id).patch(GovernanceRoleSetting(
            user_member_settings=[GovernanceRuleSetting(rule_identifier="ApprovalRule",
                                                        setting=json.dumps({"Approvers": []}))])))
