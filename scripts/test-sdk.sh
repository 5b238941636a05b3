#!/usr/bin/env bash
# Drives OpenPIM with the official Microsoft Graph Python SDK (tests/sdk): builds the openpim
# binary, prepares a virtualenv in .venv-sdk with the pinned SDK, and runs pytest against a
# real server on a free port. Extra arguments go to pytest (e.g. -k approval).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-sdk
scripts/python-venv.sh "$VENV" tests/sdk/requirements.txt

echo "== cargo build --locked -p openpim-cli"
cargo build --locked -p openpim-cli

# Test the binary just built (not a possibly stale release build).
export OPENPIM_BIN="${OPENPIM_BIN:-$(scripts/target-dir.sh)/debug/openpim}"

echo "== pytest tests/sdk"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
exec "$VENV/bin/python" -m pytest tests/sdk -ra "$@"
