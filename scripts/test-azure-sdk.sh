#!/usr/bin/env bash
# Drives OpenPIM with the official Azure SDK for Python (tests/azure_sdk) over HTTPS: builds the
# openpim binary, makes a throw-away CA and a server certificate for 127.0.0.1 (openssl, in a
# temporary directory removed on exit), prepares a virtualenv in .venv-azsdk with the pinned SDK,
# and runs pytest against a real server on a free port. SQLite by default; the PostgreSQL store
# when OPENPIM_TEST_POSTGRES_URL is set. Extra arguments go to pytest (e.g. -k custom).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-azsdk
REQS=tests/azure_sdk/requirements.txt

if ! command -v openssl >/dev/null 2>&1; then
    echo "test-azure-sdk.sh: openssl is required (it makes the test CA)" >&2
    exit 1
fi

scripts/python-venv.sh "$VENV" "$REQS"

echo "== cargo build --locked -p openpim-cli"
cargo build --locked -p openpim-cli

# Test the binary just built (not a possibly stale release build).
export OPENPIM_BIN="${OPENPIM_BIN:-$(scripts/target-dir.sh)/debug/openpim}"

CERTS=$(mktemp -d "${TMPDIR:-/tmp}/openpim-azsdk-tls.XXXXXX")
trap 'rm -rf "$CERTS"' EXIT
echo "== test CA and server certificate for 127.0.0.1 in $CERTS"
scripts/make-test-ca.sh "$CERTS"
export OPENPIM_AZSDK_CERTS="$CERTS"

echo "== pytest tests/azure_sdk ($( [ -n "${OPENPIM_TEST_POSTGRES_URL:-}" ] && echo PostgreSQL || echo SQLite ) store)"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
"$VENV/bin/python" -m pytest tests/azure_sdk -ra "$@"
