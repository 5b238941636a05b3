"""Fixtures for driving a real OpenPIM server with the official Microsoft Graph Python SDK.

One `openpim serve` runs for the whole session on a free port with a fresh data directory
(tests/pysupport/openpim_server.py starts it, moves its clock and mints tokens).
Clients are built exactly as /work/shared/msgraph-sdk-notes.md describes: a static bearer
token through `BaseBearerTokenAuthenticationProvider`, and `adapter.base_url` pointing at the
local server before the `GraphServiceClient` is made, so nothing ever contacts Microsoft hosts.

Tests talk to the server through the SDK (except test_examples_replay.py, which replays
documented wire examples byte for byte).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Callable

import pytest
from openpim_server import (
    ADMIN_UPN,
    OpenPimServer,
    ServerConfig,
    bypass_proxies_for_localhost,
    postgres_url_from_env,
    serving,
)

bypass_proxies_for_localhost()  # before the SDK's httpx clients exist

from kiota_abstractions.authentication import (  # noqa: E402
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient  # noqa: E402
from msgraph.generated.models.user import User  # noqa: E402

import helpers  # noqa: E402
from helpers import unparsed_properties  # noqa: E402

# The server's log under failing tests (tests/pysupport; pytest.ini puts it on sys.path).
pytest_plugins = ["openpim_pytest"]

# Properties OpenPIM sends that the v1.0 SDK models (generated from Graph's v1.0 metadata) do not
# declare: both are Graph beta properties. Kiota keeps them in `additional_data`; nothing fails.
TOLERATED_EXTRA_PROPERTIES = {
    "isPrivileged",  # unifiedRoleDefinition.isPrivileged (beta); OpenPIM also filters on it
    "isBackup",  # subjectSet.isBackup on approvers (beta)
    "resourceScope",  # unifiedRoleAssignment.resourceScope (beta's examples; clients still read it)
}


class StaticTokenProvider(AccessTokenProvider):
    """Hands the SDK a token minted by `openpim token`; never talks to an identity provider."""

    def __init__(self, token: str):
        self.token = token

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator(["127.0.0.1"])  # host only, no scheme


def make_client(base_url: str, token: str) -> GraphServiceClient:
    """The recipe from msgraph-sdk-notes.md, verbatim."""
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticTokenProvider(token)))
    adapter.base_url = base_url  # before the client is made
    return GraphServiceClient(request_adapter=adapter)


@pytest.fixture(scope="session")
def server() -> OpenPimServer:
    """`openpim serve` over plain HTTP on SQLite, or PostgreSQL when OPENPIM_TEST_POSTGRES_URL is
    set; under libfaketime when installed (the 5-minute rules need time to pass)."""
    config = ServerConfig(postgres_url=postgres_url_from_env(), api_path="/v1.0", data_prefix="openpim-sdk-")
    with serving(config) as srv:
        # helpers.utcnow() is the server's "now": it follows the moved clock.
        srv.on_advance.append(lambda offset: setattr(helpers, "server_clock_offset", offset))
        yield srv


@pytest.fixture(scope="session")
def loop():
    """One event loop for the session: the SDK's httpx clients keep pooled connections."""
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture(scope="session")
def run(loop) -> Callable:
    """`run(coro)` runs an SDK call to completion and checks that the SDK parsed every property
    of the response into typed fields (see helpers.unparsed_properties)."""

    def run_and_check(coro):
        result = loop.run_until_complete(coro)
        leftovers = [p for p in unparsed_properties(result) if not tolerated(p)]
        assert not leftovers, f"the SDK could not map these response properties: {leftovers}"
        return result

    return run_and_check


@pytest.fixture(scope="session")
def run_unchecked(loop) -> Callable:
    """`run` without the parse check, for Graph beta shapes read with the nearest v1.0 model."""
    return loop.run_until_complete


def tolerated(path: str) -> bool:
    """Properties the v1.0 SDK models lack although the server rightly sends them."""
    return path.rsplit(".", 1)[-1] in TOLERATED_EXTRA_PROPERTIES


@pytest.fixture(scope="session")
def client_for(server) -> Callable[..., GraphServiceClient]:
    """`client_for(upn, mfa=True)`: a GraphServiceClient signed in as `upn` (cached)."""
    cache: dict = {}

    def get(upn: str, mfa: bool = True, acrs: tuple[str, ...] = ()) -> GraphServiceClient:
        key = (upn.lower(), mfa, tuple(acrs))
        if key not in cache:
            cache[key] = make_client(server.base_url, server.token(upn, mfa=mfa, acrs=acrs))
        return cache[key]

    return get


@pytest.fixture(scope="session")
def admin(client_for) -> GraphServiceClient:
    """The bootstrap Global Administrator, MFA-authenticated."""
    return client_for(ADMIN_UPN, mfa=True)


@pytest.fixture(scope="session")
def admin_id(admin, run) -> str:
    return run(admin.me.get()).id


@pytest.fixture
def new_user(admin, run) -> Callable[..., User]:
    """`new_user(prefix)`: creates a user through the SDK and returns the created entity."""

    def create(prefix: str = "user", **fields) -> User:
        tag = uuid.uuid4().hex[:8]
        body = User(
            account_enabled=True,
            display_name=fields.pop("display_name", f"{prefix} {tag}"),
            mail_nickname=f"{prefix}{tag}",
            user_principal_name=f"{prefix}.{tag}@openpim.local",
            **fields,
        )
        return run(admin.users.post(body))

    return create
