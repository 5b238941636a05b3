"""One real `openpim serve` for a Python SDK suite: start-up, health wait, clock, tokens, shutdown.

The SDK suites (tests/sdk, tests/sdk_beta: Microsoft Graph over plain HTTP; tests/azure_sdk: Azure
Resource Manager over HTTPS) all drive the same binary the same way; this module is that way, once.
It knows nothing of any SDK: the suites' conftest.py files build their clients on top of it.

- Store: SQLite in the server's fresh data directory, or PostgreSQL in a schema of its own (made
  here, dropped on stop) when a PostgreSQL URL is given (`postgres_url_from_env()`).
- Transport: plain HTTP, or HTTPS with a certificate and key (`Tls`, e.g. from
  scripts/make-test-ca.sh); the health wait then verifies the server against the test CA.
- Clock: with `faketime` and Debian's libfaketime installed, the server's wall clock follows an
  offset file that `advance()` moves forward (monotonic timers stay real).
- Tokens: `token()` mints them with the CLI (`openpim token`), against the server's own store.
- Log: the server's output goes to a file in the data directory; `log()` and `log_since()` read
  it (openpim_pytest shows it under failing tests).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, Iterator, Mapping, Optional, Sequence

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_UPN = "admin@openpim.local"
POSTGRES_URL_ENV = "OPENPIM_TEST_POSTGRES_URL"

# Debian's libfaketime (package faketime), multiarch path first.
FAKETIME_LIB = next((p for p in (Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
                                  Path("/usr/lib/faketime/libfaketime.so.1")) if p.exists()), None)

# Long enough for a debug build's first start on a busy machine (migrations, built-in catalogue).
HEALTH_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15


class ServerStartError(RuntimeError):
    """`openpim serve` exited or never answered /healthz; the message carries its log."""


def bypass_proxies_for_localhost() -> None:
    """The server is local: no HTTP(S)_PROXY may see the SDKs' requests (httpx and requests both
    honour NO_PROXY). Call before the SDK clients are made."""
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    os.environ["no_proxy"] = "127.0.0.1,localhost"


def postgres_url_from_env() -> Optional[str]:
    """The PostgreSQL server URL the scripts pass in OPENPIM_TEST_POSTGRES_URL; None means SQLite."""
    return os.environ.get(POSTGRES_URL_ENV) or None


def find_binary() -> Path:
    """$OPENPIM_BIN (the scripts set it to the binary they just built), else target/debug/openpim,
    else target/release/openpim."""
    if os.environ.get("OPENPIM_BIN"):
        return Path(os.environ["OPENPIM_BIN"]).resolve()
    candidates = [REPO_ROOT / "target" / "debug" / "openpim", REPO_ROOT / "target" / "release" / "openpim"]
    for path in candidates:
        if path.exists():
            return path
    raise ServerStartError(f"openpim binary not found at {' or '.join(map(str, candidates))}: run "
                           "`cargo build -p openpim-cli` (scripts/test-sdk.sh and scripts/test-azure-sdk.sh do)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass(frozen=True)
class Tls:
    """The server's certificate and key, and the CA bundle clients verify it with."""

    cert: Path
    key: Path
    ca: Path

    @classmethod
    def from_dir(cls, directory: Path) -> "Tls":
        """The layout scripts/make-test-ca.sh writes: server.pem, server-key.pem, ca.pem."""
        directory = Path(directory)
        return cls(directory / "server.pem", directory / "server-key.pem", directory / "ca.pem")

    @classmethod
    def make_test_ca(cls, directory: Path) -> "Tls":
        """A throw-away CA and a certificate for 127.0.0.1, made by scripts/make-test-ca.sh."""
        subprocess.run([str(REPO_ROOT / "scripts" / "make-test-ca.sh"), str(directory)], check=True, timeout=60)
        return cls.from_dir(directory)


@dataclasses.dataclass
class ServerConfig:
    """How to start `openpim serve`. Defaults: SQLite, plain HTTP, faketime when installed."""

    # None: find_binary().
    binary: Optional[Path] = None
    # None: SQLite in the data directory. Otherwise a PostgreSQL URL; the server gets a fresh schema.
    postgres_url: Optional[str] = None
    # None: plain HTTP.
    tls: Optional[Tls] = None
    # Run under libfaketime when it is installed (advance() skips the test when it is not).
    faketime: bool = True
    bootstrap_admin: str = ADMIN_UPN
    # Appended to the server's origin for `base_url`, e.g. "/v1.0" for a Graph SDK's adapter.
    api_path: str = ""
    extra_args: Sequence[str] = ()
    extra_env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    log_level: str = "warn"
    # The data directory's name prefix, so a leftover directory says which suite made it.
    data_prefix: str = "openpim-test-"
    # Where to copy the server's log on stop (the data directory itself is removed).
    keep_log: Optional[Path] = None


class _PostgresSchema:
    """A schema of its own on the PostgreSQL server, so parallel runs and leftovers never meet."""

    def __init__(self, url: str):
        self.url = url
        self.name = f"openpim_test_{uuid.uuid4().hex}"
        self._psql(f"CREATE SCHEMA {self.name}", check=True)
        separator = "&" if "?" in url else "?"
        # libpq's `options` sets the server's search_path for every connection of the pool.
        self.database_url = f"{url}{separator}options=-c%20search_path%3D{self.name}"

    def drop(self) -> None:
        self._psql(f"DROP SCHEMA IF EXISTS {self.name} CASCADE", check=False)

    def _psql(self, sql: str, check: bool) -> None:
        subprocess.run(["psql", "-q", self.url, "-c", sql], check=check, timeout=60)


class OpenPimServer:
    """A running `openpim serve` and what is needed to talk to it. Start with `start()`, end with
    `stop()` (or use it as a context manager)."""

    # Servers started and not yet stopped: openpim_pytest shows their logs under failing tests.
    running: list["OpenPimServer"] = []

    def __init__(self, config: ServerConfig, binary: Path):
        self.config = config
        self.binary = binary
        self.data = Path(tempfile.mkdtemp(prefix=config.data_prefix))
        self.port = free_port()
        scheme = "https" if config.tls else "http"
        self.origin = f"{scheme}://127.0.0.1:{self.port}"
        self.base_url = f"{self.origin}{config.api_path}"
        # The CA bundle clients trust (None over plain HTTP).
        self.ca: Optional[Path] = config.tls.ca if config.tls else None
        self.log_path = self.data / "server.log"
        # The server's --database when not SQLite in the data directory: `openpim token` looks the
        # user up there.
        self.database: Optional[str] = None
        self.clock_file: Optional[Path] = None
        self.clock_offset = dt.timedelta(0)
        # Called with the new offset after every advance(), e.g. so a suite's "now" follows.
        self.on_advance: list[Callable[[dt.timedelta], None]] = []
        self.proc: Optional[subprocess.Popen] = None
        self._schema: Optional[_PostgresSchema] = None
        self._log_file = None

    @classmethod
    def start(cls, config: ServerConfig) -> "OpenPimServer":
        """Starts the server and waits until /healthz answers 200; raises ServerStartError (with the
        server's log) when it exits or does not answer in time, after cleaning up."""
        srv = cls(config, Path(config.binary) if config.binary else find_binary())
        try:
            srv._spawn()
            srv._wait_healthy()
        except BaseException as err:
            log = srv.log()
            srv.stop()
            if isinstance(err, ServerStartError):
                raise ServerStartError(f"{err}\n--- openpim serve log ---\n{log}") from None
            raise
        return srv

    def _spawn(self) -> None:
        config = self.config
        args = [str(self.binary), "serve", "--listen", f"127.0.0.1:{self.port}", "--data", str(self.data),
                "--bootstrap-admin", config.bootstrap_admin]
        if config.tls:
            args += ["--tls-cert", str(config.tls.cert), "--tls-key", str(config.tls.key)]
        if config.postgres_url:
            self._schema = _PostgresSchema(config.postgres_url)
            self.database = self._schema.database_url
            args += ["--database", self.database]
        args += list(config.extra_args)
        # NO_COLOR: the log is a file read under failing tests, not a terminal.
        env = dict(os.environ, OPENPIM_LOG=config.log_level, NO_COLOR="1")
        if config.faketime and FAKETIME_LIB is not None:
            # libfaketime re-reads the offset file on every clock call (FAKETIME_NO_CACHE): the
            # tests move the wall clock; monotonic timers (timeouts, pools) stay real.
            self.clock_file = self.data / "clock-offset"
            self.clock_file.write_text("+0m\n")
            env.update(LD_PRELOAD=str(FAKETIME_LIB), FAKETIME_TIMESTAMP_FILE=str(self.clock_file),
                       FAKETIME_NO_CACHE="1", FAKETIME_DONT_FAKE_MONOTONIC="1")
        env.update(config.extra_env)
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log_file, stderr=subprocess.STDOUT, env=env)
        OpenPimServer.running.append(self)

    def _wait_healthy(self) -> None:
        # Stdlib HTTP, so this module needs neither httpx nor requests; over HTTPS the server is
        # verified against the test CA (the TLS set-up is under test too). No proxy, ever.
        context = ssl.create_default_context(cafile=str(self.ca)) if self.ca else None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=context))
        deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
        while True:
            if self.proc.poll() is not None:
                raise ServerStartError(f"openpim serve exited with {self.proc.returncode}")
            try:
                with opener.open(f"{self.origin}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass  # not listening yet (or a handshake before the listener is ready)
            if time.monotonic() > deadline:
                raise ServerStartError(f"openpim serve did not become healthy at {self.origin} "
                                       f"within {HEALTH_TIMEOUT_SECONDS}s")
            time.sleep(0.1)

    def stop(self) -> None:
        """Terminates the server (SIGTERM, then SIGKILL after a grace period), keeps the log if
        asked, removes the data directory and drops the PostgreSQL schema. Idempotent."""
        if self in OpenPimServer.running:
            OpenPimServer.running.remove(self)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.config.keep_log and self.log_path.exists():
            shutil.copy(self.log_path, self.config.keep_log)
        shutil.rmtree(self.data, ignore_errors=True)
        if self._schema is not None:
            self._schema.drop()
            self._schema = None

    def __enter__(self) -> "OpenPimServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def advance(self, minutes: int) -> None:
        """Moves the server's wall clock `minutes` forward. Sparingly: the session shares the server
        and tokens are minted in real time, so the offset eats into their hour (keep a session's
        total well under 45 minutes). Skips the calling test when libfaketime is not in use."""
        if self.clock_file is None:
            pytest.skip("libfaketime is not installed (apt-get install faketime); cannot move the server's clock")
        self.clock_offset += dt.timedelta(minutes=minutes)
        self.clock_file.write_text(f"+{int(self.clock_offset.total_seconds() // 60)}m\n")
        for callback in self.on_advance:
            callback(self.clock_offset)

    def now(self) -> dt.datetime:
        """The server's "now": the real time plus however far advance() moved its clock."""
        return dt.datetime.now(dt.timezone.utc) + self.clock_offset

    def token(self, upn: str, *, mfa: bool = True, acrs: Sequence[str] = (), audience: Optional[str] = None) -> str:
        """A token of the server's local issuer for `upn` (`openpim token`): Graph's audience unless
        `audience` is given, MFA-authenticated unless `mfa` is False, with authentication context
        class references `acrs`."""
        cmd = [str(self.binary), "token", "--data", str(self.data), "--user", upn]
        if self.database:
            cmd += ["--database", self.database]
        if mfa:
            cmd.append("--mfa")
        for acr in acrs:
            cmd += ["--acr", acr]
        if audience:
            cmd += ["--audience", audience]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(f"openpim token --user {upn} failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout.strip()

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        """The server's output from byte `offset` on (see log_size())."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log(self) -> str:
        return self.log_since(0)


@contextlib.contextmanager
def serving(config: ServerConfig) -> Iterator[OpenPimServer]:
    """A session fixture's body: starts the server, yields it, stops it. A server that cannot start
    ends the pytest session (every test needs it) with the reason and the server's log.

        @pytest.fixture(scope="session")
        def server():
            with serving(ServerConfig(api_path="/v1.0")) as srv:
                yield srv
    """
    try:
        srv = OpenPimServer.start(config)
    except ServerStartError as err:
        pytest.exit(str(err), returncode=2)
    try:
        yield srv
    finally:
        srv.stop()
