"""Fixtures for driving a real OpenPIM server with the official Microsoft Graph *beta* Python SDK
(`msgraph-beta-sdk`, pinned in requirements.txt).

One `openpim serve` runs for the session (tests/pysupport/openpim_server.py starts it, moves its
clock and mints tokens); the SDK's adapter points at its `/beta` before the client is made, as
/work/shared/msgraph-sdk-notes.md describes for the v1.0 SDK, so nothing contacts Microsoft.
"""

from __future__ import annotations

import asyncio
from typing import Callable

import pytest
from openpim_server import ADMIN_UPN, OpenPimServer, ServerConfig, bypass_proxies_for_localhost, postgres_url_from_env, serving

bypass_proxies_for_localhost()  # before the SDK's httpx clients exist

from kiota_abstractions.authentication import (  # noqa: E402
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_checks import unparsed_properties  # noqa: E402
from msgraph_beta import GraphRequestAdapter, GraphServiceClient  # noqa: E402

# The server's log under failing tests (tests/pysupport; pytest.ini puts it on sys.path).
pytest_plugins = ["openpim_pytest"]


class StaticTokenProvider(AccessTokenProvider):
    """Hands the SDK a token minted by `openpim token`; never talks to an identity provider."""

    def __init__(self, token: str):
        self.token = token

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator(["127.0.0.1"])  # host only, no scheme


def make_client(base_url: str, token: str) -> GraphServiceClient:
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticTokenProvider(token)))
    adapter.base_url = base_url  # before the client is made
    return GraphServiceClient(request_adapter=adapter)


@pytest.fixture(scope="session")
def server() -> OpenPimServer:
    """`openpim serve` on SQLite, or PostgreSQL when OPENPIM_TEST_POSTGRES_URL is set; the beta
    SDK's base URL is its `/beta`."""
    config = ServerConfig(postgres_url=postgres_url_from_env(), api_path="/beta", data_prefix="openpim-sdk-beta-")
    with serving(config) as srv:
        yield srv


@pytest.fixture(scope="session")
def loop():
    """One event loop for the session: the SDK's httpx clients keep pooled connections."""
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture(scope="session")
def run(loop) -> Callable:
    """`run(coro)` runs an SDK call to completion and checks that the beta SDK parsed every
    property of the response into typed fields: beta's models describe all OpenPIM sends."""

    def run_and_check(coro):
        result = loop.run_until_complete(coro)
        leftovers = unparsed_properties(result)
        assert not leftovers, f"the beta SDK could not map these response properties: {leftovers}"
        return result

    return run_and_check


@pytest.fixture(scope="session")
def client_for(server) -> Callable[..., GraphServiceClient]:
    """`client_for(upn, mfa=True)`: a beta GraphServiceClient signed in as `upn` (cached)."""
    cache: dict = {}

    def get(upn: str, mfa: bool = True) -> GraphServiceClient:
        key = (upn.lower(), mfa)
        if key not in cache:
            cache[key] = make_client(server.base_url, server.token(upn, mfa=mfa))
        return cache[key]

    return get


@pytest.fixture(scope="session")
def admin(client_for) -> GraphServiceClient:
    """The bootstrap Global Administrator, MFA-authenticated."""
    return client_for(ADMIN_UPN, mfa=True)
