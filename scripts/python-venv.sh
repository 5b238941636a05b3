#!/usr/bin/env bash
# Usage: scripts/python-venv.sh VENV REQUIREMENTS
# Makes the virtualenv VENV (with $PYTHON, default python3) if it does not exist, and installs
# the pinned REQUIREMENTS into it only when that file changed since the last install. Shared by
# the Python SDK suites' scripts (test-sdk.sh, test-sdk-beta.sh, test-azure-sdk.sh).
set -euo pipefail
VENV=$1
REQS=$2
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.requirements.sha256"
WANT=$(sha256sum "$REQS" | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "== installing $REQS"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    echo "$WANT" > "$STAMP"
fi
