"""Builders shared by the Azure SDK tests: the SDK clients of one caller, the directory set-up
through Microsoft Graph (which no Azure SDK covers), and reading ARM errors off the SDK's
exceptions."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.v2020_10_01 import models as pim
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters
from azure.mgmt.managementgroups import ManagementGroupsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient

REPO_ROOT = Path(__file__).resolve().parents[2]

# The audience OpenPIM's ARM routes accept, and the one scope the SDK clients ask a credential for.
ARM_AUDIENCE = "https://management.azure.com/"
ARM_SCOPE = "https://management.azure.com/.default"
GRAPH_AUDIENCE = "https://graph.microsoft.com"

# Built-in Azure roles: the same GUIDs in every tenant and cloud.
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
# Entra's Global Administrator (a directory role, assigned through Graph).
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"

# What the newcomer scenario of issue #15 takes away from the Contributor copy.
AUTHORIZATION_DELETE = "Microsoft.Authorization/*/Delete"


def builtin_catalog() -> dict[str, dict]:
    """The built-in roles OpenPIM ships (the `az role definition list` output it was made from),
    by GUID: what the server's answers are compared with."""
    data = json.loads((REPO_ROOT / "crates/openpim-core/data/azure/builtin-roles.json").read_text())
    return {role["name"]: role for role in data["roles"]}


def subscription_scope(subscription_id: str) -> str:
    return f"/subscriptions/{subscription_id}"


def resource_group_scope(subscription_id: str, resource_group: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"


def role_definition_id(subscription_id: str, role_guid: str) -> str:
    """The subscription form of a role definition id, as PIM clients and the portal send it."""
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"


def assignment(subscription_id: str, role_guid: str, principal_id: str, principal_type: str,
               description: Optional[str] = None) -> RoleAssignmentCreateParameters:
    return RoleAssignmentCreateParameters(
        role_definition_id=role_definition_id(subscription_id, role_guid),
        principal_id=principal_id,
        principal_type=principal_type,
        description=description,
    )


def guid_of(resource_id: str) -> str:
    """The last segment of an ARM id (role definition and assignment names are GUIDs)."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1].lower()


def eligibility_request(subscription_id: str, principal_id: str, role_guid: str, request_type: str = "AdminAssign",
                        duration: Optional[str] = None,
                        justification: Optional[str] = "SDK: PIM for Azure resources") -> pim.RoleEligibilityScheduleRequest:
    """A PIM eligibility request (2020-10-01) for a role named in its subscription form. With a
    `duration` (ISO 8601) the schedule starts at the server's now (no startDateTime) and ends after
    it; without one the request carries no scheduleInfo (removals, or the role's default)."""
    info = None
    if duration is not None:
        info = pim.RoleEligibilityScheduleRequestPropertiesScheduleInfo(
            expiration=pim.RoleEligibilityScheduleRequestPropertiesScheduleInfoExpiration(
                type="AfterDuration", duration=duration))
    return pim.RoleEligibilityScheduleRequest(
        principal_id=principal_id, role_definition_id=role_definition_id(subscription_id, role_guid),
        request_type=request_type, schedule_info=info, justification=justification)


def activation_request(subscription_id: str, principal_id: str, role_guid: str, request_type: str = "SelfActivate",
                       duration: Optional[str] = None,
                       justification: Optional[str] = "SDK: deploying") -> pim.RoleAssignmentScheduleRequest:
    """A PIM assignment request (2020-10-01): an activation, deactivation, extension...; the
    schedule as in eligibility_request."""
    info = None
    if duration is not None:
        info = pim.RoleAssignmentScheduleRequestPropertiesScheduleInfo(
            expiration=pim.RoleAssignmentScheduleRequestPropertiesScheduleInfoExpiration(
                type="AfterDuration", duration=duration))
    return pim.RoleAssignmentScheduleRequest(
        principal_id=principal_id, role_definition_id=role_definition_id(subscription_id, role_guid),
        request_type=request_type, schedule_info=info, justification=justification)


def make_eligible(admin: "Arm", scope: str, principal_id: str, role_guid: str, duration: str,
                  justification: str = "SDK: PIM for Azure resources") -> pim.RoleEligibilityScheduleRequest:
    """The admin makes `principal_id` eligible for the role at `scope` for `duration` (Azure's
    default settings for a resource role require an end). Returns the request as answered."""
    return admin.authorization.role_eligibility_schedule_requests.create(
        scope, str(uuid.uuid4()),
        eligibility_request(admin.subscription_id, principal_id, role_guid, "AdminAssign", duration, justification))


def activate(arm: "Arm", scope: str, principal_id: str, role_guid: str, duration: str,
             justification: str = "SDK: deploying", name: Optional[str] = None) -> pim.RoleAssignmentScheduleRequest:
    """The caller activates their eligibility for the role at `scope` (the eligibility's or one
    below it) for `duration`, as request `name` (a fresh GUID unless given). Returns the request."""
    return arm.authorization.role_assignment_schedule_requests.create(
        scope, name or str(uuid.uuid4()),
        activation_request(arm.subscription_id, principal_id, role_guid, "SelfActivate", duration, justification))


def deactivate(arm: "Arm", scope: str, principal_id: str, role_guid: str) -> pim.RoleAssignmentScheduleRequest:
    """The caller ends their activation of the role at `scope` (no schedule, no justification)."""
    return arm.authorization.role_assignment_schedule_requests.create(
        scope, str(uuid.uuid4()),
        activation_request(arm.subscription_id, principal_id, role_guid, "SelfDeactivate", justification=None))


class OpenPimCredential:
    """An azure.core TokenCredential: ARM-audience tokens of OpenPIM's local issuer for one user.

    The SDK asks for the scope `https://management.azure.com/.default`; anything else means a
    client is configured for another resource, which would hide a wire mismatch, so it fails.
    """

    LIFETIME_SECONDS = 3600  # `openpim token`'s default lifetime (1h)

    def __init__(self, server, upn: str, audience: str = ARM_AUDIENCE):
        self.server = server
        self.upn = upn
        # Another audience only to check that ARM refuses tokens meant for another API.
        self.audience = audience
        self._cached: AccessToken | None = None

    def get_token(self, *scopes: str, claims=None, tenant_id=None, enable_cae=False, **kwargs) -> AccessToken:
        if tuple(scopes) != (ARM_SCOPE,):
            raise ValueError(f"the SDK asked for scopes {scopes}, expected ({ARM_SCOPE!r},)")
        # Renew a minute before the token's end, as azure-identity's credentials do.
        if self._cached is None or self._cached.expires_on - 60 < time.time():
            token = self.server.token(self.upn, audience=self.audience)
            self._cached = AccessToken(token, int(time.time()) + self.LIFETIME_SECONDS)
        return self._cached


class Arm:
    """The Azure SDK clients of one caller, pointed at the test server and trusting its CA."""

    def __init__(self, server, credential, subscription_id: str):
        common = dict(base_url=server.origin, connection_verify=str(server.ca))
        self.server = server
        self.credential = credential
        self.subscription_id = subscription_id
        self.authorization = AuthorizationManagementClient(credential, subscription_id, **common)
        self.resources = ResourceManagementClient(credential, subscription_id, **common)
        self.management_groups = ManagementGroupsMgmtClient(credential, **common)

    def in_subscription(self, subscription_id: str) -> "Arm":
        """The same caller's clients for another subscription."""
        return Arm(self.server, self.credential, subscription_id)

    def send(self, method: str, path: str, **kwargs):
        """A request through the SDK's own pipeline (its bearer-token policy, TLS settings and
        headers) for ARM reads no pinned SDK package has an operation for, e.g. GET /subscriptions
        (azure-mgmt-resource 26 moved subscriptions to another package)."""
        return self.resources.send_request(HttpRequest(method, path, **kwargs))


class Directory:
    """Microsoft Graph as the Global Administrator, plus OpenPIM's subscription registration:
    directory set-up only (the Azure SDK has no operation for either)."""

    def __init__(self, origin: str, ca: Path, graph_token: str):
        self.origin = origin
        self.ca = str(ca)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {graph_token}"

    def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        # `verify` per request: a session-wide one loses to REQUESTS_CA_BUNDLE in the environment.
        response = self.http.request(method, f"{self.origin}{path}", json=body, timeout=30, verify=self.ca)
        if response.status_code not in ok:
            raise AssertionError(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def me(self) -> dict:
        return self._call("GET", "/v1.0/me")

    def create_user(self, prefix: str = "user") -> dict:
        tag = uuid.uuid4().hex[:8]
        return self._call("POST", "/v1.0/users", {
            "accountEnabled": True,
            "displayName": f"{prefix} {tag}",
            "mailNickname": f"{prefix}{tag}",
            "userPrincipalName": f"{prefix}.{tag}@openpim.local",
        })

    def create_group(self, prefix: str = "group") -> dict:
        tag = uuid.uuid4().hex[:8]
        return self._call("POST", "/v1.0/groups", {
            "displayName": f"{prefix} {tag}",
            "mailEnabled": False,
            "mailNickname": f"{prefix}{tag}",
            "securityEnabled": True,
        })

    def add_member(self, group_id: str, member_id: str) -> None:
        self._call("POST", f"/v1.0/groups/{group_id}/members/$ref",
                   {"@odata.id": f"{self.origin}/v1.0/directoryObjects/{member_id}"})

    def assign_directory_role(self, principal_id: str, role_definition_id: str) -> dict:
        """An Entra role assignment at the directory tenant `/` (Graph)."""
        return self._call("POST", "/v1.0/roleManagement/directory/roleAssignments", {
            "principalId": principal_id, "roleDefinitionId": role_definition_id, "directoryScopeId": "/",
        })

    def register_subscription(self, subscription_id: str, display_name: str,
                              management_group_id: Optional[str] = None) -> dict:
        """OpenPIM's extension: subscriptions are registered, not created (issue #15)."""
        body: dict[str, Any] = {"displayName": display_name}
        if management_group_id:
            body["managementGroupId"] = management_group_id
        return self._call("PUT", f"/openpim/azure/subscriptions/{subscription_id}", body)


def arm_error(excinfo: pytest.ExceptionInfo) -> tuple[int, str, str]:
    """(HTTP status, ARM error code, message) of an SDK exception: the SDK parses ARM's
    `{"error": {"code", "message"}}` body into `.error`; a body it cannot parse leaves it None."""
    err = excinfo.value
    assert isinstance(err, HttpResponseError), f"not an HttpResponseError: {err!r}"
    assert err.error is not None, f"the SDK found no ARM error body in the answer: {err}"
    return err.status_code, err.error.code, err.error.message


def with_response(operation, *args, **kwargs):
    """Calls an SDK operation and returns (its HTTP response, the deserialised model): the
    generated operations hand both to a `cls` callback."""
    return operation(*args, cls=lambda pipeline_response, model, _headers: (pipeline_response.http_response, model),
                     **kwargs)


def json_of(response) -> Any:
    """The JSON body of an SDK-level HTTP response: azure.core.rest responses have .json(), the
    older transport responses the msrest-style clients (azure-mgmt-authorization) hand over do not."""
    return response.json() if hasattr(response, "json") else json.loads(response.text())


def unknown_properties(model_cls, body: dict) -> list[str]:
    """Properties of an ARM response body that the SDK model does not declare (so the SDK drops
    them silently): a wrong casing or a misplaced property shows up here. Checks the envelope and
    its `properties` object against the model's attribute map (msrest-style models)."""
    keys = {spec["key"] for spec in model_cls._attribute_map.values()}
    declared_top = {k.split(".", 1)[0] for k in keys}
    declared_props = {k.split(".", 1)[1].split(".", 1)[0] for k in keys if k.startswith("properties.")}
    found = [k for k in body if k not in declared_top]
    if isinstance(body.get("properties"), dict):
        found += [f"properties.{k}" for k in body["properties"] if k not in declared_props]
    return found
