"""Fixtures for driving a real OpenPIM server over HTTPS with the official Azure SDK for Python.

One `openpim serve` runs for the whole session on a free port, with a fresh data directory and a
certificate signed by a throw-away CA (scripts/make-test-ca.sh; scripts/test-azure-sdk.sh makes it
and passes its directory in OPENPIM_AZSDK_CERTS); tests/pysupport/openpim_server.py starts it,
moves its clock and mints tokens. The SDK refuses bearer tokens over plain HTTP,
so HTTPS is not optional here. Clients trust the CA through `connection_verify`, and their
credential (`helpers.OpenPimCredential`) hands out tokens minted by `openpim token --audience
https://management.azure.com/`: nothing ever contacts a Microsoft host.

Raw HTTP is used only where no Azure SDK has an operation: creating the directory's users and
groups (Microsoft Graph, helpers.Directory) and OpenPIM's subscription registration extension. Everything under test goes through the SDK clients.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable

import pytest
from openpim_server import (
    ADMIN_UPN,
    OpenPimServer,
    ServerConfig,
    Tls,
    bypass_proxies_for_localhost,
    postgres_url_from_env,
    serving,
)

bypass_proxies_for_localhost()  # before any SDK client exists

import helpers  # noqa: E402

# The server's log under failing tests (tests/pysupport; pytest.ini puts it on sys.path).
pytest_plugins = ["openpim_pytest"]


@pytest.fixture(scope="session")
def tls(tmp_path_factory) -> Tls:
    """The test CA and server certificate: the script's (OPENPIM_AZSDK_CERTS), or made here."""
    given = os.environ.get("OPENPIM_AZSDK_CERTS")
    if given:
        return Tls.from_dir(Path(given))
    return Tls.make_test_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def server(tls) -> OpenPimServer:
    """`openpim serve` over HTTPS on SQLite, or PostgreSQL when OPENPIM_TEST_POSTGRES_URL is set;
    under libfaketime when installed (PIM's time rules: the 5-minute lock, expiry)."""
    keep_log = os.environ.get("OPENPIM_AZSDK_KEEP_LOG")
    config = ServerConfig(postgres_url=postgres_url_from_env(), tls=tls, data_prefix="openpim-azsdk-",
                          keep_log=Path(keep_log) if keep_log else None)
    with serving(config) as srv:
        yield srv


@pytest.fixture(scope="session")
def directory(server) -> helpers.Directory:
    """Microsoft Graph as the bootstrap Global Administrator (users, groups, subscriptions)."""
    return helpers.Directory(server.origin, server.ca, server.token(ADMIN_UPN))


@pytest.fixture(scope="session")
def admin_id(directory) -> str:
    return directory.me()["id"]


@pytest.fixture(scope="session")
def subscription_id(directory) -> str:
    """A subscription registered through OpenPIM's extension, directly under the tenant root group."""
    sub = str(uuid.uuid4())
    directory.register_subscription(sub, "SDK suite subscription")
    return sub


@pytest.fixture(scope="session")
def arm_for(server, subscription_id) -> Callable[..., helpers.Arm]:
    """`arm_for(upn)`: the Azure SDK clients signed in as `upn` (cached per user)."""
    cache: dict[str, helpers.Arm] = {}

    def get(upn: str) -> helpers.Arm:
        if upn.lower() not in cache:
            cache[upn.lower()] = helpers.Arm(server, helpers.OpenPimCredential(server, upn), subscription_id)
        return cache[upn.lower()]

    return get


@pytest.fixture(scope="session")
def elevated_admin(arm_for, admin_id) -> helpers.Arm:
    """The Global Administrator after elevateAccess: User Access Administrator at the root scope
    `/`, over every management group and subscription, as in Azure, where a Global Administrator
    has no Azure rights until elevating."""
    arm = arm_for(ADMIN_UPN)
    arm.authorization.global_administrator.elevate_access()
    return arm


@pytest.fixture(scope="session")
def admin(elevated_admin, admin_id, subscription_id) -> helpers.Arm:
    """The administrator as Owner of the subscription: the elevated User Access Administrator
    assigns itself Owner there (the usual first step after registering a subscription)."""
    elevated_admin.authorization.role_assignments.create(
        f"/subscriptions/{subscription_id}", str(uuid.uuid4()),
        helpers.assignment(subscription_id, helpers.OWNER, admin_id, "User"),
    )
    return elevated_admin


@pytest.fixture(scope="session")
def resource_group(admin) -> str:
    """A resource group of the subscription, made by the Owner through the SDK."""
    name = f"rg-sdk-{uuid.uuid4().hex[:6]}"
    admin.resources.resource_groups.create_or_update(name, {"location": "westeurope", "tags": {"suite": "azure-sdk"}})
    return name


@pytest.fixture
def new_user(directory) -> Callable[..., dict]:
    """`new_user(prefix)`: a directory user (Graph), returned as Graph's JSON (id, userPrincipalName)."""
    return directory.create_user


@pytest.fixture(scope="session")
def contributor(admin, subscription_id):
    """The built-in Contributor, as the SDK reads it at the subscription."""
    return admin.authorization.role_definitions.get(helpers.subscription_scope(subscription_id), helpers.CONTRIBUTOR)


@pytest.fixture(scope="session")
def newcomer_role(admin, subscription_id, contributor):
    """Issue #15's newcomer scenario, step 2: a custom role duplicating Contributor minus
    `Microsoft.Authorization/*/Delete` (kept in its notActions: holders cannot delete role
    assignments, locks or other authorization objects), assignable at the subscription.
    Returns (role GUID, the role definition the PUT answered)."""
    from azure.mgmt.authorization.v2022_04_01.models import Permission, RoleDefinition

    guid = str(uuid.uuid4())
    source = contributor.permissions[0]
    not_actions = list(source.not_actions or [])
    if helpers.AUTHORIZATION_DELETE.lower() not in (a.lower() for a in not_actions):
        not_actions.append(helpers.AUTHORIZATION_DELETE)
    scope = helpers.subscription_scope(subscription_id)
    created = admin.authorization.role_definitions.create_or_update(scope, guid, RoleDefinition(
        role_name=f"Contributor without authorization deletes {guid[:8]}",
        description="Contributor, minus Microsoft.Authorization/*/Delete (issue #15 walkthrough)",
        role_type="CustomRole",
        permissions=[Permission(actions=list(source.actions), not_actions=not_actions,
                                data_actions=list(source.data_actions or []),
                                not_data_actions=list(source.not_data_actions or []))],
        assignable_scopes=[scope],
    ))
    return guid, created
