"""Fixtures for driving a real OpenPIM server over HTTPS with the official Azure SDK for Python.

One `openpim serve` runs for the whole session on a free port, with a fresh data directory and a
certificate signed by a throw-away CA (scripts/make-test-ca.sh; scripts/test-azure-sdk.sh makes it
and passes its directory in OPENPIM_AZSDK_CERTS). The SDK refuses bearer tokens over plain HTTP,
so HTTPS is not optional here. Clients trust the CA through `connection_verify`, and their
credential (`helpers.OpenPimCredential`) hands out tokens minted by `openpim token --audience
https://management.azure.com/`: nothing ever contacts a Microsoft host.

Raw HTTP is used only where no Azure SDK has an operation: waiting for /healthz, creating the
directory's users and groups (Microsoft Graph, helpers.Directory) and OpenPIM's subscription
registration extension. Everything under test goes through the SDK clients.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest
import requests

# The server is local: no proxy may see these requests.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

import helpers  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_UPN = "admin@openpim.local"

# libfaketime moves the server's clock for PIM's time rules (the 5-minute lock, expiry); as in the
# Graph SDK suite (tests/sdk), only when Debian's faketime is installed (CI installs it).
FAKETIME_LIB = next((p for p in (Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
                                  Path("/usr/lib/faketime/libfaketime.so.1")) if p.exists()), None)


def binary_path() -> Path:
    """$OPENPIM_BIN if set (scripts/test-azure-sdk.sh sets it), else target/debug/openpim."""
    if os.environ.get("OPENPIM_BIN"):
        return Path(os.environ["OPENPIM_BIN"]).resolve()
    path = REPO_ROOT / "target" / "debug" / "openpim"
    if not path.exists():
        pytest.exit(f"openpim binary not found at {path}: run scripts/test-azure-sdk.sh", returncode=2)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def certificates(workdir: Path) -> Path:
    """The directory holding ca.pem, server.pem and server-key.pem: the script's, or made here."""
    given = os.environ.get("OPENPIM_AZSDK_CERTS")
    if given:
        return Path(given)
    target = workdir / "tls"
    subprocess.run([str(REPO_ROOT / "scripts" / "make-test-ca.sh"), str(target)], check=True, timeout=60)
    return target


class Server:
    """A running `openpim serve --tls-cert ... --tls-key ...` and what is needed to talk to it."""

    def __init__(self, binary: Path, data: Path, port: int, ca: Path, proc: subprocess.Popen, log_path: Path):
        self.binary = binary
        self.data = data
        self.port = port
        self.ca = ca
        self.proc = proc
        self.log_path = log_path
        self.origin = f"https://127.0.0.1:{port}"
        # The server's --database when not SQLite in the data directory: `openpim token` looks the
        # user up there.
        self.database: str | None = None
        self.clock_file: Path | None = None
        self.clock_offset = 0

    def advance(self, minutes: int) -> None:
        """Moves the server's clock forward (libfaketime reads the offset file on every call).
        Sparingly: the session shares the server, and tokens are minted in real time, so the
        offset eats into their hour (keep the session's total well under 45 minutes)."""
        if self.clock_file is None:
            pytest.skip("libfaketime is not installed (apt-get install faketime); cannot move the server's clock")
        self.clock_offset += minutes
        self.clock_file.write_text(f"+{self.clock_offset}m\n")

    def token(self, upn: str, audience: str | None = None) -> str:
        """A token of the local issuer for `upn`; Graph's audience unless `audience` is given."""
        cmd = [str(self.binary), "token", "--data", str(self.data), "--user", upn, "--mfa"]
        if self.database:
            cmd += ["--database", self.database]
        if audience:
            cmd += ["--audience", audience]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(f"openpim token failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout.strip()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@pytest.fixture(scope="session")
def server() -> Server:
    binary = binary_path()
    data = Path(tempfile.mkdtemp(prefix="openpim-azsdk-"))
    certs = certificates(data)
    port = free_port()
    log_path = data / "server.log"
    log = open(log_path, "wb")
    env = dict(os.environ, OPENPIM_LOG="warn")
    args = [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data", str(data),
            "--bootstrap-admin", ADMIN_UPN,
            "--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server-key.pem")]
    # With OPENPIM_TEST_POSTGRES_URL set, the server uses PostgreSQL, in a schema of its own.
    postgres = os.environ.get("OPENPIM_TEST_POSTGRES_URL")
    schema = f"openpim_test_{uuid.uuid4().hex}" if postgres else None
    database = None
    if postgres:
        subprocess.run(["psql", "-q", postgres, "-c", f"CREATE SCHEMA {schema}"], check=True)
        separator = "&" if "?" in postgres else "?"
        database = f"{postgres}{separator}options=-c%20search_path%3D{schema}"
        args += ["--database", database]
    # The server's wall clock follows an offset file the PIM tests move forward (monotonic timers
    # stay real).
    clock_file = data / "clock-offset"
    if FAKETIME_LIB is not None:
        clock_file.write_text("+0m\n")
        env.update(LD_PRELOAD=str(FAKETIME_LIB), FAKETIME_TIMESTAMP_FILE=str(clock_file),
                   FAKETIME_NO_CACHE="1", FAKETIME_DONT_FAKE_MONOTONIC="1")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    srv = Server(binary, data, port, certs / "ca.pem", proc, log_path)
    srv.database = database
    srv.clock_file = clock_file if FAKETIME_LIB is not None else None
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                pytest.exit(f"openpim serve exited with {proc.returncode}:\n{srv.log()}", returncode=2)
            try:
                # Verified against the test CA: the HTTPS set-up itself is under test here.
                if requests.get(f"{srv.origin}/healthz", timeout=1, verify=str(srv.ca)).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                proc.kill()
                pytest.exit(f"openpim serve did not become healthy over HTTPS:\n{srv.log()}", returncode=2)
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
        if os.environ.get("OPENPIM_AZSDK_KEEP_LOG"):
            shutil.copy(log_path, os.environ["OPENPIM_AZSDK_KEEP_LOG"])
        shutil.rmtree(data, ignore_errors=True)
        if postgres:
            subprocess.run(["psql", "-q", postgres, "-c", f"DROP SCHEMA IF EXISTS {schema} CASCADE"], check=False)


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
