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
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.v2022_08_01_preview.models import (
    Alert,
    AlertConfiguration,
)

import helpers
from helpers import arm_error, json_of, with_response

OUTSIDE = "AzureRolesAssignedOutsidePimAlert"
PERMANENT = "TooManyPermanentOwnersAssignedToResource"
NAMES = {OUTSIDE, PERMANENT, "TooManyOwnersAssignedToResource", "DuplicateRoleCreated"}


def client(arm: helpers.Arm) -> AuthorizationManagementClient:
    """The caller's client pinned to 2022-08-01-preview: the multi-API client's default profile
    (2022-04-01) has no alert operation groups."""
    return AuthorizationManagementClient(arm.credential, arm.subscription_id, api_version="2022-08-01-preview",
                                         base_url=arm.server.origin, connection_verify=str(arm.server.ca))


@pytest.fixture
def scope(subscription_id) -> str:
    return helpers.subscription_scope(subscription_id)


def test_definitions_and_configurations_at_the_subscription(admin, scope):
    definitions = list(client(admin).alert_definitions.list_for_scope(scope))
    assert {d.name for d in definitions} == NAMES
    outside = client(admin).alert_definitions.get(scope, OUTSIDE)
    assert outside.severity_level == "High"
    assert outside.display_name == "Roles are being assigned outside of Privileged Identity Management"
    assert outside.type == "Microsoft.Authorization/roleManagementAlertDefinitions"

    configurations = list(client(admin).alert_configurations.list_for_scope(scope))
    assert {c.name for c in configurations} == NAMES
    config = client(admin).alert_configurations.get(scope, PERMANENT)
    # The model reads the discriminator into its polymorphic properties, not this attribute: check the wire.
    response, _ = with_response(client(admin).alert_configurations.get, scope, PERMANENT)
    assert json_of(response)["properties"]["alertConfigurationType"] == (
        "TooManyPermanentOwnersAssignedToResourceAlertConfiguration")
    assert config.is_enabled is True

    # The SDK's model carries only the common properties: a threshold goes as a raw body.
    body = json.dumps({"properties": {
        "alertConfigurationType": "TooManyPermanentOwnersAssignedToResourceAlertConfiguration",
        "thresholdNumberOfPermanentOwners": 25,
    }}).encode()
    assert client(admin).alert_configurations.update(scope, PERMANENT, body) is None
    response, _ = with_response(client(admin).alert_configurations.get, scope, PERMANENT)
    assert json_of(response)["properties"]["thresholdNumberOfPermanentOwners"] == 25
    # The SDK's own model carries no discriminator on the wire; the path names the configuration.
    for enabled in (False, True):
        model = AlertConfiguration(is_enabled=enabled)
        assert client(admin).alert_configurations.update(scope, PERMANENT, model) is None
        assert client(admin).alert_configurations.get(scope, PERMANENT).is_enabled is enabled
    with pytest.raises(HttpResponseError) as excinfo:
        client(admin).alert_configurations.update(scope, PERMANENT, json.dumps({"properties": {
            "alertConfigurationType": "TooManyPermanentOwnersAssignedToResourceAlertConfiguration",
            "thresholdNumberOfPermanentOwners": 0,
        }}).encode())
    assert arm_error(excinfo)[0] == 400


def test_refresh_raises_the_outside_pim_alert_which_a_dismissal_quiets(admin, admin_id, scope):
    operation = client(admin).alerts.begin_refresh_all(scope).result()
    assert operation.status == "Succeeded"
    assert {r["name"] for r in json.loads(operation.status_detail)["result"]} == NAMES
    again = client(admin).alert_operation.get(scope, operation.id)
    assert (again.id, again.status) == (operation.id, "Succeeded")

    alert = client(admin).alerts.get(scope, OUTSIDE)
    assert alert.is_active is True and alert.incident_count >= 1
    assert alert.alert_definition.name == OUTSIDE
    assert alert.alert_configuration.name == OUTSIDE
    # The SDK flattens incidents to their type; the subtype's properties are read from the wire.
    response, _ = with_response(client(admin).alerts.get, scope, OUTSIDE)
    mine = [i for i in json_of(response)["properties"]["alertIncidents"]
            if i["properties"].get("assigneeId") == admin_id]
    assert mine, "the admin's direct Owner assignment is an incident"
    assert mine[0]["properties"]["roleDisplayName"] == "Owner"
    assert mine[0]["name"] in {i.name for i in client(admin).alert_incidents.list_for_scope(scope, OUTSIDE)}
    one = client(admin).alert_incidents.get(scope, OUTSIDE, mine[0]["name"])
    assert one.name == mine[0]["name"]
    assert OUTSIDE in {a.name for a in client(admin).alerts.list_for_scope(scope) if a.is_active}

    assert client(admin).alerts.update(scope, OUTSIDE, Alert(is_active=False)) is None
    assert client(admin).alerts.get(scope, OUTSIDE).is_active is False
    operation = client(admin).alerts.begin_refresh(scope, OUTSIDE).result()
    assert operation.status == "Succeeded"
    assert [r["name"] for r in json.loads(operation.status_detail)["result"]] == [OUTSIDE]


def test_a_reader_reads_alerts_but_cannot_dismiss_them(admin, arm_for, new_user, subscription_id, scope):
    user = new_user("alertreader")
    admin.authorization.role_assignments.create(
        scope, str(uuid.uuid4()), helpers.assignment(subscription_id, helpers.READER, user["id"], "User"))
    reader = arm_for(user["userPrincipalName"])
    assert {a.name for a in client(reader).alerts.list_for_scope(scope)} == NAMES
    with pytest.raises(HttpResponseError) as excinfo:
        client(reader).alerts.update(scope, OUTSIDE, Alert(is_active=False))
    status, code, message = arm_error(excinfo)
    assert (status, code) == (403, "AuthorizationFailed")
    assert "Microsoft.Authorization/roleManagementAlerts/write" in message
