"""Fixtures for driving a real OpenPIM server with the official Microsoft Graph Python SDK.

One `openpim serve` runs for the whole session on a free port with a fresh data directory.
Clients are built exactly as /work/shared/msgraph-sdk-notes.md describes: a static bearer
token through `BaseBearerTokenAuthenticationProvider`, and `adapter.base_url` pointing at the
local server before the `GraphServiceClient` is made, so nothing ever contacts Microsoft hosts.

Raw HTTP is used here only to wait for /healthz; tests talk to the server through the SDK
(except test_examples_replay.py, which replays documented wire examples byte for byte).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

import httpx
import pytest

# httpx honours HTTP(S)_PROXY; the server is local.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

from kiota_abstractions.authentication import (  # noqa: E402
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient  # noqa: E402
from msgraph.generated.models.user import User  # noqa: E402

import helpers  # noqa: E402
from helpers import unparsed_properties  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_UPN = "admin@openpim.local"

# Properties OpenPIM sends that the v1.0 SDK models (generated from Graph's v1.0 metadata) do not
# declare: both are Graph beta properties. Kiota keeps them in `additional_data`; nothing fails.
TOLERATED_EXTRA_PROPERTIES = {
    "isPrivileged",  # unifiedRoleDefinition.isPrivileged (beta); OpenPIM also filters on it
    "isBackup",  # subjectSet.isBackup on approvers (beta)
    "resourceScope",  # unifiedRoleAssignment.resourceScope (beta's examples; clients still read it)
}


FAKETIME_LIB = next((p for p in (Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
                                  Path("/usr/lib/faketime/libfaketime.so.1")) if p.exists()), None)


def binary_path() -> Path:
    """The openpim binary built by scripts/test-sdk.sh: $OPENPIM_BIN if set, else
    target/release/openpim if it exists, else target/debug/openpim."""
    if os.environ.get("OPENPIM_BIN"):
        return Path(os.environ["OPENPIM_BIN"]).resolve()
    release = REPO_ROOT / "target" / "release" / "openpim"
    debug = REPO_ROOT / "target" / "debug" / "openpim"
    path = release if release.exists() else debug
    if not path.exists():
        pytest.exit(f"openpim binary not found at {release} or {debug}: run `cargo build -p openpim-cli` "
                    "(scripts/test-sdk.sh does this)", returncode=2)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StaticTokenProvider(AccessTokenProvider):
    """Hands the SDK a token minted by `openpim token`; never talks to an identity provider."""

    def __init__(self, token: str):
        self.token = token

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator(["127.0.0.1"])  # host only, no scheme


class Server:
    """A running `openpim serve` and what is needed to talk to it."""

    def __init__(self, binary: Path, data: Path, port: int, proc: subprocess.Popen, log_path: Path):
        self.binary = binary
        self.data = data
        self.port = port
        self.proc = proc
        self.log_path = log_path
        self.origin = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.origin}/v1.0"
        self.clock_file: Path | None = None
        self.clock_offset = 0
        # The server's --database, when not SQLite in the data directory: `openpim token` looks
        # the user up there (tokens name their user by object id).
        self.database: str | None = None

    def advance(self, minutes: int) -> None:
        """Moves the server's clock forward (libfaketime reads the offset file on every call).
        Used sparingly: the whole session shares the server, and tokens are minted in real time."""
        if self.clock_file is None:
            pytest.skip("libfaketime is not installed (apt-get install faketime); cannot move the server's clock")
        self.clock_offset += minutes
        self.clock_file.write_text(f"+{self.clock_offset}m\n")
        helpers.server_clock_offset = dt.timedelta(minutes=self.clock_offset)

    def token(self, upn: str, mfa: bool = True, acrs: tuple[str, ...] = ()) -> str:
        cmd = [str(self.binary), "token", "--data", str(self.data), "--user", upn]
        if self.database:
            cmd += ["--database", self.database]
        if mfa:
            cmd.append("--mfa")
        for acr in acrs:
            cmd += ["--acr", acr]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def make_client(base_url: str, token: str) -> GraphServiceClient:
    """The recipe from msgraph-sdk-notes.md, verbatim."""
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticTokenProvider(token)))
    adapter.base_url = base_url  # before the client is made
    return GraphServiceClient(request_adapter=adapter)


@pytest.fixture(scope="session")
def server() -> Server:
    binary = binary_path()
    data = Path(tempfile.mkdtemp(prefix="openpim-sdk-"))
    port = free_port()
    log_path = data / "server.log"
    log = open(log_path, "wb")
    env = dict(os.environ, OPENPIM_LOG="warn")
    args = [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data", str(data),
            "--bootstrap-admin", ADMIN_UPN]
    # With OPENPIM_TEST_POSTGRES_URL set, the server uses PostgreSQL, in a schema of its own.
    postgres = os.environ.get("OPENPIM_TEST_POSTGRES_URL")
    schema = f"openpim_test_{uuid.uuid4().hex}" if postgres else None
    database = None
    if postgres:
        subprocess.run(["psql", "-q", postgres, "-c", f"CREATE SCHEMA {schema}"], check=True)
        separator = "&" if "?" in postgres else "?"
        database = f"{postgres}{separator}options=-c%20search_path%3D{schema}"
        args += ["--database", database]
    # The 5-minute rules need time to pass: when libfaketime is installed, the server runs under it
    # with an offset file the tests move forward (wall clock only; monotonic timers stay real).
    clock_file = data / "clock-offset"
    if FAKETIME_LIB is not None:
        clock_file.write_text("+0m\n")
        env.update(LD_PRELOAD=str(FAKETIME_LIB), FAKETIME_TIMESTAMP_FILE=str(clock_file),
                   FAKETIME_NO_CACHE="1", FAKETIME_DONT_FAKE_MONOTONIC="1")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    srv = Server(binary, data, port, proc, log_path)
    srv.database = database
    srv.clock_file = clock_file if FAKETIME_LIB is not None else None
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                pytest.exit(f"openpim serve exited with {proc.returncode}:\n{srv.log()}", returncode=2)
            try:
                if httpx.get(f"{srv.origin}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                proc.kill()
                pytest.exit(f"openpim serve did not become healthy:\n{srv.log()}", returncode=2)
            time.sleep(0.1)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(data, ignore_errors=True)
        if postgres:
            subprocess.run(["psql", "-q", postgres, "-c", f"DROP SCHEMA IF EXISTS {schema} CASCADE"], check=False)


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
