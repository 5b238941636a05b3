"""PIM security alerts for Azure resources through azure-mgmt-authorization 4.0.0's
2022-08-01-preview operation groups (`alerts`, `alert_definitions`, `alert_configurations`,
`alert_incidents`, `alert_operation`): the definitions and configurations at the subscription,
refresh and refresh-all as long-running operations polled through their `Location`, the
"roles assigned outside PIM" alert raised by the admin's own direct Owner assignment, its
incidents, dismissal, a configuration PATCH, and a Reader refused a dismissal.

The session's server is shared with the other SDK tests, so assertions name the admin's own
incident rather than counting everything at the subscription.
"""

from __future__ import annotations

import json
import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.v2022_08_01_preview.models import (
    Alert,
    AlertConfiguration,
    AzureRolesAssignedOutsidePimAlertIncidentProperties,
)

import helpers
from helpers import arm_error, json_of, with_response

OUTSIDE = "AzureRolesAssignedOutsidePimAlert"
PERMANENT = "TooManyPermanentOwnersAssignedToResource"
NAMES = {OUTSIDE, PERMANENT, "TooManyOwnersAssignedToResource", "DuplicateRoleCreated"}


@pytest.fixture
def scope(subscription_id) -> str:
    return helpers.subscription_scope(subscription_id)


def test_definitions_and_configurations_at_the_subscription(admin, scope):
    definitions = list(admin.authorization.alert_definitions.list_for_scope(scope))
    assert {d.name for d in definitions} == NAMES
    outside = admin.authorization.alert_definitions.get(scope, OUTSIDE)
    assert outside.severity_level == "High"
    assert outside.display_name == "Roles are being assigned outside of Privileged Identity Management"
    assert outside.type == "Microsoft.Authorization/roleManagementAlertDefinitions"

    configurations = list(admin.authorization.alert_configurations.list_for_scope(scope))
    assert {c.name for c in configurations} == NAMES
    config = admin.authorization.alert_configurations.get(scope, PERMANENT)
    assert config.alert_configuration_type == "TooManyPermanentOwnersAssignedToResourceAlertConfiguration"
    assert config.is_enabled is True

    # The SDK's model carries only the common properties: a threshold goes as a raw body.
    body = json.dumps({"properties": {
        "alertConfigurationType": "TooManyPermanentOwnersAssignedToResourceAlertConfiguration",
        "thresholdNumberOfPermanentOwners": 25,
    }}).encode()
    assert admin.authorization.alert_configurations.update(scope, PERMANENT, body) is None
    response, _ = with_response(admin.authorization.alert_configurations.get, scope, PERMANENT)
    assert json_of(response)["properties"]["thresholdNumberOfPermanentOwners"] == 25
    # The model's PATCH (isEnabled and the discriminator) is accepted too.
    update = AlertConfiguration(is_enabled=True, alert_configuration_type=config.alert_configuration_type)
    assert admin.authorization.alert_configurations.update(scope, PERMANENT, update) is None
    with pytest.raises(HttpResponseError) as excinfo:
        admin.authorization.alert_configurations.update(scope, PERMANENT, json.dumps({"properties": {
            "alertConfigurationType": "TooManyPermanentOwnersAssignedToResourceAlertConfiguration",
            "thresholdNumberOfPermanentOwners": 0,
        }}).encode())
    assert arm_error(excinfo)[0] == 400


def test_refresh_raises_the_outside_pim_alert_which_a_dismissal_quiets(admin, admin_id, scope):
    operation = admin.authorization.alerts.begin_refresh_all(scope).result()
    assert operation.status == "Succeeded"
    assert {r["name"] for r in json.loads(operation.status_detail)["result"]} == NAMES
    again = admin.authorization.alert_operation.get(scope, operation.id)
    assert (again.id, again.status) == (operation.id, "Succeeded")

    alert = admin.authorization.alerts.get(scope, OUTSIDE)
    assert alert.is_active is True and alert.incident_count >= 1
    assert alert.alert_definition.name == OUTSIDE
    assert alert.alert_configuration.alert_configuration_type == "AzureRolesAssignedOutsidePimAlertConfiguration"
    mine = [i for i in admin.authorization.alert_incidents.list_for_scope(scope, OUTSIDE)
            if isinstance(i.properties, AzureRolesAssignedOutsidePimAlertIncidentProperties)
            and i.properties.assignee_id == admin_id]
    assert mine, "the admin's direct Owner assignment is an incident"
    assert mine[0].properties.role_display_name == "Owner"
    one = admin.authorization.alert_incidents.get(scope, OUTSIDE, mine[0].name)
    assert one.properties.assignee_id == admin_id
    assert OUTSIDE in {a.name for a in admin.authorization.alerts.list_for_scope(scope) if a.is_active}

    assert admin.authorization.alerts.update(scope, OUTSIDE, Alert(is_active=False)) is None
    assert admin.authorization.alerts.get(scope, OUTSIDE).is_active is False
    operation = admin.authorization.alerts.begin_refresh(scope, OUTSIDE).result()
    assert operation.status == "Succeeded"
    assert [r["name"] for r in json.loads(operation.status_detail)["result"]] == [OUTSIDE]


def test_a_reader_reads_alerts_but_cannot_dismiss_them(admin, arm_for, new_user, subscription_id, scope):
    user = new_user("alertreader")
    admin.authorization.role_assignments.create(
        scope, str(uuid.uuid4()), helpers.assignment(subscription_id, helpers.READER, user["id"], "User"))
    reader = arm_for(user["userPrincipalName"])
    assert {a.name for a in reader.authorization.alerts.list_for_scope(scope)} == NAMES
    with pytest.raises(HttpResponseError) as excinfo:
        reader.authorization.alerts.update(scope, OUTSIDE, Alert(is_active=False))
    status, code, message = arm_error(excinfo)
    assert (status, code) == (403, "AuthorizationFailed")
    assert "Microsoft.Authorization/roleManagementAlerts/write" in message
