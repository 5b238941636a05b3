#!/usr/bin/env bash
# Drives OpenPIM's Graph /beta with the official Microsoft Graph Beta Python SDK
# (tests/sdk_beta, msgraph-beta-sdk pinned): builds the openpim binary, prepares a virtualenv in
# .venv-sdk-beta, and runs pytest against a real server on a free port, on SQLite, or on
# PostgreSQL when OPENPIM_TEST_POSTGRES_URL is set. Extra arguments go to pytest (e.g. -k group).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-sdk-beta
scripts/python-venv.sh "$VENV" tests/sdk_beta/requirements.txt

echo "== cargo build --locked -p openpim-cli"
cargo build --locked -p openpim-cli

# Test the binary just built (not a possibly stale release build).
export OPENPIM_BIN="${OPENPIM_BIN:-$(scripts/target-dir.sh)/debug/openpim}"

echo "== pytest tests/sdk_beta"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
exec "$VENV/bin/python" -m pytest tests/sdk_beta -ra "$@"
